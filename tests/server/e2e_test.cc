// End to end: the real nextbest-server binary on a loopback port, talked to
// through a real gRPC channel (and the real nextbest CLI).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "nextbest/v1/catalog.grpc.pb.h"
#include "nextbest/v1/customers.grpc.pb.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "tests/server/server_process.h"

namespace nextbest {
namespace {

using testing::HttpGet;
using testing::RunCli;
using testing::ServerProcess;
using testing::TempDir;

constexpr int64_t kDaySec = 86400;

int64_t NowSec() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }

  void StartServer() {
    server_ = std::make_unique<ServerProcess>();
    ASSERT_TRUE(server_->Start(dir_.path())) << server_->log();
    channel_ = server_->Channel();
    events_ = v1::EventService::NewStub(channel_);
    customers_ = v1::CustomerService::NewStub(channel_);
    catalog_ = v1::CatalogService::NewStub(channel_);
    decisions_ = v1::DecisionService::NewStub(channel_);
  }
  void RestartServer() {
    ASSERT_EQ(server_->Stop(SIGTERM), 0) << server_->log();
    StartServer();
  }

  template <typename Stub, typename Req, typename Resp>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), Stub* stub,
                    const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    testing::AddAdminToken(ctx);
    return (stub->*method)(&ctx, req, resp);
  }

  // Stores s1 (NL), s2 (BE); products p1..p6 (p6 inactive); all in stock
  // online in NL except p4; p1 out of stock in s2.
  void LoadCatalog() {
    v1::UpsertStoresRequest sr;
    auto* s1 = sr.add_stores();
    s1->set_store_id("s1");
    s1->set_country("NL");
    s1->set_name("HEMA Utrecht");
    auto* s2 = sr.add_stores();
    s2->set_store_id("s2");
    s2->set_country("BE");
    v1::UpsertStoresResponse sresp;
    ASSERT_TRUE(Call(&v1::CatalogService::Stub::UpsertStores, catalog_.get(), sr, &sresp).ok());

    v1::UpsertProductsRequest pr;
    for (int i = 1; i <= 6; ++i) {
      auto* p = pr.add_products();
      p->set_product_id(absl::StrCat("p", i));
      p->set_name(absl::StrCat("Product ", i));
      p->add_category_path("Baby");
      p->add_category_path(i <= 3 ? "Luiers" : "Rompers");
      p->mutable_price()->set_amount_minor(100 * i + 99);
      p->mutable_price()->set_currency("EUR");
      if (i == 6) p->set_active(false);
    }
    v1::UpsertProductsResponse presp;
    ASSERT_TRUE(Call(&v1::CatalogService::Stub::UpsertProducts, catalog_.get(), pr, &presp).ok());
    EXPECT_EQ(presp.upserted(), 6);

    v1::SetStockRequest st;
    for (int i = 1; i <= 6; ++i) {
      auto* l = st.add_levels();
      l->set_product_id(absl::StrCat("p", i));
      l->set_online_country("NL");
      l->set_quantity(i == 4 ? 0 : 10);
      auto* be = st.add_levels();
      be->set_product_id(absl::StrCat("p", i));
      be->set_store_id("s2");
      be->set_quantity(i == 1 ? 0 : 5);
    }
    v1::SetStockResponse stresp;
    grpc::Status s = Call(&v1::CatalogService::Stub::SetStock, catalog_.get(), st, &stresp);
    ASSERT_TRUE(s.ok()) << s.error_message();

    v1::UpsertCustomersRequest cr;
    auto* c = cr.add_customers();
    c->set_customer_id("c1");
    c->set_country("NL");
    c->set_home_store_id("s1");
    c->mutable_consent()->set_personalization(true);
    v1::UpsertCustomersResponse cresp;
    ASSERT_TRUE(Call(&v1::CustomerService::Stub::UpsertCustomers, customers_.get(), cr, &cresp).ok());
  }

  v1::Event View(const std::string& id, const std::string& customer, const std::string& product,
                 int64_t t) {
    v1::Event e;
    e.set_event_id(id);
    e.set_customer_id(customer);
    e.set_type(v1::EVENT_TYPE_VIEW);
    e.mutable_time()->set_seconds(t);
    e.set_channel(v1::CHANNEL_WEB);
    e.set_product_id(product);
    return e;
  }
  v1::Event Purchase(const std::string& id, const std::string& customer, const std::string& product,
                     int64_t t) {
    v1::Event e;
    e.set_event_id(id);
    e.set_customer_id(customer);
    e.set_type(v1::EVENT_TYPE_PURCHASE);
    e.mutable_time()->set_seconds(t);
    e.set_channel(v1::CHANNEL_STORE);
    e.set_store_id("s1");
    auto* line = e.mutable_order()->add_lines();
    line->set_product_id(product);
    line->set_quantity(1);
    line->mutable_unit_price()->set_amount_minor(299);
    line->mutable_unit_price()->set_currency("EUR");
    return e;
  }

  grpc::Status Record(std::vector<v1::Event> events, v1::RecordEventsResponse* resp = nullptr) {
    v1::RecordEventsRequest req;
    for (auto& e : events) *req.add_events() = e;
    v1::RecordEventsResponse local;
    return Call(&v1::EventService::Stub::RecordEvents, events_.get(), req, resp ? resp : &local);
  }

  grpc::Status Recommend(const std::string& customer, const std::string& placement,
                         v1::RecommendResponse* resp, std::vector<std::string> cart = {},
                         int64_t at = 0, const std::string& store = "") {
    v1::RecommendRequest req;
    req.set_customer_id(customer);
    req.mutable_context()->set_placement(placement);
    for (auto& c : cart) req.mutable_context()->add_cart_product_ids(c);
    if (at != 0) req.mutable_context()->mutable_time()->set_seconds(at);
    req.mutable_context()->set_store_id(store);
    return Call(&v1::DecisionService::Stub::Recommend, decisions_.get(), req, resp);
  }

  // The customer's profile (NOT_FOUND and the like as the status).
  grpc::Status Profile(const std::string& customer, v1::GetProfileResponse* profile) {
    v1::GetProfileRequest pr;
    pr.set_customer_id(customer);
    return Call(&v1::CustomerService::Stub::GetProfile, customers_.get(), pr, profile);
  }

  // A client on its own channel writing batches of 20 events (`make(id)`
  // for ids "<prefix><batch>-<i>") as fast as the server takes them, until
  // `stop` or the first failed call (the server going away); `acked`
  // counts the events acknowledged.
  std::thread StartWriter(const std::string& prefix, std::function<v1::Event(const std::string&)> make,
                          std::atomic<bool>& stop, std::atomic<int64_t>& acked) {
    return std::thread([this, prefix, make, &stop, &acked] {
      auto stub = v1::EventService::NewStub(server_->Channel());
      for (int batch = 0; !stop; ++batch) {
        v1::RecordEventsRequest req;
        for (int i = 0; i < 20; ++i) *req.add_events() = make(absl::StrCat(prefix, batch, "-", i));
        v1::RecordEventsResponse resp;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        if (!stub->RecordEvents(&ctx, req, &resp).ok()) return;
        acked += resp.accepted();
      }
    });
  }

  void WaitForTrending(int64_t at) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    v1::RecommendResponse r;
    while (std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE(Recommend("", "homepage.populair", &r, {}, at).ok());
      if (r.items_size() > 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL() << "trending list never published";
  }

  static std::vector<std::string> Ids(const v1::RecommendResponse& r) {
    std::vector<std::string> out;
    for (const auto& i : r.items()) out.push_back(i.product_id());
    return out;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EventService::Stub> events_;
  std::unique_ptr<v1::CustomerService::Stub> customers_;
  std::unique_ptr<v1::CatalogService::Stub> catalog_;
  std::unique_ptr<v1::DecisionService::Stub> decisions_;
};

TEST_F(E2eTest, IngestThenEveryPlacementThenRestartGivesTheSameAnswers) {
  LoadCatalog();
  const int64_t now = NowSec();
  // c1 viewed p1..p5 (p5 most recently); buys p2 every ~10 days, last 12
  // days ago (due); p3 every 10 days, last 2 days ago (not due).
  std::vector<v1::Event> events;
  for (int i = 1; i <= 5; ++i) events.push_back(View(absl::StrCat("v", i), "c1", absl::StrCat("p", i), now - 3600 * (10 - i)));
  events.push_back(View("v6", "c1", "p6", now - 60));  // inactive: never shown
  for (int k = 0; k < 3; ++k) events.push_back(Purchase(absl::StrCat("b", k), "c1", "p2", now - (32 - 10 * k) * kDaySec));
  events.push_back(Purchase("b10", "c1", "p3", now - 12 * kDaySec));
  events.push_back(Purchase("b11", "c1", "p3", now - 2 * kDaySec));
  // Other shoppers make p5 the most popular (a view weighs 1, a purchase 5).
  // Their market comes with the event (they have no profile).
  for (int i = 0; i < 30; ++i) {
    events.push_back(View(absl::StrCat("x", i), absl::StrCat("shopper", i), "p5", now - 100));
    events.back().set_country("NL");
  }
  for (int i = 0; i < 3; ++i) events.push_back(View(absl::StrCat("y", i), absl::StrCat("shopper", i), "p1", now - 100));
  v1::RecordEventsResponse rr;
  grpc::Status s = Record(events, &rr);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rr.accepted(), static_cast<int>(events.size()));

  const int64_t at = now + 1;
  v1::RecommendResponse viewed, popular, forgotten, anonymous;
  ASSERT_TRUE(Recommend("c1", "homepage.door_jou_bekeken", &viewed, {"p3"}, at).ok());
  // Most recent first; p6 inactive, p4 out of stock online in NL, p3 in the cart.
  ASSERT_GE(viewed.items_size(), 3);
  EXPECT_EQ(viewed.items(0).product_id(), "p5");
  EXPECT_EQ(viewed.items(1).product_id(), "p2");
  EXPECT_EQ(viewed.items(2).product_id(), "p1");
  EXPECT_EQ(viewed.items(0).source(), v1::SOURCE_RECENTLY_VIEWED);
  EXPECT_EQ(viewed.items(0).name(), "Product 5");
  EXPECT_EQ(viewed.items(0).price().amount_minor(), 599);
  EXPECT_NE(viewed.items(0).reason().find("you viewed this"), std::string::npos);
  EXPECT_TRUE(viewed.personalized());
  for (const auto& id : Ids(viewed)) {
    EXPECT_NE(id, "p3");
    EXPECT_NE(id, "p4");
    EXPECT_NE(id, "p6");
  }

  // Trending lists are republished within trending_publish_interval_ms.
  WaitForTrending(at);
  ASSERT_TRUE(Recommend("c1", "homepage.populair", &popular, {}, at).ok());
  ASSERT_GE(popular.items_size(), 2);
  EXPECT_EQ(popular.items(0).product_id(), "p5");
  EXPECT_EQ(popular.items(0).source(), v1::SOURCE_TRENDING);
  EXPECT_EQ(popular.country(), "NL");

  ASSERT_TRUE(Recommend("c1", "checkout.vergeten", &forgotten, {}, at).ok());
  ASSERT_GE(forgotten.items_size(), 1);
  EXPECT_EQ(forgotten.items(0).product_id(), "p2");
  EXPECT_EQ(forgotten.items(0).source(), v1::SOURCE_REPLENISHMENT);
  EXPECT_NE(forgotten.items(0).reason().find("bought 3 times, about every 10 days"), std::string::npos)
      << forgotten.items(0).reason();
  for (int i = 1; i < forgotten.items_size(); ++i) {
    EXPECT_NE(forgotten.items(i).source(), v1::SOURCE_REPLENISHMENT) << "p3 is not due yet";
  }
  // The cart removes it.
  v1::RecommendResponse forgotten_cart;
  ASSERT_TRUE(Recommend("c1", "checkout.vergeten", &forgotten_cart, {"p2"}, at).ok());
  for (const auto& id : Ids(forgotten_cart)) EXPECT_NE(id, "p2");

  // Unknown customer: cold start, never an error.
  ASSERT_TRUE(Recommend("stranger", "homepage.door_jou_bekeken", &anonymous, {}, at).ok());
  EXPECT_FALSE(anonymous.personalized());
  EXPECT_NE(anonymous.fallback_reason().find("unknown customer"), std::string::npos);
  ASSERT_GE(anonymous.items_size(), 1);
  EXPECT_EQ(anonymous.items(0).product_id(), "p5");

  // In store s2 (BE), p1 is out of stock.
  v1::RecommendResponse in_store;
  ASSERT_TRUE(Recommend("c1", "homepage.door_jou_bekeken", &in_store, {}, at, "s2").ok());
  for (const auto& id : Ids(in_store)) EXPECT_NE(id, "p1");

  RestartServer();
  v1::RecommendResponse viewed2, popular2, forgotten2, anonymous2;
  ASSERT_TRUE(Recommend("c1", "homepage.door_jou_bekeken", &viewed2, {"p3"}, at).ok());
  ASSERT_TRUE(Recommend("c1", "homepage.populair", &popular2, {}, at).ok());
  ASSERT_TRUE(Recommend("c1", "checkout.vergeten", &forgotten2, {}, at).ok());
  ASSERT_TRUE(Recommend("stranger", "homepage.door_jou_bekeken", &anonymous2, {}, at).ok());
  using google::protobuf::util::MessageDifferencer;
  // Trending scores are float snapshots taken at publication time: equal
  // to ~1e-7 relative across a restart.
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_float_comparison(google::protobuf::util::DefaultFieldComparator::APPROXIMATE);
  comparator.SetDefaultFractionAndMargin(1e-6, 1e-12);
  MessageDifferencer diff;
  diff.set_field_comparator(&comparator);
  EXPECT_TRUE(diff.Compare(viewed, viewed2)) << viewed.DebugString() << viewed2.DebugString();
  EXPECT_TRUE(diff.Compare(popular, popular2)) << popular.DebugString() << popular2.DebugString();
  EXPECT_TRUE(diff.Compare(forgotten, forgotten2));
  EXPECT_TRUE(diff.Compare(anonymous, anonymous2));

  v1::GetProfileRequest pr;
  pr.set_customer_id("c1");
  v1::GetProfileResponse profile;
  ASSERT_TRUE(Call(&v1::CustomerService::Stub::GetProfile, customers_.get(), pr, &profile).ok());
  EXPECT_EQ(profile.features().orders(), 5);
  EXPECT_EQ(profile.features().total_spend().amount_minor(), 5 * 299);
  EXPECT_EQ(profile.customer().home_store_id(), "s1");
  EXPECT_EQ(profile.features().recently_viewed(0).product_id(), "p6");
  EXPECT_NEAR(profile.features().days_since_last_purchase(), 2, 0.01);
}

