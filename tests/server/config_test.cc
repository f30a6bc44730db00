#include "server/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace nextbest::server {
namespace {

TEST(ConfigTest, EmptyConfigGivesDefaults) {
  auto c = ParseConfig("");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->markets, (std::vector<std::string>{"NL", "BE", "LU", "FR", "DE", "AT"}));
  EXPECT_EQ(c->currency, "EUR");
  EXPECT_EQ(c->store.durability, storage::Durability::kGroupCommitSync);
  EXPECT_EQ(c->ingest.features.recently_viewed_count, 50);
  // The shipped config's placements, offers and segments are compiled in.
  const core::DecisionConfig& d = c->decisions;
  EXPECT_EQ(d.placements.size(), 9u);
  EXPECT_FALSE(d.offers.empty());
  EXPECT_FALSE(d.segments.empty());
  EXPECT_TRUE(d.require_consent);
  EXPECT_FALSE(ParseConfig("privacy { personalization_requires_consent: false }")
                   ->decisions.require_consent);
  EXPECT_EQ(c->model_interval_seconds, 300);
}

TEST(ConfigTest, OwnPlacementsReplaceTheShippedOnes) {
  auto c = ParseConfig("placements { id: 'only' sources { kind: TRENDING } }");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->decisions.placements.size(), 1u);
  EXPECT_TRUE(c->decisions.offers.empty());
  EXPECT_EQ(c->decisions.placements[0].default_count, 10);
  EXPECT_EQ(c->decisions.placements[0].sources[0].limit, 50);
}

TEST(ConfigTest, ShippedConfigLoads) {
  auto c = LoadConfig(NEXTBEST_DEPLOY_CONFIG);
  ASSERT_TRUE(c.ok()) << c.status();
  // Every placement of the mission, by its exact id.
  std::vector<std::string> ids;
  for (const auto& p : c->decisions.placements) ids.push_back(p.id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{
                     "app.populair_in_jouw_winkel", "app.speciaal_voor_jou", "callcenter.top3",
                     "checkout.vergeten", "homepage.door_jou_bekeken", "homepage.populair",
                     "homepage.speciaal_voor_jou", "newsletter.blocks", "pdp.vaak_samen_gekocht"}));
  auto built = core::DecisionConfig::Build(c->decisions);
  ASSERT_TRUE(built.ok()) << built.status();
  const core::PlacementSpec* checkout = (*built)->Find("checkout.vergeten");
  EXPECT_EQ(checkout->default_count, 5);
  EXPECT_TRUE(checkout->HasSource(core::Source::kReplenishment));
  EXPECT_FALSE((*built)->Find("callcenter.top3")->offers.empty());
  const core::OfferSpec& o = c->decisions.offers[0];
  EXPECT_EQ(o.id, "koffie-2e-halve-prijs");
  EXPECT_EQ(o.per_customer_cap, 3);
  EXPECT_EQ(o.cap_period_ms, 7 * core::kMsPerDay);
  EXPECT_EQ(o.start, 1'793'491'200'000);  // 2026-11-01T00:00:00Z
  EXPECT_NE(o.eligibility.rule_segments, 0u);
  // The call centre values the retention offer by CLV at risk.
  EXPECT_TRUE((*built)->Find("callcenter.top3")->arbitration.clv_at_risk);
  EXPECT_FALSE((*built)->Find("newsletter.blocks")->arbitration.clv_at_risk);
  int retention = 0;
  for (const auto& offer : c->decisions.offers) retention += offer.retention;
  EXPECT_EQ(retention, 1);
  // Each market's time zone.
  ASSERT_EQ(c->ingest.features.market_zones.size(), c->markets.size());
  EXPECT_EQ(c->ingest.features.market_zones[0].name(), "Europe/Amsterdam");
}

