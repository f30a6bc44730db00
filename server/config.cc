#include "server/config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
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
#include "server/config_internal.h"

namespace nextbest::server {
namespace {

using namespace config_internal;  // NOLINT: Invalid, InRange, Or, cfg

class ErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (first.empty())
      first = absl::StrCat("line ", line + 1, ", column ", column + 1, ": ", message);
  }
  std::string first;
};

// An integer that must lie within [min, max].
absl::Status Within(int64_t value, const std::string& field, int64_t min, int64_t max) {
  if (value < min || value > max) return Invalid(field, absl::StrCat("must be ", min, "..", max));
  return absl::OkStatus();
}

absl::Status ParseMarkets(const cfg::ServerConfig& c, ServiceConfig& out) {
  if (c.markets_size() > 0) out.markets.clear();
  for (const auto& m : c.markets()) {
    if (m.size() != 2 || !std::isupper(m[0]) || !std::isupper(m[1])) {
      return Invalid("markets", absl::StrCat("'", m, "' is not an ISO 3166-1 alpha-2 code"));
    }
    out.markets.push_back(m);
  }
  if (out.markets.size() > core::kMaxCountries) return Invalid("markets", "at most 16");
  out.currency = Or(c.currency(), out.currency);
  if (out.currency.size() != 3) return Invalid("currency", "must be an ISO 4217 code");
  return absl::OkStatus();
}

absl::Status ParseStorage(const cfg::StorageConfig& c, storage::StoreOptions& out) {
  switch (c.durability()) {
    case cfg::StorageConfig::DURABILITY_UNSPECIFIED:
      break;  // the struct's default
    case cfg::StorageConfig::GROUP_COMMIT_SYNC:
      out.durability = storage::Durability::kGroupCommitSync;
      break;
    case cfg::StorageConfig::SYNC_EACH_WRITE:
      out.durability = storage::Durability::kSyncEachWrite;
      break;
    case cfg::StorageConfig::NO_SYNC:
      out.durability = storage::Durability::kNoSync;
      break;
    default:
      return Invalid("storage.durability", "unknown value");
  }
  out.block_cache_mb = Or(c.block_cache_mb(), out.block_cache_mb);
  RETURN_IF_ERROR(Within(out.block_cache_mb, "storage.block_cache_mb", 0, 1 << 20));
  out.write_buffer_mb = Or(c.write_buffer_mb(), out.write_buffer_mb);
  return Within(out.write_buffer_mb, "storage.write_buffer_mb", 0, 1024);
}

absl::Status ParseIngest(const cfg::IngestConfig& c, storage::IngestOptions& out,
                         int& max_events_per_request) {
  out.queue_capacity = Or(c.queue_capacity(), out.queue_capacity);
  out.max_group_requests = Or(c.max_group_requests(), out.max_group_requests);
  out.trending_publish_interval_ms =
      Or(c.trending_publish_interval_ms(), out.trending_publish_interval_ms);
  out.store_trending_keep = Or(c.store_trending_keep(), out.store_trending_keep);
  out.max_unlisted_products = Or(c.max_unlisted_products(), out.max_unlisted_products);
  out.catalog_authoritative = c.catalog_authoritative();
  max_events_per_request = Or(c.max_events_per_request(), max_events_per_request);
  RETURN_IF_ERROR(Within(out.queue_capacity, "ingest.queue_capacity", 1, 1 << 24));
  RETURN_IF_ERROR(Within(out.max_group_requests, "ingest.max_group_requests", 1, 1 << 20));
  RETURN_IF_ERROR(Within(out.trending_publish_interval_ms, "ingest.trending_publish_interval_ms", 1,
                         3'600'000));
  RETURN_IF_ERROR(Within(out.store_trending_keep, "ingest.store_trending_keep", 1, 100000));
  RETURN_IF_ERROR(Within(out.max_unlisted_products, "ingest.max_unlisted_products", 0, 10'000'000));
  return Within(max_events_per_request, "ingest.max_events_per_request", 1, 100000);
}

