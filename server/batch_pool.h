#pragma once
// BatchPool: the worker threads every DecideForAll call shares.
//
// A fixed number of threads (one per core by default) run tasks in the
// order they were queued. A batch call queues one task per chunk it wants
// decided and queues the next only when its reader has taken what it
// produced, so a call whose client stops reading holds no thread and only
// its few buffered chunks; how many calls may be open at once is limited
// by the caller (--max_concurrent_batches), so threads and memory are
// bounded whatever clients do.
//
// Thread-safety: Run() from any thread.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nextbest::server {

class BatchPool {
 public:
  explicit BatchPool(int threads);
  ~BatchPool();  // finishes the queued tasks, then joins
  BatchPool(const BatchPool&) = delete;
  BatchPool& operator=(const BatchPool&) = delete;

  void Run(std::function<void()> task);
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  void Work();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace nextbest::server
