#include "server/config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "core/status_macros.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "nextbest/config/v1/config.pb.h"
#include "server/enums.h"

namespace nextbest::server {
namespace {

namespace cfg = ::nextbest::config::v1;

class ErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (first.empty()) first = absl::StrCat("line ", line + 1, ", column ", column + 1, ": ", message);
  }
  std::string first;
};

absl::Status Invalid(const std::string& field, const std::string& rule) {
  if (field.empty()) return absl::InvalidArgumentError(absl::StrCat("config: ", rule));
  return absl::InvalidArgumentError(absl::StrCat("config: ", field, ": ", rule));
}

// A number from the config: finite and within [min, max] (NaN compares
// false with everything, so a plain range check lets it through).
absl::Status InRange(double value, const std::string& field, double min, double max) {
  if (!std::isfinite(value) || value < min || value > max) {
    return Invalid(field, absl::StrCat("must be a finite number within ", min, "..", max, ", got ", value));
  }
  return absl::OkStatus();
}

template <typename T>
T Or(T value, T fallback) {
  return value != T{} ? value : fallback;
}

// The shipped config (deploy/nextbest.textproto, compiled in): its
// placements, segments and offers serve when a config names no placements.
constexpr const char* kShippedConfig =
#include "server/shipped_config.inc"
    ;

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
  static const std::pair<const char*, core::Channel> kChannels[] = {
      {"WEB", core::Channel::kWeb}, {"APP", core::Channel::kApp}, {"STORE", core::Channel::kStore},
      {"EMAIL", core::Channel::kEmail}, {"CALL_CENTER", core::Channel::kCallCenter}};
  for (int i = 0; i < c.channels_size(); ++i) {
    bool found = false;
    for (const auto& [name, ch] : kChannels) {
      if (c.channels(i) == name) {
        out.channels |= static_cast<uint8_t>(1u << static_cast<int>(ch));
        found = true;
      }
    }
    if (!found) {
      return Invalid(absl::StrCat(field, ".channels[", i, "]"),
                     absl::StrCat("'", c.channels(i), "': one of WEB, APP, STORE, EMAIL, CALL_CENTER"));
    }
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
  return out;
}

absl::StatusOr<core::PlacementSpec> ToPlacement(const cfg::PlacementConfig& p, const std::string& field) {
  core::PlacementSpec spec;
  spec.id = p.id();
  if (spec.id.empty()) return Invalid(field + ".id", "required");
  if (p.sources_size() == 0) return Invalid(field + ".sources", "at least one source");
  for (int i = 0; i < p.sources_size(); ++i) {
    const auto& s = p.sources(i);
    const std::string f = absl::StrCat(field, ".sources[", i, "]");
    core::SourceSpec src;
    // By name: the config's kinds are the source table's config names.
    const std::optional<core::Source> kind =
        cfg::SourceConfig::Kind_IsValid(s.kind()) ? core::SourceFromConfigName(cfg::SourceConfig::Kind_Name(s.kind()))
                                                  : std::nullopt;
    if (!kind.has_value()) {
      std::vector<std::string> names;
      for (int k = 1; k <= cfg::SourceConfig::Kind_MAX; ++k) names.push_back(cfg::SourceConfig::Kind_Name(k));
      return Invalid(f + ".kind", absl::StrCat("required: one of ", absl::StrJoin(names, ", ")));
    }
    src.source = *kind;
    src.weight = s.weight() != 0 ? s.weight() : 1.0;
    RETURN_IF_ERROR(InRange(src.weight, f + ".weight", 0, 1000));
    src.limit = Or(s.limit(), 50);
    if (src.limit < 1 || src.limit > 1000) return Invalid(f + ".limit", "must be 1..1000");
    src.seed = s.seed() == cfg::SourceConfig::SEED_UNSPECIFIED ? core::Seed::kBoth : ToCore(s.seed());
    if (s.scope() < cfg::SourceConfig::MARKET || s.scope() > cfg::SourceConfig::CATEGORY) {
      return Invalid(f + ".scope", "unknown value");
    }
    if (s.scope() != cfg::SourceConfig::MARKET && s.kind() != cfg::SourceConfig::TRENDING) {
      return Invalid(f + ".scope", "only for TRENDING");
    }
    src.scope = ToCore(s.scope());
    if (spec.HasSource(src.source)) return Invalid(f + ".kind", "listed twice");
    spec.sources.push_back(src);
  }
  spec.max_count = Or(p.max_count(), 50);
  spec.default_count = Or(p.default_count(), std::min(10, spec.max_count));
  if (spec.max_count < 1 || spec.max_count > 1000) return Invalid(field + ".max_count", "must be 1..1000");
  if (spec.default_count < 1 || spec.default_count > spec.max_count) {
    return Invalid(field + ".default_count", "must be 1..max_count");
  }
  spec.fill_with_trending = p.has_fill_with_trending() ? p.fill_with_trending() : true;
  spec.due_fraction = Or(p.due_fraction(), 1.0);
  spec.min_purchases = Or(p.min_purchases(), 2);
  spec.max_overdue = p.max_overdue();
  RETURN_IF_ERROR(InRange(spec.due_fraction, field + ".due_fraction", 0.01, 100));
  if (spec.min_purchases < 2) return Invalid(field + ".min_purchases", "must be >= 2");
  RETURN_IF_ERROR(InRange(spec.max_overdue, field + ".max_overdue", 0, 1000));
  spec.size_fit = p.has_size_fit() ? p.size_fit() : true;
  spec.rotation = p.rotation();
  RETURN_IF_ERROR(InRange(spec.rotation, field + ".rotation", 0, 0.5));
  spec.exclude_bought_within_days = p.exclude_bought_within_days();
  spec.max_per_category = p.max_per_category();
  if (spec.exclude_bought_within_days < 0) return Invalid(field + ".exclude_bought_within_days", "must be >= 0");
  if (spec.max_per_category < 0) return Invalid(field + ".max_per_category", "must be >= 0");
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
  arb.use_priority = !a.has_use_priority() || a.use_priority();
  arb.use_context = !a.has_use_context() || a.use_context();
  arb.product_weight = a.product_weight() != 0 ? a.product_weight() : 1.0;
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
    RETURN_IF_ERROR(InRange(w, absl::StrCat(field, ".arbitration.offer_type_weight[", type, "]"), 0, 1000));
    arb.offer_type_weight[slot] = w;
  }
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

