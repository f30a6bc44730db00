#pragma once
// Recommend(): "recommend for customer X in context Y" from string ids —
// the one entry point every front end calls (the gRPC Recommend, the
// newsletter batch, an HTTP front later), so that what surrounds a
// decision happens once, in one place: the placement is looked up, the
// count held to the placement's maximum, the market, store, product on
// screen, cart and exclusions resolved to indices, the rotation seed
// derived from the request id, and the consent rule applied. Decide()
// (decision.h) then ranks.
//
// Pure: no I/O, no lock (bar the offer ledger's for a capped offer). Call
// inside a ReadGuard that keeps the snapshot's objects alive while the
// answer is read and rendered.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/decision.h"
#include "core/decision_log.h"
#include "core/experiments.h"
#include "core/live_state.h"

namespace nextbest::core {

// The published state one decision reads.
struct Snapshot {
  const Catalog& catalog;
  const TrendingSnapshot& trending;
  const DecisionConfig& config;
  const Models* models;            // null: not built yet
  OfferLedger* ledger;             // null: caps not reserved (benchmarks)
  const CustomerIndex* customers;  // null: look nobody up
  DecisionIds* ids = nullptr;      // null: no decision id
  DecisionLog* log = nullptr;      // null: assigned decisions are not recorded

  // The current objects of `live` (inside a ReadGuard on live.epochs).
  static Snapshot Of(LiveState& live) {
    return {*live.catalog.Get(), *live.trending.Get(), *live.config.Get(), live.models.Get(),
            &live.offers,        &live.customers,      &live.decision_ids, &live.decision_log};
  }
};

struct RecommendQuery {
  absl::string_view customer_id;  // empty: an anonymous visitor
  // The customer's state when the caller already holds it (the batch walks
  // the index); otherwise it is looked up by customer_id.
  const CustomerState* customer = nullptr;
  absl::string_view placement;
  absl::string_view country;                 // market code; empty: the store's, then the customer's
  absl::string_view store_id;                // stock is checked in this store
  absl::string_view product_id;              // on screen: never recommended back
  absl::Span<const absl::string_view> cart;  // unknown ids are ignored
  absl::Span<const absl::string_view> exclude;  // unknown ids are ignored
  Channel channel = Channel::kUnspecified;
  int count = 0;                 // 0: the placement's default
  std::optional<TimeMs> time;    // the decision time; default `now`
  absl::string_view request_id;  // rotation seed; empty: no rotation
  bool explain = false;
  // What the customer would be shown, counting nothing: no cap showing
  // reserved, no decision id, nothing logged for attribution or
  // experiments (the marketer console; support tools).
  bool preview = false;
};

struct Recommendation {
  const PlacementSpec* placement = nullptr;  // the placement asked for
  const PlacementSpec* ran = nullptr;        // what answered: it, its control or a variant
  DecisionId id;                             // empty without Snapshot::ids
  Assignment assignment;
  TimeMs time = 0;  // the decision time
  Decision decision;
  std::optional<Explanation> explanation;  // with query.explain
  // A placement whose answer is a contact (PlacementSpec::contact) and a
  // customer the contact policy holds back: the verdict and its figures;
  // then the decision has no items.
  ContactCheck contact;
};

// The placement `query.placement` names, if `count` fits it: the checks
// Recommend() makes first, for callers that check once before many
// decisions (the batch). NOT_FOUND / INVALID_ARGUMENT as below.
absl::StatusOr<const PlacementSpec*> FindPlacement(const DecisionConfig& config,
                                                   absl::string_view placement, int count);

// The experiment and holdout arms of a recommendation (see ArmsOf).
int ArmsOf(const DecisionConfig& config, const Recommendation& r, Arm (&out)[2]);

// NOT_FOUND for an unknown placement (listing the known ones);
// INVALID_ARGUMENT for a count over the placement's maximum, an unserved
// market or an unknown store. Error messages name the field as the
// query's own ("placement", "count", "country", "store_id"); a front end
// adds its prefix.
//
// The customer's assignment (core/experiments.h) picks what answers: the
// placement, a variant of the experiment running on it, or the control
// answer. Every answer gets a decision id; an assigned customer's decision
// is appended to the snapshot's DecisionLog for exposure and attribution.
absl::StatusOr<Recommendation> Recommend(const Snapshot& snapshot, const RecommendQuery& query,
                                         TimeMs now);

}  // namespace nextbest::core