TEST(ConfigTest, ErrorsNameTheField) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"markets: 'Netherlands'", "markets"},
      {"currency: 'EURO'", "currency"},
      {"features { recently_viewed_count: 0 }", ""},  // 0 = default: valid
      {"features { recently_viewed_count: 500 }", "features.recently_viewed_count"},
      {"features { popularity_half_life_days: -1 }", "features.popularity_half_life_days"},
      {"placements { sources { kind: TRENDING } }", "placements[0].id"},
      {"placements { id: 'a' }", "placements[0].sources"},
      {"placements { id: 'a' sources { } }", "placements[0].sources[0].kind"},
      {"placements { id: 'a' sources { kind: TRENDING } sources { kind: TRENDING } }",
       "placements[0].sources[1].kind"},
      {"placements { id: 'a' sources { kind: TRENDING weight: -1 } }",
       "placements[0].sources[0].weight"},
      {"placements { id: 'a' sources { kind: TRENDING } } placements { id: 'a' sources { kind: "
       "TRENDING } }",
       "placements[1].id"},
      {"placements { id: 'a' sources { kind: TRENDING } default_count: 60 max_count: 50 }",
       "placements[0].default_count"},
      {"placements { id: 'a' sources { kind: REPLENISHMENT } min_purchases: 1 }",
       "placements[0].min_purchases"},
      {"placements { id: 'a' sources { kind: TRENDING } filter { min_price_minor: 500 "
       "max_price_minor: 100 } }",
       "placements[0].filter.max_price_minor"},
      {"placements { id: 'a' sources { kind: OFFERS } arbitration { offer_type_weight { key: 'x' "
       "value: 1 } } }",
       "placements[0].arbitration.offer_type_weight"},
      {"offers { id: 'o' type: PROMOTION title: 't' placements: 'nope' }",
       "offers[0].placements[0]"},
      {"placements { id: 'a' sources { kind: TRENDING } } offers { id: 'o' type: PROMOTION title: "
       "'t' placements: 'a' }",
       "has no OFFERS source"},
      {"offers { id: 'o' title: 't' placements: 'callcenter.top3' }", "offers[0].type"},
      {"offers { id: 'o' type: PROMOTION placements: 'callcenter.top3' }", "offers[0].title"},
      {"offers { id: 'o' type: PRODUCT_PUSH title: 't' placements: 'callcenter.top3' }",
       "offers[0].product_id"},
      {"offers { id: 'o' type: PROMOTION title: 't' placements: 'callcenter.top3' start: 'soon' }",
       "offers[0].start"},
      {"offers { id: 'o' type: PROMOTION title: 't' placements: 'callcenter.top3' start: "
       "'2026-12-01' end: '2026-11-01' }",
       "offers[0].end"},
      {"offers { id: 'o' type: PROMOTION title: 't' placements: 'callcenter.top3' cap_period_days: "
       "400 }",
       "offers[0].cap_period_days"},
      {"offers { id: 'o' type: PROMOTION title: 't' placements: 'callcenter.top3' eligibility { "
       "countries: 'US' } }",
       "offers[0].eligibility.countries[0]"},
      {"offers { id: 'o' type: PROMOTION title: 't' placements: 'callcenter.top3' eligibility { "
       "rfm_segments: 'vip' } }",
       "offers[0].eligibility.rfm_segments[0]"},
      {"offers { id: 'o' type: PROMOTION title: 't' placements: 'callcenter.top3' eligibility { "
       "channels: 'FAX' } }",
       "offers[0].eligibility.channels[0]"},
      {"segments { id: 'a' condition { segments: 'b' } } segments { id: 'b' }",
       "segments[0].condition.segments[0]"},
      {"segments { id: 'a' condition { min_affinity: 0.5 } }",
       "segments[0].condition.affinity_category"},
      {"segments { id: 'a' condition { behaviours: 'sleepy' } }",
       "segments[0].condition.behaviours[0]"},
      {"segments { id: 'a' condition { behaviours: 'needs_attention' behaviour_priority: true } }",
       ""},
      {"models { neighbours_per_product: 1000 }", "models.neighbours_per_product"},
      {"placements { id: 'a' sources { kind: TRENDING } rotation: 0.9 }", "placements[0].rotation"},
      // Non-finite and absurd numbers: NaN passes every plain range check,
      // and a reloaded `weight: nan` made every score NaN.
      {"placements { id: 'a' sources { kind: TRENDING weight: nan } }",
       "placements[0].sources[0].weight: must be a finite number"},
      {"placements { id: 'a' sources { kind: TRENDING weight: inf } }",
       "placements[0].sources[0].weight"},
      {"placements { id: 'a' sources { kind: TRENDING weight: 1e308 } }",
       "placements[0].sources[0].weight"},
      {"placements { id: 'a' sources { kind: TRENDING } rotation: nan }", "placements[0].rotation"},
      {"placements { id: 'a' sources { kind: REPLENISHMENT } due_fraction: -inf }",
       "placements[0].due_fraction"},
      {"placements { id: 'a' sources { kind: REPLENISHMENT } max_overdue: nan }",
       "placements[0].max_overdue"},
      {"placements { id: 'a' sources { kind: TRENDING } arbitration { product_weight: inf } }",
       "placements[0].arbitration.product_weight"},
      {"placements { id: 'a' sources { kind: OFFERS } arbitration { offer_type_weight { key: "
       "'loyalty' value: nan } } }",
       "placements[0].arbitration.offer_type_weight[loyalty]"},
      {"offers { id: 'o' type: PROMOTION title: 't' placements: 'callcenter.top3' priority: nan }",
       "offers[0].priority"},
      {"offers { id: 'o' type: PROMOTION title: 't' placements: 'callcenter.top3' value: 1e300 }",
       "offers[0].value"},
      {"segments { id: 'a' condition { affinity_category: 'X' min_affinity: nan } }",
       "segments[0].condition.min_affinity"},
      {"segments { id: 'a' condition { min_p_alive: 1.5 } }", "segments[0].condition.min_p_alive"},
      {"segments { id: 'a' condition { min_p_alive: 0.5 max_p_alive: 0.2 } }",
       "segments[0].condition.max_p_alive"},
      {"segments { id: 'a' condition { min_expected_orders: -1 } }",
       "segments[0].condition.min_expected_orders"},
      {"segments { id: 'a' condition { min_expected_orders: 1 expected_orders_days: 9999 } }",
       "segments[0].condition.expected_orders_days"},
      {"segments { id: 'a' condition { min_clv_minor: -5 } }",
       "segments[0].condition.min_clv_minor"},
      {"segments { id: 'a' condition { churn_risks: 'extreme' } }",
       "segments[0].condition.churn_risks[0]"},
      {"segments { id: 'a' condition { max_p_alive: 0.3 churn_risks: 'high' min_clv_minor: 100 "
       "min_expected_orders: 0.5 expected_orders_days: 365 } }",
       ""},
      {"models { customer_value { clv_months: 500 } }", "models.customer_value.clv_months"},
      {"models { customer_value { monthly_discount: nan } }",
       "models.customer_value.monthly_discount"},
      {"models { customer_value { high_risk_below: 0.7 medium_risk_below: 0.5 } }",
       "models.customer_value.medium_risk_below"},
      {"models { customer_value { min_market_customers: 3 } }",
       "models.customer_value.min_market_customers"},
      {"features { affinity_half_life_days: nan }", "features.affinity_half_life_days"},
      {"features { purchase_weight: inf }", "features.purchase_weight"},
      {"ingest { queue_capacity: -3 }", "ingest.queue_capacity"},
      {"ingest { store_trending_keep: -1 }", "ingest.store_trending_keep"},
      {"features { max_brand_affinities: 5000 }", "features.max_brand_affinities"},
      {"features { max_known_sizes: -2 }", "features.max_known_sizes"},
      {"placements { id: 'a' sources { kind: AFFINITY scope: STORE } }",
       "placements[0].sources[0].scope"},
      {"placements { id: 'a' sources { kind: TRENDING scope: 9 } }",
       "placements[0].sources[0].scope"},
      {"placements { id: 'a' sources { kind: TRENDING scope: STORE } sources { kind: "
       "BRAND_AFFINITY } size_fit: false }",
       ""},
      {"storage { durability: 7 }", "storage.durability"},
      {"no_such_field: 1", "line 1"},
      {"features { send_time_half_life_days: -1 }", "features.send_time_half_life_days"},
      {"time_zones { key: 'CH' value: 'Europe/Zurich' }", "time_zones[CH]: not one of the markets"},
      {"markets: ['NL', 'CH']", "time_zones[CH]: missing"},
      {"markets: ['NL', 'CH'] time_zones { key: 'CH' value: 'Europe/Zurich' } "
       "placements { id: 'a' sources { kind: TRENDING } }",
       ""},
      {"time_zones { key: 'NL' value: 'Europe/Atlantis' }", "time_zones[NL]: unknown time zone"},
  };
  for (const Case& c : cases) {
    auto r = ParseConfig(c.text);
    if (c.expected.empty()) {
      EXPECT_TRUE(r.ok()) << c.text << ": " << r.status();
      continue;
    }
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos)
        << c.text << " -> " << r.status();
  }
}

