// End to end, the write path: streaming ingest, deadlines and cancellation,
// one customer's flood, and bad input answered with the field named.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "nextbest/v1/catalog.grpc.pb.h"
#include "nextbest/v1/customers.grpc.pb.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "tests/server/e2e_shop.h"

namespace nextbest {
namespace {

using testing::E2eTest;
using testing::HttpGet;
using testing::kDaySec;
using testing::NowSec;
using testing::RunCli;
using testing::ServerProcess;
using testing::TempDir;

TEST_F(E2eTest, StreamEventsWritesChunksAndStopsAtABadOne) {
  LoadCatalog();
  const int64_t now = NowSec();
  {
    grpc::ClientContext ctx;
    v1::StreamEventsResponse resp;
    auto writer = events_->StreamEvents(&ctx, &resp);
    for (int chunk = 0; chunk < 5; ++chunk) {
      v1::StreamEventsRequest req;
      for (int i = 0; i < 100; ++i)
        *req.add_events() =
            View(absl::StrCat("s", chunk, "-", i), absl::StrCat("sc", i), "p2", now - 50);
      ASSERT_TRUE(writer->Write(req));
    }
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.accepted(), 500);
    EXPECT_EQ(resp.chunks(), 5);
  }
  {
    grpc::ClientContext ctx;
    v1::StreamEventsResponse resp;
    auto writer = events_->StreamEvents(&ctx, &resp);
    v1::StreamEventsRequest good, bad;
    *good.add_events() = View("t1", "tc", "p1", now);
    *bad.add_events() = View("t2", "tc", "p1", now);
    bad.mutable_events(0)->clear_channel();
    writer->Write(good);
    writer->Write(bad);
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("chunk 1: events[0].channel: required"), std::string::npos)
        << s.error_message();
  }
  // The good chunk before the bad one is durable.
  v1::GetProfileRequest pr;
  pr.set_customer_id("tc");
  v1::GetProfileResponse profile;
  ASSERT_TRUE(Call(&v1::CustomerService::Stub::GetProfile, customers_.get(), pr, &profile).ok());
  EXPECT_EQ(profile.features().events(), 1);
}

// Tiny deadlines and cancellation: whatever the client sees (deadline
// exceeded, cancelled, OK), every batch is applied entirely or not at all,
// and the client's retry with the same event ids makes the count exact.
TEST_F(E2eTest, DeadlinesAndCancellationNeverHalfApplyABatch) {
  LoadCatalog();
  const int64_t now = NowSec();
  auto events_of = [&](const std::string& customer) -> int64_t {
    v1::GetProfileResponse profile;
    return Profile(customer, &profile).ok() ? profile.features().events() : 0;
  };
  // Unary batches of 20 with deadlines from already expired to 2 ms.
  int expired = 0;
  for (int round = 0; round < 20; ++round) {
    const std::string customer = absl::StrCat("dl", round);
    v1::RecordEventsRequest req;
    for (int i = 0; i < 20; ++i)
      *req.add_events() = View(absl::StrCat("d", i), customer, "p2", now - 30);
    v1::RecordEventsResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::microseconds(round * 100) -
                     std::chrono::milliseconds(round == 0 ? 1000 : 0));
    grpc::Status s = events_->RecordEvents(&ctx, req, &resp);
    if (!s.ok()) {
      ++expired;
      EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
    }
    // The writer may still finish a batch whose caller gave up: give it a
    // moment, then it is all or nothing.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const int64_t n = events_of(customer);
    EXPECT_TRUE(n == 0 || n == 20) << customer << ": " << n;
    ASSERT_TRUE(Call(&v1::EventService::Stub::RecordEvents, events_.get(), req, &resp).ok());
    EXPECT_EQ(events_of(customer), 20) << customer;
  }
  EXPECT_GT(expired, 0);

  // A stream cancelled after a few chunks: whole chunks only.
  {
    grpc::ClientContext ctx;
    v1::StreamEventsResponse resp;
    auto writer = events_->StreamEvents(&ctx, &resp);
    writer->WaitForInitialMetadata();
    for (int chunk = 0; chunk < 3; ++chunk) {
      v1::StreamEventsRequest req;
      for (int i = 0; i < 10; ++i)
        *req.add_events() = View(absl::StrCat("x", chunk, "-", i), "cancelled", "p3", now - 20);
      ASSERT_TRUE(writer->Write(req));
    }
    ctx.TryCancel();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(events_of("cancelled") % 10, 0) << events_of("cancelled");
  {  // the client's retry of all three chunks
    grpc::ClientContext ctx;
    v1::StreamEventsResponse resp;
    auto writer = events_->StreamEvents(&ctx, &resp);
    for (int chunk = 0; chunk < 3; ++chunk) {
      v1::StreamEventsRequest req;
      for (int i = 0; i < 10; ++i)
        *req.add_events() = View(absl::StrCat("x", chunk, "-", i), "cancelled", "p3", now - 20);
      ASSERT_TRUE(writer->Write(req));
    }
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
    EXPECT_EQ(resp.accepted() + resp.duplicates(), 30);
  }
  EXPECT_EQ(events_of("cancelled"), 30);
  // The server is fine.
  v1::RecommendResponse r;
  EXPECT_TRUE(Recommend("dl1", "homepage.door_jou_bekeken", &r).ok());
}

