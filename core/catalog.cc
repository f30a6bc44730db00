#include "core/catalog.h"

#include "absl/status/status.h"
#include "absl/strings/str_join.h"

namespace nextbest::core {

absl::StatusOr<std::unique_ptr<const Catalog>> Catalog::Empty(std::vector<std::string> markets,
                                                              std::string currency) {
  if (markets.empty()) return absl::InvalidArgumentError("markets: at least one market required");
  if (markets.size() > kMaxCountries) {
    return absl::InvalidArgumentError("markets: at most 16 markets");
  }
  auto c = std::make_unique<Catalog>();
  c->products_ = std::make_shared<ProductTable>();
  c->stores_ = std::make_shared<StoreTable>();
  c->stock_ = std::make_shared<StockTable>();
  c->markets_ = std::make_shared<Markets>(Markets{std::move(markets), std::move(currency)});
  return std::unique_ptr<const Catalog>(std::move(c));
}

std::optional<ProductIndex> Catalog::FindProduct(absl::string_view id) const {
  auto it = products_->by_id.find(id);
  if (it == products_->by_id.end()) return std::nullopt;
  return it->second;
}

std::optional<StoreIndex> Catalog::FindStore(absl::string_view id) const {
  auto it = stores_->by_id.find(id);
  if (it == stores_->by_id.end()) return std::nullopt;
  return it->second;
}

std::optional<CountryIndex> Catalog::FindMarket(absl::string_view code) const {
  for (size_t i = 0; i < markets_->codes.size(); ++i) {
    if (markets_->codes[i] == code) return static_cast<CountryIndex>(i);
  }
  return std::nullopt;
}

std::optional<CategoryIndex> Catalog::FindCategory(absl::string_view path) const {
  auto it = products_->category_by_path.find(path);
  if (it == products_->category_by_path.end()) return std::nullopt;
  return it->second;
}

std::optional<BrandIndex> Catalog::FindBrand(absl::string_view name) const {
  auto it = products_->brand_by_name.find(name);
  if (it == products_->brand_by_name.end()) return std::nullopt;
  return it->second;
}

bool Catalog::InStock(ProductIndex p, CountryIndex country, StoreIndex store) const {
  const StockTable& st = *stock_;
  if (store != kNoStore) {
    const size_t word = p * st.words_per_product + store / 64;
    return word < st.store_bits.size() && (st.store_bits[word] >> (store % 64)) & 1;
  }
  if (country == kNoCountry || p >= st.online_mask.size()) return false;
  return (st.online_mask[p] >> country) & 1;
}

absl::Span<const uint64_t> Catalog::StoreStockBits(ProductIndex p) const {
  const StockTable& st = *stock_;
  if ((p + 1) * st.words_per_product > st.store_bits.size()) return {};
  return absl::MakeConstSpan(st.store_bits.data() + p * st.words_per_product, st.words_per_product);
}

uint16_t Catalog::OnlineStockMask(ProductIndex p) const {
  return p < stock_->online_mask.size() ? stock_->online_mask[p] : 0;
}

Catalog::ProductTable& CatalogBuilder::Products() {
  changed_ = true;
  if (!products_owned_) {
    next_.products_ = std::make_shared<Catalog::ProductTable>(*next_.products_);
    products_owned_ = true;
  }
  return const_cast<Catalog::ProductTable&>(*next_.products_);
}

Catalog::StoreTable& CatalogBuilder::Stores() {
  changed_ = true;
  if (!stores_owned_) {
    next_.stores_ = std::make_shared<Catalog::StoreTable>(*next_.stores_);
    stores_owned_ = true;
  }
  return const_cast<Catalog::StoreTable&>(*next_.stores_);
}

Catalog::StockTable& CatalogBuilder::Stock() {
  changed_ = true;
  if (!stock_owned_) {
    next_.stock_ = std::make_shared<Catalog::StockTable>(*next_.stock_);
    stock_owned_ = true;
  }
  auto& st = const_cast<Catalog::StockTable&>(*next_.stock_);
  if (stock_layout_ok_) return st;
  stock_layout_ok_ = true;
  // Keep the layout in step with the product and store counts.
  const size_t products = next_.product_count();
  const size_t words = std::max<size_t>(1, (next_.store_count() + 63) / 64);
  if (words != st.words_per_product) {
    std::vector<uint64_t> bits(products * words, 0);
    const size_t old_products = st.store_bits.size() / st.words_per_product;
    for (size_t p = 0; p < old_products; ++p) {
      for (size_t w = 0; w < std::min(words, st.words_per_product); ++w) {
        bits[p * words + w] = st.store_bits[p * st.words_per_product + w];
      }
    }
    st.store_bits = std::move(bits);
    st.words_per_product = words;
  }
  st.store_bits.resize(products * words, 0);
  st.online_mask.resize(products, 0);
  return st;
}

ProductIndex CatalogBuilder::InternProduct(absl::string_view id) {
  if (auto p = next_.FindProduct(id)) return *p;
  auto& t = Products();
  stock_layout_ok_ = false;
  const auto idx = static_cast<ProductIndex>(t.products.size());
  Product placeholder;
  placeholder.id = std::string(id);
  t.products.push_back(std::move(placeholder));
  t.by_id.emplace(std::string(id), idx);
  return idx;
}

ProductIndex CatalogBuilder::UpsertProduct(Product product) {
  const ProductIndex idx = InternProduct(product.id);
  auto& t = Products();
  // A product without a category path has no category (kNoCategory): it
  // joins no category's lists, affinities or limits.
  product.category = kNoCategory;
  if (!product.category_path.empty()) {
    const std::string path = absl::StrJoin(product.category_path, "/");
    auto [it, inserted] =
        t.category_by_path.emplace(path, static_cast<CategoryIndex>(t.categories.size()));
    if (inserted) t.categories.push_back(path);
    product.category = it->second;
  }
  // Replacing a listed product: its old brand loses it from the counts.
  const Product& before = t.products[idx];
  if (before.listed) {
    --t.listed;
    if (before.brand_index != kNoBrand) --t.brand_products[before.brand_index];
  }
  product.brand_index = kNoBrand;
  if (!product.brand.empty()) {
    auto [b, added] =
        t.brand_by_name.emplace(product.brand, static_cast<BrandIndex>(t.brands.size()));
    if (added) {
      t.brands.push_back(product.brand);
      t.brand_products.push_back(0);
    }
    product.brand_index = b->second;
    ++t.brand_products[product.brand_index];
  }
  ++t.listed;
  product.listed = true;
  t.products[idx] = std::move(product);
  return idx;
}

StoreIndex CatalogBuilder::UpsertStore(Store store) {
  auto& t = Stores();
  auto it = t.by_id.find(store.id);
  if (it != t.by_id.end()) {
    t.stores[it->second] = std::move(store);
    return it->second;
  }
  stock_layout_ok_ = false;
  const auto idx = static_cast<StoreIndex>(t.stores.size());
  t.by_id.emplace(store.id, idx);
  t.stores.push_back(std::move(store));
  return idx;
}

void CatalogBuilder::SetStoreStock(ProductIndex p, StoreIndex s, bool in_stock) {
  auto& st = Stock();
  uint64_t& word = st.store_bits[p * st.words_per_product + s / 64];
  const uint64_t bit = uint64_t{1} << (s % 64);
  word = in_stock ? (word | bit) : (word & ~bit);
}

void CatalogBuilder::SetOnlineStock(ProductIndex p, CountryIndex c, bool in_stock) {
  auto& st = Stock();
  const auto bit = static_cast<uint16_t>(1u << c);
  st.online_mask[p] = in_stock ? (st.online_mask[p] | bit) : (st.online_mask[p] & ~bit);
}

void CatalogBuilder::SetStock(ProductIndex p, absl::Span<const uint64_t> store_bits,
                              uint16_t online_mask) {
  auto& st = Stock();
  for (size_t w = 0; w < st.words_per_product; ++w) {
    st.store_bits[p * st.words_per_product + w] = w < store_bits.size() ? store_bits[w] : 0;
  }
  st.online_mask[p] = online_mask;
}

std::unique_ptr<const Catalog> CatalogBuilder::Build() {
  if (changed_) Stock();  // grow the stock layout to new products/stores
  products_owned_ = stores_owned_ = stock_owned_ = false;
  stock_layout_ok_ = false;
  changed_ = false;
  return std::make_unique<const Catalog>(next_);
}

}  // namespace nextbest::core
