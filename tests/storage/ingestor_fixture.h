#pragma once
// The writer's tests' fixture: a real RocksDB in a fresh temp dir, the
// writer on it, a manual clock, and event builders.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/features.h"
#include "storage/codec.h"
#include "storage/ingestor.h"
#include "storage/keys.h"
#include "tests/temp_dir.h"

namespace nextbest::storage::testing {

inline constexpr core::TimeMs kDay = core::kMsPerDay;
inline constexpr core::TimeMs kT0 = 1'760'000'000'000;

inline RawEvent View(const std::string& customer, const std::string& id, const std::string& product,
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

inline RawEvent Purchase(const std::string& customer, const std::string& id,
                         const std::string& product, core::TimeMs t, int64_t price = 250) {
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

  nextbest::testing::TempDir dir_;
  StoreOptions store_options_;
  IngestOptions ingest_options_;
  core::ManualClock clock_{kT0 + 100 * kDay};
  std::unique_ptr<RocksStore> store_;
  std::unique_ptr<core::LiveState> live_;
  std::unique_ptr<Ingestor> ingestor_;
};

}  // namespace nextbest::storage::testing
