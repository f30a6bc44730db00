#pragma once
// What the config parser's files share (config.cc, config_decisions.cc,
// config_experiments.cc).

#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/decision_config.h"
#include "nextbest/config/v1/config.pb.h"

namespace nextbest::server::config_internal {

namespace cfg = ::nextbest::config::v1;

// INVALID_ARGUMENT "config: FIELD: RULE".
inline absl::Status Invalid(const std::string& field, const std::string& rule) {
  if (field.empty()) return absl::InvalidArgumentError(absl::StrCat("config: ", rule));
  return absl::InvalidArgumentError(absl::StrCat("config: ", field, ": ", rule));
}

// A number from the config: finite and within [min, max] (NaN compares
// false with everything, so a plain range check lets it through).
inline absl::Status InRange(double value, const std::string& field, double min, double max) {
  if (!std::isfinite(value) || value < min || value > max) {
    return Invalid(
        field, absl::StrCat("must be a finite number within ", min, "..", max, ", got ", value));
  }
  return absl::OkStatus();
}

// The config's value, or the default when it was left at zero (proto3
// cannot tell "unset" from zero; every default lives in the core struct
// the value lands in).
template <typename T>
T Or(T value, T fallback) {
  return value != T{} ? value : fallback;
}

// One placement (also an experiment's variant); `field` prefixes errors.
absl::StatusOr<core::PlacementSpec> ToPlacement(const cfg::PlacementConfig& p,
                                                const std::string& field);
// "2026-11-01" or RFC 3339 into epoch ms; "" = 0 (open).
absl::StatusOr<core::TimeMs> ParseDate(const std::string& text, const std::string& field);

// Experiments, the holdout and the learning settings into `d`
// (config_experiments.cc); after the placements.
absl::Status ParseExperiments(const cfg::ServerConfig& c, core::DecisionConfig& d);

// "EMAIL" -> kEmail (core::ChannelName upper-cased); "" -> kUnspecified.
absl::StatusOr<core::Channel> ToChannel(const std::string& name, const std::string& field);

// An eligibility condition; `earlier`: the segments defined before it.
absl::StatusOr<core::Condition> ToCondition(const cfg::ConditionConfig& c, const std::string& field,
                                            const std::vector<std::string>& markets,
                                            const std::vector<core::SegmentSpec>& earlier);

// The contact policy into d.contact and d.contact_overrides
// (config_contact.cc); after the segments.
inline constexpr int kMaxCapContacts = 5;  // core::kContactSlots
absl::Status ParseContactPolicy(const cfg::ContactPolicyConfig& c,
                                const std::vector<std::string>& markets, core::DecisionConfig& d);

// Placements, offers, segments and the consent rule into `d` (the shipped
// placements when the config names none).
absl::Status ParseDecisions(cfg::ServerConfig& c, const std::vector<std::string>& markets,
                            core::DecisionConfig& d);

}  // namespace nextbest::server::config_internal
