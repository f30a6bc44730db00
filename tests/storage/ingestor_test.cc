// The writer and recovery against a real RocksDB in a fresh temp dir.

#include "storage/ingestor.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/features.h"
#include "storage/codec.h"
#include "storage/keys.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "tests/temp_dir.h"

namespace nextbest::storage {
namespace {

constexpr core::TimeMs kDay = core::kMsPerDay;
constexpr core::TimeMs kT0 = 1'760'000'000'000;

RawEvent View(const std::string& customer, const std::string& id, const std::string& product,
              core::TimeMs t) {
  RawEvent e;
  e.event_id = id;
  e.customer_id = customer;
  e.type = core::EventType::kView;
  e.time = t;
  e.channel = core::Channel::kWeb;
  e.product_id = product;
  return e;
}

RawEvent Purchase(const std::string& customer, const std::string& id, const std::string& product,
                  core::TimeMs t, int64_t price = 250) {
  RawEvent e;
  e.event_id = id;
  e.customer_id = customer;
  e.type = core::EventType::kPurchase;
  e.time = t;
  e.channel = core::Channel::kStore;
  e.country = "NL";
  e.lines = {{product, 1, price}};
  return e;
}

// A file system that runs out of space on command: while `full`, creating
// or appending to or syncing any file fails with ENOSPC, as a full disk
// does.
class FullDiskFs : public rocksdb::FileSystemWrapper {
 public:
  FullDiskFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FullDiskFs"; }
  std::atomic<bool> full{false};

  // A full disk has no free space: RocksDB's recovery thread asks before
  // it resumes.
  rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& o,
                                 uint64_t* free, rocksdb::IODebugContext* d) override {
    if (full) {
      *free = 0;
      return rocksdb::IOStatus::OK();
    }
    return target()->GetFreeSpace(path, o, free, d);
  }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* d) override {
    return Open(&FileSystem::NewWritableFile, f, o, r, d);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* d) override {
    return Open(&FileSystem::ReopenWritableFile, f, o, r, d);
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile>&& f, const std::atomic<bool>* full)
        : FSWritableFileOwnerWrapper(std::move(f)), full_(full) {}
    using IOOptions = rocksdb::IOOptions;
    using Ctx = rocksdb::IODebugContext;
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const IOOptions& o, Ctx* c) override {
      return *full_ ? NoSpace() : FSWritableFileOwnerWrapper::Append(d, o, c);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const IOOptions& o,
                             const rocksdb::DataVerificationInfo& v, Ctx* c) override {
      return *full_ ? NoSpace() : FSWritableFileOwnerWrapper::Append(d, o, v, c);
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& d, uint64_t off, const IOOptions& o,
                                       Ctx* c) override {
      return *full_ ? NoSpace() : FSWritableFileOwnerWrapper::PositionedAppend(d, off, o, c);
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& d, uint64_t off, const IOOptions& o,
                                       const rocksdb::DataVerificationInfo& v, Ctx* c) override {
      return *full_ ? NoSpace() : FSWritableFileOwnerWrapper::PositionedAppend(d, off, o, v, c);
    }
    rocksdb::IOStatus Flush(const IOOptions& o, Ctx* c) override {
      return *full_ ? NoSpace() : FSWritableFileOwnerWrapper::Flush(o, c);
    }
    rocksdb::IOStatus Sync(const IOOptions& o, Ctx* c) override {
      return *full_ ? NoSpace() : FSWritableFileOwnerWrapper::Sync(o, c);
    }
    rocksdb::IOStatus Fsync(const IOOptions& o, Ctx* c) override {
      return *full_ ? NoSpace() : FSWritableFileOwnerWrapper::Fsync(o, c);
    }

   private:
    static rocksdb::IOStatus NoSpace() { return rocksdb::IOStatus::NoSpace("fault injection: disk full"); }
    const std::atomic<bool>* full_;
  };

  // Creates or reopens through the real file system, wrapped so that its
  // writes fail while the disk is full.
  using OpenFn = rocksdb::IOStatus (rocksdb::FileSystem::*)(
      const std::string&, const rocksdb::FileOptions&, std::unique_ptr<rocksdb::FSWritableFile>*,
      rocksdb::IODebugContext*);
  rocksdb::IOStatus Open(OpenFn open, const std::string& f, const rocksdb::FileOptions& o,
                         std::unique_ptr<rocksdb::FSWritableFile>* r, rocksdb::IODebugContext* d) {
    if (full) return rocksdb::IOStatus::NoSpace("fault injection: disk full");
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = (target()->*open)(f, o, &file, d);
    if (s.ok()) r->reset(new File(std::move(file), &full));
    return s;
  }
};

class IngestorTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void TearDown() override { Close(); }

  void Open() {
    StoreOptions so = store_options_;
    so.path = dir_.path();
    auto store = RocksStore::Open(so);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    live_ = std::make_unique<core::LiveState>();
    live_->catalog.Publish(*core::Catalog::Empty({"NL", "BE"}, "EUR"), live_->epochs);
    IngestOptions io = ingest_options_;
    io.trending_publish_interval_ms = 0;  // publish trending after every group
    auto ingestor = Ingestor::Start(store_.get(), live_.get(), io, &clock_);
    ASSERT_TRUE(ingestor.ok()) << ingestor.status();
    ingestor_ = std::move(*ingestor);
  }
  void Close() {
    ingestor_.reset();
    store_.reset();
    live_.reset();
  }
  void Reopen() {
    Close();
    Open();
  }

  void LoadCatalog() {
    UpsertStores stores;
    stores.stores = {{"s1", "NL", "HEMA Utrecht", "Utrecht"}, {"s2", "BE", "HEMA Gent", "Gent"}};
    ASSERT_TRUE(ingestor_->SubmitAndWait(stores).ok());
    UpsertProducts products;
    SetStock stock;
    for (int i = 1; i <= 5; ++i) {
      core::Product p;
      p.id = absl::StrCat("p", i);
      p.name = absl::StrCat("Product ", i);
      p.category_path = {"Bakkerij", i % 2 ? "Tompouce" : "Rookworst"};
      p.price_minor = 100 * i;
      p.active = true;
      products.products.push_back(p);
      stock.levels.push_back({p.id, "", "NL", 10});
      stock.levels.push_back({p.id, "s2", "", i == 5 ? 0 : 3});
    }
    ASSERT_TRUE(ingestor_->SubmitAndWait(products).ok());
    auto r = ingestor_->SubmitAndWait(stock);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  const core::CustomerState* Customer(const std::string& id) {
    return live_->customers.Find(id);  // test thread; no concurrent writer retires during asserts
  }

  absl::StatusOr<WriteResult> Record(std::vector<RawEvent> events) {
    return ingestor_->SubmitAndWait(RecordEvents{std::move(events)});
  }

  // Keys of `cf` that belong to `customer`.
  int CountKeys(Cf cf, const std::string& customer) {
    const keys::Range r = keys::CustomerRange(customer);
    int n = 0;
    auto it = store_->NewIterator(cf);
    for (it->Seek(r.begin); it->Valid() && it->key().compare(r.end) < 0; it->Next()) ++n;
    return n;
  }

  testing::TempDir dir_;
  StoreOptions store_options_;
  IngestOptions ingest_options_;
  core::ManualClock clock_{kT0 + 100 * kDay};
  std::unique_ptr<RocksStore> store_;
  std::unique_ptr<core::LiveState> live_;
  std::unique_ptr<Ingestor> ingestor_;
};