absl::Status ParseFeatures(const cfg::FeatureConfig& c, core::FeatureOptions& out) {
  out.recently_viewed_count = Or(c.recently_viewed_count(), out.recently_viewed_count);
  out.affinity_half_life_days = Or(c.affinity_half_life_days(), out.affinity_half_life_days);
  out.popularity_half_life_days = Or(c.popularity_half_life_days(), out.popularity_half_life_days);
  out.max_purchase_history = Or(c.max_purchase_history(), out.max_purchase_history);
  out.max_category_affinities = Or(c.max_category_affinities(), out.max_category_affinities);
  out.max_brand_affinities = Or(c.max_brand_affinities(), out.max_brand_affinities);
  out.max_known_sizes = Or(c.max_known_sizes(), out.max_known_sizes);
  out.view_weight = Or(c.view_weight(), out.view_weight);
  out.add_to_cart_weight = Or(c.add_to_cart_weight(), out.add_to_cart_weight);
  out.purchase_weight = Or(c.purchase_weight(), out.purchase_weight);
  out.return_weight = Or(c.return_weight(), out.return_weight);
  out.trending_list_size = Or(c.trending_list_size(), out.trending_list_size);
  RETURN_IF_ERROR(Within(out.recently_viewed_count, "features.recently_viewed_count", 1, 200));
  RETURN_IF_ERROR(
      InRange(out.affinity_half_life_days, "features.affinity_half_life_days", 0.01, 3650));
  RETURN_IF_ERROR(
      InRange(out.popularity_half_life_days, "features.popularity_half_life_days", 0.01, 3650));
  RETURN_IF_ERROR(InRange(out.view_weight, "features.view_weight", -1000, 1000));
  RETURN_IF_ERROR(InRange(out.add_to_cart_weight, "features.add_to_cart_weight", -1000, 1000));
  RETURN_IF_ERROR(InRange(out.purchase_weight, "features.purchase_weight", -1000, 1000));
  RETURN_IF_ERROR(InRange(out.return_weight, "features.return_weight", -1000, 1000));
  RETURN_IF_ERROR(Within(out.max_purchase_history, "features.max_purchase_history", 1, 1000));
  RETURN_IF_ERROR(Within(out.max_category_affinities, "features.max_category_affinities", 1, 1000));
  RETURN_IF_ERROR(Within(out.max_brand_affinities, "features.max_brand_affinities", 1, 1000));
  RETURN_IF_ERROR(Within(out.max_known_sizes, "features.max_known_sizes", 1, 1000));
  out.send_time_half_life_days = Or(c.send_time_half_life_days(), out.send_time_half_life_days);
  RETURN_IF_ERROR(
      Within(out.send_time_half_life_days, "features.send_time_half_life_days", 1, 3650));
  return Within(out.trending_list_size, "features.trending_list_size", 1, 100000);
}

// Each market's time zone (send times are local hours), loaded from the
// system's zone database (tzdata).
absl::Status ParseTimeZones(const cfg::ServerConfig& c, const std::vector<std::string>& markets,
                            core::FeatureOptions& out) {
  static const std::map<std::string, std::string> kDefaults = {
      {"NL", "Europe/Amsterdam"}, {"BE", "Europe/Brussels"}, {"LU", "Europe/Luxembourg"},
      {"FR", "Europe/Paris"},     {"DE", "Europe/Berlin"},   {"AT", "Europe/Vienna"}};
  for (const auto& [market, zone] : c.time_zones()) {
    if (std::find(markets.begin(), markets.end(), market) == markets.end()) {
      return Invalid(absl::StrCat("time_zones[", market, "]"), "not one of the markets");
    }
  }
  out.market_zones.clear();
  for (const std::string& market : markets) {
    auto given = c.time_zones().find(market);
    auto known = kDefaults.find(market);
    if (given == c.time_zones().end() && known == kDefaults.end()) {
      return Invalid(absl::StrCat("time_zones[", market, "]"),
                     "missing: give the market's IANA time zone, e.g. \"Europe/Amsterdam\"");
    }
    const std::string& name = given != c.time_zones().end() ? given->second : known->second;
    absl::TimeZone zone;
    if (!absl::LoadTimeZone(name, &zone)) {
      return Invalid(absl::StrCat("time_zones[", market, "]"),
                     absl::StrCat("unknown time zone '", name, "' (is tzdata installed?)"));
    }
    out.market_zones.push_back(zone);
  }
  return absl::OkStatus();
}

