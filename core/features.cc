#include "core/features.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nextbest::core {
namespace {

constexpr double kDaysPerMonth = 30.436875;

void UpdateMinMax(TimeMs t, TimeMs& first, TimeMs& last) {
  if (first == 0 || t < first) first = t;
  if (t > last) last = t;
}

// The list is ordered by time, most recent first, and by product index
// among views in the same second, so the result does not depend on the
// order the events arrive in.
void RecordView(int limit, ProductIndex product, TimeMs time, std::vector<ViewedProduct>& list) {
  const ViewedProduct view(product, time);
  auto same = std::find_if(list.begin(), list.end(),
                           [&](const ViewedProduct& v) { return v.product == product; });
  if (same != list.end()) {
    if (same->time_s >= view.time_s) return;  // a later view of it is already known
    list.erase(same);
  }
  auto pos = std::find_if(list.begin(), list.end(), [&](const ViewedProduct& v) {
    return v.time_s < view.time_s || (v.time_s == view.time_s && v.product > product);
  });
  if (pos == list.end() && static_cast<int>(list.size()) >= limit) return;
  list.insert(pos, view);
  if (static_cast<int>(list.size()) > limit) list.pop_back();
}

// Adds `w` to `key`'s score in a bounded list of {key, score} entries;
// when full, the weakest entry makes room for a stronger newcomer.
template <typename Entry, typename Key>
void AddScore(std::vector<Entry>& list, Key Entry::*field, Key key, double w, int limit) {
  for (auto& a : list) {
    if (a.*field == key) {
      a.score += w;
      return;
    }
  }
  Entry entry{};
  entry.*field = key;
  entry.score = w;
  if (static_cast<int>(list.size()) < limit) {
    list.push_back(entry);
    return;
  }
  auto weakest = std::min_element(list.begin(), list.end(),
                                  [](const auto& a, const auto& b) { return a.score < b.score; });
  if (weakest != list.end() && weakest->score < w) *weakest = entry;
}

// Category and brand affinity of a product interaction, both decayed to
// the one reference time affinity_ref.
void AddAffinity(const FeatureOptions& o, const Catalog& catalog, ProductIndex p, TimeMs t,
                 double weight, CustomerFeatures& f) {
  if (p == kNoProduct || p >= catalog.product_count() || weight == 0) return;
  const Product& prod = catalog.product(p);
  if (prod.category == kNoCategory && prod.brand_index == kNoBrand) return;
  const double w =
      DecayedWeight(f.affinity_ref, t, weight, o.affinity_half_life_days, [&](double k) {
        for (auto& a : f.affinities) a.score *= k;
        for (auto& a : f.brand_affinities) a.score *= k;
      });
  if (prod.category != kNoCategory) {
    AddScore(f.affinities, &CategoryScore::category, prod.category, w, o.max_category_affinities);
  }
  if (prod.brand_index != kNoBrand) {
    AddScore(f.brand_affinities, &BrandScore::brand, prod.brand_index, w, o.max_brand_affinities);
  }
}

// Units of `line`'s size bought (+) or returned (-) in its product's
// category. Sums, so the order of events does not matter; when the list is
// full the pair seen longest ago makes room.
void AddSize(const FeatureOptions& o, const Catalog& catalog, const OrderLine& line, int sign,
             TimeMs t, CustomerFeatures& f) {
  if (line.size.empty() || line.product >= catalog.product_count()) return;
  const CategoryIndex c = catalog.product(line.product).category;
  if (c == kNoCategory) return;
  const int64_t units = static_cast<int64_t>(sign) * std::max<int32_t>(1, line.quantity);
  for (SizeSeen& s : f.sizes) {
    if (s.category == c && s.size == line.size) {
      s.net = static_cast<int32_t>(std::clamp<int64_t>(s.net + units, INT32_MIN, INT32_MAX));
      s.last = std::max(s.last, t);
      return;
    }
  }
  SizeSeen seen{c, static_cast<int32_t>(units), t, line.size};
  if (static_cast<int>(f.sizes.size()) < o.max_known_sizes) {
    f.sizes.push_back(std::move(seen));
    return;
  }
  auto oldest = std::min_element(f.sizes.begin(), f.sizes.end(),
                                 [](const auto& a, const auto& b) { return a.last < b.last; });
  if (oldest != f.sizes.end() && oldest->last < t) *oldest = std::move(seen);
}

// The list is ordered by the last purchase, most recent first (ties: by
// product id), so the neighbour seeds and the model's histories read it
// without sorting.
void RecordPurchase(const Catalog& catalog, int limit, ProductIndex product, TimeMs t,
                    std::vector<PurchaseRecord>& list) {
  const uint32_t s = ToSeconds(t);
  PurchaseRecord rec(product, 1, t, t);
  auto same = std::find_if(list.begin(), list.end(),
                           [&](const PurchaseRecord& r) { return r.product == product; });
  if (same != list.end()) {
    rec = *same;
    ++rec.count;
    rec.first_s = std::min(rec.first_s, s);
    rec.last_s = std::max(rec.last_s, s);
    list.erase(same);
  } else if (static_cast<int>(list.size()) >= limit) {
    // Evict the least informative: fewest purchases, then the oldest, then
    // the smallest product id (not index: the same choice in every process).
    auto victim = std::min_element(list.begin(), list.end(), [&](const auto& a, const auto& b) {
      if (a.count != b.count) return a.count < b.count;
      if (a.last_s != b.last_s) return a.last_s < b.last_s;
      return catalog.product(a.product).id < catalog.product(b.product).id;
    });
    if (victim->count > 1 || victim->last_s > s) return;
    list.erase(victim);
  }
  list.insert(std::upper_bound(list.begin(), list.end(), rec, MoreRecentPurchase{catalog}), rec);
}

}  // namespace

