#pragma once
// The experiment report: per experiment and variant, the counts, rates
// with 95 % intervals, the uplift over the control and the sample-ratio
// check (core/experiment_stats.h says how each is computed). The global
// holdout is reported as experiment "global_holdout" with the variants
// "holdout" (the control) and "personalized".

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/attribution.h"
#include "core/decision_config.h"
#include "core/experiment_stats.h"

namespace nextbest::core {

struct VariantReport {
  std::string id;
  bool control = false;
  double weight = 0;                    // configured share, 0..1
  int64_t assigned = 0;                 // known customers whose bucket is the variant's
  VariantTotals totals;                 // exposed, impressions, clicks, ...
  stats::Estimate ctr;                  // clicks / impressions
  stats::Estimate conversion;           // converting / exposed customers
  stats::Estimate revenue_per_exposed;  // minor units
  stats::Estimate add_to_carts_per_exposed;
  // Against the control (undefined for the control itself or without one).
  stats::Uplift conversion_uplift;
  stats::Uplift revenue_uplift;
};

struct ExperimentReport {
  std::string id;
  std::string placement;  // "" for the holdout (every placement)
  TimeMs start = 0, end = 0;
  bool running = false;
  std::vector<VariantReport> variants;
  stats::Srm srm;
};

// An offer's uplift: P(conversion | shown) - P(conversion | eligible but
// held back by the control answer), over customers (conversion: a
// purchase at or after their first such decision). Overall (segment "")
// and per RFM segment where both groups hold at least `min_customers`.
struct OfferUpliftReport {
  std::string offer_id;
  std::string segment;  // "" = every segment
  int64_t shown = 0, shown_converting = 0;
  int64_t held_back = 0, held_back_converting = 0;
  stats::Estimate shown_rate, held_back_rate;
  stats::Uplift uplift;
};
std::vector<OfferUpliftReport> BuildOfferReports(
    const DecisionConfig& config, const std::map<ExperimentTotals::Key, VariantTotals>& t,
    int64_t min_customers = 30);

// How many known customers each variant holds: the caller walks its
// customers once and calls Count for each id.
class AssignedCounter {
 public:
  explicit AssignedCounter(const DecisionConfig& config);
  void Count(absl::string_view customer_id);
  // [experiment index][variant index]; the holdout last ({held, personalized}).
  const std::vector<std::vector<int64_t>>& counts() const { return counts_; }

 private:
  const DecisionConfig& config_;
  std::vector<std::vector<int64_t>> counts_;
};

// Every configured experiment (and the holdout when configured), or only
// `only_id` when it is not empty.
std::vector<ExperimentReport> BuildReports(const DecisionConfig& config,
                                           const std::map<ExperimentTotals::Key, VariantTotals>& t,
                                           const AssignedCounter& assigned, TimeMs now,
                                           absl::string_view only_id = {});

}  // namespace nextbest::core
