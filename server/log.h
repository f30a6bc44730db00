#pragma once
// Minimal structured-enough logging to stderr (Debian's Abseil has no
// absl/log). Never log raw customer ids.

#include <cstdio>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace nextbest::server {

template <typename... Args>
void Log(const absl::FormatSpec<Args...>& format, const Args&... args) {
  const std::string line = absl::StrFormat(format, args...);
  std::fprintf(stderr, "%s nextbest-server: %s\n",
               absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()).c_str(),
               line.c_str());
  std::fflush(stderr);
}

}  // namespace nextbest::server
