#pragma once
// CustomerIndex: customer id -> the customer's current immutable state.
//
// One writer thread, any number of lock-free readers. The table is open
// addressing over atomic entry pointers; entries are only ever added, so a
// reader's probe never sees a half-built entry. Erase() (GDPR erasure)
// empties an entry in place: its state and its id string are retired, the
// entry stays as a tombstone that matches no id. Growing builds a new table
// and publishes it by pointer swap; the old slot array is retired into the
// EpochDomain. States are replaced whole (copy-on-write) by Publish().
//
// Readers must hold a ReadGuard on the same EpochDomain while they use a
// returned pointer.

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/epoch.h"

namespace nextbest::core {

struct CustomerState;

class CustomerIndex {
  struct Entry;

 public:
  explicit CustomerIndex(EpochDomain& domain);
  ~CustomerIndex();
  CustomerIndex(const CustomerIndex&) = delete;
  CustomerIndex& operator=(const CustomerIndex&) = delete;

  // Any thread, inside a ReadGuard. nullptr if the customer is unknown.
  const CustomerState* Find(absl::string_view customer_id) const;

  // Writer thread only. Makes `state` the customer's current state; the
  // previous one is retired. `state` must not be null.
  void Publish(absl::string_view customer_id, std::unique_ptr<const CustomerState> state);

  // Writer thread only. Forgets the customer: the state and the id are
  // retired (freed once no reader can see them); a later Publish of the same
  // id starts a new entry. False if the customer was not in the index.
  bool Erase(absl::string_view customer_id);

  // A stable reference to one customer. Entries are never removed while the
  // index lives, so a handle stays valid outside any ReadGuard; the state
  // it returns is valid inside one (batch runs take a short guard per chunk
  // instead of one guard for the whole run).
  class Handle {
   public:
    // Inside a ReadGuard; empty once the customer has been erased.
    absl::string_view id() const;
    const CustomerState* state() const;

   private:
    friend class CustomerIndex;
    explicit Handle(const Entry* e) : entry_(e) {}
    const Entry* entry_;
  };
  // Every customer in the index now. Any thread, inside a ReadGuard.
  std::vector<Handle> Handles() const;

  // Customers with a state. Any thread (relaxed).
  size_t size() const { return size_.load(std::memory_order_relaxed); }

  // Visits every (id, state): the writer thread, or any thread inside a
  // ReadGuard (the models build); customers added meanwhile may be missed.
  template <typename F>
  void ForEach(F&& f) const {
    const Table* t = table_.load(std::memory_order_acquire);
    for (size_t i = 0; i <= t->mask; ++i) {
      const Entry* e = t->slots[i].load(std::memory_order_acquire);
      if (e == nullptr) continue;
      const CustomerState* s = e->state.load(std::memory_order_acquire);
      if (s != nullptr) f(absl::string_view(*e->id.load(std::memory_order_acquire)), *s);
    }
  }

 private:
  struct Entry {
    // Replaced by the shared empty string on erasure (readers compare ids
    // while the writer erases, so the string is swapped, never edited).
    std::atomic<const std::string*> id;
    size_t hash;
    std::atomic<const CustomerState*> state{nullptr};
  };
  struct Table {
    explicit Table(size_t capacity);
    size_t mask;
    std::unique_ptr<std::atomic<Entry*>[]> slots;
  };

  static size_t Hash(absl::string_view id);
  Entry* FindEntry(const Table& t, absl::string_view id, size_t hash) const;
  void Grow();

  EpochDomain& domain_;
  std::atomic<Table*> table_;
  size_t entries_ = 0;  // writer only
  std::atomic<size_t> size_{0};
};

}  // namespace nextbest::core
