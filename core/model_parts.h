#pragma once
// A model part: what one shard knows of the population, as counts that add
// up. A cluster's shards each hold their own customers (core/partitioning.h);
// the population's models (neighbours, repurchase profiles, category
// interest, RFM and behaviour cut points, segment sizes) and trending lists
// must still be the whole shop's. Every shard builds the part of its own
// customers, the parts travel through the engine (server/cluster_models.cc)
// and every node merges them and builds the models from the sum
// (ModelsFromPart in core/models.h).
//
// Everything a part holds merges exactly, so the models from merged parts
// equal the models one node builds over every customer:
//   - counts (customers, holders, repurchase pairs and repeats, segment
//     sizes) are integers;
//   - neighbours come from the customers' histories themselves (product
//     sequences without the customer), counted by the same code as on one
//     node; pair weights and category interest shares are summed in units
//     of 2^-32, as integers, so the order of addition cannot change them;
//   - cut points and medians come from exact multisets (ValueCounts).
// Segment sizes need the population's cut points before counting: a part
// counts them with the cut points of the last global build (one build
// behind; equal to one node's once two builds have seen the same events).
// Trending popularity is a decayed sum of doubles added in another order:
// merged shards equal one node up to rounding (relative ~1e-15, below the
// float a trending list keeps; the README states it).

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/customer_value.h"
#include "core/decision_config.h"
#include "core/neighbours.h"
#include "core/repurchase.h"
#include "core/segments.h"
#include "core/send_time.h"
#include "core/trending.h"
#include "core/types.h"
#include "core/value_counts.h"

namespace nextbest::core {

// A category interest share (0..1) as counted.
inline constexpr double kInterestUnit = 4294967296.0;

struct ModelPart {
  TimeMs built_at = 0;  // cut points, spend halves and recency count from here
  int64_t customers = 0;
  int64_t interested = 0;         // customers with a positive affinity
  std::vector<int64_t> interest;  // by category: shares summed, in kInterestUnit
  // Customers with a purchase: last purchase times (ms), orders, net spend.
  ValueCounts last_purchase, frequency, monetary;
  ValueCounts current_spend, baseline_spend;  // positive ones
  // Purchase and view histories (times zeroed unless pair_half_life_days
  // uses them): neighbours are built from the merged histories with the
  // single node's own bounded passes.
  NeighbourHistories co_purchase, co_view;
  RepurchaseCounts repurchase;

  // Segment sizes, counted with the cut points in `counted_with` (a part
  // from a shard counts with the last global ones; population 0: none yet,
  // and the sizes are 0).
  RfmThresholds counted_with;
  BehaviourThresholds counted_with_behaviour;
  std::array<int64_t, kRfmSegmentCount> rfm_sizes{};
  std::array<int64_t, kBehaviourCount> behaviour_sizes{};
  int64_t behaviour_priority = 0;
  std::vector<std::pair<std::string, int64_t>> rule_segment_sizes;  // by segment id

  // The purchase and value models' fit data, per market (BG/NBD times in
  // days, 7-day cells, at built_at).
  CustomerValueData customer_value;
  // Churn-risk bands, counted with the last global models (like the
  // segment sizes; a single node counts with its own new fit).
  std::array<int64_t, kChurnRiskCount> churn_risk_sizes{};
  // The send-time model's fit data (core/send_time.h).
  SendTimeCounts send_time;

  // Product popularity decayed to `built_at` (trending; the writer's own).
  std::vector<ProductPopularity> popularity;  // by product
  StorePopularity store_popularity;           // by store
};

// Adds `from` into `into` (indices of the same catalog). Popularity is
// decayed to the later of the two build times first.
void MergePart(ModelPart& into, const ModelPart& from, double popularity_half_life_days);

// Adds `from`'s popularity into `into`, both at their own reference times.
void MergePopularity(std::vector<ProductPopularity>& into,
                     const std::vector<ProductPopularity>& from, double half_life_days);
void MergeStorePopularity(StorePopularity& into, const StorePopularity& from,
                          double half_life_days);

}  // namespace nextbest::core
