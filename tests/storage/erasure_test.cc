// Erasure, retention and the bound on products only seen in events, on a
// real RocksDB through the writer.

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

TEST_F(IngestorTest, EraseRemovesTheCustomerEverywhereAndSuppressesLateEvents) {
  LoadCatalog();
  CustomerUpsert c1;
  c1.customer_id = "c1";
  c1.country = "NL";
  ASSERT_TRUE(ingestor_->SubmitAndWait(UpsertCustomers{{c1}}).ok());
  ASSERT_TRUE(Record({View("c1", "e1", "p1", kT0), Purchase("c1", "e2", "p2", kT0 + kDay),
                      View("c2", "e1", "p1", kT0)})
                  .ok());
  // Queued back to back (usually one group): an event before the erasure (erased with it), the
  // erasure and a late event (suppressed).
  std::promise<WriteResult> erased;
  std::promise<WriteResult> late;
  ASSERT_TRUE(ingestor_
                  ->Submit(RecordEvents{{View("c1", "e3", "p3", kT0 + 2 * kDay)}},
                           [](absl::Status, WriteResult) {})
                  .ok());
  ASSERT_TRUE(ingestor_
                  ->Submit(EraseCustomer{"c1"},
                           [&](absl::Status s, WriteResult r) {
                             EXPECT_TRUE(s.ok()) << s;
                             erased.set_value(r);
                           })
                  .ok());
  ASSERT_TRUE(ingestor_
                  ->Submit(RecordEvents{{View("c1", "e1", "p1", kT0)}},
                           [&](absl::Status s, WriteResult r) {
                             EXPECT_TRUE(s.ok()) << s;
                             late.set_value(r);
                           })
                  .ok());
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
  for (Cf cf : {Cf::kEvents, Cf::kIdempotency})
    EXPECT_EQ(CountKeys(cf, "c1"), 0) << RocksStore::CfName(cf);
  EXPECT_FALSE(store_->Get(Cf::kCustomers, "c1")->has_value());
  EXPECT_FALSE(store_->Get(Cf::kFeatures, "c1")->has_value());
  EXPECT_EQ(CountKeys(Cf::kEvents, "c2"), 1);
  ASSERT_NE(Customer("c2"), nullptr);
  EXPECT_EQ(ingestor_->SubmitAndWait(EraseCustomer{"c1"}).status().code(),
            absl::StatusCode::kNotFound);

  EXPECT_EQ(e.erasure.suppress_through_ms, e.erasure.erased_at_ms + 24 * 3600 * 1000);

  // The suppression is durable. A retry from a client whose clock runs up
  // to 24 h ahead (the skew validation accepts) is dropped too; an event
  // dated after that starts afresh.
  Reopen();
  EXPECT_EQ(Customer("c1"), nullptr);
  auto r = Record({Purchase("c1", "e2", "p2", kT0 + kDay),
                   View("c1", "skewed", "p3", e.erasure.erased_at_ms + 23 * 3600 * 1000),
                   View("c1", "after", "p4", e.erasure.suppress_through_ms + 1)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->suppressed, 2);
  EXPECT_EQ(r->accepted, 1);
  ASSERT_NE(Customer("c1"), nullptr);
  EXPECT_EQ(Customer("c1")->features.events, 1);
  EXPECT_EQ(Customer("c1")->features.orders, 0);
  EXPECT_FALSE(Customer("c1")->attributes.present);
  ASSERT_TRUE(
      store_->Purge({Cf::kEvents, Cf::kIdempotency, Cf::kCustomers, Cf::kFeatures}, "c1", "c1\x01")
          .ok());
  EXPECT_EQ(CountKeys(Cf::kEvents, "c1"), 1);  // purging compacts; it deletes nothing live
}

TEST_F(IngestorTest, RetentionDropsOldRawEventsAndKeepsTheFeatures) {
  Close();
  store_options_.event_retention_ms = 30 * kDay;
  Open();
  LoadCatalog();
  // The retention filter runs against the wall clock.
  const core::TimeMs now = core::SystemClock().Now();
  ASSERT_TRUE(
      Record({Purchase("c1", "old", "p1", now - 40 * kDay), Purchase("c1", "new", "p2", now - kDay),
              View("c2", "old", "p1", now - 31 * kDay)})
          .ok());
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
  auto r = Record({View("c1", "old-2", "p2", horizon - 5 * kDay),
                   View("c1", "recent-1", "p3", sweep - 15 * 60 * 1000),
                   Purchase("c1", "recent-2", "p4", horizon + kDay)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->suppressed, 1);  // older than the horizon
  EXPECT_EQ(r->accepted, 2);
  ASSERT_NE(Customer("c1"), nullptr);
  EXPECT_EQ(Customer("c1")->features.events, 2);
  EXPECT_EQ(Customer("c1")->features.orders, 1);
  Reopen();  // the rule is durable
  r = Record({View("c1", "old-3", "p2", horizon - kDay),
              View("c1", "recent-3", "p2", horizon + 2 * kDay)});
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
  ASSERT_TRUE(Record({View("c1", "e1", "x1", kT0), Purchase("c1", "e2", "x2", kT0),
                      View("c2", "e3", "x1", kT0)})
                  .ok());
  auto r = Record(
      {View("c1", "e4", "p1", kT0), View("c1", "e5", "x3", kT0), Purchase("c1", "e6", "x4", kT0)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("events[2].order.lines[0].product_id: unknown product 'x4'"),
            std::string::npos)
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
  EXPECT_EQ(Record({View("c1", "e10", "x10", kT0)}).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(IngestorTest, AnAuthoritativeCatalogRefusesUnknownProducts) {
  Close();
  ingest_options_.catalog_authoritative = true;
  Open();
  LoadCatalog();
  auto r = Record({View("c1", "e1", "p1", kT0), View("c1", "e2", "nope", kT0)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("events[1].product_id: unknown product 'nope'"),
            std::string::npos)
      << r.status();
  EXPECT_EQ(Customer("c1"), nullptr);
  EXPECT_TRUE(Record({View("c1", "e1", "p1", kT0)}).ok());
}

}  // namespace
}  // namespace nextbest::storage
