#pragma once
// Epoch-based reclamation for the lock-free read path.
//
// Readers (Recommend, GetProfile) wrap every access to published state in a
// ReadGuard: two atomic stores, no lock, no allocation. The single writer
// replaces a published object by pointer swap and hands the old one to
// Retire(); Reclaim() frees it once no reader that could still see it is
// inside a guard. An object retired at epoch E is freed when every active
// reader announced an epoch > E, so a reader never sees freed memory.
//
// Thread-safety: Enter/Exit from any thread (each thread has its own slot,
// claimed on first use and released at thread exit; at most kMaxReaders
// threads at once). Retire/Reclaim from the single writer thread only;
// RetireFromAnyThread for the rare publications made elsewhere (config
// reloads, model builds), handed to the writer's next Reclaim.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace nextbest::core {

class EpochDomain {
 public:
  static constexpr int kMaxReaders = 512;

  EpochDomain();
  ~EpochDomain();  // frees everything still retired
  EpochDomain(const EpochDomain&) = delete;
  EpochDomain& operator=(const EpochDomain&) = delete;

  // Reader side. Nested guards on one thread are allowed.
  void Enter();
  void Exit();

  // Writer side. `deleter` runs on the writer thread inside a later
  // Reclaim() (or the destructor).
  void Retire(std::function<void()> deleter);
  template <typename T>
  void RetireObject(const T* p) {
    if (p != nullptr) Retire([p] { delete p; });
  }
  // Any thread. Freed by a later Reclaim() on the writer thread.
  void RetireFromAnyThread(std::function<void()> deleter);

  // Advances the epoch and frees what no reader can see any more. Returns
  // the number of objects freed.
  int Reclaim();
  size_t pending() const { return retired_.size(); }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> epoch{0};  // 0 = not reading
    std::atomic<bool> owned{false};
  };
  struct ThreadState;
  struct Claim {
    Slot* slot;
    int depth;
  };
  Claim& ClaimForThisThread();
  uint64_t MinActiveEpoch() const;

  const uint64_t id_;
  std::atomic<uint64_t> global_epoch_{1};
  std::unique_ptr<Slot[]> slots_;
  struct Retired {
    uint64_t epoch;
    std::function<void()> deleter;
  };
  std::vector<Retired> retired_;  // writer only
  std::mutex foreign_mu_;
  std::vector<std::function<void()>> foreign_;  // RetireFromAnyThread, guarded
};

class ReadGuard {
 public:
  explicit ReadGuard(EpochDomain& domain) : domain_(domain) { domain_.Enter(); }
  ~ReadGuard() { domain_.Exit(); }
  ReadGuard(const ReadGuard&) = delete;
  ReadGuard& operator=(const ReadGuard&) = delete;

 private:
  EpochDomain& domain_;
};

// A pointer published by the single writer and read lock-free inside a
// ReadGuard. Owns the current object.
template <typename T>
class Published {
 public:
  Published() = default;
  ~Published() { delete ptr_.load(std::memory_order_relaxed); }
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;

  // Valid until the caller's ReadGuard ends.
  const T* Get() const { return ptr_.load(std::memory_order_acquire); }

  // Writer only. The previous object is retired into `domain`.
  void Publish(std::unique_ptr<const T> next, EpochDomain& domain) {
    const T* old = ptr_.exchange(next.release(), std::memory_order_acq_rel);
    domain.RetireObject(old);
  }
  // Any thread, one publisher at a time for this object (config reloads
  // and model builds, outside the single writer).
  void PublishFromAnyThread(std::unique_ptr<const T> next, EpochDomain& domain) {
    const T* old = ptr_.exchange(next.release(), std::memory_order_acq_rel);
    if (old != nullptr) domain.RetireFromAnyThread([old] { delete old; });
  }

 private:
  std::atomic<const T*> ptr_{nullptr};
};

}  // namespace nextbest::core
