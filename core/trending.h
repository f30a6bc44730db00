#pragma once
// Product popularity with time decay ("trending now"), overall and per
// market. The writer keeps one ProductPopularity per product (persisted with
// each event by storage/) and periodically publishes a TrendingSnapshot: the
// top products per market, ranked at one reference time. All scores decay
// at the same rate, so the ranking only changes when events arrive, never
// because time passes: a snapshot stays valid until the next publication.

#include <array>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "core/catalog.h"
#include "core/features.h"
#include "core/types.h"

namespace nextbest::core {

struct ProductPopularity {
  TimeMs ref = 0;  // scores below are at this time; 0 = never touched
  double overall = 0;
  std::array<double, kMaxCountries> by_market{};
};

// Adds `weight` at time `t` (order-independent, see DecayedWeight).
void AddPopularity(ProductPopularity& p, TimeMs t, double weight, CountryIndex market,
                   double half_life_days);

struct TrendingEntry {
  ProductIndex product;
  float score;  // at TrendingSnapshot::ref_time
};

struct TrendingSnapshot {
  TimeMs ref_time = 0;
  double half_life_days = 7;
  std::vector<TrendingEntry> overall;
  std::array<std::vector<TrendingEntry>, kMaxCountries> by_market;
  // Overall popularity within each leaf category (at most 50 per category).
  std::vector<std::vector<TrendingEntry>> by_category;

  // The list for `market`, or the overall list for kNoCountry.
  const std::vector<TrendingEntry>& For(CountryIndex market) const {
    return market == kNoCountry ? overall : by_market[market];
  }
  absl::Span<const TrendingEntry> ForCategory(CategoryIndex c) const {
    return c < by_category.size() ? absl::MakeConstSpan(by_category[c]) : absl::Span<const TrendingEntry>();
  }
  double ScoreAt(const TrendingEntry& e, TimeMs now) const {
    return e.score * DecayFactor(now - ref_time, half_life_days);
  }
};

// Ranks listed, active products by popularity at `now`; at most `list_size`
// per list. Products with no positive score are left out.
std::unique_ptr<const TrendingSnapshot> BuildTrending(
    const std::vector<ProductPopularity>& popularity, const Catalog& catalog, TimeMs now,
    double half_life_days, size_t list_size);

}  // namespace nextbest::core
