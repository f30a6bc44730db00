#pragma once
// What the writer is asked to do: validated requests with string ids, as
// the server's adapters produce them from the wire messages. The writer
// interns ids, applies them to the in-memory state and persists them.

#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "core/catalog.h"
#include "core/types.h"

namespace nextbest::storage {

struct RawOrderLine {
  std::string product_id;
  int32_t quantity = 0;
  int64_t unit_price_minor = 0;
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

struct RecordEvents { std::vector<RawEvent> events; };
struct UpsertCustomers { std::vector<CustomerUpsert> customers; };
struct UpsertProducts { std::vector<core::Product> products; };  // category/listed ignored
struct UpsertStores { std::vector<StoreUpsert> stores; };
struct SetStock { std::vector<StockUpdate> levels; };

using Command = std::variant<RecordEvents, UpsertCustomers, UpsertProducts, UpsertStores, SetStock>;

struct WriteResult {
  int64_t accepted = 0;    // events recorded / items upserted
  int64_t duplicates = 0;  // events already recorded earlier
};

// Called once, on the writer thread, after the command is durable (OK) or
// rejected (nothing of it was written or published).
using WriteDone = std::function<void(absl::Status, WriteResult)>;

}  // namespace nextbest::storage
