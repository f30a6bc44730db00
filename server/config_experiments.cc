// The config's experiments, holdout and learning sections, parsed and
// validated into core's DecisionConfig (core/experiments.h says what they
// mean). Errors name the field: "config: experiments[0].variants[1].weight:
// ...".

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/status_macros.h"
#include "server/config_internal.h"

namespace nextbest::server::config_internal {
namespace {

// A share in percent with at most two decimals, as buckets of 10,000.
absl::StatusOr<uint32_t> PercentToBuckets(double percent, const std::string& field, double max) {
  RETURN_IF_ERROR(InRange(percent, field, 0, max));
  const double buckets = percent * 100;
  if (std::abs(buckets - std::round(buckets)) > 1e-6) {
    return Invalid(field, absl::StrCat("at most two decimals (10,000 buckets), got ", percent));
  }
  return static_cast<uint32_t>(std::lround(buckets));
}

// "0-2999,5000-5999" (inclusive) into ranges.
absl::StatusOr<std::vector<core::BucketRange>> ParseBuckets(const std::string& text,
                                                            const std::string& field) {
  std::vector<core::BucketRange> out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    std::vector<absl::string_view> ends = absl::StrSplit(part, '-');
    uint32_t lo = 0, hi = 0;
    const bool ok =
        (ends.size() == 1 && absl::SimpleAtoi(ends[0], &lo) && (hi = lo, true)) ||
        (ends.size() == 2 && absl::SimpleAtoi(ends[0], &lo) && absl::SimpleAtoi(ends[1], &hi));
    if (!ok || lo > hi || hi >= core::kBuckets) {
      return Invalid(field, absl::StrCat("'", part, "': ranges like 0-2999 within 0..9999"));
    }
    out.push_back({lo, hi + 1});
  }
  return out;
}

absl::StatusOr<core::ExperimentSpec> ToExperiment(const cfg::ExperimentConfig& e,
                                                  const std::string& field,
                                                  const core::DecisionConfig& d) {
  core::ExperimentSpec x;
  x.id = e.id();
  if (x.id.empty()) return Invalid(field + ".id", "required");
  if (x.id == core::kHoldoutExperiment) {
    return Invalid(field + ".id", absl::StrCat("'", x.id, "' is the holdout's report name"));
  }
  for (const core::ExperimentSpec& earlier : d.experiments) {
    if (earlier.id == x.id) return Invalid(field + ".id", absl::StrCat("duplicate '", x.id, "'"));
  }
  x.placement = e.placement();
  if (x.placement.empty()) return Invalid(field + ".placement", "required");
  const bool known = std::any_of(d.placements.begin(), d.placements.end(),
                                 [&](const core::PlacementSpec& p) { return p.id == x.placement; });
  if (!known) {
    return Invalid(field + ".placement", absl::StrCat("unknown placement '", x.placement, "'"));
  }
  ASSIGN_OR_RETURN(x.start, ParseDate(e.start(), field + ".start"));
  ASSIGN_OR_RETURN(x.end, ParseDate(e.end(), field + ".end"));
  if (x.end != 0 && x.end <= x.start) return Invalid(field + ".end", "must be after start");
  x.salt = e.salt().empty() ? x.id : e.salt();
  if (e.variants_size() < 2) return Invalid(field + ".variants", "at least two variants");
  if (e.variants_size() > 16) return Invalid(field + ".variants", "at most 16 variants");
  const bool explicit_buckets = !e.variants(0).buckets().empty();
  uint32_t next = 0;
  for (int i = 0; i < e.variants_size(); ++i) {
    const cfg::VariantConfig& vc = e.variants(i);
    const std::string vf = absl::StrCat(field, ".variants[", i, "]");
    core::VariantSpec v;
    v.id = vc.id();
    if (v.id.empty()) return Invalid(vf + ".id", "required");
    for (const core::VariantSpec& earlier : x.variants) {
      if (earlier.id == v.id) return Invalid(vf + ".id", absl::StrCat("duplicate '", v.id, "'"));
    }
    v.control = vc.control();
    const int kinds = int{v.control} + int{vc.has_placement()} + int{vc.as_configured()};
    if (kinds != 1) {
      return Invalid(vf + (v.control ? ".placement" : ".control"),
                     "a variant is exactly one of: control, as_configured, a placement");
    }
    if (vc.as_configured()) {
      v.placement =
          *std::find_if(d.placements.begin(), d.placements.end(),
                        [&](const core::PlacementSpec& p) { return p.id == x.placement; });
    } else if (!v.control) {
      cfg::PlacementConfig pc = vc.placement();
      pc.set_id(x.placement);
      ASSIGN_OR_RETURN(v.placement, ToPlacement(pc, vf + ".placement"));
    }
    if (explicit_buckets != !vc.buckets().empty()) {
      return Invalid(vf + ".buckets", "either every variant lists buckets or none does");
    }
    if (explicit_buckets) {
      if (vc.weight() != 0) return Invalid(vf + ".weight", "not with buckets");
      ASSIGN_OR_RETURN(v.ranges, ParseBuckets(vc.buckets(), vf + ".buckets"));
    } else {
      ASSIGN_OR_RETURN(uint32_t buckets, PercentToBuckets(vc.weight(), vf + ".weight", 100));
      if (buckets == 0) return Invalid(vf + ".weight", "must be > 0");
      v.ranges.push_back({next, next + buckets});
      next += buckets;
    }
    x.variants.push_back(std::move(v));
  }
  if (!explicit_buckets && next != core::kBuckets) {
    return Invalid(field + ".variants",
                   absl::StrCat("the weights must sum to 100, got ", next / 100.0));
  }
  if (!x.IndexBuckets()) return Invalid(field + ".variants", "bucket ranges overlap");
  for (size_t v = 0; v < x.variants.size(); ++v) {
    if (x.variants[v].buckets == 0) {
      return Invalid(absl::StrCat(field, ".variants[", v, "].buckets"), "holds no bucket");
    }
  }
  return x;
}

}  // namespace