TEST_F(E2eTest, AcknowledgedEventIsSeenByTheNextRecommend) {
  LoadCatalog();
  const int64_t now = NowSec();
  for (int round = 0; round < 30; ++round) {
    const std::string product = absl::StrCat("p", 1 + round % 3);
    ASSERT_TRUE(Record({View(absl::StrCat("ryw", round), "c1", product, now - 1000 + round)}).ok());
    v1::RecommendResponse r;
    ASSERT_TRUE(Recommend("c1", "homepage.door_jou_bekeken", &r).ok());
    ASSERT_GE(r.items_size(), 1);
    EXPECT_EQ(r.items(0).product_id(), product) << "round " << round;
  }
}

// Size fit, brand affinity and per-store trending through the real API:
// rompers p7 (50/56) and p8 (74/80), both "Kleine Beer", in stock online
// and in s1. Shoppers make p7 the most popular; c1 bought p8 in 74/80 in
// store s1, so p7 never fits c1, and s1's own list starts with p8.
TEST_F(E2eTest, SizeFitBrandAffinityAndStoreTrendingThroughTheApi) {
  LoadCatalog();
  v1::UpsertProductsRequest pr;
  for (int i = 7; i <= 8; ++i) {
    auto* p = pr.add_products();
    p->set_product_id(absl::StrCat("p", i));
    p->set_name(absl::StrCat("Romper ", i));
    p->set_brand("Kleine Beer");
    p->add_category_path("Baby");
    p->add_category_path("Rompers");
    p->add_sizes(i == 7 ? "50/56" : "74/80");
    p->mutable_price()->set_amount_minor(799);
    p->mutable_price()->set_currency("EUR");
  }
  v1::UpsertProductsResponse presp;
  ASSERT_TRUE(Call(&v1::CatalogService::Stub::UpsertProducts, catalog_.get(), pr, &presp).ok());
  v1::SetStockRequest st;
  for (const char* id : {"p7", "p8"}) {
    for (const char* where : {"online", "s1"}) {
      auto* l = st.add_levels();
      l->set_product_id(id);
      if (std::string(where) == "online") l->set_online_country("NL"); else l->set_store_id(where);
      l->set_quantity(5);
    }
  }
  v1::SetStockResponse stresp;
  ASSERT_TRUE(Call(&v1::CatalogService::Stub::SetStock, catalog_.get(), st, &stresp).ok());
  // c3 declared 50/56 for everything under "Baby".
  v1::UpsertCustomersRequest cr;
  auto* c3 = cr.add_customers();
  c3->set_customer_id("c3");
  c3->set_country("NL");
  c3->mutable_consent()->set_personalization(true);
  auto* sp = c3->add_sizes();
  sp->set_category("Baby");
  sp->add_sizes("50/56");
  v1::UpsertCustomersResponse cresp;
  ASSERT_TRUE(Call(&v1::CustomerService::Stub::UpsertCustomers, customers_.get(), cr, &cresp).ok());

  const int64_t now = NowSec();
  std::vector<v1::Event> events;
  v1::Event bought = Purchase("b1", "c1", "p8", now - kDaySec);  // in store s1
  bought.mutable_order()->mutable_lines(0)->set_size("74/80");
  events.push_back(bought);
  for (int i = 0; i < 20; ++i) {
    events.push_back(View(absl::StrCat("x", i), absl::StrCat("shopper", i), "p7", now - 100));
    events.back().set_country("NL");
  }
  ASSERT_TRUE(Record(events).ok());
  WaitForTrending(now);

  // The profile shows what was learned and declared.
  v1::GetProfileResponse profile;
  ASSERT_TRUE(Profile("c1", &profile).ok());
  ASSERT_EQ(profile.features().known_sizes_size(), 1);
  EXPECT_EQ(profile.features().known_sizes(0).category(), "Baby/Rompers");
  EXPECT_EQ(profile.features().known_sizes(0).size(), "74/80");
  EXPECT_EQ(profile.features().known_sizes(0).units(), 1);
  ASSERT_GE(profile.features().top_brands_size(), 1);
  EXPECT_EQ(profile.features().top_brands(0).brand(), "Kleine Beer");
  ASSERT_TRUE(Profile("c3", &profile).ok());
  ASSERT_EQ(profile.customer().sizes_size(), 1);
  EXPECT_EQ(profile.customer().sizes(0).category(), "Baby");

  // Popular right now: p7 leads for anyone, but never for c1 (explained).
  auto explained = [&](const std::string& customer, v1::RecommendResponse* r) {
    v1::RecommendRequest req;
    req.set_customer_id(customer);
    req.mutable_context()->set_placement("homepage.populair");
    req.set_explain(true);
    return Call(&v1::DecisionService::Stub::Recommend, decisions_.get(), req, r);
  };
  v1::RecommendResponse anyone, c1, c3r;
  ASSERT_TRUE(Recommend("", "homepage.populair", &anyone).ok());
  ASSERT_GE(anyone.items_size(), 1);
  EXPECT_EQ(anyone.items(0).product_id(), "p7");
  ASSERT_TRUE(explained("c1", &c1).ok());
  for (const auto& item : c1.items()) EXPECT_NE(item.product_id(), "p7");
  bool dropped = false;
  for (const auto& d : c1.explanation().dropped()) {
    dropped |= d.product_id() == "p7" && d.rule() == "size_not_fitting";
  }
  EXPECT_TRUE(dropped);
  // c3's declaration: p7 fits, p8 does not.
  ASSERT_TRUE(explained("c3", &c3r).ok());
  ASSERT_GE(c3r.items_size(), 1);
  EXPECT_EQ(c3r.items(0).product_id(), "p7");
  for (const auto& item : c3r.items()) EXPECT_NE(item.product_id(), "p8");

  // "Populair in jouw winkel": s1's own list (c1's purchase), for the
  // request's store and for c1's home store (s1).
  v1::RecommendResponse in_store, home;
  ASSERT_TRUE(Recommend("", "app.populair_in_jouw_winkel", &in_store, {}, 0, "s1").ok());
  ASSERT_GE(in_store.items_size(), 1);
  EXPECT_EQ(in_store.items(0).product_id(), "p8");
  EXPECT_EQ(in_store.items(0).reason(), "popular in HEMA Utrecht right now");
  ASSERT_TRUE(Recommend("c1", "app.populair_in_jouw_winkel", &home).ok());
  ASSERT_GE(home.items_size(), 1);
  EXPECT_EQ(home.items(0).product_id(), "p8");
  EXPECT_EQ(home.items(0).reason(), "popular in HEMA Utrecht right now");

  // Everything above survives a restart.
  RestartServer();
  v1::RecommendResponse again;
  ASSERT_TRUE(Recommend("", "app.populair_in_jouw_winkel", &again, {}, 0, "s1").ok());
  ASSERT_GE(again.items_size(), 1);
  EXPECT_EQ(again.items(0).product_id(), "p8");
  ASSERT_TRUE(explained("c1", &c1).ok());
  for (const auto& item : c1.items()) EXPECT_NE(item.product_id(), "p7");
}

