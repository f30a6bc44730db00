#include "core/value_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

namespace nextbest::core {
namespace {

// The published CDNOW fit (Fader & Hardie 2013) on customers with repeat
// purchases.
const GammaGammaParams kCdnow{6.25, 3.74, 15.44};

TEST(ValueModelTest, ExpectedOrderValueByHand) {
  // (15.44 + 2 · 35) · 6.25 / (6.25 · 2 + 3.74 − 1) = 534 / 15.24.
  EXPECT_NEAR(ExpectedOrderValue(kCdnow, 2, 35), 35.039370, 1e-6);
  // No orders: the population's mean p γ / (q − 1) = 96.5 / 2.74.
  EXPECT_NEAR(ExpectedOrderValue(kCdnow, 0, 0), 35.218978, 1e-6);
  // Many orders: the customer's own mean wins.
  EXPECT_NEAR(ExpectedOrderValue(kCdnow, 1000, 80), 80, 0.05);
  EXPECT_EQ(ExpectedOrderValue({6.25, 0.9, 15.44}, 2, 35), 0);  // q <= 1: no mean
}

GammaGammaFitData Simulate(const GammaGammaParams& g, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> nu(g.q, 1 / g.gamma);
  std::poisson_distribution<int> extra(2.0);
  GammaGammaFitData data;
  for (int i = 0; i < n; ++i) {
    const double v = nu(rng);
    const int x = 1 + extra(rng);
    std::gamma_distribution<double> value(g.p, 1 / v);
    double sum = 0;
    for (int k = 0; k < x; ++k) sum += value(rng);
    data.Add(x, sum / x);
  }
  return data;
}

TEST(ValueModelTest, FastLikelihoodEqualsTheSumOfIndividualOnes) {
  const GammaGammaFitData data = Simulate(kCdnow, 2000, 3);
  double sum = 0;
  for (const auto& row : data.data()) sum += GammaGammaLogLikelihood(kCdnow, row.x, row.m);
  EXPECT_NEAR(GammaGammaLogLikelihood(kCdnow, data), sum, 1e-9 * std::abs(sum));
}

TEST(ValueModelTest, RecoversTheCdnowParametersFrom20000SimulatedCustomers) {
  const GammaGammaFit fit = FitGammaGamma(Simulate(kCdnow, 20000, 11));
  ASSERT_TRUE(fit.converged);
  std::printf("recovered p %.4f q %.4f gamma %.4f (%d evaluations)\n", fit.params.p, fit.params.q,
              fit.params.gamma, fit.evaluations);
  EXPECT_NEAR(fit.params.p, kCdnow.p, 0.05 * kCdnow.p);
  EXPECT_NEAR(fit.params.q, kCdnow.q, 0.10 * kCdnow.q);
  EXPECT_NEAR(fit.params.gamma, kCdnow.gamma, 0.12 * kCdnow.gamma);
  // The population mean is recovered closer than the parameters.
  const double mean = kCdnow.p * kCdnow.gamma / (kCdnow.q - 1);
  EXPECT_NEAR(fit.params.p * fit.params.gamma / (fit.params.q - 1), mean, 0.03 * mean);
}

TEST(ValueModelTest, SkipsCustomersWithoutAValue) {
  GammaGammaFitData data;
  data.Add(0, 10);
  data.Add(2, 0);
  data.Add(2, -5);
  data.Add(2, NAN);
  EXPECT_EQ(data.customers(), 0);
  EXPECT_FALSE(FitGammaGamma(data).converged);
}

}  // namespace
}  // namespace nextbest::core
