// Model parts (core/model_parts.h): a cluster's shards each build the part
// of their own customers; the merged parts give the models one node builds
// over every customer — neighbours, repurchase profiles, category interest,
// cut points, segment sizes exactly, trending lists up to rounding.

#include "core/model_parts.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/customer_index.h"
#include "core/models.h"
#include "core/partitioning.h"
#include "core/value_counts.h"
#include "tests/core/test_catalog.h"

namespace nextbest::core {
namespace {

constexpr TimeMs kDay = kMsPerDay;
constexpr TimeMs kNow = 1'700'000'000'000;
constexpr int kShards = 3;

TEST(ValueCountsTest, RanksAreNthElementsAndMergedSplitsEqualTheWhole) {
  std::mt19937 rng(11);
  for (int round = 0; round < 20; ++round) {
    std::vector<double> all;
    const int n = 1 + static_cast<int>(rng() % 500);
    for (int i = 0; i < n; ++i) all.push_back(static_cast<double>(rng() % 60) / 4);
    ValueCounts merged;
    for (int part = 0; part < 3; ++part) {
      std::vector<double> some;
      for (int i = part; i < n; i += 3) some.push_back(all[i]);
      merged.Merge(ValueCounts::Of(some));
    }
    EXPECT_EQ(merged, ValueCounts::Of(all));
    EXPECT_EQ(merged.total(), n);
    for (double q : {0.0, 0.2, 0.5, 0.9, 1.0}) {
      std::vector<double> v = all;
      const size_t k = std::min(v.size() - 1, static_cast<size_t>(v.size() * q));
      std::nth_element(v.begin(), v.begin() + k, v.end());
      EXPECT_EQ(merged.Quantile(q), v[k]) << "q " << q << " n " << n;
    }
  }
  EXPECT_EQ(ValueCounts().Quantile(0.5), 0);
  // A decoder's input out of order or with counts <= 0 is left out.
  const ValueCounts bad = ValueCounts::FromSorted({{1, 2}, {0.5, 1}, {2, 0}, {3, 1}});
  EXPECT_EQ(bad.total(), 3);
  EXPECT_EQ(bad.AtRank(2), 3);
}

// A retailer of 120 products, 900 customers with views, carts, purchases
// (repeat ones too) and returns over 200 days, in two markets.
struct World {
  std::unique_ptr<const Catalog> catalog = testing::MakeCatalog(120, 4);
  FeatureOptions features;
  std::vector<std::pair<std::string, CustomerState>> customers;
  std::vector<ProductPopularity> popularity = std::vector<ProductPopularity>(120);
  std::array<std::vector<ProductPopularity>, kShards> shard_popularity;

  World() {
    for (auto& p : shard_popularity) p.resize(120);
    std::mt19937 rng(2026);
    for (int c = 0; c < 900; ++c) {
      const std::string id = absl::StrCat("customer-", c);
      CustomerState s;
      s.attributes.country = static_cast<CountryIndex>(c % 2);
      s.attributes.consent_personalization = c % 7 != 0;
      const int shard = KafkaPartition(id, 6) % kShards;
      const int taste = static_cast<int>(rng() % 6);  // a block of 20 products
      const int events = static_cast<int>(rng() % 40);
      TimeMs t = kNow - static_cast<TimeMs>(rng() % 200) * kDay;
      for (int e = 0; e < events && t < kNow; ++e) {
        Event ev;
        ev.time = t;
        ev.country = s.attributes.country;
        const auto product = static_cast<ProductIndex>(
            rng() % 4 == 0 ? rng() % 120 : taste * 20 + static_cast<int>(rng() % 20));
        const int kind = static_cast<int>(rng() % 10);
        if (kind < 6) {
          ev.type = EventType::kView;
          ev.product = product;
        } else if (kind < 7) {
          ev.type = EventType::kAddToCart;
          ev.product = product;
          ev.quantity = 1;
        } else {
          ev.type = kind == 9 && !s.features.purchases.empty() ? EventType::kReturn
                                                               : EventType::kPurchase;
          ev.lines.emplace_back(product, 1 + static_cast<int>(rng() % 2), 100 * (1 + product));
          if (rng() % 2) ev.lines.emplace_back(product ^ 1, 1, 250);
        }
        ApplyEvent(features, *catalog, ev, s.features);
        for (ProductIndex p : {ev.product}) {
          const double w = PopularityWeight(features, ev.type);
          if (p == kNoProduct || w <= 0) continue;
          AddPopularity(popularity[p], ev.time, w, ev.country, 7);
          AddPopularity(shard_popularity[shard][p], ev.time, w, ev.country, 7);
        }
        t += static_cast<TimeMs>(rng() % (3 * kDay));
      }
      customers.emplace_back(id, std::move(s));
    }
  }