TEST(ConfigTest, SizeFitIsOnUnlessSwitchedOff) {
  auto on = ParseConfig("placements { id: 'a' sources { kind: TRENDING scope: STORE } }");
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE(on->decisions.placements[0].size_fit);
  EXPECT_EQ(on->decisions.placements[0].sources[0].scope, core::TrendingScope::kStore);
  auto off = ParseConfig("placements { id: 'a' sources { kind: TRENDING } size_fit: false }");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->decisions.placements[0].size_fit);
}

// The shipped file cut at any byte — inside a comment it still parses,
// with placements missing — is refused for its missing end marker; whole,
// with trailing blank lines, it loads.
TEST(ConfigTest, AFileCutShortIsRefused) {
  std::ifstream in(NEXTBEST_DEPLOY_CONFIG);
  const std::string whole((std::istreambuf_iterator<char>(in)), {});
  ASSERT_NE(whole.find(kConfigEndMarker), std::string::npos);
  char tmpl[] = "/tmp/nextbest-config-XXXXXX";
  const int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  const std::string path = tmpl;
  int refused = 0, parsed_anyway = 0;
  const size_t end = whole.rfind(kConfigEndMarker);
  for (size_t cut = 0; cut < end; cut += 97) {
    std::ofstream(path, std::ios::trunc) << whole.substr(0, cut);
    auto c = LoadConfig(path);
    ASSERT_FALSE(c.ok()) << "cut at " << cut;
    EXPECT_NE(c.status().message().find("must end with the line"), std::string::npos) << c.status();
    ++refused;
    parsed_anyway += ParseConfig(whole.substr(0, cut)).ok();
  }
  EXPECT_GT(parsed_anyway, 0) << "some cuts parse: the marker is what catches them";
  std::ofstream(path, std::ios::trunc) << whole << "\n\n";
  EXPECT_TRUE(LoadConfig(path).ok());
  std::remove(path.c_str());
  EXPECT_GT(refused, 20);
}