absl::StatusOr<core::OfferSpec> ToOffer(const cfg::OfferConfig& o, const std::string& field,
                                        const std::vector<std::string>& markets,
                                        const std::vector<core::SegmentSpec>& segments) {
  core::OfferSpec out;
  out.id = o.id();
  if (out.id.empty()) return Invalid(field + ".id", "required");
  if (o.type() < cfg::OfferConfig::PROMOTION || o.type() > cfg::OfferConfig::SERVICE) {
    return Invalid(field + ".type", "required: PROMOTION, PRODUCT_PUSH, MOMENT, LOYALTY or SERVICE");
  }
  out.type = ToCore(o.type());
  out.title = o.title();
  if (out.title.empty()) return Invalid(field + ".title", "required");
  out.text = o.text();
  auto cond = ToCondition(o.eligibility(), field + ".eligibility", markets, segments);
  if (!cond.ok()) return cond.status();
  out.eligibility = std::move(*cond);
  auto start = ParseDate(o.start(), field + ".start");
  if (!start.ok()) return start.status();
  auto end = ParseDate(o.end(), field + ".end");
  if (!end.ok()) return end.status();
  out.start = *start;
  out.end = *end;
  if (out.end != 0 && out.end <= out.start) return Invalid(field + ".end", "must be after start");
  out.priority = o.priority() != 0 ? o.priority() : 1.0;
  out.value = o.value() != 0 ? o.value() : 1.0;
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
  out.cap_period_ms = static_cast<int64_t>(Or(o.cap_period_days(), 30)) * core::kMsPerDay;
  out.total_cap = o.total_cap();
  return out;
}

}  // namespace

