#include "server/metrics.h"

#include <limits>

#include "absl/strings/ascii.h"

namespace nextbest::server {
namespace {
const char* kCodeNames[17] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};
}  // namespace

AtomicHistogramFamily::AtomicHistogramFamily(std::string name, std::string help, std::string label,
                                             std::vector<double> upper_bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_(std::move(label)),
      bounds_(std::move(upper_bounds)) {}

size_t AtomicHistogramFamily::Add(const std::string& label_value) {
  auto s = std::make_unique<Series>();
  s->label_value = label_value;
  s->counts.reset(new std::atomic<uint64_t>[bounds_.size() + 1]);
  for (size_t i = 0; i <= bounds_.size(); ++i) s->counts[i].store(0, std::memory_order_relaxed);
  series_.push_back(std::move(s));
  return series_.size() - 1;
}

std::vector<prometheus::MetricFamily> AtomicHistogramFamily::Collect() const {
  prometheus::MetricFamily family;
  family.name = name_;
  family.help = help_;
  family.type = prometheus::MetricType::Histogram;
  for (const auto& s : series_) {
    prometheus::ClientMetric m;
    m.label.push_back({label_, s->label_value});
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += s->counts[i].load(std::memory_order_relaxed);
      m.histogram.bucket.push_back(
          {cumulative, i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity()});
    }
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = static_cast<double>(s->sum_ns.load(std::memory_order_relaxed)) / 1e9;
    family.metric.push_back(std::move(m));
  }
  return {family};
}

double AtomicHistogramFamily::Quantile(double q) const {
  std::vector<uint64_t> counts(bounds_.size() + 1, 0);
  uint64_t total = 0;
  for (const auto& s : series_) {
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      const uint64_t c = s->counts[i].load(std::memory_order_relaxed);
      counts[i] += c;
      total += c;
    }
  }
  if (total == 0) return 0;
  const double rank = q * static_cast<double>(total);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts[i];
    if (static_cast<double>(cumulative) >= rank) return bounds_[i];
  }
  return std::numeric_limits<double>::infinity();
}

const char* RpcName(Rpc rpc) {
  switch (rpc) {
    case Rpc::kRecordEvents:
      return "RecordEvents";
    case Rpc::kStreamEvents:
      return "StreamEvents";
    case Rpc::kUpsertCustomers:
      return "UpsertCustomers";
    case Rpc::kGetProfile:
      return "GetProfile";
    case Rpc::kUpsertProducts:
      return "UpsertProducts";
    case Rpc::kUpsertStores:
      return "UpsertStores";
    case Rpc::kSetStock:
      return "SetStock";
    case Rpc::kRecommend:
      return "Recommend";
    case Rpc::kPing:
      return "Ping";
    case Rpc::kReloadConfig:
      return "ReloadConfig";
    case Rpc::kRebuildModels:
      return "RebuildModels";
    case Rpc::kListSegments:
      return "ListSegments";
    case Rpc::kDescribeConfig:
      return "DescribeConfig";
    case Rpc::kGetStatus:
      return "GetStatus";
    case Rpc::kDecideForAll:
      return "DecideForAll";
    case Rpc::kSetConsent:
      return "SetConsent";
    case Rpc::kEraseCustomer:
      return "EraseCustomer";
    case Rpc::kExportCustomer:
      return "ExportCustomer";
    case Rpc::kCheckpoint:
      return "Checkpoint";
    case Rpc::kListErasures:
      return "ListErasures";
    case Rpc::kGetExperimentReport:
      return "GetExperimentReport";
    case Rpc::kCount:
      break;
  }
  return "?";
}

Metrics::Metrics(const std::vector<std::string>& placements, bool request_metrics)
    : registry_(std::make_shared<prometheus::Registry>()), request_metrics_(request_metrics) {
  auto& requests =
      prometheus::BuildCounter()
          .Name("nextbest_requests_total")
          .Help("API requests handled (gRPC and HTTP/JSON alike), by method and status code")
          .Register(*registry_);
  latency_ = std::make_shared<AtomicHistogramFamily>(
      "nextbest_request_duration_seconds", "Time from handler entry to Finish, by method", "rpc",
      std::vector<double>{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3,
                          25e-3, 50e-3, 100e-3, 250e-3, 1.0, 2.5});
  for (int r = 0; r < static_cast<int>(Rpc::kCount); ++r) {
    const std::string name = RpcName(static_cast<Rpc>(r));
    for (int c = 0; c < 17; ++c) {
      requests_[r][c] = &requests.Add({{"rpc", name}, {"code", kCodeNames[c]}});
    }
    latency_->Add(name);
  }
  decision_ = std::make_shared<AtomicHistogramFamily>(
      "nextbest_decision_duration_seconds",
      "Server-side decision time inside Recommend, by placement", "placement",
      std::vector<double>{1e-6, 2.5e-6, 5e-6, 10e-6, 20e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3,
                          5e-3});
  for (const auto& p : placements) decision_->Add(p);

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
  events_suppressed_ = &events.Add({{"result", "suppressed_erased_customer"}});
  customers_erased_ = &prometheus::BuildCounter()
                           .Name("nextbest_customers_erased_total")
                           .Help("Customers erased (GDPR erasure RPC and profile retention)")
                           .Register(*registry_)
                           .Add({});
  auto& retention = prometheus::BuildCounter()
                        .Name("nextbest_retention_dropped_total")
                        .Help("Retention: raw events dropped by age, inactive profiles erased")
                        .Register(*registry_);
  events_expired_ = &retention.Add({{"kind", "events"}});
  profiles_expired_ = &retention.Add({{"kind", "profiles"}});
  invalid_utf8_ =
      &prometheus::BuildCounter()
           .Name("nextbest_invalid_utf8_requests_total")
           .Help("Requests gRPC refused before a handler ran: a string field with invalid UTF-8")
           .Register(*registry_)
           .Add({});
  auto& lost = prometheus::BuildGauge()
                   .Name("nextbest_recovery_lost_events")
                   .Help(
                       "Acknowledged events the last start did not find in the write-ahead log "
                       "(served anyway with --accept_wal_loss); 0 normally")
                   .Register(*registry_);
  lost_events_ = &lost.Add({});
  lost_writes_ = &prometheus::BuildGauge()
                      .Name("nextbest_recovery_lost_writes")
                      .Help(
                          "Acknowledged RocksDB writes (sequence numbers) the last start did not "
                          "find in the write-ahead log; 0 normally")
                      .Register(*registry_)
                      .Add({});
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
  events_suppressed_->Increment(static_cast<double>(s.events_suppressed - last_.events_suppressed));
  customers_erased_->Increment(static_cast<double>(s.customers_erased - last_.customers_erased));
  events_expired_->Increment(static_cast<double>(s.events_expired - last_.events_expired));
  profiles_expired_->Increment(static_cast<double>(s.profiles_expired - last_.profiles_expired));
  invalid_utf8_->Increment(static_cast<double>(s.invalid_utf8 - last_.invalid_utf8));
  last_ = s;
}

}  // namespace nextbest::server
