#pragma once
// Prometheus metrics. Families are built once and every series the request
// path touches is resolved up front, so recording is an array index and an
// atomic add. Labels are bounded: rpc, code, placement — never a customer.

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/support/status_code_enum.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace nextbest::server {

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
  kCount
};

class Metrics {
 public:
  explicit Metrics(const std::vector<std::string>& placements);

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  void RecordRpc(Rpc rpc, grpc::StatusCode code, double seconds) {
    const int c = static_cast<int>(code) <= 16 ? static_cast<int>(code) : 2;  // UNKNOWN
    requests_[static_cast<int>(rpc)][c]->Increment();
    latency_[static_cast<int>(rpc)]->Observe(seconds);
  }
  // `placement` is the index in the list given to the constructor.
  void RecordDecision(size_t placement, double seconds) { decision_[placement]->Observe(seconds); }

  struct Snapshot {
    double queue_depth;
    double customers;
    double products;
    int64_t events_accepted;
    int64_t events_duplicate;
    int64_t write_errors;
  };
  // Called periodically with the current figures (gauges set, counters
  // advanced by the difference).
  void Update(const Snapshot& s);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::array<std::array<prometheus::Counter*, 17>, static_cast<int>(Rpc::kCount)> requests_{};
  std::array<prometheus::Histogram*, static_cast<int>(Rpc::kCount)> latency_{};
  std::vector<prometheus::Histogram*> decision_;
  prometheus::Gauge* queue_depth_;
  prometheus::Gauge* customers_;
  prometheus::Gauge* products_;
  prometheus::Counter* events_accepted_;
  prometheus::Counter* events_duplicate_;
  prometheus::Counter* write_errors_;
  Snapshot last_{};
};

const char* RpcName(Rpc rpc);

}  // namespace nextbest::server
