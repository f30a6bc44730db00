#include "core/recommend.h"

#include <algorithm>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/caps.h"
#include "core/segments.h"

namespace nextbest::core {
namespace {

// Does the placement use the customer's own data anywhere?
bool WantsPersonal(const PlacementSpec& p) {
  for (const SourceSpec& src : p.sources) {
    if (IsPersonalSource(src.source) ||
        (src.seed != Seed::kContext &&
         (src.source == Source::kCoPurchase || src.source == Source::kCoView))) {
      return true;
    }
  }
  return false;
}

void Log(const Snapshot& s, const RecommendQuery& q, const Recommendation& r) {
  ServedDecision d;
  d.id = r.id;
  d.time = r.time;
  d.customer_id = std::string(q.customer_id);
  d.placement = r.placement->id;
  Arm arms[2];
  const int n = ArmsOf(s.config, r.assignment, arms);
  for (int i = 0; i < n; ++i) {
    d.arms.emplace_back(std::string(arms[i].experiment), std::string(arms[i].variant));
  }
  for (const DecidedItem& item : r.decision.items) {
    if (item.product != kNoProduct) d.products.push_back(item.product);
    if (item.offer >= 0) d.offers.push_back(s.config.offers[item.offer].id);
  }
  for (int32_t o : r.decision.held_back_offers) d.held_back_offers.push_back(s.config.offers[o].id);
  d.offer_segment =
      RfmSegmentName(r.assignment.control ? r.decision.held_back_rfm : r.decision.rfm);
  s.log->Append(std::move(d));
}

// The contact policy for a placement whose answer is a contact: quiet
// periods and caps on the request's channel, with the allowances of the
// overrides whose condition holds for the customer.
ContactCheck CheckContactPolicy(const Snapshot& s, const DecisionRequest& d, CountryIndex market) {
  const DecisionConfig& config = s.config;
  absl::InlinedVector<int, 8> extra(config.contact.caps.size(), 0);
  if (!config.contact_overrides.empty()) {
    ConditionInput in;
    in.customer = d.customer;
    in.personal = MayPersonalize(d.require_consent, d.customer);
    in.country = market;
    in.channel = d.channel;
    in.now = d.now;
    const bool scored = in.personal && s.models != nullptr;
    in.future = scored ? &s.models->customer_value : nullptr;
    SegmentCustomer(scored ? &s.models->rfm : nullptr, scored ? &s.models->behaviour : nullptr,
                    config.segments, s.catalog, in);
    for (const ContactOverride& o : config.contact_overrides) {
      if (!Matches(o.condition, s.catalog, in)) continue;
      for (size_t k = 0; k < extra.size(); ++k) {
        if (o.channel == Channel::kUnspecified || o.channel == config.contact.caps[k].channel) {
          extra[k] = std::max(extra[k], o.extra);
        }
      }
    }
  }
  const CustomerFeatures& f = d.customer->features;
  return CheckContact(
      config.contact, f.contacts, [&](EventType t) { return f.LastOfType(t); }, d.channel, d.now,
      extra);
}

}  // namespace

absl::StatusOr<const PlacementSpec*> FindPlacement(const DecisionConfig& config,
                                                   absl::string_view placement, int count) {
  const PlacementSpec* spec = config.Find(placement);
  if (spec == nullptr) {
    std::vector<absl::string_view> ids;
    for (const PlacementSpec& p : config.placements) ids.push_back(p.id);
    return absl::NotFoundError(absl::StrCat("placement: unknown placement '", placement,
                                            "'; known: ", absl::StrJoin(ids, ", ")));
  }
  if (count > spec->max_count) {
    return absl::InvalidArgumentError(
        absl::StrCat("count: at most ", spec->max_count, " for placement ", spec->id));
  }
  return spec;
}

absl::StatusOr<Recommendation> Recommend(const Snapshot& s, const RecommendQuery& q, TimeMs now) {
  absl::StatusOr<const PlacementSpec*> found = FindPlacement(s.config, q.placement, q.count);
  if (!found.ok()) return found.status();
  const PlacementSpec* spec = *found;
  const Catalog& catalog = s.catalog;
  const TimeMs time = q.time.value_or(now);
  const Assignment assignment = Assign(s.config, *spec, q.customer_id, time);
  DecisionRequest d;
  d.config = &s.config;
  d.placement = &PlacementFor(s.config, *spec, assignment);
  d.personalize = !assignment.control;
  d.models = s.models;
  d.ledger = s.ledger;
  d.customer_id = q.customer_id;
  d.customer = q.customer;
  if (d.customer == nullptr && !q.customer_id.empty() && s.customers != nullptr) {
    d.customer = s.customers->Find(q.customer_id);
  }
  if (!q.country.empty()) {
    std::optional<CountryIndex> market = catalog.FindMarket(q.country);
    if (!market.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("country: '", q.country, "' is not a served market"));
    }
    d.country = *market;
  }
  if (!q.store_id.empty()) {
    std::optional<StoreIndex> store = catalog.FindStore(q.store_id);
    if (!store.has_value())
      return absl::InvalidArgumentError(absl::StrCat("store_id: unknown store '", q.store_id, "'"));
    d.store = *store;
  }
  d.channel = q.channel;
  if (!q.product_id.empty())
    d.current_product = catalog.FindProduct(q.product_id).value_or(kNoProduct);
  absl::InlinedVector<ProductIndex, 16> cart, exclude;
  for (absl::string_view id : q.cart) {
    if (auto p = catalog.FindProduct(id)) cart.push_back(*p);
  }
  for (absl::string_view id : q.exclude) {
    if (auto p = catalog.FindProduct(id)) exclude.push_back(*p);
  }
  d.cart = cart;
  d.exclude = exclude;
  d.count = q.count;
  if (!q.request_id.empty()) d.rotation_seed = StableHash(q.request_id, 3) | 1;  // non-zero
  d.require_consent = s.config.require_consent;
  d.now = time;
  d.preview = q.preview;

  Recommendation out;
  out.placement = spec;
  out.ran = d.placement;
  out.assignment = assignment;
  out.time = d.now;
  if (spec->contact && !s.config.contact.empty() && d.customer != nullptr) {
    const CountryIndex market =
        catalog.MarketOf(d.country, d.store, d.customer->attributes.country);
    out.contact = CheckContactPolicy(s, d, market);
    if (out.contact.verdict != ContactVerdict::kOk) {  // held back: no items, no decision id
      out.decision.country = market != kNoCountry ? market : 0;
      return out;
    }
  }
  if (s.ids != nullptr && !q.preview) out.id = s.ids->Next(time);
  if (q.explain) d.explain = &out.explanation.emplace();
  out.decision = Decide(catalog, s.trending, d);
  if (out.explanation && d.models != nullptr && MayPersonalize(d.require_consent, d.customer)) {
    out.explanation->future = ValueCustomer(d.models->customer_value, d.customer->features,
                                            d.customer->attributes.country, d.now);
  }
  if (assignment.control && !out.decision.personalized && WantsPersonal(*spec)) {
    out.decision.fallback = assignment.holdout == Assignment::Holdout::kHeldOut
                                ? FallbackReason::kHoldout
                                : FallbackReason::kControl;
  }
  if (assignment.Any() && s.log != nullptr && !q.preview) Log(s, q, out);
  return out;
}

int ArmsOf(const DecisionConfig& config, const Recommendation& r, Arm (&out)[2]) {
  return ArmsOf(config, r.assignment, out);
}

}  // namespace nextbest::core
