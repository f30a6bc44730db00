#pragma once
// What the writer is asked to do: validated requests with string ids, as
// the server's adapters produce them from the wire messages. The writer
// interns ids, applies them to the in-memory state and persists them.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "core/catalog.h"
#include "core/decision_log.h"
#include "core/features.h"
#include "core/types.h"

namespace nextbest::storage {

struct RawOrderLine {
  RawOrderLine() = default;
  RawOrderLine(std::string id, int32_t q, int64_t price, std::string s = {})
      : product_id(std::move(id)), quantity(q), unit_price_minor(price), size(std::move(s)) {}
  std::string product_id;
  int32_t quantity = 0;
  int64_t unit_price_minor = 0;
  std::string size;
};

struct RawEvent {
  std::string event_id;
  std::string customer_id;
  core::EventType type = core::EventType::kView;
  core::TimeMs time = 0;
  core::Channel channel = core::Channel::kUnspecified;
  std::string store_id;
  std::string country;
  std::string product_id;
  int32_t quantity = 0;
  std::string order_id;
  std::vector<RawOrderLine> lines;
  std::string offer_id;
  std::string placement;
  std::string decision_id;  // 32 hex digits, or empty
  int32_t position = 0;
};

struct CustomerUpsert {
  std::string customer_id;
  std::string country;
  std::string home_store_id;
  std::string language;
  int32_t birth_year = 0;
  bool loyalty_member = false;
  bool consent_personalization = false;
  bool consent_marketing_email = false;
  std::vector<core::SizePreference> sizes;  // declared sizes
};

struct StoreUpsert {
  std::string store_id;
  std::string country;
  std::string name;
  std::string city;
};

struct StockUpdate {
  std::string product_id;
  std::string store_id;        // either a store ...
  std::string online_country;  // ... or an online market
  int32_t quantity = 0;
};

// GDPR erasure of everything held about one customer (see Ingestor).
struct EraseCustomer {
  std::string customer_id;
  // Retention: erase only if the customer's last event is before this
  // (FAILED_PRECONDITION otherwise: it came back meanwhile), and drop only
  // later events dated before it. 0: an erasure on request.
  int64_t inactive_before_ms = 0;
  // Re-applying an earlier erasure (a restored checkpoint): its original
  // times. 0: now, and now plus the clock skew.
  int64_t erased_at_ms = 0;
  int64_t suppress_through_ms = 0;
};
// A suppression record alone (an erasure re-applied to a database that
// holds nothing of the customer): their later events stay dropped.
struct Suppress {
  std::string subject_hash;  // raw keyed hash (keys::Suppression)
  int64_t erased_at_ms = 0;
  int64_t suppress_through_ms = 0;
};
// Changes only the given consents; the other attributes are kept.
struct SetConsent {
  std::string customer_id;
  std::optional<bool> personalization;
  std::optional<bool> marketing_email;
};

struct RecordEvents {
  std::vector<RawEvent> events;
};
struct UpsertCustomers {
  std::vector<CustomerUpsert> customers;
};
struct UpsertProducts {
  std::vector<core::Product> products;
};  // category/listed ignored
struct UpsertStores {
  std::vector<StoreUpsert> stores;
};
struct SetStock {
  std::vector<StockUpdate> levels;
};

// Saves the offer ledger (LiveState::offers), which lives in memory, so
// that cap counts survive a restart (recovery loads it).
struct SaveOfferLedger {};

// Decisions served to assigned customers (core/decision_log.h): the writer
// drains the log into this command itself.
struct RecordDecisions {
  std::vector<core::ServedDecision> decisions;
};
// Drops stored decisions older than `before_ms` (past the attribution
// window: they can no longer be attributed).
struct PruneDecisions {
  int64_t before_ms = 0;
};

using Command = std::variant<RecordEvents, UpsertCustomers, UpsertProducts, UpsertStores, SetStock,
                             EraseCustomer, SetConsent, Suppress, SaveOfferLedger, RecordDecisions,
                             PruneDecisions>;

// What an erasure removed (the receipt's facts).
struct Erasure {
  std::string subject_hash;  // keyed hash of the id: the suppression record's key
  int64_t erased_at_ms = 0;
  int64_t suppress_through_ms = 0;  // later events dated up to this are dropped
  bool attributes = false;
  bool features = false;
  bool in_memory = false;
  int64_t events = 0;
  int64_t idempotency_keys = 0;
  int64_t offer_counters = 0;
};

struct WriteResult {
  int64_t accepted = 0;    // events recorded / items upserted
  int64_t duplicates = 0;  // events already recorded earlier
  // Events of an erased customer timestamped before the erasure: dropped.
  int64_t suppressed = 0;
  int64_t created = 0;    // UpsertProducts: new products (of accepted)
  int64_t unchanged = 0;  // UpsertProducts: equal to the catalog's (of accepted)
  Erasure erasure;                       // EraseCustomer
  bool consent_personalization = false;  // SetConsent: the consents now
  bool consent_marketing_email = false;
};

// Called once, on the writer thread, after the command is durable (OK) or
// rejected (nothing of it was written or published).
using WriteDone = std::function<void(absl::Status, WriteResult)>;

}  // namespace nextbest::storage
