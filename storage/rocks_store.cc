#include "storage/rocks_store.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <chrono>
#include <random>

#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "core/status_macros.h"
#include "storage/keys.h"
#include "storage/rocks_status.h"
#include "rocksdb/compaction_filter.h"

namespace nextbest::storage {
namespace {
constexpr char kFormatVersionKey[] = "format_version";
constexpr char kFormatVersion[] = "1";
constexpr char kSecretKey[] = "suppression_secret";
constexpr char kLastPurgeKey[] = "last_purge";
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
    case Cf::kCustomers: return "customers";
    case Cf::kFeatures: return "features";
    case Cf::kEvents: return "events";
    case Cf::kIdempotency: return "idempotency";
    case Cf::kProducts: return "products";
    case Cf::kStores: return "stores";
    case Cf::kStock: return "stock";
    case Cf::kPopularity: return "popularity";
    case Cf::kMeta: return "meta";
    case Cf::kSuppression: return "suppression";
    case Cf::kStorePopularity: return "store_popularity";
    case Cf::kCount: break;
  }
  return "?";
}

namespace {

// RocksDB's warnings and errors, to the process's stderr instead of a LOG
// file in the data directory. A LOG file on a full disk is a trap: once one
// of its writes failed, the next log line (RocksDB's own recovery thread
// reports the disk is fine again) trips an assertion in Debian's
// librocksdb, which is built with assertions on, and the process aborts.
class StderrLogger final : public rocksdb::Logger {
 public:
  StderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    std::fprintf(stderr, "nextbest-server: rocksdb: %s\n", line);
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<RocksStore>> RocksStore::Open(const StoreOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 5;
  // RocksDB's INFO log names the key range of every manual compaction, and
  // erasure compacts a customer's range: customer ids must not end up in
  // logs (GDPR), so only warnings and errors are logged.
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.info_log = std::make_shared<StderrLogger>();
  // The MANIFEST logs every SST file's smallest and largest key. A new
  // MANIFEST (holding only the live files) is started at every version
  // change, so the boundary keys of files an erasure compacted away leave
  // the disk with the old MANIFEST. A few KB per flush or compaction.
  db_options.max_manifest_file_size = 0;
  db_options.manifest_preallocation_size = 64 << 10;
  if (options.env != nullptr) db_options.env = options.env;

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
    if (static_cast<Cf>(i) == Cf::kEvents && retention != nullptr) {
      cf_options.compaction_filter = retention.get();
      cf_options.periodic_compaction_seconds = 24 * 3600;
    }
    descriptors.emplace_back(CfName(static_cast<Cf>(i)), cf_options);
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s, absl::StrCat("open ", options.path));

  std::unique_ptr<RocksStore> store(new RocksStore());
  store->db_.reset(raw);
  store->durability_ = options.durability;
  store->retention_ = retention;
  // handles[0] is the default family, which nextbest does not use.
  store->handles_.assign(handles.begin() + 1, handles.end());
  raw->DestroyColumnFamilyHandle(handles[0]);

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
    return absl::FailedPreconditionError(absl::StrCat(
        "database at ", options.path, " has record format version ", **version,
        "; this build reads version ", kFormatVersion));
  }
  return store;
}

RocksStore::~RocksStore() {
  if (!db_) return;
  // A clean close leaves nothing to replay at the next start.
  std::vector<rocksdb::ColumnFamilyHandle*> all(handles_.begin(), handles_.end());
  db_->Flush(rocksdb::FlushOptions(), all).PermitUncheckedError();
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

absl::Status RocksStore::Write(rocksdb::WriteBatch& batch) {
  if (write_stopped_.load(std::memory_order_relaxed)) {
    // A failed WAL write (ENOSPC, EIO) puts RocksDB in a stopped state: every
    // write fails until Resume(), which flushes the memtables to a new WAL
    // generation. Retried at most once a second while the disk stays full.
    std::lock_guard<std::mutex> lock(resume_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (!write_stopped_.load(std::memory_order_relaxed)) {
      // Resumed by another thread meanwhile.
    } else if (now < next_resume_) {
      return absl::UnavailableError(absl::StrCat(
          "write: storage refuses writes after a write error (disk full?); retry later",
          last_resume_error_.empty() ? "" : " (last resume: ", last_resume_error_,
          last_resume_error_.empty() ? "" : ")"));
    } else {
      next_resume_ = now + std::chrono::seconds(1);
      const rocksdb::Status resumed = db_->Resume();
      last_resume_error_ = resumed.ok() ? "" : resumed.ToString();
      if (!resumed.ok()) {
        return absl::UnavailableError(
            absl::StrCat("write: storage not writable yet (", resumed.ToString(), "); retry later"));
      }
      write_stopped_.store(false, std::memory_order_relaxed);
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = durability_ != Durability::kNoSync;
  const rocksdb::Status s = db_->Write(wo, &batch);
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
    RETURN_IF_ERROR(FromRocks(db_->CompactRange(compact, handle(cf), &b, &e),
                              absl::StrCat("purge: compact ", CfName(cf))));
  }
  // One more version edit: the MANIFEST it starts lists only live files.
  rocksdb::WriteOptions wo;
  wo.sync = true;
  RETURN_IF_ERROR(FromRocks(db_->Put(wo, handle(Cf::kMeta), kLastPurgeKey, ""), "purge: mark"));
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
  return retention_ == nullptr ? 0
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
