#include "core/decision.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/core/test_catalog.h"

namespace nextbest::core {
namespace {

constexpr TimeMs kDay = kMsPerDay;
constexpr TimeMs kNow = 1'700'000'000'000;

std::string Reason(const Catalog& catalog, const DecidedItem& item, CountryIndex country) {
  std::string out;
  DescribeReason(catalog, item, country, kNow, out);
  return out;
}

PlacementSpec Spec(PlacementSpec::Kind kind, bool fill = true) {
  PlacementSpec s;
  s.id = "test";
  s.kind = kind;
  s.default_count = 5;
  s.max_count = 20;
  s.fill_with_trending = fill;
  return s;
}

// A customer who consented to personalization.
CustomerState Consenting() {
  CustomerState c;
  c.attributes.present = true;
  c.attributes.consent_personalization = true;
  return c;
}

class DecisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = testing::MakeCatalog(10);
    std::vector<ProductPopularity> pop(10);
    // Popularity p10 > p9 > ... > p1 in NL.
    for (int i = 0; i < 10; ++i) AddPopularity(pop[i], kNow, 1.0 + i, 0, 7);
    trending_ = BuildTrending(pop, *catalog_, kNow, 7, 100);
  }
  std::vector<ProductIndex> Products(const Decision& d) {
    std::vector<ProductIndex> out;
    for (const auto& i : d.items) out.push_back(i.product);
    return out;
  }
  Decision Run(const PlacementSpec& spec, const CustomerState* customer,
               std::vector<ProductIndex> cart = {}, ProductIndex current = kNoProduct, int count = 0) {
    DecisionRequest r;
    r.placement = &spec;
    r.customer = customer;
    r.cart = cart;
    r.current_product = current;
    r.count = count;
    r.now = kNow;
    return Decide(*catalog_, *trending_, r);
  }
  std::unique_ptr<const Catalog> catalog_;
  std::unique_ptr<const TrendingSnapshot> trending_;
};

TEST_F(DecisionTest, TrendingIsRankedByPopularity) {
  const auto spec = Spec(PlacementSpec::Kind::kTrending);
  const Decision d = Run(spec, nullptr);
  EXPECT_EQ(Products(d), (std::vector<ProductIndex>{9, 8, 7, 6, 5}));
  EXPECT_FALSE(d.personalized);
  EXPECT_EQ(d.fallback, FallbackReason::kNone);
  EXPECT_EQ(d.items[0].source, Source::kTrending);
}

TEST_F(DecisionTest, RecentlyViewedMostRecentFirstExcludingScreenAndCart) {
  CustomerState c = Consenting();
  c.features.recently_viewed = {{3, kNow - kDay}, {1, kNow - 2 * kDay}, {4, kNow - 3 * kDay},
                                {2, kNow - 4 * kDay}};
  const auto spec = Spec(PlacementSpec::Kind::kRecentlyViewed, /*fill=*/false);
  const Decision d = Run(spec, &c, /*cart=*/{4}, /*current=*/3);
  EXPECT_EQ(Products(d), (std::vector<ProductIndex>{1, 2}));
  EXPECT_TRUE(d.personalized);
  EXPECT_EQ(d.fallback, FallbackReason::kTooFewPersonal);
  EXPECT_GT(d.items[0].score, d.items[1].score);
}

TEST_F(DecisionTest, UnknownCustomerGetsPopularFallback) {
  const auto spec = Spec(PlacementSpec::Kind::kRecentlyViewed);
  const Decision d = Run(spec, nullptr);
  EXPECT_EQ(d.items.size(), 5u);
  EXPECT_EQ(d.fallback, FallbackReason::kUnknownCustomer);
  EXPECT_FALSE(d.personalized);
  for (const auto& i : d.items) EXPECT_EQ(i.source, Source::kTrending);
}

TEST_F(DecisionTest, FillWithTrendingNeverRepeatsAnItem) {
  CustomerState c = Consenting();
  c.features.recently_viewed = {{9, kNow - kDay}, {8, kNow - kDay}};
  const auto spec = Spec(PlacementSpec::Kind::kRecentlyViewed);
  const Decision d = Run(spec, &c);
  EXPECT_EQ(Products(d), (std::vector<ProductIndex>{9, 8, 7, 6, 5}));
  EXPECT_EQ(d.items[1].source, Source::kRecentlyViewed);
  EXPECT_EQ(d.items[2].source, Source::kTrending);
}

