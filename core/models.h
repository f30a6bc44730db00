#pragma once
// Models: what is learned from the whole population, rebuilt in the
// background and published as one immutable snapshot.
//
//   - item-to-item neighbours from co-purchase ("customers who bought this
//     also bought") and co-view (products viewed in the same session), top-K
//     per product, scored by cosine similarity;
//   - new arrivals per category (newest first);
//   - RFM quintile cut points, and the size of every segment.
//
// Choice and cost: neighbours are recomputed from the customers' current
// states (their purchase histories and recently viewed lists), not counted
// per event. A build is a deterministic function of the states, so a
// restart gives the same neighbours as before it, and memory is bounded:
// `counters_per_product` space-saving counters per product while building,
// `neighbours_per_product` entries per product once published. Freshness is
// the rebuild interval (a new purchase moves the customer's own features at
// once; it moves the population's neighbours at the next build).

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "core/catalog.h"
#include "core/decision_config.h"
#include "core/features.h"
#include "core/segments.h"
#include "core/types.h"

namespace nextbest::core {

struct Neighbour {
  ProductIndex product;
  float score;  // cosine similarity, 0..1
};

// Neighbours per product, highest score first (one flat array).
class NeighbourTable {
 public:
  absl::Span<const Neighbour> For(ProductIndex p) const {
    if (p + 1 >= offsets_.size()) return {};
    return absl::MakeConstSpan(items_.data() + offsets_[p], offsets_[p + 1] - offsets_[p]);
  }
  size_t entries() const { return items_.size(); }

 private:
  friend class ModelBuilder;
  std::vector<uint32_t> offsets_;  // product_count + 1
  std::vector<Neighbour> items_;
};

struct ModelOptions {
  int neighbours_per_product = 20;
  int counters_per_product = 48;
  int min_support = 2;                      // customers sharing a pair
  int purchases_per_customer = 12;          // most recent distinct products bought
  int64_t session_gap_ms = 30 * 60 * 1000;  // views this close are one session
  int co_view_span = 3;                     // pair each view with the next N in its session
  int new_arrival_days = 30;
  int new_arrivals_per_category = 20;
};

struct Models {
  TimeMs built_at = 0;
  double build_seconds = 0;
  int64_t customers = 0;
  NeighbourTable co_purchase;
  NeighbourTable co_view;
  std::vector<std::vector<ProductIndex>> new_arrivals;  // by category
  RfmThresholds rfm;
  BehaviourThresholds behaviour;
  std::array<int64_t, kRfmSegmentCount> rfm_sizes{};
  std::array<int64_t, kBehaviourCount> behaviour_sizes{};
  int64_t behaviour_priority = 0;             // customers flagged for attention
  std::vector<std::string> rule_segment_ids;  // the config's segments at build time
  std::vector<int64_t> rule_segment_sizes;
};

// Two passes over the population: Add() every customer, Thresholds(), then
// Count() every customer again (segment sizes need the new cut points),
// then Finish(). Single-threaded; the states are only read.
class ModelBuilder {
 public:
  ModelBuilder(const ModelOptions& options, const Catalog& catalog, const DecisionConfig& config,
               TimeMs now);
  ~ModelBuilder();

  void Add(const CustomerFeatures& f);
  const RfmThresholds& Thresholds();
  void Count(const CustomerState& s, bool personal);
  std::unique_ptr<const Models> Finish(double build_seconds);

 private:
  // Products ordered by id (their indices depend on the order they were
  // first seen, which differs between processes).
  bool IdLess(ProductIndex a, ProductIndex b) const {
    return catalog_.product(a).id < catalog_.product(b).id;
  }
  struct Counter {
    ProductIndex other = kNoProduct;
    uint32_t count = 0;
    uint32_t error = 0;  // inherited from the counter it replaced
  };
  void Bump(std::vector<Counter>& table, ProductIndex a, ProductIndex b);
  void Pair(std::vector<Counter>& table, ProductIndex a, ProductIndex b) {
    Bump(table, a, b);
    Bump(table, b, a);
  }
  NeighbourTable Publish(const std::vector<Counter>& table, const std::vector<uint32_t>& support);

  const ModelOptions options_;
  const Catalog& catalog_;
  const DecisionConfig& config_;
  const TimeMs now_;
  const size_t products_;
  std::vector<Counter> co_purchase_, co_view_;
  std::vector<uint32_t> bought_by_, viewed_by_;
  std::vector<float> recency_, frequency_, monetary_;
  std::vector<float> current_spend_, baseline_spend_;
  std::unique_ptr<Models> out_;
  std::vector<ProductIndex> scratch_;
};

class CustomerIndex;

// The whole build over the live population: every customer in id order
// (so the result is a function of the customers' states alone, whatever
// order the index holds them in or the process interned products in),
// Add, Thresholds, Count, Finish. Personal data counts only for customers
// whose consent allows it (MayPersonalize). Call inside a ReadGuard on the
// index's EpochDomain; the states it reads stay valid meanwhile.
std::unique_ptr<const Models> BuildModels(const ModelOptions& options,
                                          const CustomerIndex& customers, const Catalog& catalog,
                                          const DecisionConfig& config, TimeMs now);

}  // namespace nextbest::core
