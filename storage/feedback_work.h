#pragma once
// The feedback part of one group commit (internal to the writer): exposure
// entries and served decisions read from RocksDB or created by this group,
// written at Seal, and their change to the live per-variant totals applied
// at Publish — only once the batch is durable. See core/attribution.h for
// the rule, storage/ingest_feedback.cc for the commands.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/attribution.h"
#include "core/catalog.h"
#include "core/experiments.h"
#include "rocksdb/write_batch.h"
#include "storage/records.pb.h"
#include "storage/rocks_store.h"

namespace nextbest::storage {

class FeedbackWork {
 public:
  explicit FeedbackWork(RocksStore& store) : store_(store) {}
  static core::ExposureEntry EntryFromRecord(const v1::ExposureRecord& r);

  // The customer's entry in `experiment` as this group leaves it; null if
  // there is none (and `create` is false).
  absl::StatusOr<core::ExposureEntry*> Entry(const std::string& customer,
                                             const std::string& experiment, bool create);
  // Every entry of the customer (stored or created in this group).
  absl::StatusOr<std::vector<std::pair<std::string, core::ExposureEntry*>>> Entries(
      const std::string& customer);

  // A decision served in this group.
  void AddDecision(const std::string& customer, const core::DecisionId& id,
                   core::StoredDecision decision, std::string record);
  // The stored (or pending) decision `id` of the customer; null if unknown.
  absl::StatusOr<const core::StoredDecision*> Decision(const core::Catalog& catalog,
                                                       const std::string& customer,
                                                       const core::DecisionId& id);
  // The customer's decisions served in [from, to].
  absl::StatusOr<std::vector<const core::StoredDecision*>> Decisions(const core::Catalog& catalog,
                                                                     const std::string& customer,
                                                                     core::TimeMs from,
                                                                     core::TimeMs to);

  // Erasure: the customer's entries leave the totals, their keys the family.
  absl::Status Erase(const std::string& customer);

  core::UnattributedCounts& unattributed() { return unattributed_; }

  // Adds the changed entries, new decisions and the unattributed counts to
  // `batch`; `totals` holds the counts before this group.
  void Seal(rocksdb::WriteBatch& batch, const core::ExperimentTotals& totals);
  // After a durable write: the totals move by what the entries changed.
  void Publish(core::ExperimentTotals& totals);

 private:
  struct PendingEntry {
    std::optional<core::ExposureEntry> before;  // as stored
    core::ExposureEntry after;
    bool exists = false;  // after the group (false: none, or erased)
    bool changed = false;
  };
  absl::StatusOr<PendingEntry*> Load(const std::string& customer, const std::string& experiment);
  core::StoredDecision FromRecord(const core::Catalog& catalog, const std::string& bytes) const;

  RocksStore& store_;
  std::map<std::pair<std::string, std::string>, PendingEntry> entries_;
  // Decisions by key: served in this group (with their record) or read.
  struct PendingDecision {
    core::StoredDecision decision;
    std::string record;  // non-empty: to be written
  };
  std::map<std::string, PendingDecision> decisions_;
  core::UnattributedCounts unattributed_;
};

}  // namespace nextbest::storage
