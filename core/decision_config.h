#pragma once
// DecisionConfig: what marketers configure, compiled — placements (candidate sources with
// weights, filters, hard rules, arbitration, diversity, count, fallback),
// offers (eligibility, date window, priority, value, caps) and rule-defined
// segments. A DecisionConfig is immutable once published; a reload builds a
// new one and swaps the pointer (requests in flight keep the old one).

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/sources.h"
#include "core/types.h"

namespace nextbest::core {

struct SourceSpec {
  Source source = Source::kTrending;
  double weight = 1;
  int limit = 50;  // candidates taken from the source
  Seed seed = Seed::kBoth;
  TrendingScope scope = TrendingScope::kMarket;  // kTrending only
  // Neighbour sources with history seeds: the customer's most recent
  // products (viewed and bought, merged by time) that seed, the k-th most
  // recent weighing seed_decay^k (tuned with `nextbest eval`).
  int seeds = 8;
  double seed_decay = 0.7;
};

// Named RFM segments (see core/segments.h for the mapping).
enum class RfmSegment : uint8_t {
  kNone = 0,  // no purchase yet
  kChampions,
  kLoyal,
  kPotentialLoyalist,
  kNew,
  kPromising,
  kNeedAttention,
  kAboutToSleep,
  kAtRisk,
  kCantLose,
  kHibernating,
  kLost,
};
inline constexpr int kRfmSegmentCount = 12;

// Behaviour change: net spend in the current 90 days against the 90 days
// before (see core/segments.h for the rules).
enum class Behaviour : uint8_t {
  kNone = 0,  // no purchase yet
  kTop,
  kNew,
  kGrowing,
  kLoyal,
  kNeedsAttention,
  kDormant,
};
inline constexpr int kBehaviourCount = 7;

// An eligibility rule: every field that is set must hold; a list matches
// any of its values. Compiled from the config into masks, evaluated
// without allocation. Fields about the person (segments, age, loyalty,
// affinity, orders, spend) fail for customers without personalization
// consent and for unknown customers.
struct Condition {
  uint16_t countries = 0;           // bit per market; 0 = any
  uint8_t channels = 0;             // bit per Channel value; 0 = any
  uint32_t rfm_segments = 0;        // bit per RfmSegment; 0 = any
  uint64_t rule_segments = 0;       // bit per earlier rule segment; 0 = any
  uint8_t behaviours = 0;           // bit per Behaviour; 0 = any
  bool behaviour_priority = false;  // only the steepest falls
  int min_age = 0, max_age = 0;     // 0 = no bound
  int8_t loyalty_member = -1;       // -1 any, 0 not, 1 member
  bool marketing_email_consent = false;
  int min_orders = 0;
  int64_t min_spend_minor = 0;
  std::string affinity_category;  // category path prefix; "" = none
  double min_affinity = 0;        // share of the customer's affinity, 0..1
  bool Empty() const;
  bool NeedsPersonalData() const;
};

// A rule-defined segment: a name and a condition. Bit i of
// Condition::rule_segments refers to segments[i].
struct SegmentSpec {
  std::string id;
  Condition condition;
};

enum class OfferType : uint8_t {
  kPromotion = 1,
  kProductPush = 2,
  kMoment = 3,
  kLoyalty = 4,
  kService = 5
};
inline constexpr int kOfferTypeSlots = 6;
const char* OfferTypeName(OfferType t);

// Counters shared by every config version that has the offer (a reload
// keeps them): served decisions for the total cap, impressions and clicks
// recorded as events for the propensity estimate.
struct OfferCounters {
  std::atomic<int64_t> served{0};
  std::atomic<int64_t> impressions{0};
  std::atomic<int64_t> clicks{0};
};

struct OfferSpec {
  std::string id;
  OfferType type = OfferType::kPromotion;
  std::string title;
  std::string text;  // shown as the reason, e.g. "2e halve prijs op koffie"
  Condition eligibility;
  TimeMs start = 0, end = 0;  // [start, end); 0 = open
  double priority = 1;
  double value = 1;
  std::vector<std::string> placements;
  std::string product_id;    // PRODUCT_PUSH: the product (must pass every product rule)
  int per_customer_cap = 0;  // 0 = none
  int64_t cap_period_ms = 30 * kMsPerDay;  // rolling period of the per-customer cap
  int64_t total_cap = 0;                   // 0 = none
  std::shared_ptr<OfferCounters> counters;
};

struct ProductFilter {
  std::vector<std::string> include_categories, exclude_categories;  // path prefixes
  std::vector<std::string> include_brands, exclude_brands;
  std::vector<std::string> include_tags, exclude_tags;
  int64_t min_price_minor = 0, max_price_minor = 0;  // 0 = no bound
  bool Empty() const {
    return include_categories.empty() && exclude_categories.empty() && include_brands.empty() &&
           exclude_brands.empty() && include_tags.empty() && exclude_tags.empty() &&
           min_price_minor == 0 && max_price_minor == 0;
  }
};

// The arbitration formula: score = relevance × value × priority × context,
// each factor switchable. Products: relevance = blended source score,
// value = price in major units, priority = 1, context = product_weight.
// Offers: relevance = propensity (smoothed click rate), value and priority
// from the offer, context = offer_type_weight[type].
struct Arbitration {
  bool use_relevance = true;
  bool use_value = false;
  bool use_priority = true;
  bool use_context = true;
  double product_weight = 1;
  std::array<double, kOfferTypeSlots> offer_type_weight{1, 1, 1, 1, 1, 1};
};

struct PlacementSpec {
  std::string id;
  std::vector<SourceSpec> sources;
  int default_count = 10;
  int max_count = 50;
  // Fill what the sources cannot with trending items (the fallback).
  bool fill_with_trending = true;
  ProductFilter filter;
  // Leave out products the customer bought in the last N days (never
  // replenishment candidates). 0 = off.
  int exclude_bought_within_days = 0;
  // Leave out products the customer bought that are not consumable for
  // them (core/repurchase.h: a durable category, bought in one order). On
  // by default.
  bool exclude_bought_durables = true;
  // Leave out products the customer viewed (in their recently viewed list).
  bool exclude_viewed = false;
  // At most this many items per leaf category (products without a category
  // are not limited). 0 = no limit.
  int max_per_category = 0;
  // Category spread: each item already in the answer from a candidate's
  // leaf category multiplies its score by (1 - diversity). 0..0.9, 0 = off.
  double diversity = 0;
  // Replenishment: due after this share of the typical interval; minimum
  // purchases; not when more than max_overdue intervals late (0 = no bound).
  double due_fraction = 1.0;
  int min_purchases = 2;
  double max_overdue = 0;
  // Size fit: products in sizes that do not fit the customer's known sizes
  // are left out (see FitsKnownSizes). On by default.
  bool size_fit = true;
  // Candidates whose scores differ by less than about this fraction may
  // swap places between requests with different request ids (0..0.5,
  // 0 = off); a request id always gets the same answer.
  double rotation = 0;
  Arbitration arbitration;
  // Filled in by DecisionConfig::Build: offers targeting this placement.
  std::vector<uint32_t> offers;
  // The server's metrics series for this placement.
  uint32_t metric_slot = 0;
  bool HasSource(Source s) const;
};

struct DecisionConfig {
  int64_t version = 0;
  std::vector<PlacementSpec> placements;
  std::vector<OfferSpec> offers;
  std::vector<SegmentSpec> segments;  // at most 64
  // Personal sources only with the customer's personalization consent.
  bool require_consent = true;
  absl::flat_hash_map<std::string, size_t> placement_by_id;

  // Indexes placements and links offers to them (an offer naming an unknown
  // placement is an error, as are duplicate ids).
  static absl::StatusOr<std::unique_ptr<const DecisionConfig>> Build(DecisionConfig config);
  const PlacementSpec* Find(absl::string_view id) const {
    auto it = placement_by_id.find(id);
    return it == placement_by_id.end() ? nullptr : &placements[it->second];
  }
};

}  // namespace nextbest::core
