#include "server/convert.h"

#include "server/validation.h"

namespace nextbest::server {
namespace {
void SetMoney(int64_t minor, const std::string& currency, v1::Money* m) {
  m->set_amount_minor(minor);
  m->set_currency(currency);
}
bool Known(const core::Catalog& c, core::ProductIndex p) { return p < c.product_count(); }
}  // namespace

void FillProfile(const std::string& customer_id, const core::CustomerState& state,
                 const core::Catalog& catalog, const core::FeatureOptions& options,
                 core::TimeMs now, v1::GetProfileResponse& out) {
  const core::CustomerAttributes& a = state.attributes;
  v1::Customer* c = out.mutable_customer();
  c->set_customer_id(customer_id);
  out.set_has_attributes(a.present);
  if (a.country != core::kNoCountry) c->set_country(catalog.market_code(a.country));
  if (a.home_store != core::kNoStore && a.home_store < catalog.store_count()) {
    c->set_home_store_id(catalog.store(a.home_store).id);
  }
  c->set_language(a.language);
  c->set_birth_year(a.birth_year);
  c->set_loyalty_member(a.loyalty_member);
  c->mutable_consent()->set_personalization(a.consent_personalization);
  c->mutable_consent()->set_marketing_email(a.consent_marketing_email);

  const core::CustomerFeatures& f = state.features;
  const core::RfmView rfm = core::ComputeRfm(f, now);
  v1::Features* pf = out.mutable_features();
  pf->set_events(f.events);
  if (f.first_seen != 0) *pf->mutable_first_seen() = FromTimeMs(f.first_seen);
  if (f.last_seen != 0) *pf->mutable_last_seen() = FromTimeMs(f.last_seen);
  pf->set_tenure_days(rfm.tenure_days);
  pf->set_days_since_last_purchase(rfm.days_since_last_purchase);
  pf->set_orders(rfm.orders);
  pf->set_orders_per_month(rfm.orders_per_month);
  SetMoney(rfm.total_spend_minor, catalog.currency(), pf->mutable_total_spend());
  SetMoney(rfm.average_order_value_minor, catalog.currency(), pf->mutable_average_order_value());
  for (int t = 1; t < core::kEventTypeSlots; ++t) {
    if (f.last_by_type[t] == 0) continue;
    auto* ls = pf->add_last_seen_by_type();
    ls->set_type(static_cast<v1::EventType>(t));
    *ls->mutable_time() = FromTimeMs(f.last_by_type[t]);
  }
  for (const auto& v : f.recently_viewed) {
    if (!Known(catalog, v.product)) continue;
    auto* rv = pf->add_recently_viewed();
    rv->set_product_id(catalog.product(v.product).id);
    *rv->mutable_time() = FromTimeMs(v.time);
  }
  for (const auto& a2 : core::TopAffinities(f, now, options.affinity_half_life_days, 10)) {
    if (a2.category >= catalog.category_count()) continue;
    auto* ca = pf->add_top_categories();
    ca->set_category(catalog.category_name(a2.category));
    ca->set_score(a2.score);
  }
  for (const auto& p : f.purchases) {
    if (!Known(catalog, p.product)) continue;
    auto* ph = pf->add_purchase_history();
    ph->set_product_id(catalog.product(p.product).id);
    ph->set_purchases(static_cast<int32_t>(p.count));
    *ph->mutable_first_purchase() = FromTimeMs(p.first);
    *ph->mutable_last_purchase() = FromTimeMs(p.last);
    ph->set_typical_interval_days(static_cast<double>(p.TypicalInterval()) / core::kMsPerDay);
  }
  *out.mutable_computed_at() = FromTimeMs(now);
}

void FillRecommendation(const core::Decision& d, const core::Catalog& catalog, core::TimeMs now,
                        v1::RecommendResponse& out) {
  out.set_personalized(d.personalized);
  if (d.fallback != core::FallbackReason::kNone) out.set_fallback_reason(core::FallbackReasonText(d.fallback));
  if (d.country < catalog.market_count()) out.set_country(catalog.market_code(d.country));
  *out.mutable_decided_at() = FromTimeMs(now);
  for (const core::DecidedItem& item : d.items) {
    const core::Product& p = catalog.product(item.product);
    v1::RecommendedItem* it = out.add_items();
    it->set_product_id(p.id);
    it->set_name(p.name);
    for (const auto& c : p.category_path) it->add_category_path(c);
    SetMoney(p.price_minor, catalog.currency(), it->mutable_price());
    it->set_score(item.score);
    it->set_source(static_cast<v1::Source>(item.source));
    core::DescribeReason(catalog, item, d.country, now, *it->mutable_reason());
  }
}

}  // namespace nextbest::server
