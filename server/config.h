#pragma once
// Server configuration: the config file (protobuf text format of
// nextbest.config.v1.ServerConfig) parsed and validated once at start-up,
// with defaults filled in, and handed down as plain option structs.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/decision_config.h"
#include "core/models.h"
#include "server/auth.h"
#include "storage/ingestor.h"
#include "storage/rocks_store.h"

namespace nextbest::server {

// Every default lives here or in the struct a field lands in (the parser
// keeps a struct's value for a field the file leaves at zero).
struct ServiceConfig {
  std::vector<std::string> markets = {"NL", "BE", "LU", "FR", "DE", "AT"};
  std::string currency = "EUR";
  storage::StoreOptions store;  // path filled in from --data_dir
  storage::IngestOptions ingest;
  int max_events_per_request = 1000;
  // Placements, offers, segments, consent: what a reload replaces.
  core::DecisionConfig decisions;
  core::ModelOptions models;
  int model_interval_seconds = 300;
  int64_t profile_retention_ms = 0;  // 0: keep forever
  int retention_sweep_seconds = 3600;
  AuthConfig auth;  // reloadable
};

// Parses and validates config text. INVALID_ARGUMENT naming the field (or
// the line and column of a syntax error).
absl::StatusOr<ServiceConfig> ParseConfig(const std::string& text);
// The last line of every config file (LoadConfig refuses a file without it).
inline constexpr char kConfigEndMarker[] = "# end of nextbest config";

// Reads and parses a file; an empty path gives the defaults. The file's
// last non-blank line must be kConfigEndMarker (INVALID_ARGUMENT otherwise).
absl::StatusOr<ServiceConfig> LoadConfig(const std::string& path);

}  // namespace nextbest::server
