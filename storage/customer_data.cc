#include "storage/customer_data.h"

#include "core/status_macros.h"
#include "storage/codec.h"
#include "storage/keys.h"
#include "storage/rocks_status.h"

namespace nextbest::storage {

struct CustomerEvents::Impl {
  std::string customer_id;
  keys::Range range;
  std::unique_ptr<rocksdb::Iterator> it;  // pins a consistent view
  bool InRange() const { return it->Valid() && it->key().compare(range.end) < 0; }
};

CustomerEvents::CustomerEvents(RocksStore& store, const std::string& customer_id)
    : impl_(new Impl) {
  impl_->customer_id = customer_id;
  impl_->range = keys::CustomerRange(customer_id);
  // One-off scan: it must not evict the working set from the block cache.
  impl_->it = store.NewIterator(Cf::kEvents, /*fill_cache=*/false);
  impl_->it->Seek(impl_->range.begin);
}

CustomerEvents::~CustomerEvents() = default;

bool CustomerEvents::HasMore() const { return impl_->InRange(); }

absl::Status CustomerEvents::Next(int max, std::vector<RawEvent>& out) {
  v1::EventRecord record;
  for (int n = 0; n < max && impl_->InRange(); ++n, impl_->it->Next()) {
    const rocksdb::Slice value = impl_->it->value();
    if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError("export: undecodable event record");
    }
    out.push_back(codec::EventFromRecord(impl_->customer_id, record));
  }
  return FromRocks(impl_->it->status(), "export: read events");
}

}  // namespace nextbest::storage
