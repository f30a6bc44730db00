#include "core/features.h"

#include <limits>

#include <algorithm>
#include <cmath>

namespace nextbest::core {
namespace {

constexpr double kDaysPerMonth = 30.436875;

void UpdateMinMax(TimeMs t, TimeMs& first, TimeMs& last) {
  if (first == 0 || t < first) first = t;
  if (t > last) last = t;
}

void RecordView(int limit, ProductIndex product, TimeMs time, std::vector<ViewedProduct>& list) {
  auto same = std::find_if(list.begin(), list.end(),
                           [&](const ViewedProduct& v) { return v.product == product; });
  if (same != list.end()) {
    if (same->time >= time) return;  // a later view of it is already known
    list.erase(same);
  }
  auto pos = std::find_if(list.begin(), list.end(),
                          [&](const ViewedProduct& v) { return v.time < time; });
  if (pos == list.end() && static_cast<int>(list.size()) >= limit) return;
  list.insert(pos, ViewedProduct{product, time});
  if (static_cast<int>(list.size()) > limit) list.pop_back();
}

void AddAffinity(const FeatureOptions& o, CategoryIndex category, TimeMs t, double weight,
                 CustomerFeatures& f) {
  if (category == kNoCategory || weight == 0) return;
  const double w = DecayedWeight(f.affinity_ref, t, weight, o.affinity_half_life_days, [&](double k) {
    for (auto& a : f.affinities) a.score *= k;
  });
  for (auto& a : f.affinities) {
    if (a.category == category) {
      a.score += w;
      return;
    }
  }
  if (static_cast<int>(f.affinities.size()) < o.max_category_affinities) {
    f.affinities.push_back({category, w});
    return;
  }
  auto weakest = std::min_element(f.affinities.begin(), f.affinities.end(),
                                  [](const auto& a, const auto& b) { return a.score < b.score; });
  if (weakest != f.affinities.end() && weakest->score < w) *weakest = {category, w};
}

void RecordPurchase(int limit, ProductIndex product, TimeMs t, std::vector<PurchaseRecord>& list) {
  for (auto& r : list) {
    if (r.product == product) {
      ++r.count;
      UpdateMinMax(t, r.first, r.last);
      return;
    }
  }
  if (static_cast<int>(list.size()) >= limit) {
    // Evict the least informative: fewest purchases, then the oldest.
    auto victim = std::min_element(list.begin(), list.end(), [](const auto& a, const auto& b) {
      return a.count != b.count ? a.count < b.count : a.last < b.last;
    });
    if (victim->count > 1 || victim->last > t) return;
    list.erase(victim);
  }
  list.push_back({product, 1, t, t});
}

CategoryIndex CategoryOf(const Catalog& catalog, ProductIndex p) {
  if (p == kNoProduct || p >= catalog.product_count()) return kNoCategory;
  return catalog.product(p).category;
}

}  // namespace

double DecayFactor(TimeMs dt, double half_life_days) {
  return std::exp2(-static_cast<double>(dt) / (half_life_days * kMsPerDay));
}

namespace {
// Counters and sums saturate instead of overflowing: a customer sending a
// flood of maximal purchases (1000 lines of 100,000 x 1,000,000.00) would
// otherwise wrap the spend after ~900 orders.
template <typename T>
void AddSaturating(T& x, int64_t d) {
  const int64_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  int64_t sum;
  if (__builtin_add_overflow(static_cast<int64_t>(x), d, &sum)) sum = d > 0 ? hi : lo;
  x = static_cast<T>(std::clamp(sum, lo, hi));
}

int64_t OrderTotal(const Event& e) {
  int64_t total = 0;
  for (const OrderLine& line : e.lines) total += line.unit_price_minor * line.quantity;
  return total;
}

// Adds `amount` to the period of `t`. Order-independent: the window always
// ends at the latest period seen, and an amount older than the window is
// dropped whether it arrives before or after the newer ones.
void AddPeriodSpend(TimeMs t, int64_t amount, CustomerFeatures& f) {
  const int64_t p = SpendPeriod(t);
  auto& b = f.spend_by_period;
  if (f.spend_period_ref == 0 && b == std::array<int32_t, kSpendPeriods>{}) f.spend_period_ref = p;
  if (p > f.spend_period_ref) {
    const int64_t shift = std::min<int64_t>(p - f.spend_period_ref, kSpendPeriods);
    for (int i = kSpendPeriods - 1; i >= 0; --i) b[i] = i >= shift ? b[i - shift] : 0;
    f.spend_period_ref = p;
  }
  const int64_t i = f.spend_period_ref - p;
  if (i >= kSpendPeriods) return;
  const int64_t v = b[i] + amount;
  b[i] = static_cast<int32_t>(std::clamp<int64_t>(v, INT32_MIN, INT32_MAX));
}

}  // namespace

void ApplyEvent(const FeatureOptions& o, const Catalog& catalog, const Event& e,
                CustomerFeatures& f) {
  AddSaturating(f.events, 1);
  UpdateMinMax(e.time, f.first_seen, f.last_seen);
  TimeMs& last = f.last_by_type[static_cast<int>(e.type)];
  last = std::max(last, e.time);

  switch (e.type) {
    case EventType::kView:
      RecordView(o.recently_viewed_count, e.product, e.time, f.recently_viewed);
      AddAffinity(o, CategoryOf(catalog, e.product), e.time, o.view_weight, f);
      break;
    case EventType::kAddToCart:
      AddAffinity(o, CategoryOf(catalog, e.product), e.time, o.add_to_cart_weight, f);
      break;
    case EventType::kPurchase: {
      AddSaturating(f.orders, 1);
      AddPeriodSpend(e.time, OrderTotal(e), f);
      UpdateMinMax(e.time, f.first_purchase, f.last_purchase);
      for (size_t i = 0; i < e.lines.size(); ++i) {
        const OrderLine& line = e.lines[i];
        AddSaturating(f.spend_minor, line.unit_price_minor * line.quantity);
        // A product on two lines of one order is one purchase of it.
        bool seen = false;
        for (size_t j = 0; j < i && !seen; ++j) seen = e.lines[j].product == line.product;
        if (seen) continue;
        RecordPurchase(o.max_purchase_history, line.product, e.time, f.purchases);
        AddAffinity(o, CategoryOf(catalog, line.product), e.time, o.purchase_weight, f);
      }
      break;
    }
    case EventType::kReturn:
      AddSaturating(f.returns, 1);
      AddPeriodSpend(e.time, -OrderTotal(e), f);
      for (const OrderLine& line : e.lines) {
        AddSaturating(f.spend_minor, -(line.unit_price_minor * line.quantity));
        AddAffinity(o, CategoryOf(catalog, line.product), e.time, o.return_weight, f);
      }
      break;
    case EventType::kRemoveFromCart:
    case EventType::kOfferImpression:
    case EventType::kOfferClick:
      break;  // recency per type only (for now)
  }
}

SpendHalves SpendAt(const CustomerFeatures& f, TimeMs now) {
  SpendHalves h;
  const int64_t now_p = SpendPeriod(now);
  for (int i = 0; i < kSpendPeriods; ++i) {
    const int64_t age = now_p - (f.spend_period_ref - i);  // 0 = now's period
    if (age < 0 || age >= kSpendPeriods) continue;
    (age < kSpendPeriods / 2 ? h.current_minor : h.baseline_minor) += f.spend_by_period[i];
  }
  return h;
}

void ShrinkToFit(CustomerFeatures& f) {
  f.recently_viewed.shrink_to_fit();
  f.affinities.shrink_to_fit();
  f.purchases.shrink_to_fit();
}

RfmView ComputeRfm(const CustomerFeatures& f, TimeMs now) {
  RfmView v;
  if (f.first_seen != 0) v.tenure_days = std::max<double>(0, now - f.first_seen) / kMsPerDay;
  v.orders = f.orders;
  v.total_spend_minor = f.spend_minor;
  if (f.orders > 0) {
    v.days_since_last_purchase = std::max<double>(0, now - f.last_purchase) / kMsPerDay;
    const double months =
        std::max(1.0, std::max<double>(0, now - f.first_purchase) / kMsPerDay / kDaysPerMonth);
    v.orders_per_month = f.orders / months;
    v.average_order_value_minor = f.spend_minor / f.orders;
  }
  return v;
}

std::vector<CategoryScore> TopAffinities(const CustomerFeatures& f, TimeMs now,
                                         double half_life_days, size_t limit) {
  std::vector<CategoryScore> out = f.affinities;
  const double k = f.affinity_ref == 0 ? 0 : DecayFactor(now - f.affinity_ref, half_life_days);
  for (auto& a : out) a.score *= k;
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.score != b.score ? a.score > b.score : a.category < b.category;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace nextbest::core
