#include "server/validation.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "server/enums.h"

namespace nextbest::server {
namespace {

constexpr core::TimeMs kYear2000Ms = 946'684'800'000;
constexpr int32_t kMaxQuantity = 100'000;
constexpr int64_t kMaxPriceMinor = 100'000'000;  // 1,000,000.00 per unit

absl::Status Invalid(const std::string& field, const std::string& rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", rule));
}

absl::Status ValidateMarket(const std::string& code, const std::string& field, const Limits& l) {
  if (std::find(l.markets.begin(), l.markets.end(), code) == l.markets.end()) {
    return Invalid(field, absl::StrCat("'", code, "' is not a served market (",
                                       absl::StrJoin(l.markets, ", "), ")"));
  }
  return absl::OkStatus();
}

// A size label ("M", "38", "134/140"): 1..32 bytes, no control characters.
absl::Status ValidateSize(const std::string& size, const std::string& field) {
  if (size.empty() || size.size() > 32) return Invalid(field, "must be 1..32 bytes");
  for (unsigned char c : size) {
    if (c < 0x20 || c == 0x7f) return Invalid(field, "contains a control character");
  }
  return absl::OkStatus();
}

absl::Status ValidateSizes(const google::protobuf::RepeatedPtrField<std::string>& sizes,
                           const std::string& field) {
  if (sizes.size() > 50) return Invalid(field, "at most 50 sizes");
  for (int i = 0; i < sizes.size(); ++i) {
    RETURN_IF_ERROR(ValidateSize(sizes[i], absl::StrCat(field, "[", i, "]")));
  }
  return absl::OkStatus();
}

absl::Status ValidateOptionalId(const std::string& id, const std::string& field, const Limits& l) {
  return id.empty() ? absl::OkStatus() : ValidateId(id, field, l);
}

// Free text shown to people or matched by rules (names, brands, category
// levels, tags, cities): at most `max_bytes`, no control characters (NUL
// included). Empty is allowed unless `required`.
absl::Status ValidateText(const std::string& text, const std::string& field, size_t max_bytes,
                          bool required = false) {
  if (text.empty()) return required ? Invalid(field, "required") : absl::OkStatus();
  if (text.size() > max_bytes) return Invalid(field, absl::StrCat("at most ", max_bytes, " bytes"));
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return Invalid(field, "contains a control character");
  }
  return absl::OkStatus();
}

constexpr size_t kMaxNameBytes = 512;
constexpr size_t kMaxLabelBytes = 128;  // brand, category level, store name, city
constexpr size_t kMaxTagBytes = 64;
constexpr int kMaxTags = 64;
constexpr int kMaxCategoryLevels = 8;

absl::Status ValidateMoney(const v1::Money& m, bool present, const std::string& field,
                           const Limits& l) {
  if (!present) return Invalid(field, "required");
  if (m.currency() != l.currency) {
    return Invalid(field + ".currency",
                   absl::StrCat("must be ", l.currency, ", got '", m.currency(), "'"));
  }
  if (m.amount_minor() < 0) return Invalid(field + ".amount_minor", "must be >= 0");
  if (m.amount_minor() > kMaxPriceMinor) {
    return Invalid(field + ".amount_minor", absl::StrCat("must be <= ", kMaxPriceMinor));
  }
  return absl::OkStatus();
}

absl::StatusOr<storage::RawEvent> ToRawEvent(const v1::Event& e, const std::string& f,
                                             const Limits& l, core::TimeMs now) {
  storage::RawEvent r;
  RETURN_IF_ERROR(ValidateId(e.event_id(), f + ".event_id", l));
  RETURN_IF_ERROR(ValidateId(e.customer_id(), f + ".customer_id", l));
  if (e.type() == v1::EVENT_TYPE_UNSPECIFIED) return Invalid(f + ".type", "required");
  if (!v1::EventType_IsValid(e.type())) {
    return Invalid(f + ".type", absl::StrCat("unknown value ", e.type()));
  }
  if (!e.has_time()) return Invalid(f + ".time", "required");
  RETURN_IF_ERROR(ValidateTimestamp(e.time(), f + ".time"));
  r.time = ToTimeMs(e.time());
  if (r.time < kYear2000Ms) return Invalid(f + ".time", "must be after 2000-01-01");
  if (r.time > now + l.max_future_skew_ms) {
    return Invalid(f + ".time", "must not be more than 24h ahead of the server clock");
  }
  if (e.channel() == v1::CHANNEL_UNSPECIFIED) return Invalid(f + ".channel", "required");
  if (!v1::Channel_IsValid(e.channel())) {
    return Invalid(f + ".channel", absl::StrCat("unknown value ", e.channel()));
  }
  RETURN_IF_ERROR(ValidateOptionalId(e.store_id(), f + ".store_id", l));
  if (!e.country().empty()) RETURN_IF_ERROR(ValidateMarket(e.country(), f + ".country", l));
  if (e.quantity() < 0) return Invalid(f + ".quantity", "must be >= 0");
  if (e.quantity() > kMaxQuantity)
    return Invalid(f + ".quantity", absl::StrCat("must be <= ", kMaxQuantity));

  RETURN_IF_ERROR(ValidateOptionalId(e.offer_id(), f + ".offer_id", l));
  RETURN_IF_ERROR(ValidateOptionalId(e.placement(), f + ".placement", l));

  r.event_id = e.event_id();
  r.customer_id = e.customer_id();
  r.type = ToCore(e.type());
  r.channel = ToCore(e.channel());
  r.store_id = e.store_id();
  r.country = e.country();
  r.quantity = e.quantity();
  r.offer_id = e.offer_id();
  r.placement = e.placement();
  if (!e.decision_id().empty() && !core::DecisionId::Parse(e.decision_id()).has_value()) {
    return Invalid(f + ".decision_id", "32 lowercase hex digits (RecommendResponse.decision_id)");
  }
  r.decision_id = e.decision_id();
  if (e.position() < 0 || e.position() > 1000) return Invalid(f + ".position", "must be 0..1000");
  r.position = e.position();

  // Over the core type (validated above): every type is listed, so a new one
  // does not compile until its fields are checked here.
  switch (r.type) {
    case core::EventType::kView:
    case core::EventType::kAddToCart:
    case core::EventType::kRemoveFromCart:
      RETURN_IF_ERROR(ValidateId(e.product_id(), f + ".product_id", l));
      r.product_id = e.product_id();
      if (r.quantity == 0 && r.type != core::EventType::kView) r.quantity = 1;
      break;
    case core::EventType::kPurchase:
    case core::EventType::kReturn: {
      if (!e.has_order() || e.order().lines_size() == 0) {
        return Invalid(f + ".order.lines", "at least one line required");
      }
      if (e.order().lines_size() > 1000) return Invalid(f + ".order.lines", "at most 1000 lines");
      RETURN_IF_ERROR(ValidateOptionalId(e.order().order_id(), f + ".order.order_id", l));
      r.order_id = e.order().order_id();
      for (int i = 0; i < e.order().lines_size(); ++i) {
        const v1::OrderLine& line = e.order().lines(i);
        const std::string lf = absl::StrCat(f, ".order.lines[", i, "]");
        RETURN_IF_ERROR(ValidateId(line.product_id(), lf + ".product_id", l));
        if (line.quantity() <= 0) return Invalid(lf + ".quantity", "must be > 0");
        if (line.quantity() > kMaxQuantity) {
          return Invalid(lf + ".quantity", absl::StrCat("must be <= ", kMaxQuantity));
        }
        RETURN_IF_ERROR(
            ValidateMoney(line.unit_price(), line.has_unit_price(), lf + ".unit_price", l));
        if (!line.size().empty()) RETURN_IF_ERROR(ValidateSize(line.size(), lf + ".size"));
        r.lines.push_back(
            {line.product_id(), line.quantity(), line.unit_price().amount_minor(), line.size()});
      }
      break;
    }
    case core::EventType::kProductImpression:
    case core::EventType::kProductClick:
      RETURN_IF_ERROR(ValidateId(e.product_id(), f + ".product_id", l));
      RETURN_IF_ERROR(ValidateId(e.placement(), f + ".placement", l));
      if (e.decision_id().empty()) return Invalid(f + ".decision_id", "required");
      if (e.position() <= 0)
        return Invalid(f + ".position", "required: the item's 1-based position");
      r.product_id = e.product_id();
      break;
    case core::EventType::kOfferImpression:
    case core::EventType::kOfferClick:
      RETURN_IF_ERROR(ValidateId(e.offer_id(), f + ".offer_id", l));
      RETURN_IF_ERROR(ValidateOptionalId(e.product_id(), f + ".product_id", l));
      r.product_id = e.product_id();
      break;
    case core::EventType::kContact:
      // The channel is what the contact policy counts it on.
      if (r.channel == core::Channel::kUnspecified) {
        return Invalid(f + ".channel", "required for a contact (EMAIL, CALL_CENTER, PUSH, SMS...)");
      }
      RETURN_IF_ERROR(ValidateOptionalId(e.placement(), f + ".placement", l));
      break;
    case core::EventType::kComplaint:
      break;
  }
  return r;
}

}  // namespace