absl::Status ParseExperiments(const cfg::ServerConfig& c, core::DecisionConfig& d) {
  for (int i = 0; i < c.experiments_size(); ++i) {
    ASSIGN_OR_RETURN(core::ExperimentSpec x,
                     ToExperiment(c.experiments(i), absl::StrCat("experiments[", i, "]"), d));
    d.experiments.push_back(std::move(x));
  }
  ASSIGN_OR_RETURN(d.holdout.buckets,
                   PercentToBuckets(c.holdout().percent(), "holdout.percent", 50));
  if (!c.holdout().salt().empty()) d.holdout.salt = c.holdout().salt();
  const cfg::LearningConfig& l = c.learning();
  core::LearningSpec& out = d.learning;
  if (l.attribution_window_hours() < 0 || l.attribution_window_hours() > 24 * 90) {
    return Invalid("learning.attribution_window_hours", "must be 0..2160 (90 days)");
  }
  if (l.attribution_window_hours() != 0) {
    out.attribution_window_ms = int64_t{l.attribution_window_hours()} * 3'600'000;
  }
  out.prior_clicks = Or(l.prior_clicks(), out.prior_clicks);
  out.prior_impressions = Or(l.prior_impressions(), out.prior_impressions);
  RETURN_IF_ERROR(InRange(out.prior_clicks, "learning.prior_clicks", 1e-3, 1e6));
  RETURN_IF_ERROR(InRange(out.prior_impressions, "learning.prior_impressions", 1e-3, 1e9));
  if (out.prior_impressions <= out.prior_clicks) {
    return Invalid("learning.prior_impressions", "must exceed prior_clicks");
  }
  out.half_life_days = Or(l.half_life_days(), out.half_life_days);
  RETURN_IF_ERROR(InRange(out.half_life_days, "learning.half_life_days", 0, 3650));
  out.min_segment_impressions = Or(l.min_segment_impressions(), out.min_segment_impressions);
  RETURN_IF_ERROR(InRange(out.min_segment_impressions, "learning.min_segment_impressions", 0, 1e9));
  return absl::OkStatus();
}

}  // namespace nextbest::server::config_internal
