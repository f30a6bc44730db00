#include "core/repurchase.h"

#include <algorithm>

namespace nextbest::core {
namespace {

TimeMs Median(std::vector<TimeMs>& v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

}  // namespace

size_t RepurchaseProfiles::consumable_categories() const {
  return static_cast<size_t>(
      std::count_if(categories_.begin(), categories_.end(),
                    [](const RepurchaseProfile& p) { return p.consumable; }));
}

RepurchaseProfiles RepurchaseProfiles::Build(const RepurchaseOptions& o, const Catalog& catalog,
                                             absl::Span<const CustomerFeatures* const> customers) {
  RepurchaseProfiles out;
  const size_t n = catalog.category_count();
  out.categories_.assign(n, {});
  std::vector<std::vector<TimeMs>> intervals(n);
  std::vector<TimeMs> all;
  for (const CustomerFeatures* f : customers) {
    for (const PurchaseRecord& r : f->purchases) {
      if (r.product >= catalog.product_count()) continue;
      const CategoryIndex c = catalog.product(r.product).category;
      ++out.shop_.pairs;
      if (c < n) ++out.categories_[c].pairs;
      if (r.count < 2) continue;
      ++out.shop_.repeats;
      all.push_back(r.TypicalInterval());
      if (c < n) {
        ++out.categories_[c].repeats;
        intervals[c].push_back(r.TypicalInterval());
      }
    }
  }
  auto settle = [&](RepurchaseProfile& p, std::vector<TimeMs>& v) {
    p.typical_interval = Median(v);
    p.consumable = p.RepeatShare() >= o.consumable_repeat_share;
  };
  settle(out.shop_, all);
  out.shop_.own = true;
  for (size_t c = 0; c < n; ++c) {
    RepurchaseProfile& p = out.categories_[c];
    if (p.pairs >= o.min_pairs) {
      settle(p, intervals[c]);
      p.own = true;
    } else {
      p = out.shop_;
      p.own = false;
    }
  }
  return out;
}

bool MayRebuy(const RepurchaseProfiles* profiles, const Catalog& catalog,
              const PurchaseRecord& record) {
  if (record.count >= 2) return true;
  if (profiles == nullptr || record.product >= catalog.product_count()) return false;
  return profiles->For(catalog.product(record.product).category).consumable;
}

}  // namespace nextbest::core