  // The customers of `shard` (or all for -1) in a fresh index.
  std::unique_ptr<CustomerIndex> Index(EpochDomain& epochs, int shard) const {
    auto index = std::make_unique<CustomerIndex>(epochs);
    for (const auto& [id, s] : customers) {
      if (shard >= 0 && KafkaPartition(id, 6) % kShards != shard) continue;
      index->Publish(id, std::make_unique<CustomerState>(s));
    }
    return index;
  }
};

DecisionConfig WithSegments() {
  DecisionConfig config;
  config.require_consent = true;
  SegmentSpec big;
  big.id = "big_spenders";
  big.condition.min_spend_minor = 2000;
  config.segments.push_back(big);
  return config;
}

// Every shard's part, merged; sizes counted with `global`'s cut points.
ModelPart Merged(const World& w, const ModelOptions& o, const DecisionConfig& config,
                 const Models* global, EpochDomain& epochs) {
  ModelPart merged;
  for (int shard = 0; shard < kShards; ++shard) {
    auto index = w.Index(epochs, shard);
    ModelPart part = BuildModelPart(o, *index, *w.catalog, config, kNow, global);
    EXPECT_GT(part.customers, 0);
    MergePart(merged, part, 7);
  }
  return merged;
}

TEST(ModelPartsTest, MergedShardsGiveTheSingleNodeModelsExactly) {
  const World w;
  const DecisionConfig config = WithSegments();
  ModelOptions o;
  o.co_purchase.build_pairs_per_pass = 500;     // the single node in bounded passes
  o.customer_value.min_market_customers = 200;  // both markets get their own
  EpochDomain epochs;
  auto all = w.Index(epochs, -1);
  const auto single = BuildModels(o, *all, *w.catalog, config, kNow);
  ASSERT_GT(single->co_purchase.entries(), 100u);
  ASSERT_GT(single->co_view.entries(), 100u);
  ASSERT_GT(single->build_passes, 3);

  // Round 1: no global cut points yet, so no segment sizes. Built three
  // days earlier than the parts (the models of a previous interval): the
  // recency cut points are the same purchase times, days since them later.
  const auto first =
      ModelsFromPart(o, Merged(w, o, config, nullptr, epochs), *w.catalog, config, kNow - 3 * kDay);
  EXPECT_EQ(first->customers, single->customers);
  EXPECT_EQ(NeighboursText(first->co_purchase, *w.catalog),
            NeighboursText(single->co_purchase, *w.catalog));
  EXPECT_EQ(NeighboursText(first->co_view, *w.catalog),
            NeighboursText(single->co_view, *w.catalog));
  EXPECT_EQ(first->fingerprint, single->fingerprint);
  EXPECT_EQ(first->rfm.population, single->rfm.population);
  EXPECT_EQ(first->rfm.recency_cut_times, single->rfm.recency_cut_times);
  EXPECT_EQ(RecencyCutsAt(first->rfm, kNow).recency_days, single->rfm.recency_days);
  EXPECT_NEAR(first->rfm.recency_days[2] + 3, single->rfm.recency_days[2], 1e-4);
  EXPECT_EQ(first->rfm.frequency, single->rfm.frequency);
  EXPECT_EQ(first->rfm.monetary, single->rfm.monetary);
  EXPECT_EQ(first->behaviour.top_current_minor, single->behaviour.top_current_minor);
  EXPECT_EQ(first->behaviour.median_baseline_minor, single->behaviour.median_baseline_minor);
  EXPECT_EQ(first->category_interest, single->category_interest);
  ASSERT_EQ(first->repurchase.categories(), single->repurchase.categories());
  for (size_t c = 0; c <= single->repurchase.categories(); ++c) {
    const auto cat = static_cast<CategoryIndex>(c);  // the last: the shop's
    EXPECT_EQ(first->repurchase.For(cat).pairs, single->repurchase.For(cat).pairs);
    EXPECT_EQ(first->repurchase.For(cat).repeats, single->repurchase.For(cat).repeats);
    EXPECT_EQ(first->repurchase.For(cat).typical_interval,
              single->repurchase.For(cat).typical_interval);
    EXPECT_EQ(first->repurchase.For(cat).consumable, single->repurchase.For(cat).consumable);
  }
  EXPECT_GT(single->repurchase.shop().repeats, 0);
  EXPECT_EQ(first->rfm_sizes, decltype(first->rfm_sizes){});
  // The purchase and value models: the same cells, so the same fit to the bit.
  auto same_fit = [](const CustomerValueModel& a, const CustomerValueModel& b) {
    EXPECT_TRUE(a.purchases_fitted);
    EXPECT_EQ(a.purchases_fitted, b.purchases_fitted);
    EXPECT_EQ(a.value_fitted, b.value_fitted);
    EXPECT_EQ(a.purchase_customers, b.purchase_customers);
    EXPECT_EQ(a.value_customers, b.value_customers);
    EXPECT_EQ(a.purchases.r, b.purchases.r);
    EXPECT_EQ(a.purchases.alpha, b.purchases.alpha);
    EXPECT_EQ(a.purchases.a, b.purchases.a);
    EXPECT_EQ(a.purchases.b, b.purchases.b);
    EXPECT_EQ(a.value.p, b.value.p);
    EXPECT_EQ(a.value.gamma, b.value.gamma);
  };
  same_fit(first->customer_value.population, single->customer_value.population);
  ASSERT_EQ(single->customer_value.markets.size(), 2u);
  ASSERT_EQ(first->customer_value.markets.size(), 2u);
  same_fit(first->customer_value.For(0), single->customer_value.For(0));
  same_fit(first->customer_value.For(1), single->customer_value.For(1));
  EXPECT_EQ(first->churn_risk_sizes, decltype(first->churn_risk_sizes){});

  // Round 2: counted with round 1's global cut points (as at the parts'
  // build), the sizes add up to the single node's.
  const auto second =
      ModelsFromPart(o, Merged(w, o, config, first.get(), epochs), *w.catalog, config, kNow);
  EXPECT_EQ(second->rfm_sizes, single->rfm_sizes);
  EXPECT_EQ(second->behaviour_sizes, single->behaviour_sizes);
  EXPECT_EQ(second->behaviour_priority, single->behaviour_priority);
  EXPECT_EQ(second->rule_segment_ids, single->rule_segment_ids);
  EXPECT_EQ(second->rule_segment_sizes, single->rule_segment_sizes);
  EXPECT_GT(single->rule_segment_sizes[0], 0);
  EXPECT_EQ(second->churn_risk_sizes, single->churn_risk_sizes);
  int64_t banded = 0;
  for (int64_t n : single->churn_risk_sizes) banded += n;
  EXPECT_EQ(banded, single->customer_value.population.purchase_customers);
  EXPECT_GT(single->churn_risk_sizes[static_cast<int>(ChurnRisk::kHigh)], 0);
  EXPECT_GT(single->churn_risk_sizes[static_cast<int>(ChurnRisk::kLow)], 0);
  EXPECT_EQ(second->fingerprint, single->fingerprint);
}

TEST(ModelPartsTest, MergedPopularityGivesTheSingleNodeTrendingUpToRounding) {
  const World w;
  std::vector<ProductPopularity> merged;
  for (const auto& shard : w.shard_popularity) MergePopularity(merged, shard, 7);
  const auto single = BuildTrending(w.popularity, *w.catalog, kNow, 7, 50);
  const auto cluster = BuildTrending(merged, *w.catalog, kNow, 7, 50);
  auto same = [](const std::vector<TrendingEntry>& a, const std::vector<TrendingEntry>& b) {
    ASSERT_EQ(a.size(), b.size());
    ASSERT_GT(a.size(), 10u);
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_NEAR(a[i].score, b[i].score, 1e-6 * a[i].score) << i;
      // The same product, or two whose scores are equal up to rounding.
      if (a[i].product != b[i].product) EXPECT_NEAR(a[i].score, a[i + 1].score, 1e-6 * a[i].score);
    }
  };
  same(single->overall, cluster->overall);
  same(single->by_market[0], cluster->by_market[0]);
  same(single->by_market[1], cluster->by_market[1]);
}

TEST(ModelPartsTest, StorePopularityMergesAtTheLaterReferenceTime) {
  StorePopularity a(1), b(2);
  AddStoreScore(a[0][5], kNow - 7 * kDay, 2, 7);  // 1 at kNow
  AddStoreScore(b[0][5], kNow, 1, 7);
  AddStoreScore(b[1][3], kNow, 4, 7);
  MergeStorePopularity(a, b, 7);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0][5].ref, kNow);
  EXPECT_NEAR(a[0][5].score, 2, 1e-12);
  EXPECT_NEAR(a[1][3].score, 4, 1e-12);
}

}  // namespace
}  // namespace nextbest::core