TEST_F(E2eTest, ConsentDecidesPersonalizationFromTheNextRequestOn) {
  LoadCatalog();
  const int64_t now = NowSec();
  auto upsert = [&](bool consent) {
    v1::UpsertCustomersRequest cr;
    auto* c = cr.add_customers();
    c->set_customer_id("c2");
    c->set_country("NL");
    c->mutable_consent()->set_personalization(consent);
    v1::UpsertCustomersResponse resp;
    ASSERT_TRUE(Call(&v1::CustomerService::Stub::UpsertCustomers, customers_.get(), cr, &resp).ok());
  };
  // Known only from events: no consent given.
  auto view = View("cv1", "c2", "p3", now - 60);
  view.set_country("NL");
  ASSERT_TRUE(Record({view}).ok());
  WaitForTrending(now);
  v1::RecommendResponse r;
  ASSERT_TRUE(Recommend("c2", "homepage.door_jou_bekeken", &r).ok());
  EXPECT_FALSE(r.personalized());
  EXPECT_NE(r.fallback_reason().find("no personalization consent"), std::string::npos) << r.fallback_reason();
  for (const auto& item : r.items()) EXPECT_EQ(item.source(), v1::SOURCE_TRENDING);
  upsert(true);
  ASSERT_TRUE(Recommend("c2", "homepage.door_jou_bekeken", &r).ok());
  EXPECT_TRUE(r.personalized());
  ASSERT_GE(r.items_size(), 1);
  EXPECT_EQ(r.items(0).product_id(), "p3");
  EXPECT_EQ(r.items(0).source(), v1::SOURCE_RECENTLY_VIEWED);
  upsert(false);  // withdrawn: effective at once
  ASSERT_TRUE(Recommend("c2", "homepage.door_jou_bekeken", &r).ok());
  EXPECT_FALSE(r.personalized());
  for (const auto& item : r.items()) EXPECT_EQ(item.source(), v1::SOURCE_TRENDING);
}

