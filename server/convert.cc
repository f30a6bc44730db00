#include "server/convert.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "absl/strings/str_format.h"
#include "core/segments.h"
#include "server/validation.h"

namespace nextbest::server {
namespace {
void SetMoney(int64_t minor, const std::string& currency, v1::Money* m) {
  m->set_amount_minor(minor);
  m->set_currency(currency);
}
bool Known(const core::Catalog& c, core::ProductIndex p) { return p < c.product_count(); }

void FillFuture(const core::CustomerValue& v, const core::Catalog& catalog, v1::CustomerFuture& f) {
  f.set_p_alive(v.p_alive);
  f.set_churn_risk(core::ChurnRiskName(v.risk));
  f.set_expected_orders_30d(v.expected_orders_30);
  f.set_expected_orders_90d(v.expected_orders_90);
  f.set_expected_orders_365d(v.expected_orders_365);
  auto minor = [](double x) { return static_cast<int64_t>(std::llround(x)); };
  SetMoney(minor(v.expected_order_minor), catalog.currency(), f.mutable_expected_order_value());
  SetMoney(minor(v.clv_minor), catalog.currency(), f.mutable_clv());
  f.set_clv_months(v.clv_months);
  SetMoney(minor(v.clv_at_risk_minor), catalog.currency(), f.mutable_clv_at_risk());
  if (v.model_market < catalog.market_count()) {
    f.set_model_market(catalog.market_code(v.model_market));
  }
}
}  // namespace

void FillProfile(const std::string& customer_id, const core::CustomerState& state,
                 const core::Catalog& catalog, const core::FeatureOptions& options,
                 const core::DecisionConfig& config, const core::Models* models, core::TimeMs now,
                 v1::GetProfileResponse& out) {
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
  for (const core::SizePreference& sp : a.sizes) {
    v1::SizePreference* out_sp = c->add_sizes();
    out_sp->set_category(sp.category_prefix);
    for (const std::string& size : sp.sizes) out_sp->add_sizes(size);
  }

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
  for (int t = 1; t < core::kEventTypeCount; ++t) {
    if (f.last_by_type_s[t] == 0) continue;
    auto* ls = pf->add_last_seen_by_type();
    ls->set_type(ToWire(static_cast<core::EventType>(t)));
    *ls->mutable_time() = FromTimeMs(f.LastOfType(static_cast<core::EventType>(t)));
  }
  for (const auto& v : f.recently_viewed) {
    if (!Known(catalog, v.product)) continue;
    auto* rv = pf->add_recently_viewed();
    rv->set_product_id(catalog.product(v.product).id);
    *rv->mutable_time() = FromTimeMs(v.time());
  }
  for (const auto& a2 : core::TopAffinities(f, now, options.affinity_half_life_days, 10)) {
    if (a2.category >= catalog.category_count()) continue;
    auto* ca = pf->add_top_categories();
    ca->set_category(catalog.category_name(a2.category));
    ca->set_score(a2.score);
  }
  for (const auto& b : core::TopBrandAffinities(f, now, options.affinity_half_life_days, 10)) {
    if (b.brand >= catalog.brand_count()) continue;
    auto* ba = pf->add_top_brands();
    ba->set_brand(catalog.brand_name(b.brand));
    ba->set_score(b.score);
  }
  for (const auto& ks : f.sizes) {
    if (ks.category >= catalog.category_count()) continue;
    auto* k = pf->add_known_sizes();
    k->set_category(catalog.category_name(ks.category));
    k->set_size(ks.size);
    k->set_units(ks.net);
    *k->mutable_last() = FromTimeMs(ks.last);
  }
  for (const auto& p : f.purchases) {
    if (!Known(catalog, p.product)) continue;
    auto* ph = pf->add_purchase_history();
    ph->set_product_id(catalog.product(p.product).id);
    ph->set_purchases(static_cast<int32_t>(p.count));
    *ph->mutable_first_purchase() = FromTimeMs(p.first());
    *ph->mutable_last_purchase() = FromTimeMs(p.last());
    ph->set_typical_interval_days(static_cast<double>(p.TypicalInterval()) / core::kMsPerDay);
  }
  *out.mutable_computed_at() = FromTimeMs(now);

  // Segments use the customer's behaviour: only with consent (when required).
  if (!core::MayPersonalize(config.require_consent, &state)) return;
  v1::Segments* seg = out.mutable_segments();
  core::ConditionInput in;
  in.customer = &state;
  in.personal = true;
  in.country = a.country;
  in.now = now;
  in.future = models ? &models->customer_value : nullptr;
  const core::SegmentView v =
      core::SegmentCustomer(models ? &models->rfm : nullptr, models ? &models->behaviour : nullptr,
                            config.segments, catalog, in);
  if (models != nullptr) {
    seg->set_recency(v.rfm.r);
    seg->set_frequency(v.rfm.f);
    seg->set_monetary(v.rfm.m);
    seg->set_rfm_segment(core::RfmSegmentName(v.rfm.segment));
    seg->set_behaviour(core::BehaviourName(v.behaviour.group));
    seg->set_behaviour_priority(v.behaviour.priority);
    SetMoney(v.behaviour.spend.baseline_minor, catalog.currency(), seg->mutable_baseline_spend());
    SetMoney(v.behaviour.spend.current_minor, catalog.currency(), seg->mutable_current_spend());
  }
  for (size_t i = 0; i < config.segments.size(); ++i) {
    if (in.rule_segments >> i & 1) seg->add_rule_segments(config.segments[i].id);
  }
  // Before the first models build: smoothed towards an even spread.
  static const core::SendTimeModel kNoModel;
  const size_t market = a.country < options.market_zones.size() ? a.country : 0;
  FillSendTime(
      core::CustomerSendTime(models ? models->send_time : kNoModel, state.features.send_time),
      market < options.market_zones.size() ? options.market_zones[market].name() : "UTC",
      *out.mutable_send_time());
  if (models == nullptr) return;
  const core::CustomerValue future =
      core::ValueCustomer(models->customer_value, state.features, a.country, now);
  if (future.known) FillFuture(future, catalog, *out.mutable_future());
}

void FillSendTime(const core::SendTimeProfile& p, const std::string& zone,
                  v1::SendTimeProfile& out) {
  static constexpr const char* kDays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                          "friday", "saturday", "sunday"};
  std::array<int, core::kHoursPerDay> order;
  for (int h = 0; h < core::kHoursPerDay; ++h) order[h] = h;
  std::stable_sort(order.begin(), order.end(),
                   [&](int x, int y) { return p.hours[x] > p.hours[y]; });
  for (int i = 0; i < 3; ++i) {
    v1::SendTimeProfile::Hour* h = out.add_best_hours();
    h->set_hour(order[i]);
    h->set_relative_rate(p.HourRate(order[i]));
  }
  for (int h = 0; h < core::kHoursPerDay; ++h) out.add_hour_rates(p.HourRate(h));
  out.set_best_day(kDays[std::max_element(p.days.begin(), p.days.end()) - p.days.begin()]);
  out.set_activity(p.activity);
  out.set_time_zone(zone);
}

