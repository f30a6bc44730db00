#include "storage/codec.h"

#include <algorithm>
#include <cmath>

namespace nextbest::storage::codec {

v1::EventRecord EventToRecord(const RawEvent& e) {
  v1::EventRecord r;
  r.set_event_id(e.event_id);
  r.set_type(static_cast<int>(e.type));
  r.set_time_ms(e.time);
  r.set_channel(static_cast<int>(e.channel));
  r.set_store_id(e.store_id);
  r.set_country(e.country);
  r.set_product_id(e.product_id);
  r.set_quantity(e.quantity);
  r.set_order_id(e.order_id);
  for (const auto& l : e.lines) {
    auto* line = r.add_lines();
    line->set_product_id(l.product_id);
    line->set_quantity(l.quantity);
    line->set_unit_price_minor(l.unit_price_minor);
    line->set_size(l.size);
  }
  r.set_offer_id(e.offer_id);
  r.set_placement(e.placement);
  r.set_decision_id(e.decision_id);
  r.set_position(e.position);
  return r;
}

RawEvent EventFromRecord(const std::string& customer_id, const v1::EventRecord& r) {
  RawEvent e;
  e.event_id = r.event_id();
  e.customer_id = customer_id;
  e.type = static_cast<core::EventType>(r.type());
  e.time = r.time_ms();
  e.channel = static_cast<core::Channel>(r.channel());
  e.store_id = r.store_id();
  e.country = r.country();
  e.product_id = r.product_id();
  e.quantity = r.quantity();
  e.order_id = r.order_id();
  for (const auto& l : r.lines())
    e.lines.emplace_back(l.product_id(), l.quantity(), l.unit_price_minor(), l.size());
  e.offer_id = r.offer_id();
  e.placement = r.placement();
  e.decision_id = r.decision_id();
  e.position = r.position();
  return e;
}

uint64_t PayloadHash(const v1::EventRecord& record) {
  const std::string bytes = record.SerializeAsString();
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

v1::CustomerRecord AttributesToRecord(const CustomerUpsert& c, int64_t now_ms) {
  v1::CustomerRecord r;
  r.set_country(c.country);
  r.set_home_store_id(c.home_store_id);
  r.set_language(c.language);
  r.set_birth_year(c.birth_year);
  r.set_loyalty_member(c.loyalty_member);
  r.set_consent_personalization(c.consent_personalization);
  r.set_consent_marketing_email(c.consent_marketing_email);
  r.set_updated_ms(now_ms);
  for (const core::SizePreference& p : c.sizes) {
    auto* rp = r.add_sizes();
    rp->set_category_prefix(p.category_prefix);
    for (const std::string& size : p.sizes) rp->add_sizes(size);
  }
  return r;
}

core::CustomerAttributes AttributesFromRecord(const v1::CustomerRecord& r,
                                              const core::Catalog& catalog) {
  core::CustomerAttributes a;
  a.present = true;
  a.country = catalog.FindMarket(r.country()).value_or(core::kNoCountry);
  a.home_store = r.home_store_id().empty()
                     ? core::kNoStore
                     : catalog.FindStore(r.home_store_id()).value_or(core::kNoStore);
  a.language = r.language();
  a.birth_year = r.birth_year();
  a.loyalty_member = r.loyalty_member();
  a.consent_personalization = r.consent_personalization();
  a.consent_marketing_email = r.consent_marketing_email();
  for (const auto& p : r.sizes()) {
    a.sizes.push_back({p.category_prefix(), {p.sizes().begin(), p.sizes().end()}});
  }
  return a;
}

v1::FeaturesRecord FeaturesToRecord(const core::CustomerFeatures& f, const core::Catalog& catalog) {
  v1::FeaturesRecord r;
  r.set_events(f.events);
  r.set_first_seen_ms(f.first_seen);
  r.set_last_seen_ms(f.last_seen);
  int used = core::kEventTypeSlots;  // trailing empty slots are not stored
  while (used > 0 && f.last_by_type_s[used - 1] == 0) --used;
  for (int i = 0; i < used; ++i)
    r.add_last_by_type_ms(static_cast<int64_t>(f.last_by_type_s[i]) * 1000);
  r.set_orders(f.orders);
  r.set_first_purchase_ms(f.first_purchase);
  r.set_last_purchase_ms(f.last_purchase);
  r.set_spend_minor(f.spend_minor);
  r.set_returns(f.returns);
  if (!f.send_time.Empty()) {
    std::string& st = *r.mutable_send_time();
    st.assign(f.send_time.hours.begin(), f.send_time.hours.end());
    st.append(f.send_time.days.begin(), f.send_time.days.end());
  }
  for (int i = 0; i < f.contacts.size(); ++i) r.add_contacts(f.contacts.slots[i]);
  for (const auto& v : f.recently_viewed) {
    auto* rv = r.add_recently_viewed();
    rv->set_product_id(catalog.product(v.product).id);
    rv->set_time_ms(v.time());
  }
  r.set_affinity_ref_ms(f.affinity_ref);
  for (const auto& a : f.affinities) {
    auto* ra = r.add_affinities();
    ra->set_category(catalog.category_name(a.category));
    ra->set_score(a.score);
  }
  for (const auto& p : f.purchases) {
    auto* rp = r.add_purchases();
    rp->set_product_id(catalog.product(p.product).id);
    rp->set_count(p.count);
    rp->set_first_ms(p.first());
    rp->set_last_ms(p.last());
  }
  r.set_spend_period_ref(f.spend_period_ref);
  for (int32_t v : f.spend_by_period) r.add_spend_by_period(v);
  for (const auto& b : f.brand_affinities) {
    auto* rb = r.add_brand_affinities();
    rb->set_brand(catalog.brand_name(b.brand));
    rb->set_score(b.score);
  }
  for (const auto& s : f.sizes) {
    auto* rs = r.add_sizes();
    rs->set_category(catalog.category_name(s.category));
    rs->set_size(s.size);
    rs->set_net(s.net);
    rs->set_last_ms(s.last);
  }
  return r;
}

namespace {
// Decoding is defensive: a record that parses but holds values no writer
// produces (found by tests/fuzz/records_fuzz.cc) is brought into the range
// every reader handles. Times: 0 (unset) up to the year 3000; the API
// admits events from 2000 to 24 h ahead.
constexpr int64_t kMaxTimeMs = 32'503'680'000'000;
core::TimeMs Time(int64_t ms) { return std::clamp<int64_t>(ms, 0, kMaxTimeMs); }
template <typename T>
T Count(T n) {
  return std::max<T>(n, 0);
}
// Scores: finite (NaN would break every sort by score). Affinities may be
// negative (returns weigh -5), so the sign is kept.
double Score(double s) { return std::isfinite(s) ? s : 0; }
}  // namespace

core::CustomerFeatures FeaturesFromRecord(const v1::FeaturesRecord& r,
                                          core::CatalogBuilder& catalog) {
  core::CustomerFeatures f;
  f.events = Count(r.events());
  f.first_seen = Time(r.first_seen_ms());
  f.last_seen = Time(r.last_seen_ms());
  for (int i = 0; i < r.last_by_type_ms_size() && i < core::kEventTypeSlots; ++i) {
    f.last_by_type_s[i] = core::ToSeconds(Time(r.last_by_type_ms(i)));
  }
  f.orders = Count(r.orders());
  f.first_purchase = Time(r.first_purchase_ms());
  f.last_purchase = Time(r.last_purchase_ms());
  f.spend_minor = r.spend_minor();
  f.returns = Count(r.returns());
  // Send-time counters: exactly 28 bytes, else none (a record from before them).
  if (r.send_time().size() == f.send_time.hours.size() + f.send_time.days.size()) {
    const std::string& st = r.send_time();
    std::copy(st.begin(), st.begin() + 24, f.send_time.hours.begin());
    std::copy(st.begin() + 24, st.end(), f.send_time.days.begin());
    f.send_time.days[3] &= 0x0F;  // seven nibbles: the eighth stays 0
  }
  // Contacts: newest first, a known channel each; anything else is dropped.
  int kept = 0;
  for (uint32_t slot : r.contacts()) {
    const uint32_t channel = slot & 7;
    if (kept == core::kContactSlots || slot >> 3 == 0 || channel == 0 ||
        channel > static_cast<uint32_t>(core::kMaxChannel) ||
        (kept > 0 && slot >> 3 > f.contacts.slots[kept - 1] >> 3)) {
      continue;
    }
    f.contacts.slots[kept++] = slot;
  }
  f.recently_viewed.reserve(r.recently_viewed_size());
  f.affinities.reserve(r.affinities_size());
  f.purchases.reserve(r.purchases_size());
  for (const auto& v : r.recently_viewed()) {
    f.recently_viewed.push_back({catalog.InternProduct(v.product_id()), Time(v.time_ms())});
  }
  f.affinity_ref = Time(r.affinity_ref_ms());
  for (const auto& a : r.affinities()) {
    // A category no listed product has any more carries no signal.
    if (auto c = catalog.current().FindCategory(a.category())) {
      f.affinities.push_back({*c, Score(a.score())});
    }
  }
  for (const auto& p : r.purchases()) {
    f.purchases.push_back(
        {catalog.InternProduct(p.product_id()), p.count(), Time(p.first_ms()), Time(p.last_ms())});
  }
  // Product indices are this process's: the order is restored here.
  std::sort(f.purchases.begin(), f.purchases.end(), core::MoreRecentPurchase{catalog.current()});
  f.spend_period_ref = std::clamp<int64_t>(r.spend_period_ref(), 0, core::SpendPeriod(kMaxTimeMs));
  for (int i = 0; i < r.spend_by_period_size() && i < core::kSpendPeriods; ++i) {
    f.spend_by_period[i] = r.spend_by_period(i);
  }
  // Brands and categories no listed product has any more carry no signal.
  for (const auto& b : r.brand_affinities()) {
    if (auto idx = catalog.current().FindBrand(b.brand())) {
      f.brand_affinities.push_back({*idx, Score(b.score())});
    }
  }
  for (const auto& s : r.sizes()) {
    if (auto c = catalog.current().FindCategory(s.category())) {
      f.sizes.push_back({*c, s.net(), Time(s.last_ms()), s.size()});
    }
  }
  return f;
}

void ApplyStock(const v1::StockRecord& r, core::ProductIndex product,
                core::CatalogBuilder& catalog) {
  uint16_t online = 0;
  for (const auto& m : r.online_markets()) {
    if (auto c = catalog.current().FindMarket(m)) online |= static_cast<uint16_t>(1u << *c);
  }
  // Bits of stores that do not exist (yet) would put a store opened later
  // in stock: only the known stores' bits are kept.
  const size_t stores = catalog.current().store_count();
  std::vector<uint64_t> bits(r.store_bits().begin(), r.store_bits().end());
  if (bits.size() > (stores + 63) / 64) bits.resize((stores + 63) / 64);
  if (stores % 64 != 0 && !bits.empty() && bits.size() == (stores + 63) / 64) {
    bits.back() &= (uint64_t{1} << (stores % 64)) - 1;
  }
  catalog.SetStock(product, bits, online);
}

v1::ProductRecord ProductToRecord(const core::Product& p) {
  v1::ProductRecord r;
  r.set_name(p.name);
  r.set_brand(p.brand);
  for (const auto& c : p.category_path) r.add_category_path(c);
  r.set_price_minor(p.price_minor);
  for (const auto& s : p.sizes) r.add_sizes(s);
  for (const auto& t : p.tags) r.add_tags(t);
  r.set_available_from_ms(p.available_from);
  r.set_active(p.active);
  return r;
}

core::Product ProductFromRecord(const std::string& id, const v1::ProductRecord& r) {
  core::Product p;
  p.id = id;
  p.name = r.name();
  p.brand = r.brand();
  p.category_path.assign(r.category_path().begin(), r.category_path().end());
  p.price_minor = Count(r.price_minor());
  p.sizes.assign(r.sizes().begin(), r.sizes().end());
  p.tags.assign(r.tags().begin(), r.tags().end());
  p.available_from = Time(r.available_from_ms());
  p.active = r.active();
  return p;
}

v1::PopularityRecord PopularityToRecord(const core::ProductPopularity& p,
                                        const core::Catalog& catalog) {
  v1::PopularityRecord r;
  r.set_ref_ms(p.ref);
  r.set_overall(p.overall);
  for (size_t m = 0; m < catalog.market_count(); ++m) {
    if (p.by_market[m] == 0) continue;
    auto* ms = r.add_by_market();
    ms->set_market(catalog.market_code(static_cast<core::CountryIndex>(m)));
    ms->set_score(p.by_market[m]);
  }
  return r;
}

core::ProductPopularity PopularityFromRecord(const v1::PopularityRecord& r,
                                             const core::Catalog& catalog) {
  core::ProductPopularity p;
  p.ref = Time(r.ref_ms());
  p.overall = Score(r.overall());
  for (const auto& ms : r.by_market()) {
    if (auto m = catalog.FindMarket(ms.market())) p.by_market[*m] = Score(ms.score());
  }
  return p;
}

v1::StorePopularityRecord StoreScoreToRecord(const core::StoreScore& s) {
  v1::StorePopularityRecord r;
  r.set_ref_ms(s.ref);
  r.set_score(s.score);
  return r;
}

core::StoreScore StoreScoreFromRecord(const v1::StorePopularityRecord& r) {
  return {Time(r.ref_ms()), Score(r.score())};
}

namespace {
void CountsToRecord(const core::ClickCounts& c, v1::ClickCountsRecord* r) {
  r->set_impressions(c.impressions);
  r->set_clicks(c.clicks);
  r->set_at_ms(c.at);
}
core::ClickCounts CountsFromRecord(const v1::ClickCountsRecord& r) {
  return {r.impressions(), r.clicks(), r.at_ms()};
}
}  // namespace

v1::OfferPosteriorRecord PosteriorToRecord(
    const core::ClickCounts& overall,
    const std::array<core::ClickCounts, core::kPosteriorSegments>& segments) {
  v1::OfferPosteriorRecord r;
  CountsToRecord(overall, r.mutable_overall());
  for (const core::ClickCounts& s : segments) CountsToRecord(s, r.add_by_segment());
  return r;
}

void PosteriorFromRecord(const v1::OfferPosteriorRecord& r, core::OfferPosterior& out) {
  out.overall.Store(CountsFromRecord(r.overall()));
  for (int s = 0; s < r.by_segment_size() && s < core::kPosteriorSegments; ++s) {
    out.by_segment[s].Store(CountsFromRecord(r.by_segment(s)));
  }
}

}  // namespace nextbest::storage::codec
