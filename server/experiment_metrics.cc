#include "server/experiment_metrics.h"

#include <algorithm>
#include <string>
#include <utility>

namespace nextbest::server {

std::vector<prometheus::MetricFamily> ExperimentMetrics::Collect() const {
  struct Series {
    const char* name;
    const char* help;
    double (*value)(const core::VariantTotals&);
  };
  static const Series kSeries[] = {
      {"nextbest_experiment_exposed_customers", "Customers served a decision under the experiment",
       [](const core::VariantTotals& t) { return static_cast<double>(t.exposed); }},
      {"nextbest_experiment_decisions", "Decisions served under the experiment",
       [](const core::VariantTotals& t) { return static_cast<double>(t.decisions); }},
      {"nextbest_experiment_impressions", "Impressions of the variant's decisions",
       [](const core::VariantTotals& t) { return static_cast<double>(t.impressions); }},
      {"nextbest_experiment_clicks", "Clicks on the variant's decisions",
       [](const core::VariantTotals& t) { return static_cast<double>(t.clicks); }},
      {"nextbest_experiment_converting_customers", "Exposed customers who bought since",
       [](const core::VariantTotals& t) { return static_cast<double>(t.converters); }},
      {"nextbest_experiment_revenue_minor", "Revenue of exposed customers since exposure",
       [](const core::VariantTotals& t) { return t.revenue; }},
  };
  std::vector<std::pair<std::string, std::string>> arms;
  // Offers' cap usage: served decisions and this node's total cap (its
  // share in a cluster), labelled by the configured offer ids.
  prometheus::MetricFamily served{"nextbest_offer_served",
                                  "Decisions that returned the offer",
                                  prometheus::MetricType::Gauge,
                                  {}};
  prometheus::MetricFamily cap{"nextbest_offer_total_cap",
                               "The offer's total cap on this node (0: none)",
                               prometheus::MetricType::Gauge,
                               {}};
  {
    core::ReadGuard guard(live_->epochs);
    const core::DecisionConfig* config = live_->config.Get();
    if (config == nullptr) return {};
    for (const core::OfferSpec& o : config->offers) {
      prometheus::ClientMetric m;
      m.label = {{"offer", o.id}};
      m.gauge.value = o.counters != nullptr ? static_cast<double>(o.counters->served.load()) : 0;
      served.metric.push_back(m);
      m.gauge.value = static_cast<double>(std::max<int64_t>(o.total_cap, 0));
      cap.metric.push_back(m);
    }
    for (const core::ExperimentSpec& x : config->experiments) {
      for (const core::VariantSpec& v : x.variants) arms.emplace_back(x.id, v.id);
    }
    if (config->holdout.buckets > 0) {
      arms.emplace_back(core::kHoldoutExperiment, core::kHoldoutVariant);
      arms.emplace_back(core::kHoldoutExperiment, core::kPersonalizedVariant);
    }
  }
  const auto totals = live_->experiment_totals.Variants();
  std::vector<prometheus::MetricFamily> out = {std::move(served), std::move(cap)};
  for (const Series& s : kSeries) {
    prometheus::MetricFamily f;
    f.name = s.name;
    f.help = s.help;
    f.type = prometheus::MetricType::Gauge;
    for (const auto& [experiment, variant] : arms) {
      prometheus::ClientMetric m;
      m.label = {{"experiment", experiment}, {"variant", variant}};
      auto it = totals.find({experiment, variant});
      m.gauge.value = it == totals.end() ? 0 : s.value(it->second);
      f.metric.push_back(std::move(m));
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace nextbest::server