TEST_F(DecisionTest, ReplenishmentDueRankedByOverdueMinusCart) {
  CustomerState c = Consenting();
  // p1: every 10 days, last 15 days ago -> 1.5 overdue.
  // p2: every 10 days, last 5 days ago -> not due.
  // p3: every 20 days, last 40 days ago -> 2.0 overdue, but in the cart.
  // p4: every 7 days, last 14 days ago -> 2.0 overdue.
  // p5: bought once -> never due.
  c.features.purchases = {
      {1, 3, kNow - 35 * kDay, kNow - 15 * kDay}, {2, 2, kNow - 15 * kDay, kNow - 5 * kDay},
      {3, 2, kNow - 60 * kDay, kNow - 40 * kDay}, {4, 2, kNow - 21 * kDay, kNow - 14 * kDay},
      {5, 1, kNow - 50 * kDay, kNow - 50 * kDay}};
  const auto spec = Spec(PlacementSpec::Kind::kReplenishment, /*fill=*/false);
  const Decision d = Run(spec, &c, /*cart=*/{3});
  EXPECT_EQ(Products(d), (std::vector<ProductIndex>{4, 1}));
  EXPECT_NEAR(d.items[0].score, 2.0, 1e-9);
  EXPECT_EQ(d.items[1].purchases, 3u);
  EXPECT_EQ(d.items[1].interval, 10 * kDay);
  EXPECT_EQ(Reason(*catalog_, d.items[1], 0),
            "bought 3 times, about every 10 days; last 15 days ago");
}

TEST_F(DecisionTest, WithoutConsentNoPersonalSourceIsUsed) {
  for (bool present : {true, false}) {  // declined, or known only from events
    CustomerState c;
    c.attributes.present = present;
    c.features.recently_viewed = {{1, kNow - kDay}, {2, kNow - kDay}};
    c.features.purchases = {{3, 3, kNow - 40 * kDay, kNow - 20 * kDay}};
    for (auto kind : {PlacementSpec::Kind::kRecentlyViewed, PlacementSpec::Kind::kReplenishment}) {
      const auto spec = Spec(kind, /*fill=*/false);  // even a placement that never fills
      const Decision d = Run(spec, &c);
      EXPECT_FALSE(d.personalized);
      EXPECT_EQ(d.fallback, FallbackReason::kNoConsent);
      ASSERT_EQ(d.items.size(), 5u);
      for (const auto& item : d.items) EXPECT_EQ(item.source, Source::kTrending);
    }
  }
  // Consent given: personal again. Consent not required by config: personal.
  CustomerState c;
  c.features.recently_viewed = {{1, kNow - kDay}};
  const auto spec = Spec(PlacementSpec::Kind::kRecentlyViewed);
  DecisionRequest r;
  r.placement = &spec;
  r.customer = &c;
  r.now = kNow;
  r.require_consent = false;
  EXPECT_TRUE(Decide(*catalog_, *trending_, r).personalized);
  c.attributes.consent_personalization = true;
  EXPECT_TRUE(Run(spec, &c).personalized);
}

TEST_F(DecisionTest, CountIsCappedByPlacementMax) {
  const auto spec = Spec(PlacementSpec::Kind::kTrending);
  EXPECT_EQ(Run(spec, nullptr, {}, kNoProduct, 3).items.size(), 3u);
  EXPECT_EQ(Run(spec, nullptr, {}, kNoProduct, 100).items.size(), 10u);  // max 20, 10 products
}

TEST_F(DecisionTest, CountryComesFromStoreThenCustomer) {
  const auto spec = Spec(PlacementSpec::Kind::kTrending);
  CustomerState be;
  be.attributes.country = 1;
  EXPECT_EQ(Run(spec, &be).country, 1);
  DecisionRequest r;
  r.placement = &spec;
  r.customer = &be;
  r.store = 0;  // store s1 is in NL
  r.now = kNow;
  EXPECT_EQ(Decide(*catalog_, *trending_, r).country, 0);
  EXPECT_EQ(Run(spec, nullptr).country, 0);  // default market
}

