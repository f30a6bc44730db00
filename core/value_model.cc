#include "core/value_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/optimize.h"

namespace nextbest::core {
namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

bool GammaGammaParams::valid() const {
  return p > 0 && std::isfinite(p) && q > 1 && std::isfinite(q) && gamma > 0 &&
         std::isfinite(gamma);
}

double ExpectedOrderValue(const GammaGammaParams& g, double x, double mean_value) {
  if (!g.valid() || !(x >= 0) || !std::isfinite(x)) return 0;
  if (x == 0) return g.p * g.gamma / (g.q - 1);
  // A mean of 0 or less (everything returned) counts as 0.
  const double m = std::isfinite(mean_value) ? std::max(mean_value, 0.0) : 0.0;
  return (g.gamma + x * m) * g.p / (g.p * x + g.q - 1);
}

double GammaGammaLogLikelihood(const GammaGammaParams& g, double x, double m) {
  if (!(g.p > 0 && g.q > 0 && g.gamma > 0) || !(x >= 1) || !(m > 0)) return -kInf;
  const double px = g.p * x;
  return std::lgamma(px + g.q) - std::lgamma(px) - std::lgamma(g.q) + g.q * std::log(g.gamma) +
         (px - 1) * std::log(m) + px * std::log(x) - (px + g.q) * std::log(g.gamma + x * m);
}

void GammaGammaFitData::Add(int32_t x, double mean_value, double weight) {
  if (x < 1 || !(mean_value > 0) || !std::isfinite(mean_value) || !(weight > 0)) return;
  rows_.push_back({x, mean_value, std::log(mean_value), weight});
  customers_ += weight;
}

double GammaGammaLogLikelihood(const GammaGammaParams& g, const GammaGammaFitData& data) {
  if (!(g.p > 0 && g.q > 0 && g.gamma > 0)) return -kInf;
  int32_t max_x = 0;
  for (const auto& row : data.data()) max_x = std::max(max_x, row.x);
  // Per x: lnΓ(px + q) − lnΓ(px) + px ln x.
  std::vector<double> head(max_x + 1);
  for (int32_t x = 1; x <= max_x; ++x) {
    const double px = g.p * x;
    head[x] = std::lgamma(px + g.q) - std::lgamma(px) + px * std::log(x);
  }
  const double base = -std::lgamma(g.q) + g.q * std::log(g.gamma);
  double total = 0;
  for (const auto& row : data.data()) {
    const double px = g.p * row.x;
    total += row.weight * (base + head[row.x] + (px - 1) * row.log_m -
                           (px + g.q) * std::log(g.gamma + row.x * row.m));
  }
  return total;
}

GammaGammaFit FitGammaGamma(const GammaGammaFitData& data, const GammaGammaParams* start) {
  GammaGammaFit fit;
  if (data.customers() == 0) return fit;
  double mean_m = 0;
  for (const auto& row : data.data()) mean_m += row.weight * row.m;
  mean_m /= data.customers();
  const double n = data.customers();
  auto params = [](const std::vector<double>& v) {
    return GammaGammaParams{std::exp(v[0]), std::exp(v[1]), std::exp(v[2])};
  };
  auto objective = [&](const std::vector<double>& v) {
    for (double p : v) {
      if (std::abs(p) > 25) return kInf;
    }
    return -GammaGammaLogLikelihood(params(v), data) / n;
  };
  // Start: p = q = 2 and γ so that the population mean p γ / (q − 1) is
  // the sample's mean.
  std::vector<double> from = {std::log(2.0), std::log(2.0), std::log(std::max(mean_m, 1e-6) / 2)};
  NelderMeadOptions options;
  if (start != nullptr && start->valid()) {
    from = {std::log(start->p), std::log(start->q), std::log(start->gamma)};
    options.initial_step = 0.2;
  }
  const NelderMeadResult best = NelderMead(objective, from, options);
  fit.params = params(best.x);
  fit.log_likelihood = -best.value * n;
  fit.evaluations = best.evaluations;
  fit.converged = best.converged && std::isfinite(best.value) && fit.params.valid();
  return fit;
}

}  // namespace nextbest::core