TEST_F(E2eTest, StreamEventsWritesChunksAndStopsAtABadOne) {
  LoadCatalog();
  const int64_t now = NowSec();
  {
    grpc::ClientContext ctx;
    v1::StreamEventsResponse resp;
    auto writer = events_->StreamEvents(&ctx, &resp);
    for (int chunk = 0; chunk < 5; ++chunk) {
      v1::StreamEventsRequest req;
      for (int i = 0; i < 100; ++i) *req.add_events() = View(absl::StrCat("s", chunk, "-", i), absl::StrCat("sc", i), "p2", now - 50);
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
    EXPECT_NE(s.error_message().find("chunk 1: events[0].channel: required"), std::string::npos) << s.error_message();
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
    for (int i = 0; i < 20; ++i) *req.add_events() = View(absl::StrCat("d", i), customer, "p2", now - 30);
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
      for (int i = 0; i < 10; ++i) *req.add_events() = View(absl::StrCat("x", chunk, "-", i), "cancelled", "p3", now - 20);
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
      for (int i = 0; i < 10; ++i) *req.add_events() = View(absl::StrCat("x", chunk, "-", i), "cancelled", "p3", now - 20);
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
  ASSERT_TRUE(Call(&v1::CatalogService::Stub::UpsertProducts, catalog_.get(), products, &presp).ok());
  const int64_t now = NowSec();
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<v1::Event> events;
    for (int i = 0; i < 1000; ++i) {
      const int n = batch * 1000 + i;
      const std::string product = absl::StrCat("f", n % 2000);
      events.push_back(n % 4 == 0 ? Purchase(absl::StrCat("fl", n), "flooder", product, now - 20000 + n)
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
  EXPECT_LE(profile.features().recently_viewed_size(), 20);
  EXPECT_LE(profile.features().purchase_history_size(), 64);
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
  cases.push_back({"empty batch", [&] { return Record({}); }, grpc::INVALID_ARGUMENT, "events: at least one"});
  cases.push_back({"negative price", [&] {
                     auto e = Purchase("e2", "c1", "p1", now);
                     e.mutable_order()->mutable_lines(0)->mutable_unit_price()->set_amount_minor(-5);
                     return Record({View("ok1", "c1", "p2", now), e});
                   }, grpc::INVALID_ARGUMENT, "events[1].order.lines[0].unit_price.amount_minor"});
  cases.push_back({"reused id, other payload", [&] {
                     auto e = Purchase("e1", "c1", "p2", now - 100);
                     return Record({View("ok2", "c1", "p2", now), e});
                   }, grpc::ALREADY_EXISTS, "events[1].event_id"});
  cases.push_back({"far future", [&] { return Record({View("f", "c1", "p1", now + 3 * kDaySec)}); },
                   grpc::INVALID_ARGUMENT, "events[0].time"});
  cases.push_back({"profile: unknown", [&] {
                     v1::GetProfileRequest r;
                     r.set_customer_id("nobody");
                     v1::GetProfileResponse resp;
                     return Call(&v1::CustomerService::Stub::GetProfile, customers_.get(), r, &resp);
                   }, grpc::NOT_FOUND, "customer_id"});
  cases.push_back({"profile: empty id", [&] {
                     v1::GetProfileRequest r;
                     v1::GetProfileResponse resp;
                     return Call(&v1::CustomerService::Stub::GetProfile, customers_.get(), r, &resp);
                   }, grpc::INVALID_ARGUMENT, "customer_id: required"});
  cases.push_back({"customers: unknown home store", [&] {
                     v1::UpsertCustomersRequest r;
                     auto* c = r.add_customers();
                     c->set_customer_id("c9");
                     c->set_home_store_id("s404");
                     v1::UpsertCustomersResponse resp;
                     return Call(&v1::CustomerService::Stub::UpsertCustomers, customers_.get(), r, &resp);
                   }, grpc::NOT_FOUND, "customers[0].home_store_id"});
  cases.push_back({"products: no price", [&] {
                     v1::UpsertProductsRequest r;
                     auto* p = r.add_products();
                     p->set_product_id("p9");
                     p->set_name("x");
                     p->add_category_path("x");
                     v1::UpsertProductsResponse resp;
                     return Call(&v1::CatalogService::Stub::UpsertProducts, catalog_.get(), r, &resp);
                   }, grpc::INVALID_ARGUMENT, "products[0].price: required"});
  cases.push_back({"stores: unknown market", [&] {
                     v1::UpsertStoresRequest r;
                     auto* s = r.add_stores();
                     s->set_store_id("s9");
                     s->set_country("US");
                     v1::UpsertStoresResponse resp;
                     return Call(&v1::CatalogService::Stub::UpsertStores, catalog_.get(), r, &resp);
                   }, grpc::INVALID_ARGUMENT, "stores[0].country"});
  cases.push_back({"stock: unknown product", [&] {
                     v1::SetStockRequest r;
                     auto* l = r.add_levels();
                     l->set_product_id("p404");
                     l->set_online_country("NL");
                     v1::SetStockResponse resp;
                     return Call(&v1::CatalogService::Stub::SetStock, catalog_.get(), r, &resp);
                   }, grpc::NOT_FOUND, "levels[0].product_id"});
  cases.push_back({"recommend: unknown placement", [&] {
                     v1::RecommendResponse resp;
                     return Recommend("c1", "homepage.nope", &resp);
                   }, grpc::NOT_FOUND, "known: homepage.speciaal_voor_jou, app.speciaal_voor_jou, homepage.door_jou_bekeken"});
  cases.push_back({"recommend: no context", [&] {
                     v1::RecommendRequest r;
                     r.set_customer_id("c1");
                     v1::RecommendResponse resp;
                     return Call(&v1::DecisionService::Stub::Recommend, decisions_.get(), r, &resp);
                   }, grpc::INVALID_ARGUMENT, "context: required"});
  cases.push_back({"recommend: count over max", [&] {
                     v1::RecommendRequest r;
                     r.mutable_context()->set_placement("homepage.populair");
                     r.mutable_context()->set_count(51);
                     v1::RecommendResponse resp;
                     return Call(&v1::DecisionService::Stub::Recommend, decisions_.get(), r, &resp);
                   }, grpc::INVALID_ARGUMENT, "context.count: at most 50"});
  cases.push_back({"recommend: unknown store", [&] {
                     v1::RecommendResponse resp;
                     return Recommend("c1", "homepage.populair", &resp, {}, 0, "s404");
                   }, grpc::INVALID_ARGUMENT, "context.store_id"});
  // Enforced by gRPC itself before the handler runs (documented in the README).
  cases.push_back({"invalid UTF-8 in a string field", [&] {
                     v1::RecommendResponse resp;
                     return Recommend(std::string("c\xff\xfe", 3), "homepage.populair", &resp);
                   }, grpc::UNIMPLEMENTED, ""});  // gRPC 1.51 callback API: fails the parse this way
  cases.push_back({"request over 4 MiB", [&] {
                     v1::RecordEventsRequest r;
                     for (int i = 0; i < 600; ++i) {
                       *r.add_events() = View(absl::StrCat("big", i), "c1", std::string(100, 'p'), now);
                       r.mutable_events(i)->set_placement(std::string(8000, 'x'));
                     }
                     v1::RecordEventsResponse resp;
                     return Call(&v1::EventService::Stub::RecordEvents, events_.get(), r, &resp);
                   }, grpc::RESOURCE_EXHAUSTED, ""});
  for (const Case& c : cases) {
    grpc::Status s = c.call();
    EXPECT_EQ(s.error_code(), c.code) << c.name << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(c.message), std::string::npos) << c.name << ": " << s.error_message();
  }
  // The valid events in rejected batches (ok1, ok2) were not written.
  v1::GetProfileRequest pr;
  pr.set_customer_id("c1");
  v1::GetProfileResponse profile;
  ASSERT_TRUE(Call(&v1::CustomerService::Stub::GetProfile, customers_.get(), pr, &profile).ok());
  EXPECT_EQ(profile.features().events(), 1);
  EXPECT_EQ(profile.features().recently_viewed_size(), 0);
}

TEST_F(E2eTest, HealthReflectionAndMetrics) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckRequest hreq;
  grpc::health::v1::HealthCheckResponse hresp;
  ASSERT_TRUE(Call(&grpc::health::v1::Health::Stub::Check, health.get(), hreq, &hresp).ok());
  EXPECT_EQ(hresp.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(channel_);
  grpc::ClientContext ctx;
  auto stream = reflection->ServerReflectionInfo(&ctx);
  grpc::reflection::v1alpha::ServerReflectionRequest rreq;
  rreq.set_list_services("");
  ASSERT_TRUE(stream->Write(rreq));
  grpc::reflection::v1alpha::ServerReflectionResponse rresp;
  ASSERT_TRUE(stream->Read(&rresp));
  std::set<std::string> services;
  for (const auto& s : rresp.list_services_response().service()) services.insert(s.name());
  for (const char* want : {"nextbest.v1.EventService", "nextbest.v1.CustomerService",
                           "nextbest.v1.CatalogService", "nextbest.v1.DecisionService",
                           "grpc.health.v1.Health"}) {
    EXPECT_EQ(services.count(want), 1u) << want;
  }
  stream->WritesDone();
  stream->Finish();

  v1::RecommendResponse r;
  ASSERT_TRUE(Recommend("c1", "homepage.populair", &r).ok());
  v1::RecommendResponse bad;
  Recommend("c1", "nope", &bad);
  std::string metrics;
  for (int i = 0; i < 50 && metrics.find("nextbest_customers_in_memory") == std::string::npos; ++i) {
    metrics = HttpGet(server_->metrics_port(), "/metrics");
  }
  EXPECT_NE(metrics.find("nextbest_requests_total{code=\"OK\",rpc=\"Recommend\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("nextbest_requests_total{code=\"NOT_FOUND\",rpc=\"Recommend\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("nextbest_decision_duration_seconds_bucket{placement=\"homepage.populair\",le=\"1e-05\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("nextbest_request_duration_seconds_count{rpc=\"Recommend\"}"), std::string::npos);
  EXPECT_NE(metrics.find("nextbest_ingest_queue_depth"), std::string::npos);
  EXPECT_EQ(metrics.find("c1"), std::string::npos) << "no customer ids in metrics";

  // The exposition is valid for Prometheus' own checker.
  if (system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed (scripts/setup --test installs it)";
  }
  const size_t body = metrics.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  const std::string file = dir_.path() + "/metrics.txt";
  std::ofstream(file) << metrics.substr(body + 4);
  EXPECT_EQ(system(("promtool check metrics < " + file).c_str()), 0);
}

TEST_F(E2eTest, CliSpeaksTheContractAndExitsWithTheGrpcCode) {
  LoadCatalog();
  std::string out;
  const std::string t = server_->target();
  ASSERT_EQ(RunCli(t, "health", &out), 0) << out;
  EXPECT_NE(out.find("SERVING"), std::string::npos);

  // A retry carries the same content (time included): a duplicate.
  const std::string view = "track --customer=c1 --type=view --product=p2 --event_id=cli1 --time=" +
                           absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
  ASSERT_EQ(RunCli(t, view, &out), 0) << out;
  ASSERT_EQ(RunCli(t, view, &out), 0) << out;
  EXPECT_NE(out.find("duplicate"), std::string::npos) << out;
  // The same id with other content is refused.
  EXPECT_EQ(RunCli(t, "track --customer=c1 --type=view --product=p3 --event_id=cli1", &out), 6) << out;
  ASSERT_EQ(RunCli(t, "track --customer=c1 --type=purchase --product=p1 --quantity=2 --price_cents=199 --size=M", &out), 0) << out;
  EXPECT_EQ(RunCli(t, "track --customer=c1 --type=purchase --product=p1 --price_cents=-5", &out), 3) << out;

  const std::string jsonl = dir_.path() + "/events.jsonl";
  std::ofstream(jsonl) << R"({"event_id":"j1","customer_id":"c1","type":"EVENT_TYPE_VIEW","time":"2026-01-02T10:00:00Z","channel":"CHANNEL_APP","product_id":"p3"})"
                       << "\n\n"
                       << R"({"eventId":"j2","customerId":"c1","type":"EVENT_TYPE_VIEW","time":"2026-01-02T11:00:00Z","channel":"CHANNEL_WEB","productId":"p5"})"
                       << "\n";
  ASSERT_EQ(RunCli(t, "track --file=" + jsonl, &out), 0) << out;
  EXPECT_NE(out.find("2 events recorded"), std::string::npos) << out;

  ASSERT_EQ(RunCli(t, "recommend --customer=c1 --placement=homepage.door_jou_bekeken --count=2 --json", &out), 0) << out;
  v1::RecommendResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &parsed).ok()) << out;
  ASSERT_EQ(parsed.items_size(), 2);
  EXPECT_EQ(parsed.items(0).product_id(), "p2");  // the CLI's view is the latest

  ASSERT_EQ(RunCli(t, "recommend --customer=c1 --placement=homepage.door_jou_bekeken --cart=p2", &out), 0);
  EXPECT_NE(out.find("Product 5"), std::string::npos) << out;
  EXPECT_EQ(out.find("Product 2 "), std::string::npos) << out;
  EXPECT_NE(out.find("€"), std::string::npos);

  EXPECT_EQ(RunCli(t, "recommend --customer=c1 --placement=nope", &out), 5) << out;
  EXPECT_EQ(RunCli(t, "recommend --customer=c1 --placement=homepage.populair --count=500", &out), 3) << out;
  EXPECT_EQ(RunCli(t, "profile --customer=nobody", &out), 5) << out;
  ASSERT_EQ(RunCli(t, "profile --customer=c1", &out), 0) << out;
  EXPECT_NE(out.find("1 orders"), std::string::npos) << out;
  EXPECT_NE(out.find("sizes bought: Baby/Luiers M (2)"), std::string::npos) << out;
  ASSERT_EQ(RunCli(t, "profile --customer=c1 --json", &out), 0) << out;
  v1::GetProfileResponse profile;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &profile).ok()) << out;
  EXPECT_EQ(profile.features().events(), 4);
  EXPECT_EQ(RunCli("127.0.0.1:1", "health --timeout_ms=500", &out), 14) << out;
}

TEST_F(E2eTest, DemoDataLoadsThroughTheRealApi) {
  std::string out;
  ASSERT_EQ(RunCli(server_->target(), "demo-data --customers=50 --products=60 --stores=20 --days=60", &out), 0) << out;
  EXPECT_NE(out.find("50 customers"), std::string::npos) << out;
  ASSERT_EQ(RunCli(server_->target(), "recommend --customer=c1 --placement=homepage.door_jou_bekeken --json", &out), 0);
  v1::RecommendResponse r;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &r).ok()) << out;
  EXPECT_GT(r.items_size(), 0);
  EXPECT_TRUE(r.personalized());
  // Deterministic: loading again records nothing new.
  ASSERT_EQ(RunCli(server_->target(), "demo-data --customers=50 --products=60 --stores=20 --days=60", &out), 0) << out;
  EXPECT_NE(out.find(" 0 events recorded"), std::string::npos) << out;
}

