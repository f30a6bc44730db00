#pragma once
// The purchase process of each customer: BG/NBD (Fader, Hardie & Lee 2005,
// "Counting your customers the easy way").
//
// While alive, a customer buys as a Poisson process with rate λ; after
// every repeat purchase they drop out for good with probability p. Across
// customers λ ~ Gamma(r, α) and p ~ Beta(a, b). One customer is summed up
// by three figures in one time unit (nextbest uses days):
//   x    repeat purchases (orders after the first),
//   t_x  time of the last purchase, counted from the first,
//   T    time from the first purchase to now.
// From the population's (r, α, a, b), fitted by maximum likelihood
// (FitBgNbd), come each customer's P(alive) and expected purchases in the
// next t, in closed form (P(alive)) or by a short series (expectation).
//
// Every function works in the log domain where the textbook forms
// overflow (large x, long T, the Gauss hypergeometric function of the
// expectation), so none returns NaN or infinity for finite, valid input.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nextbest::core {

struct BgNbdParams {
  double r = 0, alpha = 0, a = 0, b = 0;
  // All four positive and finite: a fitted (or given) model.
  bool valid() const;
};

// ln L(r, α, a, b | x, t_x, T), the individual log-likelihood (eq. 6 of the
// paper, in log-sum-exp form).
double BgNbdLogLikelihood(const BgNbdParams& m, double x, double t_x, double T);

// P(alive | x, t_x, T) = 1 / (1 + [x > 0] · a / (b + x − 1) · ((α + T) / (α + t_x))^(r + x)).
double ProbabilityAlive(const BgNbdParams& m, double x, double t_x, double T);

// E[purchases in (T, T + t] | x, t_x, T] (eq. 10 of the paper), with its
// 2F1(r + x, b + x; a + b + x − 1; z) taken through Euler's transformation
// to 2F1(a + b − 1 − r, a − 1; a + b + x − 1; z), whose terms do not grow
// with x, and summed to a relative 1e-10 (z = t / (α + T + t); the series
// needs more terms as z nears 1: a brand-new customer and a long horizon).
// Where p's posterior Beta(a, b + x) is narrow (relative variance ≤ 10^-3:
// a in the hundreds or more, when the series would need ~a / (1 − z)
// terms), E[(1 − ((α + T) / (α + T + p t))^(r + x)) / p] · P(alive) over it
// by the two-point rule at its mean ± sd instead (error ~10^-6).
double ExpectedPurchases(const BgNbdParams& m, double x, double t_x, double T, double t);

// Expected purchases in (T, T + H], H = months · 30 days, each discounted
// continuously at (1 + monthly_discount) per 30 days: ∫_0^H e^(−δs) dE(s),
// δ = ln(1 + monthly_discount) / 30, taken as e^(−δH) E(H) + δ ∫ e^(−δs) E(s)
// ds with a 3-point Gauss-Legendre integral (within 0.3 % of the exact
// one; four evaluations of the series). Times in days.
double DiscountedExpectedPurchases(const BgNbdParams& m, double x, double t_x, double T, int months,
                                   double monthly_discount);

// The data of a fit: customers counted per (x, t_x, T) in whole time units
// (days), so the likelihood is evaluated once per distinct cell.
class BgNbdFitData {
 public:
  void Add(int32_t x, int32_t t_x, int32_t T, double weight = 1);
  // Cells sorted and merged; Add() after it starts a new unsorted tail.
  void Compact();
  double customers() const { return customers_; }
  size_t cells() const { return cells_.size(); }

  struct Cell {
    int32_t x, t_x, T;
    double weight;
  };
  const std::vector<Cell>& data() const { return cells_; }

 private:
  std::vector<Cell> cells_;
  double customers_ = 0;
};

// Σ weight · ln L over the data, with per-evaluation tables of ln(α + d)
// and of the terms that depend on x alone: a few nanoseconds per cell.
double BgNbdLogLikelihood(const BgNbdParams& m, const BgNbdFitData& data);

struct BgNbdFit {
  BgNbdParams params;
  double log_likelihood = 0;
  int evaluations = 0;
  bool converged = false;
};

// Maximum likelihood over log-parameters (Nelder-Mead, core/optimize.h).
// Where dropout is homogeneous the likelihood keeps rising as a, b → ∞;
// the fit stops at a + b = 10^5, a model as good as the limit.
// The data must hold at least one customer with a repeat purchase; the
// fit is otherwise not identified and `converged` is false.
// `start`: a fit of similar data (a market's from the population's):
// fewer evaluations to the same maximum.
BgNbdFit FitBgNbd(BgNbdFitData data, const BgNbdParams* start = nullptr);

}  // namespace nextbest::core
