#include "core/features.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <tuple>

#include "tests/core/test_catalog.h"

namespace nextbest::core {
namespace {

constexpr TimeMs kDay = kMsPerDay;
constexpr TimeMs kT0 = 1'700'000'000'000;  // Nov 2023

Event View(ProductIndex p, TimeMs t) {
  Event e;
  e.type = EventType::kView;
  e.product = p;
  e.time = t;
  return e;
}

Event Purchase(TimeMs t, std::vector<OrderLine> lines) {
  Event e;
  e.type = EventType::kPurchase;
  e.time = t;
  e.lines = std::move(lines);
  return e;
}

Event Return(TimeMs t, std::vector<OrderLine> lines) {
  Event e = Purchase(t, std::move(lines));
  e.type = EventType::kReturn;
  return e;
}

class FeaturesTest : public ::testing::Test {
 protected:
  CustomerFeatures Run(const std::vector<Event>& events) {
    CustomerFeatures f;
    for (const Event& e : events) ApplyEvent(options_, *catalog_, e, f);
    return f;
  }
  FeatureOptions options_;
  std::unique_ptr<const Catalog> catalog_ = testing::MakeCatalog(30);
};

TEST_F(FeaturesTest, RecentlyViewedTable) {
  options_.recently_viewed_count = 3;
  struct Case {
    const char* name;
    std::vector<std::pair<ProductIndex, TimeMs>> views;
    std::vector<ProductIndex> expected;  // most recent first
  };
  const std::vector<Case> cases = {
      {"in order", {{1, 1}, {2, 2}, {3, 3}}, {3, 2, 1}},
      {"dedup keeps latest", {{1, 1}, {2, 2}, {1, 3}}, {1, 2}},
      {"bounded to N", {{1, 1}, {2, 2}, {3, 3}, {4, 4}}, {4, 3, 2}},
      {"late view inserted in time order", {{1, 10}, {3, 30}, {2, 20}}, {3, 2, 1}},
      {"late view of a known product ignored", {{1, 10}, {2, 20}, {1, 5}}, {2, 1}},
      {"late view older than a full list dropped", {{1, 10}, {2, 20}, {3, 30}, {4, 5}}, {3, 2, 1}},
      {"evicted product comes back only if newer",
       {{1, 10}, {2, 20}, {3, 30}, {4, 40}, {1, 25}},
       {4, 3, 1}},
  };
  for (const Case& c : cases) {
    std::vector<Event> events;
    for (auto [p, t] : c.views) events.push_back(View(p, kT0 + t * 1000));
    CustomerFeatures f = Run(events);
    std::vector<ProductIndex> got;
    for (const auto& v : f.recently_viewed) got.push_back(v.product);
    EXPECT_EQ(got, c.expected) << c.name;
  }
}

TEST_F(FeaturesTest, RfmFromPurchasesAndReturns) {
  CustomerFeatures f = Run({
      View(1, kT0 - 5 * kDay), Purchase(kT0, {{1, 2, 250}, {2, 1, 1000}}),  // 15.00
      Purchase(kT0 + 30 * kDay, {{1, 1, 250}}),                             // 2.50
      Return(kT0 + 31 * kDay, {{2, 1, 1000}}),                              // -10.00
  });
  EXPECT_EQ(f.orders, 2);
  EXPECT_EQ(f.returns, 1);
  EXPECT_EQ(f.spend_minor, 1500 + 250 - 1000);
  EXPECT_EQ(f.first_seen, kT0 - 5 * kDay);
  EXPECT_EQ(f.last_seen, kT0 + 31 * kDay);
  EXPECT_EQ(f.first_purchase, kT0);
  EXPECT_EQ(f.last_purchase, kT0 + 30 * kDay);
  EXPECT_EQ(f.LastOfType(EventType::kView), kT0 - 5 * kDay);
  EXPECT_EQ(f.LastOfType(EventType::kReturn), kT0 + 31 * kDay);

  const RfmView rfm = ComputeRfm(f, kT0 + 40 * kDay);
  EXPECT_DOUBLE_EQ(rfm.days_since_last_purchase, 10.0);
  EXPECT_DOUBLE_EQ(rfm.tenure_days, 45.0);
  EXPECT_EQ(rfm.average_order_value_minor, 375);
  // 40 days since first purchase = 1.314 months -> 2 / 1.314.
  EXPECT_NEAR(rfm.orders_per_month, 2 / (40 / 30.436875), 1e-9);
}

// A flood of maximal purchases (1000 lines of 100,000 at 1,000,000.00, the
// API's limits) saturates the spend instead of wrapping it (found by
// tests/fuzz/records_fuzz.cc with a stored spend near the limit).
TEST_F(FeaturesTest, SpendAndCountsSaturateInsteadOfOverflowing) {
  std::vector<OrderLine> lines(1000, OrderLine{1, 100'000, 100'000'000});
  CustomerFeatures f;
  for (int i = 0; i < 1000; ++i) ApplyEvent(options_, *catalog_, Purchase(kT0 + i, lines), f);
  EXPECT_EQ(f.spend_minor, INT64_MAX);
  EXPECT_EQ(f.orders, 1000);
  for (int i = 0; i < 2000; ++i) ApplyEvent(options_, *catalog_, Return(kT0 + i, lines), f);
  EXPECT_EQ(f.spend_minor, INT64_MIN);
  f.orders = INT32_MAX;
  f.events = INT64_MAX;
  ApplyEvent(options_, *catalog_, Purchase(kT0, {{1, 1, 100}}), f);
  EXPECT_EQ(f.orders, INT32_MAX);
  EXPECT_EQ(f.events, INT64_MAX);
}

TEST_F(FeaturesTest, RfmOfNonBuyer) {
  const RfmView rfm = ComputeRfm(Run({View(1, kT0)}), kT0 + kDay);
  EXPECT_EQ(rfm.days_since_last_purchase, -1);
  EXPECT_EQ(rfm.orders, 0);
  EXPECT_EQ(rfm.orders_per_month, 0);
  // Less than a month since the first purchase counts as one month.
  const RfmView one = ComputeRfm(Run({Purchase(kT0, {{1, 1, 100}})}), kT0 + kDay);
  EXPECT_DOUBLE_EQ(one.orders_per_month, 1.0);
}

TEST_F(FeaturesTest, PurchaseHistoryAndTypicalInterval) {
  CustomerFeatures f = Run({
      Purchase(kT0, {{5, 1, 100}, {5, 2, 100}}),  // twice in one order = one purchase
      Purchase(kT0 + 14 * kDay, {{5, 1, 100}}),
      Purchase(kT0 + 28 * kDay, {{5, 1, 100}, {6, 1, 100}}),
  });
  ASSERT_EQ(f.purchases.size(), 2u);
  const PurchaseRecord& r = f.purchases[0];
  EXPECT_EQ(r.product, 5u);
  EXPECT_EQ(r.count, 3u);
  EXPECT_EQ(r.TypicalInterval(), 14 * kDay);
  EXPECT_EQ(f.purchases[1].TypicalInterval(), 0);  // bought once
}

TEST_F(FeaturesTest, PurchaseHistoryIsBoundedAndKeepsRepeats) {
  options_.max_purchase_history = 3;
  CustomerFeatures f = Run({
      Purchase(kT0, {{1, 1, 1}}), Purchase(kT0 + 1, {{1, 1, 1}}),  // repeat
      Purchase(kT0 + 2, {{2, 1, 1}}), Purchase(kT0 + 3, {{3, 1, 1}}),
      Purchase(kT0 + 4, {{4, 1, 1}}),  // evicts the oldest single purchase (2)
  });
  ASSERT_EQ(f.purchases.size(), 3u);
  std::vector<ProductIndex> kept;
  for (const auto& r : f.purchases) kept.push_back(r.product);
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(kept, (std::vector<ProductIndex>{1, 3, 4}));
}

TEST_F(FeaturesTest, AffinityDecaysWithHalfLife) {
  options_.affinity_half_life_days = 10;
  const CategoryIndex cat = catalog_->product(1).category;
  CustomerFeatures f = Run({View(1, kT0)});
  auto top = TopAffinities(f, kT0 + 10 * kDay, 10, 5);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].category, cat);
  EXPECT_NEAR(top[0].score, 0.5, 1e-12);
  // A purchase weighs 5, a view 1.
  f = Run({View(1, kT0), Purchase(kT0, {{2, 1, 100}})});
  top = TopAffinities(f, kT0, 10, 5);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].category, catalog_->product(2).category);
  EXPECT_NEAR(top[0].score, 5, 1e-12);
}