// kill -9 while a client keeps writing: everything acknowledged before the
// kill is there after the restart, exactly once (the client's retries of
// unacknowledged batches are duplicates or new, never double counted).
TEST_F(E2eTest, Kill9LosesNoAcknowledgedEvent) {
  LoadCatalog();
  const int64_t now = NowSec();
  std::atomic<bool> stop{false};
  std::atomic<int64_t> acknowledged{0};
  std::thread writer = StartWriter(
      "k", [&](const std::string& id) { return Purchase(id, "killed", "p2", now - 1000); }, stop,
      acknowledged);
  while (acknowledged < 400) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(server_->Stop(SIGKILL), -SIGKILL);
  stop = true;
  writer.join();
  const int64_t acked = acknowledged;
  StartServer();
  v1::GetProfileResponse profile;
  ASSERT_TRUE(Profile("killed", &profile).ok());
  // Acknowledged ones are all there; at most the one batch in flight more.
  EXPECT_GE(profile.features().orders(), acked);
  EXPECT_LE(profile.features().orders(), acked + 20);
  EXPECT_EQ(profile.features().orders() % 20, 0) << "a batch is all or nothing";
  // Re-sending everything acknowledged changes nothing.
  v1::RecordEventsRequest again;
  for (int i = 0; i < 20; ++i) *again.add_events() = Purchase(absl::StrCat("k0-", i), "killed", "p2", now - 1000);
  v1::RecordEventsResponse resp;
  ASSERT_TRUE(Call(&v1::EventService::Stub::RecordEvents, events_.get(), again, &resp).ok());
  EXPECT_EQ(resp.duplicates(), 20);
}

