#pragma once
// Wire and config enums <-> core enums, in one place. Their numbers are the
// same by design; the static_asserts below hold every enumerator to it and
// the counts to each other, so a value added on one side and not the other
// does not compile, and every conversion elsewhere goes through these
// functions instead of an unchecked static_cast.

#include "core/decision_config.h"
#include "core/sources.h"
#include "core/types.h"
#include "nextbest/config/v1/config.pb.h"
#include "nextbest/v1/common.pb.h"
#include "nextbest/v1/decisions.pb.h"
#include "nextbest/v1/events.pb.h"

namespace nextbest::server {

namespace enums_internal {
namespace cfg = ::nextbest::config::v1;
template <typename A, typename B>
constexpr bool Same(A a, B b) {
  return static_cast<int>(a) == static_cast<int>(b);
}

// Event types.
static_assert(Same(v1::EVENT_TYPE_VIEW, core::EventType::kView));
static_assert(Same(v1::EVENT_TYPE_ADD_TO_CART, core::EventType::kAddToCart));
static_assert(Same(v1::EVENT_TYPE_REMOVE_FROM_CART, core::EventType::kRemoveFromCart));
static_assert(Same(v1::EVENT_TYPE_PURCHASE, core::EventType::kPurchase));
static_assert(Same(v1::EVENT_TYPE_RETURN, core::EventType::kReturn));
static_assert(Same(v1::EVENT_TYPE_OFFER_IMPRESSION, core::EventType::kOfferImpression));
static_assert(Same(v1::EVENT_TYPE_OFFER_CLICK, core::EventType::kOfferClick));
static_assert(Same(v1::EVENT_TYPE_PRODUCT_IMPRESSION, core::EventType::kProductImpression));
static_assert(Same(v1::EVENT_TYPE_PRODUCT_CLICK, core::EventType::kProductClick));
static_assert(Same(v1::EVENT_TYPE_CONTACT, core::EventType::kContact));
static_assert(Same(v1::EVENT_TYPE_COMPLAINT, core::EventType::kComplaint));
static_assert(v1::EventType_MAX == core::kEventTypeCount - 1, "an event type on one side only");

// Channels.
static_assert(Same(v1::CHANNEL_UNSPECIFIED, core::Channel::kUnspecified));
static_assert(Same(v1::CHANNEL_WEB, core::Channel::kWeb));
static_assert(Same(v1::CHANNEL_APP, core::Channel::kApp));
static_assert(Same(v1::CHANNEL_STORE, core::Channel::kStore));
static_assert(Same(v1::CHANNEL_EMAIL, core::Channel::kEmail));
static_assert(Same(v1::CHANNEL_CALL_CENTER, core::Channel::kCallCenter));
static_assert(Same(v1::CHANNEL_PUSH, core::Channel::kPush));
static_assert(Same(v1::CHANNEL_SMS, core::Channel::kSms));
static_assert(v1::Channel_MAX == static_cast<int>(core::kMaxChannel), "a channel on one side only");

// Sources: the wire enum and the config's kinds.
static_assert(Same(v1::SOURCE_RECENTLY_VIEWED, core::Source::kRecentlyViewed));
static_assert(Same(v1::SOURCE_TRENDING, core::Source::kTrending));
static_assert(Same(v1::SOURCE_REPLENISHMENT, core::Source::kReplenishment));
static_assert(Same(v1::SOURCE_CO_PURCHASE, core::Source::kCoPurchase));
static_assert(Same(v1::SOURCE_CO_VIEW, core::Source::kCoView));
static_assert(Same(v1::SOURCE_AFFINITY, core::Source::kAffinity));
static_assert(Same(v1::SOURCE_NEW_ARRIVALS, core::Source::kNewArrivals));
static_assert(Same(v1::SOURCE_OFFER, core::Source::kOffer));
static_assert(Same(v1::SOURCE_BRAND_AFFINITY, core::Source::kBrandAffinity));
static_assert(v1::Source_MAX == core::kSourceCount - 1, "a source on the wire or in core only");
static_assert(cfg::SourceConfig::Kind_MAX == core::kSourceCount - 1,
              "a source in the config or in core only");

// Seeds and trending scopes.
static_assert(Same(cfg::SourceConfig::CONTEXT, core::Seed::kContext));
static_assert(Same(cfg::SourceConfig::HISTORY, core::Seed::kHistory));
static_assert(Same(cfg::SourceConfig::BOTH, core::Seed::kBoth));
static_assert(Same(cfg::SourceConfig::MARKET, core::TrendingScope::kMarket));
static_assert(Same(cfg::SourceConfig::OVERALL, core::TrendingScope::kOverall));
static_assert(Same(cfg::SourceConfig::STORE, core::TrendingScope::kStore));
static_assert(Same(cfg::SourceConfig::CATEGORY, core::TrendingScope::kCategory));

// Offer types.
static_assert(Same(cfg::OfferConfig::PROMOTION, core::OfferType::kPromotion));
static_assert(Same(cfg::OfferConfig::PRODUCT_PUSH, core::OfferType::kProductPush));
static_assert(Same(cfg::OfferConfig::MOMENT, core::OfferType::kMoment));
static_assert(Same(cfg::OfferConfig::LOYALTY, core::OfferType::kLoyalty));
static_assert(Same(cfg::OfferConfig::SERVICE, core::OfferType::kService));
static_assert(cfg::OfferConfig::Type_MAX == core::kOfferTypeSlots - 1,
              "an offer type on one side only");
}  // namespace enums_internal

// Wire -> core. Callers validate the wire value first (v1::*_IsValid).
inline core::EventType ToCore(v1::EventType t) { return static_cast<core::EventType>(t); }
inline core::Channel ToCore(v1::Channel c) { return static_cast<core::Channel>(c); }
inline core::Seed ToCore(config::v1::SourceConfig::Seed s) { return static_cast<core::Seed>(s); }
inline core::TrendingScope ToCore(config::v1::SourceConfig::Scope s) {
  return static_cast<core::TrendingScope>(s);
}
inline core::OfferType ToCore(config::v1::OfferConfig::Type t) {
  return static_cast<core::OfferType>(t);
}

// Core -> wire.
inline v1::EventType ToWire(core::EventType t) { return static_cast<v1::EventType>(t); }
inline v1::Channel ToWire(core::Channel c) { return static_cast<v1::Channel>(c); }
inline v1::Source ToWire(core::Source s) { return static_cast<v1::Source>(s); }

}  // namespace nextbest::server