absl::StatusOr<ServiceConfig> ParseConfig(const std::string& text) {
  cfg::ServerConfig c;
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &c)) {
    return absl::InvalidArgumentError(absl::StrCat("config: ", errors.first));
  }

  ServiceConfig out;
  for (const auto& m : c.markets()) {
    if (m.size() != 2 || !std::isupper(m[0]) || !std::isupper(m[1])) {
      return Invalid("markets", absl::StrCat("'", m, "' is not an ISO 3166-1 alpha-2 code"));
    }
    out.markets.push_back(m);
  }
  if (out.markets.empty()) out.markets = {"NL", "BE", "LU", "FR", "DE", "AT"};
  if (out.markets.size() > core::kMaxCountries) return Invalid("markets", "at most 16");
  out.currency = Or<std::string>(c.currency(), "EUR");
  if (out.currency.size() != 3) return Invalid("currency", "must be an ISO 4217 code");

  switch (c.storage().durability()) {
    case cfg::StorageConfig::DURABILITY_UNSPECIFIED:
    case cfg::StorageConfig::GROUP_COMMIT_SYNC:
      out.store.durability = storage::Durability::kGroupCommitSync;
      break;
    case cfg::StorageConfig::SYNC_EACH_WRITE:
      out.store.durability = storage::Durability::kSyncEachWrite;
      break;
    case cfg::StorageConfig::NO_SYNC:
      out.store.durability = storage::Durability::kNoSync;
      break;
    default:
      return Invalid("storage.durability", "unknown value");
  }
  out.store.block_cache_mb = Or(c.storage().block_cache_mb(), 64);
  if (out.store.block_cache_mb < 0) return Invalid("storage.block_cache_mb", "must be >= 0");
  out.store.write_buffer_mb = c.storage().write_buffer_mb();
  if (out.store.write_buffer_mb < 0 || out.store.write_buffer_mb > 1024) {
    return Invalid("storage.write_buffer_mb", "must be 0 (automatic) or 1..1024");
  }

  const auto& in = c.ingest();
  out.ingest.queue_capacity = Or(in.queue_capacity(), 4096);
  out.ingest.max_group_requests = Or(in.max_group_requests(), 256);
  out.ingest.trending_publish_interval_ms = Or(in.trending_publish_interval_ms(), 200);
  out.ingest.store_trending_keep = Or(in.store_trending_keep(), 250);
  out.ingest.max_unlisted_products = Or(in.max_unlisted_products(), 10000);
  if (out.ingest.max_unlisted_products < 0 || out.ingest.max_unlisted_products > 10'000'000) {
    return Invalid("ingest.max_unlisted_products", "must be 0..10000000");
  }
  out.ingest.catalog_authoritative = in.catalog_authoritative();
  if (out.ingest.store_trending_keep < 1 || out.ingest.store_trending_keep > 100000) {
    return Invalid("ingest.store_trending_keep", "must be 1..100000");
  }
  out.max_events_per_request = Or(in.max_events_per_request(), 1000);
  if (out.ingest.queue_capacity < 1) return Invalid("ingest.queue_capacity", "must be >= 1");
  if (out.ingest.max_group_requests < 1) return Invalid("ingest.max_group_requests", "must be >= 1");
  if (out.max_events_per_request < 1) return Invalid("ingest.max_events_per_request", "must be >= 1");

  const auto& f = c.features();
  core::FeatureOptions& fo = out.ingest.features;
  fo.recently_viewed_count = Or(f.recently_viewed_count(), 20);
  fo.affinity_half_life_days = Or(f.affinity_half_life_days(), 30.0);
  fo.popularity_half_life_days = Or(f.popularity_half_life_days(), 7.0);
  fo.max_purchase_history = Or(f.max_purchase_history(), 64);
  fo.max_category_affinities = Or(f.max_category_affinities(), 16);
  fo.max_brand_affinities = Or(f.max_brand_affinities(), 8);
  fo.max_known_sizes = Or(f.max_known_sizes(), 8);
  fo.view_weight = Or(f.view_weight(), 1.0);
  fo.add_to_cart_weight = Or(f.add_to_cart_weight(), 3.0);
  fo.purchase_weight = Or(f.purchase_weight(), 5.0);
  fo.return_weight = Or(f.return_weight(), -5.0);
  fo.trending_list_size = Or(f.trending_list_size(), 500);
  if (fo.recently_viewed_count < 1 || fo.recently_viewed_count > 200) {
    return Invalid("features.recently_viewed_count", "must be 1..200");
  }
  RETURN_IF_ERROR(InRange(fo.affinity_half_life_days, "features.affinity_half_life_days", 0.01, 3650));
  RETURN_IF_ERROR(InRange(fo.popularity_half_life_days, "features.popularity_half_life_days", 0.01, 3650));
  RETURN_IF_ERROR(InRange(fo.view_weight, "features.view_weight", -1000, 1000));
  RETURN_IF_ERROR(InRange(fo.add_to_cart_weight, "features.add_to_cart_weight", -1000, 1000));
  RETURN_IF_ERROR(InRange(fo.purchase_weight, "features.purchase_weight", -1000, 1000));
  RETURN_IF_ERROR(InRange(fo.return_weight, "features.return_weight", -1000, 1000));
  if (fo.max_purchase_history < 1 || fo.max_purchase_history > 1000) {
    return Invalid("features.max_purchase_history", "must be 1..1000");
  }
  if (fo.max_category_affinities < 1 || fo.max_category_affinities > 1000) {
    return Invalid("features.max_category_affinities", "must be 1..1000");
  }
  if (fo.max_brand_affinities < 1 || fo.max_brand_affinities > 1000) {
    return Invalid("features.max_brand_affinities", "must be 1..1000");
  }
  if (fo.max_known_sizes < 1 || fo.max_known_sizes > 1000) {
    return Invalid("features.max_known_sizes", "must be 1..1000");
  }
  if (fo.trending_list_size < 1) return Invalid("features.trending_list_size", "must be >= 1");

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
  }
  core::DecisionConfig& d = out.decisions;
  for (int i = 0; i < c.segments_size(); ++i) {
    const auto& sc = c.segments(i);
    const std::string field = absl::StrCat("segments[", i, "]");
    if (sc.id().empty()) return Invalid(field + ".id", "required");
    for (const auto& earlier : d.segments) {
      if (earlier.id == sc.id()) return Invalid(field + ".id", absl::StrCat("duplicate '", sc.id(), "'"));
    }
    auto cond = ToCondition(sc.condition(), field + ".condition", out.markets, d.segments);
    if (!cond.ok()) return cond.status();
    d.segments.push_back({sc.id(), std::move(*cond)});
  }
  if (d.segments.size() > 64) return Invalid("segments", "at most 64");
  for (int i = 0; i < c.placements_size(); ++i) {
    auto spec = ToPlacement(c.placements(i), absl::StrCat("placements[", i, "]"));
    if (!spec.ok()) return spec.status();
    d.placements.push_back(std::move(*spec));
  }
  for (int i = 0; i < c.offers_size(); ++i) {
    auto offer = ToOffer(c.offers(i), absl::StrCat("offers[", i, "]"), out.markets, d.segments);
    if (!offer.ok()) return offer.status();
    d.offers.push_back(std::move(*offer));
  }
  // Duplicate ids and offers naming unknown placements.
  auto built = core::DecisionConfig::Build(d);
  if (!built.ok()) return Invalid("", std::string(built.status().message()));
  for (size_t i = 0; i < d.offers.size(); ++i) {
    for (const std::string& pid : d.offers[i].placements) {
      const core::PlacementSpec* p = (*built)->Find(pid);
      if (!p->HasSource(core::Source::kOffer)) {
        return Invalid(absl::StrCat("offers[", i, "].placements"),
                       absl::StrCat("placement '", pid, "' has no OFFERS source"));
      }
    }
  }

  const auto& m = c.models();
  out.model_interval_seconds = Or(m.rebuild_interval_seconds(), 300);
  out.models.neighbours_per_product = Or(m.neighbours_per_product(), 20);
  out.models.new_arrival_days = Or(m.new_arrival_days(), 30);
  out.models.session_gap_ms = static_cast<int64_t>(Or(m.session_gap_minutes(), 30)) * 60'000;
  if (out.model_interval_seconds < 1) return Invalid("models.rebuild_interval_seconds", "must be >= 1");
  if (out.models.neighbours_per_product < 1 || out.models.neighbours_per_product > 200) {
    return Invalid("models.neighbours_per_product", "must be 1..200");
  }
  if (out.models.new_arrival_days < 1) return Invalid("models.new_arrival_days", "must be >= 1");
  if (out.models.session_gap_ms < 60'000) return Invalid("models.session_gap_minutes", "must be >= 1");
  out.models.counters_per_product = std::max(48, out.models.neighbours_per_product * 2);
  const auto& pr = c.privacy();
  if (pr.event_retention_days() < 0) return Invalid("privacy.event_retention_days", "must be >= 0");
  if (pr.profile_retention_days() < 0) return Invalid("privacy.profile_retention_days", "must be >= 0");
  if (pr.retention_sweep_seconds() < 0) return Invalid("privacy.retention_sweep_seconds", "must be >= 0");
  out.store.event_retention_ms = static_cast<int64_t>(pr.event_retention_days()) * core::kMsPerDay;
  out.profile_retention_ms = static_cast<int64_t>(pr.profile_retention_days()) * core::kMsPerDay;
  out.retention_sweep_seconds = Or(pr.retention_sweep_seconds(), 3600);
  d.require_consent = !c.privacy().has_personalization_requires_consent() ||
                                         c.privacy().personalization_requires_consent();
  ASSIGN_OR_RETURN(out.auth, ParseAuthConfig(c.auth()));
  return out;
}

absl::StatusOr<ServiceConfig> LoadConfig(const std::string& path) {
  if (path.empty()) return ParseConfig("");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("config file ", path, ": cannot open"));
  std::stringstream text;
  text << in.rdbuf();
  // A file cut short (a partial copy, a full disk, an editor crash) can
  // still parse, with placements missing: the end marker proves the file
  // is whole.
  const std::string contents = text.str();
  absl::string_view body = absl::StripTrailingAsciiWhitespace(contents);
  const size_t last_line = body.rfind('\n');
  const absl::string_view last =
      absl::StripAsciiWhitespace(last_line == absl::string_view::npos ? body : body.substr(last_line + 1));
  if (last != kConfigEndMarker) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": the file must end with the line '", kConfigEndMarker,
        "' (a config cut short can parse with placements missing; the marker proves it is whole)"));
  }
  auto parsed = ParseConfig(contents);
  if (!parsed.ok()) {
    return absl::Status(parsed.status().code(), absl::StrCat(path, ": ", parsed.status().message()));
  }
  return parsed;
}

}  // namespace nextbest::server
