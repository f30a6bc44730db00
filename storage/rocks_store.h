#pragma once
// RocksStore: the RocksDB database of one nextbest process.
//
// One column family per kind of data (see keys.h). Opening creates a
// database only in a directory that never held one (data_dir.h), checks
// the record-format version, and refuses to open a database with
// corruption in the middle of its WAL (WALRecoveryMode
// kTolerateCorruptedTailRecords: a torn last record from a crash is
// tolerated, it was never acknowledged; anything else is an error instead
// of a silent loss) or with fewer acknowledged writes than it had (the
// acknowledged-write watermark). Every refusal happens before a file is
// changed.
//
// Thread-safety: all methods may be called from any thread (RocksDB is
// thread-safe); nextbest writes from one writer thread only.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/data_dir.h"

namespace nextbest::storage {

enum class Durability {
  // One fsync'ed WriteBatch per group of queued requests (the default):
  // survives kill -9 and power loss.
  kGroupCommitSync,
  // An fsync'ed WriteBatch per request: same guarantee, one fsync each.
  kSyncEachWrite,
  // WAL written, not fsync'ed: survives kill -9, not a power loss.
  kNoSync,
};

struct StoreOptions {
  std::string path;
  Durability durability = Durability::kGroupCommitSync;
  int block_cache_mb = 64;
  // Memtable size per column family. After a full disk RocksDB resumes
  // writes only once this much is free (it must flush a memtable), so on a
  // small volume it must be small. 0: automatic, WriteBufferMbFor(the
  // volume's size).
  int write_buffer_mb = 0;
  // Retention of raw events: older ones (by event time, against the wall
  // clock) are dropped by a compaction filter on the events family; every
  // events file is recompacted at least daily, so they leave the disk
  // within a day. Derived features are unaffected. 0: keep forever.
  int64_t event_retention_ms = 0;
  // The Env RocksDB runs on; null: the default. Tests inject faults with it
  // (a full disk).
  rocksdb::Env* env = nullptr;
  // Open even when the WAL holds fewer acknowledged writes than were
  // acknowledged (the loss is reported in OpenReport). Off: DATA_LOSS.
  bool accept_wal_loss = false;
};

// What Open found.
struct OpenReport {
  bool created = false;     // a new database in a fresh directory
  int64_t lost_events = 0;  // acknowledged events recovery did not find
  int64_t lost_writes = 0;  // acknowledged RocksDB writes (sequence numbers) not found
  std::string loss;         // the explanation, when anything was lost
};

enum class Cf : int {
  kCustomers = 0,
  kFeatures,
  kEvents,
  kIdempotency,
  kProducts,
  kStores,
  kStock,
  kPopularity,
  kMeta,
  kSuppression,
  kStorePopularity,
  kExperiments,
  kCount
};

// The automatic memtable size for a volume of `volume_bytes`: 1/64 of it,
// between 4 and 64 MB (64 MB from a 4 GB volume up).
int WriteBufferMbFor(uint64_t volume_bytes);

class RocksStore {
 public:
  // Opens the database at options.path, or creates it if the directory is
  // missing or never held one. FAILED_PRECONDITION if it was written by an
  // incompatible format version; DATA_LOSS on corruption, a missing CURRENT
  // or MANIFEST, or acknowledged writes missing from the WAL (unless
  // accept_wal_loss), each naming the file and how to restore; UNAVAILABLE
  // on I/O errors (e.g. the directory is locked by another process).
  static absl::StatusOr<std::unique_ptr<RocksStore>> Open(const StoreOptions& options);
  ~RocksStore();  // flushes nothing extra: the WAL already holds every write

  // Writes atomically. Synced unless the durability is kNoSync.
  // UNAVAILABLE on a full disk or another I/O error: the batch was not
  // applied, and RocksDB refuses writes until it is resumed. The next
  // Write tries that first (at most once a second), so writes resume by
  // themselves once space returns; reads work throughout.
  // `events`: how many acknowledged events the batch holds; their running
  // count is added to the batch (and to the watermark once written).
  absl::Status Write(rocksdb::WriteBatch& batch, int64_t events = 0);
  // True after a write failed until a write succeeds again.
  bool write_stopped() const { return write_stopped_.load(std::memory_order_relaxed); }
  absl::StatusOr<std::optional<std::string>> Get(Cf cf, const std::string& key);
  // `fill_cache` false for one-off scans (recovery, export) that should not
  // evict the working set from the block cache.
  std::unique_ptr<rocksdb::Iterator> NewIterator(Cf cf, bool fill_cache = true);

  // Erasure, the physical part: makes the bytes of every key in
  // [begin, end) of `families` leave the database files. Flushes every
  // family (the WAL that held them becomes obsolete and is deleted),
  // compacts the range down to the bottommost level with the tombstones
  // dropped, and writes one more version so that the MANIFEST is rewritten
  // without the old files' boundary keys. Blocking (seconds at full size);
  // call it off the writer thread. An empty `end` purges to the end of the
  // families.
  absl::Status Purge(const std::vector<Cf>& families, const std::string& begin,
                     const std::string& end);

  // A consistent copy of the database in `dir` (must not exist): hard links
  // for SST files where possible. Open it as a data directory to restore.
  absl::Status Checkpoint(const std::string& dir);

  // Compacts the whole events family now (retention takes effect at once;
  // tests and operators).
  absl::Status CompactEvents();
  // Raw events dropped by retention since the database was opened.
  int64_t events_expired() const;

  // Verifies the checksum of every block of every SST file (DATA_LOSS
  // naming the file if one is corrupt).
  absl::Status VerifyChecksums();

  // The secret of the keyed hashes in suppression records, created
  // (random, 32 bytes) with the database.
  const std::string& secret() const { return secret_; }

  rocksdb::ColumnFamilyHandle* handle(Cf cf) const { return handles_[static_cast<int>(cf)]; }
  Durability durability() const { return durability_; }

  static const char* CfName(Cf cf);
  const OpenReport& open_report() const { return report_; }

 private:
  RocksStore() = default;
  // Records the latest sequence number and event count as acknowledged.
  void MarkAcknowledged();
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  Durability durability_ = Durability::kGroupCommitSync;
  std::string secret_;
  OpenReport report_;
  std::atomic<int64_t> acked_events_{0};  // added to by the writer thread only
  std::mutex watermark_mu_;
  std::unique_ptr<AckWatermark> watermark_;
  std::shared_ptr<rocksdb::CompactionFilter> retention_;
  std::atomic<bool> write_stopped_{false};
  std::mutex resume_mu_;                                 // taken only while writes are stopped
  std::chrono::steady_clock::time_point next_resume_{};  // guarded by resume_mu_
  std::string last_resume_error_;                        // guarded by resume_mu_
  int write_buffer_mb_ = 64;                             // the headroom a resume needs
};

}  // namespace nextbest::storage
