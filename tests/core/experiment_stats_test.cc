// The report's statistics against published table values and a
// hand-computed example (the Python lines that computed it are quoted).

#include "core/experiment_stats.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/experiment_report.h"

namespace nextbest::core::stats {
namespace {

TEST(DistributionsTest, MatchPublishedTables) {
  EXPECT_NEAR(StudentTQuantile(0.975, 10), 2.228139, 1e-5);
  EXPECT_NEAR(StudentTQuantile(0.975, 30), 2.042272, 1e-5);
  EXPECT_NEAR(StudentTQuantile(0.975, 1e7), 1.959964, 1e-5);
  EXPECT_NEAR(StudentTUpper(2.228139, 10), 0.025, 1e-6);
  EXPECT_NEAR(ChiSquareUpper(3.841459, 1), 0.05, 1e-6);
  EXPECT_NEAR(ChiSquareUpper(11.0705, 5), 0.05, 1e-5);
  EXPECT_NEAR(ChiSquareUpper(100, 1) / 1.5239706e-23, 1, 1e-5);  // erfc(sqrt(50))
  EXPECT_FALSE(std::isnan(ChiSquareUpper(1e6, 3)));
}

TEST(CompareTest, ConversionUpliftMatchesAHandComputedExample) {
  // 120 of 1,000 exposed customers converted against 100 of 1,000:
  //   v = (s - n m²) / (n - 1) / n; se = sqrt(v1 + v0) = 0.0139927
  //   df (Welch–Satterthwaite) = 1985.37; t(0.975, 1985) = 1.96115
  //   relative: 0.2 ± 1.959964 × 0.153439 = [-0.10074, 0.50074]
  const Uplift u = Compare(120, 120, 1000, 100, 100, 1000);
  ASSERT_TRUE(u.defined);
  EXPECT_NEAR(u.absolute.value, 0.02, 1e-12);
  EXPECT_NEAR(u.absolute.low, 0.02 - 1.96115 * 0.0139927, 2e-5);
  EXPECT_NEAR(u.absolute.high, 0.02 + 1.96115 * 0.0139927, 2e-5);
  EXPECT_NEAR(u.p_value, 0.1531, 5e-4);  // normal approximation: 0.15291
  EXPECT_NEAR(u.relative.low, -0.10074, 1e-4);
  EXPECT_NEAR(u.relative.high, 0.50074, 1e-4);
}

TEST(MeanTest, IntervalIsStudentsT) {
  // Values 1..5: mean 3, s² = 2.5, se = sqrt(0.5); t(0.975, 4) = 2.776445.
  const Estimate e = Mean(15, 55, 5);
  EXPECT_NEAR(e.value, 3, 1e-12);
  EXPECT_NEAR(e.high - e.value, 2.776445 * std::sqrt(0.5), 1e-5);
  EXPECT_FALSE(Mean(3, 9, 1).defined);
}

TEST(RatioTest, DeltaMethodForClickThroughRate) {
  // Two customers: (impressions, clicks) = (10, 1) and (30, 5): R = 6/40.
  // mean i = 20, var i = 200, var c = 8, cov = 40, n = 2:
  // Var R = (8 - 2·0.15·40 + 0.0225·200) / (2 · 400) = 0.000625.
  const Estimate e = Ratio(6, 40, 26, 1000, 160, 2);
  EXPECT_NEAR(e.value, 0.15, 1e-12);
  EXPECT_NEAR(e.high - e.value, 1.959964 * 0.025, 1e-6);
}

TEST(SrmTest, FlagsA45To55SplitOfA50To50Experiment) {
  const Srm broken = SampleRatioMismatch({4500, 5500}, {0.5, 0.5});
  EXPECT_NEAR(broken.chi_square, 100, 1e-9);
  EXPECT_TRUE(broken.alarm);
  EXPECT_LT(broken.p_value, 1e-20);
  const Srm fine = SampleRatioMismatch({4980, 5020}, {0.5, 0.5});
  EXPECT_FALSE(fine.alarm);
  EXPECT_NEAR(fine.p_value, 0.6892, 1e-3);  // chi² 0.16, 1 df
}

TEST(ReportTest, UpliftIsAgainstTheControlAndTheHoldoutIsReportedLikeAVariant) {
  DecisionConfig c;
  c.holdout.buckets = 500;
  std::map<ExperimentTotals::Key, VariantTotals> t;
  ExposureEntry converted, not_converted;
  converted.orders = 1;
  converted.revenue_minor = 1000;
  for (int i = 0; i < 1000; ++i) {
    t[{kHoldoutExperiment, kPersonalizedVariant}].Add(i < 120 ? converted : not_converted, 1);
  }
  for (int i = 0; i < 1000; ++i) {
    t[{kHoldoutExperiment, kHoldoutVariant}].Add(i < 100 ? converted : not_converted, 1);
  }
  AssignedCounter assigned(c);
  const auto reports = BuildReports(c, t, assigned, 0);
  ASSERT_EQ(reports.size(), 1u);
  const ExperimentReport& r = reports[0];
  EXPECT_EQ(r.id, kHoldoutExperiment);
  ASSERT_EQ(r.variants.size(), 2u);
  EXPECT_TRUE(r.variants[0].control);
  EXPECT_NEAR(r.variants[1].conversion.value, 0.12, 1e-12);
  EXPECT_NEAR(r.variants[1].conversion_uplift.absolute.value, 0.02, 1e-12);
  EXPECT_NEAR(r.variants[1].revenue_uplift.absolute.value, 20, 1e-9);  // minor units
  // 1,000 : 1,000 exposed against 5 % : 95 %: a broken split.
  EXPECT_TRUE(r.srm.alarm);
}

}  // namespace
}  // namespace nextbest::core::stats

namespace nextbest::core {
namespace {

TEST(OfferUpliftTest, ShownAgainstHeldBackOverallAndPerSegmentWhereCountsAllow) {
  DecisionConfig c;
  OfferSpec o;
  o.id = "koffie";
  c.offers.push_back(o);
  std::map<ExperimentTotals::Key, VariantTotals> t;
  ExposureEntry bought, not_bought;
  bought.orders = 1;
  auto add = [&](const std::string& variant, int n, int converting) {
    for (int i = 0; i < n; ++i) {
      t[{"offer:koffie", variant}].Add(i < converting ? bought : not_bought, 1);
    }
  };
  add("shown|champions", 100, 30);
  add("held_back|champions", 50, 10);
  add("shown|lost", 40, 4);
  add("held_back|lost", 5, 0);  // too few: no per-segment row
  const auto rows = BuildOfferReports(c, t);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].segment, "");
  EXPECT_EQ(rows[0].shown, 140);
  EXPECT_EQ(rows[0].shown_converting, 34);
  EXPECT_EQ(rows[0].held_back, 55);
  EXPECT_EQ(rows[1].segment, "champions");
  EXPECT_NEAR(rows[1].uplift.absolute.value, 0.30 - 0.20, 1e-12);
  EXPECT_TRUE(rows[1].uplift.defined);
}

}  // namespace
}  // namespace nextbest::core
