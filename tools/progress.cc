#include "tools/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_format.h"

namespace nextbest::tools {

Progress::Progress(std::string what, int64_t total_bytes)
    : what_(std::move(what)),
      total_bytes_(total_bytes),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

std::string Progress::Line(int64_t items, int64_t bytes) const {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(items) / seconds : 0;
  std::string line = absl::StrFormat("%s: %d items, %.0f/s", what_, items, rate);
  if (total_bytes_ > 0) {
    const double share = std::min(1.0, static_cast<double>(bytes) / total_bytes_);
    const int filled = static_cast<int>(share * 30);
    const double eta = share > 0 ? seconds * (1 - share) / share : 0;
    line = absl::StrFormat("%s [%s%s] %3.0f%%  %d items  %.0f/s  ETA %d:%02d", what_,
                           std::string(filled, '#'), std::string(30 - filled, '-'), share * 100,
                           items, rate, static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
  }
  return line;
}

void Progress::Update(int64_t items, int64_t bytes, bool force) {
  const auto now = std::chrono::steady_clock::now();
  const auto every = tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(10000);
  if (!force && now - last_ < every) return;
  last_ = now;
  if (tty_) {
    std::fprintf(stderr, "\r%s\033[K", Line(items, bytes).c_str());
  } else {
    std::fprintf(stderr, "%s\n", Line(items, bytes).c_str());
  }
  std::fflush(stderr);
}

void Progress::Finish(int64_t items, int64_t bytes) {
  if (tty_) {
    std::fprintf(stderr, "\r%s\033[K\n", Line(items, bytes).c_str());
  } else {
    std::fprintf(stderr, "%s\n", Line(items, bytes).c_str());
  }
}

}  // namespace nextbest::tools
