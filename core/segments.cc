#include "core/segments.h"

#include <cmath>

#include "absl/strings/match.h"

namespace nextbest::core {
namespace {

// 1..5: how many cut points `v` reaches (higher is better when
// `higher_better`).
int Quintile(double v, const std::array<double, 4>& cuts, bool higher_better) {
  int q = 1;
  for (double c : cuts) {
    if (higher_better ? v > c : v < c) ++q;
  }
  return q;
}

constexpr const char* kRfmNames[kRfmSegmentCount] = {
    "",        "champions", "loyal",          "potential_loyalist",
    "new",     "promising", "need_attention", "about_to_sleep",
    "at_risk", "cant_lose", "hibernating",    "lost"};

int AgeAt(int32_t birth_year, TimeMs now) {
  // Civil year of `now` (days since epoch -> year), good to a day.
  const int64_t days = now / kMsPerDay;
  const int year = 1970 + static_cast<int>(static_cast<double>(days) / 365.2425);
  return year - birth_year;
}

}  // namespace

RfmScores ScoreRfm(const CustomerFeatures& f, const RfmThresholds& t, TimeMs now) {
  RfmScores s;
  if (f.orders <= 0 || t.population == 0) return s;
  // Rounded as the cut points are: the customer at a cut point equals it.
  s.r = Quintile(RecencyCutDays(f.last_purchase, now), t.recency_days, /*higher_better=*/false);
  s.f = Quintile(f.orders, t.frequency, true);
  s.m = Quintile(static_cast<double>(f.spend_minor), t.monetary, true);
  s.segment = NameRfm(s.r, s.f, s.m, f.orders);
  return s;
}

double RecencyCutDays(TimeMs last_purchase, TimeMs now) {
  return static_cast<float>(std::max<TimeMs>(0, now - last_purchase)) / kMsPerDay;
}

RfmThresholds RecencyCutsAt(RfmThresholds t, TimeMs now) {
  if (t.population == 0) return t;
  for (int q = 0; q < 4; ++q) t.recency_days[q] = RecencyCutDays(t.recency_cut_times[q], now);
  return t;
}

RfmSegment NameRfm(int r, int f, int m, int32_t orders) {
  const int fm = static_cast<int>(std::lround((f + m) / 2.0));
  using S = RfmSegment;
  if (r >= 4 && fm >= 4) return S::kChampions;
  if (r >= 3 && fm >= 3) return S::kLoyal;
  if (r >= 4 && orders == 1) return S::kNew;
  if (r >= 4) return S::kPotentialLoyalist;
  if (r == 3 && orders == 1) return S::kPromising;
  if (r == 3) return S::kNeedAttention;
  if (r == 1 && fm >= 4) return S::kCantLose;
  if (fm >= 3) return S::kAtRisk;  // r <= 2
  if (r == 2) return S::kAboutToSleep;
  if (fm == 2) return S::kHibernating;
  return S::kLost;
}

const char* RfmSegmentName(RfmSegment s) { return kRfmNames[static_cast<int>(s)]; }

bool ParseRfmSegment(absl::string_view name, RfmSegment& out) {
  for (int i = 1; i < kRfmSegmentCount; ++i) {
    if (name == kRfmNames[i]) {
      out = static_cast<RfmSegment>(i);
      return true;
    }
  }
  return false;
}

constexpr const char* kBehaviourNames[kBehaviourCount] = {
    "", "top", "new", "growing", "loyal", "needs_attention", "dormant"};

BehaviourView ClassifyBehaviour(const CustomerFeatures& f, const BehaviourThresholds& t,
                                TimeMs now) {
  BehaviourView v;
  if (f.orders <= 0) return v;
  v.spend = SpendAt(f, now);
  const double base = static_cast<double>(v.spend.baseline_minor);
  const double cur = static_cast<double>(v.spend.current_minor);
  const bool valuable = base > 0 && base >= t.median_baseline_minor;
  using B = Behaviour;
  if (base <= 0 && cur > 0) {
    v.group = B::kNew;
  } else if (cur <= 0) {
    v.group = B::kDormant;
    v.priority = valuable;
  } else if (t.top_current_minor > 0 && cur >= t.top_current_minor) {
    v.group = B::kTop;
  } else if (cur >= 1.25 * base) {
    v.group = B::kGrowing;
  } else if (cur <= 0.75 * base) {
    v.group = B::kNeedsAttention;
    v.priority = valuable && cur <= 0.5 * base;
  } else {
    v.group = B::kLoyal;
  }
  return v;
}

const char* BehaviourName(Behaviour b) { return kBehaviourNames[static_cast<int>(b)]; }

bool ParseBehaviour(absl::string_view name, Behaviour& out) {
  for (int i = 1; i < kBehaviourCount; ++i) {
    if (name == kBehaviourNames[i]) {
      out = static_cast<Behaviour>(i);
      return true;
    }
  }
  return false;
}

namespace {

// The customer's future against the condition's bounds (in.customer set).
bool FutureMatches(const Condition& c, const ConditionInput& in) {
  if (in.future == nullptr) return false;
  const CustomerFeatures& f = in.customer->features;
  ConditionInput::FutureCache& cache = in.cache;
  if (!cache.p_alive_known) {
    cache.p_alive = CustomerPAlive(*in.future, f, in.country, in.now);
    cache.p_alive_known = true;
  }
  const double p = cache.p_alive;
  if (p < 0) return false;
  if (c.min_p_alive > 0 && p < c.min_p_alive) return false;
  if (c.max_p_alive > 0 && p > c.max_p_alive) return false;
  if (c.churn_risks != 0 &&
      !(c.churn_risks >> static_cast<int>(RiskOf(in.future->options, p)) & 1)) {
    return false;
  }
  if (c.min_expected_orders > 0) {
    if (cache.expected_days != c.expected_orders_days) {
      cache.expected_days = c.expected_orders_days;
      cache.expected_orders =
          CustomerExpectedOrders(*in.future, f, in.country, in.now, c.expected_orders_days);
    }
    if (cache.expected_orders < c.min_expected_orders) return false;
  }
  if (c.min_clv_minor > 0) {
    if (cache.clv_minor < 0) cache.clv_minor = CustomerClv(*in.future, f, in.country, in.now);
    if (cache.clv_minor < static_cast<double>(c.min_clv_minor)) return false;
  }
  return true;
}

}  // namespace

bool Matches(const Condition& c, const Catalog& catalog, const ConditionInput& in) {
  if (c.countries != 0 && (in.country == kNoCountry || !(c.countries >> in.country & 1))) {
    return false;
  }
  if (c.channels != 0 && !(c.channels >> static_cast<int>(in.channel) & 1)) return false;
  if (!c.NeedsPersonalData() && !c.marketing_email_consent) return true;
  const CustomerState* s = in.customer;
  if (s == nullptr) return false;
  if (c.marketing_email_consent && !s->attributes.consent_marketing_email) return false;
  if (!c.NeedsPersonalData()) return true;
  if (!in.personal) return false;
  if (c.rfm_segments != 0 && !(c.rfm_segments >> static_cast<int>(in.rfm) & 1)) return false;
  if (c.rule_segments != 0 && (c.rule_segments & in.rule_segments) == 0) return false;
  if (c.behaviours != 0 && !(c.behaviours >> static_cast<int>(in.behaviour) & 1)) return false;
  if (c.behaviour_priority && !in.behaviour_priority) return false;
  if (c.min_age > 0 || c.max_age > 0) {
    if (s->attributes.birth_year <= 0) return false;
    const int age = AgeAt(s->attributes.birth_year, in.now);
    if (c.min_age > 0 && age < c.min_age) return false;
    if (c.max_age > 0 && age > c.max_age) return false;
  }
  if (c.loyalty_member >= 0 && s->attributes.loyalty_member != (c.loyalty_member == 1)) {
    return false;
  }
  if (c.min_orders > 0 && s->features.orders < c.min_orders) return false;
  if (c.min_spend_minor > 0 && s->features.spend_minor < c.min_spend_minor) return false;
  if (!c.affinity_category.empty()) {
    // All affinities decay alike, so shares need no decay to `now`.
    double total = 0, match = 0;
    for (const CategoryScore& a : s->features.affinities) {
      if (a.score <= 0) continue;
      total += a.score;
      if (a.category < catalog.category_count() &&
          absl::StartsWith(catalog.category_name(a.category), c.affinity_category)) {
        match += a.score;
      }
    }
    if (total <= 0 || match / total < c.min_affinity || match <= 0) return false;
  }
  return !c.NeedsFuture() || FutureMatches(c, in);
}

uint64_t RuleSegments(const std::vector<SegmentSpec>& segments, const Catalog& catalog,
                      ConditionInput in) {
  in.rule_segments = 0;
  for (size_t i = 0; i < segments.size() && i < 64; ++i) {
    if (Matches(segments[i].condition, catalog, in)) in.rule_segments |= uint64_t{1} << i;
  }
  return in.rule_segments;
}

SegmentView SegmentCustomer(const RfmThresholds* rfm, const BehaviourThresholds* behaviour,
                            const std::vector<SegmentSpec>& rules, const Catalog& catalog,
                            ConditionInput& in) {
  SegmentView v;
  if (in.customer == nullptr) return v;
  if (rfm != nullptr) {
    v.rfm = ScoreRfm(in.customer->features, *rfm, in.now);
    in.rfm = v.rfm.segment;
  }
  if (behaviour != nullptr) {
    v.behaviour = ClassifyBehaviour(in.customer->features, *behaviour, in.now);
    in.behaviour = v.behaviour.group;
    in.behaviour_priority = v.behaviour.priority;
  }
  in.rule_segments = rules.empty() ? 0 : RuleSegments(rules, catalog, in);
  return v;
}

bool Condition::Empty() const {
  return countries == 0 && channels == 0 && !marketing_email_consent && !NeedsPersonalData();
}

bool Condition::NeedsPersonalData() const {
  return rfm_segments != 0 || rule_segments != 0 || behaviours != 0 || behaviour_priority ||
         min_age > 0 || max_age > 0 || loyalty_member >= 0 || min_orders > 0 ||
         min_spend_minor > 0 || !affinity_category.empty() || NeedsFuture();
}

bool Condition::NeedsFuture() const {
  return min_p_alive > 0 || max_p_alive > 0 || min_expected_orders > 0 || min_clv_minor > 0 ||
         churn_risks != 0;
}

}  // namespace nextbest::core
