#pragma once
// The statistics of the experiment report, from the per-variant sums
// (core/attribution.h):
//
//   * Per-customer means (conversion = converting / exposed customers,
//     revenue per exposed customer, add-to-carts per exposed customer):
//     mean ± t(0.975, n-1) × s / sqrt(n), s² the sample variance.
//   * CTR = clicks / impressions, a ratio of two per-customer sums: its
//     interval by the delta method, Var(R) = (Var c - 2 R Cov(c,i) + R² Var i)
//     / (n mean(i)²).
//   * Uplift of a variant over the control: the difference of the means
//     (Welch: se² = s1²/n1 + s0²/n0, Welch–Satterthwaite degrees of freedom,
//     two-sided p from Student's t) and relative (diff / control mean, delta
//     method: se² = (s1²/n1)/m0² + m1² (s0²/n0)/m0⁴, normal interval).
//   * Sample-ratio mismatch: Pearson's chi-square of the exposed counts
//     against the configured weights, k-1 degrees of freedom; alarm at
//     p < 0.001 (the threshold common experimentation platforms use).
//
// Student's t and chi-square tails come from the regularized incomplete
// beta and gamma functions (continued fractions / series, in log space).

#include <cstdint>
#include <string>
#include <vector>

#include "core/attribution.h"

namespace nextbest::core::stats {

// P(T > t) for Student's t with `df` degrees of freedom (df may be fractional).
double StudentTUpper(double t, double df);
// The t with P(T <= t) = p (0 < p < 1).
double StudentTQuantile(double p, double df);
// P(X > x) for chi-square with `df` degrees of freedom.
double ChiSquareUpper(double x, double df);

struct Estimate {
  double value = 0, low = 0, high = 0;  // 95 % interval
  bool defined = false;                 // false: too little data (n < 2)
};

// Mean of a per-customer quantity from its sum and sum of squares.
Estimate Mean(double sum, double sum_sq, double n);
// CTR from per-customer impressions and clicks (delta method).
Estimate Ratio(double clicks, double impressions, double clicks_sq, double impressions_sq,
               double clicks_impressions, double n);

struct Uplift {
  Estimate absolute;  // variant - control
  Estimate relative;  // (variant - control) / control
  double p_value = 1;
  bool defined = false;
};
// Welch's comparison of two means (sums, sums of squares, counts).
Uplift Compare(double sum1, double sq1, double n1, double sum0, double sq0, double n0);

struct Srm {
  double chi_square = 0;
  double p_value = 1;
  bool alarm = false;  // p < 0.001
};
// Observed counts against expected shares (summing to 1).
Srm SampleRatioMismatch(const std::vector<int64_t>& observed, const std::vector<double>& shares);

}  // namespace nextbest::core::stats
