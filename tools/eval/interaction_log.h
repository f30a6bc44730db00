#pragma once
// The interaction logs `nextbest eval` reads, in a retailer-neutral format:
// CSV with a header row, or JSON lines (one object per line, the same
// keys). README "Evaluating a change" documents the columns:
//
//   events: customer, item, timestamp, [event_type], [quantity], [price], [rating]
//   items:  item, [name], [category_path], [brand], [price], [tags]
//
// Column names are matched without case and with common aliases (user,
// userId, product, movieId, time, ...). Timestamps are Unix seconds, Unix
// milliseconds or RFC 3339; event types view, add_to_cart, purchase,
// return (default purchase); prices in major units ("2.49").

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/types.h"

namespace nextbest::tools::eval {

struct Interaction {
  std::string customer;
  std::string item;
  core::TimeMs time = 0;
  core::EventType type = core::EventType::kPurchase;
  int32_t quantity = 1;
  int64_t price_minor = 0;  // unit price; 0: the item's price
  double rating = 0;        // 0: none
  int64_t order = 0;        // position in the file: ties in time go by it
};

struct ItemInfo {
  std::string id;
  std::string name;
  std::vector<std::string> category_path;  // empty: no category
  std::string brand;
  int64_t price_minor = 0;
  std::vector<std::string> tags;
};

struct LogOptions {
  // Every interaction as this type, whatever the file says (a rating log
  // replayed as purchases or as views).
  std::optional<core::EventType> event_as;
  // Leave out interactions with a rating below this (0: keep all).
  double min_rating = 0;
};

// INVALID_ARGUMENT naming the file, line and column of a bad value.
absl::StatusOr<std::vector<Interaction>> ReadInteractions(const std::string& path,
                                                          const LogOptions& options);
absl::StatusOr<std::vector<ItemInfo>> ReadItems(const std::string& path);

// "2026-11-23T10:00:00Z", "2026-11-23 10:00:00", "1700000000" (seconds),
// "1700000000000" (milliseconds).
std::optional<core::TimeMs> ParseTimestamp(const std::string& text);
std::optional<core::EventType> ParseEventType(const std::string& text);

}  // namespace nextbest::tools::eval
