#include "core/model_parts.h"

#include <algorithm>

namespace nextbest::core {

void MergePopularity(std::vector<ProductPopularity>& into,
                     const std::vector<ProductPopularity>& from, double half_life_days) {
  if (into.size() < from.size()) into.resize(from.size());
  for (size_t p = 0; p < from.size(); ++p) {
    const ProductPopularity& f = from[p];
    if (f.ref == 0) continue;
    ProductPopularity& t = into[p];
    // Both at the later reference time, then added.
    if (f.ref > t.ref) {
      const double k = t.ref == 0 ? 0.0 : DecayFactor(f.ref - t.ref, half_life_days);
      t.overall *= k;
      for (double& s : t.by_market) s *= k;
      t.ref = f.ref;
    }
    const double k = DecayFactor(t.ref - f.ref, half_life_days);
    t.overall += f.overall * k;
    for (size_t m = 0; m < t.by_market.size(); ++m) t.by_market[m] += f.by_market[m] * k;
  }
}

void MergeStorePopularity(StorePopularity& into, const StorePopularity& from,
                          double half_life_days) {
  if (into.size() < from.size()) into.resize(from.size());
  for (size_t s = 0; s < from.size(); ++s) {
    for (const auto& [p, score] : from[s]) {
      StoreScore& t = into[s][p];
      if (score.ref > t.ref) {
        t.score *= t.ref == 0 ? 0.0 : DecayFactor(score.ref - t.ref, half_life_days);
        t.ref = score.ref;
      }
      t.score += score.score * DecayFactor(t.ref - score.ref, half_life_days);
    }
  }
}

void MergePart(ModelPart& into, const ModelPart& from, double popularity_half_life_days) {
  into.built_at = std::max(into.built_at, from.built_at);
  if (into.counted_with.population == 0) {
    into.counted_with = from.counted_with;
    into.counted_with_behaviour = from.counted_with_behaviour;
  }
  into.customers += from.customers;
  into.interested += from.interested;
  if (into.interest.size() < from.interest.size()) into.interest.resize(from.interest.size(), 0);
  for (size_t c = 0; c < from.interest.size(); ++c) into.interest[c] += from.interest[c];
  into.last_purchase.Merge(from.last_purchase);
  into.frequency.Merge(from.frequency);
  into.monetary.Merge(from.monetary);
  into.current_spend.Merge(from.current_spend);
  into.baseline_spend.Merge(from.baseline_spend);
  into.co_purchase.Merge(from.co_purchase);
  into.co_view.Merge(from.co_view);
  into.repurchase.Merge(from.repurchase);
  for (size_t i = 0; i < into.rfm_sizes.size(); ++i) into.rfm_sizes[i] += from.rfm_sizes[i];
  for (size_t i = 0; i < into.behaviour_sizes.size(); ++i) {
    into.behaviour_sizes[i] += from.behaviour_sizes[i];
  }
  into.behaviour_priority += from.behaviour_priority;
  for (int i = 0; i < kChurnRiskCount; ++i) into.churn_risk_sizes[i] += from.churn_risk_sizes[i];
  MergeCustomerValue(into.customer_value, from.customer_value);
  into.send_time.Merge(from.send_time);
  for (const std::pair<std::string, int64_t>& size : from.rule_segment_sizes) {
    auto it = std::find_if(into.rule_segment_sizes.begin(), into.rule_segment_sizes.end(),
                           [&size](const auto& e) { return e.first == size.first; });
    if (it == into.rule_segment_sizes.end()) {
      into.rule_segment_sizes.push_back(size);
    } else {
      it->second += size.second;
    }
  }
  MergePopularity(into.popularity, from.popularity, popularity_half_life_days);
  MergeStorePopularity(into.store_popularity, from.store_popularity, popularity_half_life_days);
}

}  // namespace nextbest::core