TEST_F(IngestorTest, EraseRemovesTheCustomerEverywhereAndSuppressesLateEvents) {
  LoadCatalog();
  CustomerUpsert c1;
  c1.customer_id = "c1";
  c1.country = "NL";
  ASSERT_TRUE(ingestor_->SubmitAndWait(UpsertCustomers{{c1}}).ok());
  ASSERT_TRUE(Record({View("c1", "e1", "p1", kT0), Purchase("c1", "e2", "p2", kT0 + kDay),
                      View("c2", "e1", "p1", kT0)}).ok());
  // Queued back to back (usually one group): an event before the erasure (erased with it), the
  // erasure and a late event (suppressed).
  std::promise<WriteResult> erased;
  std::promise<WriteResult> late;
  ASSERT_TRUE(ingestor_->Submit(RecordEvents{{View("c1", "e3", "p3", kT0 + 2 * kDay)}},
                                [](absl::Status, WriteResult) {}).ok());
  ASSERT_TRUE(ingestor_->Submit(EraseCustomer{"c1"}, [&](absl::Status s, WriteResult r) {
    EXPECT_TRUE(s.ok()) << s;
    erased.set_value(r);
  }).ok());
  ASSERT_TRUE(ingestor_->Submit(RecordEvents{{View("c1", "e1", "p1", kT0)}}, [&](absl::Status s, WriteResult r) {
    EXPECT_TRUE(s.ok()) << s;
    late.set_value(r);
  }).ok());
  const WriteResult e = erased.get_future().get();
  EXPECT_TRUE(e.erasure.attributes);
  EXPECT_TRUE(e.erasure.features);
  EXPECT_TRUE(e.erasure.in_memory);
  // e3 is counted if the writer committed it in an earlier group than the
  // erasure; either way it is gone (checked below).
  EXPECT_GE(e.erasure.events, 2);
  EXPECT_LE(e.erasure.events, 3);
  EXPECT_EQ(e.erasure.subject_hash, keys::Suppression(store_->secret(), "c1"));
  EXPECT_EQ(late.get_future().get().suppressed, 1);
  EXPECT_EQ(Customer("c1"), nullptr);
  for (Cf cf : {Cf::kEvents, Cf::kIdempotency}) EXPECT_EQ(CountKeys(cf, "c1"), 0) << RocksStore::CfName(cf);
  EXPECT_FALSE(store_->Get(Cf::kCustomers, "c1")->has_value());
  EXPECT_FALSE(store_->Get(Cf::kFeatures, "c1")->has_value());
  EXPECT_EQ(CountKeys(Cf::kEvents, "c2"), 1);
  ASSERT_NE(Customer("c2"), nullptr);
  EXPECT_EQ(ingestor_->SubmitAndWait(EraseCustomer{"c1"}).status().code(), absl::StatusCode::kNotFound);

  EXPECT_EQ(e.erasure.suppress_through_ms, e.erasure.erased_at_ms + 24 * 3600 * 1000);

  // The suppression is durable. A retry from a client whose clock runs up
  // to 24 h ahead (the skew validation accepts) is dropped too; an event
  // dated after that starts afresh.
  Reopen();
  EXPECT_EQ(Customer("c1"), nullptr);
  auto r = Record({Purchase("c1", "e2", "p2", kT0 + kDay), View("c1", "skewed", "p3", e.erasure.erased_at_ms + 23 * 3600 * 1000),
                   View("c1", "after", "p4", e.erasure.suppress_through_ms + 1)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->suppressed, 2);
  EXPECT_EQ(r->accepted, 1);
  ASSERT_NE(Customer("c1"), nullptr);
  EXPECT_EQ(Customer("c1")->features.events, 1);
  EXPECT_EQ(Customer("c1")->features.orders, 0);
  EXPECT_FALSE(Customer("c1")->attributes.present);
  ASSERT_TRUE(store_->Purge({Cf::kEvents, Cf::kIdempotency, Cf::kCustomers, Cf::kFeatures}, "c1", "c1\x01").ok());
  EXPECT_EQ(CountKeys(Cf::kEvents, "c1"), 1);  // purging compacts; it deletes nothing live
}

TEST_F(IngestorTest, RetentionDropsOldRawEventsAndKeepsTheFeatures) {
  Close();
  store_options_.event_retention_ms = 30 * kDay;
  Open();
  LoadCatalog();
  // The retention filter runs against the wall clock.
  const core::TimeMs now = core::SystemClock().Now();
  ASSERT_TRUE(Record({Purchase("c1", "old", "p1", now - 40 * kDay), Purchase("c1", "new", "p2", now - kDay),
                      View("c2", "old", "p1", now - 31 * kDay)}).ok());
  const int64_t orders = Customer("c1")->features.orders;
  EXPECT_EQ(orders, 2);
  Reopen();  // flushed to a file
  ASSERT_TRUE(store_->CompactEvents().ok());
  EXPECT_EQ(store_->events_expired(), 2);
  EXPECT_EQ(CountKeys(Cf::kEvents, "c1"), 1);
  EXPECT_EQ(CountKeys(Cf::kEvents, "c2"), 0);
  EXPECT_FALSE(store_->Get(Cf::kEvents, keys::Event("c1", now - 40 * kDay, "old"))->has_value());
  EXPECT_EQ(Customer("c1")->features.orders, orders);
  Reopen();
  EXPECT_EQ(Customer("c1")->features.orders, orders);
  ASSERT_NE(Customer("c2"), nullptr);
  // A replay of the dropped event is still a duplicate (idempotency keys stay).
  auto r = Record({Purchase("c1", "old", "p1", now - 40 * kDay)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->duplicates, 1);
  EXPECT_EQ(Customer("c1")->features.orders, orders);
}

// A retention erasure drops only events older than the retention horizon:
// a chronological backfill that brings old history first (the sweep erases
// it) and then the recent events keeps the recent ones — even one dated a
// quarter of an hour before the sweep.
TEST_F(IngestorTest, RetentionErasureKeepsRecentActivity) {
  LoadCatalog();
  const core::TimeMs sweep = clock_.Now();
  const core::TimeMs horizon = sweep - 30 * kDay;  // profile retention 30 days
  ASSERT_TRUE(Record({View("c1", "old-1", "p1", horizon - 10 * kDay)}).ok());
  auto erased = ingestor_->SubmitAndWait(EraseCustomer{"c1", horizon});
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_EQ(erased->erasure.suppress_through_ms, horizon - 1);
  auto r = Record({View("c1", "old-2", "p2", horizon - 5 * kDay), View("c1", "recent-1", "p3", sweep - 15 * 60 * 1000),
                   Purchase("c1", "recent-2", "p4", horizon + kDay)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->suppressed, 1);  // older than the horizon
  EXPECT_EQ(r->accepted, 2);
  ASSERT_NE(Customer("c1"), nullptr);
  EXPECT_EQ(Customer("c1")->features.events, 2);
  EXPECT_EQ(Customer("c1")->features.orders, 1);
  Reopen();  // the rule is durable
  r = Record({View("c1", "old-3", "p2", horizon - kDay), View("c1", "recent-3", "p2", horizon + 2 * kDay)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->suppressed, 1);
  EXPECT_EQ(r->accepted, 1);
}

TEST_F(IngestorTest, RetentionEraseSkipsCustomersActiveAgain) {
  LoadCatalog();
  ASSERT_TRUE(Record({View("c1", "e1", "p1", kT0)}).ok());
  EXPECT_EQ(ingestor_->SubmitAndWait(EraseCustomer{"c1", kT0}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_NE(Customer("c1"), nullptr);
  EXPECT_TRUE(ingestor_->SubmitAndWait(EraseCustomer{"c1", kT0 + 1}).ok());
  EXPECT_EQ(Customer("c1"), nullptr);
}

// Events naming products the catalog does not list add unlisted
// placeholders, at most ingest.max_unlisted_products of them: invented ids
// cannot grow the catalog without bound (50,000 were accepted before). A
// refused request leaves no trace; upserting a placeholder makes room.
TEST_F(IngestorTest, UnknownProductsAreBounded) {
  Close();
  ingest_options_.max_unlisted_products = 3;
  Open();
  LoadCatalog();  // p1..p6 listed
  const size_t listed = live_->catalog.Get()->product_count();
  ASSERT_TRUE(Record({View("c1", "e1", "x1", kT0), Purchase("c1", "e2", "x2", kT0), View("c2", "e3", "x1", kT0)}).ok());
  auto r = Record({View("c1", "e4", "p1", kT0), View("c1", "e5", "x3", kT0), Purchase("c1", "e6", "x4", kT0)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("events[2].order.lines[0].product_id: unknown product 'x4'"), std::string::npos)
      << r.status();
  EXPECT_EQ(live_->catalog.Get()->product_count(), listed + 2);
  EXPECT_EQ(CountKeys(Cf::kEvents, "c1"), 2) << "nothing of the refused request is written";
  // Known products and known placeholders are always fine.
  EXPECT_TRUE(Record({View("c1", "e7", "x3", kT0), View("c1", "e8", "x1", kT0)}).ok());
  EXPECT_FALSE(Record({View("c1", "e9", "x9", kT0)}).ok());
  // Listing a placeholder makes room for a new one.
  core::Product x1;
  x1.id = "x1";
  x1.name = "X";
  x1.category_path = {"C"};
  x1.price_minor = 100;
  x1.active = true;
  ASSERT_TRUE(ingestor_->SubmitAndWait(UpsertProducts{{x1}}).ok());
  EXPECT_TRUE(Record({View("c1", "e9", "x9", kT0)}).ok());
  Reopen();  // the bound counts what recovery finds
  EXPECT_EQ(live_->catalog.Get()->unlisted_count(), 3u);
  EXPECT_EQ(Record({View("c1", "e10", "x10", kT0)}).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(IngestorTest, AnAuthoritativeCatalogRefusesUnknownProducts) {
  Close();
  ingest_options_.catalog_authoritative = true;
  Open();
  LoadCatalog();
  auto r = Record({View("c1", "e1", "p1", kT0), View("c1", "e2", "nope", kT0)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("events[1].product_id: unknown product 'nope'"), std::string::npos) << r.status();
  EXPECT_EQ(Customer("c1"), nullptr);
  EXPECT_TRUE(Record({View("c1", "e1", "p1", kT0)}).ok());
}

TEST_F(IngestorTest, AcknowledgedEventIsVisibleAtOnce) {
  LoadCatalog();
  auto r = Record({View("c1", "e1", "p1", kT0), Purchase("c1", "e2", "p2", kT0 + kDay)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->accepted, 2);
  const core::CustomerState* c = Customer("c1");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->features.events, 2);
  EXPECT_EQ(c->features.orders, 1);
  EXPECT_EQ(c->features.spend_minor, 250);
  ASSERT_EQ(c->features.recently_viewed.size(), 1u);
  EXPECT_EQ(live_->catalog.Get()->product(c->features.recently_viewed[0].product).id, "p1");
}

// Disk full: the write is UNAVAILABLE and changes nothing (memory or
// disk), reads keep working, and writes resume by themselves once space
// returns; nothing acknowledged is lost across a restart.
// The headroom a resume needs scales with the volume: a small volume gets
// small memtables, so it is not stuck needing 64 MB it will never have.
TEST(DiskFullTest, TheMemtableSizeFollowsTheVolume) {
  constexpr uint64_t kMb = 1 << 20;
  EXPECT_EQ(WriteBufferMbFor(100 * kMb), 4);
  EXPECT_EQ(WriteBufferMbFor(1024 * kMb), 16);
  EXPECT_EQ(WriteBufferMbFor(4096 * kMb), 64);
  EXPECT_EQ(WriteBufferMbFor(uint64_t{2} << 40), 64);
}

TEST(DiskFullTest, WritesAreUnavailableReadsWorkAndWritesResume) {
  testing::TempDir dir;
  auto fs = std::make_shared<FullDiskFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  core::ManualClock clock(kT0 + 100 * kDay);
  StoreOptions so;
  so.path = dir.path();
  so.env = env.get();
  {
    auto store = RocksStore::Open(so);
    ASSERT_TRUE(store.ok()) << store.status();
    core::LiveState live;
    live.catalog.Publish(*core::Catalog::Empty({"NL", "BE"}, "EUR"), live.epochs);
    auto ingestor = Ingestor::Start(store->get(), &live, IngestOptions{}, &clock);
    ASSERT_TRUE(ingestor.ok()) << ingestor.status();
    auto record = [&](const RawEvent& e) { return (*ingestor)->SubmitAndWait(RecordEvents{{e}}); };
    ASSERT_TRUE(record(View("c1", "e1", "p1", kT0)).ok());

    fs->full = true;
    for (const char* id : {"e2", "e3"}) {
      auto r = record(View("c1", id, "p2", kT0 + kDay));
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
    }
    // The next refusal says how much space writes need to resume.
    auto refused = record(View("c1", "e4", "p2", kT0 + kDay));
    EXPECT_NE(refused.status().message().find("writes resume once about"), std::string::npos)
        << refused.status();
    EXPECT_TRUE((*store)->write_stopped());
    // Nothing of the refused writes, in memory or on disk; reads work.
    EXPECT_EQ(live.customers.Find("c1")->features.events, 1);
    auto features = (*store)->Get(Cf::kFeatures, keys::Customer("c1"));
    ASSERT_TRUE(features.ok()) << features.status();
    EXPECT_TRUE(features->has_value());
    EXPECT_FALSE((*store)->Get(Cf::kEvents, keys::Event("c1", kT0 + kDay, "e2"))->has_value());

    fs->full = false;
    absl::StatusOr<WriteResult> r = absl::UnavailableError("not tried");
    // The retry of a client. Either our Resume() (at most once a second) or
    // RocksDB's own recovery thread brings writes back; if that thread tried
    // while the disk was still full, it waits 5 s before the next try.
    for (int i = 0; i < 200 && !r.ok(); ++i) {
      r = record(View("c1", "e2", "p2", kT0 + kDay));
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->accepted, 1);
    EXPECT_FALSE((*store)->write_stopped());
    EXPECT_EQ(live.customers.Find("c1")->features.events, 2);
  }
  auto store = RocksStore::Open(so);
  ASSERT_TRUE(store.ok()) << store.status();
  core::LiveState live;
  live.catalog.Publish(*core::Catalog::Empty({"NL", "BE"}, "EUR"), live.epochs);
  auto ingestor = Ingestor::Start(store->get(), &live, IngestOptions{}, &clock);
  ASSERT_TRUE(ingestor.ok()) << ingestor.status();
  EXPECT_EQ(live.customers.Find("c1")->features.events, 2);
  EXPECT_FALSE((*store)->Get(Cf::kEvents, keys::Event("c1", kT0 + kDay, "e3"))->has_value());
}

TEST_F(IngestorTest, EventFeaturesAndIdempotencyKeyAreWrittenTogether) {
  LoadCatalog();
  ASSERT_TRUE(Record({View("c1", "e1", "p1", kT0)}).ok());
  EXPECT_TRUE(store_->Get(Cf::kEvents, keys::Event("c1", kT0, "e1"))->has_value());
  EXPECT_TRUE(store_->Get(Cf::kIdempotency, keys::Idempotency("c1", "e1"))->has_value());
  auto features = store_->Get(Cf::kFeatures, keys::Customer("c1"));
  ASSERT_TRUE(features->has_value());
  auto rec = codec::Parse<v1::FeaturesRecord>(**features, "features");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->events(), 1);
}

TEST_F(IngestorTest, DuplicateEventIdIsAcknowledgedAndChangesNothing) {
  LoadCatalog();
  ASSERT_TRUE(Record({Purchase("c1", "e1", "p1", kT0)}).ok());
  auto again = Record({Purchase("c1", "e1", "p1", kT0), Purchase("c1", "e1", "p1", kT0)});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->accepted, 0);
  EXPECT_EQ(again->duplicates, 2);
  EXPECT_EQ(Customer("c1")->features.orders, 1);
  // Within one request: the second copy is the duplicate.
  auto both = Record({View("c1", "e9", "p3", kT0), View("c1", "e9", "p3", kT0)});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->accepted, 1);
  EXPECT_EQ(both->duplicates, 1);
  // The same id for another customer is another event.
  ASSERT_TRUE(Record({Purchase("c2", "e1", "p1", kT0)}).ok());
  EXPECT_EQ(Customer("c2")->features.orders, 1);
  // And it survives a restart.
  Reopen();
  auto after = Record({Purchase("c1", "e1", "p1", kT0)});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->duplicates, 1);
  EXPECT_EQ(Customer("c1")->features.orders, 1);
}

TEST_F(IngestorTest, SameIdWithOtherPayloadIsRejectedAndNothingOfTheRequestIsWritten) {
  LoadCatalog();
  ASSERT_TRUE(Record({Purchase("c1", "e1", "p1", kT0, 250)}).ok());
  auto r = Record({View("c1", "e2", "p2", kT0), Purchase("c1", "e1", "p1", kT0, 999)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(r.status().message().find("events[1].event_id"), std::string::npos) << r.status();
  EXPECT_EQ(Customer("c1")->features.events, 1);  // e2 was not applied
  EXPECT_FALSE(store_->Get(Cf::kEvents, keys::Event("c1", kT0, "e2"))->has_value());
  EXPECT_FALSE(store_->Get(Cf::kIdempotency, keys::Idempotency("c1", "e2"))->has_value());
}

TEST_F(IngestorTest, UnknownReferencesAreNotFound) {
  LoadCatalog();
  auto stock = ingestor_->SubmitAndWait(SetStock{{{"nope", "", "NL", 1}}});
  EXPECT_EQ(stock.status().code(), absl::StatusCode::kNotFound);
  auto store = ingestor_->SubmitAndWait(SetStock{{{"p1", "s99", "", 1}}});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound);
  UpsertCustomers c;
  CustomerUpsert unknown_store;
  unknown_store.customer_id = "c1";
  unknown_store.country = "NL";
  unknown_store.home_store_id = "s99";
  c.customers.push_back(unknown_store);
  EXPECT_EQ(ingestor_->SubmitAndWait(c).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Customer("c1"), nullptr);
}

TEST_F(IngestorTest, EventsForUnknownProductsAreKeptAndLinkUpWhenListed) {
  LoadCatalog();
  ASSERT_TRUE(Record({View("c1", "e1", "p-new", kT0)}).ok());
  const core::Catalog& catalog = *live_->catalog.Get();
  auto idx = catalog.FindProduct("p-new");
  ASSERT_TRUE(idx.has_value());
  EXPECT_FALSE(catalog.product(*idx).listed);
  core::Product p;
  p.id = "p-new";
  p.name = "New";
  p.category_path = {"Nieuw"};
  p.active = true;
  ASSERT_TRUE(ingestor_->SubmitAndWait(UpsertProducts{{p}}).ok());
  EXPECT_EQ(*live_->catalog.Get()->FindProduct("p-new"), *idx);
  EXPECT_TRUE(live_->catalog.Get()->product(*idx).listed);
}

TEST_F(IngestorTest, EverythingIsRecoveredAfterReopen) {
  LoadCatalog();
  UpsertCustomers c;
  c.customers.push_back({"c1", "BE", "s2", "nl", 1980, true, true, false, {}});
  ASSERT_TRUE(ingestor_->SubmitAndWait(c).ok());
  RawEvent returned = Purchase("c1", "e6", "p3", kT0 + 2000);
  returned.type = core::EventType::kReturn;
  RawEvent returned_again = returned;
  returned_again.event_id = "e7";
  returned_again.lines = {{"p5", 1, 500}};
  ASSERT_TRUE(Record({View("c1", "e1", "p1", kT0), View("c1", "e2", "p3", kT0 + 1000),
                      Purchase("c1", "e3", "p2", kT0), Purchase("c1", "e4", "p2", kT0 + 14 * kDay),
                      View("c2", "e5", "p-ghost", kT0), returned, returned_again})
                  .ok());
  const core::CustomerState before = *Customer("c1");
  // Two returns in Tompouce outweigh two views: a negative affinity, which
  // must come back as it was (not clamped to zero by the decoder).
  bool negative = false;
  std::vector<std::pair<std::string, double>> affinities_before;
  for (const auto& a : before.features.affinities) {
    negative |= a.score < 0;
    affinities_before.emplace_back(live_->catalog.Get()->category_name(a.category), a.score);
  }
  ASSERT_TRUE(negative);
  std::vector<core::TrendingEntry> trending_before;
  {
    core::ReadGuard guard(live_->epochs);
    trending_before = live_->trending.Get()->For(0);
  }
  ASSERT_FALSE(trending_before.empty());

  Reopen();
  const core::Catalog& catalog = *live_->catalog.Get();
  EXPECT_EQ(catalog.store_count(), 2u);
  EXPECT_TRUE(catalog.Recommendable(*catalog.FindProduct("p1"), kT0));
  EXPECT_TRUE(catalog.InStock(*catalog.FindProduct("p1"), 0, core::kNoStore));
  EXPECT_TRUE(catalog.InStock(*catalog.FindProduct("p1"), 1, *catalog.FindStore("s2")));
  EXPECT_FALSE(catalog.InStock(*catalog.FindProduct("p5"), 1, *catalog.FindStore("s2")));
  EXPECT_FALSE(catalog.product(*catalog.FindProduct("p-ghost")).listed);

  const core::CustomerState* after = Customer("c1");
  ASSERT_NE(after, nullptr);
  EXPECT_TRUE(after->attributes.present);
  EXPECT_EQ(after->attributes.country, 1);
  EXPECT_EQ(catalog.store(after->attributes.home_store).id, "s2");
  EXPECT_EQ(after->attributes.birth_year, 1980);
  EXPECT_TRUE(after->attributes.consent_personalization);
  EXPECT_FALSE(after->attributes.consent_marketing_email);
  EXPECT_EQ(after->features.events, before.features.events);
  EXPECT_EQ(after->features.orders, 2);
  EXPECT_EQ(after->features.spend_minor, before.features.spend_minor);
  EXPECT_EQ(after->features.last_by_type_s, before.features.last_by_type_s);
  ASSERT_EQ(after->features.recently_viewed.size(), 2u);
  EXPECT_EQ(catalog.product(after->features.recently_viewed[0].product).id, "p3");
  ASSERT_EQ(after->features.purchases.size(), 1u);
  EXPECT_EQ(after->features.purchases[0].TypicalInterval(), 14 * kDay);
  ASSERT_EQ(after->features.affinities.size(), affinities_before.size());
  for (size_t i = 0; i < affinities_before.size(); ++i) {
    EXPECT_EQ(catalog.category_name(after->features.affinities[i].category), affinities_before[i].first);
    EXPECT_DOUBLE_EQ(after->features.affinities[i].score, affinities_before[i].second);
  }
  EXPECT_EQ(after->features.returns, 2);
  EXPECT_NE(Customer("c2"), nullptr);

  core::ReadGuard guard(live_->epochs);
  const auto& trending_after = live_->trending.Get()->For(0);
  ASSERT_EQ(trending_after.size(), trending_before.size());
  for (size_t i = 0; i < trending_after.size(); ++i) {
    EXPECT_EQ(catalog.product(trending_after[i].product).id,
              catalog.product(trending_before[i].product).id);
  }
}

// Brand affinities, learned and declared sizes and per-store popularity
// are persisted with the events that made them and come back on restart.
TEST_F(IngestorTest, BrandsSizesAndStorePopularitySurviveRestart) {
  LoadCatalog();
  UpsertProducts branded;
  for (int i = 1; i <= 5; ++i) {
    core::Product p = live_->catalog.Get()->product(*live_->catalog.Get()->FindProduct(absl::StrCat("p", i)));
    p.brand = i <= 2 ? "Alpha" : "Beta";
    p.sizes = {"S", "M"};
    branded.products.push_back(p);
  }
  ASSERT_TRUE(ingestor_->SubmitAndWait(branded).ok());
  UpsertCustomers c;
  c.customers.push_back({"c1", "NL", "s1", "nl", 1980, true, true, false, {{"Bakkerij/Tompouce", {"M"}}}});
  ASSERT_TRUE(ingestor_->SubmitAndWait(c).ok());
  RawEvent bought = Purchase("c1", "e1", "p2", kT0);
  bought.store_id = "s1";
  bought.lines[0].size = "M";
  RawEvent bought2 = Purchase("c1", "e2", "p4", kT0 + 1);
  bought2.store_id = "s1";
  bought2.lines = {{"p4", 2, 400, "S"}, {"p2", 1, 200, "M"}};
  ASSERT_TRUE(Record({bought, bought2, View("c1", "e3", "p3", kT0 + 2)}).ok());

  auto store_list = [&] {
    core::ReadGuard guard(live_->epochs);
    std::vector<std::pair<std::string, float>> out;
    const core::Catalog& catalog = *live_->catalog.Get();
    for (const auto& e : live_->trending.Get()->ForStore(*catalog.FindStore("s1"))) {
      out.emplace_back(catalog.product(e.product).id, e.score);
    }
    return out;
  };
  const auto list_before = store_list();
  ASSERT_EQ(list_before.size(), 2u);
  EXPECT_EQ(list_before[0].first, "p2");  // two purchases
  {
    core::ReadGuard guard(live_->epochs);
    EXPECT_TRUE(live_->trending.Get()->ForStore(*live_->catalog.Get()->FindStore("s2")).empty());
  }
  const core::CustomerState before = *Customer("c1");
  ASSERT_EQ(before.features.brand_affinities.size(), 2u);
  ASSERT_EQ(before.features.sizes.size(), 2u);

  Reopen();
  EXPECT_EQ(store_list(), list_before);
  const core::Catalog& catalog = *live_->catalog.Get();
  const core::CustomerState* after = Customer("c1");
  ASSERT_NE(after, nullptr);
  ASSERT_EQ(after->attributes.sizes.size(), 1u);
  EXPECT_EQ(after->attributes.sizes[0].category_prefix, "Bakkerij/Tompouce");
  EXPECT_EQ(after->attributes.sizes[0].sizes, std::vector<std::string>{"M"});
  ASSERT_EQ(after->features.brand_affinities.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(catalog.brand_name(after->features.brand_affinities[i].brand),
              catalog.brand_name(before.features.brand_affinities[i].brand));
    EXPECT_DOUBLE_EQ(after->features.brand_affinities[i].score, before.features.brand_affinities[i].score);
  }
  ASSERT_EQ(after->features.sizes.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(after->features.sizes[i].size, before.features.sizes[i].size);
    EXPECT_EQ(after->features.sizes[i].net, before.features.sizes[i].net);
    EXPECT_EQ(catalog.category_name(after->features.sizes[i].category),
              catalog.category_name(before.features.sizes[i].category));
  }
  EXPECT_EQ(after->features.sizes[0].net + after->features.sizes[1].net, 4);  // 1 + 2 + 1 units
}

// A store keeps at most 2 x keep products; the weakest are forgotten in
// memory and on disk, and the strongest stay across a restart.
TEST_F(IngestorTest, StorePopularityIsBoundedOnDiskAndInMemory) {
  ingest_options_.store_trending_keep = 2;
  Reopen();
  LoadCatalog();
  std::vector<RawEvent> events;
  for (int i = 1; i <= 5; ++i) {
    for (int k = 0; k < i; ++k) {  // p5 bought five times, p1 once
      RawEvent e = Purchase("c1", absl::StrCat("e", i, "-", k), absl::StrCat("p", i), kT0 + k);
      e.store_id = "s1";
      events.push_back(e);
    }
  }
  ASSERT_TRUE(Record(events).ok());
  auto keys_on_disk = [&] {
    int n = 0;
    auto it = store_->NewIterator(Cf::kStorePopularity);
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    return n;
  };
  EXPECT_EQ(keys_on_disk(), 2);
  auto ids = [&] {
    core::ReadGuard guard(live_->epochs);
    std::vector<std::string> out;
    const core::Catalog& catalog = *live_->catalog.Get();
    for (const auto& e : live_->trending.Get()->ForStore(*catalog.FindStore("s1"))) {
      out.push_back(catalog.product(e.product).id);
    }
    return out;
  };
  EXPECT_EQ(ids(), (std::vector<std::string>{"p5", "p4"}));
  Reopen();
  EXPECT_EQ(ids(), (std::vector<std::string>{"p5", "p4"}));
  EXPECT_EQ(keys_on_disk(), 2);
}

TEST_F(IngestorTest, StockSurvivesRestartWhateverTheStoreOrder) {
  // Stores inserted in an order unlike their key order ("s9" before "s10"),
  // more than 64 of them (several bit words per product).
  UpsertStores stores;
  for (int i = 130; i >= 1; --i) stores.stores.push_back({absl::StrCat("s", i), i % 2 ? "NL" : "BE", "", ""});
  ASSERT_TRUE(ingestor_->SubmitAndWait(stores).ok());
  core::Product p;
  p.id = "p1";
  p.name = "P";
  p.category_path = {"C"};
  p.active = true;
  ASSERT_TRUE(ingestor_->SubmitAndWait(UpsertProducts{{p}}).ok());
  SetStock stock;
  for (int i : {1, 10, 64, 65, 129}) stock.levels.push_back({"p1", absl::StrCat("s", i), "", 5});
  stock.levels.push_back({"p1", "", "BE", 1});
  stock.levels.push_back({"p1", "s10", "", 0});  // and out again: last one wins
  ASSERT_TRUE(ingestor_->SubmitAndWait(stock).ok());
  // Only one stock record for the product, however many levels.
  {
    int records = 0;
    auto it = store_->NewIterator(Cf::kStock);
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++records;
    EXPECT_EQ(records, 1);
  }

  for (int round = 0; round < 2; ++round) {
    const core::Catalog& c = *live_->catalog.Get();
    const core::ProductIndex idx = *c.FindProduct("p1");
    for (int i = 1; i <= 130; ++i) {
      const bool expected = i == 1 || i == 64 || i == 65 || i == 129;
      EXPECT_EQ(c.InStock(idx, 0, *c.FindStore(absl::StrCat("s", i))), expected) << "s" << i << " round " << round;
    }
    EXPECT_TRUE(c.InStock(idx, *c.FindMarket("BE"), core::kNoStore));
    EXPECT_FALSE(c.InStock(idx, *c.FindMarket("NL"), core::kNoStore));
    Reopen();
  }
}

TEST_F(IngestorTest, ConcurrentSubmittersAreGroupCommitted) {
  LoadCatalog();
  const int kThreads = 4, kPerThread = 200;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = Record({Purchase(absl::StrCat("c", t), absl::StrCat("e", i), "p1", kT0 + i)});
        if (!r.ok() || r->accepted != 1) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(Customer(absl::StrCat("c", t))->features.orders, kPerThread);
  EXPECT_EQ(ingestor_->counters().events_accepted.load(), kThreads * kPerThread);
}

TEST_F(IngestorTest, FullQueueIsResourceExhaustedAtOnce) {
  Close();
  StoreOptions so;
  so.path = dir_.path();
  store_ = std::move(*RocksStore::Open(so));
  live_ = std::make_unique<core::LiveState>();
  live_->catalog.Publish(*core::Catalog::Empty({"NL"}, "EUR"), live_->epochs);
  IngestOptions io;
  io.queue_capacity = 1;
  ingestor_ = std::move(*Ingestor::Start(store_.get(), live_.get(), io, &clock_));
  // Hold the writer inside the first request's completion callback.
  std::promise<void> entered, release;
  auto released = release.get_future().share();
  ASSERT_TRUE(ingestor_->Submit(RecordEvents{{View("c1", "e1", "p1", kT0)}},
                                [&, released](absl::Status, WriteResult) {
                                  entered.set_value();
                                  released.wait();
                                })
                  .ok());
  entered.get_future().wait();
  std::promise<absl::Status> second;
  ASSERT_TRUE(ingestor_->Submit(RecordEvents{{View("c1", "e2", "p1", kT0)}},
                                [&](absl::Status s, WriteResult) { second.set_value(s); })
                  .ok());  // fills the queue
  const absl::Status third =
      ingestor_->Submit(RecordEvents{{View("c1", "e3", "p1", kT0)}}, [](absl::Status, WriteResult) {});
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted) << third;
  release.set_value();
  EXPECT_TRUE(second.get_future().get().ok());
  EXPECT_EQ(Customer("c1")->features.events, 2);  // the refused one left no trace
}

TEST_F(IngestorTest, SubmitAfterStopIsUnavailable) {
  ingestor_->Stop();
  EXPECT_EQ(ingestor_->Submit(RecordEvents{}, [](absl::Status, WriteResult) {}).code(),
            absl::StatusCode::kUnavailable);
}

// Model-based: a plain in-test model receives the same random stream
// (with resends and out-of-order times); after random restarts the
// recovered state must agree with it.
TEST_F(IngestorTest, RandomStreamWithRestartsAgreesWithModel) {
  LoadCatalog();
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937_64 rng(seed);
  struct Model {
    int64_t events = 0, orders = 0, spend = 0;
    core::TimeMs last_seen = 0;
    std::map<std::string, core::TimeMs> viewed;  // product -> latest view
  };
  std::map<std::string, Model> model;
  std::map<std::string, RawEvent> sent;  // idempotency: resends must not count
  int next_id = 0;
  for (int round = 0; round < 30; ++round) {
    std::vector<RawEvent> batch;
    const int n = 1 + rng() % 40;
    for (int i = 0; i < n; ++i) {
      if (!sent.empty() && rng() % 5 == 0) {  // resend an earlier event
        auto it = sent.begin();
        std::advance(it, rng() % sent.size());
        batch.push_back(it->second);
        continue;
      }
      const std::string customer = absl::StrCat("c", rng() % 8);
      const std::string product = absl::StrCat("p", 1 + rng() % 5);
      const core::TimeMs t = kT0 + static_cast<core::TimeMs>(rng() % (60 * kDay));
      RawEvent e = rng() % 3 == 0 ? Purchase(customer, absl::StrCat("e", next_id++), product, t, 1 + rng() % 500)
                                  : View(customer, absl::StrCat("e", next_id++), product, t);
      batch.push_back(e);
      sent[customer + "/" + e.event_id] = e;
      Model& m = model[customer];
      ++m.events;
      m.last_seen = std::max(m.last_seen, t);
      if (e.type == core::EventType::kPurchase) {
        ++m.orders;
        m.spend += e.lines[0].unit_price_minor;
      } else {
        m.viewed[product] = std::max(m.viewed[product], t);
      }
    }
    auto r = Record(batch);
    ASSERT_TRUE(r.ok()) << r.status();
    if (rng() % 4 == 0) Reopen();
  }
  Reopen();
  const core::Catalog& catalog = *live_->catalog.Get();
  for (const auto& [customer, m] : model) {
    const core::CustomerState* s = Customer(customer);
    ASSERT_NE(s, nullptr) << customer;
    EXPECT_EQ(s->features.events, m.events) << customer;
    EXPECT_EQ(s->features.orders, m.orders) << customer;
    EXPECT_EQ(s->features.spend_minor, m.spend) << customer;
    EXPECT_EQ(s->features.last_seen, m.last_seen) << customer;
    ASSERT_EQ(s->features.recently_viewed.size(), m.viewed.size()) << customer;
    for (const auto& v : s->features.recently_viewed) {
      // Views are kept to the second.
      EXPECT_EQ(v.time(), m.viewed.at(catalog.product(v.product).id) / 1000 * 1000) << customer;
    }
  }
}

}  // namespace
}  // namespace nextbest::storage
