#include "core/purchase_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "core/optimize.h"

namespace nextbest::core {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Above this a + b the dropout probability is the same for everyone to
// within a few per mille (sd of p ≈ √(p (1 − p) / (a + b))): the fit stops
// there rather than walk the likelihood's ridge towards a, b → ∞.
constexpr double kMaxDropoutConcentration = 1e5;
// The expectation averages over p's posterior in closed form once its
// relative variance is at most this (see ExpectedPurchases).
constexpr double kNarrowDropout = 1e-3;

// ln(e^u + e^v) without overflow.
double LogAddExp(double u, double v) {
  const double hi = std::max(u, v), lo = std::min(u, v);
  if (hi == -kInf) return -kInf;
  return hi + std::log1p(std::exp(lo - hi));
}

// 1 / (1 + e^s) without overflow.
double InverseOnePlusExp(double s) {
  if (s > 0) {
    const double e = std::exp(-s);
    return e / (1 + e);
  }
  return 1 / (1 + std::exp(s));
}

bool ValidHistory(double x, double t_x, double T) {
  return std::isfinite(x) && std::isfinite(T) && x >= 0 && t_x >= 0 && t_x <= T;
}

// ln K for P(alive) = 1 / (1 + K), x > 0.
double LogOddsDead(const BgNbdParams& m, double x, double t_x, double T) {
  return std::log(m.a) - std::log(m.b + x - 1) +
         (m.r + x) * (std::log(m.alpha + T) - std::log(m.alpha + t_x));
}

}  // namespace

bool BgNbdParams::valid() const {
  for (double v : {r, alpha, a, b}) {
    if (!(v > 0) || !std::isfinite(v)) return false;
  }
  return true;
}

double BgNbdLogLikelihood(const BgNbdParams& m, double x, double t_x, double T) {
  if (!m.valid() || !ValidHistory(x, t_x, T)) return -kInf;
  const double head = std::lgamma(m.r + x) - std::lgamma(m.r) + m.r * std::log(m.alpha) +
                      std::lgamma(m.a + m.b) + std::lgamma(m.b + x) - std::lgamma(m.b) -
                      std::lgamma(m.a + m.b + x);
  const double stays = -(m.r + x) * std::log(m.alpha + T);
  if (x == 0) return head + stays;
  const double left = std::log(m.a) - std::log(m.b + x - 1) - (m.r + x) * std::log(m.alpha + t_x);
  return head + LogAddExp(stays, left);
}

double ProbabilityAlive(const BgNbdParams& m, double x, double t_x, double T) {
  if (!m.valid() || !ValidHistory(x, t_x, T)) return 0;
  if (x == 0) return 1;
  return InverseOnePlusExp(LogOddsDead(m, x, t_x, T));
}

