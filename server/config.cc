#include "server/config.h"

#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "nextbest/config/v1/config.pb.h"

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
  return absl::InvalidArgumentError(absl::StrCat("config: ", field, ": ", rule));
}

template <typename T>
T Or(T value, T fallback) {
  return value != T{} ? value : fallback;
}

std::vector<core::PlacementSpec> DefaultPlacements() {
  using K = core::PlacementSpec::Kind;
  return {
      {"homepage.door_jou_bekeken", K::kRecentlyViewed, 10, 50, true, 1.0, 2},
      {"homepage.populair", K::kTrending, 10, 50, true, 1.0, 2},
      {"checkout.vergeten", K::kReplenishment, 5, 20, true, 1.0, 2},
  };
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

  const auto& in = c.ingest();
  out.ingest.queue_capacity = Or(in.queue_capacity(), 4096);
  out.ingest.max_group_requests = Or(in.max_group_requests(), 256);
  out.ingest.trending_publish_interval_ms = Or(in.trending_publish_interval_ms(), 200);
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
  fo.view_weight = Or(f.view_weight(), 1.0);
  fo.add_to_cart_weight = Or(f.add_to_cart_weight(), 3.0);
  fo.purchase_weight = Or(f.purchase_weight(), 5.0);
  fo.return_weight = Or(f.return_weight(), -5.0);
  fo.trending_list_size = Or(f.trending_list_size(), 500);
  if (fo.recently_viewed_count < 1 || fo.recently_viewed_count > 200) {
    return Invalid("features.recently_viewed_count", "must be 1..200");
  }
  if (fo.affinity_half_life_days <= 0) return Invalid("features.affinity_half_life_days", "must be > 0");
  if (fo.popularity_half_life_days <= 0) return Invalid("features.popularity_half_life_days", "must be > 0");
  if (fo.max_purchase_history < 1 || fo.max_purchase_history > 1000) {
    return Invalid("features.max_purchase_history", "must be 1..1000");
  }
  if (fo.max_category_affinities < 1 || fo.max_category_affinities > 1000) {
    return Invalid("features.max_category_affinities", "must be 1..1000");
  }
  if (fo.trending_list_size < 1) return Invalid("features.trending_list_size", "must be >= 1");

  absl::flat_hash_set<std::string> ids;
  for (int i = 0; i < c.placements_size(); ++i) {
    const auto& p = c.placements(i);
    const std::string field = absl::StrCat("placements[", i, "]");
    core::PlacementSpec spec;
    spec.id = p.id();
    if (spec.id.empty()) return Invalid(field + ".id", "required");
    if (!ids.insert(spec.id).second) return Invalid(field + ".id", absl::StrCat("duplicate '", spec.id, "'"));
    switch (p.kind()) {
      case cfg::PlacementConfig::RECENTLY_VIEWED: spec.kind = core::PlacementSpec::Kind::kRecentlyViewed; break;
      case cfg::PlacementConfig::TRENDING: spec.kind = core::PlacementSpec::Kind::kTrending; break;
      case cfg::PlacementConfig::REPLENISHMENT: spec.kind = core::PlacementSpec::Kind::kReplenishment; break;
      default: return Invalid(field + ".kind", "required: RECENTLY_VIEWED, TRENDING or REPLENISHMENT");
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
    if (spec.due_fraction <= 0) return Invalid(field + ".due_fraction", "must be > 0");
    if (spec.min_purchases < 2) return Invalid(field + ".min_purchases", "must be >= 2");
    out.placements.push_back(std::move(spec));
  }
  if (out.placements.empty()) out.placements = DefaultPlacements();
  out.personalization_requires_consent = !c.privacy().has_personalization_requires_consent() ||
                                         c.privacy().personalization_requires_consent();
  return out;
}

absl::StatusOr<ServiceConfig> LoadConfig(const std::string& path) {
  if (path.empty()) return ParseConfig("");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("config file ", path, ": cannot open"));
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = ParseConfig(text.str());
  if (!parsed.ok()) {
    return absl::Status(parsed.status().code(), absl::StrCat(path, ": ", parsed.status().message()));
  }
  return parsed;
}

}  // namespace nextbest::server