absl::Status ValidateTimestamp(const google::protobuf::Timestamp& t, const std::string& field) {
  // Timestamp's own range, 0001-01-01 to 9999-12-31 (beyond it the
  // conversion to milliseconds would overflow).
  if (t.seconds() < -62'135'596'800 || t.seconds() > 253'402'300'799) {
    return Invalid(field + ".seconds", "must be within 0001-01-01..9999-12-31");
  }
  if (t.nanos() < 0 || t.nanos() > 999'999'999)
    return Invalid(field + ".nanos", "must be 0..999999999");
  return absl::OkStatus();
}

absl::Status PrefixField(absl::string_view prefix, const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(prefix, s.message()));
}

core::TimeMs ToTimeMs(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1'000'000;
}

google::protobuf::Timestamp FromTimeMs(core::TimeMs ms) {
  google::protobuf::Timestamp t;
  int64_t s = ms / 1000;
  int64_t rem = ms % 1000;
  if (rem < 0) {
    --s;
    rem += 1000;
  }
  t.set_seconds(s);
  t.set_nanos(static_cast<int32_t>(rem * 1'000'000));
  return t;
}

absl::Status ValidateId(const std::string& id, const std::string& field, const Limits& l) {
  if (id.empty()) return Invalid(field, "required");
  if (id.size() > l.max_id_bytes)
    return Invalid(field, absl::StrCat("longer than ", l.max_id_bytes, " bytes"));
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) return Invalid(field, "contains a control character");
  }
  return absl::OkStatus();
}