TEST_F(E2eTest, SigtermDrainsAndExitsCleanly) {
  LoadCatalog();
  ASSERT_TRUE(Record({View("z1", "c1", "p1", NowSec())}).ok());
  EXPECT_EQ(server_->Stop(SIGTERM), 0);
  EXPECT_NE(server_->log().find("stopped cleanly"), std::string::npos) << server_->log();
}

// SIGTERM under load: four clients write batches as fast as they can; the
// server drains and exits 0, every acknowledged event is there after the
// restart, and the clean close left no WAL to replay (the memtables were
// flushed: the next start has no backlog).
TEST_F(E2eTest, SigtermUnderLoadDrainsWithoutReplayBacklog) {
  LoadCatalog();
  const int64_t now = NowSec();
  std::atomic<bool> stop{false};
  std::atomic<int64_t> acked{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.push_back(StartWriter(
        absl::StrCat("t", w, "-"), [&](const std::string& id) { return View(id, "loaded", "p2", now - 10); },
        stop, acked));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(server_->Stop(SIGTERM), 0) << server_->log();
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_NE(server_->log().find("stopped cleanly"), std::string::npos) << server_->log();
  EXPECT_GT(acked.load(), 0);
  int64_t wal_bytes = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir_.path())) {
    if (f.path().extension() == ".log") wal_bytes += static_cast<int64_t>(f.file_size());
  }
  EXPECT_EQ(wal_bytes, 0) << "WAL left to replay";

  StartServer();
  v1::GetProfileResponse profile;
  ASSERT_TRUE(Profile("loaded", &profile).ok());
  // Every acknowledged event; at most each writer's last batch more (applied
  // while its answer was lost with the connection), and only whole batches.
  const int64_t events = profile.features().events();
  EXPECT_GE(events, acked.load());
  EXPECT_LE(events, acked.load() + 4 * 20);
  EXPECT_EQ(events % 20, 0);
}

