#include "storage/erasures.h"

#include <iterator>

#include "absl/container/flat_hash_map.h"
#include "core/status_macros.h"
#include "storage/codec.h"
#include "storage/keys.h"
#include "storage/rocks_status.h"

namespace nextbest::storage {

absl::Status PurgeCustomer(RocksStore& store, const std::string& customer_id) {
  // [id, id\1) covers the customer's point keys (id) and its ranges (id\0...).
  return store.Purge({std::begin(kCustomerFamilies), std::end(kCustomerFamilies)}, customer_id,
                     keys::CustomerRange(customer_id).end);
}

int64_t EraseInactiveProfiles(Ingestor& ingestor, core::LiveState& live,
                              core::TimeMs inactive_before) {
  std::vector<std::string> expired;
  {
    core::ReadGuard guard(live.epochs);
    live.customers.ForEach([&](absl::string_view id, const core::CustomerState& s) {
      if (s.features.last_seen != 0 && s.features.last_seen < inactive_before)
        expired.emplace_back(id);
    });
  }
  int64_t erased = 0;
  for (const std::string& id : expired) {
    // Refused if an event or an erasure got there first.
    if (ingestor.SubmitAndWait(EraseCustomer{id, inactive_before}).ok()) ++erased;
  }
  return erased;
}

absl::StatusOr<std::vector<ErasureEntry>> ListErasures(RocksStore& store) {
  std::vector<ErasureEntry> out;
  auto it = store.NewIterator(Cf::kSuppression, /*fill_cache=*/false);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ASSIGN_OR_RETURN(auto rec,
                     codec::Parse<v1::SuppressionRecord>(it->value().ToString(), "suppression"));
    out.push_back({it->key().ToString(), rec.erased_ms(), rec.suppress_through_ms()});
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "read suppression"));
  return out;
}

absl::StatusOr<ReapplyReport> ReapplyErasures(const std::vector<ErasureEntry>& entries,
                                              RocksStore& store, Ingestor& ingestor,
                                              core::LiveState& live) {
  ReapplyReport report;
  report.listed = static_cast<int64_t>(entries.size());
  ASSIGN_OR_RETURN(const std::vector<ErasureEntry> on_record, ListErasures(store));
  absl::flat_hash_map<std::string, const ErasureEntry*> pending;
  for (const ErasureEntry& e : entries) pending.emplace(e.subject_hash, &e);
  for (const ErasureEntry& e : on_record) report.already_on_record += pending.erase(e.subject_hash);

  // Which customers held here are listed: their keyed hashes.
  std::vector<std::pair<std::string, const ErasureEntry*>> matches;
  if (!pending.empty()) {
    core::ReadGuard guard(live.epochs);
    live.customers.ForEach([&](absl::string_view id, const core::CustomerState&) {
      if (auto it = pending.find(keys::Suppression(store.secret(), id)); it != pending.end()) {
        matches.emplace_back(std::string(id), it->second);
      }
    });
  }
  for (const auto& [id, entry] : matches) {
    EraseCustomer erase;
    erase.customer_id = id;
    erase.erased_at_ms = entry->erased_at_ms;
    erase.suppress_through_ms = entry->suppress_through_ms;
    RETURN_IF_ERROR(ingestor.SubmitAndWait(std::move(erase)).status());
    pending.erase(entry->subject_hash);
    ++report.customers_erased;
  }
  for (const auto& [hash, entry] : pending) {
    RETURN_IF_ERROR(
        ingestor.SubmitAndWait(Suppress{hash, entry->erased_at_ms, entry->suppress_through_ms})
            .status());
    ++report.suppressions_added;
  }
  if (report.customers_erased > 0) {
    // One purge of the whole families instead of one per customer.
    RETURN_IF_ERROR(
        store.Purge({std::begin(kCustomerFamilies), std::end(kCustomerFamilies)}, "", ""));
  }
  return report;
}

}  // namespace nextbest::storage
