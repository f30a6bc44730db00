#pragma once
// Offline replay evaluation: an interaction log is split in time, the
// training part replayed in time order through the real writer (a RocksDB
// in a temporary directory, the same Ingestor, feature math and
// BuildModels as the server), and each test customer's held-out interaction
// looked for in the top K of the real decision path (core::Recommend) of
// each placement, next to a popularity baseline on the same split.
// Deterministic: the same log and config give the same table.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/eval/interaction_log.h"
#include "tools/eval/metrics.h"

namespace nextbest::tools::eval {

enum class Split {
  // Each customer's last interaction (ties in time: the later line of the
  // file) is held out; customers with fewer than two are training only.
  kLeaveLastOut,
  // Interactions before the cut train; each customer with history before
  // it is tested on the items first interacted with after it.
  kTimeCut,
};

struct EvalOptions {
  std::vector<std::string> placements;  // empty: the personal placements of the config
  int k = 10;
  Split split = Split::kLeaveLastOut;
  std::optional<int64_t> cut_ms;  // kTimeCut: the cut; default at cut_fraction of the interactions
  double cut_fraction = 0.9;
  // Every decision at this time instead of at the held-out interaction's
  // (a log replayed through the API and asked later, at the server's now).
  std::optional<int64_t> decide_at_ms;
  std::string config_path;  // empty: the shipped config
  // Called now and then with (stage, done, total) for a progress display.
  std::function<void(const char*, int64_t, int64_t)> progress;
};

struct ReportRow {
  std::string name;  // a placement id, or the baseline's name
  Summary metrics;
  int64_t offer_slots = 0;  // items of the answers that were offers (not counted)
};

struct EvalReport {
  int64_t customers = 0, items = 0, interactions = 0;
  int64_t training = 0, tested = 0;
  std::string split;            // how the log was split, in words
  std::vector<ReportRow> rows;  // the popularity baseline first
  // The models built from the training part: the neighbours' fingerprint
  // (the same log gives the same value in every process) and build time.
  uint64_t model_fingerprint = 0;
  double model_seconds = 0;
  double seconds = 0;
};

absl::StatusOr<EvalReport> Evaluate(std::vector<Interaction> log,
                                    const std::vector<ItemInfo>& items, const EvalOptions& options);

// The report as an aligned table, with each row's HR and NDCG as a
// multiple of the popularity baseline's.
std::string FormatReport(const EvalReport& report, int k);
// The report as one JSON object (for scripts: tuning, CI).
std::string ReportJson(const EvalReport& report);

}  // namespace nextbest::tools::eval
