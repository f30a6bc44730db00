#include "core/trending.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace nextbest::core
