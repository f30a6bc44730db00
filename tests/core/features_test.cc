#include "core/features.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

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
      {"evicted product comes back only if newer", {{1, 10}, {2, 20}, {3, 30}, {4, 40}, {1, 25}}, {4, 3, 1}},
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
      View(1, kT0 - 5 * kDay),
      Purchase(kT0, {{1, 2, 250}, {2, 1, 1000}}),           // 15.00
      Purchase(kT0 + 30 * kDay, {{1, 1, 250}}),              // 2.50
      Return(kT0 + 31 * kDay, {{2, 1, 1000}}),               // -10.00
  });
  EXPECT_EQ(f.orders, 2);
  EXPECT_EQ(f.returns, 1);
  EXPECT_EQ(f.spend_minor, 1500 + 250 - 1000);
  EXPECT_EQ(f.first_seen, kT0 - 5 * kDay);
  EXPECT_EQ(f.last_seen, kT0 + 31 * kDay);
  EXPECT_EQ(f.first_purchase, kT0);
  EXPECT_EQ(f.last_purchase, kT0 + 30 * kDay);
  EXPECT_EQ(f.last_by_type[static_cast<int>(EventType::kView)], kT0 - 5 * kDay);
  EXPECT_EQ(f.last_by_type[static_cast<int>(EventType::kReturn)], kT0 + 31 * kDay);

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
  std::mt19937_64 rng(7);
  const uint64_t seed = rng();
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937_64 gen(seed);
  std::vector<Event> events;
  for (int i = 0; i < 200; ++i) {
    const TimeMs t = kT0 + static_cast<TimeMs>(gen() % (90 * kDay));
    const ProductIndex p = gen() % 30;
    switch (gen() % 3) {
      case 0: events.push_back(View(p, t)); break;
      case 1: events.push_back(Purchase(t, {{p, 1, 199}})); break;
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
  EXPECT_EQ(a.last_by_type, b.last_by_type);
  ASSERT_EQ(a.recently_viewed.size(), b.recently_viewed.size());
  for (size_t i = 0; i < a.recently_viewed.size(); ++i) {
    EXPECT_EQ(a.recently_viewed[i].product, b.recently_viewed[i].product);
    EXPECT_EQ(a.recently_viewed[i].time, b.recently_viewed[i].time);
  }
  auto sorted_purchases = [](std::vector<PurchaseRecord> v) {
    std::sort(v.begin(), v.end(), [](auto& x, auto& y) { return x.product < y.product; });
    return v;
  };
  auto pa = sorted_purchases(a.purchases), pb = sorted_purchases(b.purchases);
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].count, pb[i].count);
    EXPECT_EQ(pa[i].first, pb[i].first);
    EXPECT_EQ(pa[i].last, pb[i].last);
  }
  const TimeMs now = kT0 + 100 * kDay;
  auto ta = TopAffinities(a, now, options_.affinity_half_life_days, 10);
  auto tb = TopAffinities(b, now, options_.affinity_half_life_days, 10);
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    EXPECT_EQ(ta[i].category, tb[i].category);
    EXPECT_NEAR(ta[i].score, tb[i].score, 1e-9 * std::max(1.0, ta[i].score));
  }
}

}  // namespace
}  // namespace nextbest::core
