#pragma once
// Customer features, updated incrementally and exactly per event.
//
// Every update is order-independent: minima/maxima for times, sums for
// counts and money, and decayed scores kept relative to a reference time
// (a late event adds its weight decayed to the reference instead of moving
// it), so replaying the same events in any order gives the same state up to
// floating-point rounding. Duplicates are filtered before ApplyEvent by the
// idempotency check in storage/; ApplyEvent itself counts what it is given.
//
// Per-customer state is bounded: recently viewed (N), category affinities
// and purchase history have configured maxima; the weakest entry is evicted.

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/catalog.h"
#include "core/contact_policy.h"
#include "core/send_time.h"
#include "core/types.h"

namespace nextbest::core {

struct FeatureOptions {
  int recently_viewed_count = 50;
  double affinity_half_life_days = 30;
  double popularity_half_life_days = 7;
  // Distinct products per customer: the products bought, exactly, up to
  // this many (16 bytes each); past it the oldest single purchase makes room.
  int max_purchase_history = 500;
  int max_category_affinities = 16;
  int max_brand_affinities = 8;
  // (category, size) pairs learned from order lines with a size.
  int max_known_sizes = 8;
  double view_weight = 1;
  double add_to_cart_weight = 3;
  double purchase_weight = 5;
  double return_weight = -5;
  int trending_list_size = 500;
  // Send time (core/send_time.h): each market's time zone, by CountryIndex
  // (events without a market, or past the list: the first; none: UTC), and
  // the half-life of the activity counters.
  std::vector<absl::TimeZone> market_zones;
  int send_time_half_life_days = 28;
  // The contact policy's caps (core/contact_policy.h): what each
  // customer's contact log keeps.
  ContactRules contacts;
};

// exp2(-dt / half_life), the decay of a weight `dt` milliseconds old.
double DecayFactor(TimeMs dt, double half_life_days);

// Decayed scores are kept at a reference time `ref` (0 = none yet). A weight
// observed at `t`: if `t` is later than `ref`, every score of the set is first
// decayed to `t` through `rescale(factor)` and `ref` moves to `t`; the weight,
// decayed to `ref` (so a late event adds less), is returned for the caller to
// add. The result does not depend on the order of the events (up to
// rounding). Used for category affinities and product popularity.
template <typename Rescale>
double DecayedWeight(TimeMs& ref, TimeMs t, double weight, double half_life_days, Rescale rescale) {
  if (t > ref) {
    rescale(ref == 0 ? 0.0 : DecayFactor(t - ref, half_life_days));
    ref = t;
  }
  return weight * DecayFactor(ref - t, half_life_days);
}

// Sizes a customer declared for the products under a category path prefix
// ("Kleding/Dames": M, L).
struct SizePreference {
  std::string category_prefix;
  std::vector<std::string> sizes;
};

struct CustomerAttributes {
  bool present = false;  // false: known only from events
  CountryIndex country = kNoCountry;
  StoreIndex home_store = kNoStore;
  std::string language;
  int32_t birth_year = 0;
  bool loyalty_member = false;
  bool consent_personalization = false;
  bool consent_marketing_email = false;
  std::vector<SizePreference> sizes;
};

// Seconds since the epoch in 32 bits (until 2106): how the per-customer
// lists keep their times, to keep their entries small.
inline uint32_t ToSeconds(TimeMs t) {
  return static_cast<uint32_t>(std::clamp<TimeMs>(t / 1000, 0, UINT32_MAX));
}

// 8 bytes: the time of a view is kept to the second, which halves the
// largest per-customer list.
struct ViewedProduct {
  ViewedProduct() = default;
  ViewedProduct(ProductIndex p, TimeMs t) : product(p), time_s(ToSeconds(t)) {}
  TimeMs time() const { return static_cast<TimeMs>(time_s) * 1000; }

  ProductIndex product = kNoProduct;
  uint32_t time_s = 0;
};

struct CategoryScore {
  CategoryIndex category;
  double score;  // at CustomerFeatures::affinity_ref
};

struct BrandScore {
  BrandIndex brand;
  double score;  // at CustomerFeatures::affinity_ref
};

// A size bought in a (leaf) category: `net` = units bought minus units
// returned in that size, so the size counts as the customer's while net > 0
// (a returned size that did not fit stops counting).
struct SizeSeen {
  CategoryIndex category;
  int32_t net;
  TimeMs last;  // the latest order line with it
  std::string size;
};

// 16 bytes: first and last purchase kept to the second, like views.
struct PurchaseRecord {
  PurchaseRecord() = default;
  PurchaseRecord(ProductIndex p, uint32_t n, TimeMs first_ms, TimeMs last_ms)
      : product(p), count(n), first_s(ToSeconds(first_ms)), last_s(ToSeconds(last_ms)) {}
  TimeMs first() const { return static_cast<TimeMs>(first_s) * 1000; }
  TimeMs last() const { return static_cast<TimeMs>(last_s) * 1000; }
  // Mean time between purchases; 0 with fewer than two.
  TimeMs TypicalInterval() const { return count < 2 ? 0 : (last() - first()) / (count - 1); }

