#include "core/trending.h"

#include <algorithm>
#include <cmath>

namespace nextbest::core {

void AddPopularity(ProductPopularity& p, TimeMs t, double weight, CountryIndex market,
                   double half_life_days) {
  const double w = DecayedWeight(p.ref, t, weight, half_life_days, [&p](double k) {
    p.overall *= k;
    for (double& s : p.by_market) s *= k;
  });
  p.overall += w;
  if (market != kNoCountry) p.by_market[market] += w;
}

void AddStoreScore(StoreScore& s, TimeMs t, double weight, double half_life_days) {
  s.score += DecayedWeight(s.ref, t, weight, half_life_days, [&s](double k) { s.score *= k; });
}

std::vector<ProductIndex> StorePopularityOverflow(
    const absl::flat_hash_map<ProductIndex, StoreScore>& store, TimeMs now, double half_life_days,
    size_t keep) {
  if (store.size() <= 2 * keep) return {};
  std::vector<std::pair<double, ProductIndex>> all;
  all.reserve(store.size());
  for (const auto& [p, s] : store) {
    all.emplace_back(s.score * DecayFactor(now - s.ref, half_life_days), p);
  }
  // The weakest first; ties by product index, so the choice is deterministic.
  std::nth_element(all.begin(), all.begin() + (all.size() - keep), all.end());
  std::vector<ProductIndex> out;
  out.reserve(all.size() - keep);
  for (size_t i = 0; i < all.size() - keep; ++i) out.push_back(all[i].second);
  return out;
}

namespace {
// A score as a list keeps it: positive and finite as a float. A stored
// reference time far ahead of `now` (no writer makes one, a damaged record
// might) would decay *up* past what a float holds; such entries are left
// out rather than poisoning every sort and normalisation downstream.
bool Keep(double score) {
  const auto f = static_cast<float>(score);
  return f > 0 && std::isfinite(f);
}

void TopInto(std::vector<TrendingEntry>& all, size_t n, std::vector<TrendingEntry>& out) {
  auto better = [](const TrendingEntry& a, const TrendingEntry& b) {
    return a.score != b.score ? a.score > b.score : a.product < b.product;
  };
  n = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + n, all.end(), better);
  out.assign(all.begin(), all.begin() + n);
}
}  // namespace

std::unique_ptr<const TrendingSnapshot> BuildTrending(
    const std::vector<ProductPopularity>& popularity, const Catalog& catalog, TimeMs now,
    double half_life_days, size_t list_size, const StorePopularity* by_store) {
  auto snap = std::make_unique<TrendingSnapshot>();
  snap->ref_time = now;
  snap->half_life_days = half_life_days;
  const size_t markets = catalog.market_count();
  std::vector<TrendingEntry> overall;
  std::vector<std::vector<TrendingEntry>> by_market(markets);
  std::vector<std::vector<TrendingEntry>> by_category(catalog.category_count());
  std::vector<std::vector<TrendingEntry>> by_brand(catalog.brand_count());
  const size_t n = std::min(popularity.size(), catalog.product_count());
  for (size_t p = 0; p < n; ++p) {
    const ProductPopularity& pop = popularity[p];
    if (pop.ref == 0 || !catalog.product(p).listed || !catalog.product(p).active) continue;
    const double k = DecayFactor(now - pop.ref, half_life_days);
    const auto idx = static_cast<ProductIndex>(p);
    if (Keep(pop.overall * k)) {
      overall.push_back({idx, static_cast<float>(pop.overall * k)});
      const CategoryIndex c = catalog.product(p).category;
      if (c < by_category.size()) by_category[c].push_back(overall.back());
      const BrandIndex b = catalog.product(p).brand_index;
      if (b < by_brand.size()) by_brand[b].push_back(overall.back());
    }
    for (size_t m = 0; m < markets; ++m) {
      if (Keep(pop.by_market[m] * k)) {
        by_market[m].push_back({idx, static_cast<float>(pop.by_market[m] * k)});
      }
    }
  }
  TopInto(overall, list_size, snap->overall);
  for (size_t m = 0; m < markets; ++m) TopInto(by_market[m], list_size, snap->by_market[m]);
  constexpr size_t kPerCategory = 50;
  snap->by_category.resize(by_category.size());
  for (size_t c = 0; c < by_category.size(); ++c) {
    TopInto(by_category[c], kPerCategory, snap->by_category[c]);
  }
  constexpr size_t kPerBrand = 50;
  snap->by_brand.resize(by_brand.size());
  for (size_t b = 0; b < by_brand.size(); ++b) TopInto(by_brand[b], kPerBrand, snap->by_brand[b]);
  if (by_store != nullptr) {
    constexpr size_t kPerStore = 100;
    const size_t stores = std::min(by_store->size(), catalog.store_count());
    snap->by_store.resize(stores);
    std::vector<TrendingEntry> all;
    for (size_t s = 0; s < stores; ++s) {
      all.clear();
      for (const auto& [p, score] : (*by_store)[s]) {
        if (p >= catalog.product_count() || !catalog.product(p).listed ||
            !catalog.product(p).active)
          continue;
        const double v = score.score * DecayFactor(now - score.ref, half_life_days);
        if (Keep(v)) all.push_back({p, static_cast<float>(v)});
      }
      TopInto(all, kPerStore, snap->by_store[s]);
    }
  }
  return snap;
}

}  // namespace nextbest::core
