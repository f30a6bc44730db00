#include "core/optimize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace nextbest::core {
namespace {

double Finite(double v) { return std::isnan(v) ? std::numeric_limits<double>::infinity() : v; }

// One Nelder-Mead run from a simplex around `start` (standard coefficients:
// reflection 1, expansion 2, contraction 0.5, shrink 0.5).
NelderMeadResult Run(const std::function<double(const std::vector<double>&)>& f,
                     const std::vector<double>& start, const NelderMeadOptions& o, int budget) {
  const size_t n = start.size();
  std::vector<std::vector<double>> p(n + 1, start);
  std::vector<double> v(n + 1);
  int evaluations = 0;
  auto eval = [&](const std::vector<double>& x) {
    ++evaluations;
    return Finite(f(x));
  };
  for (size_t i = 0; i < n; ++i) p[i + 1][i] += o.initial_step;
  for (size_t i = 0; i <= n; ++i) v[i] = eval(p[i]);
  std::vector<size_t> order(n + 1);
  std::vector<double> centroid(n), trial(n), trial2(n);
  bool converged = false;
  while (evaluations < budget) {
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
    const size_t best = order.front(), worst = order.back(), second = order[n - 1];
    double size = 0;
    for (size_t i = 0; i <= n; ++i) {
      for (size_t k = 0; k < n; ++k) size = std::max(size, std::abs(p[i][k] - p[best][k]));
    }
    if (std::isfinite(v[worst]) &&
        v[worst] - v[best] <= o.tolerance * (std::abs(v[best]) + o.tolerance) &&
        size <= o.x_tolerance) {
      converged = true;
      break;
    }
    std::fill(centroid.begin(), centroid.end(), 0.0);
    for (size_t i = 0; i <= n; ++i) {
      if (i == worst) continue;
      for (size_t k = 0; k < n; ++k) centroid[k] += p[i][k] / n;
    }
    auto along = [&](double t, std::vector<double>& out) {
      for (size_t k = 0; k < n; ++k) out[k] = centroid[k] + t * (p[worst][k] - centroid[k]);
    };
    along(-1, trial);
    const double reflected = eval(trial);
    if (reflected < v[best]) {
      along(-2, trial2);
      const double expanded = eval(trial2);
      if (expanded < reflected) {
        p[worst] = trial2;
        v[worst] = expanded;
      } else {
        p[worst] = trial;
        v[worst] = reflected;
      }
      continue;
    }
    if (reflected < v[second]) {
      p[worst] = trial;
      v[worst] = reflected;
      continue;
    }
    // Contract: outside when the reflection improved on the worst, else inside.
    const bool outside = reflected < v[worst];
    along(outside ? -0.5 : 0.5, trial2);
    const double contracted = eval(trial2);
    if (contracted < (outside ? reflected : v[worst])) {
      p[worst] = trial2;
      v[worst] = contracted;
      continue;
    }
    for (size_t i = 0; i <= n; ++i) {  // shrink towards the best
      if (i == best) continue;
      for (size_t k = 0; k < n; ++k) p[i][k] = p[best][k] + 0.5 * (p[i][k] - p[best][k]);
      v[i] = eval(p[i]);
    }
  }
  const size_t best = std::min_element(v.begin(), v.end()) - v.begin();
  return {p[best], v[best], evaluations, converged};
}

}  // namespace

NelderMeadResult NelderMead(const std::function<double(const std::vector<double>&)>& f,
                            std::vector<double> start, const NelderMeadOptions& options) {
  NelderMeadResult result = Run(f, start, options, options.max_evaluations);
  // A converged simplex can have collapsed short of the minimum: restart
  // around the best point until a restart no longer improves it.
  for (int i = 0; i < options.restarts && result.evaluations < options.max_evaluations; ++i) {
    NelderMeadResult again =
        Run(f, result.x, options, options.max_evaluations - result.evaluations);
    again.evaluations += result.evaluations;
    const bool improved = again.value < result.value - options.tolerance * std::abs(result.value);
    if (again.value <= result.value)
      result = again;
    else
      result.evaluations = again.evaluations;
    if (!improved) break;
  }
  return result;
}

}  // namespace nextbest::core