void AddCustomerValueModels(const core::CustomerValueModels& models, const core::Catalog& catalog,
                            v1::ListSegmentsResponse& out) {
  auto add = [&](const std::string& market, const core::CustomerValueModel& m) {
    v1::CustomerValueModel* o = out.add_customer_value_models();
    o->set_market(market);
    o->set_customers(m.purchase_customers);
    o->set_repeat_customers(m.value_customers);
    o->set_purchases_fitted(m.purchases_fitted);
    o->set_r(m.purchases.r);
    o->set_alpha(m.purchases.alpha);
    o->set_a(m.purchases.a);
    o->set_b(m.purchases.b);
    o->set_value_fitted(m.value_fitted);
    o->set_p(m.value.p);
    o->set_q(m.value.q);
    o->set_gamma(m.value.gamma);
  };
  add("", models.population);
  for (const auto& [country, m] : models.markets) {
    if (country < catalog.market_count()) add(catalog.market_code(country), m);
  }
}

void FillAssignment(const core::Recommendation& r, const core::DecisionConfig& config,
                    google::protobuf::RepeatedPtrField<v1::ExperimentArm>* out) {
  core::Arm arms[2];
  const int n = core::ArmsOf(config, r, arms);
  for (int i = 0; i < n; ++i) {
    v1::ExperimentArm* a = out->Add();
    a->set_experiment(std::string(arms[i].experiment));
    a->set_variant(std::string(arms[i].variant));
  }
}