TEST(ConfigTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadConfig("/nonexistent/nextbest.textproto").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace nextbest::server

// Experiments, the holdout and learning: bad values name their field.
TEST(ConfigTest, BadExperimentsAreRejectedNamingTheField) {
  using nextbest::server::ParseConfig;
  const std::string p = "placements { id: 'home' sources { kind: RECENTLY_VIEWED } } ";
  const std::string treatment = "placement { sources { kind: AFFINITY } }";
  auto ab = [&](const std::string& a, const std::string& b, const std::string& extra = "") {
    return p + "experiments { id: 'x' placement: 'home' " + extra + " variants { id: 'a' " + a +
           " } variants { id: 'b' " + b + " } }";
  };
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {ab("weight: 50 " + treatment, "weight: 50 control: true"), ""},
      {ab("weight: 50 " + treatment, "weight: 45 control: true"),
       "experiments[0].variants: the weights must sum to 100, got 95"},
      {ab("weight: 50.005 " + treatment, "weight: 49.995 control: true"),
       "experiments[0].variants[0].weight: at most two decimals"},
      {ab("weight: 50", "weight: 50 control: true"), "experiments[0].variants[0].control"},
      {ab("weight: 50 control: true " + treatment, "weight: 50 control: true"),
       "experiments[0].variants[0].placement"},
      {ab("weight: 50 " + treatment, "weight: 50 control: true", "placement: 'nope'"), ""},
      {p + "experiments { id: 'x' placement: 'nope' variants { id: 'a' weight: 100 control: "
           "true } variants { id: 'b' weight: 0 control: true } }",
       "experiments[0].placement: unknown placement 'nope'"},
      {ab("buckets: '0-4999' " + treatment, "buckets: '4000-9999' control: true"),
       "experiments[0].variants: bucket ranges overlap"},
      {ab("buckets: '0-4999' " + treatment, "weight: 50 control: true"),
       "experiments[0].variants[1].buckets: either every variant lists buckets or none"},
      {ab("buckets: '0-99999' " + treatment, "buckets: '5000-9999' control: true"),
       "experiments[0].variants[0].buckets"},
      {ab("weight: 50 " + treatment, "weight: 50 control: true") +
           " experiments { id: 'y' placement: 'home' variants { id: 'a' weight: 50 control: "
           "true } variants { id: 'b' weight: 50 " +
           treatment + " } }",
       "experiments[1].start: runs on placement 'home' while experiment 'x' does"},
      {ab("weight: 50 " + treatment, "weight: 50 control: true",
          "start: '2026-12-01' end: '2026-11-01'"),
       "experiments[0].end: must be after start"},
      {p + "holdout { percent: 60 }", "holdout.percent"},
      {p + "learning { prior_clicks: 5 prior_impressions: 2 }", "learning.prior_impressions"},
      {p + "learning { attribution_window_hours: -1 }", "learning.attribution_window_hours"},
  };
  for (const Case& c : cases) {
    auto r = ParseConfig(c.text);
    const bool ok_expected = c.expected.empty() && c.text.find("'nope'") == std::string::npos;
    if (ok_expected) {
      EXPECT_TRUE(r.ok()) << c.text << ": " << r.status();
      continue;
    }
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    if (!c.expected.empty()) {
      EXPECT_NE(r.status().message().find(c.expected), std::string::npos)
          << c.text << " -> " << r.status();
    }
  }
}
