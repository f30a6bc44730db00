#include "core/models.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/container/inlined_vector.h"
#include "core/customer_index.h"

namespace nextbest::core {

ModelBuilder::ModelBuilder(const ModelOptions& options, const Catalog& catalog,
                           const DecisionConfig& config, TimeMs now)
    : options_(options),
      catalog_(catalog),
      config_(config),
      now_(now),
      products_(catalog.product_count()),
      co_purchase_(products_ * options.counters_per_product),
      co_view_(products_ * options.counters_per_product),
      bought_by_(products_),
      viewed_by_(products_),
      out_(std::make_unique<Models>()) {
  out_->built_at = now;
  out_->rule_segment_sizes.assign(config.segments.size(), 0);
  for (const SegmentSpec& seg : config.segments) out_->rule_segment_ids.push_back(seg.id);
}

ModelBuilder::~ModelBuilder() = default;

// Space-saving counting: a product keeps `counters_per_product` counters;
// a new pair takes an empty one or replaces the smallest (inheriting its
// count + 1, remembered as the error), so frequent pairs are never lost and
// memory stays bounded. Scores use the guaranteed count (count - error).
void ModelBuilder::Bump(std::vector<Counter>& table, ProductIndex a, ProductIndex b) {
  const size_t k = static_cast<size_t>(options_.counters_per_product);
  Counter* slots = table.data() + a * k;
  Counter* smallest = slots;
  for (size_t i = 0; i < k; ++i) {
    if (slots[i].other == b) {
      ++slots[i].count;
      return;
    }
    if (slots[i].other == kNoProduct) {
      slots[i] = {b, 1, 0};
      return;
    }
    if (slots[i].count < smallest->count) smallest = &slots[i];
  }
  *smallest = {b, smallest->count + 1, smallest->count};
}

void ModelBuilder::Add(const CustomerFeatures& f) {
  ++out_->customers;
  // Co-purchase: the most recent distinct products the customer bought.
  scratch_.clear();
  {
    absl::InlinedVector<const PurchaseRecord*, 64> recent;
    for (const PurchaseRecord& r : f.purchases) {
      if (r.product < products_) recent.push_back(&r);
    }
    const size_t n = std::min(recent.size(), static_cast<size_t>(options_.purchases_per_customer));
    std::partial_sort(recent.begin(), recent.begin() + n, recent.end(),
                      [&](const PurchaseRecord* a, const PurchaseRecord* b) {
                        return a->last_s != b->last_s ? a->last_s > b->last_s
                                                      : IdLess(a->product, b->product);
                      });
    for (size_t i = 0; i < n; ++i) scratch_.push_back(recent[i]->product);
  }
  for (size_t i = 0; i < scratch_.size(); ++i) {
    ++bought_by_[scratch_[i]];
    for (size_t j = i + 1; j < scratch_.size(); ++j) Pair(co_purchase_, scratch_[i], scratch_[j]);
  }

  // Co-view: each view paired with the next few in the same session.
  const auto& rv = f.recently_viewed;  // most recent first, distinct
  for (size_t i = 0; i < rv.size(); ++i) {
    if (rv[i].product >= products_) continue;
    ++viewed_by_[rv[i].product];
    for (size_t j = i + 1; j < rv.size() && j <= i + options_.co_view_span; ++j) {
      if (rv[j - 1].time() - rv[j].time() > options_.session_gap_ms) break;
      if (rv[j].product < products_) Pair(co_view_, rv[i].product, rv[j].product);
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

NeighbourTable ModelBuilder::Publish(const std::vector<Counter>& table,
                                     const std::vector<uint32_t>& support) {
  NeighbourTable t;
  t.offsets_.reserve(products_ + 1);
  t.offsets_.push_back(0);
  const size_t k = static_cast<size_t>(options_.counters_per_product);
  std::vector<Neighbour> row;
  for (size_t a = 0; a < products_; ++a) {
    row.clear();
    for (size_t i = 0; i < k; ++i) {
      const Counter& c = table[a * k + i];
      const uint32_t count = c.count - c.error;
      if (c.other == kNoProduct || count < static_cast<uint32_t>(options_.min_support)) continue;
      const double denom = std::sqrt(static_cast<double>(support[a]) * support[c.other]);
      const double score = denom > 0 ? std::min(1.0, count / denom) : 0;
      row.push_back({c.other, static_cast<float>(score)});
    }
    std::sort(row.begin(), row.end(), [&](const Neighbour& x, const Neighbour& y) {
      return x.score != y.score ? x.score > y.score : IdLess(x.product, y.product);
    });
    if (row.size() > static_cast<size_t>(options_.neighbours_per_product)) {
      row.resize(options_.neighbours_per_product);
    }
    t.items_.insert(t.items_.end(), row.begin(), row.end());
    t.offsets_.push_back(static_cast<uint32_t>(t.items_.size()));
  }
  t.items_.shrink_to_fit();
  return t;
}

std::unique_ptr<const Models> ModelBuilder::Finish(double build_seconds) {
  out_->build_seconds = build_seconds;
  out_->co_purchase = Publish(co_purchase_, bought_by_);
  out_->co_view = Publish(co_view_, viewed_by_);
  std::vector<Counter>().swap(co_purchase_);
  std::vector<Counter>().swap(co_view_);

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
      const TimeMs ta = catalog_.product(a).available_from, tb = catalog_.product(b).available_from;
      return ta != tb ? ta > tb : IdLess(a, b);
    });
    if (list.size() > static_cast<size_t>(options_.new_arrivals_per_category)) {
      list.resize(options_.new_arrivals_per_category);
    }
    list.shrink_to_fit();
  }
  return std::move(out_);
}

std::unique_ptr<const Models> BuildModels(const ModelOptions& options,
                                          const CustomerIndex& customers, const Catalog& catalog,
                                          const DecisionConfig& config, TimeMs now) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::pair<absl::string_view, const CustomerState*>> ordered;
  ordered.reserve(customers.size());
  customers.ForEach(
      [&](absl::string_view id, const CustomerState& s) { ordered.emplace_back(id, &s); });
  std::sort(ordered.begin(), ordered.end());
  ModelBuilder builder(options, catalog, config, now);
  for (const auto& [id, state] : ordered) builder.Add(state->features);
  builder.Thresholds();
  for (const auto& [id, state] : ordered)
    builder.Count(*state, MayPersonalize(config.require_consent, state));
  return builder.Finish(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace nextbest::core
