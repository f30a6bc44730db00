// Bad input per RPC: every rejection is INVALID_ARGUMENT naming the field.

#include "server/validation.h"

#include <gtest/gtest.h>

#include <functional>

namespace nextbest::server {
namespace {

constexpr core::TimeMs kNow = 1'760'000'000'000;

Limits TestLimits() {
  Limits l;
  l.markets = {"NL", "BE"};
  l.max_events_per_request = 3;
  return l;
}

v1::Event GoodView() {
  v1::Event e;
  e.set_event_id("e1");
  e.set_customer_id("c1");
  e.set_type(v1::EVENT_TYPE_VIEW);
  e.mutable_time()->set_seconds(kNow / 1000 - 60);
  e.set_channel(v1::CHANNEL_WEB);
  e.set_product_id("p1");
  return e;
}

v1::Event GoodPurchase() {
  v1::Event e = GoodView();
  e.clear_product_id();
  e.set_type(v1::EVENT_TYPE_PURCHASE);
  auto* line = e.mutable_order()->add_lines();
  line->set_product_id("p1");
  line->set_quantity(2);
  line->mutable_unit_price()->set_amount_minor(199);
  line->mutable_unit_price()->set_currency("EUR");
  return e;
}

TEST(ValidationTest, GoodEventsConvert) {
  google::protobuf::RepeatedPtrField<v1::Event> events;
  *events.Add() = GoodView();
  *events.Add() = GoodPurchase();
  auto r = ToRecordEvents(events, TestLimits(), kNow);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->events.size(), 2u);
  EXPECT_EQ(r->events[0].product_id, "p1");
  EXPECT_EQ(r->events[0].time, kNow - 60000);
  EXPECT_EQ(r->events[1].lines[0].unit_price_minor, 199);
  EXPECT_EQ(r->events[1].lines[0].quantity, 2);
}

TEST(ValidationTest, BadEventsNameTheField) {
  struct Case {
    const char* name;
    std::function<void(v1::Event&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"empty event id", [](v1::Event& e) { e.clear_event_id(); }, "events[0].event_id: required"},
      {"empty customer", [](v1::Event& e) { e.clear_customer_id(); },
       "events[0].customer_id: required"},
      {"long id", [](v1::Event& e) { e.set_customer_id(std::string(129, 'x')); },
       "events[0].customer_id: longer than 128"},
      {"control char", [](v1::Event& e) { e.set_event_id(std::string("a\0b", 3)); },
       "events[0].event_id: contains a control"},
      {"newline", [](v1::Event& e) { e.set_customer_id("c\n1"); },
       "events[0].customer_id: contains a control"},
      {"no type", [](v1::Event& e) { e.set_type(v1::EVENT_TYPE_UNSPECIFIED); },
       "events[0].type: required"},
      {"unknown type", [](v1::Event& e) { e.set_type(static_cast<v1::EventType>(42)); },
       "events[0].type: unknown value 42"},
      {"no time", [](v1::Event& e) { e.clear_time(); }, "events[0].time: required"},
      {"before 2000", [](v1::Event& e) { e.mutable_time()->set_seconds(900'000'000); },
       "events[0].time: must be after 2000"},
      {"far future", [](v1::Event& e) { e.mutable_time()->set_seconds(kNow / 1000 + 2 * 86400); },
       "events[0].time: must not be more than 24h ahead"},
      {"bad nanos", [](v1::Event& e) { e.mutable_time()->set_nanos(-1); }, "events[0].time.nanos"},
      // Found by tests/fuzz/requests_fuzz.cc: seconds * 1000 overflowed.
      {"absurd seconds", [](v1::Event& e) { e.mutable_time()->set_seconds(INT64_MAX); },
       "events[0].time.seconds: must be within"},
      {"absurd negative seconds", [](v1::Event& e) { e.mutable_time()->set_seconds(INT64_MIN); },
       "events[0].time.seconds"},
      {"no channel", [](v1::Event& e) { e.set_channel(v1::CHANNEL_UNSPECIFIED); },
       "events[0].channel: required"},
      {"unknown channel", [](v1::Event& e) { e.set_channel(static_cast<v1::Channel>(99)); },
       "events[0].channel: unknown value"},
      {"unknown market", [](v1::Event& e) { e.set_country("US"); },
       "events[0].country: 'US' is not a served market"},
      {"view without product", [](v1::Event& e) { e.clear_product_id(); },
       "events[0].product_id: required"},
      {"negative quantity", [](v1::Event& e) { e.set_quantity(-1); },
       "events[0].quantity: must be >= 0"},
      {"absurd quantity", [](v1::Event& e) { e.set_quantity(1'000'000); },
       "events[0].quantity: must be <="},
      {"purchase without lines", [](v1::Event& e) { e.set_type(v1::EVENT_TYPE_PURCHASE); },
       "events[0].order.lines: at least one"},
      {"offer without id", [](v1::Event& e) { e.set_type(v1::EVENT_TYPE_OFFER_CLICK); },
       "events[0].offer_id: required"},
      // Free-text fields had no limits: 3 MB values and NUL bytes were stored.
      {"huge placement", [](v1::Event& e) { e.set_placement(std::string(3 << 20, 'p')); },
       "events[0].placement: longer than 128"},
      {"NUL in placement", [](v1::Event& e) { e.set_placement(std::string("home\0page", 9)); },
       "events[0].placement: contains a control"},
      {"huge offer id on a view", [](v1::Event& e) { e.set_offer_id(std::string(1000, 'o')); },
       "events[0].offer_id: longer than 128"},
      {"bad decision id", [](v1::Event& e) { e.set_decision_id("not-hex"); },
       "events[0].decision_id: 32 lowercase hex digits"},
      {"impression without decision",
       [](v1::Event& e) {
         e.set_type(v1::EVENT_TYPE_PRODUCT_IMPRESSION);
         e.set_placement("home");
         e.set_position(1);
       },
       "events[0].decision_id: required"},
      {"click without position",
       [](v1::Event& e) {
         e.set_type(v1::EVENT_TYPE_PRODUCT_CLICK);
         e.set_placement("home");
         e.set_decision_id(std::string(32, 'a'));
       },
       "events[0].position: required"},
      {"impression without placement",
       [](v1::Event& e) {
         e.set_type(v1::EVENT_TYPE_PRODUCT_IMPRESSION);
         e.set_decision_id(std::string(32, 'a'));
         e.set_position(1);
       },
       "events[0].placement: required"},
      {"absurd position", [](v1::Event& e) { e.set_position(5000); },
       "events[0].position: must be 0..1000"},
  };
  for (const Case& c : cases) {
    google::protobuf::RepeatedPtrField<v1::Event> events;
    v1::Event e = GoodView();
    c.mutate(e);
    *events.Add() = e;
    auto r = ToRecordEvents(events, TestLimits(), kNow);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(r.status().message().find(c.field), std::string::npos)
        << c.name << ": " << r.status();
  }
}

TEST(ValidationTest, BadOrderLinesNameTheLine) {
  struct Case {
    std::function<void(v1::OrderLine&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](v1::OrderLine& l) { l.set_quantity(0); },
       "events[1].order.lines[0].quantity: must be > 0"},
      {[](v1::OrderLine& l) { l.set_quantity(-2); },
       "events[1].order.lines[0].quantity: must be > 0"},
      {[](v1::OrderLine& l) { l.mutable_unit_price()->set_amount_minor(-1); },
       "events[1].order.lines[0].unit_price.amount_minor: must be >= 0"},
      {[](v1::OrderLine& l) { l.mutable_unit_price()->set_amount_minor(int64_t{1} << 40); },
       "events[1].order.lines[0].unit_price.amount_minor: must be <="},
      {[](v1::OrderLine& l) { l.mutable_unit_price()->set_currency("USD"); },
       "events[1].order.lines[0].unit_price.currency: must be EUR"},
      {[](v1::OrderLine& l) { l.clear_unit_price(); },
       "events[1].order.lines[0].unit_price: required"},
      {[](v1::OrderLine& l) { l.clear_product_id(); },
       "events[1].order.lines[0].product_id: required"},
      {[](v1::OrderLine& l) { l.set_size(std::string(33, 'L')); },
       "events[1].order.lines[0].size: must be 1..32 bytes"},
      {[](v1::OrderLine& l) { l.set_size("M\n"); },
       "events[1].order.lines[0].size: contains a control character"},
  };
  for (const Case& c : cases) {
    google::protobuf::RepeatedPtrField<v1::Event> events;
    *events.Add() = GoodView();
    v1::Event p = GoodPurchase();
    c.mutate(*p.mutable_order()->mutable_lines(0));
    *events.Add() = p;
    auto r = ToRecordEvents(events, TestLimits(), kNow);
    ASSERT_FALSE(r.ok()) << c.field;
    EXPECT_NE(r.status().message().find(c.field), std::string::npos) << r.status();
  }
}

