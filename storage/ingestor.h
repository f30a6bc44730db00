#pragma once
// Ingestor: the single writer of nextbest.
//
// Every mutation (events, customers, products, stores, stock) is queued here
// and applied by one thread, in order. The thread takes whatever is queued
// (up to a limit) as one group and, for the group:
//   1. checks each request (duplicate and conflicting event ids, unknown
//      references); a rejected request leaves no trace;
//   2. applies the accepted ones to copies of the affected customer states,
//      product popularity and (if touched) the catalog;
//   3. writes ONE RocksDB WriteBatch holding every event, its idempotency
//      key and the customers' new feature state, fsync'ed once (group
//      commit) under the default durability;
//   4. only then publishes the new states to LiveState (pointer swaps) and
//      acknowledges, so an acknowledged event is durable and visible to the
//      very next Recommend (read-your-writes).
//
// The offer ledger, which lives in memory, is saved through the writer too
// (SaveOfferLedger), so the writer is the only thread that writes.
//
// Erasure (EraseCustomer) is ordered with everything else: range deletes
// of the customer's events and idempotency keys, deletes of attributes and
// features, and a suppression record (keyed hash of the id -> erasure
// time and the time through which events are dropped) in the same atomic
// batch; then the customer leaves memory (index, offer-cap counters).
// Later events of the customer timestamped at or before the suppression
// time are dropped and counted (`suppressed`); later ones start a new,
// empty profile. The suppression time of an erasure on request is the
// erasure time plus max_clock_skew_ms (a retry from a client whose clock
// runs ahead must not resurrect the profile); of a retention erasure, the
// retention horizon (recent activity always counts, so a chronological
// backfill of old history keeps the customer's recent events). The bytes leave the files with
// RocksStore::Purge, which the caller runs after the acknowledgement.
// If the write fails, nothing is published and every request of the group
// gets the error (UNAVAILABLE for I/O errors and a full disk).
//
// Trending lists are rebuilt from the popularity table at most every
// `trending_publish_interval_ms` while events arrive. Events that name a
// store also count for the store's own list (one record per store and
// product, in the same batch); a store keeps at most 2 × store_trending_keep
// products, and the weakest beyond `keep` are forgotten (deleted) when the
// lists are rebuilt.
//
// Thread-safety: Submit/SubmitAndWait/queue_depth from any thread.

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/features.h"
#include "core/live_state.h"
#include "core/trending.h"
#include "storage/commands.h"
#include "storage/log_positions.h"
#include "storage/rocks_store.h"

namespace nextbest::storage {

struct IngestOptions {
  int queue_capacity = 4096;
  int max_group_requests = 256;
  int trending_publish_interval_ms = 200;
  // Decisions served to assigned customers (core::DecisionLog) are stored
  // at least this often.
  int decision_flush_ms = 50;
  int store_trending_keep = 250;
  // How far ahead of the server clock an event may be (validation accepts
  // this much skew): an erasure also drops the customer's events dated up
  // to this long after it, so a client whose clock runs ahead cannot
  // re-create the profile with a retry.
  core::TimeMs max_clock_skew_ms = 24 * 3600 * 1000;
  // Events may name products the catalog does not list yet (the feed may
  // lag): each becomes an unlisted placeholder, never recommended, until it
  // is upserted. At most this many placeholders exist; an event that would
  // add one more is refused (RESOURCE_EXHAUSTED naming the field), so
  // invented product ids cannot grow memory and disk without bound.
  int max_unlisted_products = 10000;
  // The catalog is complete: an event naming a product it does not hold is
  // refused (NOT_FOUND naming the field) instead of adding a placeholder.
  bool catalog_authoritative = false;
  core::FeatureOptions features;
  // Cluster mode: the partitions of the events and catalog topics whose
  // positions this node stores (storage/log_positions.h); {0, 0} alone.
  std::array<int32_t, kLogTopicCount> log_partitions = {0, 0};
  // Called on the writer thread after a group carrying log positions is
  // durable and published (consistency-token waiters look again).
  std::function<void()> on_log_applied;
};

struct RecoveryStats {
  int64_t customers = 0;
  int64_t products = 0;
  int64_t stores = 0;
  double seconds = 0;
};

class Ingestor {
 public:
  // Loads catalog, customers, popularity and the offer ledger from `store`
  // into `live` (whose
  // catalog must already hold an empty Catalog with the markets), publishes
  // them, then starts the writer thread. `store`, `live` and `clock` must
  // outlive the Ingestor.
  static absl::StatusOr<std::unique_ptr<Ingestor>> Start(RocksStore* store, core::LiveState* live,
                                                         const IngestOptions& options,
                                                         const core::Clock* clock);
  ~Ingestor();  // Stop()

  // Queues `command`; `done` runs on the writer thread once it is durable
  // or rejected. RESOURCE_EXHAUSTED at once if the queue is full,
  // UNAVAILABLE after Stop() (then `done` is not called).
  absl::Status Submit(Command command, WriteDone done);