std::string AssignmentText(const core::Recommendation& r, const core::DecisionConfig& config) {
  const core::Assignment& a = r.assignment;
  if (a.holdout == core::Assignment::Holdout::kHeldOut) {
    return absl::StrFormat("global holdout (%.2f %% of customers): the control answer everywhere",
                           config.holdout.buckets / 100.0);
  }
  std::string out;
  if (a.experiment >= 0) {
    const core::ExperimentSpec& x = config.experiments[a.experiment];
    const core::VariantSpec& v = x.variants[a.variant];
    out = absl::StrFormat("experiment %s, variant %s%s (%.2f %% of its customers)", x.id, v.id,
                          v.control ? " = control" : "", v.buckets / 100.0);
  }
  if (a.holdout == core::Assignment::Holdout::kPersonalized) {
    absl::StrAppend(&out, out.empty() ? "" : "; ", "not in the global holdout");
  }
  return out;
}

void FillCustomerDecision(absl::string_view customer_id, const core::Recommendation& r,
                          const core::Catalog& catalog, const core::DecisionConfig& config,
                          v1::CustomerDecision& out) {
  out.set_customer_id(std::string(customer_id));
  out.set_personalized(r.decision.personalized);
  FillAssignment(r, config, out.mutable_experiments());
  if (!r.id.empty()) out.set_decision_id(r.id.Hex());
  for (const core::DecidedItem& item : r.decision.items) {
    v1::BatchItem* b = out.add_items();
    FillItem(catalog, config, item, r.decision.country, r.time, *b);
    if (item.offer >= 0) b->set_offer_id(config.offers[item.offer].id);
  }
}