namespace {

// What an alive customer buys in (T, T + t]: eq. 10 without its P(alive).
double AlivePurchases(const BgNbdParams& m, double x, double T, double t) {
  // Eq. 10: (a + b + x − 1) / (a − 1) · [1 − ((α + T) / (α + T + t))^(r + x) ·
  // 2F1(r + x, b + x; a + b + x − 1; z)] · P(alive), z = t / (α + T + t).
  // Euler: 2F1(r + x, b + x; C; z) = (1 − z)^(a − 1 − r − x) 2F1(A, B; C; z)
  // with A = a + b − 1 − r, B = a − 1 = ε, C = a + b + x − 1, so the bracket
  // is 1 − (1 − z)^ε F, F = 1 + Σ_{k≥1} terms, each a multiple of ε. Written
  // as −C / ε · [expm1(ε L) + (1 − z)^ε (F − 1)], L = ln(1 − z), every part
  // divided by ε stays exact as a → 1 (and is its limit at a = 1).
  const double L = std::log(m.alpha + T) - std::log(m.alpha + T + t);  // ln(1 − z), < 0
  const double beta_a = m.a, beta_b = m.b + x;  // p's posterior: Beta(a, b + x)
  const double rel_var = beta_b / (beta_a * (beta_a + beta_b + 1));
  if (rel_var <= kNarrowDropout) {
    // An alive customer with rate λ and dropout p buys (1 − e^(−λ p t)) / p
    // before dropping out; over λ's posterior Gamma(r + x, α + T) that is
    // f(p) = (1 − ((α + T) / (α + T + p t))^(r + x)) / p. Over a narrow p,
    // the two-point rule at its mean ± sd (exact for cubics in p; error of
    // the order of rel_var²) — where the series would need ~a / (1 − z)
    // terms.
    auto f = [&](double p) {
      return -std::expm1((m.r + x) * (std::log(m.alpha + T) - std::log(m.alpha + T + p * t))) / p;
    };
    const double mean = beta_a / (beta_a + beta_b), sd = mean * std::sqrt(rel_var);
    return 0.5 * (f(mean - sd) + f(mean + sd));
  }
  const double A = m.a + m.b - 1 - m.r, eps = m.a - 1, C = m.a + m.b + x - 1;
  const double z = -std::expm1(L);
  // H = C · (F − 1) / ε = Σ_{k≥1} A (A+1)_(k−1) (ε+1)_(k−1) / ((C+1)_(k−1) k!) z^k:
  // no division by C, so C near 0 (x = 0, a + b near 1) is fine too.
  // For a well above 1 and z near 1 the terms grow like (1 − z)^−ε before
  // they fall: summed scaled by e^−shift, and (1 − z)^ε H taken as
  // e^(εL + shift) · sum, which is of the order of the answer.
  double term = A * z, sum = 0, shift = 0;
  const double tail_factor = 1 / std::max(1 - z, 1e-300);
  for (int k = 1; k < 2'000'000; ++k) {
    sum += term;
    term *= (A + k) * (eps + k) / ((C + k) * (k + 1)) * z;
    if (std::abs(term) * tail_factor <= 1e-12 * std::abs(sum) || term == 0) break;
    if (std::abs(sum) > 1e200) {
      sum *= 1e-200, term *= 1e-200;
      shift += 200 * std::log(10.0);
    }
    if (!std::isfinite(sum)) break;
  }
  const double expm1_over_eps = eps == 0 ? L : std::expm1(eps * L) / eps;
  const double alive_purchases = -(C * expm1_over_eps + std::exp(eps * L + shift) * sum);
  // Bounded by what an alive customer who never drops out buys on average:
  // (r + x) / (α + T) · t. Outside [0, that], or not finite, the series lost
  // its digits (a far above 1 with z near 1); the bound is then the answer.
  const double bound = (m.r + x) / (m.alpha + T) * t;
  return std::isfinite(alive_purchases) ? std::clamp(alive_purchases, 0.0, bound) : bound;
}

}  // namespace

double ExpectedPurchases(const BgNbdParams& m, double x, double t_x, double T, double t) {
  if (!m.valid() || !ValidHistory(x, t_x, T) || !(t > 0) || !std::isfinite(t)) return 0;
  return AlivePurchases(m, x, T, t) * ProbabilityAlive(m, x, t_x, T);
}

double DiscountedExpectedPurchases(const BgNbdParams& m, double x, double t_x, double T, int months,
                                   double monthly_discount) {
  if (!m.valid() || !ValidHistory(x, t_x, T) || months <= 0 || !(monthly_discount >= 0)) return 0;
  // ∫_0^H e^(−δs) dE(s) = e^(−δH) E(H) + δ ∫_0^H e^(−δs) E(s) ds (by parts),
  // the integral by 3-point Gauss-Legendre: E is smooth and concave.
  const double H = 30.0 * months, delta = std::log1p(monthly_discount) / 30;
  constexpr double kNodes[3] = {-0.7745966692414834, 0, 0.7745966692414834};
  constexpr double kWeights[3] = {5.0 / 9, 8.0 / 9, 5.0 / 9};
  double integral = 0;
  if (delta > 0) {
    for (int i = 0; i < 3; ++i) {
      const double s = (kNodes[i] + 1) * H / 2;
      integral += kWeights[i] * std::exp(-delta * s) * AlivePurchases(m, x, T, s);
    }
    integral *= H / 2;
  }
  const double alive = std::exp(-delta * H) * AlivePurchases(m, x, T, H) + delta * integral;
  return alive * ProbabilityAlive(m, x, t_x, T);
}

void BgNbdFitData::Add(int32_t x, int32_t t_x, int32_t T, double weight) {
  if (x < 0 || t_x < 0 || T < t_x || !(weight > 0)) return;
  cells_.push_back({x, t_x, T, weight});
  customers_ += weight;
}