TEST_F(FeaturesTest, AffinitiesAreBounded) {
  options_.max_category_affinities = 2;
  // Products 0,1,2 are in three different categories (i % 3).
  CustomerFeatures f = Run({View(0, kT0), View(0, kT0), View(1, kT0), View(2, kT0 + 1)});
  EXPECT_EQ(f.affinities.size(), 2u);
}

TEST_F(FeaturesTest, OrderOfEventsDoesNotMatter) {
  {  // brands, so that brand affinities are compared too
    CatalogBuilder b(*catalog_);
    for (ProductIndex p = 0; p < 30; ++p) {
      Product prod = catalog_->product(p);
      prod.brand = "B" + std::to_string(p % 4);
      b.UpsertProduct(std::move(prod));
    }
    catalog_ = b.Build();
  }
  std::mt19937_64 rng(7);
  const uint64_t seed = rng();
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937_64 gen(seed);
  std::vector<Event> events;
  for (int i = 0; i < 200; ++i) {
    const TimeMs t = kT0 + static_cast<TimeMs>(gen() % (90 * kDay));
    const ProductIndex p = gen() % 30;
    switch (gen() % 3) {
      case 0:
        events.push_back(View(p, t));
        break;
      case 1: {
        OrderLine line{p, 1, 199};
        line.size = gen() % 2 ? "S" : "M";
        events.push_back(gen() % 4 ? Purchase(t, {line}) : Return(t, {line}));
        break;
      }
      default: {
        Event e = View(p, t);
        e.type = EventType::kAddToCart;
        events.push_back(e);
      }
    }
  }
  const CustomerFeatures a = Run(events);
  std::shuffle(events.begin(), events.end(), gen);
  const CustomerFeatures b = Run(events);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.orders, b.orders);
  EXPECT_EQ(a.spend_minor, b.spend_minor);
  EXPECT_EQ(a.first_seen, b.first_seen);
  EXPECT_EQ(a.last_seen, b.last_seen);
  EXPECT_EQ(a.last_by_type_s, b.last_by_type_s);
  ASSERT_EQ(a.recently_viewed.size(), b.recently_viewed.size());
  for (size_t i = 0; i < a.recently_viewed.size(); ++i) {
    EXPECT_EQ(a.recently_viewed[i].product, b.recently_viewed[i].product);
    EXPECT_EQ(a.recently_viewed[i].time(), b.recently_viewed[i].time());
  }
  auto sorted_purchases = [](std::vector<PurchaseRecord> v) {
    std::sort(v.begin(), v.end(), [](auto& x, auto& y) { return x.product < y.product; });
    return v;
  };
  auto pa = sorted_purchases(a.purchases), pb = sorted_purchases(b.purchases);
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].count, pb[i].count);
    EXPECT_EQ(pa[i].first(), pb[i].first());
    EXPECT_EQ(pa[i].last(), pb[i].last());
  }
  const TimeMs now = kT0 + 100 * kDay;
  auto ta = TopAffinities(a, now, options_.affinity_half_life_days, 10);
  auto tb = TopAffinities(b, now, options_.affinity_half_life_days, 10);
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    EXPECT_EQ(ta[i].category, tb[i].category);
    EXPECT_NEAR(ta[i].score, tb[i].score, 1e-9 * std::max(1.0, ta[i].score));
  }
  auto sizes = [](std::vector<SizeSeen> v) {
    std::sort(v.begin(), v.end(), [](auto& x, auto& y) {
      return std::tie(x.category, x.size) < std::tie(y.category, y.size);
    });
    return v;
  };
  auto sa = sizes(a.sizes), sb = sizes(b.sizes);
  ASSERT_EQ(sa.size(), sb.size());
  EXPECT_FALSE(sa.empty());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].category, sb[i].category);
    EXPECT_EQ(sa[i].size, sb[i].size);
    EXPECT_EQ(sa[i].net, sb[i].net);
    EXPECT_EQ(sa[i].last, sb[i].last);
  }
  auto ba = TopBrandAffinities(a, now, options_.affinity_half_life_days, 10);
  auto bb = TopBrandAffinities(b, now, options_.affinity_half_life_days, 10);
  ASSERT_EQ(ba.size(), bb.size());
  for (size_t i = 0; i < ba.size(); ++i) {
    EXPECT_EQ(ba[i].brand, bb[i].brand);
    EXPECT_NEAR(ba[i].score, bb[i].score, 1e-9 * std::max(1.0, ba[i].score));
  }
}

