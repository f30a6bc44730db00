#include "core/models.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/customer_index.h"

namespace nextbest::core {
namespace {

// Cut points at ranks n × q / 5 (q = 1..4), as std::nth_element finds them.
std::array<double, 4> Cuts(const ValueCounts& v) {
  std::array<double, 4> cuts{};
  const int64_t n = v.total();
  if (n == 0) return cuts;
  for (int q = 1; q <= 4; ++q) cuts[q - 1] = v.AtRank(std::min(n - 1, n * q / 5));
  return cuts;
}

// The population's cut points at `now`; Quintile() counts cut points
// passed, so a value equal to a cut point belongs to the lower quintile
// (recency: to the better one). Recency cut q is the days since the
// (n - 1 - rank)-th last purchase: days since fall as purchase times rise.
void SetThresholds(const ModelPart& part, TimeMs now, Models& out) {
  out.rfm.population = part.frequency.total();
  const int64_t n = part.last_purchase.total();
  for (int q = 1; q <= 4 && n > 0; ++q) {
    const int64_t k = std::min(n - 1, n * q / 5);
    out.rfm.recency_cut_times[q - 1] = static_cast<TimeMs>(part.last_purchase.AtRank(n - 1 - k));
  }
  out.rfm = RecencyCutsAt(out.rfm, now);
  out.rfm.frequency = Cuts(part.frequency);
  out.rfm.monetary = Cuts(part.monetary);
  out.behaviour.top_current_minor = part.current_spend.Quantile(0.9);
  out.behaviour.median_baseline_minor = part.baseline_spend.Quantile(0.5);
}

void SetInterest(const ModelPart& part, Models& out) {
  out.category_interest.assign(part.interest.size(), 0);
  if (part.interested == 0) return;
  for (size_t c = 0; c < part.interest.size(); ++c) {
    out.category_interest[c] =
        static_cast<float>(static_cast<double>(part.interest[c]) / kInterestUnit /
                           static_cast<double>(part.interested));
  }
}

std::vector<std::vector<ProductIndex>> NewArrivals(const ModelOptions& o, const Catalog& catalog,
                                                   TimeMs now) {
  std::vector<std::vector<ProductIndex>> out(catalog.category_count());
  const TimeMs since = now - static_cast<TimeMs>(o.new_arrival_days) * kMsPerDay;
  for (size_t p = 0; p < catalog.product_count(); ++p) {
    const Product& prod = catalog.product(p);
    if (!prod.listed || !prod.active || prod.available_from <= since ||
        prod.category >= out.size()) {
      continue;
    }
    out[prod.category].push_back(static_cast<ProductIndex>(p));
  }
  for (auto& list : out) {
    std::sort(list.begin(), list.end(), [&](ProductIndex a, ProductIndex b) {
      const Product &pa = catalog.product(a), &pb = catalog.product(b);
      return pa.available_from != pb.available_from ? pa.available_from > pb.available_from
                                                    : pa.id < pb.id;
    });
    if (list.size() > static_cast<size_t>(o.new_arrivals_per_category)) {
      list.resize(o.new_arrivals_per_category);
    }
    list.shrink_to_fit();
  }
  return out;
}

double SecondsSince(std::chrono::steady_clock::time_point started) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace

ModelBuilder::ModelBuilder(const ModelOptions& options, const Catalog& catalog,
                           const DecisionConfig& config, TimeMs now)
    : options_(options),
      catalog_(catalog),
      config_(config),
      now_(now),
      started_(std::chrono::steady_clock::now()),
      out_(std::make_unique<Models>()) {
  out_->built_at = now;
  part_.built_at = now;
  part_.interest.assign(catalog.category_count(), 0);
  for (const SegmentSpec& seg : config.segments) part_.rule_segment_sizes.push_back({seg.id, 0});
}

ModelBuilder::~ModelBuilder() = default;

void ModelBuilder::Add(const CustomerFeatures& f, CountryIndex country) {
  ++part_.customers;
  customers_.push_back(&f);
  AddCustomerValue(f, country, now_, part_.customer_value);
  part_.send_time.Add(f.send_time);

  // The customer's shares of interest, summed over the population.
  double total = 0;
  for (const CategoryScore& a : f.affinities) total += std::max(0.0, a.score);
  if (total > 0) {
    ++part_.interested;
    for (const CategoryScore& a : f.affinities) {
      if (a.category < part_.interest.size() && a.score > 0) {
        part_.interest[a.category] += std::llround(a.score / total * kInterestUnit);
      }
    }
  }

  // Values as floats, as the cut points were always taken.
  auto value = [](double v) { return static_cast<double>(static_cast<float>(v)); };
  const SpendHalves spend = SpendAt(f, now_);
  if (spend.current_minor > 0) current_spend_.push_back(value(spend.current_minor));
  if (spend.baseline_minor > 0) baseline_spend_.push_back(value(spend.baseline_minor));
  if (f.orders > 0) {
    last_purchase_.push_back(static_cast<double>(f.last_purchase));
    frequency_.push_back(value(f.orders));
    monetary_.push_back(value(f.spend_minor));
  }
}

void ModelBuilder::SettleValues() {
  for (auto& [country, counts] : part_.customer_value) counts.Compact();
  if (!last_purchase_.empty() || !current_spend_.empty() || !baseline_spend_.empty()) {
    part_.last_purchase = ValueCounts::Of(std::move(last_purchase_));
    part_.frequency = ValueCounts::Of(std::move(frequency_));
    part_.monetary = ValueCounts::Of(std::move(monetary_));
    part_.current_spend = ValueCounts::Of(std::move(current_spend_));
    part_.baseline_spend = ValueCounts::Of(std::move(baseline_spend_));
    for (auto* v : {&last_purchase_, &frequency_, &monetary_, &current_spend_, &baseline_spend_}) {
      std::vector<double>().swap(*v);
    }
  }
}

const RfmThresholds& ModelBuilder::Thresholds() {
  SettleValues();
  SetThresholds(part_, now_, *out_);
  // Fitted before counting, so that the churn bands and the conditions on
  // the customer's future count with this build's own models.
  out_->customer_value = FitCustomerValue(options_.customer_value, part_.customer_value);
  value_fitted_ = true;
  CountWith(out_->rfm, out_->behaviour, &out_->customer_value);
  return out_->rfm;
}

void ModelBuilder::CountWith(const RfmThresholds& rfm, const BehaviourThresholds& behaviour,
                             const CustomerValueModels* value) {
  counted_with_value_ = value;
  // Recency as at this build, whenever the cut points were taken.
  part_.counted_with = RecencyCutsAt(rfm, now_);
  part_.counted_with_behaviour = behaviour;
  counting_ = true;
}

void ModelBuilder::Count(const CustomerState& s, bool personal) {
  if (!counting_) return;
  ConditionInput in;
  in.customer = &s;
  in.personal = personal;
  in.country = s.attributes.country;
  in.now = now_;
  in.future = counted_with_value_;
  const SegmentView v = SegmentCustomer(&part_.counted_with, &part_.counted_with_behaviour,
                                        config_.segments, catalog_, in);
  ++part_.rfm_sizes[static_cast<int>(v.rfm.segment)];
  ++part_.behaviour_sizes[static_cast<int>(v.behaviour.group)];
  part_.behaviour_priority += v.behaviour.priority;
  if (counted_with_value_ != nullptr) {
    const double p = CustomerPAlive(*counted_with_value_, s.features, s.attributes.country, now_);
    if (p >= 0) ++part_.churn_risk_sizes[static_cast<int>(RiskOf(counted_with_value_->options, p))];
  }
  for (size_t i = 0; i < part_.rule_segment_sizes.size(); ++i) {
    if (in.rule_segments >> i & 1) ++part_.rule_segment_sizes[i].second;
  }
}

std::unique_ptr<const Models> ModelBuilder::Finish() {
  SettleValues();
  Models& m = *out_;
  m.customers = part_.customers;
  SetThresholds(part_, now_, m);
  m.rfm_sizes = part_.rfm_sizes;
  m.behaviour_sizes = part_.behaviour_sizes;
  m.behaviour_priority = part_.behaviour_priority;
  for (const auto& [id, size] : part_.rule_segment_sizes) {
    m.rule_segment_ids.push_back(id);
    m.rule_segment_sizes.push_back(size);
  }
  NeighbourBuilder co_purchase(options_.co_purchase, catalog_, HistoryKind::kBought);
  m.co_purchase = co_purchase.Build(customers_);
  NeighbourBuilder co_view(options_.co_view, catalog_, HistoryKind::kViewed);
  m.co_view = co_view.Build(customers_);
  m.build_passes = co_purchase.passes() + co_view.passes();
  m.fingerprint =
      NeighboursFingerprint(m.co_view, catalog_, NeighboursFingerprint(m.co_purchase, catalog_));
  m.repurchase = RepurchaseProfiles::Build(options_.repurchase, catalog_, customers_);
  SetInterest(part_, m);
  if (!value_fitted_)
    m.customer_value = FitCustomerValue(options_.customer_value, part_.customer_value);
  m.churn_risk_sizes = part_.churn_risk_sizes;
  m.send_time = FitSendTime(part_.send_time);
  std::vector<const CustomerFeatures*>().swap(customers_);
  m.new_arrivals = NewArrivals(options_, catalog_, now_);
  m.build_seconds = SecondsSince(started_);
  return std::move(out_);
}

ModelPart ModelBuilder::TakePart() {
  SettleValues();
  auto histories = [&](const NeighbourOptions& o, HistoryKind kind) {
    NeighbourHistories h = NeighbourBuilder(o, catalog_, kind).Histories(customers_);
    if (o.pair_half_life_days <= 0) {
      for (HistoryItem& item : h.items) item.time_s = 0;  // not needed: not shared
    }
    return h;
  };
  part_.co_purchase = histories(options_.co_purchase, HistoryKind::kBought);
  part_.co_view = histories(options_.co_view, HistoryKind::kViewed);
  part_.repurchase = RepurchaseProfiles::Count(catalog_, customers_);
  std::vector<const CustomerFeatures*>().swap(customers_);
  return std::move(part_);
}

std::unique_ptr<const Models> ModelsFromPart(const ModelOptions& options, const ModelPart& part,
                                             const Catalog& catalog, const DecisionConfig& config,
                                             TimeMs now) {
  const auto started = std::chrono::steady_clock::now();
  auto out = std::make_unique<Models>();
  Models& m = *out;
  m.built_at = now;
  m.customers = part.customers;
  SetThresholds(part, now, m);
  m.rfm_sizes = part.rfm_sizes;
  m.behaviour_sizes = part.behaviour_sizes;
  m.behaviour_priority = part.behaviour_priority;
  for (const SegmentSpec& seg : config.segments) {
    m.rule_segment_ids.push_back(seg.id);
    int64_t size = 0;
    for (const auto& [id, n] : part.rule_segment_sizes) {
      if (id == seg.id) size = n;
    }
    m.rule_segment_sizes.push_back(size);
  }
  NeighbourBuilder co_purchase(options.co_purchase, catalog, HistoryKind::kBought);
  m.co_purchase = co_purchase.FromHistories(part.co_purchase);
  NeighbourBuilder co_view(options.co_view, catalog, HistoryKind::kViewed);
  m.co_view = co_view.FromHistories(part.co_view);
  m.build_passes = co_purchase.passes() + co_view.passes();
  m.fingerprint =
      NeighboursFingerprint(m.co_view, catalog, NeighboursFingerprint(m.co_purchase, catalog));
  m.repurchase = RepurchaseProfiles::FromCounts(options.repurchase, part.repurchase);
  SetInterest(part, m);
  m.customer_value = FitCustomerValue(options.customer_value, part.customer_value);
  m.churn_risk_sizes = part.churn_risk_sizes;
  m.send_time = FitSendTime(part.send_time);
  m.new_arrivals = NewArrivals(options, catalog, now);
  m.build_seconds = SecondsSince(started);
  return out;
}

namespace {
std::vector<std::pair<absl::string_view, const CustomerState*>> InIdOrder(
    const CustomerIndex& customers) {
  std::vector<std::pair<absl::string_view, const CustomerState*>> ordered;
  ordered.reserve(customers.size());
  customers.ForEach(
      [&](absl::string_view id, const CustomerState& s) { ordered.emplace_back(id, &s); });
  std::sort(ordered.begin(), ordered.end());
  return ordered;
}
}  // namespace

std::unique_ptr<const Models> BuildModels(const ModelOptions& options,
                                          const CustomerIndex& customers, const Catalog& catalog,
                                          const DecisionConfig& config, TimeMs now) {
  ModelBuilder builder(options, catalog, config, now);
  const auto ordered = InIdOrder(customers);
  for (const auto& [id, state] : ordered) builder.Add(state->features, state->attributes.country);
  builder.Thresholds();
  for (const auto& [id, state] : ordered)
    builder.Count(*state, MayPersonalize(config.require_consent, state));
  return builder.Finish();
}

ModelPart BuildModelPart(const ModelOptions& options, const CustomerIndex& customers,
                         const Catalog& catalog, const DecisionConfig& config, TimeMs now,
                         const Models* global) {
  ModelBuilder builder(options, catalog, config, now);
  const auto ordered = InIdOrder(customers);
  for (const auto& [id, state] : ordered) builder.Add(state->features, state->attributes.country);
  if (global != nullptr) {
    builder.CountWith(global->rfm, global->behaviour, &global->customer_value);
    for (const auto& [id, state] : ordered)
      builder.Count(*state, MayPersonalize(config.require_consent, state));
  }
  return builder.TakePart();
}

}  // namespace nextbest::core
