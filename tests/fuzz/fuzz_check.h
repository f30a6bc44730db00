#pragma once
// An invariant check for fuzz targets: on failure, prints what broke and
// aborts, which libFuzzer (and the replay driver's test) report as a crash
// with the input that caused it. Unlike assert(), never compiled out.

#include <cstdio>
#include <cstdlib>

#include <google/protobuf/stubs/logging.h>

#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

namespace nextbest::fuzz {
// Protobuf logs every string field with invalid UTF-8 it parses; fuzzed
// bytes are full of them. Silenced once per process, before any input.
inline const bool kProtobufLogsSilenced = (google::protobuf::SetLogHandler(nullptr), true);
}  // namespace nextbest::fuzz
