#include "core/repurchase.h"

#include <algorithm>

namespace nextbest::core {
size_t RepurchaseProfiles::consumable_categories() const {
  return static_cast<size_t>(
      std::count_if(categories_.begin(), categories_.end(),
                    [](const RepurchaseProfile& p) { return p.consumable; }));
}

RepurchaseCounts RepurchaseProfiles::Count(const Catalog& catalog,
                                           absl::Span<const CustomerFeatures* const> customers) {
  RepurchaseCounts out;
  const size_t n = catalog.category_count();
  out.categories.assign(n, {});
  std::vector<std::vector<double>> intervals(n);
  std::vector<double> all;
  for (const CustomerFeatures* f : customers) {
    for (const PurchaseRecord& r : f->purchases) {
      if (r.product >= catalog.product_count()) continue;
      const CategoryIndex c = catalog.product(r.product).category;
      ++out.shop.pairs;
      if (c < n) ++out.categories[c].pairs;
      if (r.count < 2) continue;
      ++out.shop.repeats;
      all.push_back(static_cast<double>(r.TypicalInterval()));
      if (c < n) {
        ++out.categories[c].repeats;
        intervals[c].push_back(static_cast<double>(r.TypicalInterval()));
      }
    }
  }
  out.shop.intervals = ValueCounts::Of(std::move(all));
  for (size_t c = 0; c < n; ++c)
    out.categories[c].intervals = ValueCounts::Of(std::move(intervals[c]));
  return out;
}

void RepurchaseCounts::Merge(const RepurchaseCounts& other) {
  auto add = [](Category& into, const Category& from) {
    into.pairs += from.pairs;
    into.repeats += from.repeats;
    into.intervals.Merge(from.intervals);
  };
  if (categories.size() < other.categories.size()) categories.resize(other.categories.size());
  for (size_t c = 0; c < other.categories.size(); ++c) add(categories[c], other.categories[c]);
  add(shop, other.shop);
}

RepurchaseProfiles RepurchaseProfiles::FromCounts(const RepurchaseOptions& o,
                                                  const RepurchaseCounts& counts) {
  auto settle = [&](const RepurchaseCounts::Category& c) {
    RepurchaseProfile p;
    p.pairs = c.pairs;
    p.repeats = c.repeats;
    // The median: the middle value (the upper one of an even count).
    p.typical_interval = static_cast<TimeMs>(c.intervals.AtRank(c.intervals.total() / 2));
    p.consumable = p.RepeatShare() >= o.consumable_repeat_share;
    p.own = true;
    return p;
  };
  RepurchaseProfiles out;
  out.shop_ = settle(counts.shop);
  out.categories_.reserve(counts.categories.size());
  for (const RepurchaseCounts::Category& c : counts.categories) {
    if (c.pairs >= o.min_pairs) {
      out.categories_.push_back(settle(c));
    } else {
      out.categories_.push_back(out.shop_);
      out.categories_.back().own = false;
    }
  }
  return out;
}

RepurchaseProfiles RepurchaseProfiles::Build(const RepurchaseOptions& o, const Catalog& catalog,
                                             absl::Span<const CustomerFeatures* const> customers) {
  return FromCounts(o, Count(catalog, customers));
}

bool MayRebuy(const RepurchaseProfiles* profiles, const Catalog& catalog,
              const PurchaseRecord& record) {
  if (record.count >= 2) return true;
  if (profiles == nullptr || record.product >= catalog.product_count()) return false;
  return profiles->For(catalog.product(record.product).category).consumable;
}

}  // namespace nextbest::core
