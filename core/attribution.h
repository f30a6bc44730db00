#pragma once
// Attribution: what each exposed customer did in each experiment, and the
// per-variant totals the report is computed from.
//
// The rule (README "Attribution"):
//   * Exposure: a customer is exposed to an experiment by the first decision
//     served to them under it (the live path or the newsletter batch; the
//     caller need not send an impression). Each customer once per
//     experiment, in the variant of that decision.
//   * Impressions, clicks and add-to-carts that carry a decision id count
//     for that decision's experiments and variants; impressions and clicks
//     whose decision is unknown (anonymous, not in any experiment, older
//     than the stored window, or lost in a crash before it was stored) are
//     counted as "unknown decision", not dropped silently.
//   * Purchases of an exposed customer at or after their exposure count for
//     the variant (orders and revenue per exposed customer: the experiment's
//     primary metrics, fair to the control arm). Each purchase line is also
//     attributed, last touch, to the most recent decision that showed its
//     product to the customer within the attribution window (or to the
//     decision the purchase names): "attributed revenue".
//   * Each event counts once: event ids are idempotent upstream.
//
// Every per-variant total is a sum over the customers' ExposureEntry
// records, so the totals can always be rebuilt from the entries (recovery
// does exactly that) and the report's variances come from the same sums.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "core/types.h"

namespace nextbest::core {

// Offers as experiments: a customer shown an offer, or held back from it
// by the control answer while eligible, has an entry under the experiment
// id "offer:" + offer id, variant "shown|segment" or "held_back|segment"
// (the RFM segment at that first decision; "none" without one). Purchases
// after it count as for any exposure; the report compares the two groups
// per offer and per segment (the offer's uplift).
inline constexpr char kOfferExperimentPrefix[] = "offer:";
inline constexpr char kOfferShown[] = "shown";
inline constexpr char kOfferHeldBack[] = "held_back";

// One customer in one experiment.
struct ExposureEntry {
  std::string variant;
  TimeMs first = 0;  // the first decision served under the experiment
  int64_t decisions = 0;
  int64_t impressions = 0, clicks = 0, add_to_carts = 0;
  int64_t orders = 0;
  int64_t revenue_minor = 0;  // purchases at or after `first`
  int64_t attributed_lines = 0;
  int64_t attributed_revenue_minor = 0;  // last touch
};

// Sums over the entries of one variant, with the squares and products the
// intervals need (per customer: revenue, orders > 0, impressions, clicks).
struct VariantTotals {
  int64_t exposed = 0;
  int64_t decisions = 0;
  int64_t impressions = 0, clicks = 0, add_to_carts = 0;
  int64_t converters = 0;  // exposed customers with an order
  int64_t orders = 0;
  double revenue = 0, revenue_sq = 0;  // minor units
  double impressions_sq = 0, clicks_sq = 0, impressions_clicks = 0;
  int64_t attributed_lines = 0;
  double attributed_revenue = 0;
  // Adds (sign +1) or removes (-1) one customer's entry.
  void Add(const ExposureEntry& e, int sign);
};

// Feedback that belongs to no exposed customer.
struct UnattributedCounts {
  int64_t unknown_decision_events = 0;  // impressions/clicks naming an unknown decision
  int64_t unattributed_lines = 0;       // purchase lines no decision showed
};

// The live totals: written by the writer after each durable group, read by
// the report. A mutex: reports are rare, the writer holds it briefly.
class ExperimentTotals {
 public:
  using Key = std::pair<std::string, std::string>;  // (experiment, variant)
  // One customer's entry changed from `before` (null: new) to `after`
  // (null: erased).
  void Apply(const std::string& experiment, const ExposureEntry* before,
             const ExposureEntry* after);
  void AddUnattributed(const UnattributedCounts& delta);
  void Clear();
  std::map<Key, VariantTotals> Variants() const;
  UnattributedCounts Unattributed() const;

 private:
  mutable std::mutex mu_;
  std::map<Key, VariantTotals> variants_;  // guarded by mu_
  UnattributedCounts unattributed_;        // guarded by mu_
};

// A decision as stored for attribution: when, which products, which arms.
struct StoredDecision {
  TimeMs time = 0;
  std::vector<ProductIndex> products;
  std::vector<std::pair<std::string, std::string>> arms;
};

// Last touch: the index of the most recent decision in `decisions` at or
// before `at` and within `window` that showed `product`; -1 if none.
int LastTouch(absl::Span<const StoredDecision* const> decisions, ProductIndex product, TimeMs at,
              TimeMs window);

}  // namespace nextbest::core
