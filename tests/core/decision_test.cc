// Decisions: sources, blending, hard rules and reason texts.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "tests/core/decision_fixture.h"

namespace nextbest::core {
namespace {

using testing::Consenting;
using testing::DecisionTest;
using testing::kDay;
using testing::kNow;
using testing::OfferTest;
using testing::Spec;

TEST_F(DecisionTest, TrendingIsRankedByPopularity) {
  const auto spec = Spec({Source::kTrending});
  const Decision d = Run(spec, nullptr);
  EXPECT_EQ(Products(d), (std::vector<ProductIndex>{9, 8, 7, 6, 5}));
  EXPECT_FALSE(d.personalized);
  EXPECT_EQ(d.fallback, FallbackReason::kNone);
  EXPECT_EQ(d.items[0].source, Source::kTrending);
}

TEST_F(DecisionTest, RecentlyViewedMostRecentFirstExcludingScreenAndCart) {
  CustomerState c = Consenting();
  c.features.recently_viewed = {
      {3, kNow - kDay}, {1, kNow - 2 * kDay}, {4, kNow - 3 * kDay}, {2, kNow - 4 * kDay}};
  const auto spec = Spec({Source::kRecentlyViewed}, /*fill=*/false);
  const Decision d = Run(spec, &c, /*cart=*/{4}, /*current=*/3);
  EXPECT_EQ(Products(d), (std::vector<ProductIndex>{1, 2}));
  EXPECT_TRUE(d.personalized);
  EXPECT_EQ(d.fallback, FallbackReason::kNone);  // no fill asked for
  EXPECT_GT(d.items[0].score, d.items[1].score);
  EXPECT_EQ(Reason(d.items[0]), "you viewed this 2 days ago");
}

TEST_F(DecisionTest, UnknownCustomerGetsPopularFallback) {
  const auto spec = Spec({Source::kRecentlyViewed}, /*fill=*/false);
  const Decision d = Run(spec, nullptr);
  EXPECT_EQ(d.items.size(), 5u);
  EXPECT_EQ(d.fallback, FallbackReason::kUnknownCustomer);
  EXPECT_FALSE(d.personalized);
  for (const auto& i : d.items) EXPECT_EQ(i.source, Source::kTrending);
}

TEST_F(DecisionTest, FillWithTrendingNeverRepeatsAnItem) {
  CustomerState c = Consenting();
  c.features.recently_viewed = {{9, kNow - kDay}, {8, kNow - kDay}};
  const auto spec = Spec({Source::kRecentlyViewed});
  const Decision d = Run(spec, &c);
  EXPECT_EQ(Products(d), (std::vector<ProductIndex>{9, 8, 7, 6, 5}));
  EXPECT_EQ(d.items[1].source, Source::kRecentlyViewed);
  EXPECT_EQ(d.items[2].source, Source::kTrending);
  // Personal items, filled up: personalized, no fallback reason (the two
  // agree), and the fill counted.
  EXPECT_TRUE(d.personalized);
  EXPECT_EQ(d.fallback, FallbackReason::kNone);
  EXPECT_EQ(d.filled, 3);
}

TEST_F(DecisionTest, ReplenishmentJustDueFirstWithinMaxOverdueMinusCart) {
  CustomerState c = Consenting();
  // p1: every 10 days, last 15 days ago -> 1.5 intervals: due.
  // p2: every 10 days, last 5 days ago -> not due.
  // p3: every 20 days, last 40 days ago -> 2.0, but in the cart.
  // p4: every 7 days, last 14 days ago -> 2.0: due, later than p1.
  // p5: bought once -> never due.
  // p6: every 5 days, last 50 days ago -> 10 intervals: lapsed (max_overdue 3).
  c.features.purchases = {
      {1, 3, kNow - 35 * kDay, kNow - 15 * kDay}, {2, 2, kNow - 15 * kDay, kNow - 5 * kDay},
      {3, 2, kNow - 60 * kDay, kNow - 40 * kDay}, {4, 2, kNow - 21 * kDay, kNow - 14 * kDay},
      {5, 1, kNow - 50 * kDay, kNow - 50 * kDay}, {6, 2, kNow - 55 * kDay, kNow - 50 * kDay}};
  auto spec = Spec({Source::kReplenishment}, /*fill=*/false);
  spec.max_overdue = 3;
  const Decision d = Run(spec, &c, /*cart=*/{3});
  EXPECT_EQ(Products(d), (std::vector<ProductIndex>{1, 4}));
  EXPECT_EQ(d.items[0].purchases, 3u);
  EXPECT_EQ(d.items[0].interval, 10 * kDay);
  EXPECT_EQ(Reason(d.items[0]), "bought 3 times, about every 10 days; last 15 days ago");
  spec.max_overdue = 0;  // no bound: the lapsed habit comes back, last
  EXPECT_EQ(Products(Run(spec, &c, {3})), (std::vector<ProductIndex>{1, 4, 6}));
}

TEST_F(DecisionTest, WithoutConsentNoPersonalSourceIsUsed) {
  for (bool present : {true, false}) {  // declined, or known only from events
    CustomerState c;
    c.attributes.present = present;
    c.features.recently_viewed = {{1, kNow - kDay}, {2, kNow - kDay}};
    c.features.purchases = {{3, 3, kNow - 40 * kDay, kNow - 20 * kDay}};
    c.features.affinities = {{0, 5.0}};
    for (Source src : {Source::kRecentlyViewed, Source::kReplenishment, Source::kAffinity,
                       Source::kCoPurchase}) {
      const auto spec = Spec({src}, /*fill=*/false);  // even a placement that never fills
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
  const auto spec = Spec({Source::kRecentlyViewed});
  DecisionRequest r = Request(spec, &c);
  r.require_consent = false;
  EXPECT_TRUE(Decide(*catalog_, *trending_, r).personalized);
  c.attributes.consent_personalization = true;
  EXPECT_TRUE(Run(spec, &c).personalized);
}

TEST_F(DecisionTest, CountIsCappedByPlacementMax) {
  const auto spec = Spec({Source::kTrending});
  EXPECT_EQ(Run(spec, nullptr, {}, kNoProduct, 3).items.size(), 3u);
  EXPECT_EQ(Run(spec, nullptr, {}, kNoProduct, 100).items.size(), 10u);  // max 20, 10 products
}

TEST_F(DecisionTest, CountryComesFromStoreThenCustomer) {
  const auto spec = Spec({Source::kTrending});
  CustomerState be;
  be.attributes.country = 1;
  EXPECT_EQ(Run(spec, &be).country, 1);
  DecisionRequest r = Request(spec, &be);
  r.store = 0;  // store s1 is in NL
  EXPECT_EQ(Decide(*catalog_, *trending_, r).country, 0);
  EXPECT_EQ(Run(spec, nullptr).country, 0);  // default market
}

TEST_F(DecisionTest, SourcesBlendByWeightAndExplainTheirContributions) {
  CustomerState c = Consenting();
  // Viewed p1 (today) and p10 (9 days ago); p10 is also the most popular.
  c.features.recently_viewed = {{0, kNow}, {9, kNow - 9 * kDay}};
  PlacementSpec spec = Spec({Source::kRecentlyViewed, Source::kTrending});
  spec.sources[1].weight = 0.5;
  Explanation explain;
  DecisionRequest r = Request(spec, &c);
  r.explain = &explain;
  const Decision d = Decide(*catalog_, *trending_, r);
  // p10: 0.1 (viewed, normalised 1/(1+9) / 1) + 0.5 (trending best) = 0.6.
  // p1: 1.0 (viewed today) + 0.5 * 1/10 (least popular) = 1.05.
  ASSERT_GE(d.items.size(), 2u);
  EXPECT_EQ(d.items[0].product, 0u);
  EXPECT_NEAR(d.items[0].score, 1.05, 1e-6);
  EXPECT_EQ(d.items[1].product, 9u);
  EXPECT_NEAR(d.items[1].score, 0.6, 1e-4);
  ASSERT_EQ(explain.items.size(), d.items.size());
  const ItemExplanation& e = explain.items[1];
  ASSERT_EQ(e.contributions.size(), 2u);
  double sum = 0;
  for (const Contribution& k : e.contributions) sum += k.value;
  EXPECT_NEAR(sum, e.relevance, 1e-6);
  EXPECT_EQ(d.items[1].source, Source::kTrending);  // the larger contribution
  EXPECT_GT(explain.candidates, 2u);
}

TEST_F(DecisionTest, NeighboursComeFromTheContextWithoutPersonalData) {
  // Three customers bought p1 and p2 together, one p1 and p3.
  std::vector<CustomerState> pop(4);
  for (int i = 0; i < 3; ++i)
    pop[i].features.purchases = {{0, 1, kNow - kDay, kNow - kDay},
                                 {1, 1, kNow - kDay, kNow - kDay}};
  pop[3].features.purchases = {{0, 1, kNow - kDay, kNow - kDay}, {2, 1, kNow - kDay, kNow - kDay}};
  Learn(pop);
  PlacementSpec spec = Spec({Source::kCoPurchase}, /*fill=*/false);
  spec.sources[0].seed = Seed::kContext;
  const Decision d = Run(spec, nullptr, {}, /*current=*/0);
  EXPECT_EQ(Products(d), (std::vector<ProductIndex>{1, 2}));
  EXPECT_EQ(d.fallback, FallbackReason::kNone);
  EXPECT_FALSE(d.personalized);
  EXPECT_EQ(Reason(d.items[0]), "often bought together with Product 1");
  // History seeds need the customer: p2's neighbour p1 for a buyer of p2.
  spec.sources[0].seed = Seed::kHistory;
  CustomerState c = Consenting();
  c.features.purchases = {{1, 1, kNow - kDay, kNow - kDay}};
  const Decision h = Run(spec, &c);
  EXPECT_EQ(Products(h), (std::vector<ProductIndex>{0}));
  EXPECT_TRUE(h.personalized);
}

TEST_F(DecisionTest, ProductFiltersAndCallerExclusionsAreHard) {
  // MakeCatalog: p(i) has category Cat/Sub(i % 3) and price 100 * i.
  PlacementSpec spec = Spec({Source::kTrending});
  spec.default_count = 10;
  spec.filter.exclude_categories = {"Cat/Sub0"};  // p3, p6, p9
  spec.filter.max_price_minor = 800;              // drops p9, p10
  Explanation explain;
  DecisionRequest r = Request(spec, nullptr);
  r.explain = &explain;
  const std::vector<ProductIndex> exclude = {7};  // p8
  r.exclude = exclude;
  const Decision d = Decide(*catalog_, *trending_, r);
  EXPECT_EQ(Products(d), (std::vector<ProductIndex>{6, 4, 3, 1, 0}));  // p7 p5 p4 p2 p1
  std::vector<std::string> rules;
  for (const auto& x : explain.dropped) rules.push_back(DropRuleName(x.rule));
  EXPECT_EQ(rules, (std::vector<std::string>{"price_range", "category_filter", "excluded_by_caller",
                                             "category_filter", "category_filter"}));
}

// Sizes: index 9 (p10, the most popular) comes in XS only, index 8 (p9)
// in S/M/L; the customer bought M in index 9's category.
TEST_F(DecisionTest, SizeFitLeavesOutWhatDoesNotFitTheCustomer) {
  CatalogBuilder b(*catalog_);
  Product xs = catalog_->product(9);
  xs.sizes = {"XS"};
  b.UpsertProduct(xs);
  Product sml = catalog_->product(8);
  sml.sizes = {"S", "M", "L"};
  b.UpsertProduct(sml);
  catalog_ = b.Build();
  CustomerState c = Consenting();
  c.features.sizes.push_back({catalog_->product(9).category, 1, kNow - kDay, "M"});
  PlacementSpec spec = Spec({Source::kTrending});
  Explanation explain;
  DecisionRequest r = Request(spec, &c);
  r.explain = &explain;
  Decision d = Decide(*catalog_, *trending_, r);
  EXPECT_EQ(Products(d), (std::vector<ProductIndex>{8, 7, 6, 5, 4}));
  ASSERT_FALSE(explain.dropped.empty());
  EXPECT_EQ(explain.dropped[0].product, 9u);
  EXPECT_STREQ(DropRuleName(explain.dropped[0].rule), "size_not_fitting");
  // Declared sizes come first: declaring XS for "Cat" brings p10 back and
  // leaves out the S/M/L product.
  c.attributes.sizes = {{"Cat", {"XS"}}};
  EXPECT_EQ(Products(Run(spec, &c)), (std::vector<ProductIndex>{9, 7, 6, 5, 4}));
  // A placement may switch the rule off; without consent sizes are not
  // used (nothing personal is).
  spec.size_fit = false;
  EXPECT_EQ(Products(Run(spec, &c)), (std::vector<ProductIndex>{9, 8, 7, 6, 5}));
  spec.size_fit = true;
  c.attributes.consent_personalization = false;
  EXPECT_EQ(Products(Run(spec, &c)), (std::vector<ProductIndex>{9, 8, 7, 6, 5}));
}

TEST_F(DecisionTest, BrandAffinityProposesTheFavouriteBrandsPopularProducts) {
  // p1, p2 and p3 are Alpha, the rest Beta; the customer likes Alpha.
  CatalogBuilder b(*catalog_);
  for (ProductIndex p = 0; p < 10; ++p) {
    Product prod = catalog_->product(p);
    prod.brand = p < 3 ? "Alpha" : "Beta";
    b.UpsertProduct(std::move(prod));
  }
  catalog_ = b.Build();
  std::vector<ProductPopularity> pop(10);
  for (int i = 0; i < 10; ++i) AddPopularity(pop[i], kNow, 1.0 + i, 0, 7);
  trending_ = BuildTrending(pop, *catalog_, kNow, 7, 100);
  CustomerState c = Consenting();
  const BrandIndex alpha = *catalog_->FindBrand("Alpha");
  c.features.affinity_ref = kNow;
  c.features.brand_affinities = {{alpha, 4.0}, {*catalog_->FindBrand("Beta"), 0.5}};
  PlacementSpec spec = Spec({Source::kBrandAffinity}, /*fill=*/false);
  spec.sources[0].limit = 3;  // split over the favourite brands by share
  const Decision d = Run(spec, &c);
  ASSERT_GE(d.items.size(), 2u);
  EXPECT_EQ(d.items[0].product, 2u);  // Alpha's most popular
  EXPECT_EQ(d.items[0].source, Source::kBrandAffinity);
  EXPECT_EQ(d.items[0].brand, alpha);
  EXPECT_TRUE(d.personalized);
  EXPECT_EQ(Reason(d.items[0]), "popular from Alpha, one of your favourite brands");
  // Beta is on 7 of the 10 products: a house brand says nothing about taste.
  c.features.brand_affinities = {{*catalog_->FindBrand("Beta"), 5.0}};
  EXPECT_TRUE(Run(spec, &c).items.empty());
  // Personal: nothing without consent.
  c.attributes.consent_personalization = false;
  const Decision anon = Run(spec, &c);
  EXPECT_EQ(anon.fallback, FallbackReason::kNoConsent);
  for (const auto& i : anon.items) EXPECT_EQ(i.source, Source::kTrending);
}

TEST_F(DecisionTest, TrendingScopesStoreCategoryAndOverall) {
  // Store s1 (index 0) sells p2 and p4 best; s2 (index 1) has no list.
  std::vector<ProductPopularity> pop(10);
  for (int i = 0; i < 10; ++i) AddPopularity(pop[i], kNow, 1.0 + i, i < 5 ? 1 : 0, 7);
  StorePopularity stores(2);
  AddStoreScore(stores[0][3], kNow, 5, 7);
  AddStoreScore(stores[0][1], kNow, 9, 7);
  CatalogBuilder b(*catalog_);
  b.UpsertStore({"s1", 0, "HEMA Utrecht", "Utrecht"});
  catalog_ = b.Build();
  trending_ = BuildTrending(pop, *catalog_, kNow, 7, 100, &stores);
  PlacementSpec spec = Spec({Source::kTrending}, /*fill=*/false);
  spec.sources[0].scope = TrendingScope::kStore;
  // The request's store.
  DecisionRequest r = Request(spec, nullptr);
  r.store = 0;
  Decision d = Decide(*catalog_, *trending_, r);
  EXPECT_EQ(Products(d), (std::vector<ProductIndex>{1, 3}));
  EXPECT_EQ(Reason(d.items[0]), "popular in HEMA Utrecht right now");
  // No store in the request: the customer's home store (with consent).
  CustomerState c = Consenting();
  c.attributes.home_store = 0;
  EXPECT_EQ(Products(Run(spec, &c)), (std::vector<ProductIndex>{1, 3}));
  c.attributes.consent_personalization = false;
  // Without consent, or for a store without a list: the market's list (NL:
  // p6..p10 by popularity).
  EXPECT_EQ(Products(Run(spec, &c)), (std::vector<ProductIndex>{9, 8, 7, 6, 5}));
  r.store = 1;
  d = Decide(*catalog_, *trending_, r);
  EXPECT_EQ(Products(d).size(), 5u);
  EXPECT_EQ(Reason(d.items[0], d.country), "popular in BE right now");  // s2 is in BE
  // Category: the product on screen's category (p10 is Cat/Sub1: p1, p4, p7, p10).
  spec.sources[0].scope = TrendingScope::kCategory;
  d = Run(spec, nullptr, {}, /*current=*/9);
  EXPECT_EQ(Products(d), (std::vector<ProductIndex>{6, 3, 0}));
  EXPECT_EQ(Reason(d.items[0]), "popular in Sub1 right now");
  // Overall: every market together.
  spec.sources[0].scope = TrendingScope::kOverall;
  d = Run(spec, nullptr);
  EXPECT_EQ(Products(d), (std::vector<ProductIndex>{9, 8, 7, 6, 5}));
  EXPECT_EQ(Reason(d.items[0]), "popular in all markets right now");
}

TEST_F(DecisionTest, ManyCandidatesFromOneSource) {
  // More candidates than the scratch table starts with (256 slots).
  auto catalog = testing::MakeCatalog(900);
  std::vector<ProductPopularity> pop(900);
  for (int i = 0; i < 900; ++i) AddPopularity(pop[i], kNow, 1.0 + i, 0, 7);
  auto trending = BuildTrending(pop, *catalog, kNow, 7, 1000);
  PlacementSpec spec = Spec({Source::kTrending});
  spec.sources[0].limit = 1000;
  spec.default_count = 3;
  DecisionRequest r = Request(spec, nullptr);
  EXPECT_EQ(Products(Decide(*catalog, *trending, r)), (std::vector<ProductIndex>{899, 898, 897}));
}

TEST_F(DecisionTest, RotationVariesNearEqualCandidatesDeterministicallyPerRequest) {
  // Ten products with popularity 100..109: all within 10 % of each other.
  std::vector<ProductPopularity> pop(10);
  for (int i = 0; i < 10; ++i) AddPopularity(pop[i], kNow, 100.0 + i, 0, 7);
  trending_ = BuildTrending(pop, *catalog_, kNow, 7, 100);
  PlacementSpec spec = Spec({Source::kTrending}, /*fill=*/false);
  spec.default_count = 3;
  auto top = [&](uint64_t seed) {
    DecisionRequest r = Request(spec, nullptr);
    r.rotation_seed = seed;
    return Products(Decide(*catalog_, *trending_, r));
  };
  const auto plain = top(0);
  EXPECT_EQ(plain, (std::vector<ProductIndex>{9, 8, 7}));
  EXPECT_EQ(top(12345), plain);  // no rotation configured: seeds change nothing
  spec.rotation = 0.3;
  EXPECT_EQ(top(0), plain);  // no seed: no rotation
  std::set<std::vector<ProductIndex>> seen;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    EXPECT_EQ(top(seed), top(seed));  // the same request, the same answer
    seen.insert(top(seed));
  }
  EXPECT_GT(seen.size(), 3u);  // different requests see different near-equal items
  // Far-apart candidates never swap: p10 with popularity 1000 stays first.
  AddPopularity(pop[9], kNow, 900, 0, 7);
  trending_ = BuildTrending(pop, *catalog_, kNow, 7, 100);
  for (uint64_t seed = 1; seed <= 20; ++seed) EXPECT_EQ(top(seed)[0], 9u);
}

TEST_F(DecisionTest, CategoryLimitKeepsTheAnswerDiverse) {
  PlacementSpec spec = Spec({Source::kTrending});
  spec.default_count = 6;
  spec.max_per_category = 2;
  const Decision d = Decide(*catalog_, *trending_, Request(spec, nullptr));
  std::map<CategoryIndex, int> per;
  for (const auto& it : d.items) ++per[catalog_->product(it.product).category];
  EXPECT_EQ(d.items.size(), 6u);
  for (const auto& [cat, n] : per) EXPECT_LE(n, 2);
}

TEST_F(DecisionTest, BoughtRecentlyIsLeftOutButNotForReplenishment) {
  CustomerState c = Consenting();
  c.features.purchases = {{9, 2, kNow - 20 * kDay, kNow - 10 * kDay}};  // p10, due
  PlacementSpec spec = Spec({Source::kReplenishment, Source::kTrending});
  spec.exclude_bought_within_days = 30;
  const Decision d = Run(spec, &c);
  EXPECT_EQ(d.items[0].product, 9u);  // replenishment may repeat a purchase
  spec.sources.erase(spec.sources.begin());
  const Decision t = Run(spec, &c);
  for (const auto& it : t.items) EXPECT_NE(it.product, 9u);  // trending may not
}

TEST_F(DecisionTest, ReasonTexts) {
  EXPECT_EQ(Reason({0, -1, 1, Source::kRecentlyViewed, kNow - 2 * kDay}),
            "you viewed this 2 days ago");
  EXPECT_EQ(Reason({0, -1, 1, Source::kRecentlyViewed, kNow - 3600000}), "you viewed this today");
  EXPECT_EQ(Reason({0, -1, 1, Source::kTrending}, 1), "popular in BE right now");
  EXPECT_EQ(Reason({0, -1, 1, Source::kRecentlyViewed, kNow - kDay}), "you viewed this yesterday");
  DecidedItem n{0, -1, 1, Source::kCoView};
  n.seed = 1;
  EXPECT_EQ(Reason(n), "viewed by others who viewed Product 2");
  DecidedItem a{0, -1, 1, Source::kAffinity};
  a.category = catalog_->product(0).category;
  EXPECT_EQ(Reason(a), "popular in Sub1, one of your favourite categories");
  a.source = Source::kNewArrivals;
  EXPECT_EQ(Reason(a), "new in Sub1");
}

}  // namespace
}  // namespace nextbest::core