// A catalog where p0..p5 carry brands and p0..p3 sizes, for the brand and
// size features.
std::unique_ptr<const Catalog> BrandedSizedCatalog() {
  auto base = testing::MakeCatalog(6);
  CatalogBuilder b(*base);
  for (ProductIndex p = 0; p < 6; ++p) {
    Product prod = base->product(p);
    prod.brand = p % 2 == 0 ? "Alpha" : "Beta";
    if (p < 4) prod.sizes = {"S", "M", "L"};
    b.UpsertProduct(std::move(prod));
  }
  return b.Build();
}

OrderLine Line(ProductIndex p, int32_t quantity, std::string size) {
  OrderLine l{p, quantity, 1000};
  l.size = std::move(size);
  return l;
}

TEST_F(FeaturesTest, BrandAffinityFollowsInteractionsAndDecaysWithCategories) {
  catalog_ = BrandedSizedCatalog();
  options_.affinity_half_life_days = 10;
  const BrandIndex alpha = *catalog_->FindBrand("Alpha");
  const BrandIndex beta = *catalog_->FindBrand("Beta");
  // p0 and p2 are Alpha, p1 Beta: two Alpha views and a Beta purchase (5).
  CustomerFeatures f = Run({View(0, kT0), View(2, kT0), Purchase(kT0, {{1, 1, 100}})});
  auto top = TopBrandAffinities(f, kT0 + 10 * kDay, options_.affinity_half_life_days, 5);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].brand, beta);
  EXPECT_NEAR(top[0].score, 2.5, 1e-12);  // 5, one half-life later
  EXPECT_EQ(top[1].brand, alpha);
  EXPECT_NEAR(top[1].score, 1.0, 1e-12);
  // Returns weigh against the brand too.
  f = Run({Purchase(kT0, {{1, 1, 100}}), Return(kT0, {{1, 1, 100}})});
  top = TopBrandAffinities(f, kT0, 10, 5);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_NEAR(top[0].score, 0, 1e-12);
  // Bounded like categories: the weakest makes room for a stronger one.
  options_.max_brand_affinities = 1;
  f = Run({View(0, kT0), Purchase(kT0 + 1, {{1, 1, 100}})});
  ASSERT_EQ(f.brand_affinities.size(), 1u);
  EXPECT_EQ(f.brand_affinities[0].brand, beta);
  // Products without a brand leave the brand list alone.
  catalog_ = testing::MakeCatalog(6);
  EXPECT_TRUE(Run({View(0, kT0)}).brand_affinities.empty());
}

