#pragma once
// PlacementSpec: one placement as configured, compiled — its candidate
// sources with weights, filters, hard rules, arbitration, diversity, count
// and fallback. A placement in the config, a variant of an experiment
// (core/experiments.h) and the control answer are each one of these.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/sources.h"
#include "core/types.h"

namespace nextbest::core {

inline constexpr int kOfferTypeSlots = 6;  // OfferType values + 1

struct SourceSpec {
  Source source = Source::kTrending;
  double weight = 1;
  int limit = 50;  // candidates taken from the source
  Seed seed = Seed::kBoth;
  TrendingScope scope = TrendingScope::kMarket;  // kTrending only
  // Neighbour sources with history seeds: the customer's most recent
  // products (viewed and bought, merged by time) that seed, the k-th most
  // recent weighing seed_decay^k (tuned with `nextbest eval`).
  int seeds = 8;
  double seed_decay = 0.7;
};

struct ProductFilter {
  std::vector<std::string> include_categories, exclude_categories;  // path prefixes
  std::vector<std::string> include_brands, exclude_brands;
  std::vector<std::string> include_tags, exclude_tags;
  int64_t min_price_minor = 0, max_price_minor = 0;  // 0 = no bound
  bool Empty() const {
    return include_categories.empty() && exclude_categories.empty() && include_brands.empty() &&
           exclude_brands.empty() && include_tags.empty() && exclude_tags.empty() &&
           min_price_minor == 0 && max_price_minor == 0;
  }
};

// The arbitration formula: score = relevance × value × priority × context,
// each factor switchable. Products: relevance = blended source score,
// value = price in major units, priority = 1, context = product_weight.
// Offers: relevance = propensity (smoothed click rate), value and priority
// from the offer, context = offer_type_weight[type].
// With clv_at_risk, offers are valued (as with use_value) and a retention
// offer's value is the customer's CLV at risk, CLV × (1 − P(alive)), in
// major units (core/customer_value.h): retention offers go to valuable
// customers who are slipping; for a customer with nothing at risk (no
// order, or no fitted model) a retention offer is left out.
struct Arbitration {
  bool use_relevance = true;
  bool use_value = false;
  bool clv_at_risk = false;
  bool use_priority = true;
  bool use_context = true;
  double product_weight = 1;
  std::array<double, kOfferTypeSlots> offer_type_weight{1, 1, 1, 1, 1, 1};
};

struct PlacementSpec {
  std::string id;
  // The placement as written in the config (text), for display only.
  std::string config_text;
  std::vector<SourceSpec> sources;
  int default_count = 10;
  int max_count = 50;
  // Fill what the sources cannot with trending items (the fallback).
  bool fill_with_trending = true;
  ProductFilter filter;
  // Leave out products the customer bought in the last N days (never
  // replenishment candidates). 0 = off.
  int exclude_bought_within_days = 0;
  // Leave out products the customer bought that are not consumable for
  // them (core/repurchase.h: a durable category, bought in one order). On
  // by default.
  bool exclude_bought_durables = true;
  // Leave out products the customer viewed (in their recently viewed list).
  bool exclude_viewed = false;
  // At most this many items per leaf category (products without a category
  // are not limited). 0 = no limit.
  int max_per_category = 0;
  // Category spread: each item already in the answer from a candidate's
  // leaf category multiplies its score by (1 - diversity). 0..0.9, 0 = off.
  double diversity = 0;
  // Replenishment: due after this share of the typical interval; minimum
  // purchases; not when more than max_overdue intervals late (0 = no bound).
  double due_fraction = 1.0;
  int min_purchases = 2;
  double max_overdue = 0;
  // Size fit: products in sizes that do not fit the customer's known sizes
  // are left out (see FitsKnownSizes). On by default.
  bool size_fit = true;
  // Candidates whose scores differ by less than about this fraction may
  // swap places between requests with different request ids (0..0.5,
  // 0 = off); a request id always gets the same answer.
  double rotation = 0;
  Arbitration arbitration;
  // How an offer's relevance is read from its click posterior
  // (core/bandit.h): the posterior mean, or a Thompson draw seeded by the
  // request id (explores new offers; the same request id, the same answer).
  enum class Propensity : uint8_t { kMean, kThompson };
  Propensity propensity = Propensity::kMean;
  // An answer here is a commercial contact on the request's channel: the
  // contact policy (DecisionConfig::contact) is checked first.
  bool contact = false;
  // Filled in by DecisionConfig::Build: offers targeting this placement,
  // and the experiments on it (indices into DecisionConfig::experiments).
  std::vector<uint32_t> offers;
  std::vector<uint16_t> experiments;
  // The server's metrics series for this placement.
  uint32_t metric_slot = 0;
  bool HasSource(Source s) const;
};

}  // namespace nextbest::core