// One customer floods: 20,000 events over 2,000 products. Everything is
// counted, and the state kept per customer stays bounded (recently viewed,
// purchase history and affinities are capped lists).
TEST_F(E2eTest, OneCustomersFloodKeepsItsStateBounded) {
  LoadCatalog();
  v1::UpsertProductsRequest products;
  for (int i = 0; i < 2000; ++i) {
    auto* p = products.add_products();
    p->set_product_id(absl::StrCat("f", i));
    p->set_name(absl::StrCat("Flood ", i));
    p->add_category_path("Flood");
    p->add_category_path(absl::StrCat("C", i % 40));
    p->mutable_price()->set_amount_minor(100);
    p->mutable_price()->set_currency("EUR");
  }
  v1::UpsertProductsResponse presp;
  ASSERT_TRUE(
      Call(&v1::CatalogService::Stub::UpsertProducts, catalog_.get(), products, &presp).ok());
  const int64_t now = NowSec();
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<v1::Event> events;
    for (int i = 0; i < 1000; ++i) {
      const int n = batch * 1000 + i;
      const std::string product = absl::StrCat("f", n % 2000);
      events.push_back(n % 4 == 0
                           ? Purchase(absl::StrCat("fl", n), "flooder", product, now - 20000 + n)
                           : View(absl::StrCat("fl", n), "flooder", product, now - 20000 + n));
    }
    v1::RecordEventsResponse resp;
    ASSERT_TRUE(Record(events, &resp).ok());
    ASSERT_EQ(resp.accepted(), 1000);
  }
  v1::GetProfileResponse profile;
  ASSERT_TRUE(Profile("flooder", &profile).ok());
  EXPECT_EQ(profile.features().events(), 20000);
  EXPECT_EQ(profile.features().orders(), 5000);
  EXPECT_LE(profile.features().recently_viewed_size(), 50);
  EXPECT_LE(profile.features().purchase_history_size(), 500);  // max_purchase_history
  EXPECT_LE(profile.features().top_categories_size(), 16);
  v1::RecommendResponse r;
  EXPECT_TRUE(Recommend("flooder", "homepage.speciaal_voor_jou", &r).ok());
}

