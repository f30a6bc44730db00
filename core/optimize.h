#pragma once
// Derivative-free minimization (Nelder-Mead), for the models' maximum-
// likelihood fits: a handful of parameters, a smooth objective that is
// cheap enough to evaluate a few hundred times, and no gradient at hand.
//
// The objective may return +inf (or NaN, treated as +inf) where it is not
// defined; the simplex then moves away from there. Fits optimize over the
// logarithms of positive parameters so that no bound is needed.

#include <functional>
#include <vector>

namespace nextbest::core {

struct NelderMeadOptions {
  int max_evaluations = 4000;
  // Converged when the objective's spread over the simplex is at most
  // tolerance * (|best| + tolerance) and the simplex is smaller than
  // x_tolerance in every coordinate.
  double tolerance = 1e-10;
  double x_tolerance = 1e-7;
  double initial_step = 0.5;  // of every coordinate, from the start point
  int restarts = 2;           // new simplexes around the best point, after converging
};

struct NelderMeadResult {
  std::vector<double> x;
  double value = 0;
  int evaluations = 0;
  bool converged = false;
};

NelderMeadResult NelderMead(const std::function<double(const std::vector<double>&)>& f,
                            std::vector<double> start, const NelderMeadOptions& options = {});

}  // namespace nextbest::core
