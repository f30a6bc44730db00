#include "core/decision_config.h"

#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace nextbest::core {
namespace {

bool Overlap(const ExperimentSpec& a, const ExperimentSpec& b) {
  const TimeMs a_end = a.end == 0 ? std::numeric_limits<TimeMs>::max() : a.end;
  const TimeMs b_end = b.end == 0 ? std::numeric_limits<TimeMs>::max() : b.end;
  return a.start < b_end && b.start < a_end;
}

// Experiments onto their placements; variants get the placement's offers
// and metrics series; every placement its control answer.
absl::Status LinkExperiments(DecisionConfig& c) {
  c.controls.clear();
  for (PlacementSpec& p : c.placements) {
    p.experiments.clear();
    c.controls.push_back(ControlOf(p));
  }
  absl::flat_hash_set<std::string> ids;
  for (size_t i = 0; i < c.experiments.size(); ++i) {
    ExperimentSpec& x = c.experiments[i];
    const std::string f = absl::StrCat("experiments[", i, "]");
    if (!ids.insert(x.id).second || x.id == kHoldoutExperiment) {
      return absl::InvalidArgumentError(absl::StrCat(f, ".id: duplicate or reserved '", x.id, "'"));
    }
    auto it = c.placement_by_id.find(x.placement);
    if (it == c.placement_by_id.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(f, ".placement: unknown placement '", x.placement, "'"));
    }
    PlacementSpec& base = c.placements[it->second];
    for (uint16_t other : base.experiments) {
      if (Overlap(c.experiments[other], x)) {
        return absl::InvalidArgumentError(absl::StrCat(
            f, ".start: runs on placement '", x.placement, "' while experiment '",
            c.experiments[other].id, "' does (one experiment per placement at a time)"));
      }
    }
    if (x.variants.size() < 2 || x.variants.size() >= kNoVariant) {
      return absl::InvalidArgumentError(absl::StrCat(f, ".variants: 2 to 254 variants"));
    }
    if (!x.IndexBuckets()) {
      return absl::InvalidArgumentError(absl::StrCat(f, ".variants: bucket ranges overlap"));
    }
    for (VariantSpec& v : x.variants) {
      v.placement.id = base.id;
      v.placement.offers = base.offers;
      v.placement.metric_slot = base.metric_slot;
    }
    base.experiments.push_back(static_cast<uint16_t>(i));
  }
  return absl::OkStatus();
}

}  // namespace

const char* OfferTypeName(OfferType t) {
  switch (t) {
    case OfferType::kPromotion:
      return "promotion";
    case OfferType::kProductPush:
      return "product_push";
    case OfferType::kMoment:
      return "moment";
    case OfferType::kLoyalty:
      return "loyalty";
    case OfferType::kService:
      return "service";
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
        return absl::InvalidArgumentError(absl::StrCat(
            "offers[", i, "].placements[", j, "]: unknown placement '", o.placements[j], "'"));
      }
      c.placements[it->second].offers.push_back(static_cast<uint32_t>(i));
    }
  }
  if (c.segments.size() > 64) return absl::InvalidArgumentError("segments: at most 64");
  RETURN_IF_ERROR(LinkExperiments(c));
  return std::unique_ptr<const DecisionConfig>(new DecisionConfig(std::move(c)));
}

}  // namespace nextbest::core
