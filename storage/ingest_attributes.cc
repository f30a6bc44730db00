// The writer's commands about customers' attributes, the catalog and
// stock, and the offer ledger.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "storage/codec.h"
#include "storage/ingest_group.h"
#include "storage/ingestor.h"
#include "storage/keys.h"
#include "storage/rocks_status.h"

namespace nextbest::storage {

absl::Status Ingestor::Apply(const UpsertCustomers& c, Group& g, WriteResult& r) {
  const core::Catalog& catalog = g.catalog().current();
  for (size_t i = 0; i < c.customers.size(); ++i) {
    const CustomerUpsert& u = c.customers[i];
    if (!u.home_store_id.empty() && !catalog.FindStore(u.home_store_id)) {
      return absl::NotFoundError(
          absl::StrCat("customers[", i, "].home_store_id: unknown store '", u.home_store_id, "'"));
    }
  }
  const int64_t now = clock_->Now();
  for (const CustomerUpsert& u : c.customers) {
    v1::CustomerRecord rec = codec::AttributesToRecord(u, now);
    core::CustomerState& state = g.Customer(u.customer_id, /*features_changed=*/false);
    state.attributes = codec::AttributesFromRecord(rec, catalog);
    g.PutCustomerRecord(u.customer_id, rec);
    ++r.accepted;
  }
  return absl::OkStatus();
}

absl::Status Ingestor::Apply(const UpsertProducts& c, Group& g, WriteResult& r) {
  for (const core::Product& p : c.products) {
    std::string record = codec::ProductToRecord(p).SerializeAsString();
    ++r.accepted;
    const core::Catalog& now = g.catalog().current();
    const std::optional<core::ProductIndex> existing = now.FindProduct(p.id);
    if (!existing.has_value() || !now.product(*existing).listed) {
      ++r.created;
    } else if (codec::ProductToRecord(now.product(*existing)).SerializeAsString() == record) {
      ++r.unchanged;  // a feed sent again: nothing to write or publish
      continue;
    }
    g.batch().Put(store_->handle(Cf::kProducts), p.id, record);
    g.catalog().UpsertProduct(p);
  }
  return absl::OkStatus();
}

absl::Status Ingestor::Apply(const UpsertStores& c, Group& g, WriteResult& r) {
  for (const StoreUpsert& s : c.stores) {
    core::CatalogBuilder& cat = g.catalog();
    const core::StoreIndex ordinal =
        cat.UpsertStore({s.store_id, cat.current().FindMarket(s.country).value_or(core::kNoCountry),
                         s.name, s.city});
    v1::StoreRecord rec;
    rec.set_country(s.country);
    rec.set_name(s.name);
    rec.set_city(s.city);
    rec.set_ordinal(ordinal);
    g.batch().Put(store_->handle(Cf::kStores), s.store_id, rec.SerializeAsString());
    ++r.accepted;
  }
  return absl::OkStatus();
}

absl::Status Ingestor::Apply(const SetStock& c, Group& g, WriteResult& r) {
  const core::Catalog& before = g.catalog().current();
  for (size_t i = 0; i < c.levels.size(); ++i) {
    const StockUpdate& u = c.levels[i];
    auto p = before.FindProduct(u.product_id);
    if (!p.has_value() || !before.product(*p).listed) {
      return absl::NotFoundError(absl::StrCat("levels[", i, "].product_id: unknown product '",
                                              u.product_id, "' (upsert it first)"));
    }
    if (!u.store_id.empty() && !before.FindStore(u.store_id)) {
      return absl::NotFoundError(
          absl::StrCat("levels[", i, "].store_id: unknown store '", u.store_id, "'"));
    }
  }
  core::CatalogBuilder& cat = g.catalog();
  std::vector<core::ProductIndex> touched;
  for (const StockUpdate& u : c.levels) {
    const core::ProductIndex p = *cat.current().FindProduct(u.product_id);
    if (!u.store_id.empty()) {
      cat.SetStoreStock(p, *cat.current().FindStore(u.store_id), u.quantity > 0);
    } else {
      cat.SetOnlineStock(p, *cat.current().FindMarket(u.online_country), u.quantity > 0);
    }
    touched.push_back(p);
    ++r.accepted;
  }
  // One record per product holds its availability everywhere.
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  const core::Catalog& after = cat.current();
  for (core::ProductIndex p : touched) {
    v1::StockRecord rec;
    for (uint64_t w : after.StoreStockBits(p)) rec.add_store_bits(w);
    const uint16_t online = after.OnlineStockMask(p);
    for (size_t m = 0; m < after.market_count(); ++m) {
      if ((online >> m) & 1)
        rec.add_online_markets(after.market_code(static_cast<core::CountryIndex>(m)));
    }
    g.batch().Put(store_->handle(Cf::kStock), after.product(p).id, rec.SerializeAsString());
  }
  return absl::OkStatus();
}

absl::Status Ingestor::Apply(const SaveOfferLedger&, Group& g, WriteResult& r) {
  g.batch().Put(store_->handle(Cf::kMeta), keys::kOfferLedgerMetaKey, live_->offers.Serialize());
  ++r.accepted;
  return absl::OkStatus();
}

absl::Status Ingestor::Apply(const SetConsent& c, Group& g, WriteResult& r) {
  ASSIGN_OR_RETURN(std::optional<v1::CustomerRecord> record, g.CustomerRecord(c.customer_id));
  if (!record.has_value() && !g.InMemory(c.customer_id)) {
    return absl::NotFoundError(absl::StrCat("customer_id: unknown customer '", c.customer_id, "'"));
  }
  v1::CustomerRecord rec = record.value_or(v1::CustomerRecord());
  if (c.personalization.has_value()) rec.set_consent_personalization(*c.personalization);
  if (c.marketing_email.has_value()) rec.set_consent_marketing_email(*c.marketing_email);
  rec.set_updated_ms(clock_->Now());
  core::CustomerState& state = g.Customer(c.customer_id, /*features_changed=*/false);
  state.attributes = codec::AttributesFromRecord(rec, g.catalog().current());
  g.PutCustomerRecord(c.customer_id, rec);
  r.consent_personalization = rec.consent_personalization();
  r.consent_marketing_email = rec.consent_marketing_email();
  ++r.accepted;
  return absl::OkStatus();
}

}  // namespace nextbest::storage
