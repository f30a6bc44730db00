#include "core/purchase_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <tuple>
#include <vector>

#include "core/optimize.h"

namespace nextbest::core {
namespace {

// The CDNOW estimates (Fader, Hardie & Lee 2005), time in weeks.
const BgNbdParams kCdnow{0.242593, 4.413532, 0.792886, 2.425752};

TEST(PurchaseModelTest, PublishedExpectationForTheCdnowCustomer) {
  // The paper's worked example: x = 2, t_x = 30.43, T = 38.86 expects 1.226
  // purchases in the next 39 weeks.
  EXPECT_NEAR(ExpectedPurchases(kCdnow, 2, 30.43, 38.86, 39), 1.226, 0.0005);
}

// P(alive) the plain way, with pow (which overflows to inf for extreme
// inputs: 1 / (1 + inf) = 0, the right limit).
double PlainPAlive(const BgNbdParams& m, double x, double t_x, double T) {
  if (x == 0) return 1;
  return 1 / (1 + m.a / (m.b + x - 1) * std::pow((m.alpha + T) / (m.alpha + t_x), m.r + x));
}

TEST(PurchaseModelTest, ProbabilityAliveMatchesTheClosedFormOverAGrid) {
  for (double x : {0.0, 1.0, 2.0, 5.0, 20.0, 200.0}) {
    for (double T : {0.0, 0.5, 10.0, 38.86, 100.0, 1000.0}) {
      for (double share : {0.0, 0.3, 0.9, 1.0}) {
        const double t_x = x == 0 ? 0 : share * T;
        const double p = ProbabilityAlive(kCdnow, x, t_x, T);
        EXPECT_NEAR(p, PlainPAlive(kCdnow, x, t_x, T), 1e-12) << x << " " << t_x << " " << T;
        EXPECT_GE(p, 0);
        EXPECT_LE(p, 1);
      }
    }
  }
  // Hand-computed: bought at the very end (t_x = T) leaves only the chance
  // of dropping out right after the last purchase: 1 / (1 + a / (b + x − 1)).
  EXPECT_NEAR(ProbabilityAlive(kCdnow, 3, 20, 20), 1 / (1 + 0.792886 / 4.425752), 1e-12);
  EXPECT_NEAR(ProbabilityAlive(kCdnow, 1, 0, 0), 1 / (1 + 0.792886 / 2.425752), 1e-12);
  // 200 purchases, the last 1000 weeks ago: as good as gone, not NaN.
  EXPECT_LT(ProbabilityAlive(kCdnow, 200, 0, 1000), 1e-100);
  EXPECT_EQ(ProbabilityAlive(kCdnow, 0, 0, 1000), 1);  // no repeat: never seen to drop out
}

// An independent route to the expectation: the posterior of an alive
// customer is λ ~ Gamma(r + x, α + T), p ~ Beta(a, b + x), and they buy
// (1 − e^(−λ p t)) / p on average in t; integrating λ out leaves
//   E = P(alive) · E_p[(1 − (1 + p t / (α + T))^−(r+x)) / p],
// integrated here over s = p^a (which removes p^(a−1)) by Simpson's rule.
// (Checked once against mpmath's hyp2f1 and quad at 40 digits too.)
double IntegratedExpectation(const BgNbdParams& m, double x, double t_x, double T, double t) {
  const double beta = m.b + x;
  const double log_norm = std::lgamma(m.a) + std::lgamma(beta) - std::lgamma(m.a + beta);
  auto f = [&](double s) {
    if (s <= 0) return (m.r + x) * t / (m.alpha + T) * std::exp(-log_norm) / m.a;
    const double p = std::pow(s, 1 / m.a);
    if (p >= 1) return 0.0;
    const double g = -std::expm1(-(m.r + x) * std::log1p(p * t / (m.alpha + T))) / p;
    return g * std::exp((beta - 1) * std::log1p(-p) - log_norm) / m.a;
  };
  // Simpson on geometric panels [10^-(k+1), 10^-k] and [0, 1e-16]: the
  // posterior's mass can sit at s ≈ 0 (small p, large a).
  auto simpson = [&](double lo, double hi) {
    const int n = 2000;
    const double h = (hi - lo) / n;
    double sum = f(lo) + f(hi);
    for (int i = 1; i < n; ++i) sum += (i % 2 ? 4 : 2) * f(lo + i * h);
    return sum * h / 3;
  };
  double total = simpson(0, 1e-16);
  for (int k = 0; k < 16; ++k) total += simpson(std::pow(10.0, -(k + 1)), std::pow(10.0, -k));
  return total * ProbabilityAlive(m, x, t_x, T);
}

TEST(PurchaseModelTest, ExpectationMatchesTheIntegratedPosterior) {
  // b + x >= 1 keeps the integrand's end at p = 1 smooth for Simpson.
  const std::vector<BgNbdParams> models = {
      kCdnow, {0.5, 20, 1.0, 3}, {2, 10, 3.5, 6}, {1, 50, 0.3, 1.2}};
  for (const auto& m : models) {
    for (double x : {0.0, 1.0, 4.0, 30.0}) {
      for (double T : {0.0, 5.0, 60.0, 300.0}) {
        for (double t : {1.0, 30.0, 365.0}) {
          const double t_x = x == 0 ? 0 : T * 0.7;
          const double want = IntegratedExpectation(m, x, t_x, T, t);
          EXPECT_NEAR(ExpectedPurchases(m, x, t_x, T, t), want, 1e-5 * (1 + want))
              << m.r << " " << m.alpha << " " << m.a << " " << m.b << " x=" << x << " T=" << T
              << " t=" << t;
        }
      }
    }
  }
}

TEST(PurchaseModelTest, ExpectationIsContinuousThroughAEqualsOne) {
  for (double x : {0.0, 3.0}) {
    const double at = ExpectedPurchases({0.7, 12, 1.0, 2}, x, x ? 20 : 0, 40, 90);
    const double below = ExpectedPurchases({0.7, 12, 1.0 - 1e-9, 2}, x, x ? 20 : 0, 40, 90);
    const double above = ExpectedPurchases({0.7, 12, 1.0 + 1e-9, 2}, x, x ? 20 : 0, 40, 90);
    EXPECT_GT(at, 0);
    EXPECT_NEAR(below, at, 1e-7 * at);
    EXPECT_NEAR(above, at, 1e-7 * at);
  }
}

TEST(PurchaseModelTest, NoNanOrInfinityAnywhere) {
  std::mt19937_64 rng(17);
  auto log_uniform = [&](double lo, double hi) {
    return std::exp(std::uniform_real_distribution<double>(std::log(lo), std::log(hi))(rng));
  };
  std::uniform_real_distribution<double> unit(0, 1);
  for (int i = 0; i < 20000; ++i) {
    const BgNbdParams m{log_uniform(1e-3, 1e3), log_uniform(1e-3, 1e4), log_uniform(1e-3, 1e3),
                        log_uniform(1e-3, 1e3)};
    const double x = std::floor(log_uniform(1, 1e4)) - 1;
    const double T = unit(rng) < 0.1 ? 0 : log_uniform(1e-3, 1e4);
    const double t_x = x == 0 ? 0 : T * unit(rng);
    const double t = log_uniform(1e-3, 1e4);
    const double p = ProbabilityAlive(m, x, t_x, T);
    const double e = ExpectedPurchases(m, x, t_x, T, t);
    const double ll = BgNbdLogLikelihood(m, x, t_x, T);
    ASSERT_TRUE(std::isfinite(p) && p >= 0 && p <= 1) << i;
    ASSERT_TRUE(std::isfinite(e) && e >= 0) << i << " " << e;
    ASSERT_TRUE(std::isfinite(ll) || ll == -INFINITY) << i;
    ASSERT_FALSE(std::isnan(ll)) << i;
  }
}

TEST(PurchaseModelTest, NarrowDropoutTakesTheTwoPointRule) {
  // Eq. 10 evaluated independently at 1200 digits (mpmath hyp2f1), x = 3,
  // t_x = T = 0, t = 365, r = 0.8, α = 25: at a = 200, b = 800 through the
  // series (its terms near e^700 before they fall, summed scaled); at
  // a = 800, b = 3200 and a = 2000, b = 8000 through the two-point rule.
  EXPECT_NEAR(ExpectedPurchases({0.8, 25, 200, 800}, 3, 0, 0, 365), 4.006801029651458, 1e-9);
  EXPECT_NEAR(ExpectedPurchases({0.8, 25, 800, 3200}, 3, 0, 0, 365), 3.9849804986996404, 1e-5);
  EXPECT_NEAR(ExpectedPurchases({0.8, 25, 2000, 8000}, 3, 0, 0, 365), 3.9806328994698448, 1e-6);
  // Either side of the switch (relative variance b' / (a (a + b' + 1)) = 10^-3,
  // b' = b + x) alike.
  const double b = 3200, b_x = b + 3;
  const double a0 = (-(b_x + 1) + std::sqrt((b_x + 1) * (b_x + 1) + 4000 * b_x)) / 2;
  for (const double T : {0.0, 30.0, 400.0}) {
    for (const double t : {30.0, 365.0, 3650.0}) {
      const double series = ExpectedPurchases({0.8, 25, a0 * (1 - 1e-9), b}, 3, T / 2, T, t);
      const double narrow = ExpectedPurchases({0.8, 25, a0 * (1 + 1e-9), b}, 3, T / 2, T, t);
      EXPECT_NEAR(series, narrow, 1e-5 * narrow) << "T " << T << " t " << t;
    }
  }
}

TEST(PurchaseModelTest, LongerHorizonsExpectMoreAndDiscountingLess) {
  const double e30 = ExpectedPurchases(kCdnow, 2, 30, 39, 30);
  const double e90 = ExpectedPurchases(kCdnow, 2, 30, 39, 90);
  EXPECT_LT(e30, e90);
  const BgNbdParams days{0.242593, 4.413532 * 7, 0.792886, 2.425752};
  const double plain = DiscountedExpectedPurchases(days, 2, 210, 270, 12, 0);
  EXPECT_NEAR(plain, ExpectedPurchases(days, 2, 210, 270, 360), 1e-12);
  EXPECT_LT(DiscountedExpectedPurchases(days, 2, 210, 270, 12, 0.01), plain);
  // Against the integral ∫ e^(−δs) dE(s) summed over 3600 steps, for an old,
  // a young and a brand-new customer: within 0.3 %.
  const double delta = std::log(1.01) / 30;
  for (const auto& [x, t_x, T] :
       {std::tuple{2.0, 210.0, 270.0}, std::tuple{5.0, 20.0, 30.0}, std::tuple{0.0, 0.0, 0.0}}) {
    double fine = 0, before = 0;
    for (int k = 1; k <= 3600; ++k) {
      const double s = 0.1 * k, upto = ExpectedPurchases(days, x, t_x, T, s);
      fine += (upto - before) * std::exp(-delta * (s - 0.05));
      before = upto;
    }
    EXPECT_NEAR(DiscountedExpectedPurchases(days, x, t_x, T, 12, 0.01), fine, 3e-3 * fine)
        << x << " " << t_x << " " << T;
  }
}

// Customers from the BG/NBD process itself: the first purchase at 0, then
// Poisson(λ) purchases until T, dropping out after each with probability p.
BgNbdFitData Simulate(const BgNbdParams& m, int n, uint64_t seed, double T_min, double T_max) {
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> lambda(m.r, 1 / m.alpha);
  std::gamma_distribution<double> ga(m.a, 1), gb(m.b, 1);
  std::uniform_real_distribution<double> unit(0, 1);
  BgNbdFitData data;
  for (int i = 0; i < n; ++i) {
    const double l = lambda(rng), u = ga(rng), v = gb(rng), p = u / (u + v);
    const double T = T_min + (T_max - T_min) * unit(rng);
    double t = 0, t_x = 0;
    int x = 0;
    while (true) {
      t += std::exponential_distribution<double>(l)(rng);
      if (t > T) break;
      ++x;
      t_x = t;
      if (unit(rng) < p) break;
    }
    data.Add(x, static_cast<int32_t>(std::floor(t_x)), static_cast<int32_t>(std::floor(T)));
  }
  return data;
}

TEST(PurchaseModelTest, FastLikelihoodEqualsTheSumOfIndividualOnes) {
  const BgNbdParams days{0.242593, 4.413532 * 7, 0.792886, 2.425752};
  BgNbdFitData data = Simulate(days, 3000, 5, 189, 273);
  double sum = 0;
  for (const auto& c : data.data()) sum += c.weight * BgNbdLogLikelihood(days, c.x, c.t_x, c.T);
  EXPECT_NEAR(BgNbdLogLikelihood(days, data), sum, 1e-9 * std::abs(sum));
  data.Compact();
  EXPECT_LT(data.cells(), 3000u);
  EXPECT_NEAR(BgNbdLogLikelihood(days, data), sum, 1e-9 * std::abs(sum));
}

TEST(PurchaseModelTest, RecoversTheCdnowParametersFrom20000SimulatedCustomers) {
  // Recovered within 5 % (r), 8 % (α), 15 % (a), 20 % (b); seen: 1.5, 1.8, 0.9, 0.4 %.
  // CDNOW's cohort joined over 12 weeks and was watched for 39: T between
  // 27 and 39 weeks, here in whole days (α scales by 7, r, a, b do not).
  const BgNbdParams days{0.242593, 4.413532 * 7, 0.792886, 2.425752};
  const BgNbdFit fit = FitBgNbd(Simulate(days, 20000, 42, 27 * 7, 39 * 7));
  ASSERT_TRUE(fit.converged);
  std::printf("recovered r %.4f alpha %.3f a %.4f b %.4f (%d evaluations)\n", fit.params.r,
              fit.params.alpha, fit.params.a, fit.params.b, fit.evaluations);
  EXPECT_NEAR(fit.params.r, days.r, 0.05 * days.r);
  EXPECT_NEAR(fit.params.alpha, days.alpha, 0.08 * days.alpha);
  EXPECT_NEAR(fit.params.a, days.a, 0.15 * days.a);
  EXPECT_NEAR(fit.params.b, days.b, 0.20 * days.b);
  // The fit is the maximum: the truth is not more likely.
  const BgNbdFitData again = Simulate(days, 20000, 42, 27 * 7, 39 * 7);
  EXPECT_GE(BgNbdLogLikelihood(fit.params, again), BgNbdLogLikelihood(days, again));
}

TEST(PurchaseModelTest, FitWithoutRepeatPurchasesDoesNotConverge) {
  BgNbdFitData data;
  for (int i = 0; i < 100; ++i) data.Add(0, 0, 10 + i);
  EXPECT_FALSE(FitBgNbd(data).converged);
}

TEST(OptimizeTest, NelderMeadFindsTheRosenbrockMinimum) {
  auto rosenbrock = [](const std::vector<double>& v) {
    return 100 * std::pow(v[1] - v[0] * v[0], 2) + std::pow(1 - v[0], 2);
  };
  const NelderMeadResult r = NelderMead(rosenbrock, {-1.2, 1.0});
  EXPECT_TRUE(r.converged);
  EXPECT_NEAR(r.x[0], 1, 1e-5);
  EXPECT_NEAR(r.x[1], 1, 1e-5);
}

TEST(PurchaseModelTest, EveryoneDroppingOutAlikeFitsANarrowBeta) {
  // p = 0.2 for every customer (Beta(2·10^4, 8·10^4): sd 0.0013): a and b
  // grow together (up to the fit's wall at a + b = 10^5), their ratio
  // stays at p.
  const BgNbdFit fit = FitBgNbd(Simulate({1.5, 15, 2e4, 8e4}, 5000, 3, 30, 330));
  std::printf("homogeneous dropout: r %.3f alpha %.2f a %.1f b %.1f (%d evaluations)\n",
              fit.params.r, fit.params.alpha, fit.params.a, fit.params.b, fit.evaluations);
  ASSERT_TRUE(fit.converged);
  EXPECT_GT(fit.params.a + fit.params.b, 1e3);
  EXPECT_NEAR(fit.params.a / (fit.params.a + fit.params.b), 0.2, 0.03);
  EXPECT_NEAR(fit.params.r / fit.params.alpha, 0.1, 0.015);
}

}  // namespace
}  // namespace nextbest::core