TEST(E2eStartupTest, BadConfigExitsNonZeroBeforeServing) {
  TempDir dir;
  const std::string config = dir.path() + "/bad.textproto";
  std::ofstream(config) << "placements { id: 'x' sources { kind: TRENDING } max_count: 2000 }" << testing::kConfigEnd;
  ServerProcess server;
  EXPECT_FALSE(server.Start(dir.path() + "/data", {"--config=" + config}));
  EXPECT_EQ(server.Wait(), 1);
  EXPECT_NE(server.log().find("placements[0]"), std::string::npos) << server.log();
}

// TLS and mutual TLS with certificates made by the openssl CLI: a CA, a
// server certificate for 127.0.0.1 and a client certificate.
TEST(E2eStartupTest, TlsAndMutualTls) {
  TempDir dir;
  const std::string d = dir.path();
  const std::string script = absl::StrCat(
      "cd ", d, " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost' > san.ext && ",
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca && ",
      "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost && ",
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext && ",
      "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=webshop && ",
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2",
      " >/dev/null 2>&1");
  ASSERT_EQ(std::system(script.c_str()), 0) << "openssl failed";
  std::string out;
  {
    ServerProcess server;
    ASSERT_TRUE(server.Start(d + "/data", {"--tls_cert_file=" + d + "/server.pem",
                                           "--tls_key_file=" + d + "/server.key"})) << server.log();
    EXPECT_NE(server.log().find("(TLS)"), std::string::npos);
    EXPECT_EQ(RunCli(server.target(), "health --tls_ca_file=" + d + "/ca.pem", &out), 0) << out;
    EXPECT_EQ(RunCli(server.target(), "health --timeout_ms=2000", &out), 14) << out;  // plaintext refused
  }
  {
    ServerProcess server;
    ASSERT_TRUE(server.Start(d + "/data", {"--tls_cert_file=" + d + "/server.pem",
                                           "--tls_key_file=" + d + "/server.key",
                                           "--tls_client_ca_file=" + d + "/ca.pem"})) << server.log();
    EXPECT_NE(server.log().find("(mutual TLS)"), std::string::npos);
    EXPECT_EQ(RunCli(server.target(), "health --timeout_ms=2000 --tls_ca_file=" + d + "/ca.pem", &out), 14) << out;
    EXPECT_EQ(RunCli(server.target(), absl::StrCat("health --tls_ca_file=", d, "/ca.pem --tls_cert_file=", d,
                                                   "/client.pem --tls_key_file=", d, "/client.key"), &out), 0) << out;
  }
  ServerProcess bad;
  EXPECT_FALSE(bad.Start(d + "/data", {"--tls_cert_file=" + d + "/server.pem"}));
  EXPECT_EQ(bad.Wait(), 1);
  EXPECT_NE(bad.log().find("--tls_cert_file and --tls_key_file go together"), std::string::npos) << bad.log();
}

