#include "core/customer_index.h"

#include "absl/hash/hash.h"
#include "core/features.h"

namespace nextbest::core {
namespace {
const std::string kErased;  // the id of an erased entry: matches no customer id
}  // namespace

CustomerIndex::Table::Table(size_t capacity)
    : mask(capacity - 1), slots(new std::atomic<Entry*>[capacity]) {
  for (size_t i = 0; i < capacity; ++i) slots[i].store(nullptr, std::memory_order_relaxed);
}

CustomerIndex::CustomerIndex(EpochDomain& domain) : domain_(domain), table_(new Table(1024)) {}

CustomerIndex::~CustomerIndex() {
  Table* t = table_.load(std::memory_order_acquire);
  for (size_t i = 0; i <= t->mask; ++i) {
    Entry* e = t->slots[i].load(std::memory_order_relaxed);
    if (e == nullptr) continue;
    delete e->state.load(std::memory_order_relaxed);
    const std::string* id = e->id.load(std::memory_order_relaxed);
    if (id != &kErased) delete id;
    delete e;
  }
  delete t;
}

absl::string_view CustomerIndex::Handle::id() const {
  return *entry_->id.load(std::memory_order_acquire);
}

const CustomerState* CustomerIndex::Handle::state() const {
  return entry_->state.load(std::memory_order_acquire);
}

std::vector<CustomerIndex::Handle> CustomerIndex::Handles() const {
  std::vector<Handle> out;
  out.reserve(size());
  const Table* t = table_.load(std::memory_order_acquire);
  for (size_t i = 0; i <= t->mask; ++i) {
    const Entry* e = t->slots[i].load(std::memory_order_acquire);
    if (e != nullptr) out.push_back(Handle(e));
  }
  return out;
}

size_t CustomerIndex::Hash(absl::string_view id) { return absl::Hash<absl::string_view>{}(id); }

CustomerIndex::Entry* CustomerIndex::FindEntry(const Table& t, absl::string_view id,
                                               size_t hash) const {
  for (size_t i = hash & t.mask;; i = (i + 1) & t.mask) {
    Entry* e = t.slots[i].load(std::memory_order_acquire);
    if (e == nullptr) return nullptr;
    if (e->hash == hash && *e->id.load(std::memory_order_acquire) == id) return e;
  }
}

const CustomerState* CustomerIndex::Find(absl::string_view customer_id) const {
  const Table* t = table_.load(std::memory_order_acquire);
  const Entry* e = FindEntry(*t, customer_id, Hash(customer_id));
  return e == nullptr ? nullptr : e->state.load(std::memory_order_acquire);
}

void CustomerIndex::Grow() {
  Table* old = table_.load(std::memory_order_relaxed);
  auto* next = new Table((old->mask + 1) * 2);
  for (size_t i = 0; i <= old->mask; ++i) {
    Entry* e = old->slots[i].load(std::memory_order_relaxed);
    if (e == nullptr) continue;
    size_t j = e->hash & next->mask;
    while (next->slots[j].load(std::memory_order_relaxed) != nullptr) j = (j + 1) & next->mask;
    next->slots[j].store(e, std::memory_order_relaxed);
  }
  table_.store(next, std::memory_order_release);
  domain_.RetireObject(old);  // the slot array only; entries moved over
}

void CustomerIndex::Publish(absl::string_view customer_id,
                            std::unique_ptr<const CustomerState> state) {
  const size_t hash = Hash(customer_id);
  Table* t = table_.load(std::memory_order_relaxed);
  Entry* e = FindEntry(*t, customer_id, hash);
  if (e == nullptr) {
    if ((entries_ + 1) * 2 > t->mask + 1) {
      Grow();
      t = table_.load(std::memory_order_relaxed);
    }
    e = new Entry{new std::string(customer_id), hash};
    size_t i = hash & t->mask;
    while (t->slots[i].load(std::memory_order_relaxed) != nullptr) i = (i + 1) & t->mask;
    e->state.store(state.release(), std::memory_order_relaxed);
    t->slots[i].store(e, std::memory_order_release);  // entry complete before visible
    ++entries_;
    size_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const CustomerState* old = e->state.exchange(state.release(), std::memory_order_acq_rel);
  if (old == nullptr) size_.fetch_add(1, std::memory_order_relaxed);
  domain_.RetireObject(old);
}

bool CustomerIndex::Erase(absl::string_view customer_id) {
  if (customer_id.empty()) return false;
  Entry* e = FindEntry(*table_.load(std::memory_order_relaxed), customer_id, Hash(customer_id));
  if (e == nullptr) return false;
  // State first: a reader that still finds the entry by its id sees no state.
  const CustomerState* old = e->state.exchange(nullptr, std::memory_order_acq_rel);
  if (old != nullptr) size_.fetch_sub(1, std::memory_order_relaxed);
  domain_.RetireObject(old);
  domain_.RetireObject(e->id.exchange(&kErased, std::memory_order_acq_rel));
  return true;
}

}  // namespace nextbest::core
