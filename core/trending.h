#pragma once
// Product popularity with time decay ("trending now"): overall, per market,
// per leaf category, per brand and per store. The writer keeps one ProductPopularity per product
// (persisted with each event by storage/) and periodically publishes a TrendingSnapshot: the top
// products per market, ranked at one reference time. All scores decay at the same rate, so the
// ranking only changes when events arrive, never because time passes: a snapshot stays valid until
// the next publication.

#include <array>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
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

// A product's decayed popularity in one store, from the events that name
// the store (purchases at the till, scans in the store app). Sparse: the
// writer keeps one map per store, bounded by PruneStorePopularity.
struct StoreScore {
  TimeMs ref = 0;
  double score = 0;
};
using StorePopularity = std::vector<absl::flat_hash_map<ProductIndex, StoreScore>>;

void AddStoreScore(StoreScore& s, TimeMs t, double weight, double half_life_days);

// The products to forget in a store holding more than 2 × `keep` of them:
// all but the `keep` most popular at `now`. Empty when within bounds. The
// bound keeps memory at stores × 2 × keep entries whatever the history.
std::vector<ProductIndex> StorePopularityOverflow(
    const absl::flat_hash_map<ProductIndex, StoreScore>& store, TimeMs now, double half_life_days,
    size_t keep);

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
  // Overall popularity within each brand (at most 50 per brand).
  std::vector<std::vector<TrendingEntry>> by_brand;
  // Popularity within each store (at most 100 per store).
  std::vector<std::vector<TrendingEntry>> by_store;

  // The list for `market`, or the overall list for kNoCountry.
  const std::vector<TrendingEntry>& For(CountryIndex market) const {
    return market == kNoCountry ? overall : by_market[market];
  }
  absl::Span<const TrendingEntry> ForCategory(CategoryIndex c) const {
    return c < by_category.size() ? absl::MakeConstSpan(by_category[c])
                                  : absl::Span<const TrendingEntry>();
  }
  absl::Span<const TrendingEntry> ForBrand(BrandIndex b) const {
    return b < by_brand.size() ? absl::MakeConstSpan(by_brand[b])
                               : absl::Span<const TrendingEntry>();
  }
  absl::Span<const TrendingEntry> ForStore(StoreIndex s) const {
    return s < by_store.size() ? absl::MakeConstSpan(by_store[s])
                               : absl::Span<const TrendingEntry>();
  }
  double ScoreAt(const TrendingEntry& e, TimeMs now) const {
    return e.score * DecayFactor(now - ref_time, half_life_days);
  }
};

// Ranks listed, active products by popularity at `now`; at most `list_size`
// per market/overall list. Products with no positive score are left out.
// `by_store` (optional) is indexed by store.
std::unique_ptr<const TrendingSnapshot> BuildTrending(
    const std::vector<ProductPopularity>& popularity, const Catalog& catalog, TimeMs now,
    double half_life_days, size_t list_size, const StorePopularity* by_store = nullptr);

}  // namespace nextbest::core
