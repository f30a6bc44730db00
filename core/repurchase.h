#pragma once
// Repurchase profiles: whether a category's products are bought once
// (durable: clothes, films, furniture, toys) or again and again
// (consumable: coffee, nappies), learned from the purchase histories, not
// assumed. A product the customer bought may come back in a personal
// answer only if it is consumable for them — its category is, or they have
// bought it in two orders or more themselves — and then only when the
// placement's own rules let it (replenishment when due, the bought-within
// window); a durable one never does (PlacementSpec::exclude_bought_durables).
//
// Per category: the (customer, product) pairs with a purchase, the share of
// them with purchases in two orders or more, and the median of their
// typical intervals. A category with fewer than `min_pairs` pairs takes the
// whole shop's profile.

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "core/catalog.h"
#include "core/features.h"
#include "core/value_counts.h"

namespace nextbest::core {

struct RepurchaseOptions {
  // Consumable from this share of repeat purchases on.
  double consumable_repeat_share = 0.1;
  int min_pairs = 20;
};

struct RepurchaseProfile {
  int64_t pairs = 0;            // (customer, product) pairs with a purchase
  int64_t repeats = 0;          // of them bought in two orders or more
  TimeMs typical_interval = 0;  // median over the repeats
  bool consumable = false;
  bool own = false;  // false: too few pairs, the shop's profile stands in
  double RepeatShare() const { return pairs > 0 ? static_cast<double>(repeats) / pairs : 0; }
};

// The counts behind the profiles: what a shard contributes; two shards'
// counts merge into the counts of their customers together.
struct RepurchaseCounts {
  struct Category {
    int64_t pairs = 0;
    int64_t repeats = 0;
    ValueCounts intervals;  // typical intervals of the repeats, ms
  };
  std::vector<Category> categories;  // by category index
  Category shop;
  void Merge(const RepurchaseCounts& other);
};

class RepurchaseProfiles {
 public:
  // The category's profile (the shop's when it has too few pairs); the
  // shop's for kNoCategory or a category newer than the build.
  const RepurchaseProfile& For(CategoryIndex c) const {
    return c < categories_.size() ? categories_[c] : shop_;
  }
  const RepurchaseProfile& shop() const { return shop_; }
  size_t consumable_categories() const;
  size_t categories() const { return categories_.size(); }

  // Over the customers' purchase histories: FromCounts(Count(...)).
  static RepurchaseProfiles Build(const RepurchaseOptions& options, const Catalog& catalog,
                                  absl::Span<const CustomerFeatures* const> customers);
  static RepurchaseCounts Count(const Catalog& catalog,
                                absl::Span<const CustomerFeatures* const> customers);
  static RepurchaseProfiles FromCounts(const RepurchaseOptions& options,
                                       const RepurchaseCounts& counts);

 private:
  std::vector<RepurchaseProfile> categories_;
  RepurchaseProfile shop_;
};

// Whether product `p`, bought as `record`, may be offered again: it is
// consumable for this customer (bought in two orders or more, or its
// category is consumable). Without profiles (no models yet) only the
// customer's own repeats count.
bool MayRebuy(const RepurchaseProfiles* profiles, const Catalog& catalog,
              const PurchaseRecord& record);

}  // namespace nextbest::core
