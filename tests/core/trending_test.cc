#include "core/trending.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/core/test_catalog.h"

namespace nextbest::core {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

TEST(TrendingTest, RanksByDecayedPopularityPerMarket) {
  auto catalog = testing::MakeCatalog(4);
  std::vector<ProductPopularity> pop(4);
  AddPopularity(pop[0], kT0, 5, 0, 7);                   // NL
  AddPopularity(pop[1], kT0, 3, 1, 7);                   // BE
  AddPopularity(pop[2], kT0 - 14 * kMsPerDay, 10, 0, 7);  // NL, two half-lives ago = 2.5
  auto snap = BuildTrending(pop, *catalog, kT0, 7, 10);
  ASSERT_EQ(snap->For(0).size(), 2u);
  EXPECT_EQ(snap->For(0)[0].product, 0u);
  EXPECT_EQ(snap->For(0)[1].product, 2u);
  EXPECT_NEAR(snap->For(0)[1].score, 2.5, 1e-5);
  ASSERT_EQ(snap->For(1).size(), 1u);
  EXPECT_EQ(snap->For(1)[0].product, 1u);
  EXPECT_EQ(snap->For(kNoCountry).size(), 3u);  // overall
  EXPECT_EQ(snap->For(kNoCountry)[0].product, 0u);
  // Scores keep decaying after the snapshot; the ranking does not change.
  EXPECT_NEAR(snap->ScoreAt(snap->For(0)[0], kT0 + 7 * kMsPerDay), 2.5, 1e-5);
}

TEST(TrendingTest, LateEventsAddDecayedWeightInAnyOrder) {
  constexpr TimeMs kDay = kMsPerDay;
  ProductPopularity late_last, late_first;
  AddPopularity(late_last, kT0 + 10 * kDay, 1, 1, 10);
  AddPopularity(late_last, kT0, 1, 1, 10);  // 10 days older: half weight
  AddPopularity(late_first, kT0, 1, 1, 10);
  AddPopularity(late_first, kT0 + 10 * kDay, 1, 1, 10);
  for (const ProductPopularity* p : {&late_last, &late_first}) {
    EXPECT_EQ(p->ref, kT0 + 10 * kDay);
    EXPECT_NEAR(p->overall, 1.5, 1e-12);
    EXPECT_NEAR(p->by_market[1], 1.5, 1e-12);
    EXPECT_EQ(p->by_market[0], 0);
  }
}

TEST(TrendingTest, ListSizeAndUnlistedProducts) {
  auto base = testing::MakeCatalog(5);
  CatalogBuilder b(*base);
  Product p = base->product(4);
  p.active = false;
  b.UpsertProduct(p);
  const ProductIndex ghost = b.InternProduct("ghost");
  auto catalog = b.Build();
  std::vector<ProductPopularity> pop(catalog->product_count());
  for (size_t i = 0; i < pop.size(); ++i) AddPopularity(pop[i], kT0, 1.0 + i, 0, 7);
  auto snap = BuildTrending(pop, *catalog, kT0, 7, 2);
  ASSERT_EQ(snap->For(0).size(), 2u);
  // The inactive p5 and the unlisted ghost are left out despite top scores.
  EXPECT_EQ(snap->For(0)[0].product, 3u);
  EXPECT_NE(snap->For(0)[0].product, ghost);
}

TEST(TrendingTest, PerBrandAndPerStoreLists) {
  auto base = testing::MakeCatalog(6, /*stores=*/3);
  CatalogBuilder b(*base);
  for (ProductIndex p = 0; p < 6; ++p) {
    Product prod = base->product(p);
    prod.brand = p < 2 ? "Alpha" : "Beta";
    b.UpsertProduct(std::move(prod));
  }
  auto catalog = b.Build();
  std::vector<ProductPopularity> pop(6);
  for (ProductIndex p = 0; p < 6; ++p) AddPopularity(pop[p], kT0, 1.0 + p, 0, 7);
  StorePopularity stores(3);
  AddStoreScore(stores[1][4], kT0, 3, 7);
  AddStoreScore(stores[1][0], kT0, 5, 7);
  AddStoreScore(stores[1][0], kT0 - 7 * kMsPerDay, 2, 7);  // late, one half-life old: +1
  auto snap = BuildTrending(pop, *catalog, kT0, 7, 10, &stores);
  const BrandIndex alpha = *catalog->FindBrand("Alpha");
  ASSERT_EQ(snap->ForBrand(alpha).size(), 2u);
  EXPECT_EQ(snap->ForBrand(alpha)[0].product, 1u);
  EXPECT_EQ(snap->ForBrand(*catalog->FindBrand("Beta")).size(), 4u);
  EXPECT_TRUE(snap->ForStore(0).empty());
  ASSERT_EQ(snap->ForStore(1).size(), 2u);
  EXPECT_EQ(snap->ForStore(1)[0].product, 0u);
  EXPECT_NEAR(snap->ForStore(1)[0].score, 6, 1e-5);
  EXPECT_EQ(snap->ForStore(1)[1].product, 4u);
  EXPECT_TRUE(snap->ForStore(7).empty());  // unknown store
  EXPECT_TRUE(snap->ForBrand(kNoBrand).empty());
}

TEST(TrendingTest, StorePopularityIsBoundedKeepingTheStrongest) {
  absl::flat_hash_map<ProductIndex, StoreScore> store;
  for (ProductIndex p = 0; p < 10; ++p) AddStoreScore(store[p], kT0, 1.0 + p, 7);
  EXPECT_TRUE(StorePopularityOverflow(store, kT0, 7, 5).empty());  // 10 <= 2 x 5
  AddStoreScore(store[10], kT0, 0.5, 7);
  std::vector<ProductIndex> drop = StorePopularityOverflow(store, kT0, 7, 5);
  std::sort(drop.begin(), drop.end());
  // The six weakest go (0.5 and 1..5), the five strongest (6..10) stay.
  EXPECT_EQ(drop, (std::vector<ProductIndex>{0, 1, 2, 3, 4, 10}));
  // Decay counts: an old strong score is weaker than a fresh small one.
  store.clear();
  for (ProductIndex p = 0; p < 3; ++p) AddStoreScore(store[p], kT0, 1, 7);
  AddStoreScore(store[3], kT0 - 70 * kMsPerDay, 100, 7);  // 100 / 1024
  EXPECT_EQ(StorePopularityOverflow(store, kT0, 7, 1).size(), 3u);
  drop = StorePopularityOverflow(store, kT0, 7, 1);
  EXPECT_NE(std::find(drop.begin(), drop.end(), 3u), drop.end());
}

}  // namespace
}  // namespace nextbest::core
