// The config's decision sections — placements, offers, segments and their
// conditions — parsed and validated into core's DecisionConfig. Defaults
// come from the core structs (one source of truth): a field left at zero
// keeps the struct's value.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "core/segments.h"
#include "core/status_macros.h"
#include "google/protobuf/text_format.h"
#include "server/config_internal.h"
#include "server/enums.h"

namespace nextbest::server::config_internal {
namespace {

// The shipped config (deploy/nextbest.textproto, compiled in): its
// placements, segments and offers serve when a config names no placements.
constexpr const char* kShippedConfig =
#include "server/shipped_config.inc"
    ;

// The conditions on the customer's future (core/customer_value.h).
absl::Status ParseFuture(const cfg::ConditionConfig& c, const std::string& field,
                         core::Condition& out) {
  out.min_p_alive = c.min_p_alive();
  out.max_p_alive = c.max_p_alive();
  RETURN_IF_ERROR(InRange(out.min_p_alive, field + ".min_p_alive", 0, 1));
  RETURN_IF_ERROR(InRange(out.max_p_alive, field + ".max_p_alive", 0, 1));
  if (out.max_p_alive > 0 && out.max_p_alive < out.min_p_alive) {
    return Invalid(field + ".max_p_alive", "must be >= min_p_alive");
  }
  out.min_expected_orders = c.min_expected_orders();
  RETURN_IF_ERROR(InRange(out.min_expected_orders, field + ".min_expected_orders", 0, 1e6));
  out.expected_orders_days = Or(c.expected_orders_days(), out.expected_orders_days);
  RETURN_IF_ERROR(InRange(out.expected_orders_days, field + ".expected_orders_days", 1, 3650));
  if (c.min_clv_minor() < 0) return Invalid(field + ".min_clv_minor", "must be >= 0");
  out.min_clv_minor = c.min_clv_minor();
  for (int i = 0; i < c.churn_risks_size(); ++i) {
    core::ChurnRisk risk;
    if (!core::ParseChurnRisk(c.churn_risks(i), risk)) {
      return Invalid(
          absl::StrCat(field, ".churn_risks[", i, "]"),
          absl::StrCat("unknown churn risk '", c.churn_risks(i), "': low, medium or high"));
    }
    out.churn_risks |= static_cast<uint8_t>(1u << static_cast<int>(risk));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<core::Condition> ToCondition(const cfg::ConditionConfig& c, const std::string& field,
                                            const std::vector<std::string>& markets,
                                            const std::vector<core::SegmentSpec>& earlier) {
  core::Condition out;
  for (int i = 0; i < c.countries_size(); ++i) {
    auto it = std::find(markets.begin(), markets.end(), c.countries(i));
    if (it == markets.end()) {
      return Invalid(absl::StrCat(field, ".countries[", i, "]"),
                     absl::StrCat("'", c.countries(i), "' is not a configured market"));
    }
    out.countries |= static_cast<uint16_t>(1u << (it - markets.begin()));
  }
  for (int i = 0; i < c.channels_size(); ++i) {
    const std::string f = absl::StrCat(field, ".channels[", i, "]");
    ASSIGN_OR_RETURN(core::Channel ch, ToChannel(c.channels(i), f));
    if (ch == core::Channel::kUnspecified) return Invalid(f, "empty");
    out.channels |= static_cast<uint8_t>(1u << static_cast<int>(ch));
  }
  for (int i = 0; i < c.rfm_segments_size(); ++i) {
    core::RfmSegment seg;
    if (!core::ParseRfmSegment(c.rfm_segments(i), seg)) {
      return Invalid(absl::StrCat(field, ".rfm_segments[", i, "]"),
                     absl::StrCat("unknown RFM segment '", c.rfm_segments(i), "'"));
    }
    out.rfm_segments |= 1u << static_cast<int>(seg);
  }
  for (int i = 0; i < c.segments_size(); ++i) {
    auto it = std::find_if(earlier.begin(), earlier.end(),
                           [&](const core::SegmentSpec& s) { return s.id == c.segments(i); });
    if (it == earlier.end()) {
      return Invalid(absl::StrCat(field, ".segments[", i, "]"),
                     absl::StrCat("unknown segment '", c.segments(i), "' (define it earlier)"));
    }
    out.rule_segments |= uint64_t{1} << (it - earlier.begin());
  }
  for (int i = 0; i < c.behaviours_size(); ++i) {
    core::Behaviour b;
    if (!core::ParseBehaviour(c.behaviours(i), b)) {
      return Invalid(absl::StrCat(field, ".behaviours[", i, "]"),
                     absl::StrCat("unknown behaviour group '", c.behaviours(i),
                                  "': top, new, growing, loyal, needs_attention or dormant"));
    }
    out.behaviours |= static_cast<uint8_t>(1u << static_cast<int>(b));
  }
  out.behaviour_priority = c.behaviour_priority();
  if (c.min_age() < 0 || c.max_age() < 0 || (c.max_age() > 0 && c.max_age() < c.min_age())) {
    return Invalid(field + ".max_age", "ages must be >= 0 and max_age >= min_age");
  }
  out.min_age = c.min_age();
  out.max_age = c.max_age();
  if (c.has_loyalty_member()) out.loyalty_member = c.loyalty_member() ? 1 : 0;
  out.marketing_email_consent = c.marketing_email_consent();
  out.min_orders = c.min_orders();
  out.min_spend_minor = c.min_spend_minor();
  out.affinity_category = c.affinity_category();
  out.min_affinity = c.min_affinity();
  RETURN_IF_ERROR(InRange(out.min_affinity, field + ".min_affinity", 0, 1));
  if (out.min_affinity > 0 && out.affinity_category.empty()) {
    return Invalid(field + ".affinity_category", "required with min_affinity");
  }
  RETURN_IF_ERROR(ParseFuture(c, field, out));
  return out;
}

absl::StatusOr<core::PlacementSpec> ToPlacement(const cfg::PlacementConfig& p,
                                                const std::string& field) {
  core::PlacementSpec spec;
  spec.id = p.id();
  google::protobuf::TextFormat::PrintToString(p, &spec.config_text);
  if (spec.id.empty()) return Invalid(field + ".id", "required");
  if (p.sources_size() == 0) return Invalid(field + ".sources", "at least one source");
  for (int i = 0; i < p.sources_size(); ++i) {
    const auto& s = p.sources(i);
    const std::string f = absl::StrCat(field, ".sources[", i, "]");
    core::SourceSpec src;
    // By name: the config's kinds are the source table's config names.
    const std::optional<core::Source> kind =
        cfg::SourceConfig::Kind_IsValid(s.kind())
            ? core::SourceFromConfigName(cfg::SourceConfig::Kind_Name(s.kind()))
            : std::nullopt;
    if (!kind.has_value()) {
      std::vector<std::string> names;
      for (int k = 1; k <= cfg::SourceConfig::Kind_MAX; ++k)
        names.push_back(cfg::SourceConfig::Kind_Name(k));
      return Invalid(f + ".kind", absl::StrCat("required: one of ", absl::StrJoin(names, ", ")));
    }
    src.source = *kind;
    src.weight = Or(s.weight(), src.weight);
    RETURN_IF_ERROR(InRange(src.weight, f + ".weight", 0, 1000));
    src.limit = Or(s.limit(), src.limit);
    if (src.limit < 1 || src.limit > 1000) return Invalid(f + ".limit", "must be 1..1000");
    src.seed =
        s.seed() == cfg::SourceConfig::SEED_UNSPECIFIED ? core::Seed::kBoth : ToCore(s.seed());
    if (s.scope() < cfg::SourceConfig::MARKET || s.scope() > cfg::SourceConfig::CATEGORY) {
      return Invalid(f + ".scope", "unknown value");
    }
    if (s.scope() != cfg::SourceConfig::MARKET && s.kind() != cfg::SourceConfig::TRENDING) {
      return Invalid(f + ".scope", "only for TRENDING");
    }
    src.scope = ToCore(s.scope());
    src.seeds = Or(s.seeds(), src.seeds);
    if (src.seeds < 1 || src.seeds > 100) return Invalid(f + ".seeds", "must be 1..100");
    if (s.has_seed_decay()) src.seed_decay = s.seed_decay();
    RETURN_IF_ERROR(InRange(src.seed_decay, f + ".seed_decay", 0, 1));
    if (spec.HasSource(src.source)) return Invalid(f + ".kind", "listed twice");
    spec.sources.push_back(src);
  }
  spec.max_count = Or(p.max_count(), spec.max_count);
  spec.default_count = Or(p.default_count(), std::min(spec.default_count, spec.max_count));
  if (spec.max_count < 1 || spec.max_count > 1000)
    return Invalid(field + ".max_count", "must be 1..1000");
  if (spec.default_count < 1 || spec.default_count > spec.max_count) {
    return Invalid(field + ".default_count", "must be 1..max_count");
  }
  spec.fill_with_trending = p.has_fill_with_trending() ? p.fill_with_trending() : true;
  spec.due_fraction = Or(p.due_fraction(), spec.due_fraction);
  spec.min_purchases = Or(p.min_purchases(), spec.min_purchases);
  spec.max_overdue = p.max_overdue();
  RETURN_IF_ERROR(InRange(spec.due_fraction, field + ".due_fraction", 0.01, 100));
  if (spec.min_purchases < 2) return Invalid(field + ".min_purchases", "must be >= 2");
  RETURN_IF_ERROR(InRange(spec.max_overdue, field + ".max_overdue", 0, 1000));
  spec.size_fit = p.has_size_fit() ? p.size_fit() : true;
  spec.rotation = p.rotation();
  RETURN_IF_ERROR(InRange(spec.rotation, field + ".rotation", 0, 0.5));
  spec.exclude_bought_within_days = p.exclude_bought_within_days();
  spec.max_per_category = p.max_per_category();
  if (spec.exclude_bought_within_days < 0)
    return Invalid(field + ".exclude_bought_within_days", "must be >= 0");
  if (spec.max_per_category < 0) return Invalid(field + ".max_per_category", "must be >= 0");
  if (p.has_exclude_bought_durables()) spec.exclude_bought_durables = p.exclude_bought_durables();
  spec.exclude_viewed = p.exclude_viewed();
  spec.diversity = p.diversity();
  RETURN_IF_ERROR(InRange(spec.diversity, field + ".diversity", 0, 0.9));
  const auto& fl = p.filter();
  core::ProductFilter& f = spec.filter;
  f.include_categories.assign(fl.include_categories().begin(), fl.include_categories().end());
  f.exclude_categories.assign(fl.exclude_categories().begin(), fl.exclude_categories().end());
  f.include_brands.assign(fl.include_brands().begin(), fl.include_brands().end());
  f.exclude_brands.assign(fl.exclude_brands().begin(), fl.exclude_brands().end());
  f.include_tags.assign(fl.include_tags().begin(), fl.include_tags().end());
  f.exclude_tags.assign(fl.exclude_tags().begin(), fl.exclude_tags().end());
  f.min_price_minor = fl.min_price_minor();
  f.max_price_minor = fl.max_price_minor();
  if (f.min_price_minor < 0 || f.max_price_minor < 0 ||
      (f.max_price_minor > 0 && f.max_price_minor < f.min_price_minor)) {
    return Invalid(field + ".filter.max_price_minor", "prices must be >= 0 and max >= min");
  }
  const auto& a = p.arbitration();
  core::Arbitration& arb = spec.arbitration;
  arb.use_relevance = !a.has_use_relevance() || a.use_relevance();
  arb.use_value = a.has_use_value() && a.use_value();
  arb.clv_at_risk = a.clv_at_risk();
  arb.use_priority = !a.has_use_priority() || a.use_priority();
  arb.use_context = !a.has_use_context() || a.use_context();
  arb.product_weight = Or(a.product_weight(), arb.product_weight);
  RETURN_IF_ERROR(InRange(arb.product_weight, field + ".arbitration.product_weight", 0, 1000));
  for (const auto& [type, w] : a.offer_type_weight()) {
    int slot = 0;
    for (int t = 1; t < core::kOfferTypeSlots; ++t) {
      if (type == core::OfferTypeName(static_cast<core::OfferType>(t))) slot = t;
    }
    if (slot == 0) {
      return Invalid(field + ".arbitration.offer_type_weight",
                     absl::StrCat("unknown offer type '", type,
                                  "': promotion, product_push, moment, loyalty or service"));
    }
    RETURN_IF_ERROR(
        InRange(w, absl::StrCat(field, ".arbitration.offer_type_weight[", type, "]"), 0, 1000));
    arb.offer_type_weight[slot] = w;
  }
  spec.propensity = p.propensity() == cfg::PlacementConfig::THOMPSON
                        ? core::PlacementSpec::Propensity::kThompson
                        : core::PlacementSpec::Propensity::kMean;
  spec.contact = p.contact();
  return spec;
}

absl::StatusOr<core::TimeMs> ParseDate(const std::string& text, const std::string& field) {
  if (text.empty()) return 0;
  absl::Time t;
  std::string err;
  if (absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &err) ||
      absl::ParseTime(absl::RFC3339_full, text, absl::UTCTimeZone(), &t, &err)) {
    return absl::ToUnixMillis(t);
  }
  return Invalid(field, absl::StrCat("'", text, "' is not a date (2026-11-01) or RFC 3339 time"));
}

namespace {

absl::StatusOr<core::OfferSpec> ToOffer(const cfg::OfferConfig& o, const std::string& field,
                                        const std::vector<std::string>& markets,
                                        const std::vector<core::SegmentSpec>& segments) {
  core::OfferSpec out;
  out.id = o.id();
  if (out.id.empty()) return Invalid(field + ".id", "required");
  if (o.type() < cfg::OfferConfig::PROMOTION || o.type() > cfg::OfferConfig::SERVICE) {
    return Invalid(field + ".type",
                   "required: PROMOTION, PRODUCT_PUSH, MOMENT, LOYALTY or SERVICE");
  }
  out.type = ToCore(o.type());
  out.title = o.title();
  if (out.title.empty()) return Invalid(field + ".title", "required");
  out.text = o.text();
  auto cond = ToCondition(o.eligibility(), field + ".eligibility", markets, segments);
  if (!cond.ok()) return cond.status();
  out.eligibility = std::move(*cond);
  if (o.has_eligibility()) out.eligibility_text = o.eligibility().ShortDebugString();
  auto start = ParseDate(o.start(), field + ".start");
  if (!start.ok()) return start.status();
  auto end = ParseDate(o.end(), field + ".end");
  if (!end.ok()) return end.status();
  out.start = *start;
  out.end = *end;
  if (out.end != 0 && out.end <= out.start) return Invalid(field + ".end", "must be after start");
  out.priority = Or(o.priority(), out.priority);
  out.value = Or(o.value(), out.value);
  out.retention = o.retention();
  RETURN_IF_ERROR(InRange(out.priority, field + ".priority", 0, 1000));
  RETURN_IF_ERROR(InRange(out.value, field + ".value", 0, 1e9));
  out.placements.assign(o.placements().begin(), o.placements().end());
  if (out.placements.empty()) return Invalid(field + ".placements", "at least one placement");
  out.product_id = o.product_id();
  if (out.type == core::OfferType::kProductPush && out.product_id.empty()) {
    return Invalid(field + ".product_id", "required for PRODUCT_PUSH");
  }
  if (o.per_customer_cap() < 0) return Invalid(field + ".per_customer_cap", "must be >= 0");
  if (o.cap_period_days() < 0 || o.cap_period_days() > 365) {
    return Invalid(field + ".cap_period_days", "must be 0..365");
  }
  if (o.total_cap() < 0) return Invalid(field + ".total_cap", "must be >= 0");
  out.per_customer_cap = o.per_customer_cap();
  if (o.cap_period_days() != 0)
    out.cap_period_ms = static_cast<int64_t>(o.cap_period_days()) * core::kMsPerDay;
  out.total_cap = o.total_cap();
  return out;
}

}  // namespace

absl::Status ParseDecisions(cfg::ServerConfig& c, const std::vector<std::string>& markets,
                            core::DecisionConfig& d) {
  if (c.placements_size() == 0) {
    cfg::ServerConfig shipped;
    if (!google::protobuf::TextFormat::ParseFromString(kShippedConfig, &shipped)) {
      return absl::InternalError("the compiled-in shipped config does not parse");
    }
    *c.mutable_placements() = shipped.placements();
    // Shipped offers need the shipped segments: both or neither.
    if (c.segments_size() == 0 && c.offers_size() == 0) {
      *c.mutable_segments() = shipped.segments();
      *c.mutable_offers() = shipped.offers();
    }
    // The shipped placements that are contacts come with the shipped policy.
    if (!c.has_contact_policy() && c.segments_size() == shipped.segments_size()) {
      *c.mutable_contact_policy() = shipped.contact_policy();
    }
  }
  for (int i = 0; i < c.segments_size(); ++i) {
    const auto& sc = c.segments(i);
    const std::string field = absl::StrCat("segments[", i, "]");
    if (sc.id().empty()) return Invalid(field + ".id", "required");
    for (const auto& earlier : d.segments) {
      if (earlier.id == sc.id())
        return Invalid(field + ".id", absl::StrCat("duplicate '", sc.id(), "'"));
    }
    ASSIGN_OR_RETURN(core::Condition cond,
                     ToCondition(sc.condition(), field + ".condition", markets, d.segments));
    d.segments.push_back({sc.id(), std::move(cond)});
  }
  if (d.segments.size() > 64) return Invalid("segments", "at most 64");
  RETURN_IF_ERROR(ParseContactPolicy(c.contact_policy(), markets, d));
  for (int i = 0; i < c.placements_size(); ++i) {
    ASSIGN_OR_RETURN(core::PlacementSpec spec,
                     ToPlacement(c.placements(i), absl::StrCat("placements[", i, "]")));
    d.placements.push_back(std::move(spec));
  }
  for (int i = 0; i < c.offers_size(); ++i) {
    ASSIGN_OR_RETURN(core::OfferSpec offer,
                     ToOffer(c.offers(i), absl::StrCat("offers[", i, "]"), markets, d.segments));
    d.offers.push_back(std::move(offer));
  }
  RETURN_IF_ERROR(ParseExperiments(c, d));
  // Duplicate ids and offers or experiments naming unknown placements.
  auto built = core::DecisionConfig::Build(d);
  if (!built.ok()) return Invalid("", std::string(built.status().message()));
  for (size_t i = 0; i < d.offers.size(); ++i) {
    for (const std::string& pid : d.offers[i].placements) {
      if (!(*built)->Find(pid)->HasSource(core::Source::kOffer)) {
        return Invalid(absl::StrCat("offers[", i, "].placements"),
                       absl::StrCat("placement '", pid, "' has no OFFERS source"));
      }
    }
  }
  d.require_consent = !c.privacy().has_personalization_requires_consent() ||
                      c.privacy().personalization_requires_consent();
  return absl::OkStatus();
}

}  // namespace nextbest::server::config_internal
