#pragma once
// The candidate sources: where a placement's candidates come from. Each
// kind is one row of the table in sources.cc — its names, whether it reads
// the customer's own behaviour (and so needs consent), how it gathers
// proposals, and how its reason reads. Adding a source is a value here, a
// row there, and its value in the two proto enums (the wire `Source` and
// the config `SourceConfig.Kind`, tied to this one by
// server/enum_checks.cc); nothing else changes.

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace nextbest::core {

// Values equal the wire enum's numbers.
enum class Source : uint8_t {
  kRecentlyViewed = 1,  // the customer's recently viewed products
  kTrending = 2,        // decayed popularity (scope: market, overall, store, category)
  kReplenishment = 3,   // repeat purchases that are due
  kCoPurchase = 4,      // bought by the same customers as the seeds
  kCoView = 5,          // viewed in the same sessions as the seeds
  kAffinity = 6,        // popular in the customer's favourite categories
  kNewArrivals = 7,     // new products in the customer's favourite categories
  kOffer = 8,           // offers targeting the placement
  kBrandAffinity = 9,   // popular from the customer's favourite brands (not
                        // a house brand on half the range or more)
};
inline constexpr int kSourceCount = 10;  // one more than the largest value

// Where neighbour sources (co-purchase, co-view) take their seed products.
enum class Seed : uint8_t {
  kContext = 1,  // the product on screen and the cart
  kHistory = 2,  // the customer's recent views and purchases (personal)
  kBoth = 3,
};

// Which popularity list a trending source reads.
enum class TrendingScope : uint8_t {
  kMarket = 0,    // the request's market (the default)
  kOverall = 1,   // all markets together
  kStore = 2,     // the request's store, else the customer's home store
                  // (with consent); the market's list when neither has one
  kCategory = 3,  // the category of the product on screen, else the market
};

// Sources that read the customer's own behaviour (need consent). Neighbour
// sources are personal only through history seeds.
bool IsPersonalSource(Source s);
// "co_purchase": explanations, metrics, tests.
const char* SourceName(Source s);
// The source whose config name ("CO_PURCHASE") is `name`.
std::optional<Source> SourceFromConfigName(absl::string_view name);

}  // namespace nextbest::core