absl::Status ParseNeighbours(const cfg::NeighbourConfig& c, const std::string& field,
                             core::NeighbourOptions& n) {
  n.neighbours_per_product = Or(c.neighbours_per_product(), n.neighbours_per_product);
  n.history_per_customer = Or(c.history_per_customer(), n.history_per_customer);
  n.pair_window = Or(c.pair_window(), n.pair_window);
  if (c.has_distance_decay()) n.distance_decay = c.distance_decay();
  if (c.has_backward_weight()) n.backward_weight = c.backward_weight();
  n.pair_half_life_days = c.pair_half_life_days();
  if (c.has_heavy_customer_damping()) n.heavy_customer_damping = c.heavy_customer_damping();
  if (c.has_popularity_damping()) n.popularity_damping = c.popularity_damping();
  if (c.has_shrink()) n.shrink = c.shrink();
  RETURN_IF_ERROR(Within(n.neighbours_per_product, field + ".neighbours_per_product", 1, 500));
  RETURN_IF_ERROR(Within(n.history_per_customer, field + ".history_per_customer", 2, 1000));
  RETURN_IF_ERROR(Within(n.pair_window, field + ".pair_window", 1, 1000));
  RETURN_IF_ERROR(InRange(n.distance_decay, field + ".distance_decay", 0, 100));
  RETURN_IF_ERROR(InRange(n.backward_weight, field + ".backward_weight", 0, 1));
  RETURN_IF_ERROR(InRange(n.pair_half_life_days, field + ".pair_half_life_days", 0, 36500));
  RETURN_IF_ERROR(InRange(n.heavy_customer_damping, field + ".heavy_customer_damping", 0, 2));
  RETURN_IF_ERROR(InRange(n.popularity_damping, field + ".popularity_damping", 0, 1));
  return InRange(n.shrink, field + ".shrink", 0, 1e6);
}

absl::Status ParseCustomerValue(const cfg::CustomerValueConfig& c, core::CustomerValueOptions& v) {
  const std::string field = "models.customer_value";
  v.min_market_customers = Or(c.min_market_customers(), v.min_market_customers);
  v.clv_months = Or(c.clv_months(), v.clv_months);
  if (c.has_monthly_discount()) v.monthly_discount = c.monthly_discount();
  if (c.has_high_risk_below()) v.high_risk_below = c.high_risk_below();
  if (c.has_medium_risk_below()) v.medium_risk_below = c.medium_risk_below();
  RETURN_IF_ERROR(Within(v.min_market_customers, field + ".min_market_customers", int64_t{100},
                         int64_t{1} << 40));
  RETURN_IF_ERROR(Within(v.clv_months, field + ".clv_months", 1, 120));
  RETURN_IF_ERROR(InRange(v.monthly_discount, field + ".monthly_discount", 0, 0.5));
  RETURN_IF_ERROR(InRange(v.high_risk_below, field + ".high_risk_below", 0, 1));
  RETURN_IF_ERROR(InRange(v.medium_risk_below, field + ".medium_risk_below", 0, 1));
  if (v.medium_risk_below < v.high_risk_below) {
    return Invalid(field + ".medium_risk_below", "must be >= high_risk_below");
  }
  return absl::OkStatus();
}