TEST_F(FeaturesTest, SizesAreLearnedFromOrderLinesNetOfReturns) {
  catalog_ = BrandedSizedCatalog();
  const CategoryIndex c0 = catalog_->product(0).category;
  CustomerFeatures f = Run({Purchase(kT0, {Line(0, 2, "M"), Line(4, 1, "")})});
  ASSERT_EQ(f.sizes.size(), 1u);  // a line without a size teaches nothing
  EXPECT_EQ(f.sizes[0].category, c0);
  EXPECT_EQ(f.sizes[0].size, "M");
  EXPECT_EQ(f.sizes[0].net, 2);
  // Returned in full: the size did not fit, it stops counting.
  f = Run({Purchase(kT0, {Line(0, 2, "M")}), Return(kT0 + kDay, {Line(0, 2, "M")})});
  ASSERT_EQ(f.sizes.size(), 1u);
  EXPECT_EQ(f.sizes[0].net, 0);
  // The same in the other order (a late purchase event).
  CustomerFeatures g =
      Run({Return(kT0 + kDay, {Line(0, 2, "M")}), Purchase(kT0, {Line(0, 2, "M")})});
  ASSERT_EQ(g.sizes.size(), 1u);
  EXPECT_EQ(g.sizes[0].net, 0);
  EXPECT_EQ(g.sizes[0].last, f.sizes[0].last);
  // Bounded: the pair seen longest ago makes room.
  options_.max_known_sizes = 2;
  f = Run({Purchase(kT0, {Line(0, 1, "S")}), Purchase(kT0 + 1, {Line(0, 1, "M")}),
           Purchase(kT0 + 2, {Line(0, 1, "L")})});
  ASSERT_EQ(f.sizes.size(), 2u);
  for (const SizeSeen& s : f.sizes) EXPECT_NE(s.size, "S");
}

