#include "core/trending.h"

#include <algorithm>

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

namespace {
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
    double half_life_days, size_t list_size) {
  auto snap = std::make_unique<TrendingSnapshot>();
  snap->ref_time = now;
  snap->half_life_days = half_life_days;
  const size_t markets = catalog.market_count();
  std::vector<TrendingEntry> overall;
  std::vector<std::vector<TrendingEntry>> by_market(markets);
  std::vector<std::vector<TrendingEntry>> by_category(catalog.category_count());
  const size_t n = std::min(popularity.size(), catalog.product_count());
  for (size_t p = 0; p < n; ++p) {
    const ProductPopularity& pop = popularity[p];
    if (pop.ref == 0 || !catalog.product(p).listed || !catalog.product(p).active) continue;
    const double k = DecayFactor(now - pop.ref, half_life_days);
    const auto idx = static_cast<ProductIndex>(p);
    if (pop.overall > 0) {
      overall.push_back({idx, static_cast<float>(pop.overall * k)});
      const CategoryIndex c = catalog.product(p).category;
      if (c < by_category.size()) by_category[c].push_back(overall.back());
    }
    for (size_t m = 0; m < markets; ++m) {
      if (pop.by_market[m] > 0) {
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
  return snap;
}

}  // namespace nextbest::core
