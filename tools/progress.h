#pragma once
// A progress line for long commands: on a terminal a bar redrawn in place
// (share of the file, items, items/s, ETA) at most 5 times a second;
// otherwise (a log, CI) one line every 10 seconds.

#include <chrono>
#include <cstdint>
#include <string>

namespace nextbest::tools {

class Progress {
 public:
  // `total_bytes` 0: no share or ETA.
  Progress(std::string what, int64_t total_bytes);
  void Update(int64_t items, int64_t bytes, bool force = false);
  // The final line (and a newline on a terminal).
  void Finish(int64_t items, int64_t bytes);

 private:
  std::string Line(int64_t items, int64_t bytes) const;

  const std::string what_;
  const int64_t total_bytes_;
  const bool tty_;
  const std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace nextbest::tools