TEST(ValidationTest, BatchLimits) {
  google::protobuf::RepeatedPtrField<v1::Event> events;
  EXPECT_NE(
      ToRecordEvents(events, TestLimits(), kNow).status().message().find("events: at least one"),
      std::string::npos);
  for (int i = 0; i < 4; ++i) *events.Add() = GoodView();
  EXPECT_NE(ToRecordEvents(events, TestLimits(), kNow).status().message().find("events: at most 3"),
            std::string::npos);
}

TEST(ValidationTest, CustomersProductsStoresStock) {
  const Limits l = TestLimits();
  v1::UpsertCustomersRequest cr;
  EXPECT_NE(ToUpsertCustomers(cr, l, kNow).status().message().find("customers: at least one"),
            std::string::npos);
  auto* c = cr.add_customers();
  c->set_customer_id("c1");
  c->set_birth_year(1850);
  EXPECT_NE(ToUpsertCustomers(cr, l, kNow).status().message().find("customers[0].birth_year"),
            std::string::npos);
  c->set_birth_year(1980);
  c->set_country("XX");
  EXPECT_NE(ToUpsertCustomers(cr, l, kNow).status().message().find("customers[0].country"),
            std::string::npos);
  c->set_country("BE");
  EXPECT_TRUE(ToUpsertCustomers(cr, l, kNow).ok());
  auto* sp = c->add_sizes();
  EXPECT_NE(
      ToUpsertCustomers(cr, l, kNow).status().message().find("customers[0].sizes[0].category"),
      std::string::npos);
  sp->set_category("Kleding/");
  EXPECT_NE(ToUpsertCustomers(cr, l, kNow)
                .status()
                .message()
                .find("customers[0].sizes[0].category: must not"),
            std::string::npos);
  sp->set_category("Kleding/Dames");
  EXPECT_NE(ToUpsertCustomers(cr, l, kNow)
                .status()
                .message()
                .find("customers[0].sizes[0].sizes: at least one"),
            std::string::npos);
  sp->add_sizes("M");
  sp->add_sizes("");
  EXPECT_NE(
      ToUpsertCustomers(cr, l, kNow).status().message().find("customers[0].sizes[0].sizes[1]"),
      std::string::npos);
  sp->set_sizes(1, "L");
  auto sized = ToUpsertCustomers(cr, l, kNow);
  ASSERT_TRUE(sized.ok()) << sized.status();
  ASSERT_EQ(sized->customers[0].sizes.size(), 1u);
  EXPECT_EQ(sized->customers[0].sizes[0].category_prefix, "Kleding/Dames");
  EXPECT_EQ(sized->customers[0].sizes[0].sizes, (std::vector<std::string>{"M", "L"}));

  v1::UpsertProductsRequest pr;
  auto* p = pr.add_products();
  p->set_product_id("p1");
  EXPECT_NE(ToUpsertProducts(pr, l).status().message().find("products[0].name: required"),
            std::string::npos);
  p->set_name("Tompouce");
  EXPECT_NE(ToUpsertProducts(pr, l).status().message().find("products[0].category_path"),
            std::string::npos);
  p->add_category_path("Bakkerij/Gebak");
  EXPECT_NE(ToUpsertProducts(pr, l).status().message().find("products[0].category_path[0]"),
            std::string::npos);
  p->set_category_path(0, "Bakkerij");
  EXPECT_NE(ToUpsertProducts(pr, l).status().message().find("products[0].price: required"),
            std::string::npos);
  p->mutable_price()->set_currency("EUR");
  p->mutable_price()->set_amount_minor(-5);
  EXPECT_NE(ToUpsertProducts(pr, l).status().message().find("products[0].price.amount_minor"),
            std::string::npos);
  p->mutable_price()->set_amount_minor(135);
  p->add_sizes(std::string(40, 'x'));
  EXPECT_NE(ToUpsertProducts(pr, l).status().message().find("products[0].sizes[0]"),
            std::string::npos);
  p->clear_sizes();
  p->set_brand(std::string(200, 'b'));
  EXPECT_NE(ToUpsertProducts(pr, l).status().message().find("products[0].brand"),
            std::string::npos);
  p->set_brand(std::string("HE\0MA", 5));
  EXPECT_NE(
      ToUpsertProducts(pr, l).status().message().find("products[0].brand: contains a control"),
      std::string::npos);
  p->clear_brand();
  p->set_name(std::string("Tom\0pouce", 9));
  EXPECT_NE(ToUpsertProducts(pr, l).status().message().find("products[0].name: contains a control"),
            std::string::npos);
  p->set_name("Tompouce");
  for (int i = 0; i < 100000; ++i) p->add_tags("t");
  EXPECT_NE(ToUpsertProducts(pr, l).status().message().find("products[0].tags: at most 64"),
            std::string::npos);
  p->clear_tags();
  p->add_tags(std::string(3 << 20, 't'));
  EXPECT_NE(
      ToUpsertProducts(pr, l).status().message().find("products[0].tags[0]: at most 64 bytes"),
      std::string::npos);
  p->set_tags(0, std::string("a\0b", 3));
  EXPECT_NE(
      ToUpsertProducts(pr, l).status().message().find("products[0].tags[0]: contains a control"),
      std::string::npos);
  p->clear_tags();
  for (int i = 0; i < 10000; ++i) p->add_category_path("level");
  EXPECT_NE(ToUpsertProducts(pr, l).status().message().find(
                "products[0].category_path: at most 8 levels"),
            std::string::npos);
  p->clear_category_path();
  p->add_category_path(std::string("Bak\0kerij", 9));
  EXPECT_NE(ToUpsertProducts(pr, l).status().message().find(
                "products[0].category_path[0]: contains a control"),
            std::string::npos);
  p->set_category_path(0, "Bakkerij");
  auto ok = ToUpsertProducts(pr, l);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->products[0].active);  // absent = active
  p->set_active(false);
  EXPECT_FALSE(ToUpsertProducts(pr, l)->products[0].active);

  v1::UpsertStoresRequest sr;
  sr.add_stores()->set_store_id("s1");
  EXPECT_NE(ToUpsertStores(sr, l).status().message().find("stores[0].country: required"),
            std::string::npos);
  sr.mutable_stores(0)->set_country("NL");
  sr.mutable_stores(0)->set_name(std::string(3 << 20, 'n'));
  EXPECT_NE(ToUpsertStores(sr, l).status().message().find("stores[0].name: at most 128 bytes"),
            std::string::npos);
  sr.mutable_stores(0)->set_name("HEMA Kalverstraat");
  sr.mutable_stores(0)->set_city(std::string("Amster\0dam", 10));
  EXPECT_NE(ToUpsertStores(sr, l).status().message().find("stores[0].city: contains a control"),
            std::string::npos);
  sr.mutable_stores(0)->set_city("Amsterdam");
  EXPECT_TRUE(ToUpsertStores(sr, l).ok());
  c->set_language(std::string("n\0l", 3));
  EXPECT_NE(ToUpsertCustomers(cr, l, kNow)
                .status()
                .message()
                .find("customers[0].language: contains a control"),
            std::string::npos);

  v1::SetStockRequest st;
  auto* level = st.add_levels();
  level->set_product_id("p1");
  EXPECT_NE(ToSetStock(st, l).status().message().find("levels[0].location"), std::string::npos);
  level->set_online_country("NL");
  level->set_quantity(-1);
  EXPECT_NE(ToSetStock(st, l).status().message().find("levels[0].quantity"), std::string::npos);
  level->set_quantity(3);
  EXPECT_TRUE(ToSetStock(st, l).ok());
}

