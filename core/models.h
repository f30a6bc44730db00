#pragma once
// Models: what is learned from the whole population, rebuilt in the
// background and published as one immutable snapshot.
//
//   - item-to-item neighbours from co-purchase and co-view over every
//     customer's history (core/neighbours.h);
//   - the repurchase profile of every category: durable (bought once) or
//     consumable (bought again), learned (core/repurchase.h);
//   - each category's share of the population's interest, so that the
//     affinity sources rank a customer's distinctive tastes, not the
//     categories everybody likes;
//   - new arrivals per category (newest first);
//   - RFM quintile cut points, and the size of every segment;
//   - the purchase (BG/NBD) and value (Gamma-Gamma) models behind every
//     customer's P(alive), expected orders and lifetime value
//     (core/customer_value.h), and the churn-risk band sizes.
//
// A build is a deterministic function of the customers' states (read in id
// order, ties broken by product id), so a restart gives the same models,
// and its memory is bounded (see NeighbourOptions::build_pairs_per_pass).
// Freshness is the rebuild interval (a new purchase moves the customer's
// own features at once; it moves the population's neighbours at the next
// build).

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "core/catalog.h"
#include "core/customer_value.h"
#include "core/decision_config.h"
#include "core/features.h"
#include "core/model_parts.h"
#include "core/neighbours.h"
#include "core/repurchase.h"
#include "core/segments.h"
#include "core/types.h"

namespace nextbest::core {

struct ModelOptions {
  NeighbourOptions co_purchase;
  NeighbourOptions co_view;
  RepurchaseOptions repurchase;
  int new_arrival_days = 30;
  int new_arrivals_per_category = 20;
  CustomerValueOptions customer_value;
};

struct Models {
  TimeMs built_at = 0;
  double build_seconds = 0;
  int64_t customers = 0;
  NeighbourTable co_purchase;
  NeighbourTable co_view;
  int build_passes = 0;      // passes over the customers for the neighbours
  uint64_t fingerprint = 0;  // of both tables in product-id space (NeighboursFingerprint)
  RepurchaseProfiles repurchase;
  // Per category: the population's mean share of interest in it (the
  // customers' affinity shares averaged), 0..1.
  std::vector<float> category_interest;
  std::vector<std::vector<ProductIndex>> new_arrivals;  // by category
  RfmThresholds rfm;
  BehaviourThresholds behaviour;
  std::array<int64_t, kRfmSegmentCount> rfm_sizes{};
  std::array<int64_t, kBehaviourCount> behaviour_sizes{};
  int64_t behaviour_priority = 0;             // customers flagged for attention
  std::vector<std::string> rule_segment_ids;  // the config's segments at build time
  std::vector<int64_t> rule_segment_sizes;
  CustomerValueModels customer_value;
  std::array<int64_t, kChurnRiskCount> churn_risk_sizes{};  // by ChurnRisk, at the build
  SendTimeModel send_time;  // the population's activity pattern (core/send_time.h)
};

// Two passes over the population: Add() every customer (in id order),
// Thresholds(), then Count() every customer again (segment sizes need the
// new cut points), then Finish() (the neighbours and repurchase profiles,
// over the customers added). Single-threaded; the states are only read and
// must stay valid until Finish() returns.
//
// A shard builds its part instead: Add() every customer, CountWith() the
// global cut points, Count() every customer, TakePart().
class ModelBuilder {
 public:
  ModelBuilder(const ModelOptions& options, const Catalog& catalog, const DecisionConfig& config,
               TimeMs now);
  ~ModelBuilder();

  void Add(const CustomerFeatures& f, CountryIndex country = kNoCountry);
  // The cut points over the customers added; Count() counts with them.
  const RfmThresholds& Thresholds();
  // Count() counts with these instead (a shard: the last global ones).
  void CountWith(const RfmThresholds& rfm, const BehaviourThresholds& behaviour,
                 const CustomerValueModels* value = nullptr);
  void Count(const CustomerState& s, bool personal);
  // Build time counts from the builder's construction.
  std::unique_ptr<const Models> Finish();
  // The part of the customers added (neighbour pairs all held at once).
  ModelPart TakePart();

 private:
  void SettleValues();

  const ModelOptions options_;
  const Catalog& catalog_;
  const DecisionConfig& config_;
  const TimeMs now_;
  const std::chrono::steady_clock::time_point started_;
  std::vector<const CustomerFeatures*> customers_;
  std::vector<double> last_purchase_, frequency_, monetary_;
  std::vector<double> current_spend_, baseline_spend_;
  ModelPart part_;
  bool counting_ = false;  // Count() counts, with part_.counted_with*
  const CustomerValueModels* counted_with_value_ = nullptr;
  bool value_fitted_ = false;  // by Thresholds(), into out_
  std::unique_ptr<Models> out_;
};

// The models from a part (the merge of every shard's): equal to
// ModelBuilder's over the same customers. The segment sizes are the
// part's (counted with its counted_with cut points).
std::unique_ptr<const Models> ModelsFromPart(const ModelOptions& options, const ModelPart& part,
                                             const Catalog& catalog, const DecisionConfig& config,
                                             TimeMs now);

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

// A shard's part over its live customers, the same way; segment sizes
// counted with `global`'s cut points (none counted when null). Popularity
// is left for the caller (the writer's).
ModelPart BuildModelPart(const ModelOptions& options, const CustomerIndex& customers,
                         const Catalog& catalog, const DecisionConfig& config, TimeMs now,
                         const Models* global);

}  // namespace nextbest::core
