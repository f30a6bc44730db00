#pragma once
// Segments: RFM quintile scores against the current population, the named
// RFM segments, and rule-defined segments (eligibility Conditions).
//
// The quintile cut points are computed in the background over every
// customer (core/models.h) and published with the models; scoring one
// customer is then a few comparisons at read time, so a customer's scores
// follow each purchase at once while the population's cut points move
// only with the next models build.

#include <array>
#include <cstdint>

#include "core/catalog.h"
#include "core/customer_value.h"
#include "core/decision_config.h"
#include "core/features.h"
#include "core/types.h"

namespace nextbest::core {

// Cut points between quintiles (4 per dimension), over customers with at
// least one purchase. Recency is days since the last purchase (fewer is
// better), frequency is orders, monetary is net spend.
struct RfmThresholds {
  std::array<double, 4> recency_days{};  // at the build: days since recency_cut_times
  // The last-purchase times at the recency cut points: the cut points at
  // another time are the days since these (RecencyCutsAt).
  std::array<TimeMs, 4> recency_cut_times{};
  std::array<double, 4> frequency{};
  std::array<double, 4> monetary{};
  int64_t population = 0;  // customers with a purchase, 0 = not computed yet
};

struct RfmScores {
  int r = 0, f = 0, m = 0;  // 1..5; 0 when the customer never purchased
  RfmSegment segment = RfmSegment::kNone;
};

RfmScores ScoreRfm(const CustomerFeatures& f, const RfmThresholds& t, TimeMs now);

// Days since `last_purchase` at `now`, as a cut point holds them.
double RecencyCutDays(TimeMs last_purchase, TimeMs now);
// The same cut points with recency_days as at `now`.
RfmThresholds RecencyCutsAt(RfmThresholds t, TimeMs now);

// Population figures behind the behaviour groups (from the models build).
struct BehaviourThresholds {
  double top_current_minor = 0;      // 90th percentile of current spend (> 0)
  double median_baseline_minor = 0;  // median of baseline spend (> 0)
};

struct BehaviourView {
  Behaviour group = Behaviour::kNone;
  bool priority = false;  // a steep fall of a customer who spent at least the median
  SpendHalves spend;
};

// Current = net spend in the 90 days up to now, baseline = the 90 days
// before (30-day periods, see SpendAt). The first matching row wins:
//   none             no purchase ever
//   new              nothing in the baseline, something now
//   dormant          nothing now (priority if the baseline >= the median)
//   top              current >= the population's 90th percentile
//   growing          current >= 1.25 x baseline
//   needs_attention  current <= 0.75 x baseline (priority if <= 0.5 x and
//                    the baseline >= the median)
//   loyal            otherwise (within 25 %)
BehaviourView ClassifyBehaviour(const CustomerFeatures& f, const BehaviourThresholds& t,
                                TimeMs now);
const char* BehaviourName(Behaviour b);  // "top", ..., "" for kNone
bool ParseBehaviour(absl::string_view name, Behaviour& out);

// The documented mapping from (R, FM = round((F + M) / 2), orders) to a named
// segment; the first matching row wins:
//   champions          R >= 4, FM >= 4
//   loyal              R >= 3, FM >= 3
//   new                R >= 4, one order
//   potential_loyalist R >= 4
//   promising          R == 3, one order
//   need_attention     R == 3
//   cant_lose          R == 1, FM >= 4
//   at_risk            R <= 2, FM >= 3
//   about_to_sleep     R == 2
//   hibernating        R == 1, FM == 2
//   lost               R == 1, FM == 1
RfmSegment NameRfm(int r, int f, int m, int32_t orders);
const char* RfmSegmentName(RfmSegment s);  // "champions", ..., "" for kNone
bool ParseRfmSegment(absl::string_view name, RfmSegment& out);

// Everything a Condition looks at, for one decision.
struct ConditionInput {
  const CustomerState* customer = nullptr;  // nullptr: unknown customer
  bool personal = false;                    // the customer's own data may be used (consent)
  CountryIndex country = kNoCountry;
  Channel channel = Channel::kUnspecified;
  RfmSegment rfm = RfmSegment::kNone;
  Behaviour behaviour = Behaviour::kNone;
  bool behaviour_priority = false;
  uint64_t rule_segments = 0;  // bits of the segments the customer is in
  TimeMs now = 0;
  // The purchase and value models, for conditions on the customer's future
  // (nullptr: none yet). What they give is computed at most once per input,
  // when a condition first asks.
  const CustomerValueModels* future = nullptr;
  struct FutureCache {
    bool p_alive_known = false;
    double p_alive = -1;  // CustomerPAlive's: -1 for an unknown future
    int expected_days = 0;
    double expected_orders = 0;
    double clv_minor = -1;
  };
  mutable FutureCache cache;
};

bool Matches(const Condition& c, const Catalog& catalog, const ConditionInput& in);

// The rule segments (bit per DecisionConfig::segments entry) the input is
// in. Segments may refer to earlier ones only.
uint64_t RuleSegments(const std::vector<SegmentSpec>& segments, const Catalog& catalog,
                      ConditionInput in);

// Everything segments say about in.customer: RFM scores and behaviour group
// (against the given population figures; none when they are null) written
// into `in` and returned, then the rule segments. `in` must hold the
// customer, consent, country, channel and time. Used by decisions, the
// profile and the models build alike.
struct SegmentView {
  RfmScores rfm;
  BehaviourView behaviour;
};
SegmentView SegmentCustomer(const RfmThresholds* rfm, const BehaviourThresholds* behaviour,
                            const std::vector<SegmentSpec>& rules, const Catalog& catalog,
                            ConditionInput& in);

}  // namespace nextbest::core