TEST(ValidationTest, Recommend) {
  const Limits l = TestLimits();
  v1::RecommendRequest r;
  r.set_customer_id("c1");
  EXPECT_NE(ValidateRecommend(r, l).message().find("context: required"), std::string::npos);
  r.mutable_context();
  EXPECT_NE(ValidateRecommend(r, l).message().find("context.placement: required"),
            std::string::npos);
  r.mutable_context()->set_placement("homepage.populair");
  EXPECT_TRUE(ValidateRecommend(r, l).ok());
  r.set_customer_id("");  // anonymous
  EXPECT_TRUE(ValidateRecommend(r, l).ok());
  r.mutable_context()->set_count(-1);
  EXPECT_NE(ValidateRecommend(r, l).message().find("context.count"), std::string::npos);
  r.mutable_context()->set_count(3);
  r.mutable_context()->add_cart_product_ids("");
  EXPECT_NE(ValidateRecommend(r, l).message().find("context.cart_product_ids[0]"),
            std::string::npos);
  r.mutable_context()->clear_cart_product_ids();
  // exclude_product_ids had no limit (100,000 accepted) and no id check.
  for (int i = 0; i < 1001; ++i)
    r.mutable_context()->add_exclude_product_ids("p" + std::to_string(i));
  EXPECT_NE(ValidateRecommend(r, l).message().find("context.exclude_product_ids: at most 1000"),
            std::string::npos);
  r.mutable_context()->clear_exclude_product_ids();
  r.mutable_context()->add_exclude_product_ids(std::string(200, 'x'));
  EXPECT_NE(
      ValidateRecommend(r, l).message().find("context.exclude_product_ids[0]: longer than 128"),
      std::string::npos);
  r.mutable_context()->set_exclude_product_ids(0, "p1");
  EXPECT_TRUE(ValidateRecommend(r, l).ok());
  r.mutable_context()->set_country("US");
  EXPECT_NE(ValidateRecommend(r, l).message().find("context.country"), std::string::npos);
  r.mutable_context()->clear_country();
  r.mutable_context()->mutable_time()->set_seconds(-INT64_MAX);
  EXPECT_NE(ValidateRecommend(r, l).message().find("context.time.seconds"), std::string::npos);
}

