#pragma once
// The time source, injectable so tests never sleep.

#include <atomic>
#include <chrono>

#include "core/types.h"

namespace nextbest::core {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMs Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimeMs Now() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimeMs start) : now_(start) {}
  TimeMs Now() const override { return now_.load(std::memory_order_relaxed); }
  void Set(TimeMs t) { now_.store(t, std::memory_order_relaxed); }
  void Advance(TimeMs dt) { now_.fetch_add(dt, std::memory_order_relaxed); }

 private:
  std::atomic<TimeMs> now_;
};

}  // namespace nextbest::core