// Property: whatever the catalog state and the customer, no placement ever
// returns an out-of-stock, inactive, unavailable, cart or on-screen product,
// or the same product twice.
TEST_F(DecisionTest, HardRulesHoldForRandomCatalogsAndCustomers) {
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 200; ++round) {
    auto empty = Catalog::Empty({"NL", "BE"}, "EUR");
    CatalogBuilder b(**empty);
    b.UpsertStore({"s1", 0, "", ""});
    b.UpsertStore({"s2", 1, "", ""});
    const int n = 20;
    for (int i = 0; i < n; ++i) {
      Product p;
      p.id = "p" + std::to_string(i);
      p.category_path = {"C"};
      p.active = rng() % 5 != 0;
      p.available_from = rng() % 6 == 0 ? kNow + kDay : 0;
      const ProductIndex idx = b.UpsertProduct(p);
      for (CountryIndex c = 0; c < 2; ++c) b.SetOnlineStock(idx, c, rng() % 3 != 0);
      for (StoreIndex s = 0; s < 2; ++s) b.SetStoreStock(idx, s, rng() % 3 != 0);
    }
    auto catalog = b.Build();
    std::vector<ProductPopularity> pop(n);
    for (int i = 0; i < n; ++i) AddPopularity(pop[i], kNow, 1 + rng() % 100, rng() % 2, 7);
    auto trending = BuildTrending(pop, *catalog, kNow, 7, 50);
    CustomerState c = Consenting();
    c.attributes.consent_personalization = rng() % 4 != 0;
    c.attributes.country = rng() % 2;
    for (int i = 0; i < 10; ++i) {
      c.features.recently_viewed.push_back({static_cast<ProductIndex>(rng() % n), kNow - i * kDay});
      c.features.purchases.push_back({static_cast<ProductIndex>(rng() % n), 2 + static_cast<uint32_t>(rng() % 5),
                                      kNow - 100 * kDay, kNow - static_cast<TimeMs>(rng() % 60) * kDay});
    }
    std::vector<ProductIndex> cart = {static_cast<ProductIndex>(rng() % n), static_cast<ProductIndex>(rng() % n)};
    for (auto kind : {PlacementSpec::Kind::kRecentlyViewed, PlacementSpec::Kind::kTrending,
                      PlacementSpec::Kind::kReplenishment}) {
      PlacementSpec spec = Spec(kind);
      DecisionRequest r;
      r.placement = &spec;
      r.customer = rng() % 4 == 0 ? nullptr : &c;
      r.store = rng() % 2 == 0 ? kNoStore : static_cast<StoreIndex>(rng() % 2);
      r.current_product = static_cast<ProductIndex>(rng() % n);
      r.cart = cart;
      r.count = 1 + rng() % 20;
      r.now = kNow;
      const Decision d = Decide(*catalog, *trending, r);
      std::vector<ProductIndex> seen;
      const bool consented = r.customer != nullptr && r.customer->attributes.consent_personalization;
      if (!consented) {
        EXPECT_FALSE(d.personalized);
      }
      for (const auto& item : d.items) {
        if (!consented) {
          EXPECT_EQ(item.source, Source::kTrending);
        }
        EXPECT_TRUE(catalog->Recommendable(item.product, kNow));
        EXPECT_TRUE(catalog->InStock(item.product, d.country, r.store));
        EXPECT_NE(item.product, r.current_product);
        EXPECT_EQ(std::count(cart.begin(), cart.end(), item.product), 0);
        EXPECT_EQ(std::count(seen.begin(), seen.end(), item.product), 0);
        seen.push_back(item.product);
      }
      EXPECT_LE(static_cast<int>(d.items.size()), r.count);
    }
  }
}

TEST(ReasonTest, Texts) {
  auto catalog = testing::MakeCatalog(1);
  EXPECT_EQ(Reason(*catalog, {0, 1, Source::kRecentlyViewed, kNow - 2 * kDay}, 0),
            "you viewed this 2 days ago");
  EXPECT_EQ(Reason(*catalog, {0, 1, Source::kRecentlyViewed, kNow - 3600000}, 0),
            "you viewed this today");
  EXPECT_EQ(Reason(*catalog, {0, 1, Source::kTrending}, 1), "popular in BE right now");
  EXPECT_EQ(Reason(*catalog, {0, 1, Source::kRecentlyViewed, kNow - kDay}, 0), "you viewed this yesterday");
}

}  // namespace
}  // namespace nextbest::core