void FillRecommendation(const core::Recommendation& r, const core::Catalog& catalog,
                        const core::DecisionConfig& config, v1::RecommendResponse& out) {
  const core::Decision& d = r.decision;
  const core::Explanation* explain = r.explanation ? &*r.explanation : nullptr;
  const core::TimeMs now = r.time;
  out.set_placement(r.placement->id);
  out.set_personalized(d.personalized);
  if (d.fallback != core::FallbackReason::kNone)
    out.set_fallback_reason(core::FallbackReasonText(d.fallback));
  out.set_filled_with_popular(d.filled);
  if (r.contact.verdict != core::ContactVerdict::kOk) {
    out.set_contact_skip(core::ContactVerdictName(r.contact.verdict));
    out.set_contact_detail(r.contact.detail);
  }
  FillAssignment(r, config, out.mutable_experiments());
  if (!r.id.empty()) out.set_decision_id(r.id.Hex());
  if (d.country < catalog.market_count()) out.set_country(catalog.market_code(d.country));
  *out.mutable_decided_at() = FromTimeMs(now);
  for (size_t i = 0; i < d.items.size(); ++i) {
    const core::DecidedItem& item = d.items[i];
    v1::RecommendedItem* it = out.add_items();
    FillItem(catalog, config, item, d.country, now, *it);
    if (Known(catalog, item.product)) {
      const core::Product& p = catalog.product(item.product);
      it->set_name(p.name);
      for (const auto& c : p.category_path) it->add_category_path(c);
      SetMoney(p.price_minor, catalog.currency(), it->mutable_price());
    }
    if (item.offer >= 0) {
      const core::OfferSpec& o = config.offers[item.offer];
      v1::Offer* offer = it->mutable_offer();
      offer->set_offer_id(o.id);
      offer->set_type(core::OfferTypeName(o.type));
      offer->set_title(o.title);
      offer->set_text(o.text);
      if (it->name().empty()) it->set_name(o.title);
      if (o.counters != nullptr) {
        it->set_acceptance_probability(
            core::PosteriorOf(o.counters->posterior, static_cast<int>(d.rfm), config.learning, now)
                .Mean());
      }
    }
    if (explain == nullptr || i >= explain->items.size()) continue;
    const core::ItemExplanation& e = explain->items[i];
    v1::ItemExplanation* x = it->mutable_explanation();
    for (const core::Contribution& c : e.contributions) {
      v1::SourceContribution* sc = x->add_sources();
      sc->set_source(ToWire(c.source));
      sc->set_raw_score(c.raw);
      sc->set_weight(c.weight);
      sc->set_contribution(c.value);
    }
    x->set_relevance(e.relevance);
    x->set_value(e.value);
    x->set_priority(e.priority);
    x->set_context(e.context);
    x->set_value_basis(core::ValueBasisName(e.value_basis));
    const char* value_words =
        e.value_basis == core::ValueBasis::kClvAtRisk ? "CLV at risk" : "value";
    x->set_formula(
        absl::StrFormat("%.4g (relevance) x %.4g (%s) x %.4g (priority) x %.4g (context) = %.4g",
                        e.relevance, e.value, value_words, e.priority, e.context, item.score));
  }
  if (explain == nullptr) return;
  v1::Explanation* x = out.mutable_explanation();
  x->set_candidates(static_cast<int32_t>(explain->candidates));
  x->set_rfm_segment(core::RfmSegmentName(d.rfm));
  x->set_config_version(config.version);
  x->set_assignment(AssignmentText(r, config));
  if (explain->future.known) {
    FillFuture(explain->future, catalog, *x->mutable_future());
  }
  for (const core::DroppedCandidate& dc : explain->dropped) {
    v1::DroppedCandidate* o = x->add_dropped();
    if (Known(catalog, dc.product)) o->set_product_id(catalog.product(dc.product).id);
    if (dc.offer >= 0) o->set_offer_id(config.offers[dc.offer].id);
    o->set_rule(core::DropRuleName(dc.rule));
    o->set_score(dc.score);
    o->set_detail(dc.detail);
  }
}

void FillEvent(const storage::RawEvent& e, const std::string& currency, v1::Event& out) {
  out.set_event_id(e.event_id);
  out.set_customer_id(e.customer_id);
  out.set_type(ToWire(e.type));
  *out.mutable_time() = FromTimeMs(e.time);
  out.set_channel(ToWire(e.channel));
  out.set_store_id(e.store_id);
  out.set_country(e.country);
  out.set_product_id(e.product_id);
  out.set_quantity(e.quantity);
  if (!e.order_id.empty() || !e.lines.empty()) {
    v1::Order* order = out.mutable_order();
    order->set_order_id(e.order_id);
    for (const storage::RawOrderLine& l : e.lines) {
      v1::OrderLine* line = order->add_lines();
      line->set_product_id(l.product_id);
      line->set_quantity(l.quantity);
      line->mutable_unit_price()->set_amount_minor(l.unit_price_minor);
      line->mutable_unit_price()->set_currency(currency);
      line->set_size(l.size);
    }
  }
  out.set_offer_id(e.offer_id);
  out.set_placement(e.placement);
  out.set_decision_id(e.decision_id);
  out.set_position(e.position);
}

}  // namespace nextbest::server
