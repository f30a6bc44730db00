#pragma once
// Prometheus metrics. Families are built once and every series the request
// path touches is resolved up front, so recording is an array index and an
// atomic add. Labels are bounded: rpc, code, placement — never a customer.

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/support/status_code_enum.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace nextbest::server {

// A histogram family whose Observe is two relaxed atomic adds: no lock.
// (prometheus-cpp 1.0's Histogram takes a mutex per observation, which the
// lock-free Recommend path must not.) Exposed through prometheus-cpp's
// Collectable interface, so the text format is prometheus-cpp's own.
class AtomicHistogramFamily final : public prometheus::Collectable {
 public:
  AtomicHistogramFamily(std::string name, std::string help, std::string label,
                        std::vector<double> upper_bounds);
  // Adds the series for `label_value`; returns its index. Before serving only.
  size_t Add(const std::string& label_value);
  // Any thread, lock-free.
  void Observe(size_t series, double seconds) {
    Series& s = *series_[series];
    size_t i = 0;
    while (i < bounds_.size() && seconds > bounds_[i]) ++i;
    s.counts[i].fetch_add(1, std::memory_order_relaxed);
    s.sum_ns.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  }
  std::vector<prometheus::MetricFamily> Collect() const override;
  // The upper bound of the bucket holding quantile `q` of every series'
  // observations together (0 with none; +Inf past the last bound).
  double Quantile(double q) const;

 private:
  struct Series {
    std::string label_value;
    std::unique_ptr<std::atomic<uint64_t>[]> counts;  // per bucket, +Inf last
    std::atomic<uint64_t> sum_ns{0};
  };
  const std::string name_, help_, label_;
  const std::vector<double> bounds_;
  std::vector<std::unique_ptr<Series>> series_;
};

enum class Rpc : int {
  kRecordEvents,
  kStreamEvents,
  kUpsertCustomers,
  kGetProfile,
  kUpsertProducts,
  kUpsertStores,
  kSetStock,
  kRecommend,
  kPing,
  kReloadConfig,
  kRebuildModels,
  kListSegments,
  kDecideForAll,
  kSetConsent,
  kEraseCustomer,
  kExportCustomer,
  kCheckpoint,
  kListErasures,
  kGetExperimentReport,
  kDescribeConfig,
  kGetStatus,
  kCount
};

class Metrics {
 public:
  // `request_metrics` false turns RecordRpc/RecordDecision into no-ops (for
  // measuring their cost; scripts/bench).
  explicit Metrics(const std::vector<std::string>& placements, bool request_metrics = true);

  bool request_metrics() const { return request_metrics_; }

  // Everything to register with the exposer.
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables() const {
    return {registry_, latency_, decision_};
  }

  void RecordRpc(Rpc rpc, grpc::StatusCode code, double seconds) {
    if (!request_metrics_) return;
    const int c = static_cast<int>(code) <= 16 ? static_cast<int>(code) : 2;  // UNKNOWN
    requests_[static_cast<int>(rpc)][c]->Increment();
    latency_->Observe(static_cast<size_t>(rpc), seconds);
  }
  // `placement` is the index in the list given to the constructor.
  void RecordDecision(size_t placement, double seconds) {
    if (request_metrics_) decision_->Observe(placement, seconds);
  }

  // Read back for the console (InsightService.GetStatus).
  int64_t CallsOk(Rpc rpc) const {
    return static_cast<int64_t>(requests_[static_cast<int>(rpc)][0]->Value());
  }
  int64_t EventsAccepted() const { return static_cast<int64_t>(events_accepted_->Value()); }
  double DecisionQuantile(double q) const { return decision_->Quantile(q); }

  struct Snapshot {
    double queue_depth;
    double customers;
    double products;
    int64_t events_accepted;
    int64_t events_duplicate;
    int64_t write_errors;
    int64_t events_suppressed = 0;
    int64_t customers_erased = 0;
    int64_t events_expired = 0;    // retention: raw events dropped by age
    int64_t profiles_expired = 0;  // retention: inactive profiles erased
    int64_t invalid_utf8 = 0;      // requests the parser refused
  };
  // What the last start found missing from the WAL (--accept_wal_loss).
  void SetRecoveryLoss(int64_t events, int64_t writes) {
    lost_events_->Set(static_cast<double>(events));
    lost_writes_->Set(static_cast<double>(writes));
  }

  // Called periodically with the current figures (gauges set, counters
  // advanced by the difference).
  void Update(const Snapshot& s);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  const bool request_metrics_;
  std::array<std::array<prometheus::Counter*, 17>, static_cast<int>(Rpc::kCount)> requests_{};
  std::shared_ptr<AtomicHistogramFamily> latency_;   // series = Rpc
  std::shared_ptr<AtomicHistogramFamily> decision_;  // series = placement
  prometheus::Gauge* queue_depth_;
  prometheus::Gauge* customers_;
  prometheus::Gauge* products_;
  prometheus::Counter* events_accepted_;
  prometheus::Counter* events_duplicate_;
  prometheus::Counter* write_errors_;
  prometheus::Counter* events_suppressed_;
  prometheus::Counter* customers_erased_;
  prometheus::Counter* events_expired_;
  prometheus::Counter* profiles_expired_;
  prometheus::Counter* invalid_utf8_;
  prometheus::Gauge* lost_events_;
  prometheus::Gauge* lost_writes_;
  Snapshot last_{};
};

const char* RpcName(Rpc rpc);

}  // namespace nextbest::server
