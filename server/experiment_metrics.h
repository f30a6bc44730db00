#pragma once
// Prometheus series for experiments, read from the live per-variant totals
// at scrape time. Labels are only the configured experiment and variant
// ids (and the holdout's), so the series are bounded by the config.
// Gauges, not counters: an erasure takes a customer's share out again.
// Also each configured offer's served decisions and total cap (cap usage).

#include <vector>

#include "core/live_state.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace nextbest::server {

class ExperimentMetrics : public prometheus::Collectable {
 public:
  explicit ExperimentMetrics(core::LiveState* live) : live_(live) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  core::LiveState* live_;
};

}  // namespace nextbest::server