// The newsletter run's request. An unknown channel used to be cast into
// core's enum unchecked, and an absurd time overflowed the conversion.
TEST(ValidationTest, DecideForAll) {
  v1::DecideForAllRequest r;
  EXPECT_NE(ValidateDecideForAll(r).message().find("placement: required"), std::string::npos);
  r.set_placement("newsletter.blocks");
  EXPECT_TRUE(ValidateDecideForAll(r).ok());
  r.set_channel(static_cast<v1::Channel>(99));
  EXPECT_NE(ValidateDecideForAll(r).message().find("channel: unknown value 99"), std::string::npos);
  r.set_channel(v1::CHANNEL_EMAIL);
  r.set_count(-1);
  EXPECT_NE(ValidateDecideForAll(r).message().find("count"), std::string::npos);
  r.set_count(3);
  r.set_max_customers(-5);
  EXPECT_NE(ValidateDecideForAll(r).message().find("max_customers"), std::string::npos);
  r.set_max_customers(0);
  r.mutable_time()->set_seconds(INT64_MAX);
  EXPECT_EQ(ValidateDecideForAll(r).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ValidateDecideForAll(r).message().find("time.seconds"), std::string::npos);
}

TEST(ValidationTest, TimestampConversionRoundTrips) {
  for (core::TimeMs ms : {core::TimeMs{0}, core::TimeMs{1}, core::TimeMs{-1}, kNow, kNow + 999}) {
    EXPECT_EQ(ToTimeMs(FromTimeMs(ms)), ms) << ms;
  }
}

}  // namespace
}  // namespace nextbest::server
