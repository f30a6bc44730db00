#include "core/experiment_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nextbest::core::stats {
namespace {

// Continued fraction of the regularized incomplete beta (Lentz's method).
double BetaContinuedFraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::abs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 500; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::abs(del - 1) < 1e-15) break;
  }
  return h;
}

// I_x(a, b), the regularized incomplete beta function.
double IncompleteBeta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return std::exp(log_front) * BetaContinuedFraction(a, b, x) / a;
  return 1 - std::exp(log_front) * BetaContinuedFraction(b, a, 1 - x) / b;
}

// Q(a, x), the regularized upper incomplete gamma function.
double UpperGamma(double a, double x) {
  if (x <= 0) return 1;
  const double log_front = -x + a * std::log(x) - std::lgamma(a);
  if (x < a + 1) {  // series for P, then 1 - P
    double sum = 1 / a, term = sum;
    for (int n = 1; n < 1000; ++n) {
      term *= x / (a + n);
      sum += term;
      if (std::abs(term) < std::abs(sum) * 1e-16) break;
    }
    return std::max(0.0, 1 - std::exp(log_front) * sum);
  }
  constexpr double kTiny = 1e-300;  // continued fraction for Q (Lentz)
  double b = x + 1 - a, c = 1 / kTiny, d = 1 / b, h = d;
  for (int i = 1; i < 1000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::abs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::abs(del - 1) < 1e-15) break;
  }
  return std::exp(log_front) * h;
}

Estimate Around(double value, double se, double critical) {
  return {value, value - critical * se, value + critical * se, true};
}

constexpr double kZ975 = 1.959963984540054;

}  // namespace

double StudentTUpper(double t, double df) {
  if (!std::isfinite(t)) return t > 0 ? 0 : 1;
  const double tail = 0.5 * IncompleteBeta(df / 2, 0.5, df / (df + t * t));
  return t >= 0 ? tail : 1 - tail;
}

double StudentTQuantile(double p, double df) {
  double lo = -1e3, hi = 1e3;  // bisection on the monotone CDF
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (1 - StudentTUpper(mid, df) < p) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return 0.5 * (lo + hi);
}

double ChiSquareUpper(double x, double df) { return UpperGamma(df / 2, x / 2); }

Estimate Mean(double sum, double sum_sq, double n) {
  if (n < 2) return {n > 0 ? sum / n : 0, 0, 0, false};
  const double mean = sum / n;
  const double var = std::max(0.0, (sum_sq - n * mean * mean) / (n - 1));
  return Around(mean, std::sqrt(var / n), StudentTQuantile(0.975, n - 1));
}

Estimate Ratio(double clicks, double impressions, double clicks_sq, double impressions_sq,
               double clicks_impressions, double n) {
  if (n < 2 || impressions <= 0) return {0, 0, 0, false};
  const double r = clicks / impressions;
  const double mc = clicks / n, mi = impressions / n;
  const double var_c = (clicks_sq - n * mc * mc) / (n - 1);
  const double var_i = (impressions_sq - n * mi * mi) / (n - 1);
  const double cov = (clicks_impressions - n * mc * mi) / (n - 1);
  const double var_r = std::max(0.0, (var_c - 2 * r * cov + r * r * var_i) / (n * mi * mi));
  return Around(r, std::sqrt(var_r), kZ975);
}

Uplift Compare(double sum1, double sq1, double n1, double sum0, double sq0, double n0) {
  Uplift u;
  if (n1 < 2 || n0 < 2) return u;
  const double m1 = sum1 / n1, m0 = sum0 / n0;
  const double v1 = std::max(0.0, (sq1 - n1 * m1 * m1) / (n1 - 1)) / n1;
  const double v0 = std::max(0.0, (sq0 - n0 * m0 * m0) / (n0 - 1)) / n0;
  const double se = std::sqrt(v1 + v0);
  const double diff = m1 - m0;
  u.defined = true;
  if (se == 0) {
    u.absolute = {diff, diff, diff, true};
    u.p_value = diff == 0 ? 1 : 0;
  } else {
    const double df = (v1 + v0) * (v1 + v0) / (v1 * v1 / (n1 - 1) + v0 * v0 / (n0 - 1));
    u.absolute = Around(diff, se, StudentTQuantile(0.975, df));
    u.p_value = std::min(1.0, 2 * StudentTUpper(std::abs(diff) / se, df));
  }
  if (m0 != 0) {
    const double rel_se = std::sqrt(v1 / (m0 * m0) + m1 * m1 * v0 / (m0 * m0 * m0 * m0));
    u.relative = Around(diff / m0, rel_se, kZ975);
  }
  return u;
}

Srm SampleRatioMismatch(const std::vector<int64_t>& observed, const std::vector<double>& shares) {
  Srm s;
  double total = 0;
  for (int64_t o : observed) total += static_cast<double>(o);
  if (total == 0 || observed.size() < 2) return s;
  for (size_t i = 0; i < observed.size(); ++i) {
    const double expected = total * shares[i];
    if (expected <= 0) continue;
    const double d = static_cast<double>(observed[i]) - expected;
    s.chi_square += d * d / expected;
  }
  s.p_value = ChiSquareUpper(s.chi_square, static_cast<double>(observed.size() - 1));
  s.alarm = s.p_value < 0.001;
  return s;
}

}  // namespace nextbest::core::stats
