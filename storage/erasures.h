#pragma once
// Erasures beyond the writer's atomic part: the physical purge of a
// customer's bytes, the list of every erasure on record, and re-applying
// that list to a database restored from a checkpoint taken before some of
// them (backups are outside erasure; see README, Privacy).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/live_state.h"
#include "storage/ingestor.h"
#include "storage/rocks_store.h"

namespace nextbest::storage {

// The column families that hold data about one customer, each under keys
// that begin with the customer id (keys.h): what erasure removes.
inline constexpr Cf kCustomerFamilies[] = {Cf::kCustomers, Cf::kFeatures, Cf::kEvents,
                                           Cf::kIdempotency, Cf::kExperiments};

// Makes the bytes of everything about `customer_id` leave the database
// files (RocksStore::Purge over kCustomerFamilies). Blocking; call it off
// the writer thread, after the erasure was written.
absl::Status PurgeCustomer(RocksStore& store, const std::string& customer_id);

// Profile retention: erases, one at a time through the writer (so live
// traffic keeps its place in the queue), every customer whose last event
// is before `inactive_before`; a customer active again meanwhile is
// skipped. Returns how many were erased. Blocking; not on the writer
// thread.
int64_t EraseInactiveProfiles(Ingestor& ingestor, core::LiveState& live,
                              core::TimeMs inactive_before);

struct ErasureEntry {
  std::string subject_hash;  // raw keyed hash (keys::Suppression), never the id
  int64_t erased_at_ms = 0;
  int64_t suppress_through_ms = 0;
};

// Every suppression record, in key order.
absl::StatusOr<std::vector<ErasureEntry>> ListErasures(RocksStore& store);

struct ReapplyReport {
  int64_t listed = 0;              // entries given
  int64_t already_on_record = 0;   // the database held their suppression already
  int64_t customers_erased = 0;    // a customer held here matched and was erased
  int64_t suppressions_added = 0;  // nothing held: only the suppression recorded
};

// Re-applies `entries` (e.g. from a newer database's ListErasures) after
// recovery, before serving: every customer held here whose keyed hash is
// listed is erased with the original times, an entry that matches nobody
// gets its suppression record (their late events stay dropped), and the
// erased ranges are purged from the files. The keyed hash uses this
// database's secret, which a checkpoint shares with the database it was
// taken from. Blocking; the ingestor must be running.
absl::StatusOr<ReapplyReport> ReapplyErasures(const std::vector<ErasureEntry>& entries,
                                              RocksStore& store, Ingestor& ingestor,
                                              core::LiveState& live);

}  // namespace nextbest::storage
