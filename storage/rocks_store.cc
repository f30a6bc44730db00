#include "storage/rocks_store.h"

#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "storage/rocks_status.h"

namespace nextbest::storage {
namespace {
constexpr char kFormatVersionKey[] = "format_version";
constexpr char kFormatVersion[] = "1";
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
    case Cf::kCount: break;
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<RocksStore>> RocksStore::Open(const StoreOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 5;

  auto cache = rocksdb::NewLRUCache(static_cast<size_t>(options.block_cache_mb) << 20);
  std::shared_ptr<const rocksdb::FilterPolicy> bloom(rocksdb::NewBloomFilterPolicy(10));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) {
    rocksdb::ColumnFamilyOptions cf_options;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    table.filter_policy = bloom;
    cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf_options.compression = rocksdb::kLZ4Compression;
    descriptors.emplace_back(CfName(static_cast<Cf>(i)), cf_options);
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s, absl::StrCat("open ", options.path));

  std::unique_ptr<RocksStore> store(new RocksStore());
  store->db_.reset(raw);
  store->durability_ = options.durability;
  // handles[0] is the default family, which nextbest does not use.
  store->handles_.assign(handles.begin() + 1, handles.end());
  raw->DestroyColumnFamilyHandle(handles[0]);

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
  rocksdb::WriteOptions wo;
  wo.sync = durability_ != Durability::kNoSync;
  return FromRocks(db_->Write(wo, &batch), "write");
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
