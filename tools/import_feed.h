#pragma once
// Reading what `nextbest import` loads: product feeds (CSV, JSON lines, the
// Google Merchant Center RSS/Atom XML feed), stock lists and order history
// (CSV, JSON lines), one record at a time with its line number. A record
// that cannot be read is returned as rejected with the reason; the reader
// goes on (the caller decides about --strict).
//
// CSV columns (header names, any case; README "Import"):
//   products: product_id|id, name|title, category (levels split by ">" or
//             "/"), brand, price ("12.99" or "12.99 EUR"), currency, sizes
//             and tags ("|"-separated), active (true|false), available_from
//   stores:   store_id|id, country, name, city
//   stock:    product_id, store_id | online_country, quantity
//   events:   order_id, customer_id, time (RFC 3339 or "YYYY-MM-DD
//             HH:MM:SS" UTC), product_id, quantity, unit_price, currency,
//             store_id, channel (web|app|store|...), type (purchase|return),
//             size — one row per order line, the lines of an order adjacent
// JSON lines: one message per line in the protobuf JSON mapping
// (nextbest.v1.Product, StockLevel, Event).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nextbest/v1/catalog.pb.h"
#include "nextbest/v1/events.pb.h"

namespace nextbest::tools {

struct FeedOptions {
  std::string currency = "EUR";  // prices without one
  // Merchant feeds: g:availability becomes online stock in this market
  // (in_stock/backorder: `in_stock_quantity`, out_of_stock/preorder: 0);
  // empty: availability is ignored.
  std::string country;
  int in_stock_quantity = 1;
};

// One record read: the message, or why the record was refused.
template <typename M>
struct FeedRecord {
  int64_t line = 0;  // of the record's start (CSV: the record number, header = 1)
  M message;
  std::string rejected;  // non-empty: the reason, and `message` is not to be sent
  // Merchant feeds with FeedOptions::country: the item's online stock.
  std::optional<v1::StockLevel> stock;
};

template <typename M>
class FeedReader {
 public:
  virtual ~FeedReader() = default;
  // The next record; false at the end; an error only when the file itself
  // cannot be read on (malformed XML, unreadable CSV).
  virtual absl::StatusOr<bool> Next(FeedRecord<M>& record) = 0;
  virtual int64_t bytes_read() const = 0;
};

// By the file's extension: .csv, .jsonl/.ndjson, .xml (products only).
absl::StatusOr<std::unique_ptr<FeedReader<v1::Product>>> OpenProductFeed(
    const std::string& path, const FeedOptions& options);
absl::StatusOr<std::unique_ptr<FeedReader<v1::Store>>> OpenStoreFeed(const std::string& path);
absl::StatusOr<std::unique_ptr<FeedReader<v1::StockLevel>>> OpenStockFeed(
    const std::string& path, const FeedOptions& options);
// Order history: the CSV's lines of one order become one PURCHASE (or
// RETURN) event with event id "order:ORDER_ID" (re-importing is
// idempotent); JSON lines are whole events.
absl::StatusOr<std::unique_ptr<FeedReader<v1::Event>>> OpenEventFeed(const std::string& path,
                                                                     const FeedOptions& options);

// "12.99", "12.99 EUR", "EUR 12.99", "12,99" → minor units and currency.
absl::Status ParsePrice(const std::string& text, const std::string& default_currency,
                        v1::Money* out);

}  // namespace nextbest::tools
