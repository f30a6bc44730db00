#pragma once
// Decide(): "recommend for customer X in context Y", a pure function over
// immutable snapshots (catalog, trending list, placement, customer state).
//
// It takes no lock, does no I/O, and allocates only the answer (an inlined
// vector for the usual counts). Hard rules applied to every item of every
// placement, fallback included: the product is listed, active and
// available; in stock in the context's store, else online in the market;
// not in the cart; not the product on screen; not already in the answer.
// Consent: without the customer's personalization consent (when required)
// no personal source is used; the answer is the trending fill, and says so.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"
#include "core/catalog.h"
#include "core/features.h"
#include "core/trending.h"
#include "core/types.h"

namespace nextbest::core {

struct PlacementSpec {
  enum class Kind : uint8_t { kRecentlyViewed = 1, kTrending = 2, kReplenishment = 3 };
  std::string id;
  Kind kind = Kind::kTrending;
  int default_count = 10;
  int max_count = 50;
  bool fill_with_trending = true;
  double due_fraction = 1.0;  // replenishment: due after this share of the interval
  int min_purchases = 2;      // replenishment
};

// Values equal the wire enum's numbers.
enum class Source : uint8_t { kRecentlyViewed = 1, kTrending = 2, kReplenishment = 3 };

enum class FallbackReason : uint8_t {
  kNone = 0,
  kUnknownCustomer,     // no state for the customer: non-personalized answer
  kTooFewPersonal,      // the placement's own source had fewer items than asked
  kNoConsent,           // no personalization consent: non-personalized answer
};

struct DecidedItem {
  ProductIndex product;
  double score;
  Source source;
  // Facts behind the reason text (see DescribeReason).
  TimeMs when = 0;          // view / last purchase time
  TimeMs interval = 0;      // replenishment: typical interval
  uint32_t purchases = 0;   // replenishment: times bought
};

struct DecisionRequest {
  const PlacementSpec* placement = nullptr;
  const CustomerState* customer = nullptr;  // nullptr: unknown customer
  CountryIndex country = kNoCountry;        // kNoCountry: store's, customer's, default
  StoreIndex store = kNoStore;
  ProductIndex current_product = kNoProduct;
  absl::Span<const ProductIndex> cart;
  int count = 0;  // 0: the placement's default; capped at its max
  TimeMs now = 0;
  // Personal sources need the customer's personalization consent (a
  // customer known only from events has not given it).
  bool require_consent = true;
};

struct Decision {
  absl::InlinedVector<DecidedItem, 16> items;
  bool personalized = false;
  FallbackReason fallback = FallbackReason::kNone;
  CountryIndex country = kNoCountry;
};

Decision Decide(const Catalog& catalog, const TrendingSnapshot& trending,
                const DecisionRequest& request);

// Appends to `out` "you viewed this 2 days ago", "popular in NL right now",
// "bought 5 times, about every 14 days; last 16 days ago". Called only when
// the answer is rendered, straight into the response's string.
void DescribeReason(const Catalog& catalog, const DecidedItem& item, CountryIndex country,
                    TimeMs now, std::string& out);

const char* FallbackReasonText(FallbackReason reason);

}  // namespace nextbest::core
