#include "core/bandit.h"

#include <cmath>

#include "core/caps.h"
#include "core/decision_config.h"

namespace nextbest::core {

static_assert(kPosteriorSegments == kRfmSegmentCount);

namespace {

double Decay(TimeMs from, TimeMs to, double half_life_days) {
  if (to <= from || half_life_days <= 0) return 1;
  return std::exp2(-static_cast<double>(to - from) / (half_life_days * kMsPerDay));
}

uint64_t SplitMix64(uint64_t& state) { return Mix64(state += kGoldenGamma); }

double Uniform(uint64_t& state) {  // (0, 1)
  return (static_cast<double>(SplitMix64(state) >> 11) + 0.5) / static_cast<double>(1ULL << 53);
}

double Normal(uint64_t& state) {  // Box–Muller
  const double u1 = Uniform(state), u2 = Uniform(state);
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

// Gamma(shape, 1): Marsaglia & Tsang (2000); shape < 1 by boosting.
double Gamma(double shape, uint64_t& state) {
  if (shape < 1) return Gamma(shape + 1, state) * std::pow(Uniform(state), 1 / shape);
  const double d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
  for (int i = 0; i < 1000; ++i) {
    double x, v;
    do {
      x = Normal(state);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = Uniform(state);
    if (u < 1 - 0.0331 * x * x * x * x || std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) {
      return d * v;
    }
  }
  return d;  // not reached in practice
}

}  // namespace

ClickCounts ClickCounts::At(TimeMs now, double half_life_days) const {
  const double f = Decay(at, now, half_life_days);
  return {impressions * f, clicks * f, std::max(at, now)};
}

void ClickCounts::Add(bool click, TimeMs time, double half_life_days) {
  if (time >= at) {
    *this = At(time, half_life_days);
    impressions += 1;
    clicks += click ? 1 : 0;
  } else {  // a late event weighs as old as it is
    const double w = Decay(time, at, half_life_days);
    impressions += w;
    clicks += click ? w : 0;
  }
}

Beta PosteriorOf(const OfferPosterior& p, int segment, const LearningSpec& spec, TimeMs now) {
  ClickCounts c = p.overall.Load().At(now, spec.half_life_days);
  if (segment > 0 && segment < kPosteriorSegments) {
    const ClickCounts s = p.by_segment[segment].Load().At(now, spec.half_life_days);
    if (s.impressions >= spec.min_segment_impressions && s.impressions > 0) c = s;
  }
  const double clicks = std::max(0.0, std::min(c.clicks, c.impressions));
  return {spec.prior_clicks + clicks,
          spec.prior_impressions - spec.prior_clicks + (c.impressions - clicks)};
}

double SampleBeta(const Beta& b, uint64_t seed) {
  uint64_t state = seed;
  const double x = Gamma(b.alpha, state), y = Gamma(b.beta, state);
  return x + y > 0 ? x / (x + y) : b.Mean();
}

}  // namespace nextbest::core
