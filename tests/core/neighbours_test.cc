// Item-to-item neighbours (core/neighbours.h) and repurchase profiles
// (core/repurchase.h): scores against hand-computed values, bounded
// passes that give the single pass's answer, and determinism whatever the
// order of customers and products.

#include "core/neighbours.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/customer_index.h"
#include "core/models.h"
#include "core/repurchase.h"
#include "tests/core/test_catalog.h"

namespace nextbest::core {
namespace {

constexpr TimeMs kDay = kMsPerDay;
constexpr TimeMs kNow = 1'700'000'000'000;

// A customer who bought `products` (indices), the first the oldest, a day apart.
CustomerFeatures Bought(std::vector<ProductIndex> products) {
  CustomerFeatures f;
  TimeMs t = kNow - static_cast<TimeMs>(products.size()) * kDay;
  for (ProductIndex p : products) {
    f.purchases.push_back({p, 1, t, t});
    t += kDay;
  }
  std::sort(f.purchases.begin(), f.purchases.end(),
            [](const PurchaseRecord& a, const PurchaseRecord& b) { return a.last_s > b.last_s; });
  f.orders = static_cast<int>(products.size());
  return f;
}

std::vector<const CustomerFeatures*> Pointers(const std::vector<CustomerFeatures>& v) {
  std::vector<const CustomerFeatures*> out;
  for (const auto& f : v) out.push_back(&f);
  return out;
}

// Plain cosine: no position, direction or history-length weighting.
NeighbourOptions Cosine(double shrink) {
  NeighbourOptions o;
  o.distance_decay = 0;
  o.backward_weight = 1;
  o.heavy_customer_damping = 0;
  o.popularity_damping = 0.5;
  o.shrink = shrink;
  return o;
}

TEST(NeighboursTest, CosineTimesShrinkAgainstHandComputedScores) {
  auto catalog = testing::MakeCatalog(5);
  // p1+p2 bought by 3 customers, p1+p3 by 2, p1+p4 by 1.
  std::vector<CustomerFeatures> pop;
  for (int i = 0; i < 3; ++i) pop.push_back(Bought({0, 1}));
  for (int i = 0; i < 2; ++i) pop.push_back(Bought({0, 2}));
  pop.push_back(Bought({0, 3}));
  for (double shrink : {0.0, 2.0}) {
    NeighbourBuilder b(Cosine(shrink), *catalog, HistoryKind::kBought);
    const NeighbourTable t = b.Build(Pointers(pop));
    const auto n = t.For(0);
    ASSERT_EQ(n.size(), 3u);
    // holders: p1 6, p2 3, p3 2, p4 1; cos = C / sqrt(Na Nb), × C / (C + shrink).
    auto expect = [&](double c, double nb) { return c / std::sqrt(6 * nb) * c / (c + shrink); };
    EXPECT_EQ(n[0].product, 1u);
    EXPECT_NEAR(n[0].score, expect(3, 3), 1e-6);
    EXPECT_EQ(n[1].product, 2u);
    EXPECT_NEAR(n[1].score, expect(2, 2), 1e-6);
    EXPECT_EQ(n[2].product, 3u);
    EXPECT_NEAR(n[2].score, expect(1, 1), 1e-6);
    // Symmetric without direction weighting: p2's only neighbour is p1.
    ASSERT_EQ(t.For(1).size(), 1u);
    EXPECT_NEAR(t.For(1)[0].score, expect(3, 3), 1e-6);
    EXPECT_TRUE(t.For(4).empty());
  }
}

TEST(NeighboursTest, DistanceDirectionAndHistoryLengthWeighThePairs) {
  auto catalog = testing::MakeCatalog(4);
  NeighbourOptions o;
  o.distance_decay = 0.5;
  o.backward_weight = 0.5;
  o.heavy_customer_damping = 0;
  o.popularity_damping = 0;  // score = C / N(a) × C / (C + shrink)
  o.shrink = 0;
  std::vector<CustomerFeatures> pop = {Bought({0, 1, 2})};  // p1, then p2, then p3
  {
    const NeighbourTable t =
        NeighbourBuilder(o, *catalog, HistoryKind::kBought).Build(Pointers(pop));
    // From p1: p2 next (1), p3 two apart (1 / 1.5).
    ASSERT_EQ(t.For(0).size(), 2u);
    EXPECT_EQ(t.For(0)[0].product, 1u);
    EXPECT_NEAR(t.For(0)[0].score, 1.0, 1e-6);
    EXPECT_NEAR(t.For(0)[1].score, 1 / 1.5, 1e-6);
    // From p3 both came before: p2 0.5, p1 0.5 / 1.5.
    EXPECT_EQ(t.For(2)[0].product, 1u);
    EXPECT_NEAR(t.For(2)[0].score, 0.5, 1e-6);
    EXPECT_NEAR(t.For(2)[1].score, 0.5 / 1.5, 1e-6);
  }
  {
    o.heavy_customer_damping = 0.3;  // × (1 + 3)^-0.3 per pair, squared in C²/C
    const NeighbourTable t =
        NeighbourBuilder(o, *catalog, HistoryKind::kBought).Build(Pointers(pop));
    EXPECT_NEAR(t.For(0)[0].score, std::pow(4.0, -0.3), 1e-6);
  }
  {
    o.heavy_customer_damping = 0;
    o.pair_window = 1;  // only neighbours in the history
    const NeighbourTable t =
        NeighbourBuilder(o, *catalog, HistoryKind::kBought).Build(Pointers(pop));
    ASSERT_EQ(t.For(0).size(), 1u);
    EXPECT_EQ(t.For(0)[0].product, 1u);
  }
  {
    o.pair_window = 20;
    o.pair_half_life_days = 1;  // the purchases are a day apart: × 1/2 per day
    const NeighbourTable t =
        NeighbourBuilder(o, *catalog, HistoryKind::kBought).Build(Pointers(pop));
    EXPECT_NEAR(t.For(0)[0].score, 0.5, 1e-6);
    EXPECT_NEAR(t.For(0)[1].score, 0.25 / 1.5, 1e-6);
  }
}

TEST(NeighboursTest, ViewedHistoryPairsTheViews) {
  auto catalog = testing::MakeCatalog(4);
  CustomerFeatures f;
  f.recently_viewed = {{2, kNow}, {1, kNow - 60'000}};  // newest first
  std::vector<CustomerFeatures> pop = {f};
  const NeighbourTable t =
      NeighbourBuilder(Cosine(0), *catalog, HistoryKind::kViewed).Build(Pointers(pop));
  ASSERT_EQ(t.For(1).size(), 1u);
  EXPECT_EQ(t.For(1)[0].product, 2u);
  EXPECT_TRUE(t.For(0).empty());
}

TEST(NeighboursTest, HistoryKeepsTheMostRecentAndBreaksTiesById) {
  auto catalog = testing::MakeCatalog(12);  // p1..p12: id order p1, p10, p11, p12, p2, ...
  CustomerFeatures f;
  for (ProductIndex p = 0; p < 12; ++p) f.purchases.push_back({p, 1, kNow, kNow});  // all at once
  f.purchases.push_back({0, 1, kNow - kDay, kNow - kDay});
  f.purchases.erase(f.purchases.begin());  // p1 a day earlier
  std::vector<HistoryItem> h;
  CustomerHistory(*catalog, f, HistoryKind::kBought, 3, h);
  ASSERT_EQ(h.size(), 3u);
  // The three most recent of the tie, by id: p10, p11, p12 — oldest first
  // means the reverse of "newest first, ties by id".
  EXPECT_EQ(catalog->product(h[0].product).id, "p12");
  EXPECT_EQ(catalog->product(h[1].product).id, "p11");
  EXPECT_EQ(catalog->product(h[2].product).id, "p10");
}

// Random shop: 80 products, 300 customers with 1..12 purchases.
std::vector<CustomerFeatures> RandomPopulation(uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<CustomerFeatures> pop(300);
  for (auto& f : pop) {
    const int n = 1 + static_cast<int>(rng() % 12);
    std::vector<ProductIndex> bought;
    for (int k = 0; k < n; ++k) {
      const auto p = static_cast<ProductIndex>(rng() % 80);
      if (std::find(bought.begin(), bought.end(), p) == bought.end()) bought.push_back(p);
    }
    f = Bought(bought);
  }
  return pop;
}

TEST(NeighboursTest, BoundedPassesGiveTheSinglePassAnswer) {
  auto catalog = testing::MakeCatalog(80);
  const auto pop = RandomPopulation(11);
  NeighbourOptions o;
  o.neighbours_per_product = 7;
  NeighbourBuilder one(o, *catalog, HistoryKind::kBought);
  const std::string single = NeighboursText(one.Build(Pointers(pop)), *catalog);
  EXPECT_EQ(one.passes(), 2);
  for (int64_t budget : {1, 50, 500}) {
    o.build_pairs_per_pass = budget;
    NeighbourBuilder blocks(o, *catalog, HistoryKind::kBought);
    EXPECT_EQ(NeighboursText(blocks.Build(Pointers(pop)), *catalog), single) << budget;
    EXPECT_GT(blocks.passes(), 2) << budget;
  }
  EXPECT_FALSE(single.empty());
}

// The neighbours are a function of the customers' states alone: the same
// population, inserted into the index in another order and with the
// catalog's products interned in another order (as another process or a
// restart does), gives the same neighbours — text and fingerprint — also
// where times and scores tie.
TEST(NeighboursTest, BuildIsDeterministicWhateverTheOrder) {
  auto build = [](bool reversed) {
    constexpr int kProducts = 60;
    auto empty = Catalog::Empty({"NL"}, "EUR");
    CatalogBuilder cb(**empty);
    for (int k = 0; k < kProducts; ++k) {
      const int i = reversed ? kProducts - k : k + 1;
      Product p;
      p.id = absl::StrCat("p", i);
      p.name = p.id;
      p.category_path = {"C"};
      p.active = true;
      cb.UpsertProduct(std::move(p));
    }
    auto catalog = cb.Build();
    auto index = [&](int i) { return *catalog->FindProduct(absl::StrCat("p", i)); };
    std::mt19937 rng(7);
    std::vector<std::pair<std::string, std::unique_ptr<CustomerState>>> customers;
    for (int c = 0; c < 400; ++c) {
      auto s = std::make_unique<CustomerState>();
      for (int k = 0; k < 8; ++k) {
        const int i = 1 + static_cast<int>(rng() % kProducts);
        bool dup = false;
        for (const auto& r : s->features.purchases) dup |= r.product == index(i);
        if (dup) continue;
        // Many equal times: ties are broken by product id, not index.
        const TimeMs t = kNow - static_cast<TimeMs>(rng() % 3) * kDay;
        s->features.purchases.push_back({index(i), 1, t, t});
      }
      std::sort(s->features.purchases.begin(), s->features.purchases.end(),
                MoreRecentPurchase{*catalog});
      s->features.orders = 1;
      customers.emplace_back(absl::StrCat("c", c), std::move(s));
    }
    if (reversed) std::reverse(customers.begin(), customers.end());
    EpochDomain epochs;
    CustomerIndex idx(epochs);
    for (auto& [id, state] : customers) idx.Publish(id, std::move(state));
    DecisionConfig config;
    ModelOptions o;
    o.co_purchase.neighbours_per_product = 5;  // ties at the cut
    auto m = BuildModels(o, idx, *catalog, config, kNow);
    EXPECT_EQ(m->fingerprint,
              NeighboursFingerprint(m->co_view, *catalog,
                                    NeighboursFingerprint(m->co_purchase, *catalog)));
    return std::make_pair(NeighboursText(m->co_purchase, *catalog), m->fingerprint);
  };
  const auto forward = build(false);
  EXPECT_FALSE(forward.first.empty());
  EXPECT_EQ(forward, build(true));
}

// Category "Cat > Sub1" (p1, p4, ...) is bought again by a share of its
// buyers; "Sub2" never; a tiny "Sub0" takes the shop's profile.
TEST(RepurchaseTest, ConsumableCategoriesAreLearnedFromRepeatShares) {
  auto catalog = testing::MakeCatalog(9);  // p_i in Sub(i % 3)
  auto category = [&](ProductIndex p) { return catalog->product(p).category; };
  const ProductIndex sub1 = 0, sub2 = 1, sub0 = 2;  // p1, p2, p3
  std::vector<CustomerFeatures> pop(40);
  for (int i = 0; i < 40; ++i) {
    // Everyone bought p1 once or (every 4th customer) three times 10 days apart.
    const bool repeat = i % 4 == 0;
    pop[i].purchases.push_back({sub1, repeat ? 3u : 1u, repeat ? kNow - 20 * kDay : kNow, kNow});
    pop[i].purchases.push_back({sub2, 1, kNow, kNow});
    if (i < 5) pop[i].purchases.push_back({sub0, 1, kNow, kNow});
  }
  RepurchaseOptions o;
  o.min_pairs = 20;
  o.consumable_repeat_share = 0.2;
  const auto profiles = RepurchaseProfiles::Build(o, *catalog, Pointers(pop));
  const RepurchaseProfile& c1 = profiles.For(category(sub1));
  EXPECT_TRUE(c1.own);
  EXPECT_EQ(c1.pairs, 40);
  EXPECT_EQ(c1.repeats, 10);
  EXPECT_TRUE(c1.consumable);  // 10/40 = 0.25 >= 0.2
  EXPECT_EQ(c1.typical_interval, 10 * kDay);
  const RepurchaseProfile& c2 = profiles.For(category(sub2));
  EXPECT_TRUE(c2.own);
  EXPECT_FALSE(c2.consumable);
  // Sub0 has 5 pairs: the shop's profile (10 repeats of 85 pairs, 0.118 < 0.2).
  const RepurchaseProfile& c0 = profiles.For(category(sub0));
  EXPECT_FALSE(c0.own);
  EXPECT_EQ(c0.pairs, 85);
  EXPECT_FALSE(c0.consumable);
  EXPECT_EQ(profiles.consumable_categories(), 1u);

  // May it come back? A repeat of one's own always; a durable bought once never.
  EXPECT_TRUE(MayRebuy(&profiles, *catalog, {sub2, 2, kNow - kDay, kNow}));
  EXPECT_FALSE(MayRebuy(&profiles, *catalog, {sub2, 1, kNow, kNow}));
  EXPECT_TRUE(MayRebuy(&profiles, *catalog, {sub1, 1, kNow, kNow}));
  EXPECT_FALSE(MayRebuy(nullptr, *catalog, {sub1, 1, kNow, kNow}));
}

}  // namespace
}  // namespace nextbest::core
