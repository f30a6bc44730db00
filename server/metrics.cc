#include "server/metrics.h"

#include "absl/strings/ascii.h"

namespace nextbest::server {
namespace {
const char* kCodeNames[17] = {"OK",
                              "CANCELLED",
                              "UNKNOWN",
                              "INVALID_ARGUMENT",
                              "DEADLINE_EXCEEDED",
                              "NOT_FOUND",
                              "ALREADY_EXISTS",
                              "PERMISSION_DENIED",
                              "RESOURCE_EXHAUSTED",
                              "FAILED_PRECONDITION",
                              "ABORTED",
                              "OUT_OF_RANGE",
                              "UNIMPLEMENTED",
                              "INTERNAL",
                              "UNAVAILABLE",
                              "DATA_LOSS",
                              "UNAUTHENTICATED"};
}  // namespace

const char* RpcName(Rpc rpc) {
  switch (rpc) {
    case Rpc::kRecordEvents: return "RecordEvents";
    case Rpc::kStreamEvents: return "StreamEvents";
    case Rpc::kUpsertCustomers: return "UpsertCustomers";
    case Rpc::kGetProfile: return "GetProfile";
    case Rpc::kUpsertProducts: return "UpsertProducts";
    case Rpc::kUpsertStores: return "UpsertStores";
    case Rpc::kSetStock: return "SetStock";
    case Rpc::kRecommend: return "Recommend";
    case Rpc::kPing: return "Ping";
    case Rpc::kCount: break;
  }
  return "?";
}

Metrics::Metrics(const std::vector<std::string>& placements)
    : registry_(std::make_shared<prometheus::Registry>()) {
  auto& requests = prometheus::BuildCounter()
                       .Name("nextbest_requests_total")
                       .Help("gRPC requests handled, by method and status code")
                       .Register(*registry_);
  auto& latency = prometheus::BuildHistogram()
                      .Name("nextbest_request_duration_seconds")
                      .Help("Time from handler entry to Finish, by method")
                      .Register(*registry_);
  const prometheus::Histogram::BucketBoundaries rpc_buckets = {
      10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3,
      5e-3,  10e-3, 25e-3, 50e-3,  100e-3, 250e-3, 1.0,  2.5};
  for (int r = 0; r < static_cast<int>(Rpc::kCount); ++r) {
    const std::string name = RpcName(static_cast<Rpc>(r));
    for (int c = 0; c < 17; ++c) {
      requests_[r][c] = &requests.Add({{"rpc", name}, {"code", kCodeNames[c]}});
    }
    latency_[r] = &latency.Add({{"rpc", name}}, rpc_buckets);
  }
  auto& decision = prometheus::BuildHistogram()
                       .Name("nextbest_decision_duration_seconds")
                       .Help("Server-side decision time inside Recommend, by placement")
                       .Register(*registry_);
  const prometheus::Histogram::BucketBoundaries decision_buckets = {
      1e-6, 2.5e-6, 5e-6, 10e-6, 20e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 5e-3};
  for (const auto& p : placements) decision_.push_back(&decision.Add({{"placement", p}}, decision_buckets));

  queue_depth_ = &prometheus::BuildGauge()
                      .Name("nextbest_ingest_queue_depth")
                      .Help("Write requests waiting for the writer thread")
                      .Register(*registry_)
                      .Add({});
  customers_ = &prometheus::BuildGauge()
                    .Name("nextbest_customers_in_memory")
                    .Help("Customers with state in memory")
                    .Register(*registry_)
                    .Add({});
  products_ = &prometheus::BuildGauge()
                   .Name("nextbest_products_in_memory")
                   .Help("Products (listed or only seen in events) in memory")
                   .Register(*registry_)
                   .Add({});
  auto& events = prometheus::BuildCounter()
                     .Name("nextbest_events_ingested_total")
                     .Help("Events acknowledged, by result")
                     .Register(*registry_);
  events_accepted_ = &events.Add({{"result", "accepted"}});
  events_duplicate_ = &events.Add({{"result", "duplicate"}});
  write_errors_ = &prometheus::BuildCounter()
                       .Name("nextbest_write_errors_total")
                       .Help("RocksDB group commits that failed")
                       .Register(*registry_)
                       .Add({});
}

void Metrics::Update(const Snapshot& s) {
  queue_depth_->Set(s.queue_depth);
  customers_->Set(s.customers);
  products_->Set(s.products);
  events_accepted_->Increment(static_cast<double>(s.events_accepted - last_.events_accepted));
  events_duplicate_->Increment(static_cast<double>(s.events_duplicate - last_.events_duplicate));
  write_errors_->Increment(static_cast<double>(s.write_errors - last_.write_errors));
  last_ = s;
}

}  // namespace nextbest::server
