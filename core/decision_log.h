#pragma once
// DecisionLog: the decisions served to assigned customers (in an experiment
// or under the global holdout), handed from the read path to the single
// writer, which stores them and counts exposures (storage/ingest_feedback.cc).
//
// The read path must not wait for a disk, so a decision is appended here
// (one uncontended mutex of 16, picked per thread) and the writer drains the
// log at least every IngestOptions::decision_flush_ms. The record is durable
// one group commit later: a crash in between loses the record of decisions
// served in that interval (their feedback then counts as "unknown
// decision"), never a counter that a stored record implies. A full log
// drops new records and counts them (dropped()).

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "core/experiments.h"
#include "core/types.h"

namespace nextbest::core {

struct ServedDecision {
  DecisionId id;
  TimeMs time = 0;
  std::string customer_id;
  std::string placement;
  // (experiment id, variant id): the experiment's, then the holdout's.
  absl::InlinedVector<std::pair<std::string, std::string>, 2> arms;
  std::vector<ProductIndex> products;  // in the order shown
  std::vector<std::string> offers;     // offer ids shown
  // The control answer: offers the customer's data made eligible that it
  // did not show (Decision::held_back_offers).
  std::vector<std::string> held_back_offers;
  std::string offer_segment;  // the customer's RFM segment name for offer uplift
};

class DecisionLog {
 public:
  // 1,048,576 records (~250 MB at most) while the writer catches up.
  explicit DecisionLog(size_t capacity = size_t{1} << 20) : capacity_(capacity) {}
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  // Any thread.
  void Append(ServedDecision d);
  // The writer: moves everything logged so far into `out` (appended).
  size_t Drain(std::vector<ServedDecision>& out);
  size_t pending() const { return size_.load(std::memory_order_relaxed); }
  int64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct Shard {
    std::mutex mu;
    std::vector<ServedDecision> items;  // guarded by mu
  };
  const size_t capacity_;
  std::array<Shard, 16> shards_;
  std::atomic<size_t> size_{0};
  std::atomic<int64_t> dropped_{0};
};

}  // namespace nextbest::core
