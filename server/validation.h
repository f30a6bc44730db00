#pragma once
// Request validation and conversion: wire messages -> storage commands.
// Every rejection is INVALID_ARGUMENT naming the field path and the rule,
// e.g. "events[2].order.lines[0].quantity: must be > 0". Checks that need
// state (unknown stores, conflicting event ids) happen in the writer.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/types.h"
#include "nextbest/v1/catalog.pb.h"
#include "nextbest/v1/customers.pb.h"
#include "nextbest/v1/decisions.pb.h"
#include "nextbest/v1/events.pb.h"
#include "nextbest/v1/privacy.pb.h"
#include "storage/commands.h"

namespace nextbest::server {

struct Limits {
  std::vector<std::string> markets;
  std::string currency = "EUR";
  int max_events_per_request = 1000;
  int max_items_per_request = 10000;  // customers, products, stores, stock
  size_t max_id_bytes = 128;
  int max_cart_items = 200;
  int max_exclude_items = 1000;  // Recommend's exclude_product_ids
  // Open StreamEvents calls at once; more are RESOURCE_EXHAUSTED at once.
  int max_concurrent_streams = 1000;
  // Open DecideForAll calls at once; more are RESOURCE_EXHAUSTED at once.
  int max_concurrent_batches = 4;
  // Events may be at most this far ahead of the server clock.
  core::TimeMs max_future_skew_ms = 24 * 3600 * 1000;
};

// Ids: 1..max_id_bytes bytes, no control characters.
absl::Status ValidateId(const std::string& id, const std::string& field, const Limits& limits);

absl::StatusOr<storage::RecordEvents> ToRecordEvents(
    const google::protobuf::RepeatedPtrField<v1::Event>& events, const Limits& limits,
    core::TimeMs now);
absl::StatusOr<storage::UpsertCustomers> ToUpsertCustomers(const v1::UpsertCustomersRequest& r,
                                                           const Limits& limits, core::TimeMs now);
absl::StatusOr<storage::UpsertProducts> ToUpsertProducts(const v1::UpsertProductsRequest& r,
                                                         const Limits& limits);
absl::StatusOr<storage::UpsertStores> ToUpsertStores(const v1::UpsertStoresRequest& r,
                                                     const Limits& limits);
absl::StatusOr<storage::SetStock> ToSetStock(const v1::SetStockRequest& r, const Limits& limits);
absl::StatusOr<storage::SetConsent> ToSetConsent(const v1::SetConsentRequest& r,
                                                 const Limits& limits);

// Shape checks of a Recommend request (placement existence and ids that need
// the catalog are checked by the handler).
absl::Status ValidateRecommend(const v1::RecommendRequest& r, const Limits& limits);

// Shape checks of a DecideForAll request (the placement's existence and
// count limit need the config and are checked by the handler).
absl::Status ValidateDecideForAll(const v1::DecideForAllRequest& r);

// `s` with `prefix` before its message (a field path relative to a
// sub-message, e.g. core's "count: ..." as "context.count: ...").
absl::Status PrefixField(absl::string_view prefix, const absl::Status& s);

// INVALID_ARGUMENT naming `field` for a timestamp out of Timestamp's range.
absl::Status ValidateTimestamp(const google::protobuf::Timestamp& t, const std::string& field);
core::TimeMs ToTimeMs(const google::protobuf::Timestamp& t);
google::protobuf::Timestamp FromTimeMs(core::TimeMs ms);

}  // namespace nextbest::server
