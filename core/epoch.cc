#include "core/epoch.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

namespace nextbest::core {
namespace {
std::atomic<uint64_t> next_domain_id{1};

// Domains alive now, so that a thread ending after its domain does not touch
// freed slots. Ids are never reused.
std::mutex live_domains_mu;
std::unordered_map<uint64_t, EpochDomain*>& LiveDomains() {
  static auto* m = new std::unordered_map<uint64_t, EpochDomain*>();
  return *m;
}
}  // namespace

// The slots this thread owns, one per domain it has read from; given back
// when the thread ends.
struct EpochDomain::ThreadState {
  std::unordered_map<uint64_t, Claim> claims;
  uint64_t cached_id = 0;
  Claim* cached = nullptr;
  ~ThreadState() {
    std::lock_guard<std::mutex> lock(live_domains_mu);
    for (auto& [id, claim] : claims) {
      if (LiveDomains().count(id) == 0) continue;
      claim.slot->epoch.store(0, std::memory_order_release);
      claim.slot->owned.store(false, std::memory_order_release);
    }
  }
};

EpochDomain::EpochDomain() : id_(next_domain_id.fetch_add(1)), slots_(new Slot[kMaxReaders]) {
  std::lock_guard<std::mutex> lock(live_domains_mu);
  LiveDomains()[id_] = this;
}

EpochDomain::~EpochDomain() {
  {
    std::lock_guard<std::mutex> lock(live_domains_mu);
    LiveDomains().erase(id_);
  }
  for (auto& r : retired_) r.deleter();
  for (auto& d : foreign_) d();
}

EpochDomain::Claim& EpochDomain::ClaimForThisThread() {
  thread_local ThreadState state;
  if (state.cached_id == id_) return *state.cached;
  auto it = state.claims.find(id_);
  if (it == state.claims.end()) {
    Slot* slot = nullptr;
    for (int i = 0; i < kMaxReaders && slot == nullptr; ++i) {
      bool expected = false;
      if (slots_[i].owned.compare_exchange_strong(expected, true)) slot = &slots_[i];
    }
    if (slot == nullptr) {
      std::fprintf(stderr, "EpochDomain: more than %d reader threads\n", kMaxReaders);
      std::abort();
    }
    it = state.claims.emplace(id_, Claim{slot, 0}).first;
  }
  state.cached_id = id_;
  state.cached = &it->second;
  return it->second;
}

void EpochDomain::Enter() {
  Claim& claim = ClaimForThisThread();
  if (claim.depth++ > 0) return;
  // The announcement must be visible before any published pointer is read;
  // the fence pairs with the one in Reclaim() (store-load ordering).
  claim.slot->epoch.store(global_epoch_.load(std::memory_order_acquire), std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

void EpochDomain::Exit() {
  Claim& claim = ClaimForThisThread();
  if (--claim.depth > 0) return;
  claim.slot->epoch.store(0, std::memory_order_release);
}

void EpochDomain::Retire(std::function<void()> deleter) {
  retired_.push_back({global_epoch_.load(std::memory_order_relaxed), std::move(deleter)});
}

uint64_t EpochDomain::MinActiveEpoch() const {
  uint64_t min_epoch = UINT64_MAX;
  for (int i = 0; i < kMaxReaders; ++i) {
    uint64_t e = slots_[i].epoch.load(std::memory_order_acquire);
    if (e != 0) min_epoch = std::min(min_epoch, e);
  }
  return min_epoch;
}

void EpochDomain::RetireFromAnyThread(std::function<void()> deleter) {
  std::lock_guard<std::mutex> lock(foreign_mu_);
  foreign_.push_back(std::move(deleter));
}

int EpochDomain::Reclaim() {
  {
    // Taken over at the current epoch, which is at least the one at which
    // they were unlinked: safe (at worst freed one round later).
    std::lock_guard<std::mutex> lock(foreign_mu_);
    for (auto& d : foreign_) Retire(std::move(d));
    foreign_.clear();
  }
  if (retired_.empty()) return 0;
  // Readers entering from now on announce a newer epoch than anything
  // retired so far; only readers already inside can hold retired objects.
  global_epoch_.fetch_add(1, std::memory_order_acq_rel);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const uint64_t min_active = MinActiveEpoch();
  int freed = 0;
  size_t kept = 0;
  for (size_t i = 0; i < retired_.size(); ++i) {
    if (retired_[i].epoch < min_active) {
      retired_[i].deleter();
      ++freed;
    } else {
      retired_[kept++] = std::move(retired_[i]);
    }
  }
  retired_.resize(kept);
  return freed;
}

}  // namespace nextbest::core
