#pragma once
// Decide(): "recommend for customer X in context Y", a pure function over
// immutable snapshots (config, catalog, trending, models, customer state),
// plus the offer ledger for caps.
//
//   1. Candidates: every source of the placement proposes products with a
//      raw score; each source's scores are normalised to 0..1 (divided by
//      its best) and weighted; a product's relevance is the sum over the
//      sources that proposed it.
//   2. Offers targeting the placement that are in their date window and
//      whose eligibility rule holds become candidates too.
//   3. Arbitration: score = relevance × value × priority × context (each
//      factor switchable per placement, see Arbitration).
//   4. Selection, best first: hard rules on every product (listed, active,
//      available; in stock in the store, else online in the market; not in
//      the cart, not on screen, not excluded by the caller, not already in
//      the answer; the placement's category/brand/tag/price filters; not
//      bought recently when the placement says so, replenishment aside;
//      in a size that fits the customer's known sizes),
//      the per-category limit, and for offers their caps (reserved
//      atomically in the ledger when chosen).
//   5. Fill with trending items under the same rules if the placement says
//      so; without personalization consent (when required) no personal
//      source is used, and the answer says so.
//
// No lock except the ledger's shard lock for a capped offer, no I/O, no
// allocation besides the answer in steady state (per-thread scratch space).
// With an Explanation, every candidate's contributions and every drop are
// recorded; without one, none of that work is done.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/caps.h"
#include "core/catalog.h"
#include "core/customer_value.h"
#include "core/decision_config.h"
#include "core/features.h"
#include "core/models.h"
#include "core/trending.h"
#include "core/types.h"

