#include "core/models.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/customer_index.h"

namespace nextbest::core {

ModelBuilder::ModelBuilder(const ModelOptions& options, const Catalog& catalog,
                           const DecisionConfig& config, TimeMs now)
    : options_(options),
      catalog_(catalog),
      config_(config),
      now_(now),
      products_(catalog.product_count()),
      interest_(catalog.category_count(), 0),
      started_(std::chrono::steady_clock::now()),
      out_(std::make_unique<Models>()) {
  out_->built_at = now;
  out_->rule_segment_sizes.assign(config.segments.size(), 0);
  for (const SegmentSpec& seg : config.segments) out_->rule_segment_ids.push_back(seg.id);
}

ModelBuilder::~ModelBuilder() = default;

void ModelBuilder::Add(const CustomerFeatures& f) {
  ++out_->customers;
  customers_.push_back(&f);

  // The customer's shares of interest, summed over the population.
  double total = 0;
  for (const CategoryScore& a : f.affinities) total += std::max(0.0, a.score);
  if (total > 0) {
    ++interested_;
    for (const CategoryScore& a : f.affinities) {
      if (a.category < interest_.size() && a.score > 0) interest_[a.category] += a.score / total;
    }
  }

  const SpendHalves spend = SpendAt(f, now_);
  if (spend.current_minor > 0) current_spend_.push_back(static_cast<float>(spend.current_minor));
  if (spend.baseline_minor > 0) baseline_spend_.push_back(static_cast<float>(spend.baseline_minor));
  if (f.orders > 0) {
    recency_.push_back(static_cast<float>(std::max<TimeMs>(0, now_ - f.last_purchase)) / kMsPerDay);
    frequency_.push_back(static_cast<float>(f.orders));
    monetary_.push_back(static_cast<float>(f.spend_minor));
  }
}

namespace {
std::array<double, 4> Cuts(std::vector<float>& v) {
  std::array<double, 4> cuts{};
  if (v.empty()) return cuts;
  for (int q = 1; q <= 4; ++q) {
    const size_t k = std::min(v.size() - 1, v.size() * q / 5);
    std::nth_element(v.begin(), v.begin() + k, v.end());
    cuts[q - 1] = v[k];
  }
  return cuts;
}
}  // namespace

const RfmThresholds& ModelBuilder::Thresholds() {
  RfmThresholds& t = out_->rfm;
  t.population = static_cast<int64_t>(recency_.size());
  t.recency_days = Cuts(recency_);
  t.frequency = Cuts(frequency_);
  t.monetary = Cuts(monetary_);
  // Quintile() counts cut points passed; a value equal to a cut point
  // belongs to the lower quintile (recency: to the better one).
  auto quantile = [](std::vector<float>& v, double q) -> double {
    if (v.empty()) return 0;
    const size_t k = std::min(v.size() - 1, static_cast<size_t>(v.size() * q));
    std::nth_element(v.begin(), v.begin() + k, v.end());
    return v[k];
  };
  out_->behaviour.top_current_minor = quantile(current_spend_, 0.9);
  out_->behaviour.median_baseline_minor = quantile(baseline_spend_, 0.5);
  std::vector<float>().swap(current_spend_);
  std::vector<float>().swap(baseline_spend_);
  std::vector<float>().swap(recency_);
  std::vector<float>().swap(frequency_);
  std::vector<float>().swap(monetary_);
  return t;
}

void ModelBuilder::Count(const CustomerState& s, bool personal) {
  ConditionInput in;
  in.customer = &s;
  in.personal = personal;
  in.country = s.attributes.country;
  in.now = now_;
  const SegmentView v =
      SegmentCustomer(&out_->rfm, &out_->behaviour, config_.segments, catalog_, in);
  ++out_->rfm_sizes[static_cast<int>(v.rfm.segment)];
  ++out_->behaviour_sizes[static_cast<int>(v.behaviour.group)];
  out_->behaviour_priority += v.behaviour.priority;
  for (size_t i = 0; i < out_->rule_segment_sizes.size(); ++i) {
    if (in.rule_segments >> i & 1) ++out_->rule_segment_sizes[i];
  }
}

std::unique_ptr<const Models> ModelBuilder::Finish() {
  NeighbourBuilder co_purchase(options_.co_purchase, catalog_, HistoryKind::kBought);
  out_->co_purchase = co_purchase.Build(customers_);
  NeighbourBuilder co_view(options_.co_view, catalog_, HistoryKind::kViewed);
  out_->co_view = co_view.Build(customers_);
  out_->build_passes = co_purchase.passes() + co_view.passes();
  out_->fingerprint = NeighboursFingerprint(out_->co_view, catalog_,
                                            NeighboursFingerprint(out_->co_purchase, catalog_));
  out_->repurchase = RepurchaseProfiles::Build(options_.repurchase, catalog_, customers_);
  out_->category_interest.resize(interest_.size());
  for (size_t c = 0; c < interest_.size(); ++c) {
    out_->category_interest[c] =
        interested_ > 0 ? static_cast<float>(interest_[c] / static_cast<double>(interested_)) : 0;
  }
  std::vector<const CustomerFeatures*>().swap(customers_);

  out_->new_arrivals.assign(catalog_.category_count(), {});
  const TimeMs since = now_ - static_cast<TimeMs>(options_.new_arrival_days) * kMsPerDay;
  for (size_t p = 0; p < products_; ++p) {
    const Product& prod = catalog_.product(p);
    if (!prod.listed || !prod.active || prod.available_from <= since ||
        prod.category >= out_->new_arrivals.size()) {
      continue;
    }
    out_->new_arrivals[prod.category].push_back(static_cast<ProductIndex>(p));
  }
  for (auto& list : out_->new_arrivals) {
    std::sort(list.begin(), list.end(), [&](ProductIndex a, ProductIndex b) {
      const Product &pa = catalog_.product(a), &pb = catalog_.product(b);
      return pa.available_from != pb.available_from ? pa.available_from > pb.available_from
                                                    : pa.id < pb.id;
    });
    if (list.size() > static_cast<size_t>(options_.new_arrivals_per_category)) {
      list.resize(options_.new_arrivals_per_category);
    }
    list.shrink_to_fit();
  }
  out_->build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return std::move(out_);
}

std::unique_ptr<const Models> BuildModels(const ModelOptions& options,
                                          const CustomerIndex& customers, const Catalog& catalog,
                                          const DecisionConfig& config, TimeMs now) {
  ModelBuilder builder(options, catalog, config, now);
  std::vector<std::pair<absl::string_view, const CustomerState*>> ordered;
  ordered.reserve(customers.size());
  customers.ForEach(
      [&](absl::string_view id, const CustomerState& s) { ordered.emplace_back(id, &s); });
  std::sort(ordered.begin(), ordered.end());
  for (const auto& [id, state] : ordered) builder.Add(state->features);
  builder.Thresholds();
  for (const auto& [id, state] : ordered)
    builder.Count(*state, MayPersonalize(config.require_consent, state));
  return builder.Finish();
}

}  // namespace nextbest::core
