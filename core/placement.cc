#include "core/placement.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace nextbest::core {

bool IsPersonalSource(Source s) {
  switch (s) {
    case Source::kRecentlyViewed:
    case Source::kReplenishment:
    case Source::kAffinity:
    case Source::kNewArrivals:
    case Source::kBrandAffinity:
      return true;
    default:
      return false;  // neighbours are personal only through history seeds
  }
}

const char* SourceName(Source s) {
  switch (s) {
    case Source::kRecentlyViewed: return "recently_viewed";
    case Source::kTrending: return "trending";
    case Source::kReplenishment: return "replenishment";
    case Source::kCoPurchase: return "co_purchase";
    case Source::kCoView: return "co_view";
    case Source::kAffinity: return "affinity";
    case Source::kNewArrivals: return "new_arrivals";
    case Source::kOffer: return "offer";
    case Source::kBrandAffinity: return "brand_affinity";
  }
  return "";
}

const char* OfferTypeName(OfferType t) {
  switch (t) {
    case OfferType::kPromotion: return "promotion";
    case OfferType::kProductPush: return "product_push";
    case OfferType::kMoment: return "moment";
    case OfferType::kLoyalty: return "loyalty";
    case OfferType::kService: return "service";
  }
  return "";
}

bool ProductFilter::Empty() const {
  return include_categories.empty() && exclude_categories.empty() && include_brands.empty() &&
         exclude_brands.empty() && include_tags.empty() && exclude_tags.empty() &&
         min_price_minor == 0 && max_price_minor == 0;
}

bool PlacementSpec::HasSource(Source s) const {
  for (const SourceSpec& src : sources) {
    if (src.source == s) return true;
  }
  return false;
}

absl::StatusOr<std::unique_ptr<const DecisionConfig>> DecisionConfig::Build(DecisionConfig c) {
  c.placement_by_id.clear();
  for (size_t i = 0; i < c.placements.size(); ++i) {
    c.placements[i].offers.clear();
    if (!c.placement_by_id.emplace(c.placements[i].id, i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("placements[", i, "].id: duplicate '", c.placements[i].id, "'"));
    }
  }
  absl::flat_hash_set<std::string> offer_ids;
  for (size_t i = 0; i < c.offers.size(); ++i) {
    const OfferSpec& o = c.offers[i];
    if (!offer_ids.insert(o.id).second) {
      return absl::InvalidArgumentError(absl::StrCat("offers[", i, "].id: duplicate '", o.id, "'"));
    }
    for (size_t j = 0; j < o.placements.size(); ++j) {
      auto it = c.placement_by_id.find(o.placements[j]);
      if (it == c.placement_by_id.end()) {
        return absl::InvalidArgumentError(absl::StrCat("offers[", i, "].placements[", j,
                                                       "]: unknown placement '", o.placements[j], "'"));
      }
      c.placements[it->second].offers.push_back(static_cast<uint32_t>(i));
    }
  }
  if (c.segments.size() > 64) return absl::InvalidArgumentError("segments: at most 64");
  return std::unique_ptr<const DecisionConfig>(new DecisionConfig(std::move(c)));
}

}  // namespace nextbest::core