bool MoreRecentPurchase::operator()(const PurchaseRecord& a, const PurchaseRecord& b) const {
  if (a.last_s != b.last_s) return a.last_s > b.last_s;
  return a.product != b.product && catalog.product(a.product).id < catalog.product(b.product).id;
}

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

double PopularityWeight(const FeatureOptions& o, EventType t) {
  switch (t) {
    case EventType::kView:
      return o.view_weight;
    case EventType::kAddToCart:
      return o.add_to_cart_weight;
    case EventType::kPurchase:
      return o.purchase_weight;
    case EventType::kRemoveFromCart:
    case EventType::kReturn:
    case EventType::kOfferImpression:
    case EventType::kOfferClick:
    case EventType::kProductImpression:
    case EventType::kProductClick:
    case EventType::kContact:
    case EventType::kComplaint:
      return 0;
  }
  return 0;
}

namespace {

// The send-time counters (core/send_time.h), before last_seen moves on.
void RecordActivityTime(const FeatureOptions& o, const Event& e, CustomerFeatures& f) {
  const int units = ActivityUnits(e.type, e.channel);
  int weekday = -1, hour = -1;
  if (units > 0) {
    const size_t market =
        e.country != kNoCountry && e.country < o.market_zones.size() ? e.country : 0;
    LocalHour(market < o.market_zones.size() ? o.market_zones[market] : absl::UTCTimeZone(), e.time,
              weekday, hour);
  }
  AddActivity(f.send_time, weekday, hour, units, f.last_seen, e.time, o.send_time_half_life_days);
}

}  // namespace

