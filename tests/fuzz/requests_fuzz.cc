// Fuzz target: request validation and conversion of every RPC's request
// message, and Recommend's whole decision path behind it.
//
// Input: one selector byte, then the serialized request message of the RPC
// it names (see the switch below; 0-9). Whatever the bytes, validation must answer (never crash,
// hang or hit undefined behaviour), a rejection must be INVALID_ARGUMENT naming a field, and an
// accepted request must convert to a command that keeps the documented limits (ids 1..128 bytes
// without control characters, times from 2000 to 24 h ahead, quantities and prices in range). An
// accepted Recommend is then decided against a small live catalog with the shipped placements, as
// the server does it.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/features.h"
#include "core/live_state.h"
#include "core/trending.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/services.h"
#include "server/validation.h"
#include "storage/codec.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_world.h"

namespace nextbest::server {
namespace {

using fuzz::kNow;
constexpr core::TimeMs kYear2000Ms = 946'684'800'000;

Limits FuzzLimits() {
  Limits l;
  l.markets = {"NL", "BE"};
  l.max_events_per_request = 50;
  l.max_items_per_request = 50;
  return l;
}

// Free text within `max` bytes and without control characters.
bool GoodText(const std::string& text, size_t max) {
  if (text.size() > max) return false;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool GoodId(const std::string& id, const Limits& l) { return ValidateId(id, "id", l).ok(); }

void CheckRejection(const absl::Status& s) {
  FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  // "field: rule" — the message names the field first.
  FUZZ_CHECK(s.message().find(": ") != absl::string_view::npos);
  FUZZ_CHECK(s.message().find(": ") > 0);
}

// The small world (tests/fuzz/fuzz_world.h) with the shipped placements
// and offers, and the Recommend handler over it.
struct World {
  core::LiveState live;
  core::ManualClock clock{kNow};
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<DecisionServiceImpl> decisions;

  World() {
    fuzz::BuildWorld(live);
    absl::StatusOr<ServiceConfig> config = ParseConfig("markets: 'NL' markets: 'BE'");
    FUZZ_CHECK(config.ok());
    std::vector<std::string> placement_ids;
    for (const auto& p : config->decisions.placements) placement_ids.push_back(p.id);
    FUZZ_CHECK(fuzz::PublishConfig(live, std::move(config->decisions)).ok());
    metrics = std::make_unique<Metrics>(placement_ids);
    ServiceDeps deps;
    deps.live = &live;
    deps.ingestor = nullptr;  // reads only
    deps.metrics = metrics.get();
    deps.clock = &clock;
    deps.limits = FuzzLimits();
    decisions = std::make_unique<DecisionServiceImpl>(deps);
  }
};

World& TheWorld() {
  static World* world = new World();  // lives for the process
  return *world;
}

void CheckEvents(const absl::StatusOr<storage::RecordEvents>& r, const Limits& l, int given) {
  if (!r.ok()) return CheckRejection(r.status());
  FUZZ_CHECK(static_cast<int>(r->events.size()) == given);
  for (const storage::RawEvent& e : r->events) {
    FUZZ_CHECK(GoodId(e.event_id, l));
    FUZZ_CHECK(GoodId(e.customer_id, l));
    FUZZ_CHECK(e.time >= kYear2000Ms && e.time <= kNow + l.max_future_skew_ms);
    FUZZ_CHECK(e.channel != core::Channel::kUnspecified);
    FUZZ_CHECK(e.quantity >= 0);
    FUZZ_CHECK(e.offer_id.empty() || GoodId(e.offer_id, l));
    FUZZ_CHECK(e.placement.empty() || GoodId(e.placement, l));
    for (const storage::RawOrderLine& line : e.lines) {
      FUZZ_CHECK(GoodId(line.product_id, l));
      FUZZ_CHECK(line.quantity > 0);
      FUZZ_CHECK(line.unit_price_minor >= 0);
    }
    // What the writer stores decodes to the same payload.
    const storage::v1::EventRecord record = storage::codec::EventToRecord(e);
    storage::v1::EventRecord back;
    FUZZ_CHECK(back.ParseFromString(record.SerializeAsString()));
    FUZZ_CHECK(storage::codec::PayloadHash(back) == storage::codec::PayloadHash(record));
  }
}

template <typename Message>
bool ParseInto(const uint8_t* data, size_t size, Message& m) {
  return m.ParseFromArray(data, static_cast<int>(size));
}

}  // namespace
}  // namespace nextbest::server

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nextbest::server;  // NOLINT
  namespace v1 = nextbest::v1;
  if (size < 1 || size > 64 * 1024) return 0;
  const Limits limits = FuzzLimits();
  const uint8_t selector = data[0] % 10;
  ++data;
  --size;
  switch (selector) {
    case 0: {  // EventService.RecordEvents
      v1::RecordEventsRequest r;
      if (!ParseInto(data, size, r)) return 0;
      CheckEvents(ToRecordEvents(r.events(), limits, kNow), limits, r.events_size());
      break;
    }
    case 1: {  // EventService.StreamEvents, one chunk
      v1::StreamEventsRequest r;
      if (!ParseInto(data, size, r)) return 0;
      CheckEvents(ToRecordEvents(r.events(), limits, kNow), limits, r.events_size());
      break;
    }
    case 2: {  // CustomerService.UpsertCustomers
      v1::UpsertCustomersRequest r;
      if (!ParseInto(data, size, r)) return 0;
      auto c = ToUpsertCustomers(r, limits, kNow);
      if (!c.ok()) {
        CheckRejection(c.status());
      } else {
        FUZZ_CHECK(static_cast<int>(c->customers.size()) == r.customers_size());
        for (const auto& u : c->customers) FUZZ_CHECK(GoodId(u.customer_id, limits));
      }
      break;
    }
    case 3: {  // CatalogService.UpsertProducts
      v1::UpsertProductsRequest r;
      if (!ParseInto(data, size, r)) return 0;
      auto c = ToUpsertProducts(r, limits);
      if (!c.ok()) {
        CheckRejection(c.status());
      } else {
        FUZZ_CHECK(static_cast<int>(c->products.size()) == r.products_size());
        for (const auto& p : c->products) {
          FUZZ_CHECK(GoodId(p.id, limits));
          FUZZ_CHECK(!p.category_path.empty() && p.category_path.size() <= 8);
          for (const auto& level : p.category_path)
            FUZZ_CHECK(!level.empty() && GoodText(level, 128));
          FUZZ_CHECK(GoodText(p.name, 512) && GoodText(p.brand, 128));
          FUZZ_CHECK(p.tags.size() <= 64);
          for (const auto& tag : p.tags) FUZZ_CHECK(!tag.empty() && GoodText(tag, 64));
          FUZZ_CHECK(p.price_minor >= 0);
        }
      }
      break;
    }
    case 4: {  // CatalogService.UpsertStores
      v1::UpsertStoresRequest r;
      if (!ParseInto(data, size, r)) return 0;
      auto c = ToUpsertStores(r, limits);
      if (!c.ok()) {
        CheckRejection(c.status());
      } else {
        for (const auto& s : c->stores) {
          FUZZ_CHECK(GoodId(s.store_id, limits));
          FUZZ_CHECK(GoodText(s.name, 128) && GoodText(s.city, 128));
        }
      }
      break;
    }
    case 5: {  // CatalogService.SetStock
      v1::SetStockRequest r;
      if (!ParseInto(data, size, r)) return 0;
      auto c = ToSetStock(r, limits);
      if (!c.ok()) {
        CheckRejection(c.status());
      } else {
        for (const auto& s : c->levels) {
          FUZZ_CHECK(GoodId(s.product_id, limits));
          FUZZ_CHECK(s.store_id.empty() != s.online_country.empty());
          FUZZ_CHECK(s.quantity >= 0);
        }
      }
      break;
    }
    case 6: {  // DecisionService.Recommend: validation, then the decision
      v1::RecommendRequest r;
      if (!ParseInto(data, size, r)) return 0;
      const absl::Status shape = ValidateRecommend(r, limits);
      if (!shape.ok()) {
        CheckRejection(shape);
        break;
      }
      // Decisions for the small world's customers, not random ids.
      if (!r.customer_id().empty())
        r.set_customer_id(absl::StrCat("c", r.customer_id().size() % 5));
      v1::RecommendResponse response;
      const absl::Status s = TheWorld().decisions->Decide(r, response);
      if (!s.ok()) {
        FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument ||
                   s.code() == absl::StatusCode::kNotFound);
        break;
      }
      FUZZ_CHECK(response.items_size() <= std::max(r.context().count(), 50));
      for (const auto& item : response.items()) {
        // No cart item, no excluded item, ever.
        for (const auto& id : r.context().cart_product_ids())
          FUZZ_CHECK(item.product_id() != id || id.empty());
        for (const auto& id : r.context().exclude_product_ids())
          FUZZ_CHECK(item.product_id() != id || id.empty());
      }
      break;
    }
    case 7: {  // PrivacyService.SetConsent / EraseCustomer / ExportCustomer,
               // CustomerService.GetProfile
      v1::SetConsentRequest r;
      if (!ParseInto(data, size, r)) return 0;
      const absl::Status s = ValidateId(r.customer_id(), "customer_id", limits);
      if (!s.ok()) CheckRejection(s);
      break;
    }
    case 9: {  // DecisionService.DecideForAll (the newsletter run)
      v1::DecideForAllRequest r;
      if (!ParseInto(data, size, r)) return 0;
      const absl::Status s = ValidateDecideForAll(r);
      if (!s.ok()) {
        CheckRejection(s);
      } else {
        FUZZ_CHECK(v1::Channel_IsValid(r.channel()) && r.count() >= 0 && r.max_customers() >= 0);
        if (r.has_time()) (void)ToTimeMs(r.time());  // in range: no overflow
      }
      break;
    }
    case 8: {  // timestamps on their own: conversion never overflows
      v1::Event e;
      if (!ParseInto(data, size, e)) return 0;
      google::protobuf::RepeatedPtrField<v1::Event> one;
      *one.Add() = e;
      CheckEvents(ToRecordEvents(one, limits, kNow), limits, 1);
      break;
    }
  }
  return 0;
}
