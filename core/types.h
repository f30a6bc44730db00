#pragma once
// Plain value types shared by every layer: time, ids after interning, events.
// Strings from the wire are interned into dense indices by the single writer
// (storage/ingestor) before core/ sees them.

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace nextbest::core {

// Unix epoch milliseconds.
using TimeMs = int64_t;
inline constexpr TimeMs kMsPerDay = 86'400'000;

using ProductIndex = uint32_t;
using StoreIndex = uint32_t;
using CategoryIndex = uint32_t;
using BrandIndex = uint32_t;
using CountryIndex = uint8_t;
inline constexpr ProductIndex kNoProduct = std::numeric_limits<uint32_t>::max();
inline constexpr StoreIndex kNoStore = std::numeric_limits<uint32_t>::max();
inline constexpr CategoryIndex kNoCategory = std::numeric_limits<uint32_t>::max();
inline constexpr BrandIndex kNoBrand = std::numeric_limits<uint32_t>::max();
inline constexpr CountryIndex kNoCountry = 0xff;
inline constexpr int kMaxCountries = 16;

// Values equal the wire enum's numbers (server/enum_checks.cc). Every
// switch over it lists every value (no default; -Werror=switch), so a new
// type does not compile until each layer handles it: validation, the
// feature update, popularity, storage, export.
enum class EventType : uint8_t {
  kView = 1,
  kAddToCart = 2,
  kRemoveFromCart = 3,
  kPurchase = 4,
  kReturn = 5,
  kOfferImpression = 6,
  kOfferClick = 7,
  kProductImpression = 8,
  kProductClick = 9,
  // A commercial contact the caller made (an e-mail sent, a call, a push):
  // channel, decision id. Counted by the contact policy (core/contact_policy.h).
  kContact = 10,
  // A complaint (e.g. to customer service): quiet periods may follow it.
  kComplaint = 11,
};
inline constexpr int kEventTypeCount = 12;  // one more than the largest value
// Per-customer recency per event type is kept in this many slots (indexed
// by the enum value): room for two more event types (48 bytes).
inline constexpr int kEventTypeSlots = 12;
static_assert(kEventTypeCount <= kEventTypeSlots);

enum class Channel : uint8_t {
  kUnspecified = 0,
  kWeb = 1,
  kApp = 2,
  kStore = 3,
  kEmail = 4,
  kCallCenter = 5,
  kPush = 6,  // app push notification
  kSms = 7,
};
inline constexpr Channel kMaxChannel = Channel::kSms;
// "web", "app", "store", "email", "call_center", "push", "sms"; "" for kUnspecified.
const char* ChannelName(Channel c);
// "view", ..., "contact", "complaint".
const char* EventTypeName(EventType t);

struct OrderLine {
  OrderLine() = default;
  OrderLine(ProductIndex p, int32_t q, int64_t price, std::string s = {})
      : product(p), quantity(q), unit_price_minor(price), size(std::move(s)) {}
  ProductIndex product = kNoProduct;
  int32_t quantity = 0;
  int64_t unit_price_minor = 0;
  std::string size;  // the size bought, "" = none/unknown
};

// An event after validation and interning: what the feature math consumes.
struct Event {
  EventType type = EventType::kView;
  TimeMs time = 0;
  Channel channel = Channel::kUnspecified;
  CountryIndex country = kNoCountry;  // resolved market, or kNoCountry
  StoreIndex store = kNoStore;
  ProductIndex product = kNoProduct;  // view / cart events
  int32_t quantity = 0;
  std::vector<OrderLine> lines;  // purchase / return
};

}  // namespace nextbest::core