absl::Status ParseModels(const cfg::ModelConfig& c, ServiceConfig& out) {
  core::ModelOptions& m = out.models;
  out.model_interval_seconds = Or(c.rebuild_interval_seconds(), out.model_interval_seconds);
  if (c.neighbours_per_product() != 0) {
    RETURN_IF_ERROR(Within(c.neighbours_per_product(), "models.neighbours_per_product", 1, 500));
    m.co_purchase.neighbours_per_product = m.co_view.neighbours_per_product =
        c.neighbours_per_product();
  }
  m.new_arrival_days = Or(c.new_arrival_days(), m.new_arrival_days);
  RETURN_IF_ERROR(
      Within(out.model_interval_seconds, "models.rebuild_interval_seconds", 1, 7 * 86400));
  RETURN_IF_ERROR(Within(m.new_arrival_days, "models.new_arrival_days", 1, 3650));
  RETURN_IF_ERROR(ParseNeighbours(c.co_purchase(), "models.co_purchase", m.co_purchase));
  RETURN_IF_ERROR(ParseNeighbours(c.co_view(), "models.co_view", m.co_view));
  const int64_t per_pass = Or(c.build_pairs_per_pass(), m.co_purchase.build_pairs_per_pass);
  RETURN_IF_ERROR(Within(per_pass, "models.build_pairs_per_pass", 1000, int64_t{1} << 32));
  m.co_purchase.build_pairs_per_pass = m.co_view.build_pairs_per_pass = per_pass;
  core::RepurchaseOptions& r = m.repurchase;
  if (c.repurchase().has_consumable_repeat_share())
    r.consumable_repeat_share = c.repurchase().consumable_repeat_share();
  r.min_pairs = Or(c.repurchase().min_pairs(), r.min_pairs);
  RETURN_IF_ERROR(
      InRange(r.consumable_repeat_share, "models.repurchase.consumable_repeat_share", 0, 1));
  RETURN_IF_ERROR(Within(r.min_pairs, "models.repurchase.min_pairs", 1, 1'000'000));
  return ParseCustomerValue(c.customer_value(), m.customer_value);
}

absl::Status ParsePrivacy(const cfg::PrivacyConfig& c, ServiceConfig& out) {
  RETURN_IF_ERROR(Within(c.event_retention_days(), "privacy.event_retention_days", 0, 36500));
  RETURN_IF_ERROR(Within(c.profile_retention_days(), "privacy.profile_retention_days", 0, 36500));
  RETURN_IF_ERROR(
      Within(c.retention_sweep_seconds(), "privacy.retention_sweep_seconds", 0, 7 * 86400));
  out.store.event_retention_ms = static_cast<int64_t>(c.event_retention_days()) * core::kMsPerDay;
  out.profile_retention_ms = static_cast<int64_t>(c.profile_retention_days()) * core::kMsPerDay;
  out.retention_sweep_seconds = Or(c.retention_sweep_seconds(), out.retention_sweep_seconds);
  return absl::OkStatus();
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
  RETURN_IF_ERROR(ParseMarkets(c, out));
  RETURN_IF_ERROR(ParseStorage(c.storage(), out.store));
  RETURN_IF_ERROR(ParseIngest(c.ingest(), out.ingest, out.max_events_per_request));
  RETURN_IF_ERROR(ParseFeatures(c.features(), out.ingest.features));
  RETURN_IF_ERROR(ParseTimeZones(c, out.markets, out.ingest.features));
  RETURN_IF_ERROR(ParseDecisions(c, out.markets, out.decisions));
  // What each customer's contact log keeps follows the policy's caps.
  out.ingest.features.contacts = out.decisions.contact;
  RETURN_IF_ERROR(ParseModels(c.models(), out));
  RETURN_IF_ERROR(ParsePrivacy(c.privacy(), out));
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
  const absl::string_view last = absl::StripAsciiWhitespace(
      last_line == absl::string_view::npos ? body : body.substr(last_line + 1));
  if (last != kConfigEndMarker) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": the file must end with the line '", kConfigEndMarker,
        "' (a config cut short can parse with placements missing; the marker proves it is whole)"));
  }
  auto parsed = ParseConfig(contents);
  if (!parsed.ok()) {
    return absl::Status(parsed.status().code(),
                        absl::StrCat(path, ": ", parsed.status().message()));
  }
  return parsed;
}

}  // namespace nextbest::server