TEST_F(FeaturesTest, SizeFitUsesDeclaredSizesFirstThenBoughtOnes) {
  // Index 0 (Cat/Sub1) comes in S, M, L; index 1 (Cat/Sub2) in XS only;
  // index 4 has no sizes.
  auto base = BrandedSizedCatalog();
  CatalogBuilder b(*base);
  Product xs = base->product(1);
  xs.sizes = {"XS"};
  b.UpsertProduct(xs);
  catalog_ = b.Build();
  CustomerState c;
  // Nothing known: everything fits.
  EXPECT_TRUE(FitsKnownSizes(*catalog_, c, 0));
  EXPECT_TRUE(FitsKnownSizes(*catalog_, c, 1));
  // Bought M in Sub1 (p1's category): XS-only p1 does not fit, p0 (another
  // category) is not judged by it, and products without sizes always fit.
  c.features.sizes.push_back({catalog_->product(1).category, 1, kT0, "M"});
  EXPECT_FALSE(FitsKnownSizes(*catalog_, c, 1));
  EXPECT_TRUE(FitsKnownSizes(*catalog_, c, 0));
  EXPECT_TRUE(FitsKnownSizes(*catalog_, c, 4));
  // A returned size (net 0) is not a known size.
  c.features.sizes[0].net = 0;
  EXPECT_TRUE(FitsKnownSizes(*catalog_, c, 1));
  c.features.sizes[0].net = 1;
  // A declaration covering the category wins over what was bought.
  c.attributes.sizes.push_back({"Cat", {"XS"}});
  EXPECT_TRUE(FitsKnownSizes(*catalog_, c, 1));
  EXPECT_FALSE(FitsKnownSizes(*catalog_, c, 0));  // S/M/L, declared XS
  // The longest prefix wins; prefixes match whole path segments only.
  ASSERT_EQ(catalog_->category_name(catalog_->product(0).category), "Cat/Sub1");
  c.attributes.sizes.push_back({"Cat/Sub1", {"L"}});
  EXPECT_TRUE(FitsKnownSizes(*catalog_, c, 0));
  c.attributes.sizes = {{"Ca", {"XS"}}};
  EXPECT_TRUE(FitsKnownSizes(*catalog_, c, 0));   // "Ca" does not cover "Cat/Sub1"
  EXPECT_FALSE(FitsKnownSizes(*catalog_, c, 1));  // falls back to the bought M
}

}  // namespace
}  // namespace nextbest::core
