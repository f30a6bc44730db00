#include "core/segments.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "core/caps.h"
#include "core/customer_index.h"
#include "core/models.h"
#include "tests/core/test_catalog.h"

namespace nextbest::core {
namespace {

constexpr TimeMs kDay = kMsPerDay;
constexpr TimeMs kNow = 1'700'000'000'000;

TEST(RfmTest, NamedSegmentsFollowTheDocumentedTable) {
  struct Case {
    int r, f, m, orders;
    const char* name;
  };
  const Case cases[] = {
      {5, 5, 5, 30, "champions"},  {4, 4, 3, 10, "champions"},  // FM = round(3.5) = 4
      {3, 3, 3, 8, "loyal"},       {5, 3, 3, 8, "loyal"},
      {5, 1, 1, 1, "new"},         {4, 2, 2, 3, "potential_loyalist"},
      {3, 1, 2, 1, "promising"},   {3, 2, 2, 2, "need_attention"},
      {1, 5, 4, 20, "cant_lose"},  {2, 5, 5, 20, "at_risk"},
      {1, 3, 3, 6, "at_risk"},     {2, 2, 1, 2, "about_to_sleep"},
      {1, 2, 2, 2, "hibernating"}, {1, 1, 1, 1, "lost"},
  };
  for (const Case& c : cases) {
    EXPECT_STREQ(RfmSegmentName(NameRfm(c.r, c.f, c.m, c.orders)), c.name)
        << c.r << c.f << c.m << " orders " << c.orders;
  }
  // Every (R, F, M) has a name.
  for (int r = 1; r <= 5; ++r)
    for (int f = 1; f <= 5; ++f)
      for (int m = 1; m <= 5; ++m) EXPECT_NE(NameRfm(r, f, m, 3), RfmSegment::kNone);
  RfmSegment s;
  EXPECT_TRUE(ParseRfmSegment("cant_lose", s));
  EXPECT_EQ(s, RfmSegment::kCantLose);
  EXPECT_FALSE(ParseRfmSegment("vip", s));
}

TEST(RfmTest, ScoresAgainstHandComputedCutPoints) {
  RfmThresholds t;
  t.population = 100;
  t.recency_days = {10, 20, 40, 80};
  t.frequency = {1, 2, 4, 8};
  t.monetary = {1000, 2000, 5000, 10000};
  CustomerFeatures f;
  f.orders = 5;
  f.last_purchase = kNow - 15 * kDay;  // between 10 and 20 days: R 4
  f.spend_minor = 5000;                // equal to a cut point: the lower side, M 3
  const RfmScores s = ScoreRfm(f, t, kNow);
  EXPECT_EQ(s.r, 4);
  EXPECT_EQ(s.f, 4);  // 5 orders passes 1, 2, 4
  EXPECT_EQ(s.m, 3);
  EXPECT_EQ(s.segment, RfmSegment::kChampions);  // R 4, FM round(3.5) = 4
  f.orders = 0;
  EXPECT_EQ(ScoreRfm(f, t, kNow).segment, RfmSegment::kNone);
}

TEST(ConditionTest, EveryFieldMustHoldAndPersonalFieldsNeedConsent) {
  auto catalog = testing::MakeCatalog(3);  // categories Cat/Sub1, Cat/Sub2, Cat/Sub0
  CustomerState c;
  c.attributes.present = true;
  c.attributes.birth_year = 1990;
  c.attributes.loyalty_member = true;
  c.attributes.consent_marketing_email = true;
  c.features.orders = 4;
  c.features.spend_minor = 9000;
  c.features.affinities = {{0, 3.0}, {1, 1.0}};  // 75 % Cat/Sub1
  ConditionInput in;
  in.customer = &c;
  in.personal = true;
  in.country = 1;
  in.channel = Channel::kEmail;
  in.rfm = RfmSegment::kLoyal;
  in.now = kNow;  // 2023-11-14: age 33

  Condition cond;
  EXPECT_TRUE(Matches(cond, *catalog, in));
  cond.countries = 1 << 1;
  cond.channels = 1 << static_cast<int>(Channel::kEmail);
  cond.rfm_segments = 1 << static_cast<int>(RfmSegment::kLoyal);
  cond.min_age = 30;
  cond.max_age = 40;
  cond.loyalty_member = 1;
  cond.marketing_email_consent = true;
  cond.min_orders = 4;
  cond.min_spend_minor = 9000;
  cond.affinity_category = "Cat/Sub1";
  cond.min_affinity = 0.7;
  EXPECT_TRUE(Matches(cond, *catalog, in));
  // Break each field once.
  auto fails = [&](auto mutate) {
    Condition x = cond;
    mutate(x);
    return !Matches(x, *catalog, in);
  };
  EXPECT_TRUE(fails([](Condition& x) { x.countries = 1; }));
  EXPECT_TRUE(fails([](Condition& x) { x.channels = 1 << static_cast<int>(Channel::kApp); }));
  EXPECT_TRUE(
      fails([](Condition& x) { x.rfm_segments = 1 << static_cast<int>(RfmSegment::kLost); }));
  EXPECT_TRUE(fails([](Condition& x) { x.min_age = 34; }));
  EXPECT_TRUE(fails([](Condition& x) { x.max_age = 32; }));
  EXPECT_TRUE(fails([](Condition& x) { x.loyalty_member = 0; }));
  EXPECT_TRUE(fails([](Condition& x) { x.min_orders = 5; }));
  EXPECT_TRUE(fails([](Condition& x) { x.min_spend_minor = 9001; }));
  EXPECT_TRUE(fails([](Condition& x) { x.min_affinity = 0.8; }));
  EXPECT_TRUE(fails([](Condition& x) { x.affinity_category = "Cat/Sub0"; }));
  // Without consent, personal fields fail; country and channel still work.
  in.personal = false;
  EXPECT_FALSE(Matches(cond, *catalog, in));
  Condition open;
  open.countries = 1 << 1;
  EXPECT_TRUE(Matches(open, *catalog, in));
  // Unknown customers match only conditions without personal fields.
  in.customer = nullptr;
  EXPECT_TRUE(Matches(open, *catalog, in));
  open.marketing_email_consent = true;
  EXPECT_FALSE(Matches(open, *catalog, in));
}

// Net spend per 30-day period: order-independent, bounded to 6 periods.
TEST(BehaviourTest, SpendPeriodsAreOrderIndependentAndRollOff) {
  auto catalog = testing::MakeCatalog(2);
  FeatureOptions o;
  std::vector<Event> events;
  const TimeMs now = 200 * kSpendPeriodMs + 10 * kDay;
  for (int k = 0; k < 8; ++k) {  // one purchase of 10.00 per period, 8 periods back
    Event e;
    e.type = EventType::kPurchase;
    e.time = now - k * kSpendPeriodMs;
    e.lines = {{0, 1, 1000}};
    events.push_back(e);
  }
  Event ret;  // a 4.00 return in the current period
  ret.type = EventType::kReturn;
  ret.time = now;
  ret.lines = {{0, 1, 400}};
  events.push_back(ret);
  CustomerFeatures forward, backward;
  for (const auto& e : events) ApplyEvent(o, *catalog, e, forward);
  for (auto it = events.rbegin(); it != events.rend(); ++it) ApplyEvent(o, *catalog, *it, backward);
  EXPECT_EQ(forward.spend_by_period, backward.spend_by_period);
  EXPECT_EQ(forward.spend_period_ref, backward.spend_period_ref);
  const SpendHalves h = SpendAt(forward, now);
  EXPECT_EQ(h.current_minor, 3000 - 400);
  EXPECT_EQ(h.baseline_minor, 3000);
  // Three periods later the current half is empty, the baseline is the old current.
  const SpendHalves later = SpendAt(forward, now + 3 * kSpendPeriodMs);
  EXPECT_EQ(later.current_minor, 0);
  EXPECT_EQ(later.baseline_minor, 2600);
}

TEST(BehaviourTest, GroupsFollowTheDocumentedRules) {
  const TimeMs now = 300 * kSpendPeriodMs + kDay;
  BehaviourThresholds t;
  t.top_current_minor = 50'000;
  t.median_baseline_minor = 10'000;
  auto customer = [&](int32_t baseline, int32_t current) {
    CustomerFeatures f;
    f.orders = 1;
    f.spend_period_ref = SpendPeriod(now);
    f.spend_by_period = {current, 0, 0, baseline, 0, 0};
    return f;
  };
  struct Case {
    int32_t baseline, current;
    const char* group;
    bool priority;
  };
  const Case cases[] = {
      {0, 5000, "new", false},
      {20000, 0, "dormant", true},
      {5000, 0, "dormant", false},
      {20000, 60000, "top", false},
      {10000, 12500, "growing", false},
      {10000, 7500, "needs_attention", false},
      {20000, 9000, "needs_attention", true},
      {4000, 1000, "needs_attention", false},
      {10000, 11000, "loyal", false},
  };
  for (const Case& c : cases) {
    const BehaviourView v = ClassifyBehaviour(customer(c.baseline, c.current), t, now);
    EXPECT_STREQ(BehaviourName(v.group), c.group) << c.baseline << " -> " << c.current;
    EXPECT_EQ(v.priority, c.priority) << c.baseline << " -> " << c.current;
  }
  CustomerFeatures never;
  EXPECT_EQ(ClassifyBehaviour(never, t, now).group, Behaviour::kNone);
  Behaviour b;
  EXPECT_TRUE(ParseBehaviour("needs_attention", b));
  EXPECT_FALSE(ParseBehaviour("sleepy", b));
  // Usable in conditions (personal data: needs consent).
  auto catalog = testing::MakeCatalog(1);
  CustomerState s;
  s.features = customer(20000, 9000);
  ConditionInput in;
  in.customer = &s;
  in.personal = true;
  in.behaviour = Behaviour::kNeedsAttention;
  in.behaviour_priority = true;
  Condition cond;
  cond.behaviours = 1 << static_cast<int>(Behaviour::kNeedsAttention);
  cond.behaviour_priority = true;
  EXPECT_TRUE(Matches(cond, *catalog, in));
  in.behaviour_priority = false;
  EXPECT_FALSE(Matches(cond, *catalog, in));
  in.behaviour_priority = true;
  in.personal = false;
  EXPECT_FALSE(Matches(cond, *catalog, in));
}

TEST(ConditionTest, RuleSegmentsMayReferToEarlierOnes) {
  auto catalog = testing::MakeCatalog(3);
  std::vector<SegmentSpec> segments(2);
  segments[0].id = "members";
  segments[0].condition.loyalty_member = 1;
  segments[1].id = "members_in_be";
  segments[1].condition.rule_segments = 1;  // members
  segments[1].condition.countries = 1 << 1;
  CustomerState c;
  c.attributes.loyalty_member = true;
  ConditionInput in;
  in.customer = &c;
  in.personal = true;
  in.country = 1;
  EXPECT_EQ(RuleSegments(segments, *catalog, in), 0b11u);
  in.country = 0;
  EXPECT_EQ(RuleSegments(segments, *catalog, in), 0b01u);
  c.attributes.loyalty_member = false;
  in.country = 1;
  EXPECT_EQ(RuleSegments(segments, *catalog, in), 0u);
}

TEST(ModelsTest, RfmCutPointsAndSegmentSizes) {
  auto catalog = testing::MakeCatalog(3);
  DecisionConfig config;
  config.segments.push_back({"big_spenders", {}});
  config.segments[0].condition.min_spend_minor = 50'000;
  ModelBuilder b(ModelOptions(), *catalog, config, kNow);
  std::vector<CustomerState> pop(10);
  for (int i = 0; i < 10; ++i) {
    // Customer i: i + 1 orders, last purchase i * 10 days ago, spend (i + 1) * 10,000.
    pop[i].features.orders = i + 1;
    pop[i].features.last_purchase = kNow - i * 10 * kDay;
    pop[i].features.spend_minor = (i + 1) * 10'000;
    b.Add(pop[i].features);
  }
  CustomerState never;  // no purchase: no RFM score
  b.Add(never.features);
  const RfmThresholds& t = b.Thresholds();
  EXPECT_EQ(t.population, 10);
  // Quintile cut points at ranks 2, 4, 6, 8 of 0..9.
  EXPECT_EQ(t.recency_days, (std::array<double, 4>{20, 40, 60, 80}));
  EXPECT_EQ(t.frequency, (std::array<double, 4>{3, 5, 7, 9}));
  for (const auto& c : pop) b.Count(c, true);
  b.Count(never, true);
  auto m = b.Finish();
  int64_t total = 0;
  for (int64_t n : m->rfm_sizes) total += n;
  EXPECT_EQ(total, 11);
  EXPECT_EQ(m->rfm_sizes[0], 1);  // no purchase
  // The most recent, most frequent, highest spenders are champions:
  // customers 9 (R1) ... customer 0: R 5, F 1, M 1 -> new? (1 order) yes.
  EXPECT_EQ(ScoreRfm(pop[0].features, t, kNow).segment, RfmSegment::kNew);
  EXPECT_EQ(ScoreRfm(pop[9].features, t, kNow).segment, RfmSegment::kCantLose);
  EXPECT_EQ(m->rule_segment_ids, std::vector<std::string>{"big_spenders"});
  // No spend per period recorded here: every buyer is dormant.
  EXPECT_EQ(m->behaviour_sizes[static_cast<int>(Behaviour::kDormant)], 10);
  EXPECT_EQ(m->behaviour_sizes[0], 1);
  EXPECT_EQ(m->rule_segment_sizes, std::vector<int64_t>{6});  // spend 50,000 .. 100,000
}

TEST(ModelsTest, NewArrivalsPerCategoryNewestFirst) {
  auto empty = Catalog::Empty({"NL"}, "EUR");
  CatalogBuilder cb(**empty);
  for (int i = 0; i < 4; ++i) {
    Product p;
    p.id = "p" + std::to_string(i);
    p.category_path = {"A"};
    p.active = true;
    p.listed = true;
    p.available_from = i == 0 ? 0 : kNow - i * kDay;  // p0 is old
    cb.UpsertProduct(p);
  }
  auto catalog = cb.Build();
  DecisionConfig config;
  ModelBuilder b(ModelOptions(), *catalog, config, kNow);
  b.Thresholds();
  auto m = b.Finish();
  ASSERT_EQ(m->new_arrivals.size(), 1u);
  EXPECT_EQ(m->new_arrivals[0], (std::vector<ProductIndex>{1, 2, 3}));
}

// A cluster node whose share of the total cap is nothing serves none (and
// takes no per-customer slot).
TEST(OfferLedgerTest, ANodeWithoutAShareOfTheTotalCapServesNone) {
  OfferLedger ledger;
  OfferSpec o;
  o.id = "o";
  o.per_customer_cap = 2;
  o.cap_period_ms = 7 * kDay;
  o.total_cap = -1;
  o.counters = ledger.Counters("o");
  EXPECT_EQ(ledger.TryReserve(o, "a", kNow), OfferLedger::Reservation::kTotalCap);
  EXPECT_EQ(ledger.ShownTo(o, "a", kNow), 0);
  EXPECT_EQ(o.counters->served.load(), 0);
}

TEST(OfferLedgerTest, RollingWindowTotalCapAndSaveLoad) {
  OfferLedger ledger;
  OfferSpec o;
  o.id = "o";
  o.per_customer_cap = 2;
  o.cap_period_ms = 7 * kDay;
  o.total_cap = 3;
  o.counters = ledger.Counters("o");
  using R = OfferLedger::Reservation;
  EXPECT_EQ(ledger.TryReserve(o, "a", kNow), R::kOk);
  EXPECT_EQ(ledger.TryReserve(o, "a", kNow + kDay), R::kOk);
  EXPECT_EQ(ledger.TryReserve(o, "a", kNow + 2 * kDay), R::kCustomerCap);
  EXPECT_EQ(ledger.ShownTo(o, "a", kNow + 2 * kDay), 2);
  EXPECT_EQ(ledger.TryReserve(o, "a", kNow + 7 * kDay), R::kOk);  // the first has rolled out
  EXPECT_EQ(ledger.TryReserve(o, "b", kNow + 7 * kDay), R::kTotalCap);
  EXPECT_EQ(ledger.ShownTo(o, "b", kNow + 7 * kDay), 0);  // given back
  ledger.RecordImpression("o");
  ledger.RecordClick("o");

  OfferLedger restored;
  ASSERT_TRUE(restored.Load(ledger.Serialize()).ok());
  OfferSpec r = o;
  r.counters = restored.Counters("o");
  EXPECT_EQ(r.counters->served.load(), 3);
  EXPECT_EQ(r.counters->impressions.load(), 1);
  EXPECT_EQ(r.counters->clicks.load(), 1);
  EXPECT_EQ(restored.ShownTo(r, "a", kNow + 7 * kDay), 2);
  EXPECT_FALSE(restored.Load("garbage").ok());
  restored.Prune(kNow + 30 * kDay, 7 * kDay);
  EXPECT_EQ(restored.ShownTo(r, "a", kNow + 7 * kDay), 0);
}

}  // namespace
}  // namespace nextbest::core
