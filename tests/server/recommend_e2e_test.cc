// End to end, the decision path: every placement over the real API, read-your-writes,
// size fit, brand affinity and store trending, consent from the next request on.

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

TEST_F(E2eTest, IngestThenEveryPlacementThenRestartGivesTheSameAnswers) {
  LoadCatalog();
  const int64_t now = NowSec();
  // c1 viewed p1..p5 (p5 most recently); buys p2 every ~10 days, last 12
  // days ago (due); p3 every 10 days, last 2 days ago (not due).
  std::vector<v1::Event> events;
  for (int i = 1; i <= 5; ++i)
    events.push_back(View(absl::StrCat("v", i), "c1", absl::StrCat("p", i), now - 3600 * (10 - i)));
  events.push_back(View("v6", "c1", "p6", now - 60));  // inactive: never shown
  for (int k = 0; k < 3; ++k)
    events.push_back(Purchase(absl::StrCat("b", k), "c1", "p2", now - (32 - 10 * k) * kDaySec));
  events.push_back(Purchase("b10", "c1", "p3", now - 12 * kDaySec));
  events.push_back(Purchase("b11", "c1", "p3", now - 2 * kDaySec));
  // Other shoppers make p5 the most popular (a view weighs 1, a purchase 5).
  // Their market comes with the event (they have no profile).
  for (int i = 0; i < 30; ++i) {
    events.push_back(View(absl::StrCat("x", i), absl::StrCat("shopper", i), "p5", now - 100));
    events.back().set_country("NL");
  }
  for (int i = 0; i < 3; ++i)
    events.push_back(View(absl::StrCat("y", i), absl::StrCat("shopper", i), "p1", now - 100));
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
  EXPECT_NE(forgotten.items(0).reason().find("bought 3 times, about every 10 days"),
            std::string::npos)
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
  // Every answer has its own id.
  diff.IgnoreField(v1::RecommendResponse::descriptor()->FindFieldByName("decision_id"));
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
      if (std::string(where) == "online")
        l->set_online_country("NL");
      else
        l->set_store_id(where);
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
  // c1's home store is s1 too, but c1 bought p8 (a romper: bought once,
  // durable), so it is explained away rather than shown again.
  {
    v1::RecommendRequest req;
    req.set_customer_id("c1");
    req.mutable_context()->set_placement("app.populair_in_jouw_winkel");
    req.set_explain(true);
    ASSERT_TRUE(Call(&v1::DecisionService::Stub::Recommend, decisions_.get(), req, &home).ok());
  }
  for (const auto& item : home.items()) EXPECT_NE(item.product_id(), "p8");
  bool bought_dropped = false;
  for (const auto& d : home.explanation().dropped()) {
    bought_dropped |= d.product_id() == "p8" && d.rule() == "bought_durable";
  }
  EXPECT_TRUE(bought_dropped) << home.explanation().ShortDebugString();

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
    ASSERT_TRUE(
        Call(&v1::CustomerService::Stub::UpsertCustomers, customers_.get(), cr, &resp).ok());
  };
  // Known only from events: no consent given.
  auto view = View("cv1", "c2", "p3", now - 60);
  view.set_country("NL");
  ASSERT_TRUE(Record({view}).ok());
  WaitForTrending(now);
  v1::RecommendResponse r;
  ASSERT_TRUE(Recommend("c2", "homepage.door_jou_bekeken", &r).ok());
  EXPECT_FALSE(r.personalized());
  EXPECT_NE(r.fallback_reason().find("no personalization consent"), std::string::npos)
      << r.fallback_reason();
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

}  // namespace
}  // namespace nextbest