  ProductIndex product = kNoProduct;
  uint32_t count = 0;  // orders containing the product
  uint32_t first_s = 0;
  uint32_t last_s = 0;
};

// Net spend per 30-day period, for behaviour change (baseline vs current
// period). Period p covers [p * 30 days, (p + 1) * 30 days) since the epoch.
inline constexpr int kSpendPeriods = 6;
inline constexpr TimeMs kSpendPeriodMs = 30 * kMsPerDay;
inline int64_t SpendPeriod(TimeMs t) { return t / kSpendPeriodMs; }

// The order of CustomerFeatures::purchases: the latest purchase first, ties
// by product id — not by index, which is this process's own (a restarted
// process or another replica interns products in another order), so that
// every process keeps the same list.
struct MoreRecentPurchase {
  const Catalog& catalog;
  bool operator()(const PurchaseRecord& a, const PurchaseRecord& b) const;
};

struct CustomerFeatures {
  int64_t events = 0;
  TimeMs first_seen = 0;  // 0 = never
  TimeMs last_seen = 0;
  // The last time of each event type, to the second (0 = never), indexed
  // by the EventType value: 48 bytes for 12 slots.
  std::array<uint32_t, kEventTypeSlots> last_by_type_s{};
  TimeMs LastOfType(EventType t) const {
    return static_cast<TimeMs>(last_by_type_s[static_cast<int>(t)]) * 1000;
  }
  int32_t orders = 0;
  TimeMs first_purchase = 0;
  TimeMs last_purchase = 0;
  int64_t spend_minor = 0;  // purchases minus returns
  int32_t returns = 0;
  std::vector<ViewedProduct> recently_viewed;  // most recent first, distinct
  TimeMs affinity_ref = 0;
  std::vector<CategoryScore> affinities;
  std::vector<BrandScore> brand_affinities;  // also at affinity_ref
  std::vector<PurchaseRecord> purchases;     // latest purchase first (MoreRecentPurchase)
  std::vector<SizeSeen> sizes;
  // spend_by_period[i] is the net spend of period spend_period_ref - i (the
  // latest period with a purchase or return first); older ones roll off.
  int64_t spend_period_ref = 0;
  std::array<int32_t, kSpendPeriods> spend_by_period{};
  // When the customer is active, by local hour and weekday (28 bytes).
  SendTimeHistogram send_time;
  // The latest reported contacts, for the contact policy (20 bytes).
  ContactLog contacts;
};

struct CustomerState {
  CustomerAttributes attributes;
  CustomerFeatures features;
};

// The consent rule, in one place: a customer's personal data (their
// history, affinities, sizes, segments) may shape a decision only if they
// gave personalization consent, or the deployment does not require it
// (privacy.personalization_requires_consent). Unknown customers: never.
inline bool MayPersonalize(bool require_consent, const CustomerState* customer) {
  return customer != nullptr && (!require_consent || customer->attributes.consent_personalization);
}

// The weight an event of type `t` adds to the product's popularity
// (trending): views, carts and purchases count, the other types not.
double PopularityWeight(const FeatureOptions& o, EventType t);

// Applies one accepted event. `catalog` gives product categories for the
// affinities (products it does not list contribute no affinity).
void ApplyEvent(const FeatureOptions& options, const Catalog& catalog, const Event& event,
                CustomerFeatures& features);

// Releases spare vector capacity: published states are immutable, so
// their memory should be exactly what they hold.
void ShrinkToFit(CustomerFeatures& features);

// Read-time derived figures (RFM(T)) at `now`.
struct RfmView {
  double tenure_days = 0;
  double days_since_last_purchase = -1;  // -1: never purchased
  int32_t orders = 0;
  double orders_per_month = 0;
  int64_t total_spend_minor = 0;
  int64_t average_order_value_minor = 0;
};
RfmView ComputeRfm(const CustomerFeatures& features, TimeMs now);

// Net spend in the current half (the 3 periods up to and including now's)
// and the baseline half (the 3 before) of the spend window.
struct SpendHalves {
  int64_t baseline_minor = 0;
  int64_t current_minor = 0;
};
SpendHalves SpendAt(const CustomerFeatures& features, TimeMs now);

// Categories by decayed score at `now`, highest first, at most `limit`.
std::vector<CategoryScore> TopAffinities(const CustomerFeatures& features, TimeMs now,
                                         double half_life_days, size_t limit);
// Brands likewise.
std::vector<BrandScore> TopBrandAffinities(const CustomerFeatures& features, TimeMs now,
                                           double half_life_days, size_t limit);

// Size fit: whether product `p` fits the customer's known sizes. True when
// the product has no sizes, or no size of the customer is known for it, or
// one of the product's sizes is among the known ones. Known sizes: those the
// customer declared for the longest category prefix of the product's
// category; without a declaration, the sizes bought (and not returned) in
// the product's own category.
bool FitsKnownSizes(const Catalog& catalog, const CustomerState& customer, ProductIndex p);

}  // namespace nextbest::core
