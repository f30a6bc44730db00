#include "core/decision.h"

#include <gtest/gtest.h>

#include <cmath>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/models.h"
#include "tests/core/test_catalog.h"

namespace nextbest::core {
namespace {

constexpr TimeMs kDay = kMsPerDay;
constexpr TimeMs kNow = 1'700'000'000'000;

PlacementSpec Spec(std::vector<Source> sources, bool fill = true) {
  PlacementSpec s;
  s.id = "test";
  for (Source src : sources) s.sources.push_back({src, 1.0, 50, Seed::kBoth});
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
  static std::vector<ProductIndex> Products(const Decision& d) {
    std::vector<ProductIndex> out;
    for (const auto& i : d.items) out.push_back(i.product);
    return out;
  }
  DecisionRequest Request(const PlacementSpec& spec, const CustomerState* customer) {
    DecisionRequest r;
    r.config = &config_;
    r.placement = &spec;
    r.customer = customer;
    r.customer_id = "c1";
    r.models = models_.get();
    r.ledger = &ledger_;
    r.now = kNow;
    return r;
  }
  Decision Run(const PlacementSpec& spec, const CustomerState* customer,
               std::vector<ProductIndex> cart = {}, ProductIndex current = kNoProduct, int count = 0) {
    DecisionRequest r = Request(spec, customer);
    r.cart = cart;
    r.current_product = current;
    r.count = count;
    return Decide(*catalog_, *trending_, r);
  }
  std::string Reason(const DecidedItem& item, CountryIndex country = 0) {
    std::string out;
    DescribeReason(*catalog_, config_, item, country, kNow, out);
    return out;
  }
  // Models learned from `customers` (for the neighbour sources).
  void Learn(const std::vector<CustomerState>& customers) {
    ModelOptions o;
    o.min_support = 1;
    ModelBuilder b(o, *catalog_, config_, kNow);
    for (const auto& c : customers) b.Add(c.features);
    b.Thresholds();
    for (const auto& c : customers) b.Count(c, true);
    models_ = b.Finish(0);
  }

  std::unique_ptr<const Catalog> catalog_;
  std::unique_ptr<const TrendingSnapshot> trending_;
  std::unique_ptr<const Models> models_;
  DecisionConfig config_;
  OfferLedger ledger_;
};

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
  c.features.recently_viewed = {{3, kNow - kDay}, {1, kNow - 2 * kDay}, {4, kNow - 3 * kDay},
                                {2, kNow - 4 * kDay}};
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
  EXPECT_EQ(d.fallback, FallbackReason::kTooFewPersonal);
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
  for (int i = 0; i < 3; ++i) pop[i].features.purchases = {{0, 1, kNow - kDay, kNow - kDay}, {1, 1, kNow - kDay, kNow - kDay}};
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

class OfferTest : public DecisionTest {
 protected:
  void SetUp() override {
    DecisionTest::SetUp();
    PlacementSpec spec = Spec({Source::kOffer}, /*fill=*/false);
    spec.id = "offers";
    spec.default_count = 3;
    DecisionConfig c;
    c.placements.push_back(spec);
    OfferSpec a;
    a.id = "a";
    a.title = "Offer A";
    a.priority = 3;
    a.placements = {"offers"};
    OfferSpec b = a;
    b.id = "b";
    b.title = "Offer B";
    b.priority = 2;
    b.eligibility.loyalty_member = 1;
    OfferSpec window = a;
    window.id = "later";
    window.start = kNow + kDay;
    OfferSpec push = a;
    push.id = "push";
    push.type = OfferType::kProductPush;
    push.product_id = "p3";
    push.priority = 1;
    c.offers = {a, b, window, push};
    ledger_.Attach(c);
    built_ = *DecisionConfig::Build(std::move(c));
    config_ = *built_;  // copy the indexed config into the fixture's
  }
  std::vector<std::string> Offers(const Decision& d) {
    std::vector<std::string> out;
    for (const auto& it : d.items) out.push_back(it.offer >= 0 ? config_.offers[it.offer].id : "?");
    return out;
  }
  std::unique_ptr<const DecisionConfig> built_;
};

TEST_F(OfferTest, EligibilityWindowAndPriorityDecide) {
  CustomerState member = Consenting();
  member.attributes.loyalty_member = true;
  const PlacementSpec& spec = config_.placements[0];
  EXPECT_EQ(Offers(Run(spec, &member)), (std::vector<std::string>{"a", "b", "push"}));
  CustomerState other = Consenting();
  EXPECT_EQ(Offers(Run(spec, &other)), (std::vector<std::string>{"a", "push"}));
  // Loyalty is personal data: without consent "b" does not apply.
  member.attributes.consent_personalization = false;
  EXPECT_EQ(Offers(Run(spec, &member)), (std::vector<std::string>{"a", "push"}));
  EXPECT_EQ(Reason(Run(spec, &other).items[0]), "Offer A");
}

TEST_F(OfferTest, ProductPushObeysTheProductRules) {
  CustomerState c = Consenting();
  const PlacementSpec& spec = config_.placements[0];
  const Decision d = Run(spec, &c, /*cart=*/{2});  // p3 in the cart
  EXPECT_EQ(Offers(d), (std::vector<std::string>{"a"}));
}

TEST_F(OfferTest, PerCustomerAndTotalCapsAreExact) {
  config_.offers[0].per_customer_cap = 2;
  config_.offers[0].cap_period_ms = 7 * kDay;
  config_.offers[3].total_cap = 3;
  const PlacementSpec& spec = config_.placements[0];
  CustomerState c = Consenting();
  int a_shown = 0, push_shown = 0;
  for (int i = 0; i < 5; ++i) {
    DecisionRequest r = Request(spec, &c);
    r.customer_id = "c-cap";
    Explanation explain;
    r.explain = &explain;
    for (const auto& it : Decide(*catalog_, *trending_, r).items) {
      a_shown += config_.offers[it.offer].id == "a";
      push_shown += config_.offers[it.offer].id == "push";
    }
    if (i == 4) {
      std::vector<std::string> rules;
      for (const auto& x : explain.dropped) rules.push_back(DropRuleName(x.rule));
      EXPECT_NE(std::find(rules.begin(), rules.end(), "offer_customer_cap"), rules.end());
      EXPECT_NE(std::find(rules.begin(), rules.end(), "offer_total_cap"), rules.end());
    }
  }
  EXPECT_EQ(a_shown, 2);
  EXPECT_EQ(push_shown, 3);
  // A week later the per-customer window has rolled on; the total cap has not.
  DecisionRequest r = Request(spec, &c);
  r.customer_id = "c-cap";
  r.now = kNow + 8 * kDay;
  // ("later" has started by then.)
  EXPECT_EQ(Offers(Decide(*catalog_, *trending_, r)), (std::vector<std::string>{"a", "later"}));
}

TEST_F(OfferTest, CapsHoldUnderConcurrentRequests) {
  config_.offers[0].per_customer_cap = 3;
  config_.offers[0].cap_period_ms = 7 * kDay;
  config_.offers[3].total_cap = 50;
  const PlacementSpec& spec = config_.placements[0];
  CustomerState c = Consenting();
  std::atomic<int> a_shown{0}, push_shown{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        DecisionRequest r = Request(spec, &c);
        const std::string id = i % 2 == 0 ? "same" : "c" + std::to_string(t * 1000 + i);
        r.customer_id = id;
        for (const auto& it : Decide(*catalog_, *trending_, r).items) {
          if (config_.offers[it.offer].id == "a" && id == "same") ++a_shown;
          if (config_.offers[it.offer].id == "push") ++push_shown;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(a_shown.load(), 3);
  EXPECT_EQ(push_shown.load(), 50);
  EXPECT_EQ(config_.offers[3].counters->served.load(), 50);
}

// Size fit as the README states it, independently of the implementation:
// known sizes are the declared ones of the longest prefix ("C" or "C/<k>")
// of the product's category, else those bought in it and not returned.
bool Fits(const CustomerState& c, const Product& p) {
  if (p.sizes.empty()) return true;
  const std::string path = "C/" + p.category_path[1];
  const SizePreference* declared = nullptr;
  for (const SizePreference& d : c.attributes.sizes) {
    if ((d.category_prefix == "C" || d.category_prefix == path) &&
        (declared == nullptr || d.category_prefix.size() > declared->category_prefix.size())) {
      declared = &d;
    }
  }
  std::vector<std::string> known;
  if (declared != nullptr) {
    known = declared->sizes;
  } else {
    for (const SizeSeen& s : c.features.sizes) {
      if (s.category == p.category && s.net > 0) known.push_back(s.size);
    }
  }
  if (known.empty()) return true;
  for (const std::string& s : p.sizes) {
    if (std::count(known.begin(), known.end(), s) > 0) return true;
  }
  return false;
}

// Property: whatever the catalog state, the customer and the placement, no
// answer ever holds an out-of-stock, inactive, unavailable, cart, on-screen
// or excluded product, a product outside the filters, more than the
// per-category limit, a size that does not fit the customer, an ineligible
// or capped offer, or a repeat.
TEST_F(DecisionTest, HardRulesHoldForRandomCatalogsCustomersAndPlacements) {
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937_64 rng(seed);
  const std::vector<Source> all = {Source::kRecentlyViewed, Source::kTrending, Source::kReplenishment,
                                   Source::kCoPurchase, Source::kCoView, Source::kAffinity,
                                   Source::kNewArrivals, Source::kOffer, Source::kBrandAffinity};
  const std::vector<std::string> size_range = {"S", "M", "L"};
  for (int round = 0; round < 300; ++round) {
    auto empty = Catalog::Empty({"NL", "BE"}, "EUR");
    CatalogBuilder b(**empty);
    b.UpsertStore({"s1", 0, "", ""});
    b.UpsertStore({"s2", 1, "", ""});
    const int n = 24;
    for (int i = 0; i < n; ++i) {
      Product p;
      p.id = "p" + std::to_string(i);
      p.category_path = {"C", std::to_string(i % 4)};
      p.brand = rng() % 2 ? "A" : "B";
      p.price_minor = 100 + static_cast<int64_t>(rng() % 1000);
      p.active = rng() % 5 != 0;
      p.available_from = rng() % 6 == 0 ? kNow + kDay : kNow - static_cast<TimeMs>(rng() % 60) * kDay;
      if (i % 4 < 2) {  // clothing: a random non-empty subset of S, M, L
        for (const std::string& size : size_range) {
          if (rng() % 2) p.sizes.push_back(size);
        }
        if (p.sizes.empty()) p.sizes.push_back(size_range[rng() % 3]);
      }
      const ProductIndex idx = b.UpsertProduct(p);
      for (CountryIndex c = 0; c < 2; ++c) b.SetOnlineStock(idx, c, rng() % 3 != 0);
      for (StoreIndex s = 0; s < 2; ++s) b.SetStoreStock(idx, s, rng() % 3 != 0);
    }
    auto catalog = b.Build();
    std::vector<ProductPopularity> pop(n);
    for (int i = 0; i < n; ++i) AddPopularity(pop[i], kNow, 1 + rng() % 100, rng() % 2, 7);
    StorePopularity stores(2);
    for (int k = 0; k < 12; ++k) {
      AddStoreScore(stores[rng() % 2][static_cast<ProductIndex>(rng() % n)], kNow, 1 + rng() % 10, 7);
    }
    auto trending = BuildTrending(pop, *catalog, kNow, 7, 50, &stores);

    auto random_customer = [&] {
      CustomerState c = Consenting();
      c.attributes.consent_personalization = rng() % 4 != 0;
      c.attributes.loyalty_member = rng() % 2;
      c.attributes.country = rng() % 2;
      for (int i = 0; i < 10; ++i) {
        c.features.recently_viewed.push_back({static_cast<ProductIndex>(rng() % n), kNow - i * kDay});
        c.features.purchases.push_back({static_cast<ProductIndex>(rng() % n), 2 + static_cast<uint32_t>(rng() % 5),
                                        kNow - 100 * kDay, kNow - static_cast<TimeMs>(rng() % 60) * kDay});
        c.features.affinities.push_back({static_cast<CategoryIndex>(rng() % 4), 1.0 + rng() % 10});
      }
      c.features.brand_affinities.push_back({static_cast<BrandIndex>(rng() % 2), 1.0 + rng() % 10});
      for (int i = 0; i < 3; ++i) {
        c.features.sizes.push_back({static_cast<CategoryIndex>(rng() % 4),
                                    static_cast<int32_t>(rng() % 3) - 1, kNow, size_range[rng() % 3]});
      }
      if (rng() % 3 == 0) c.attributes.sizes.push_back({"C", {size_range[rng() % 3]}});
      if (rng() % 3 == 0) {
        c.attributes.sizes.push_back({"C/" + std::to_string(rng() % 4), {size_range[rng() % 3]}});
      }
      c.attributes.home_store = rng() % 3 == 0 ? kNoStore : static_cast<StoreIndex>(rng() % 2);
      return c;
    };
    std::vector<CustomerState> population;
    for (int i = 0; i < 20; ++i) population.push_back(random_customer());

    PlacementSpec spec;
    spec.id = "p";
    for (Source s : all) {
      if (rng() % 2) spec.sources.push_back({s, 0.1 + (rng() % 10) / 10.0, 1 + static_cast<int>(rng() % 30),
                                             static_cast<Seed>(1 + rng() % 3)});
    }
    if (spec.sources.empty()) spec.sources.push_back({Source::kTrending});
    for (SourceSpec& src : spec.sources) {
      if (src.source == Source::kTrending) src.scope = static_cast<TrendingScope>(rng() % 4);
    }
    spec.size_fit = rng() % 4 != 0;
    spec.max_count = 20;
    spec.fill_with_trending = rng() % 2;
    spec.max_per_category = static_cast<int>(rng() % 3);
    if (rng() % 3 == 0) spec.filter.exclude_categories = {"C/1"};
    if (rng() % 3 == 0) spec.filter.include_brands = {"A"};
    if (rng() % 3 == 0) spec.filter.max_price_minor = 700;
    spec.exclude_bought_within_days = rng() % 2 ? 30 : 0;
    DecisionConfig dc;
    dc.placements.push_back(spec);
    for (int o = 0; o < 4; ++o) {
      OfferSpec offer;
      offer.id = "o" + std::to_string(o);
      offer.title = offer.id;
      offer.placements = {"p"};
      offer.priority = 1 + rng() % 3;
      if (rng() % 2) offer.eligibility.loyalty_member = 1;
      if (rng() % 3 == 0) offer.eligibility.countries = 1;  // NL only
      if (rng() % 3 == 0) offer.end = kNow - kDay;          // expired
      offer.per_customer_cap = 1 + static_cast<int>(rng() % 2);
      offer.cap_period_ms = 30 * kDay;
      offer.total_cap = 5 + static_cast<int64_t>(rng() % 5);
      if (rng() % 3 == 0) {
        offer.type = OfferType::kProductPush;
        offer.product_id = "p" + std::to_string(rng() % n);
      }
      dc.offers.push_back(offer);
    }
    OfferLedger ledger;
    ledger.Attach(dc);
    auto config = *DecisionConfig::Build(dc);
    ModelOptions mo;
    mo.min_support = 1;
    ModelBuilder mb(mo, *catalog, *config, kNow);
    for (const auto& c : population) mb.Add(c.features);
    mb.Thresholds();
    auto models = mb.Finish(0);

    std::map<std::pair<std::string, int>, int> shown_to;  // (customer, offer)
    std::vector<int> shown(config->offers.size());
    for (int q = 0; q < 10; ++q) {
      const int who = static_cast<int>(rng() % 5);
      const CustomerState* customer = rng() % 5 == 0 ? nullptr : &population[who];
      const std::string customer_id = "c" + std::to_string(who);
      std::vector<ProductIndex> cart = {static_cast<ProductIndex>(rng() % n)};
      std::vector<ProductIndex> exclude = {static_cast<ProductIndex>(rng() % n)};
      DecisionRequest r;
      r.config = config.get();
      r.placement = &config->placements[0];
      r.customer = customer;
      if (customer != nullptr) r.customer_id = customer_id;
      r.models = models.get();
      r.ledger = &ledger;
      r.store = rng() % 2 == 0 ? kNoStore : static_cast<StoreIndex>(rng() % 2);
      r.current_product = static_cast<ProductIndex>(rng() % n);
      r.cart = cart;
      r.exclude = exclude;
      r.count = 1 + rng() % 20;
      r.now = kNow;
      const Decision d = Decide(*catalog, *trending, r);
      const bool consented = customer != nullptr && customer->attributes.consent_personalization;
      if (!consented) {
        EXPECT_FALSE(d.personalized);
      }
      std::vector<ProductIndex> seen;
      std::map<CategoryIndex, int> per_category;
      for (const auto& item : d.items) {
        EXPECT_TRUE(std::isfinite(item.score)) << item.score;
        if (item.offer >= 0) {
          const OfferSpec& o = config->offers[item.offer];
          EXPECT_TRUE(o.end == 0 || o.end > kNow);
          if (o.eligibility.loyalty_member == 1) {
            EXPECT_TRUE(consented && customer->attributes.loyalty_member);
          }
          if (o.eligibility.countries == 1) {
            EXPECT_EQ(d.country, 0);
          }
          ++shown[item.offer];
          if (customer != nullptr) {
            const int n = ++shown_to[std::make_pair(customer_id, static_cast<int>(item.offer))];
            EXPECT_LE(n, o.per_customer_cap);
          }
          EXPECT_LE(shown[item.offer], o.total_cap);
          if (item.product == kNoProduct) continue;
        }
        if (!consented) {
          EXPECT_FALSE(IsPersonalSource(item.source));
        }
        const Product& p = catalog->product(item.product);
        EXPECT_TRUE(catalog->Recommendable(item.product, kNow));
        EXPECT_TRUE(catalog->InStock(item.product, d.country, r.store));
        EXPECT_NE(item.product, r.current_product);
        EXPECT_EQ(std::count(cart.begin(), cart.end(), item.product), 0);
        EXPECT_EQ(std::count(exclude.begin(), exclude.end(), item.product), 0);
        EXPECT_EQ(std::count(seen.begin(), seen.end(), item.product), 0);
        if (!spec.filter.exclude_categories.empty()) {
          EXPECT_NE(p.category_path[1], "1");
        }
        if (!spec.filter.include_brands.empty()) {
          EXPECT_EQ(p.brand, "A");
        }
        if (spec.filter.max_price_minor > 0) {
          EXPECT_LE(p.price_minor, spec.filter.max_price_minor);
        }
        if (spec.max_per_category > 0) {
          EXPECT_LE(++per_category[p.category], spec.max_per_category);
        }
        if (spec.size_fit && consented) {
          EXPECT_TRUE(Fits(*customer, p)) << "product " << item.product;
        }
        seen.push_back(item.product);
      }
      EXPECT_LE(static_cast<int>(d.items.size()), r.count);
    }
  }
}

TEST_F(DecisionTest, ReasonTexts) {
  EXPECT_EQ(Reason({0, -1, 1, Source::kRecentlyViewed, kNow - 2 * kDay}), "you viewed this 2 days ago");
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
