#include "core/attribution.h"

#include <algorithm>

namespace nextbest::core {

void VariantTotals::Add(const ExposureEntry& e, int sign) {
  const double s = sign;
  const double rev = static_cast<double>(e.revenue_minor);
  const double imp = static_cast<double>(e.impressions);
  const double clk = static_cast<double>(e.clicks);
  exposed += sign;
  decisions += sign * e.decisions;
  impressions += sign * e.impressions;
  clicks += sign * e.clicks;
  add_to_carts += sign * e.add_to_carts;
  converters += sign * (e.orders > 0 ? 1 : 0);
  orders += sign * e.orders;
  revenue += s * rev;
  revenue_sq += s * rev * rev;
  impressions_sq += s * imp * imp;
  clicks_sq += s * clk * clk;
  impressions_clicks += s * imp * clk;
  attributed_lines += sign * e.attributed_lines;
  attributed_revenue += s * static_cast<double>(e.attributed_revenue_minor);
}

void ExperimentTotals::Apply(const std::string& experiment, const ExposureEntry* before,
                             const ExposureEntry* after) {
  std::lock_guard<std::mutex> lock(mu_);
  if (before != nullptr) variants_[{experiment, before->variant}].Add(*before, -1);
  if (after != nullptr) variants_[{experiment, after->variant}].Add(*after, +1);
}

void ExperimentTotals::AddUnattributed(const UnattributedCounts& d) {
  std::lock_guard<std::mutex> lock(mu_);
  unattributed_.unknown_decision_events += d.unknown_decision_events;
  unattributed_.unattributed_lines += d.unattributed_lines;
}

void ExperimentTotals::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  variants_.clear();
  unattributed_ = {};
}

std::map<ExperimentTotals::Key, VariantTotals> ExperimentTotals::Variants() const {
  std::lock_guard<std::mutex> lock(mu_);
  return variants_;
}

UnattributedCounts ExperimentTotals::Unattributed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return unattributed_;
}

int LastTouch(absl::Span<const StoredDecision* const> decisions, ProductIndex product, TimeMs at,
              TimeMs window) {
  int best = -1;
  for (size_t i = 0; i < decisions.size(); ++i) {
    const StoredDecision& d = *decisions[i];
    if (d.time > at || d.time < at - window) continue;
    if (best >= 0 && decisions[best]->time >= d.time) continue;
    if (std::find(d.products.begin(), d.products.end(), product) != d.products.end()) {
      best = static_cast<int>(i);
    }
  }
  return best;
}

}  // namespace nextbest::core