namespace nextbest::core {

// Why a placement that wants personal items answered without any. Set
// only when Decision::personalized is false: the two always agree.
enum class FallbackReason : uint8_t {
  kNone = 0,
  kUnknownCustomer,  // no state for the customer: non-personalized answer
  kNoPersonalItems,  // known, with consent, but no personal source had an item
  kNoConsent,        // no personalization consent: non-personalized answer
  kControl,          // the control variant of an experiment
  kHoldout,          // the global holdout
};

// Why a candidate was left out.
enum class DropRule : uint8_t {
  kNotRecommendable = 1,  // unlisted, inactive or not yet available
  kOutOfStock,
  kInCart,
  kOnScreen,
  kExcludedByCaller,
  kDuplicate,
  kCategoryFilter,
  kBrandFilter,
  kTagFilter,
  kPriceRange,
  kBoughtRecently,
  kCategoryLimit,
  kOfferNotEligible,
  kOfferOutsideWindow,
  kOfferCustomerCap,
  kOfferTotalCap,
  kSizeNotFitting,      // none of its sizes is among the customer's known sizes
  kBoughtDurable,       // bought before, and not consumable for the customer
  kViewed,              // viewed before (PlacementSpec::exclude_viewed)
  kOfferNothingAtRisk,  // a retention offer valued by CLV at risk, and none is
};
const char* DropRuleName(DropRule r);

struct DecidedItem {
  ProductIndex product = kNoProduct;  // kNoProduct: a content offer
  int32_t offer = -1;                 // index into DecisionConfig::offers
  double score = 0;
  Source source = Source::kTrending;  // the largest contribution
  // Facts behind the reason text (see DescribeReason).
  TimeMs when = 0;                       // view / last purchase time
  TimeMs interval = 0;                   // replenishment: typical interval
  uint32_t purchases = 0;                // replenishment: times bought
  ProductIndex seed = kNoProduct;        // neighbours: the product it neighbours
  CategoryIndex category = kNoCategory;  // affinity / new arrivals / category trending
  BrandIndex brand = kNoBrand;           // brand affinity
  StoreIndex store = kNoStore;           // store trending
  bool all_markets = false;              // trending over all markets
  // A retention offer valued by CLV at risk: the customer's figures behind
  // it, for the reason ("loyal customer, value € 420 per year, 64 % chance
  // still active: …"). p_alive < 0: not such an item.
  float p_alive = -1;
  int32_t clv_months = 0;
  int64_t clv_minor = 0;
  RfmSegment rfm = RfmSegment::kNone;
};

struct Contribution {
  Source source;
  float raw;     // the source's own score
  float weight;  // the placement's weight for the source
  float value;   // weight × raw / best raw of the source
};

// What an item's value factor is.
enum class ValueBasis : uint8_t {
  kNone = 0,    // not valued (1)
  kPrice,       // the product's price, major units
  kOfferValue,  // the offer's configured value
  kClvAtRisk,   // the customer's CLV at risk, major units (retention offers)
};
const char* ValueBasisName(ValueBasis b);  // "", "price", "offer_value", "clv_at_risk"

struct ItemExplanation {
  absl::InlinedVector<Contribution, 3> contributions;
  // The arbitration factors (1 when switched off).
  double relevance = 1, value = 1, priority = 1, context = 1;
  ValueBasis value_basis = ValueBasis::kNone;
};

struct DroppedCandidate {
  ProductIndex product = kNoProduct;
  int32_t offer = -1;
  DropRule rule;
  double score = 0;
  std::string detail;  // the facts behind the rule, e.g. "bought once, 12 days ago"
};

struct Explanation {
  std::vector<ItemExplanation> items;  // parallel to Decision::items
  std::vector<DroppedCandidate> dropped;
  size_t candidates = 0;  // products and offers considered
  CustomerValue future;   // the customer's, at the decision (core/customer_value.h)
  static constexpr size_t kMaxDropped = 100;
};

struct DecisionRequest {
  const DecisionConfig* config = nullptr;
  const PlacementSpec* placement = nullptr;
  const CustomerState* customer = nullptr;  // nullptr: unknown customer
  absl::string_view customer_id;            // for per-customer caps
  const Models* models = nullptr;           // nullptr: no neighbours/segments yet
  OfferLedger* ledger = nullptr;            // nullptr: caps not reserved (benchmarks)
  bool preview = false;                     // caps checked, nothing reserved
  Explanation* explain = nullptr;           // nullptr: no explanation work
  CountryIndex country = kNoCountry;        // kNoCountry: store's, customer's, default
  StoreIndex store = kNoStore;
  Channel channel = Channel::kUnspecified;
  ProductIndex current_product = kNoProduct;
  absl::Span<const ProductIndex> cart;
  absl::Span<const ProductIndex> exclude;
  int count = 0;  // 0: the placement's default; capped at its max
  // Non-zero: rotate near-equal candidates (PlacementSpec::rotation),
  // deterministically for this seed (the server hashes the request id).
  uint64_t rotation_seed = 0;
  TimeMs now = 0;
  // Personal sources need the customer's personalization consent (a
  // customer known only from events has not given it).
  bool require_consent = true;
  // False: the control answer of an experiment or the holdout — no personal
  // source, rule or offer condition, as for a customer without consent.
  bool personalize = true;
};

struct Decision {
  absl::InlinedVector<DecidedItem, 16> items;
  // True if any item came from the customer's own data; then `fallback` is
  // kNone. `filled` counts the items the trending fill added.
  bool personalized = false;
  int filled = 0;
  FallbackReason fallback = FallbackReason::kNone;
  CountryIndex country = kNoCountry;
  RfmSegment rfm = RfmSegment::kNone;
  // The control answer (DecisionRequest::personalize false) of a customer
  // whose data may be used: the offers their own data made eligible that
  // the control did not show, and their RFM segment — the comparison group
  // of each offer's uplift (core/attribution.h).
  absl::InlinedVector<int32_t, 4> held_back_offers;
  RfmSegment held_back_rfm = RfmSegment::kNone;
};

Decision Decide(const Catalog& catalog, const TrendingSnapshot& trending,
                const DecisionRequest& request);

// Appends to `out` "you viewed this 2 days ago", "popular in NL right now",
// "bought 5 times, about every 14 days; last 16 days ago", "often bought
// together with Tompouce", the offer's text... Called only when the answer
// is rendered, straight into the response's string.
void DescribeReason(const Catalog& catalog, const DecisionConfig& config, const DecidedItem& item,
                    CountryIndex country, TimeMs now, std::string& out);

const char* FallbackReasonText(FallbackReason reason);

// A retention offer valued by CLV at risk (DecidedItem::p_alive ≥ 0): the
// customer in words and figures before the offer's text, "loyal customer,
// value € 420 per year, 64 % chance still active: "; else nothing.
void DescribeCustomerValue(const Catalog& catalog, const DecidedItem& item, std::string& out);

// The leaf of a category path "Koffie & thee/Koffie" -> "Koffie".
absl::string_view CategoryLeaf(absl::string_view path);

}  // namespace nextbest::core
