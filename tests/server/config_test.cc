#include "server/config.h"

#include <gtest/gtest.h>

namespace nextbest::server {
namespace {

TEST(ConfigTest, EmptyConfigGivesDefaults) {
  auto c = ParseConfig("");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->markets, (std::vector<std::string>{"NL", "BE", "LU", "FR", "DE", "AT"}));
  EXPECT_EQ(c->currency, "EUR");
  EXPECT_EQ(c->store.durability, storage::Durability::kGroupCommitSync);
  EXPECT_EQ(c->ingest.features.recently_viewed_count, 20);
  ASSERT_EQ(c->placements.size(), 3u);
  EXPECT_EQ(c->placements[0].id, "homepage.door_jou_bekeken");
  EXPECT_TRUE(c->personalization_requires_consent);
  EXPECT_FALSE(ParseConfig("privacy { personalization_requires_consent: false }")->personalization_requires_consent);
}

TEST(ConfigTest, ShippedConfigLoads) {
  auto c = LoadConfig(NEXTBEST_DEPLOY_CONFIG);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->placements.size(), 3u);
  EXPECT_EQ(c->placements[2].id, "checkout.vergeten");
  EXPECT_EQ(c->placements[2].kind, core::PlacementSpec::Kind::kReplenishment);
  EXPECT_EQ(c->placements[2].default_count, 5);
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
      {"placements { kind: TRENDING }", "placements[0].id"},
      {"placements { id: 'a' }", "placements[0].kind"},
      {"placements { id: 'a' kind: TRENDING } placements { id: 'a' kind: TRENDING }", "placements[1].id"},
      {"placements { id: 'a' kind: TRENDING default_count: 60 max_count: 50 }", "placements[0].default_count"},
      {"placements { id: 'a' kind: REPLENISHMENT min_purchases: 1 }", "placements[0].min_purchases"},
      {"ingest { queue_capacity: -3 }", "ingest.queue_capacity"},
      {"storage { durability: 7 }", "storage.durability"},
      {"no_such_field: 1", "line 1"},
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

TEST(ConfigTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadConfig("/nonexistent/nextbest.textproto").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace nextbest::server