absl::StatusOr<storage::RecordEvents> ToRecordEvents(
    const google::protobuf::RepeatedPtrField<v1::Event>& events, const Limits& l,
    core::TimeMs now) {
  if (events.empty()) return Invalid("events", "at least one event required");
  if (events.size() > l.max_events_per_request) {
    return Invalid("events", absl::StrCat("at most ", l.max_events_per_request, " per request"));
  }
  storage::RecordEvents out;
  out.events.reserve(events.size());
  for (int i = 0; i < events.size(); ++i) {
    ASSIGN_OR_RETURN(storage::RawEvent e,
                     ToRawEvent(events[i], absl::StrCat("events[", i, "]"), l, now));
    out.events.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<storage::UpsertCustomers> ToUpsertCustomers(const v1::UpsertCustomersRequest& r,
                                                           const Limits& l, core::TimeMs now) {
  if (r.customers().empty()) return Invalid("customers", "at least one customer required");
  if (r.customers_size() > l.max_items_per_request) {
    return Invalid("customers", absl::StrCat("at most ", l.max_items_per_request, " per request"));
  }
  const int64_t this_year = 1970 + now / (365.2425 * core::kMsPerDay);
  storage::UpsertCustomers out;
  for (int i = 0; i < r.customers_size(); ++i) {
    const v1::Customer& c = r.customers(i);
    const std::string f = absl::StrCat("customers[", i, "]");
    RETURN_IF_ERROR(ValidateId(c.customer_id(), f + ".customer_id", l));
    if (!c.country().empty()) RETURN_IF_ERROR(ValidateMarket(c.country(), f + ".country", l));
    RETURN_IF_ERROR(ValidateOptionalId(c.home_store_id(), f + ".home_store_id", l));
    RETURN_IF_ERROR(ValidateText(c.language(), f + ".language", 16));
    if (c.birth_year() != 0 && (c.birth_year() < 1900 || c.birth_year() > this_year)) {
      return Invalid(f + ".birth_year", absl::StrCat("must be 0 (unknown) or 1900..", this_year));
    }
    if (c.sizes_size() > 20) return Invalid(f + ".sizes", "at most 20 size preferences");
    std::vector<core::SizePreference> sizes;
    for (int j = 0; j < c.sizes_size(); ++j) {
      const v1::SizePreference& sp = c.sizes(j);
      const std::string sf = absl::StrCat(f, ".sizes[", j, "]");
      RETURN_IF_ERROR(
          ValidateText(sp.category(), sf + ".category", kMaxNameBytes, /*required=*/true));
      if (sp.category().front() == '/' || sp.category().back() == '/') {
        return Invalid(sf + ".category", "must not start or end with '/'");
      }
      if (sp.sizes().empty()) return Invalid(sf + ".sizes", "at least one size required");
      RETURN_IF_ERROR(ValidateSizes(sp.sizes(), sf + ".sizes"));
      sizes.push_back({sp.category(), {sp.sizes().begin(), sp.sizes().end()}});
    }
    out.customers.push_back({c.customer_id(), c.country(), c.home_store_id(), c.language(),
                             c.birth_year(), c.loyalty_member(), c.consent().personalization(),
                             c.consent().marketing_email(), std::move(sizes)});
  }
  return out;
}

absl::StatusOr<storage::UpsertProducts> ToUpsertProducts(const v1::UpsertProductsRequest& r,
                                                         const Limits& l) {
  if (r.products().empty()) return Invalid("products", "at least one product required");
  if (r.products_size() > l.max_items_per_request) {
    return Invalid("products", absl::StrCat("at most ", l.max_items_per_request, " per request"));
  }
  storage::UpsertProducts out;
  for (int i = 0; i < r.products_size(); ++i) {
    const v1::Product& p = r.products(i);
    const std::string f = absl::StrCat("products[", i, "]");
    RETURN_IF_ERROR(ValidateId(p.product_id(), f + ".product_id", l));
    RETURN_IF_ERROR(ValidateText(p.name(), f + ".name", kMaxNameBytes, /*required=*/true));
    if (p.category_path().empty())
      return Invalid(f + ".category_path", "at least one level required");
    if (p.category_path_size() > kMaxCategoryLevels) {
      return Invalid(f + ".category_path", absl::StrCat("at most ", kMaxCategoryLevels, " levels"));
    }
    for (int j = 0; j < p.category_path_size(); ++j) {
      const std::string& level = p.category_path(j);
      const std::string lf = absl::StrCat(f, ".category_path[", j, "]");
      RETURN_IF_ERROR(ValidateText(level, lf, kMaxLabelBytes, /*required=*/true));
      if (level.find('/') != std::string::npos) return Invalid(lf, "must not contain '/'");
    }
    RETURN_IF_ERROR(ValidateMoney(p.price(), p.has_price(), f + ".price", l));
    RETURN_IF_ERROR(ValidateText(p.brand(), f + ".brand", kMaxLabelBytes));
    RETURN_IF_ERROR(ValidateSizes(p.sizes(), f + ".sizes"));
    if (p.tags_size() > kMaxTags)
      return Invalid(f + ".tags", absl::StrCat("at most ", kMaxTags, " tags"));
    for (int j = 0; j < p.tags_size(); ++j) {
      RETURN_IF_ERROR(ValidateText(p.tags(j), absl::StrCat(f, ".tags[", j, "]"), kMaxTagBytes,
                                   /*required=*/true));
    }
    if (p.has_available_from())
      RETURN_IF_ERROR(ValidateTimestamp(p.available_from(), f + ".available_from"));
    core::Product prod;
    prod.id = p.product_id();
    prod.name = p.name();
    prod.brand = p.brand();
    prod.category_path.assign(p.category_path().begin(), p.category_path().end());
    prod.price_minor = p.price().amount_minor();
    prod.sizes.assign(p.sizes().begin(), p.sizes().end());
    prod.tags.assign(p.tags().begin(), p.tags().end());
    prod.available_from = p.has_available_from() ? ToTimeMs(p.available_from()) : 0;
    prod.active = p.has_active() ? p.active() : true;
    out.products.push_back(std::move(prod));
  }
  return out;
}

absl::StatusOr<storage::UpsertStores> ToUpsertStores(const v1::UpsertStoresRequest& r,
                                                     const Limits& l) {
  if (r.stores().empty()) return Invalid("stores", "at least one store required");
  if (r.stores_size() > l.max_items_per_request) {
    return Invalid("stores", absl::StrCat("at most ", l.max_items_per_request, " per request"));
  }
  storage::UpsertStores out;
  for (int i = 0; i < r.stores_size(); ++i) {
    const v1::Store& s = r.stores(i);
    const std::string f = absl::StrCat("stores[", i, "]");
    RETURN_IF_ERROR(ValidateId(s.store_id(), f + ".store_id", l));
    if (s.country().empty()) return Invalid(f + ".country", "required");
    RETURN_IF_ERROR(ValidateMarket(s.country(), f + ".country", l));
    RETURN_IF_ERROR(ValidateText(s.name(), f + ".name", kMaxLabelBytes));
    RETURN_IF_ERROR(ValidateText(s.city(), f + ".city", kMaxLabelBytes));
    out.stores.push_back({s.store_id(), s.country(), s.name(), s.city()});
  }
  return out;
}

absl::StatusOr<storage::SetStock> ToSetStock(const v1::SetStockRequest& r, const Limits& l) {
  if (r.levels().empty()) return Invalid("levels", "at least one level required");
  if (r.levels_size() > l.max_items_per_request) {
    return Invalid("levels", absl::StrCat("at most ", l.max_items_per_request, " per request"));
  }
  storage::SetStock out;
  for (int i = 0; i < r.levels_size(); ++i) {
    const v1::StockLevel& s = r.levels(i);
    const std::string f = absl::StrCat("levels[", i, "]");
    RETURN_IF_ERROR(ValidateId(s.product_id(), f + ".product_id", l));
    storage::StockUpdate u{s.product_id(), "", "", s.quantity()};
    switch (s.location_case()) {
      case v1::StockLevel::kStoreId:
        RETURN_IF_ERROR(ValidateId(s.store_id(), f + ".store_id", l));
        u.store_id = s.store_id();
        break;
      case v1::StockLevel::kOnlineCountry:
        RETURN_IF_ERROR(ValidateMarket(s.online_country(), f + ".online_country", l));
        u.online_country = s.online_country();
        break;
      default:
        return Invalid(f + ".location", "store_id or online_country required");
    }
    if (s.quantity() < 0) return Invalid(f + ".quantity", "must be >= 0");
    out.levels.push_back(std::move(u));
  }
  return out;
}

absl::Status ValidateRecommend(const v1::RecommendRequest& r, const Limits& l) {
  // An empty customer id is an anonymous visitor: popular in context.
  RETURN_IF_ERROR(ValidateOptionalId(r.customer_id(), "customer_id", l));
  RETURN_IF_ERROR(ValidateOptionalId(r.request_id(), "request_id", l));
  if (!r.has_context()) return Invalid("context", "required");
  const v1::RecommendContext& c = r.context();
  if (c.placement().empty()) return Invalid("context.placement", "required");
  if (!v1::Channel_IsValid(c.channel())) {
    return Invalid("context.channel", absl::StrCat("unknown value ", c.channel()));
  }
  if (!c.country().empty()) RETURN_IF_ERROR(ValidateMarket(c.country(), "context.country", l));
  RETURN_IF_ERROR(ValidateOptionalId(c.store_id(), "context.store_id", l));
  RETURN_IF_ERROR(ValidateOptionalId(c.product_id(), "context.product_id", l));
  if (c.cart_product_ids_size() > l.max_cart_items) {
    return Invalid("context.cart_product_ids",
                   absl::StrCat("at most ", l.max_cart_items, " items"));
  }
  for (int i = 0; i < c.cart_product_ids_size(); ++i) {
    RETURN_IF_ERROR(
        ValidateId(c.cart_product_ids(i), absl::StrCat("context.cart_product_ids[", i, "]"), l));
  }
  if (c.exclude_product_ids_size() > l.max_exclude_items) {
    return Invalid("context.exclude_product_ids",
                   absl::StrCat("at most ", l.max_exclude_items, " items"));
  }
  for (int i = 0; i < c.exclude_product_ids_size(); ++i) {
    RETURN_IF_ERROR(ValidateId(c.exclude_product_ids(i),
                               absl::StrCat("context.exclude_product_ids[", i, "]"), l));
  }
  if (c.count() < 0) return Invalid("context.count", "must be >= 0");
  if (c.has_time()) RETURN_IF_ERROR(ValidateTimestamp(c.time(), "context.time"));
  return absl::OkStatus();
}

absl::Status ValidateDecideForAll(const v1::DecideForAllRequest& r) {
  if (r.placement().empty()) return Invalid("placement", "required");
  if (!v1::Channel_IsValid(r.channel())) {
    return Invalid("channel", absl::StrCat("unknown value ", r.channel()));
  }
  if (r.count() < 0) return Invalid("count", "must be >= 0");
  if (r.max_customers() < 0) return Invalid("max_customers", "must be >= 0");
  if (r.has_time()) RETURN_IF_ERROR(ValidateTimestamp(r.time(), "time"));
  return absl::OkStatus();
}

absl::StatusOr<storage::SetConsent> ToSetConsent(const v1::SetConsentRequest& r,
                                                 const Limits& limits) {
  RETURN_IF_ERROR(ValidateId(r.customer_id(), "customer_id", limits));
  if (!r.has_personalization() && !r.has_marketing_email()) {
    return absl::InvalidArgumentError("personalization, marketing_email: give at least one");
  }
  storage::SetConsent c;
  c.customer_id = r.customer_id();
  if (r.has_personalization()) c.personalization = r.personalization();
  if (r.has_marketing_email()) c.marketing_email = r.marketing_email();
  return c;
}

}  // namespace nextbest::server