  // Cluster mode (server/cluster_models.cc), any thread but the writer's:
  // a copy of the writer's product and store popularity as it stands,
  // taken on the writer thread (within decision_flush_ms); nullptr if the
  // writer does not answer within 10 s (stopping).
  struct Popularity {
    std::vector<core::ProductPopularity> products;  // by product index
    core::StorePopularity stores;                   // by store index
  };
  std::shared_ptr<const Popularity> CopyPopularity();
  // The other shards' popularity (indices of this node's catalog): added to
  // the writer's own in every trending list published from now on.
  void SetRemotePopularity(std::shared_ptr<const Popularity> remote);
  // The same for records consumed from the cluster log: `positions` are
  // written in the command's write batch, whether the command is applied
  // or rejected (a rejected record is consumed too), and published to
  // applied_log() once durable.
  absl::Status Submit(Command command, LogPositions positions, WriteDone done);
  // Submit and block until done. Not for gRPC callback threads.
  absl::StatusOr<WriteResult> SubmitAndWait(Command command);

  // Refuses new requests, finishes everything queued, stops the thread.
  void Stop();

  size_t queue_depth() const { return queue_depth_.load(std::memory_order_relaxed); }
  const RecoveryStats& recovery() const { return recovery_; }
  const AppliedLog& applied_log() const { return applied_log_; }

  struct Counters {
    std::atomic<int64_t> events_accepted{0};
    std::atomic<int64_t> events_duplicate{0};
    std::atomic<int64_t> events_suppressed{0};  // of erased customers, dropped
    std::atomic<int64_t> customers_erased{0};
    std::atomic<int64_t> write_groups{0};
    std::atomic<int64_t> write_errors{0};
  };
  const Counters& counters() const { return counters_; }

 private:
  struct Pending {
    Command command;
    WriteDone done;
    LogPositions positions;
  };
  class Group;

  Ingestor(RocksStore* store, core::LiveState* live, const IngestOptions& options,
           const core::Clock* clock);
  absl::Status Recover();
  void Run();
  void ProcessGroup(std::vector<Pending>& group);
  void PublishTrending();
  void MaybePublishTrending();
  void PruneStorePopularity();
  // ingest_popularity.cc: answers CopyPopularity, takes SetRemotePopularity.
  void SharePopularity();

  absl::Status Apply(const RecordEvents& c, Group& g, WriteResult& r);
  absl::Status Apply(const UpsertCustomers& c, Group& g, WriteResult& r);
  absl::Status Apply(const UpsertProducts& c, Group& g, WriteResult& r);
  absl::Status Apply(const UpsertStores& c, Group& g, WriteResult& r);
  absl::Status Apply(const SetStock& c, Group& g, WriteResult& r);
  absl::Status Apply(const EraseCustomer& c, Group& g, WriteResult& r);
  absl::Status Apply(const SetConsent& c, Group& g, WriteResult& r);
  absl::Status Apply(const Suppress& c, Group& g, WriteResult& r);
  absl::Status Apply(const SaveOfferLedger& c, Group& g, WriteResult& r);
  // ingest_feedback.cc
  absl::Status Apply(const RecordDecisions& c, Group& g, WriteResult& r);
  absl::Status Apply(const PruneDecisions& c, Group& g, WriteResult& r);
  // Counts a new event for the decisions and experiments it answers.
  absl::Status Feedback(const RawEvent& e, const core::Event& ev, Group& g);
  absl::Status RecoverFeedback();
  // ingest_log.cc
  void PutLogPositions(const LogPositions& positions, rocksdb::WriteBatch& batch);
  // True if every position follows where its partition stands (`next`:
  // the group's own progress; then the applied log); advances `next`.
  bool InLogOrder(const LogPositions& positions,
                  absl::flat_hash_map<std::pair<int, int32_t>, int64_t>& next) const;
  absl::Status RecoverLogPositions();
  // The customer's RFM segment value at `now` (0 before the first models).
  int RfmSegmentOf(const core::CustomerState& state, core::TimeMs now) const;
  // Through when events of `customer_id` are dropped (it was erased), if
  // ever.
  std::optional<int64_t> SuppressedThrough(const std::string& customer_id, const Group& g) const;

  RocksStore* const store_;
  core::LiveState* const live_;
  const IngestOptions options_;
  const core::Clock* const clock_;

  // Writer thread only.
  std::vector<core::ProductPopularity> popularity_;
  core::StorePopularity store_popularity_;  // by store index
  // Erased customers: suppression key -> events dropped through this time
  // (all of them; a few dozen bytes each).
  absl::flat_hash_map<std::string, int64_t> erased_;
  bool trending_dirty_ = false;
  core::TimeMs last_trending_ms_ = 0;

  // Popularity shared with the other shards (ingest_popularity.cc).
  std::mutex share_mu_;
  std::condition_variable share_cv_;
  bool copy_wanted_ = false;
  uint64_t copies_made_ = 0;
  std::shared_ptr<const Popularity> copy_;
  std::shared_ptr<const Popularity> remote_, remote_in_use_;  // remote_in_use_: writer only
  bool remote_changed_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::atomic<size_t> queue_depth_{0};
  std::thread thread_;
  RecoveryStats recovery_;
  Counters counters_;
  AppliedLog applied_log_;
};

}  // namespace nextbest::storage
