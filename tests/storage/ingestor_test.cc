// The writer and recovery against a real RocksDB in a fresh temp dir.

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <map>
#include <random>
#include <thread>

#include "tests/storage/ingestor_fixture.h"

namespace nextbest::storage {
namespace {

using testing::IngestorTest;
using testing::kDay;
using testing::kT0;
using testing::Purchase;
using testing::View;

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

// A feed sent again: equal products are counted unchanged and not written;
// a changed one is updated; an unlisted one (known from events) is created.
TEST_F(IngestorTest, UpsertProductsCountsCreatedUpdatedUnchanged) {
  LoadCatalog();
  ASSERT_TRUE(Record({View("c1", "e1", "p-seen", kT0)}).ok());
  core::Product a;
  a.id = "p-a";
  a.name = "A";
  a.category_path = {"X"};
  a.active = true;
  core::Product seen = a;
  seen.id = "p-seen";
  auto first = ingestor_->SubmitAndWait(UpsertProducts{{a, seen}});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->accepted, 2);
  EXPECT_EQ(first->created, 2);
  EXPECT_EQ(first->unchanged, 0);
  core::Product changed = a;
  changed.name = "A, renamed";
  auto second = ingestor_->SubmitAndWait(UpsertProducts{{changed, seen}});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->accepted, 2);
  EXPECT_EQ(second->created, 0);
  EXPECT_EQ(second->unchanged, 1);
  const core::Catalog& catalog = *live_->catalog.Get();
  EXPECT_EQ(catalog.product(*catalog.FindProduct("p-a")).name, "A, renamed");
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
  EXPECT_FALSE(before.features.send_time.Empty());
  EXPECT_EQ(after->features.send_time, before.features.send_time);
  ASSERT_EQ(after->features.recently_viewed.size(), 2u);
  EXPECT_EQ(catalog.product(after->features.recently_viewed[0].product).id, "p3");
  ASSERT_EQ(after->features.purchases.size(), 1u);
  EXPECT_EQ(after->features.purchases[0].TypicalInterval(), 14 * kDay);
  ASSERT_EQ(after->features.affinities.size(), affinities_before.size());
  for (size_t i = 0; i < affinities_before.size(); ++i) {
    EXPECT_EQ(catalog.category_name(after->features.affinities[i].category),
              affinities_before[i].first);
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
    core::Product p =
        live_->catalog.Get()->product(*live_->catalog.Get()->FindProduct(absl::StrCat("p", i)));
    p.brand = i <= 2 ? "Alpha" : "Beta";
    p.sizes = {"S", "M"};
    branded.products.push_back(p);
  }
  ASSERT_TRUE(ingestor_->SubmitAndWait(branded).ok());
  UpsertCustomers c;
  c.customers.push_back(
      {"c1", "NL", "s1", "nl", 1980, true, true, false, {{"Bakkerij/Tompouce", {"M"}}}});
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
    EXPECT_DOUBLE_EQ(after->features.brand_affinities[i].score,
                     before.features.brand_affinities[i].score);
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
  for (int i = 130; i >= 1; --i)
    stores.stores.push_back({absl::StrCat("s", i), i % 2 ? "NL" : "BE", "", ""});
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
      EXPECT_EQ(c.InStock(idx, 0, *c.FindStore(absl::StrCat("s", i))), expected)
          << "s" << i << " round " << round;
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
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(Customer(absl::StrCat("c", t))->features.orders, kPerThread);
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
  ASSERT_TRUE(ingestor_
                  ->Submit(RecordEvents{{View("c1", "e1", "p1", kT0)}},
                           [&, released](absl::Status, WriteResult) {
                             entered.set_value();
                             released.wait();
                           })
                  .ok());
  entered.get_future().wait();
  std::promise<absl::Status> second;
  ASSERT_TRUE(ingestor_
                  ->Submit(RecordEvents{{View("c1", "e2", "p1", kT0)}},
                           [&](absl::Status s, WriteResult) { second.set_value(s); })
                  .ok());  // fills the queue
  const absl::Status third = ingestor_->Submit(RecordEvents{{View("c1", "e3", "p1", kT0)}},
                                               [](absl::Status, WriteResult) {});
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
      RawEvent e = rng() % 3 == 0 ? Purchase(customer, absl::StrCat("e", next_id++), product, t,
                                             1 + rng() % 500)
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