// Streams over --max_concurrent_streams are RESOURCE_EXHAUSTED at once;
// the open ones finish normally, health stays responsive, and a slot freed
// is a slot to use.
TEST(E2eStartupTest, StreamsOverTheLimitAreRefusedAndHealthStaysUp) {
  TempDir dir;
  ServerProcess server;
  ASSERT_TRUE(server.Start(dir.path() + "/data", {"--max_concurrent_streams=3"})) << server.log();
  auto stub = v1::EventService::NewStub(server.Channel());
  auto event = [](int n) {
    v1::StreamEventsRequest chunk;
    auto* e = chunk.add_events();
    e->set_event_id(absl::StrCat("flood-", n));
    e->set_customer_id("flood");
    e->set_type(v1::EVENT_TYPE_VIEW);
    e->set_channel(v1::CHANNEL_WEB);
    e->set_product_id("p1");
    e->mutable_time()->set_seconds(NowSec() - 60);
    return chunk;
  };
  struct Open {
    grpc::ClientContext ctx;
    v1::StreamEventsResponse resp;
    std::unique_ptr<grpc::ClientWriter<v1::StreamEventsRequest>> writer;
  };
  std::vector<std::unique_ptr<Open>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<Open>());
    open.back()->writer = stub->StreamEvents(&open.back()->ctx, &open.back()->resp);
    ASSERT_TRUE(open.back()->writer->Write(event(i)));
    // Admitted by the server (not just buffered by the client) before the next.
    open.back()->writer->WaitForInitialMetadata();
  }
  for (int i = 0; i < 5; ++i) {  // over the limit while the three are open
    Open extra;
    extra.writer = stub->StreamEvents(&extra.ctx, &extra.resp);
    extra.writer->Write(event(100 + i));
    extra.writer->WritesDone();
    EXPECT_EQ(extra.writer->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  auto health = grpc::health::v1::Health::NewStub(server.Channel());
  grpc::health::v1::HealthCheckRequest hreq;
  grpc::health::v1::HealthCheckResponse hresp;
  grpc::ClientContext hctx;
  hctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  ASSERT_TRUE(health->Check(&hctx, hreq, &hresp).ok());
  EXPECT_EQ(hresp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  int64_t accepted = 0;
  for (auto& o : open) {
    o->writer->WritesDone();
    ASSERT_TRUE(o->writer->Finish().ok());
    accepted += o->resp.accepted();
  }
  EXPECT_EQ(accepted, 3);
  // The slots are free again.
  Open again;
  again.writer = stub->StreamEvents(&again.ctx, &again.resp);
  ASSERT_TRUE(again.writer->Write(event(200)));
  again.writer->WritesDone();
  EXPECT_TRUE(again.writer->Finish().ok());
  EXPECT_EQ(again.resp.accepted(), 1);
}

// 10,000 concurrent StreamEvents calls against the default limit (1,000),
// over 10 connections: 1,000 are admitted and stay open, the other 9,000
// are answered RESOURCE_EXHAUSTED at once; the server holds no thread per
// stream (its thread count barely moves), health answers meanwhile, and
// once the clients cancel, the slots are free again.
TEST(E2eStartupTest, TenThousandConcurrentStreams) {
  constexpr int kStreams = 10000, kLimit = 1000, kChannels = 10;
  TempDir dir;
  ServerProcess server;
  ASSERT_TRUE(server.Start(dir.path() + "/data")) << server.log();
  auto threads_of = [&] {
    std::ifstream in("/proc/" + std::to_string(server.pid()) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
    }
    return -1;
  };
  const int threads_before = threads_of();

  struct Tally {
    std::mutex mu;
    std::condition_variable cv;
    int metadata = 0;  // answered: initial metadata (admitted) or trailers only (refused)
    int done = 0;
    std::map<grpc::StatusCode, int> codes;
  } tally;
  class Stream final : public grpc::ClientWriteReactor<v1::StreamEventsRequest> {
   public:
    Stream(v1::EventService::Stub* stub, Tally* tally) : tally_(tally) {
      stub->async()->StreamEvents(&ctx_, &resp_, this);
      StartCall();
    }
    void OnReadInitialMetadataDone(bool ok) override {
      std::lock_guard<std::mutex> l(tally_->mu);
      ++tally_->metadata;
      tally_->cv.notify_all();
    }
    void OnDone(const grpc::Status& s) override {
      std::lock_guard<std::mutex> l(tally_->mu);
      ++tally_->done;
      ++tally_->codes[s.error_code()];
      tally_->cv.notify_all();
    }
    void Cancel() { ctx_.TryCancel(); }

   private:
    grpc::ClientContext ctx_;
    v1::StreamEventsResponse resp_;
    Tally* tally_;
  };

  std::vector<std::unique_ptr<v1::EventService::Stub>> stubs;
  for (int c = 0; c < kChannels; ++c) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection each
    args.SetInt("grpc.channel_id", c);
    stubs.push_back(v1::EventService::NewStub(
        grpc::CreateCustomChannel(server.target(), grpc::InsecureChannelCredentials(), args)));
  }
  std::vector<std::unique_ptr<Stream>> streams;
  // Whatever happens below, every stream ends before its reactor goes.
  struct CancelAll {
    std::vector<std::unique_ptr<Stream>>& streams;
    Tally& tally;
    ~CancelAll() {
      for (auto& s : streams) s->Cancel();
      std::unique_lock<std::mutex> l(tally.mu);
      tally.cv.wait_for(l, std::chrono::seconds(60), [&] { return tally.done == static_cast<int>(streams.size()); });
    }
  } cancel_all{streams, tally};
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::make_unique<Stream>(stubs[i % kChannels].get(), &tally));
  }
  {
    std::unique_lock<std::mutex> l(tally.mu);
    ASSERT_TRUE(tally.cv.wait_for(l, std::chrono::seconds(120), [&] {
      return tally.metadata == kStreams && tally.done >= kStreams - kLimit;
    })) << "answered " << tally.metadata << ", done " << tally.done;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // no late refusals
  {
    std::lock_guard<std::mutex> l(tally.mu);
    EXPECT_EQ(tally.done, kStreams - kLimit);  // the rest are open
    EXPECT_EQ(tally.codes[grpc::StatusCode::RESOURCE_EXHAUSTED], kStreams - kLimit);
  }
  const int threads_during = threads_of();
  EXPECT_LT(threads_during, threads_before + 20) << "before " << threads_before;
  std::printf("server threads: %d before, %d with %d streams open and %d refused\n", threads_before,
              threads_during, kLimit, kStreams - kLimit);

  auto health = grpc::health::v1::Health::NewStub(server.Channel());
  grpc::ClientContext hctx;
  hctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::health::v1::HealthCheckResponse hresp;
  ASSERT_TRUE(health->Check(&hctx, grpc::health::v1::HealthCheckRequest(), &hresp).ok());
  EXPECT_EQ(hresp.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  for (auto& s : streams) s->Cancel();
  {
    std::unique_lock<std::mutex> l(tally.mu);
    ASSERT_TRUE(tally.cv.wait_for(l, std::chrono::seconds(60), [&] { return tally.done == kStreams; }));
    EXPECT_EQ(tally.codes[grpc::StatusCode::CANCELLED], kLimit);
  }
  // Slots are free again: a new stream is admitted and writes.
  auto stub = v1::EventService::NewStub(server.Channel());
  grpc::ClientContext ctx;
  v1::StreamEventsResponse resp;
  auto writer = stub->StreamEvents(&ctx, &resp);
  v1::StreamEventsRequest chunk;
  auto* e = chunk.add_events();
  e->set_event_id("after");
  e->set_customer_id("c");
  e->set_type(v1::EVENT_TYPE_VIEW);
  e->set_channel(v1::CHANNEL_WEB);
  e->set_product_id("p1");
  e->mutable_time()->set_seconds(NowSec() - 10);
  ASSERT_TRUE(writer->Write(chunk));
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.accepted(), 1);
}

TEST(E2eStartupTest, SecondServerOnTheSameDataDirIsRefused) {
  TempDir dir;
  ServerProcess first;
  ASSERT_TRUE(first.Start(dir.path()));
  ServerProcess second;
  EXPECT_FALSE(second.Start(dir.path()));
  EXPECT_EQ(second.Wait(), 1);
  EXPECT_NE(second.log().find("lock"), std::string::npos) << second.log();
}

}  // namespace
}  // namespace nextbest
