#include "core/catalog.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/core/test_catalog.h"

namespace nextbest::core {
namespace {

TEST(CatalogTest, EmptyRejectsNoMarketsAndTooMany) {
  EXPECT_FALSE(Catalog::Empty({}, "EUR").ok());
  std::vector<std::string> many(17, "NL");
  EXPECT_FALSE(Catalog::Empty(many, "EUR").ok());
}

TEST(CatalogTest, UpsertAndFind) {
  auto c = testing::MakeCatalog(5);
  ASSERT_EQ(c->product_count(), 5u);
  auto p3 = c->FindProduct("p3");
  ASSERT_TRUE(p3.has_value());
  EXPECT_EQ(c->product(*p3).name, "Product 3");
  EXPECT_EQ(c->category_name(c->product(*p3).category), "Cat/Sub0");
  EXPECT_FALSE(c->FindProduct("p99").has_value());
  EXPECT_EQ(*c->FindMarket("BE"), 1);
  EXPECT_FALSE(c->FindMarket("US").has_value());
}

TEST(CatalogTest, PlaceholderIsNotRecommendableUntilListed) {
  auto base = testing::MakeCatalog(1);
  CatalogBuilder b(*base);
  const ProductIndex ghost = b.InternProduct("ghost");
  auto c = b.Build();
  EXPECT_FALSE(c->Recommendable(ghost, 1));
  CatalogBuilder b2(*c);
  Product p;
  p.id = "ghost";
  p.name = "Ghost";
  p.category_path = {"X"};
  p.active = true;
  EXPECT_EQ(b2.UpsertProduct(p), ghost);  // same index once listed
  EXPECT_TRUE(b2.Build()->Recommendable(ghost, 1));
}

TEST(CatalogTest, BrandsAreInternedAndCountedOverListedProducts) {
  auto base = testing::MakeCatalog(4);  // p1..p4, no brand
  CatalogBuilder b(*base);
  b.InternProduct("ghost");  // unlisted: not counted
  for (const char* id : {"p1", "p2", "p3"}) {
    Product p = base->product(*base->FindProduct(id));
    p.brand = id == std::string("p1") ? "Alpha" : "HEMA";
    b.UpsertProduct(p);
  }
  auto c = b.Build();
  ASSERT_EQ(c->brand_count(), 2u);
  const BrandIndex hema = *c->FindBrand("HEMA");
  EXPECT_EQ(c->product(*c->FindProduct("p2")).brand_index, hema);
  EXPECT_EQ(c->product(*c->FindProduct("p4")).brand_index, kNoBrand);
  EXPECT_DOUBLE_EQ(c->BrandShare(hema), 0.5);  // 2 of 4 listed
  EXPECT_DOUBLE_EQ(c->BrandShare(*c->FindBrand("Alpha")), 0.25);
  EXPECT_EQ(c->BrandShare(kNoBrand), 0);
  // A product changing brand moves its count; re-upserting keeps it.
  CatalogBuilder b2(*c);
  Product p2 = c->product(*c->FindProduct("p2"));
  p2.brand = "Alpha";
  b2.UpsertProduct(p2);
  b2.UpsertProduct(p2);
  auto c2 = b2.Build();
  EXPECT_DOUBLE_EQ(c2->BrandShare(hema), 0.25);
  EXPECT_DOUBLE_EQ(c2->BrandShare(*c2->FindBrand("Alpha")), 0.5);
  EXPECT_DOUBLE_EQ(c->BrandShare(hema), 0.5);  // the old snapshot is untouched
}

TEST(CatalogTest, InactiveAndNotYetAvailable) {
  auto base = testing::MakeCatalog(2);
  CatalogBuilder b(*base);
  Product p = base->product(0);
  p.active = false;
  b.UpsertProduct(p);
  Product q = base->product(1);
  q.available_from = 1000;
  b.UpsertProduct(q);
  auto c = b.Build();
  EXPECT_FALSE(c->Recommendable(0, 5000));
  EXPECT_FALSE(c->Recommendable(1, 999));
  EXPECT_TRUE(c->Recommendable(1, 1000));
}

TEST(CatalogTest, StockPerStoreAndOnline) {
  auto base = testing::MakeCatalog(3, /*stores=*/130, /*all_in_stock=*/false);
  CatalogBuilder b(*base);
  b.SetStoreStock(1, 129, true);
  b.SetOnlineStock(2, 1, true);
  auto c = b.Build();
  EXPECT_TRUE(c->InStock(1, 0, 129));
  EXPECT_FALSE(c->InStock(1, 0, 128));
  EXPECT_FALSE(c->InStock(1, 0, kNoStore));  // not online
  EXPECT_TRUE(c->InStock(2, 1, kNoStore));
  EXPECT_FALSE(c->InStock(2, 0, kNoStore));
  EXPECT_FALSE(c->InStock(2, kNoCountry, kNoStore));
  // Setting it back off.
  CatalogBuilder b2(*c);
  b2.SetStoreStock(1, 129, false);
  EXPECT_FALSE(b2.Build()->InStock(1, 0, 129));
}

TEST(CatalogTest, StockSurvivesGrowthOfStoresAndProducts) {
  auto base = testing::MakeCatalog(2, /*stores=*/63, /*all_in_stock=*/false);
  CatalogBuilder b(*base);
  b.SetStoreStock(1, 62, true);
  for (int s = 63; s < 200; ++s) b.UpsertStore({"x" + std::to_string(s), 0, "", ""});
  const ProductIndex fresh = b.InternProduct("new");
  b.SetStoreStock(fresh, 199, true);
  auto c = b.Build();
  EXPECT_TRUE(c->InStock(1, 0, 62));
  EXPECT_TRUE(c->InStock(fresh, 0, 199));
  EXPECT_FALSE(c->InStock(0, 0, 199));
}

TEST(CatalogTest, BuilderSharesUntouchedTables) {
  auto base = testing::MakeCatalog(3);
  CatalogBuilder b(*base);
  b.SetOnlineStock(0, 0, false);
  auto c = b.Build();
  // The old snapshot is unchanged by the new one.
  EXPECT_TRUE(base->InStock(0, 0, kNoStore));
  EXPECT_FALSE(c->InStock(0, 0, kNoStore));
  EXPECT_EQ(&base->product(0), &c->product(0));  // products not copied
}

}  // namespace
}  // namespace nextbest::core
