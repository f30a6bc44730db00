#include "core/decision_log.h"

namespace nextbest::core {
namespace {

size_t ThreadShard() {
  static std::atomic<size_t> next{0};
  thread_local const size_t shard = next.fetch_add(1, std::memory_order_relaxed);
  return shard;
}

}  // namespace

void DecisionLog::Append(ServedDecision d) {
  if (size_.fetch_add(1, std::memory_order_relaxed) >= capacity_) {
    size_.fetch_sub(1, std::memory_order_relaxed);
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Shard& s = shards_[ThreadShard() % shards_.size()];
  std::lock_guard<std::mutex> lock(s.mu);
  s.items.push_back(std::move(d));
}

size_t DecisionLog::Drain(std::vector<ServedDecision>& out) {
  size_t n = 0;
  for (Shard& s : shards_) {
    std::vector<ServedDecision> taken;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      taken.swap(s.items);
    }
    n += taken.size();
    for (ServedDecision& d : taken) out.push_back(std::move(d));
  }
  size_.fetch_sub(n, std::memory_order_relaxed);
  return n;
}

}  // namespace nextbest::core
