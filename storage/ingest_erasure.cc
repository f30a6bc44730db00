// The writer's erasure commands: a customer erased in one atomic batch,
// and a suppression record alone (re-applied erasures).

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "storage/codec.h"
#include "storage/ingest_group.h"
#include "storage/ingestor.h"
#include "storage/keys.h"
#include "storage/rocks_status.h"

namespace nextbest::storage {

std::optional<int64_t> Ingestor::SuppressedThrough(const std::string& customer_id,
                                                   const Group& g) const {
  if (erased_.empty() && g.suppressions().empty()) return std::nullopt;
  const std::string key = keys::Suppression(store_->secret(), customer_id);
  if (auto it = g.suppressions().find(key); it != g.suppressions().end()) return it->second;
  if (auto it = erased_.find(key); it != erased_.end()) return it->second;
  return std::nullopt;
}

absl::Status Ingestor::Apply(const EraseCustomer& c, Group& g, WriteResult& r) {
  const std::string& id = c.customer_id;
  if (c.inactive_before_ms > 0) {
    const core::CustomerState* s = g.Current(id);
    if (s == nullptr || s->features.last_seen == 0 ||
        s->features.last_seen >= c.inactive_before_ms) {
      return absl::FailedPreconditionError("customer_id: active again; not erased by retention");
    }
  }
  Erasure& e = r.erasure;
  e.erased_at_ms = c.erased_at_ms != 0 ? c.erased_at_ms : clock_->Now();
  e.suppress_through_ms = c.suppress_through_ms != 0 ? c.suppress_through_ms
                          : c.inactive_before_ms > 0 ? c.inactive_before_ms - 1
                                                     : e.erased_at_ms + options_.max_clock_skew_ms;
  e.subject_hash = keys::Suppression(store_->secret(), id);
  e.in_memory = g.InMemory(id);
  ASSIGN_OR_RETURN(std::optional<v1::CustomerRecord> record, g.CustomerRecord(id));
  e.attributes = record.has_value();
  ASSIGN_OR_RETURN(std::optional<std::string> features,
                   store_->Get(Cf::kFeatures, keys::Customer(id)));
  e.features = features.has_value();
  const keys::Range range = keys::CustomerRange(id);
  for (auto [cf, count] :
       {std::pair{Cf::kEvents, &e.events}, {Cf::kIdempotency, &e.idempotency_keys}}) {
    auto it = store_->NewIterator(cf, /*fill_cache=*/false);
    for (it->Seek(range.begin); it->Valid() && it->key().compare(range.end) < 0; it->Next())
      ++*count;
    RETURN_IF_ERROR(FromRocks(it->status(), absl::StrCat("erase: read ", RocksStore::CfName(cf))));
  }
  if (!e.in_memory && !e.attributes && !e.features && e.events == 0 && e.idempotency_keys == 0) {
    return absl::NotFoundError(absl::StrCat("customer_id: no data held about '", id, "'"));
  }
  rocksdb::WriteBatch& b = g.batch();
  b.DeleteRange(store_->handle(Cf::kEvents), range.begin, range.end);
  b.DeleteRange(store_->handle(Cf::kIdempotency), range.begin, range.end);
  RETURN_IF_ERROR(g.feedback().Erase(id));  // their exposures leave the totals
  b.DeleteRange(store_->handle(Cf::kExperiments), range.begin, range.end);
  b.Delete(store_->handle(Cf::kCustomers), keys::Customer(id));
  b.Delete(store_->handle(Cf::kFeatures), keys::Customer(id));
  v1::SuppressionRecord sup;
  sup.set_erased_ms(e.erased_at_ms);
  sup.set_suppress_through_ms(e.suppress_through_ms);
  b.Put(store_->handle(Cf::kSuppression), e.subject_hash, sup.SerializeAsString());
  // Earlier requests of this group may have used the customer's event ids.
  absl::erase_if(g.seen_ids(), [&](const auto& kv) {
    return absl::string_view(kv.first).substr(0, range.begin.size()) == range.begin;
  });
  g.Erase(id, e.subject_hash, e.suppress_through_ms, &e);
  return absl::OkStatus();
}

absl::Status Ingestor::Apply(const Suppress& c, Group& g, WriteResult& r) {
  v1::SuppressionRecord sup;
  sup.set_erased_ms(c.erased_at_ms);
  sup.set_suppress_through_ms(c.suppress_through_ms);
  g.batch().Put(store_->handle(Cf::kSuppression), c.subject_hash, sup.SerializeAsString());
  g.Suppress(c.subject_hash, c.suppress_through_ms);
  ++r.accepted;
  return absl::OkStatus();
}

}  // namespace nextbest::storage
