#include "core/experiment_report.h"

namespace nextbest::core {

AssignedCounter::AssignedCounter(const DecisionConfig& config) : config_(config) {
  for (const ExperimentSpec& x : config.experiments) counts_.emplace_back(x.variants.size());
  counts_.emplace_back(2);  // the holdout
}

void AssignedCounter::Count(absl::string_view id) {
  if (config_.holdout.buckets > 0) {
    const bool held = AssignmentBucket(config_.holdout.salt, id) < config_.holdout.buckets;
    ++counts_.back()[held ? 0 : 1];
    if (held) return;  // in no experiment
  }
  for (size_t e = 0; e < config_.experiments.size(); ++e) {
    const ExperimentSpec& x = config_.experiments[e];
    const uint8_t v = x.variant_of[AssignmentBucket(x.salt, id)];
    if (v != kNoVariant) ++counts_[e][v];
  }
}

namespace {

void Fill(VariantReport& v) {
  const VariantTotals& t = v.totals;
  const double n = static_cast<double>(t.exposed);
  v.ctr = stats::Ratio(static_cast<double>(t.clicks), static_cast<double>(t.impressions),
                       t.clicks_sq, t.impressions_sq, t.impressions_clicks, n);
  // Converting is 0/1 per customer: its sum of squares is its sum.
  v.conversion =
      stats::Mean(static_cast<double>(t.converters), static_cast<double>(t.converters), n);
  v.revenue_per_exposed = stats::Mean(t.revenue, t.revenue_sq, n);
  // Add-to-carts per customer are not kept squared: a Poisson-like bound
  // would be a guess, so only the mean is reported with no interval.
  v.add_to_carts_per_exposed = {n > 0 ? static_cast<double>(t.add_to_carts) / n : 0, 0, 0, false};
}

void Compare(VariantReport& v, const VariantReport& control) {
  const VariantTotals& a = v.totals;
  const VariantTotals& c = control.totals;
  v.conversion_uplift =
      stats::Compare(static_cast<double>(a.converters), static_cast<double>(a.converters),
                     static_cast<double>(a.exposed), static_cast<double>(c.converters),
                     static_cast<double>(c.converters), static_cast<double>(c.exposed));
  v.revenue_uplift = stats::Compare(a.revenue, a.revenue_sq, static_cast<double>(a.exposed),
                                    c.revenue, c.revenue_sq, static_cast<double>(c.exposed));
}

void Finish(ExperimentReport& r) {
  std::vector<int64_t> observed;
  std::vector<double> shares;
  const VariantReport* control = nullptr;
  for (VariantReport& v : r.variants) {
    Fill(v);
    observed.push_back(v.totals.exposed);
    shares.push_back(v.weight);
    if (v.control && control == nullptr) control = &v;
  }
  // Shares of the experiment's traffic (explicit ranges may cover less).
  double total = 0;
  for (double s : shares) total += s;
  for (double& s : shares) s = total > 0 ? s / total : 0;
  r.srm = stats::SampleRatioMismatch(observed, shares);
  if (control == nullptr) return;
  for (VariantReport& v : r.variants) {
    if (&v != control) Compare(v, *control);
  }
}

VariantTotals Find(const std::map<ExperimentTotals::Key, VariantTotals>& t,
                   const std::string& experiment, const std::string& variant) {
  auto it = t.find({experiment, variant});
  return it == t.end() ? VariantTotals{} : it->second;
}

}  // namespace

std::vector<ExperimentReport> BuildReports(const DecisionConfig& config,
                                           const std::map<ExperimentTotals::Key, VariantTotals>& t,
                                           const AssignedCounter& assigned, TimeMs now,
                                           absl::string_view only_id) {
  std::vector<ExperimentReport> out;
  for (size_t e = 0; e < config.experiments.size(); ++e) {
    const ExperimentSpec& x = config.experiments[e];
    if (!only_id.empty() && only_id != x.id) continue;
    ExperimentReport r;
    r.id = x.id;
    r.placement = x.placement;
    r.start = x.start;
    r.end = x.end;
    r.running = x.Running(now);
    for (size_t v = 0; v < x.variants.size(); ++v) {
      VariantReport vr;
      vr.id = x.variants[v].id;
      vr.control = x.variants[v].control;
      vr.weight = x.variants[v].buckets / static_cast<double>(kBuckets);
      vr.assigned = assigned.counts()[e][v];
      vr.totals = Find(t, x.id, vr.id);
      r.variants.push_back(std::move(vr));
    }
    Finish(r);
    out.push_back(std::move(r));
  }
  if (config.holdout.buckets > 0 && (only_id.empty() || only_id == kHoldoutExperiment)) {
    ExperimentReport r;
    r.id = kHoldoutExperiment;
    r.running = true;
    const double held = config.holdout.buckets / static_cast<double>(kBuckets);
    for (int i = 0; i < 2; ++i) {
      VariantReport vr;
      vr.id = i == 0 ? kHoldoutVariant : kPersonalizedVariant;
      vr.control = i == 0;
      vr.weight = i == 0 ? held : 1 - held;
      vr.assigned = assigned.counts().back()[i];
      vr.totals = Find(t, r.id, vr.id);
      r.variants.push_back(std::move(vr));
    }
    Finish(r);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<OfferUpliftReport> BuildOfferReports(
    const DecisionConfig& config, const std::map<ExperimentTotals::Key, VariantTotals>& t,
    int64_t min_customers) {
  std::vector<OfferUpliftReport> out;
  for (const OfferSpec& o : config.offers) {
    const std::string experiment = std::string(kOfferExperimentPrefix) + o.id;
    // segment -> (shown, held back)
    std::map<std::string, std::pair<VariantTotals, VariantTotals>> cells;
    for (auto it = t.lower_bound({experiment, ""}); it != t.end() && it->first.first == experiment;
         ++it) {
      const std::string& variant = it->first.second;
      const size_t bar = variant.find('|');
      const std::string group = variant.substr(0, bar);
      const std::string segment = bar == std::string::npos ? "none" : variant.substr(bar + 1);
      auto& cell = cells[segment];
      VariantTotals& into = group == kOfferShown ? cell.first : cell.second;
      into = it->second;
    }
    auto report = [&](const std::string& segment, const VariantTotals& shown,
                      const VariantTotals& held) {
      OfferUpliftReport r;
      r.offer_id = o.id;
      r.segment = segment;
      r.shown = shown.exposed;
      r.shown_converting = shown.converters;
      r.held_back = held.exposed;
      r.held_back_converting = held.converters;
      const auto c1 = static_cast<double>(shown.converters),
                 n1 = static_cast<double>(shown.exposed);
      const auto c0 = static_cast<double>(held.converters), n0 = static_cast<double>(held.exposed);
      r.shown_rate = stats::Mean(c1, c1, n1);
      r.held_back_rate = stats::Mean(c0, c0, n0);
      r.uplift = stats::Compare(c1, c1, n1, c0, c0, n0);
      return r;
    };
    VariantTotals all_shown, all_held;
    for (const auto& [segment, cell] : cells) {
      for (const auto& [from, into] :
           {std::pair{&cell.first, &all_shown}, {&cell.second, &all_held}}) {
        into->exposed += from->exposed;
        into->converters += from->converters;
      }
    }
    if (all_shown.exposed == 0 && all_held.exposed == 0) continue;
    out.push_back(report("", all_shown, all_held));
    for (const auto& [segment, cell] : cells) {
      if (cell.first.exposed >= min_customers && cell.second.exposed >= min_customers) {
        out.push_back(report(segment, cell.first, cell.second));
      }
    }
  }
  return out;
}

}  // namespace nextbest::core
