#include "core/decision_config.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace nextbest::core {

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