void ApplyEvent(const FeatureOptions& o, const Catalog& catalog, const Event& e,
                CustomerFeatures& f) {
  AddSaturating(f.events, 1);
  RecordActivityTime(o, e, f);
  UpdateMinMax(e.time, f.first_seen, f.last_seen);
  uint32_t& last = f.last_by_type_s[static_cast<int>(e.type)];
  last = std::max(last, ToSeconds(e.time));

  switch (e.type) {
    case EventType::kView:
      RecordView(o.recently_viewed_count, e.product, e.time, f.recently_viewed);
      AddAffinity(o, catalog, e.product, e.time, o.view_weight, f);
      break;
    case EventType::kAddToCart:
      AddAffinity(o, catalog, e.product, e.time, o.add_to_cart_weight, f);
      break;
    case EventType::kPurchase: {
      AddSaturating(f.orders, 1);
      AddPeriodSpend(e.time, OrderTotal(e), f);
      UpdateMinMax(e.time, f.first_purchase, f.last_purchase);
      for (size_t i = 0; i < e.lines.size(); ++i) {
        const OrderLine& line = e.lines[i];
        AddSaturating(f.spend_minor, line.unit_price_minor * line.quantity);
        AddSize(o, catalog, line, +1, e.time, f);
        // A product on two lines of one order is one purchase of it.
        bool seen = false;
        for (size_t j = 0; j < i && !seen; ++j) seen = e.lines[j].product == line.product;
        if (seen) continue;
        RecordPurchase(catalog, o.max_purchase_history, line.product, e.time, f.purchases);
        AddAffinity(o, catalog, line.product, e.time, o.purchase_weight, f);
      }
      break;
    }
    case EventType::kReturn:
      AddSaturating(f.returns, 1);
      AddPeriodSpend(e.time, -OrderTotal(e), f);
      for (const OrderLine& line : e.lines) {
        AddSaturating(f.spend_minor, -(line.unit_price_minor * line.quantity));
        AddSize(o, catalog, line, -1, e.time, f);
        AddAffinity(o, catalog, line.product, e.time, o.return_weight, f);
      }
      break;
    case EventType::kRemoveFromCart:
    case EventType::kOfferImpression:
    case EventType::kOfferClick:
    case EventType::kProductImpression:
    case EventType::kProductClick:
    case EventType::kComplaint:
      break;  // recency per type only; feedback counts in storage/ingest_feedback.cc
    case EventType::kContact:
      RecordContact(o.contacts, e.time, e.channel, f.contacts);
      break;
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
  f.brand_affinities.shrink_to_fit();
  f.purchases.shrink_to_fit();
  f.sizes.shrink_to_fit();
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

namespace {
template <typename Entry, typename Key>
std::vector<Entry> TopScores(const CustomerFeatures& f, const std::vector<Entry>& list,
                             Key Entry::*field, TimeMs now, double half_life_days, size_t limit) {
  std::vector<Entry> out = list;
  const double k = f.affinity_ref == 0 ? 0 : DecayFactor(now - f.affinity_ref, half_life_days);
  for (auto& a : out) a.score *= k;
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    return a.score != b.score ? a.score > b.score : a.*field < b.*field;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

bool AnyShared(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (const std::string& x : a) {
    if (std::find(b.begin(), b.end(), x) != b.end()) return true;
  }
  return false;
}
}  // namespace

std::vector<CategoryScore> TopAffinities(const CustomerFeatures& f, TimeMs now,
                                         double half_life_days, size_t limit) {
  return TopScores(f, f.affinities, &CategoryScore::category, now, half_life_days, limit);
}

std::vector<BrandScore> TopBrandAffinities(const CustomerFeatures& f, TimeMs now,
                                           double half_life_days, size_t limit) {
  return TopScores(f, f.brand_affinities, &BrandScore::brand, now, half_life_days, limit);
}

bool FitsKnownSizes(const Catalog& catalog, const CustomerState& customer, ProductIndex p) {
  const Product& prod = catalog.product(p);
  if (prod.sizes.empty()) return true;
  const std::vector<SizePreference>& declared = customer.attributes.sizes;
  if (!declared.empty() && prod.category < catalog.category_count()) {
    const std::string& path = catalog.category_name(prod.category);
    const SizePreference* best = nullptr;
    for (const SizePreference& d : declared) {
      const std::string& pre = d.category_prefix;
      // A whole-segment prefix: "Kleding" covers "Kleding/Dames", not "Kledingkast".
      const bool covers = path.compare(0, pre.size(), pre) == 0 &&
                          (path.size() == pre.size() || path[pre.size()] == '/');
      if (covers && (best == nullptr || pre.size() > best->category_prefix.size())) best = &d;
    }
    if (best != nullptr) return best->sizes.empty() || AnyShared(prod.sizes, best->sizes);
  }
  bool known = false;
  for (const SizeSeen& s : customer.features.sizes) {
    if (s.category != prod.category || s.net <= 0) continue;
    known = true;
    if (std::find(prod.sizes.begin(), prod.sizes.end(), s.size) != prod.sizes.end()) return true;
  }
  return !known;
}

}  // namespace nextbest::core
