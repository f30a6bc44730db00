// Each customer's future (core/customer_value.h): the summary taken from
// the RFM state, fit data that adds up in any order, a model per market
// where the market is big enough, and per customer P(alive), expected
// orders and lifetime value that are the models' own formulas — a lapsed
// regular is at high risk, a steady one is not.

#include "core/customer_value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/segments.h"
#include "tests/core/test_catalog.h"

namespace nextbest::core {
namespace {

constexpr TimeMs kDay = kMsPerDay;
constexpr TimeMs kNow = 1'700'000'000'000;

CustomerFeatures Buyer(int orders, int first_days_ago, int last_days_ago, int64_t spend_minor) {
  CustomerFeatures f;
  f.orders = orders;
  f.first_purchase = kNow - first_days_ago * kDay;
  f.last_purchase = kNow - last_days_ago * kDay;
  f.spend_minor = spend_minor;
  return f;
}

// Customers drawn from BG/NBD (days) and Gamma-Gamma (minor units), first
// orders spread over the last `max_age` days.
std::vector<CustomerFeatures> Simulate(const BgNbdParams& m, const GammaGammaParams& g, int n,
                                       uint64_t seed, int max_age) {
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> lambda(m.r, 1 / m.alpha), ga(m.a, 1), gb(m.b, 1);
  std::gamma_distribution<double> nu(g.q, 1 / g.gamma);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<CustomerFeatures> out;
  for (int i = 0; i < n; ++i) {
    const double l = lambda(rng), u = ga(rng), v = gb(rng), p = u / (u + v);
    const double T = 1 + (max_age - 1) * unit(rng);
    std::gamma_distribution<double> order_value(g.p, 1 / nu(rng));
    double t = 0, t_x = 0, spend = order_value(rng);
    int orders = 1;
    while (true) {
      t += std::exponential_distribution<double>(l)(rng);
      if (t > T) break;
      ++orders;
      t_x = t;
      spend += order_value(rng);
      if (unit(rng) < p) break;
    }
    CustomerFeatures f;
    f.orders = orders;
    f.first_purchase = kNow - static_cast<TimeMs>(T * kDay);
    f.last_purchase = f.first_purchase + static_cast<TimeMs>(t_x * kDay);
    f.spend_minor = static_cast<int64_t>(spend);
    out.push_back(f);
  }
  return out;
}

const BgNbdParams kSlow{0.25, 30, 0.8, 2.4};  // a purchase every ~120 days
const BgNbdParams kFast{1.5, 20, 0.3, 4.0};   // every ~13 days, loyal
const GammaGammaParams kSpend{6, 4, 1500};    // mean order 30.00

TEST(CustomerValueTest, SummaryComesFromTheRfmStateInDays) {
  PurchaseSummary s;
  EXPECT_FALSE(SummarizePurchases(CustomerFeatures{}, kNow, s));
  ASSERT_TRUE(SummarizePurchases(Buyer(3, 100, 40, 9000), kNow, s));
  EXPECT_EQ(s.x, 2);
  EXPECT_DOUBLE_EQ(s.t_x, 60);
  EXPECT_DOUBLE_EQ(s.T, 100);
  // A purchase stamped after `now` (clock skew) is not in the future.
  ASSERT_TRUE(SummarizePurchases(Buyer(1, 5, -2, 100), kNow, s));
  EXPECT_DOUBLE_EQ(s.t_x, 7);
  EXPECT_DOUBLE_EQ(s.T, 7);
}

TEST(CustomerValueTest, FitDataAddsUpTheSameInAnyOrder) {
  const auto people = Simulate(kSlow, kSpend, 3000, 7, 365);
  CustomerValueData whole, forward, backward;
  for (const auto& f : people) AddCustomerValue(f, 0, kNow, whole);
  whole[0].Compact();
  for (int part = 0; part < 3; ++part) {
    CustomerValueData a, b;
    for (size_t i = part; i < people.size(); i += 3) AddCustomerValue(people[i], 0, kNow, a);
    for (size_t i = 2 - part; i < people.size(); i += 3) AddCustomerValue(people[i], 0, kNow, b);
    MergeCustomerValue(forward, a);
    MergeCustomerValue(backward, b);
  }
  ASSERT_EQ(forward.size(), 1u);
  int64_t customers = 0;
  for (const auto& c : whole[0].purchases) customers += c.count;
  EXPECT_EQ(customers, 3000);
  EXPECT_LT(whole[0].purchases.size(), 3000u);  // cells, not customers
  auto same = [](const CustomerValueCounts& l, const CustomerValueCounts& r) {
    ASSERT_EQ(l.purchases.size(), r.purchases.size());
    for (size_t i = 0; i < l.purchases.size(); ++i) {
      EXPECT_EQ(l.purchases[i].x, r.purchases[i].x);
      EXPECT_EQ(l.purchases[i].t_x, r.purchases[i].t_x);
      EXPECT_EQ(l.purchases[i].T, r.purchases[i].T);
      EXPECT_EQ(l.purchases[i].count, r.purchases[i].count);
    }
    ASSERT_EQ(l.values.size(), r.values.size());
    for (size_t i = 0; i < l.values.size(); ++i) {
      EXPECT_EQ(l.values[i].orders, r.values[i].orders);
      EXPECT_EQ(l.values[i].spend_minor, r.values[i].spend_minor);
      EXPECT_EQ(l.values[i].count, r.values[i].count);
    }
  };
  same(whole[0], forward[0]);
  same(whole[0], backward[0]);
  // So the fits are the same to the last bit.
  const CustomerValueOptions o;
  const auto one = FitCustomerValue(o, whole), merged = FitCustomerValue(o, backward);
  EXPECT_EQ(one.population.purchases.r, merged.population.purchases.r);
  EXPECT_EQ(one.population.purchases.b, merged.population.purchases.b);
  EXPECT_EQ(one.population.value.gamma, merged.population.value.gamma);
}

TEST(CustomerValueTest, BigMarketsGetTheirOwnModelsSmallOnesThePopulations) {
  CustomerValueData data;
  for (const auto& f : Simulate(kSlow, kSpend, 6000, 1, 540)) AddCustomerValue(f, 0, kNow, data);
  for (const auto& f : Simulate(kFast, kSpend, 6000, 2, 540)) AddCustomerValue(f, 1, kNow, data);
  for (const auto& f : Simulate(kFast, kSpend, 300, 3, 540)) AddCustomerValue(f, 2, kNow, data);
  CustomerValueOptions o;
  o.min_market_customers = 5000;
  const CustomerValueModels m = FitCustomerValue(o, data);
  ASSERT_TRUE(m.population.purchases_fitted);
  ASSERT_TRUE(m.population.value_fitted);
  EXPECT_EQ(m.population.purchase_customers, 12300);
  ASSERT_EQ(m.markets.size(), 2u);
  const BgNbdParams& slow = m.For(0).purchases;
  const BgNbdParams& fast = m.For(1).purchases;
  std::printf("slow r %.3f alpha %.2f a %.3f b %.3f; fast r %.3f alpha %.2f a %.3f b %.3f\n",
              slow.r, slow.alpha, slow.a, slow.b, fast.r, fast.alpha, fast.a, fast.b);
  // Each market's mean purchase rate r/α near its own truth (within 15 %).
  EXPECT_NEAR(slow.r / slow.alpha, kSlow.r / kSlow.alpha, 0.15 * kSlow.r / kSlow.alpha);
  EXPECT_NEAR(fast.r / fast.alpha, kFast.r / kFast.alpha, 0.15 * kFast.r / kFast.alpha);
  // Market 2 (300 customers) and customers without a market: the population's.
  EXPECT_EQ(&m.For(2), &m.population);
  EXPECT_EQ(&m.For(kNoCountry), &m.population);
  EXPECT_GT(m.evaluations, 0);

  // Above every market's size: one model for everyone.
  o.min_market_customers = 7000;
  EXPECT_TRUE(FitCustomerValue(o, data).markets.empty());
}

TEST(CustomerValueTest, LapsedRegularsAreAtRiskAndTheFiguresAreTheModelsFormulas) {
  CustomerValueData data;
  for (const auto& f : Simulate(kSlow, kSpend, 8000, 9, 730)) AddCustomerValue(f, 0, kNow, data);
  const CustomerValueOptions o;
  const CustomerValueModels m = FitCustomerValue(o, data);
  ASSERT_TRUE(m.population.purchases_fitted);
  ASSERT_TRUE(m.population.value_fitted);

  // Eight orders in a year, the last a week ago; the same eight, then silence for 300 days.
  const CustomerFeatures steady = Buyer(8, 365, 7, 8 * 4000);
  const CustomerFeatures lapsed = Buyer(8, 665, 300, 8 * 4000);
  const CustomerValue s = ValueCustomer(m, steady, 0, kNow);
  const CustomerValue l = ValueCustomer(m, lapsed, 0, kNow);
  ASSERT_TRUE(s.known && l.known);
  EXPECT_GT(s.p_alive, 0.8);
  EXPECT_LT(l.p_alive, 0.3);
  EXPECT_EQ(s.risk, ChurnRisk::kLow);
  EXPECT_EQ(l.risk, ChurnRisk::kHigh);
  EXPECT_GT(s.expected_orders_365, 3 * l.expected_orders_365);
  EXPECT_LT(s.expected_orders_30, s.expected_orders_90);
  EXPECT_LT(s.expected_orders_90, s.expected_orders_365);
  EXPECT_GT(s.clv_minor, l.clv_minor);
  EXPECT_GT(l.clv_at_risk_minor / l.clv_minor, s.clv_at_risk_minor / s.clv_minor);

  // The figures are the models' formulas on (x, t_x, T) in days.
  const BgNbdParams& bg = m.population.purchases;
  EXPECT_DOUBLE_EQ(s.p_alive, ProbabilityAlive(bg, 7, 358, 365));
  EXPECT_DOUBLE_EQ(s.expected_orders_90, ExpectedPurchases(bg, 7, 358, 365, 90));
  EXPECT_DOUBLE_EQ(s.expected_order_minor, ExpectedOrderValue(m.population.value, 8, 4000));
  EXPECT_NEAR(s.clv_minor,
              s.expected_order_minor * DiscountedExpectedPurchases(bg, 7, 358, 365, 12, 0.01),
              1e-9 * s.clv_minor);
  EXPECT_NEAR(s.clv_at_risk_minor, s.clv_minor * (1 - s.p_alive), 1e-9 * s.clv_minor);
  EXPECT_DOUBLE_EQ(CustomerPAlive(m, lapsed, 0, kNow), l.p_alive);
  // Discounting: the 12-month figure is below the undiscounted 360 days.
  EXPECT_LT(DiscountedExpectedPurchases(bg, 7, 358, 365, 12, 0.01),
            ExpectedPurchases(bg, 7, 358, 365, 360));

  // A customer without an order, or without a fitted model: unknown.
  EXPECT_FALSE(ValueCustomer(m, CustomerFeatures{}, 0, kNow).known);
  EXPECT_FALSE(ValueCustomer(CustomerValueModels{}, steady, 0, kNow).known);
  EXPECT_EQ(CustomerPAlive(CustomerValueModels{}, steady, 0, kNow), -1);
  EXPECT_EQ(CustomerPAlive(m, CustomerFeatures{}, 0, kNow), -1);
  // Returns above purchases: value counts as 0, nothing negative.
  const CustomerValue refunded = ValueCustomer(m, Buyer(3, 100, 10, -500), 0, kNow);
  EXPECT_GE(refunded.clv_minor, 0);
  EXPECT_GE(refunded.expected_order_minor, 0);
}

TEST(CustomerValueTest, RiskBandsAndTheirNames) {
  CustomerValueOptions o;
  EXPECT_EQ(RiskOf(o, 0.1), ChurnRisk::kHigh);
  EXPECT_EQ(RiskOf(o, 0.3), ChurnRisk::kMedium);
  EXPECT_EQ(RiskOf(o, 0.59), ChurnRisk::kMedium);
  EXPECT_EQ(RiskOf(o, 0.6), ChurnRisk::kLow);
  for (ChurnRisk r : {ChurnRisk::kLow, ChurnRisk::kMedium, ChurnRisk::kHigh}) {
    ChurnRisk parsed = ChurnRisk::kNone;
    ASSERT_TRUE(ParseChurnRisk(ChurnRiskName(r), parsed));
    EXPECT_EQ(parsed, r);
  }
  ChurnRisk parsed;
  EXPECT_FALSE(ParseChurnRisk("", parsed));
  EXPECT_FALSE(ParseChurnRisk("extreme", parsed));
}

TEST(CustomerValueTest, ConditionsOnTheFutureMatchTheFigures) {
  CustomerValueData data;
  for (const auto& f : Simulate(kSlow, kSpend, 8000, 9, 730)) AddCustomerValue(f, 0, kNow, data);
  const CustomerValueModels m = FitCustomerValue(CustomerValueOptions{}, data);
  const auto catalog = testing::MakeCatalog(10, 2);
  CustomerState steady, lapsed, never;
  steady.features = Buyer(8, 365, 7, 8 * 4000);
  lapsed.features = Buyer(8, 665, 300, 8 * 4000);
  auto input = [&](const CustomerState& s, const CustomerValueModels* future) {
    ConditionInput in;
    in.customer = &s;
    in.personal = true;
    in.country = 0;
    in.now = kNow;
    in.future = future;
    return in;
  };
  const CustomerValue sv = ValueCustomer(m, steady.features, 0, kNow);
  const CustomerValue lv = ValueCustomer(m, lapsed.features, 0, kNow);
  Condition slipping;
  slipping.max_p_alive = 0.3;
  EXPECT_FALSE(Matches(slipping, *catalog, input(steady, &m)));
  EXPECT_TRUE(Matches(slipping, *catalog, input(lapsed, &m)));
  Condition high;
  high.churn_risks = 1u << static_cast<int>(ChurnRisk::kHigh);
  EXPECT_FALSE(Matches(high, *catalog, input(steady, &m)));
  EXPECT_TRUE(Matches(high, *catalog, input(lapsed, &m)));
  Condition alive;
  alive.min_p_alive = sv.p_alive;  // a bound is inclusive
  EXPECT_TRUE(Matches(alive, *catalog, input(steady, &m)));
  alive.min_p_alive = std::nextafter(sv.p_alive, 2.0);
  EXPECT_FALSE(Matches(alive, *catalog, input(steady, &m)));
  Condition valuable;
  valuable.min_clv_minor = static_cast<int64_t>(std::floor(sv.clv_minor));
  EXPECT_TRUE(Matches(valuable, *catalog, input(steady, &m)));
  valuable.min_clv_minor = static_cast<int64_t>(std::ceil(sv.clv_minor)) + 1;
  EXPECT_FALSE(Matches(valuable, *catalog, input(steady, &m)));
  Condition buying;
  buying.min_expected_orders = (sv.expected_orders_365 + lv.expected_orders_365) / 2;
  buying.expected_orders_days = 365;
  EXPECT_TRUE(Matches(buying, *catalog, input(steady, &m)));
  EXPECT_FALSE(Matches(buying, *catalog, input(lapsed, &m)));
  // Two conditions on one input, each with its own horizon (the cache is per horizon).
  const ConditionInput in = input(steady, &m);
  Condition week = buying;
  week.expected_orders_days = 7;
  EXPECT_TRUE(Matches(buying, *catalog, in));
  EXPECT_FALSE(Matches(week, *catalog, in));
  EXPECT_TRUE(Matches(buying, *catalog, in));
  // No models yet, no order, or no consent: no condition on the future holds,
  // not even an upper bound.
  EXPECT_FALSE(Matches(slipping, *catalog, input(lapsed, nullptr)));
  EXPECT_FALSE(Matches(slipping, *catalog, input(never, &m)));
  ConditionInput not_personal = input(lapsed, &m);
  not_personal.personal = false;
  EXPECT_FALSE(Matches(slipping, *catalog, not_personal));
  EXPECT_TRUE(slipping.NeedsPersonalData());
}

}  // namespace
}  // namespace nextbest::core
