#pragma once
// Catalog: products, stores, categories, markets and stock, as one immutable
// snapshot read lock-free by Recommend. The writer changes it through a
// CatalogBuilder, which shares every table it does not touch with the
// previous snapshot (a stock update copies only the stock bits, never the
// products), and publishes the result by pointer swap.
//
// Stock: one bit per (product, store) and one per (product, online market),
// so "in stock in this store" is one load and a mask, for 700 stores too.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/types.h"

namespace nextbest::core {

struct Product {
  std::string id;
  std::string name;
  std::string brand;
  BrandIndex brand_index = kNoBrand;  // kNoBrand: no brand
  std::vector<std::string> category_path;
  CategoryIndex category = kNoCategory;  // the leaf of category_path (none when empty)
  int64_t price_minor = 0;
  std::vector<std::string> sizes;
  std::vector<std::string> tags;
  TimeMs available_from = 0;
  bool active = false;
  // False for a product only seen in events so far (never recommended).
  bool listed = false;
};

struct Store {
  std::string id;
  CountryIndex country = kNoCountry;
  std::string name;
  std::string city;
};

class Catalog {
 public:
  // A catalog with no products or stores. `markets` are ISO country codes
  // (at most kMaxCountries); the first is the default market.
  static absl::StatusOr<std::unique_ptr<const Catalog>> Empty(std::vector<std::string> markets,
                                                              std::string currency);

  size_t product_count() const { return products_->products.size(); }
  // Products only seen in events so far (never upserted).
  size_t unlisted_count() const { return products_->products.size() - products_->listed; }
  const Product& product(ProductIndex p) const { return products_->products[p]; }
  std::optional<ProductIndex> FindProduct(absl::string_view id) const;

  size_t store_count() const { return stores_->stores.size(); }
  const Store& store(StoreIndex s) const { return stores_->stores[s]; }
  std::optional<StoreIndex> FindStore(absl::string_view id) const;

  size_t market_count() const { return markets_->codes.size(); }
  const std::string& market_code(CountryIndex c) const { return markets_->codes[c]; }
  std::optional<CountryIndex> FindMarket(absl::string_view code) const;
  // The market an event or a decision counts for, the one rule for both:
  // `given` (the request's or event's), else the store's, else the
  // customer's; kNoCountry if none of them has one.
  CountryIndex MarketOf(CountryIndex given, StoreIndex store, CountryIndex customer) const {
    if (given != kNoCountry) return given;
    if (store < store_count() && stores_->stores[store].country != kNoCountry)
      return stores_->stores[store].country;
    return customer;
  }
  const std::string& currency() const { return markets_->currency; }

  const std::string& category_name(CategoryIndex c) const { return products_->categories[c]; }
  size_t category_count() const { return products_->categories.size(); }
  std::optional<CategoryIndex> FindCategory(absl::string_view path) const;

  const std::string& brand_name(BrandIndex b) const { return products_->brands[b]; }
  size_t brand_count() const { return products_->brands.size(); }
  std::optional<BrandIndex> FindBrand(absl::string_view name) const;
  // The share of listed products carrying brand `b` (0..1). A house brand
  // on most of the range says little about a customer's taste.
  double BrandShare(BrandIndex b) const {
    const ProductTable& t = *products_;
    return b < t.brand_products.size() && t.listed > 0
               ? static_cast<double>(t.brand_products[b]) / static_cast<double>(t.listed)
               : 0;
  }

  // Listed, active and available at `now`.
  bool Recommendable(ProductIndex p, TimeMs now) const {
    const Product& prod = products_->products[p];
    return prod.listed && prod.active && prod.available_from <= now;
  }
  // In stock in `store` if one is given, else online in `country`.
  bool InStock(ProductIndex p, CountryIndex country, StoreIndex store) const;
  // The product's availability as stored: one bit per store index (64 per
  // word) and one per market.
  absl::Span<const uint64_t> StoreStockBits(ProductIndex p) const;
  uint16_t OnlineStockMask(ProductIndex p) const;

 private:
  friend class CatalogBuilder;
  struct ProductTable {
    std::vector<Product> products;
    absl::flat_hash_map<std::string, ProductIndex> by_id;
    std::vector<std::string> categories;  // path joined with "/"
    absl::flat_hash_map<std::string, CategoryIndex> category_by_path;
    std::vector<std::string> brands;
    absl::flat_hash_map<std::string, BrandIndex> brand_by_name;
    std::vector<uint32_t> brand_products;  // listed products per brand
    uint32_t listed = 0;                   // listed products
  };
  struct StoreTable {
    std::vector<Store> stores;
    absl::flat_hash_map<std::string, StoreIndex> by_id;
  };
  struct StockTable {
    size_t words_per_product = 1;
    std::vector<uint64_t> store_bits;   // product-major
    std::vector<uint16_t> online_mask;  // bit per market
  };
  struct Markets {
    std::vector<std::string> codes;
    std::string currency;
  };

  std::shared_ptr<const ProductTable> products_;
  std::shared_ptr<const StoreTable> stores_;
  std::shared_ptr<const StockTable> stock_;
  std::shared_ptr<const Markets> markets_;
};

// Writer side: starts from a snapshot, copies only the tables it changes.
class CatalogBuilder {
 public:
  explicit CatalogBuilder(const Catalog& base) : next_(base) {}

  const Catalog& current() const { return next_; }
  bool changed() const { return changed_; }

  // The index of `id`, adding an unlisted placeholder if it is new.
  ProductIndex InternProduct(absl::string_view id);
  // Creates or replaces a product (its category path and brand are interned).
  ProductIndex UpsertProduct(Product product);
  // New stores get the next index; an existing id keeps its index.
  StoreIndex UpsertStore(Store store);
  void SetStoreStock(ProductIndex p, StoreIndex s, bool in_stock);
  void SetOnlineStock(ProductIndex p, CountryIndex c, bool in_stock);
  // Replaces the product's availability (recovery); extra words are ignored.
  void SetStock(ProductIndex p, absl::Span<const uint64_t> store_bits, uint16_t online_mask);

  std::unique_ptr<const Catalog> Build();

 private:
  Catalog::ProductTable& Products();
  Catalog::StoreTable& Stores();
  Catalog::StockTable& Stock();

  Catalog next_;
  bool changed_ = false;
  bool products_owned_ = false, stores_owned_ = false, stock_owned_ = false;
  // The stock layout matches the product and store counts.
  bool stock_layout_ok_ = false;
};

}  // namespace nextbest::core
