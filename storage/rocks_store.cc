#include "storage/rocks_store.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "storage/data_dir.h"
#include "storage/keys.h"
#include "storage/rocks_status.h"

namespace nextbest::storage {
namespace {
constexpr char kFormatVersionKey[] = "format_version";
constexpr char kFormatVersion[] = "1";
constexpr char kSecretKey[] = "suppression_secret";
constexpr char kLastPurgeKey[] = "last_purge";
// The running count of acknowledged events (written with every event batch).
constexpr char kAckedEventsKey[] = "acknowledged_events";
// Drops events older than the retention period (the time is in the key).
class EventRetentionFilter final : public rocksdb::CompactionFilter {
 public:
  explicit EventRetentionFilter(int64_t retention_ms) : retention_ms_(retention_ms) {}
  bool Filter(int /*level*/, const rocksdb::Slice& key, const rocksdb::Slice& /*value*/,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    const std::optional<int64_t> time = keys::EventTime(absl::string_view(key.data(), key.size()));
    if (!time.has_value()) return false;
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    if (*time >= now - retention_ms_) return false;
    expired_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  const char* Name() const override { return "nextbest.EventRetention"; }
  int64_t expired() const { return expired_.load(std::memory_order_relaxed); }

 private:
  const int64_t retention_ms_;
  mutable std::atomic<int64_t> expired_{0};
};

}  // namespace

const char* RocksStore::CfName(Cf cf) {
  switch (cf) {
    case Cf::kCustomers:
      return "customers";
    case Cf::kFeatures:
      return "features";
    case Cf::kEvents:
      return "events";
    case Cf::kIdempotency:
      return "idempotency";
    case Cf::kProducts:
      return "products";
    case Cf::kStores:
      return "stores";
    case Cf::kStock:
      return "stock";
    case Cf::kPopularity:
      return "popularity";
    case Cf::kMeta:
      return "meta";
    case Cf::kSuppression:
      return "suppression";
    case Cf::kStorePopularity:
      return "store_popularity";
    case Cf::kExperiments:
      return "experiments";
    case Cf::kCount:
      break;
  }
  return "?";
}

namespace {

// RocksDB's warnings and errors, to the process's stderr instead of a LOG
// file in the data directory. A LOG file on a full disk is a trap: once one
// of its writes failed, the next log line (RocksDB's own recovery thread
// reports the disk is fine again) trips an assertion in Debian's
// librocksdb, which is built with assertions on, and the process aborts.
// It also keeps the first WAL record recovery dropped: RocksDB names the
// WAL file only in that log line, not in the status Open returns.
class StderrLogger final : public rocksdb::Logger {
 public:
  StderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    std::fprintf(stderr, "nextbest-server: rocksdb: %s\n", line);
    absl::string_view text(line);
    if (text.find(".log: dropping ") == absl::string_view::npos) return;
    if (const size_t end = text.find("] "); text.front() == '[' && end != absl::string_view::npos) {
      text.remove_prefix(end + 2);  // "[db/db_impl/db_impl_open.cc:982] "
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (first_wal_drop_.empty()) first_wal_drop_ = std::string(text);
  }
  // "/data/000004.log: dropping 26869 bytes; Corruption: checksum mismatch"
  std::string first_wal_drop() const {
    std::lock_guard<std::mutex> lock(mu_);
    return first_wal_drop_;
  }

