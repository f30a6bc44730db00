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
#include "core/bandit.h"
#include "core/contact_policy.h"
#include "core/experiments.h"
#include "core/placement.h"
#include "core/sources.h"
#include "core/types.h"

namespace nextbest::core {

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
  // The customer's future (core/customer_value.h); 0 = no bound. A
  // customer without an order, or before the first models build, matches
  // none of these.
  double min_p_alive = 0, max_p_alive = 0;  // 0..1
  double min_expected_orders = 0;           // in the next expected_orders_days
  int expected_orders_days = 90;
  int64_t min_clv_minor = 0;
  uint8_t churn_risks = 0;  // bit per ChurnRisk; 0 = any
  bool NeedsFuture() const;
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
const char* OfferTypeName(OfferType t);

// Counters shared by every config version that has the offer (a reload
// keeps them): served decisions for the total cap, impressions and clicks
// recorded as events for the propensity estimate.
struct OfferCounters {
  std::atomic<int64_t> served{0};
  std::atomic<int64_t> impressions{0};
  std::atomic<int64_t> clicks{0};
  // The click posterior (core/bandit.h), overall and per RFM segment.
  OfferPosterior posterior;
};

struct OfferSpec {
  std::string id;
  OfferType type = OfferType::kPromotion;
  std::string title;
  std::string text;  // shown as the reason, e.g. "2e halve prijs op koffie"
  Condition eligibility;
  std::string eligibility_text;  // as written in the config, for display only
  TimeMs start = 0, end = 0;     // [start, end); 0 = open
  double priority = 1;
  double value = 1;
  // A retention offer: valued by the customer's CLV at risk where the
  // placement says so (Arbitration::clv_at_risk).
  bool retention = false;
  std::vector<std::string> placements;
  std::string product_id;    // PRODUCT_PUSH: the product (must pass every product rule)
  int per_customer_cap = 0;  // 0 = none
  int64_t cap_period_ms = 30 * kMsPerDay;  // rolling period of the per-customer cap
  int64_t total_cap = 0;                   // 0 = none; < 0: none to serve here (cluster share)
  std::shared_ptr<OfferCounters> counters;
};

// Feedback: attribution of events to decisions, and the offers' click
// posteriors (core/bandit.h).
struct LearningSpec {
  TimeMs attribution_window_ms = 24 * 3'600'000;
  double prior_clicks = 1;
  double prior_impressions = 20;
  double half_life_days = 14;
  double min_segment_impressions = 200;
};

// A per-segment allowance of the contact policy: customers the condition
// holds for may get `extra` more contacts under the cap(s) of `channel`
// (kUnspecified: every cap).
struct ContactOverride {
  Condition condition;
  Channel channel = Channel::kUnspecified;
  int extra = 1;
};

struct DecisionConfig {
  int64_t version = 0;
  std::vector<PlacementSpec> placements;
  std::vector<OfferSpec> offers;
  std::vector<SegmentSpec> segments;  // at most 64
  // Experiments (core/experiments.h): at most one running per placement at
  // any time; and the global holdout.
  std::vector<ExperimentSpec> experiments;
  HoldoutSpec holdout;
  LearningSpec learning;
  // The contact policy (core/contact_policy.h), checked by placements with
  // PlacementSpec::contact; the allowances by segment.
  ContactRules contact;
  std::vector<ContactOverride> contact_overrides;
  // Filled in by Build: the control answer of each placement (parallel to
  // `placements`).
  std::vector<PlacementSpec> controls;
  // Personal sources only with the customer's personalization consent.
  bool require_consent = true;
  absl::flat_hash_map<std::string, size_t> placement_by_id;

  // Indexes placements and links offers and experiments to them (an offer
  // or experiment naming an unknown placement is an error, as are duplicate
  // ids, overlapping bucket ranges and two experiments on one placement
  // whose date windows overlap).
  static absl::StatusOr<std::unique_ptr<const DecisionConfig>> Build(DecisionConfig config);
  const PlacementSpec* Find(absl::string_view id) const {
    auto it = placement_by_id.find(id);
    return it == placement_by_id.end() ? nullptr : &placements[it->second];
  }
};

}  // namespace nextbest::core