TEST_F(E2eTest, BadInputGetsAClearErrorAndWritesNothing) {
  LoadCatalog();
  const int64_t now = NowSec();
  ASSERT_TRUE(Record({Purchase("e1", "c1", "p1", now - 100)}).ok());

  struct Case {
    std::string name;
    std::function<grpc::Status()> call;
    grpc::StatusCode code;
    std::string message;
  };
  std::vector<Case> cases;
  cases.push_back(
      {"empty batch", [&] { return Record({}); }, grpc::INVALID_ARGUMENT, "events: at least one"});
  cases.push_back({"negative price",
                   [&] {
                     auto e = Purchase("e2", "c1", "p1", now);
                     e.mutable_order()->mutable_lines(0)->mutable_unit_price()->set_amount_minor(
                         -5);
                     return Record({View("ok1", "c1", "p2", now), e});
                   },
                   grpc::INVALID_ARGUMENT, "events[1].order.lines[0].unit_price.amount_minor"});
  cases.push_back({"reused id, other payload",
                   [&] {
                     auto e = Purchase("e1", "c1", "p2", now - 100);
                     return Record({View("ok2", "c1", "p2", now), e});
                   },
                   grpc::ALREADY_EXISTS, "events[1].event_id"});
  cases.push_back({"far future", [&] { return Record({View("f", "c1", "p1", now + 3 * kDaySec)}); },
                   grpc::INVALID_ARGUMENT, "events[0].time"});
  cases.push_back({"profile: unknown",
                   [&] {
                     v1::GetProfileRequest r;
                     r.set_customer_id("nobody");
                     v1::GetProfileResponse resp;
                     return Call(&v1::CustomerService::Stub::GetProfile, customers_.get(), r,
                                 &resp);
                   },
                   grpc::NOT_FOUND, "customer_id"});
  cases.push_back({"profile: empty id",
                   [&] {
                     v1::GetProfileRequest r;
                     v1::GetProfileResponse resp;
                     return Call(&v1::CustomerService::Stub::GetProfile, customers_.get(), r,
                                 &resp);
                   },
                   grpc::INVALID_ARGUMENT, "customer_id: required"});
  cases.push_back({"customers: unknown home store",
                   [&] {
                     v1::UpsertCustomersRequest r;
                     auto* c = r.add_customers();
                     c->set_customer_id("c9");
                     c->set_home_store_id("s404");
                     v1::UpsertCustomersResponse resp;
                     return Call(&v1::CustomerService::Stub::UpsertCustomers, customers_.get(), r,
                                 &resp);
                   },
                   grpc::NOT_FOUND, "customers[0].home_store_id"});
  cases.push_back({"products: no price",
                   [&] {
                     v1::UpsertProductsRequest r;
                     auto* p = r.add_products();
                     p->set_product_id("p9");
                     p->set_name("x");
                     p->add_category_path("x");
                     v1::UpsertProductsResponse resp;
                     return Call(&v1::CatalogService::Stub::UpsertProducts, catalog_.get(), r,
                                 &resp);
                   },
                   grpc::INVALID_ARGUMENT, "products[0].price: required"});
  cases.push_back({"stores: unknown market",
                   [&] {
                     v1::UpsertStoresRequest r;
                     auto* s = r.add_stores();
                     s->set_store_id("s9");
                     s->set_country("US");
                     v1::UpsertStoresResponse resp;
                     return Call(&v1::CatalogService::Stub::UpsertStores, catalog_.get(), r, &resp);
                   },
                   grpc::INVALID_ARGUMENT, "stores[0].country"});
  cases.push_back({"stock: unknown product",
                   [&] {
                     v1::SetStockRequest r;
                     auto* l = r.add_levels();
                     l->set_product_id("p404");
                     l->set_online_country("NL");
                     v1::SetStockResponse resp;
                     return Call(&v1::CatalogService::Stub::SetStock, catalog_.get(), r, &resp);
                   },
                   grpc::NOT_FOUND, "levels[0].product_id"});
  cases.push_back(
      {"recommend: unknown placement",
       [&] {
         v1::RecommendResponse resp;
         return Recommend("c1", "homepage.nope", &resp);
       },
       grpc::NOT_FOUND,
       "known: homepage.speciaal_voor_jou, app.speciaal_voor_jou, homepage.door_jou_bekeken"});
  cases.push_back({"recommend: no context",
                   [&] {
                     v1::RecommendRequest r;
                     r.set_customer_id("c1");
                     v1::RecommendResponse resp;
                     return Call(&v1::DecisionService::Stub::Recommend, decisions_.get(), r, &resp);
                   },
                   grpc::INVALID_ARGUMENT, "context: required"});
  cases.push_back({"recommend: count over max",
                   [&] {
                     v1::RecommendRequest r;
                     r.mutable_context()->set_placement("homepage.populair");
                     r.mutable_context()->set_count(51);
                     v1::RecommendResponse resp;
                     return Call(&v1::DecisionService::Stub::Recommend, decisions_.get(), r, &resp);
                   },
                   grpc::INVALID_ARGUMENT, "context.count: at most 50"});
  cases.push_back({"recommend: unknown store",
                   [&] {
                     v1::RecommendResponse resp;
                     return Recommend("c1", "homepage.populair", &resp, {}, 0, "s404");
                   },
                   grpc::INVALID_ARGUMENT, "context.store_id"});
  // Enforced by gRPC itself before the handler runs (documented in the README).
  cases.push_back({"invalid UTF-8 in a string field",
                   [&] {
                     v1::RecommendResponse resp;
                     return Recommend(std::string("c\xff\xfe", 3), "homepage.populair", &resp);
                   },
                   grpc::UNIMPLEMENTED, ""});  // gRPC 1.51 callback API: fails the parse this way
  cases.push_back({"request over 4 MiB",
                   [&] {
                     v1::RecordEventsRequest r;
                     for (int i = 0; i < 600; ++i) {
                       *r.add_events() =
                           View(absl::StrCat("big", i), "c1", std::string(100, 'p'), now);
                       r.mutable_events(i)->set_placement(std::string(8000, 'x'));
                     }
                     v1::RecordEventsResponse resp;
                     return Call(&v1::EventService::Stub::RecordEvents, events_.get(), r, &resp);
                   },
                   grpc::RESOURCE_EXHAUSTED, ""});
  for (const Case& c : cases) {
    grpc::Status s = c.call();
    EXPECT_EQ(s.error_code(), c.code) << c.name << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(c.message), std::string::npos)
        << c.name << ": " << s.error_message();
  }
  // The valid events in rejected batches (ok1, ok2) were not written.
  v1::GetProfileRequest pr;
  pr.set_customer_id("c1");
  v1::GetProfileResponse profile;
  ASSERT_TRUE(Call(&v1::CustomerService::Stub::GetProfile, customers_.get(), pr, &profile).ok());
  EXPECT_EQ(profile.features().events(), 1);
  EXPECT_EQ(profile.features().recently_viewed_size(), 0);
}

}  // namespace
}  // namespace nextbest
