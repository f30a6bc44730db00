#pragma once
// Key layout of every column family, in one place.
//
// Customer-scoped keys start with the customer id followed by '\0' (ids
// never contain control characters: the API rejects them), so everything
// about one customer in a column family is the range
// [id + '\0', id + '\1') — found, exported and range-deleted in one sweep.
//
//   customers    id                              -> CustomerRecord
//   features     id                              -> FeaturesRecord
//   events       id \0 time(8, big-endian) evid  -> EventRecord
//   idempotency  id \0 event_id                  -> IdempotencyRecord
//   products     product_id                      -> ProductRecord
//   stores       store_id                        -> StoreRecord
//   stock        product_id                      -> StockRecord (all stores)
//   popularity   product_id                      -> PopularityRecord
//   store_popularity  store_id \0 product_id      -> StorePopularityRecord
//   meta         name                            -> value (kOfferLedgerMetaKey, ...)
//   suppression  HMAC-SHA256(secret, id)         -> SuppressionRecord
//                (erased customers: a keyed hash, never the id)
//   experiments  id \0 'd' decision id (16 B)    -> DecisionRecord (served, assigned)
//                id \0 'x' experiment id         -> ExposureRecord

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace nextbest::storage::keys {

std::string Customer(absl::string_view customer_id);
std::string Event(absl::string_view customer_id, int64_t time_ms, absl::string_view event_id);
std::string Idempotency(absl::string_view customer_id, absl::string_view event_id);

std::string StoreProduct(absl::string_view store_id, absl::string_view product_id);
// The store and product ids of a store_popularity key; nullopt if malformed.
std::optional<std::pair<std::string, std::string>> ParseStoreProduct(absl::string_view key);

// The suppression key of an erased customer: HMAC-SHA256 under the
// database's secret (32 raw bytes).
std::string Suppression(absl::string_view secret, absl::string_view customer_id);

// The offer ledger (cap counts, impressions, clicks) in the meta family.
inline constexpr char kOfferLedgerMetaKey[] = "offer_ledger";
// Feedback no exposed customer owns (FeedbackCountsRecord), in meta.
inline constexpr char kFeedbackMetaKey[] = "feedback_unattributed";
// An offer's click posterior (OfferPosteriorRecord), in meta.
inline constexpr char kOfferPosteriorPrefix[] = "offer_posterior";
std::string OfferPosterior(absl::string_view offer_id);

// The experiments family: a served decision (the id's 128 bits big-endian,
// so a customer's decisions sort by time) and an exposure entry.
std::string Decision(absl::string_view customer_id, uint64_t id_hi, uint64_t id_lo);
std::string DecisionPrefix(absl::string_view customer_id);
std::string Exposure(absl::string_view customer_id, absl::string_view experiment_id);
std::string ExposurePrefix(absl::string_view customer_id);
struct ExperimentsKey {
  std::string customer_id;
  char kind = 0;           // 'd' or 'x'
  absl::string_view rest;  // the 16 id bytes, or the experiment id (into the key)
};
std::optional<ExperimentsKey> ParseExperimentsKey(absl::string_view key);

// [begin, end) covering every customer-scoped key of `customer_id`.
struct Range {
  std::string begin;
  std::string end;
};
Range CustomerRange(absl::string_view customer_id);

struct EventKey {
  std::string customer_id;
  int64_t time_ms;
  std::string event_id;
};
std::optional<EventKey> ParseEvent(absl::string_view key);
// Only the time of an event key, without copying (the retention filter).
std::optional<int64_t> EventTime(absl::string_view key);

}  // namespace nextbest::storage::keys