 private:
  mutable std::mutex mu_;
  std::string first_wal_drop_;
};

// The options both opens share (the read-only check and the real one).
rocksdb::DBOptions BaseOptions(const StoreOptions& options, std::shared_ptr<StderrLogger> logger) {
  rocksdb::DBOptions db_options;
  // With sync group commit only the last record can be torn by a crash
  // (it was never acknowledged); that is exactly what this mode tolerates.
  // Corruption anywhere else refuses to open instead of silently dropping
  // everything after it (RocksDB's default, kPointInTimeRecovery, would).
  // A WAL cut short elsewhere looks like a torn tail from the inside; the
  // acknowledged-write watermark (data_dir.h) catches it.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  db_options.paranoid_checks = true;
  // RocksDB's INFO log names the key range of every manual compaction, and
  // erasure compacts a customer's range: customer ids must not end up in
  // logs (GDPR), so only warnings and errors are logged.
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.info_log = std::move(logger);
  if (options.env != nullptr) db_options.env = options.env;
  return db_options;
}

// Names the WAL file in a recovery error when RocksDB's status does not.
absl::Status OpenError(const rocksdb::Status& s, const StoreOptions& options,
                       const StderrLogger& logger) {
  absl::Status status = FromRocks(s, absl::StrCat("open ", options.path));
  const std::string drop = logger.first_wal_drop();
  if (!s.IsCorruption() || drop.empty() || s.ToString().find(".log") != std::string::npos) {
    return status;
  }
  return absl::Status(
      status.code(),
      absl::StrCat(status.message(), " (write-ahead log ", drop,
                   "). The WAL is damaged in the middle: records after the damage "
                   "were acknowledged. Restore the data directory from a checkpoint."));
}

std::string DescribeWalFiles(const DataDirContents& c) {
  std::vector<std::string> files;
  for (const auto& [name, bytes] : c.wal_files)
    files.push_back(absl::StrCat(name, " (", bytes, " bytes)"));
  return files.empty() ? "none" : absl::StrJoin(files, ", ");
}

int64_t DecodeCount(const std::string& bytes) {
  int64_t v = 0;
  if (bytes.size() == sizeof v) std::memcpy(&v, bytes.data(), sizeof v);
  return v;
}
std::string EncodeCount(int64_t v) {
  return std::string(reinterpret_cast<const char*>(&v), sizeof v);
}

}  // namespace

namespace {

// What a read-only open finds, before anything is written: RocksDB reads
// CURRENT, the MANIFEST and replays the WAL into memory without creating
// or changing a file. A damaged database fails here and stays as it was.
struct Recovered {
  uint64_t sequence = 0;
  int64_t events = 0;
};
absl::StatusOr<Recovered> ReadOnlyRecovery(const StoreOptions& options) {
  auto logger = std::make_shared<StderrLogger>();
  rocksdb::DBOptions db_options = BaseOptions(options, logger);
  // Table files are opened lazily: this open reads the MANIFEST and the WAL only.
  db_options.max_open_files = 16;
  std::vector<std::string> families;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, options.path, &families);
  if (!s.ok()) return OpenError(s, options, *logger);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  const bool has_meta =
      std::find(families.begin(), families.end(), RocksStore::CfName(Cf::kMeta)) != families.end();
  if (has_meta)
    descriptors.emplace_back(RocksStore::CfName(Cf::kMeta), rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::OpenForReadOnly(db_options, options.path, descriptors, &handles, &raw);
  if (!s.ok()) return OpenError(s, options, *logger);
  std::unique_ptr<rocksdb::DB> db(raw);
  Recovered r;
  r.sequence = db->GetLatestSequenceNumber();
  if (has_meta) {
    std::string value;
    s = db->Get(rocksdb::ReadOptions(), handles[1], kAckedEventsKey, &value);
    if (s.ok()) r.events = DecodeCount(value);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read acknowledged events");
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  s = db->Close();
  return r;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksStore>> RocksStore::Open(const StoreOptions& options) {
  ASSIGN_OR_RETURN(const DataDirContents contents, InspectDataDir(options.path));
  RETURN_IF_ERROR(CheckOpenable(contents, options.path));
  const bool create = contents.fresh();
  if (!contents.exists) {
    std::error_code ec;
    std::filesystem::create_directories(options.path, ec);
    if (!ec) {
      std::filesystem::permissions(options.path, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::replace, ec);
    }
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("data_dir ", options.path, ": ", ec.message()));
    }
  }

  // Acknowledged writes missing from what recovery finds: a WAL truncated
  // or deleted after a crash (see data_dir.h).
  OpenReport report;
  report.created = create;
  if (!create) {
    ASSIGN_OR_RETURN(const Recovered recovered, ReadOnlyRecovery(options));
    if (std::optional<AckWatermark::Value> acked = AckWatermark::Read(options.path)) {
      if (acked->sequence > recovered.sequence || acked->events > recovered.events) {
        report.lost_writes = static_cast<int64_t>(
            acked->sequence > recovered.sequence ? acked->sequence - recovered.sequence : 0);
        report.lost_events = std::max<int64_t>(0, acked->events - recovered.events);
        report.loss = absl::StrCat(
            "the write-ahead log holds less than was acknowledged: recovery reaches sequence ",
            recovered.sequence, " and ", recovered.events, " events, but sequence ",
            acked->sequence, " and ", acked->events, " events were acknowledged (",
            report.lost_events, " events, ", report.lost_writes,
            " writes missing). WAL files: ", DescribeWalFiles(contents),
            ". A crash tears at most one unacknowledged record; this much missing means a WAL "
            "file was truncated, deleted or replaced.");
        // NO_SYNC acknowledges before the WAL reaches the disk: a power loss
        // may legitimately drop the last writes (the documented trade).
        if (options.durability != Durability::kNoSync && !options.accept_wal_loss) {
          return absl::DataLossError(absl::StrCat(
              "data_dir ", options.path, ": ", report.loss,
              " Nothing was changed. Restore the data directory from a checkpoint, or start with "
              "--accept_wal_loss to serve what is left (the loss is logged and counted in "
              "nextbest_recovery_lost_events)."));
        }
      }
    }
  }

  auto logger = std::make_shared<StderrLogger>();
  rocksdb::DBOptions db_options = BaseOptions(options, logger);
  // Only a directory that never held a database gets a new one.
  db_options.create_if_missing = create;
  db_options.error_if_exists = create;
  // New families of a newer nextbest are added to an existing database.
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 5;
  // The MANIFEST logs every SST file's smallest and largest key. A new
  // MANIFEST (holding only the live files) is started at every version
  // change, so the boundary keys of files an erasure compacted away leave
  // the disk with the old MANIFEST. A few KB per flush or compaction.
  db_options.max_manifest_file_size = 0;
  db_options.manifest_preallocation_size = 64 << 10;

  int write_buffer_mb = options.write_buffer_mb;
  if (write_buffer_mb <= 0) {
    struct statvfs volume {};
    write_buffer_mb =
        statvfs(options.path.c_str(), &volume) == 0
            ? WriteBufferMbFor(static_cast<uint64_t>(volume.f_blocks) * volume.f_frsize)
            : 64;
  }
  auto cache = rocksdb::NewLRUCache(static_cast<size_t>(options.block_cache_mb) << 20);
  std::shared_ptr<const rocksdb::FilterPolicy> bloom(rocksdb::NewBloomFilterPolicy(10));
  std::shared_ptr<EventRetentionFilter> retention;
  if (options.event_retention_ms > 0) {
    retention = std::make_shared<EventRetentionFilter>(options.event_retention_ms);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) {
    rocksdb::ColumnFamilyOptions cf_options;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    table.filter_policy = bloom;
    cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf_options.compression = rocksdb::kLZ4Compression;
    cf_options.write_buffer_size = static_cast<size_t>(write_buffer_mb) << 20;
    if (static_cast<Cf>(i) == Cf::kEvents && retention != nullptr) {
      cf_options.compaction_filter = retention.get();
      cf_options.periodic_compaction_seconds = 24 * 3600;
    }
    descriptors.emplace_back(CfName(static_cast<Cf>(i)), cf_options);
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw);
  if (!s.ok()) return OpenError(s, options, *logger);

  std::unique_ptr<RocksStore> store(new RocksStore());
  store->db_.reset(raw);
  store->durability_ = options.durability;
  store->retention_ = retention;
  store->report_ = report;
  store->write_buffer_mb_ = write_buffer_mb;
  // handles[0] is the default family, which nextbest does not use.
  store->handles_.assign(handles.begin() + 1, handles.end());
  raw->DestroyColumnFamilyHandle(handles[0]);
  if (create || !contents.marker) RETURN_IF_ERROR(WriteDataDirMarker(options.path));

  auto secret = store->Get(Cf::kMeta, kSecretKey);
  if (!secret.ok()) return secret.status();
  if (secret->has_value()) {
    store->secret_ = **secret;
  } else {
    std::random_device random;  // the kernel's CSPRNG (getrandom) on Linux
    for (int i = 0; i < 8; ++i) {
      const uint32_t r = random();
      store->secret_.append(reinterpret_cast<const char*>(&r), sizeof(r));
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = raw->Put(wo, store->handle(Cf::kMeta), kSecretKey, store->secret_);
    if (!s.ok()) return FromRocks(s, "write suppression secret");
  }

  auto version = store->Get(Cf::kMeta, kFormatVersionKey);
  if (!version.ok()) return version.status();
  if (!version->has_value()) {
    rocksdb::WriteBatch batch;
    batch.Put(store->handle(Cf::kMeta), kFormatVersionKey, kFormatVersion);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = raw->Write(wo, &batch);
    if (!s.ok()) return FromRocks(s, "write format version");
  } else if (**version != kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("database at ", options.path, " has record format version ", **version,
                     "; this build reads version ", kFormatVersion));
  }
  auto events = store->Get(Cf::kMeta, kAckedEventsKey);
  if (!events.ok()) return events.status();
  store->acked_events_ = events->has_value() ? DecodeCount(**events) : 0;
  ASSIGN_OR_RETURN(store->watermark_, AckWatermark::Open(options.path));
  store->MarkAcknowledged();
  return store;
}

int WriteBufferMbFor(uint64_t volume_bytes) {
  return static_cast<int>(std::clamp<uint64_t>(volume_bytes / 64 >> 20, 4, 64));
}

void RocksStore::MarkAcknowledged() {
  std::lock_guard<std::mutex> lock(watermark_mu_);
  watermark_->Store(
      {db_->GetLatestSequenceNumber(), acked_events_.load(std::memory_order_relaxed)});
}

RocksStore::~RocksStore() {
  if (!db_) return;
  // A clean close leaves nothing to replay at the next start.
  std::vector<rocksdb::ColumnFamilyHandle*> all(handles_.begin(), handles_.end());
  db_->Flush(rocksdb::FlushOptions(), all).PermitUncheckedError();
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

absl::Status RocksStore::Write(rocksdb::WriteBatch& batch, int64_t events) {
  if (write_stopped_.load(std::memory_order_relaxed)) {
    // A failed WAL write (ENOSPC, EIO) puts RocksDB in a stopped state: every
    // write fails until Resume(), which flushes the memtables to a new WAL
    // generation. Retried at most once a second while the disk stays full.
    std::lock_guard<std::mutex> lock(resume_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (!write_stopped_.load(std::memory_order_relaxed)) {
      // Resumed by another thread meanwhile.
    } else if (now < next_resume_) {
      return absl::UnavailableError(
          absl::StrCat("write: storage refuses writes after a write error (disk full?); writes "
                       "resume once about ",
                       write_buffer_mb_, " MB are free (storage.write_buffer_mb); retry later",
                       last_resume_error_.empty() ? "" : " (last resume: ", last_resume_error_,
                       last_resume_error_.empty() ? "" : ")"));
    } else {
      next_resume_ = now + std::chrono::seconds(1);
      const rocksdb::Status resumed = db_->Resume();
      last_resume_error_ = resumed.ok() ? "" : resumed.ToString();
      if (!resumed.ok()) {
        return absl::UnavailableError(absl::StrCat(
            "write: storage not writable yet (", resumed.ToString(), "); writes resume once about ",
            write_buffer_mb_, " MB are free (storage.write_buffer_mb); retry later"));
      }
      write_stopped_.store(false, std::memory_order_relaxed);
    }
  }
  const int64_t acked = acked_events_.load(std::memory_order_relaxed) + events;
  if (events > 0) batch.Put(handle(Cf::kMeta), kAckedEventsKey, EncodeCount(acked));
  rocksdb::WriteOptions wo;
  wo.sync = durability_ != Durability::kNoSync;
  const rocksdb::Status s = db_->Write(wo, &batch);
  if (s.ok()) {
    if (events > 0) acked_events_.store(acked, std::memory_order_relaxed);
    MarkAcknowledged();
  }
  if (s.IsIOError()) {
    std::lock_guard<std::mutex> lock(resume_mu_);
    write_stopped_.store(true, std::memory_order_relaxed);
    next_resume_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  }
  return FromRocks(s, "write");
}

absl::Status RocksStore::Purge(const std::vector<Cf>& families, const std::string& begin,
                               const std::string& end) {
  std::vector<rocksdb::ColumnFamilyHandle*> all(handles_.begin(), handles_.end());
  rocksdb::FlushOptions flush;
  flush.wait = true;
  RETURN_IF_ERROR(FromRocks(db_->Flush(flush, all), "purge: flush"));
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  compact.exclusive_manual_compaction = false;
  const rocksdb::Slice b(begin), e(end);
  for (Cf cf : families) {
    RETURN_IF_ERROR(
        FromRocks(db_->CompactRange(compact, handle(cf), &b, end.empty() ? nullptr : &e),
                  absl::StrCat("purge: compact ", CfName(cf))));
  }
  // One more version edit: the MANIFEST it starts lists only live files.
  rocksdb::WriteOptions wo;
  wo.sync = true;
  RETURN_IF_ERROR(FromRocks(db_->Put(wo, handle(Cf::kMeta), kLastPurgeKey, ""), "purge: mark"));
  MarkAcknowledged();
  return FromRocks(db_->Flush(flush, handle(Cf::kMeta)), "purge: flush meta");
}

absl::Status RocksStore::Checkpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: flush first, so the copy needs no WAL replay.
  return FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0),
                   absl::StrCat("checkpoint to ", dir));
}

absl::Status RocksStore::CompactEvents() {
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  compact.exclusive_manual_compaction = false;
  return FromRocks(db_->CompactRange(compact, handle(Cf::kEvents), nullptr, nullptr),
                   "compact events");
}

int64_t RocksStore::events_expired() const {
  return retention_ == nullptr
             ? 0
             : static_cast<const EventRetentionFilter*>(retention_.get())->expired();
}

absl::Status RocksStore::VerifyChecksums() {
  return FromRocks(db_->VerifyChecksum(), "verify checksums");
}

absl::StatusOr<std::optional<std::string>> RocksStore::Get(Cf cf, const std::string& key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handle(cf), key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, absl::StrCat("get from ", CfName(cf)));
  return std::optional<std::string>(std::move(value));
}

std::unique_ptr<rocksdb::Iterator> RocksStore::NewIterator(Cf cf, bool fill_cache) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = fill_cache;
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(ro, handle(cf)));
}

}  // namespace nextbest::storage
