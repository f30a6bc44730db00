#pragma once
// What a customer's orders are worth: the Gamma-Gamma model of monetary
// value (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value").
//
// A customer's order values are Gamma(p, ν) around their own mean p / ν;
// across customers ν ~ Gamma(q, γ). Given x orders with mean value m, the
// expected value of their next order shrinks m towards the population's
// mean p γ / (q − 1):
//   E[M | x, m] = (γ + x m) p / (p x + q − 1).
// (p, q, γ) are fitted by maximum likelihood over the customers with at
// least two orders (FitGammaGamma). The model assumes order value does not
// depend on how often a customer buys; nextbest's mean is net of returns
// and over every order (the first included).

#include <cstdint>
#include <vector>

namespace nextbest::core {

struct GammaGammaParams {
  double p = 0, q = 0, gamma = 0;
  // All positive and finite, and q > 1 (the population mean exists).
  bool valid() const;
};

// E[M | x, m]; the population's mean p γ / (q − 1) for x = 0; m below 0
// (returns above purchases) counts as 0. 0 when the model is not valid.
double ExpectedOrderValue(const GammaGammaParams& g, double x, double mean_value);

// ln f(m | p, q, γ, x), the density of a customer's mean order value:
//   lnΓ(px + q) − lnΓ(px) − lnΓ(q) + q ln γ + (px − 1) ln m + px ln x
//   − (px + q) ln(γ + x m).
double GammaGammaLogLikelihood(const GammaGammaParams& g, double x, double mean_value);

class GammaGammaFitData {
 public:
  // A customer with x >= 1 orders of mean value m > 0 (others are skipped).
  void Add(int32_t x, double mean_value, double weight = 1);
  double customers() const { return customers_; }

  struct Row {
    int32_t x;
    double m, log_m, weight;
  };
  const std::vector<Row>& data() const { return rows_; }

 private:
  std::vector<Row> rows_;
  double customers_ = 0;
};

// Σ weight · ln f over the data (lnΓ per distinct x, one ln per row).
double GammaGammaLogLikelihood(const GammaGammaParams& g, const GammaGammaFitData& data);

struct GammaGammaFit {
  GammaGammaParams params;
  double log_likelihood = 0;
  int evaluations = 0;
  bool converged = false;  // and q > 1
};

// `start` as for FitBgNbd.
GammaGammaFit FitGammaGamma(const GammaGammaFitData& data, const GammaGammaParams* start = nullptr);

}  // namespace nextbest::core
