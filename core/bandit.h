#pragma once
// Online learning for offers: each offer's click-through rate as a Beta
// posterior over its impressions and clicks, with exponential forgetting,
// overall and per RFM segment.
//
//   weight of an event t days old = 0.5^(t / half_life_days)
//   alpha = prior_clicks + decayed clicks
//   beta  = (prior_impressions - prior_clicks) + decayed (impressions - clicks)
//
// The segment's posterior is used once it holds min_segment_impressions
// (decayed) impressions, else the offer's own. A placement reads it as the
// posterior mean (deterministic) or as a Thompson draw: a Beta sample from
// a generator seeded by the request id and the offer, so the same request
// id gets the same answer while new offers are explored and losers fade.
//
// The writer updates the posteriors as impression and click events arrive
// (storage/ingest_group.h) and stores them in the same write batch as the
// events; readers load them with relaxed atomics (a draw may see a
// posterior one event old).

#include <array>
#include <atomic>
#include <cstdint>

#include "core/types.h"

namespace nextbest::core {

struct LearningSpec;

// Decayed counts as of `at`.
struct ClickCounts {
  double impressions = 0, clicks = 0;
  TimeMs at = 0;
  // The counts carried forward to `now`.
  ClickCounts At(TimeMs now, double half_life_days) const;
  void Add(bool click, TimeMs time, double half_life_days);
};

// One posterior readable while the writer updates it.
class SharedCounts {
 public:
  ClickCounts Load() const {
    return {impressions_.load(std::memory_order_relaxed), clicks_.load(std::memory_order_relaxed),
            at_.load(std::memory_order_relaxed)};
  }
  void Store(const ClickCounts& c) {
    impressions_.store(c.impressions, std::memory_order_relaxed);
    clicks_.store(c.clicks, std::memory_order_relaxed);
    at_.store(c.at, std::memory_order_relaxed);
  }

 private:
  std::atomic<double> impressions_{0}, clicks_{0};
  std::atomic<TimeMs> at_{0};
};

inline constexpr int kPosteriorSegments = 12;  // kRfmSegmentCount (static_assert in bandit.cc)

struct OfferPosterior {
  SharedCounts overall;
  std::array<SharedCounts, kPosteriorSegments> by_segment;  // by RfmSegment value
};

struct Beta {
  double alpha = 1, beta = 1;
  double Mean() const { return alpha / (alpha + beta); }
};

// The posterior for a customer in `segment` (0: none/unknown) at `now`.
Beta PosteriorOf(const OfferPosterior& p, int segment, const LearningSpec& spec, TimeMs now);

// A Beta(alpha, beta) draw from a generator seeded by `seed` (Marsaglia &
// Tsang's gamma method on SplitMix64 uniforms): the same seed, the same draw.
double SampleBeta(const Beta& b, uint64_t seed);

}  // namespace nextbest::core