void BgNbdFitData::Compact() {
  auto key = [](const Cell& c) { return std::tie(c.x, c.t_x, c.T); };
  std::sort(cells_.begin(), cells_.end(),
            [&](const Cell& l, const Cell& r) { return key(l) < key(r); });
  size_t out = 0;
  for (size_t i = 0; i < cells_.size(); ++i) {
    if (out > 0 && key(cells_[out - 1]) == key(cells_[i])) {
      cells_[out - 1].weight += cells_[i].weight;
    } else {
      cells_[out++] = cells_[i];
    }
  }
  cells_.resize(out);
}

double BgNbdLogLikelihood(const BgNbdParams& m, const BgNbdFitData& data) {
  if (!m.valid()) return -kInf;
  int32_t max_x = 0, max_T = 0;
  for (const auto& c : data.data()) {
    max_x = std::max(max_x, c.x);
    max_T = std::max(max_T, c.T);
  }
  std::vector<double> log_alpha_plus(max_T + 1);
  for (int32_t d = 0; d <= max_T; ++d) log_alpha_plus[d] = std::log(m.alpha + d);
  // Per x: the head of the log-likelihood and ln(a / (b + x − 1)).
  std::vector<double> head(max_x + 1), left(max_x + 1);
  const double base =
      -std::lgamma(m.r) + m.r * std::log(m.alpha) + std::lgamma(m.a + m.b) - std::lgamma(m.b);
  for (int32_t x = 0; x <= max_x; ++x) {
    head[x] = base + std::lgamma(m.r + x) + std::lgamma(m.b + x) - std::lgamma(m.a + m.b + x);
    left[x] = x == 0 ? -kInf : std::log(m.a) - std::log(m.b + x - 1);
  }
  double total = 0;
  for (const auto& c : data.data()) {
    const double rx = m.r + c.x;
    const double stays = -rx * log_alpha_plus[c.T];
    const double ll = c.x == 0 ? stays : LogAddExp(stays, left[c.x] - rx * log_alpha_plus[c.t_x]);
    total += c.weight * (head[c.x] + ll);
  }
  return total;
}

BgNbdFit FitBgNbd(BgNbdFitData data, const BgNbdParams* start) {
  data.Compact();
  BgNbdFit fit;
  double repeat = 0, mean_x = 0, mean_T = 0;
  for (const auto& c : data.data()) {
    if (c.x > 0) repeat += c.weight;
    mean_x += c.weight * c.x;
    mean_T += c.weight * c.T;
  }
  if (repeat == 0 || data.customers() == 0) return fit;
  mean_x /= data.customers();
  mean_T /= data.customers();
  // Start: r = 1, α from the mean rate (x / T ≈ r / α), a = b = 1.
  const double alpha0 = std::max(1.0, mean_T / std::max(mean_x, 0.01));
  const double n = data.customers();
  auto params = [](const std::vector<double>& v) {
    return BgNbdParams{std::exp(v[0]), std::exp(v[1]), std::exp(v[2]), std::exp(v[3])};
  };
  auto objective = [&](const std::vector<double>& v) {
    for (double p : v) {
      if (std::abs(p) > 20) return kInf;  // e^±20: far outside any sensible model
    }
    const BgNbdParams m = params(v);
    // Everyone's dropout alike: the likelihood rises towards a, b → ∞ along
    // a ridge; the fit stops at a wall instead of walking it for ever.
    if (m.a + m.b > kMaxDropoutConcentration) return kInf;
    return -BgNbdLogLikelihood(m, data) / n;
  };
  std::vector<double> from = {0.0, std::log(alpha0), 0.0, 0.0};
  NelderMeadOptions options;
  if (start != nullptr && start->valid()) {
    from = {std::log(start->r), std::log(start->alpha), std::log(start->a), std::log(start->b)};
    options.initial_step = 0.2;
  }
  const NelderMeadResult best = NelderMead(objective, from, options);
  fit.params = params(best.x);
  fit.log_likelihood = -best.value * n;
  fit.evaluations = best.evaluations;
  fit.converged = best.converged && std::isfinite(best.value);
  return fit;
}

}  // namespace nextbest::core
