#pragma once
// The gRPC services: thin adapters. Each handler validates, converts to
// core/storage types, calls the core (reads) or queues to the single writer
// (writes), maps the status and records one metric.
//
// Reads (Recommend, GetProfile, Ping) run inline on the gRPC callback
// thread, lock-free. Writes finish from the writer thread once durable.

#include <atomic>
#include <functional>

#include "core/clock.h"
#include "core/live_state.h"
#include "nextbest/v1/admin.grpc.pb.h"
#include "nextbest/v1/catalog.grpc.pb.h"
#include "nextbest/v1/customers.grpc.pb.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "nextbest/v1/experiments.grpc.pb.h"
#include "nextbest/v1/insight.grpc.pb.h"
#include "nextbest/v1/privacy.grpc.pb.h"
#include "server/auth.h"
#include "server/batch_pool.h"
#include "server/cluster.h"
#include "server/metrics.h"
#include "server/validation.h"
#include "storage/ingestor.h"
#include "storage/rocks_store.h"

namespace nextbest::server {

// What the admin service asks of the running process (server/app.h).
class AdminOps {
 public:
  virtual ~AdminOps() = default;
  // Re-reads and swaps in the config; the old one stays on error, and on a
  // config that would remove placements unless `allow_removing_placements`.
  virtual absl::StatusOr<v1::ReloadConfigResponse> ReloadConfig(bool allow_removing_placements) = 0;
  // Queues a models build; `done` runs (on the models thread) once the new
  // models serve.
  virtual void RebuildModels(std::function<void(const core::Models&)> done) = 0;
  // Runs `task` on the maintenance thread, after the tasks queued before
  // (erasure purges, checkpoints: slow RocksDB work off the writer and off
  // gRPC's threads).
  virtual void RunMaintenance(std::function<void()> task) = 0;
  // Saves what lives only in memory (offer ledger), then checkpoints the
  // database into `dir`. Blocking: call it from a maintenance task.
  virtual absl::Status Checkpoint(const std::string& dir) = 0;
};

struct ServiceDeps {
  core::LiveState* live;
  storage::Ingestor* ingestor;
  Metrics* metrics;
  const core::Clock* clock;
  Limits limits;
  core::FeatureOptions features;
  AdminOps* admin = nullptr;
  storage::RocksStore* store = nullptr;  // export reads events directly
  // Who may call what (replaced on config reload; read inside a ReadGuard
  // on live->epochs).
  const core::Published<Authorizer>* auth = nullptr;
  BatchPool* batch_pool = nullptr;  // DecideForAll's shared workers
  ClusterNode* cluster = nullptr;   // cluster mode: writes go to the log, reads may forward
};

// The scope each RPC needs (the one table of it).
Scope RpcScope(Rpc rpc);
// OK if the call may run: its scope is open to anonymous callers or its
// credential's caller holds it; UNAUTHENTICATED / PERMISSION_DENIED.
absl::Status Authorize(const ServiceDeps& deps, const grpc::ServerContextBase& ctx, Rpc rpc);
// The same for a caller who sent `authorization` (empty: none) over HTTP.
absl::Status AuthorizeHeader(const ServiceDeps& deps, absl::string_view authorization, Rpc rpc);

class EventServiceImpl final : public v1::EventService::CallbackService {
 public:
  explicit EventServiceImpl(const ServiceDeps& deps) : deps_(deps) {}
  grpc::ServerUnaryReactor* RecordEvents(grpc::CallbackServerContext* ctx,
                                         const v1::RecordEventsRequest* request,
                                         v1::RecordEventsResponse* response) override;
  grpc::ServerReadReactor<v1::StreamEventsRequest>* StreamEvents(
      grpc::CallbackServerContext* ctx, v1::StreamEventsResponse* response) override;

 private:
  const ServiceDeps deps_;
  std::atomic<int> open_streams_{0};
};

class CustomerServiceImpl final : public v1::CustomerService::CallbackService {
 public:
  explicit CustomerServiceImpl(const ServiceDeps& deps) : deps_(deps) {}
  grpc::ServerUnaryReactor* UpsertCustomers(grpc::CallbackServerContext* ctx,
                                            const v1::UpsertCustomersRequest* request,
                                            v1::UpsertCustomersResponse* response) override;
  grpc::ServerUnaryReactor* GetProfile(grpc::CallbackServerContext* ctx,
                                       const v1::GetProfileRequest* request,
                                       v1::GetProfileResponse* response) override;

 private:
  const ServiceDeps deps_;
};

class CatalogServiceImpl final : public v1::CatalogService::CallbackService {
 public:
  explicit CatalogServiceImpl(const ServiceDeps& deps) : deps_(deps) {}
  grpc::ServerUnaryReactor* UpsertProducts(grpc::CallbackServerContext* ctx,
                                           const v1::UpsertProductsRequest* request,
                                           v1::UpsertProductsResponse* response) override;
  grpc::ServerUnaryReactor* UpsertStores(grpc::CallbackServerContext* ctx,
                                         const v1::UpsertStoresRequest* request,
                                         v1::UpsertStoresResponse* response) override;
  grpc::ServerUnaryReactor* SetStock(grpc::CallbackServerContext* ctx,
                                     const v1::SetStockRequest* request,
                                     v1::SetStockResponse* response) override;

 private:
  const ServiceDeps deps_;
};

class DecisionServiceImpl final : public v1::DecisionService::CallbackService {
 public:
  explicit DecisionServiceImpl(const ServiceDeps& deps);
  grpc::ServerUnaryReactor* Recommend(grpc::CallbackServerContext* ctx,
                                      const v1::RecommendRequest* request,
                                      v1::RecommendResponse* response) override;
  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* ctx, const v1::PingRequest* request,
                                 v1::PingResponse* response) override;
  grpc::ServerWriteReactor<v1::DecideForAllResponse>* DecideForAll(
      grpc::CallbackServerContext* ctx, const v1::DecideForAllRequest* request) override;

  // Recommend without gRPC around it: validation, the decision, the
  // response (also what the request fuzzer drives).
  absl::Status Decide(const v1::RecommendRequest& request, v1::RecommendResponse& response);
  // The HTTP gateway's Recommend (server/http_gateway.h): the caller's
  // `authorization` header checked as gRPC's metadata is, then Decide, and
  // the same `rpc="Recommend"` metric — without a gRPC round trip. Not in
  // cluster mode (the gateway then calls through gRPC, which forwards).
  grpc::Status RecommendDirect(absl::string_view authorization, const v1::RecommendRequest& request,
                               v1::RecommendResponse& response);
  bool direct_ok() const { return deps_.cluster == nullptr; }

 private:
  const ServiceDeps deps_;
  std::atomic<int> open_batches_{0};
};

class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  explicit AdminServiceImpl(const ServiceDeps& deps) : deps_(deps) {}
  grpc::ServerUnaryReactor* ReloadConfig(grpc::CallbackServerContext* ctx,
                                         const v1::ReloadConfigRequest* request,
                                         v1::ReloadConfigResponse* response) override;
  grpc::ServerUnaryReactor* RebuildModels(grpc::CallbackServerContext* ctx,
                                          const v1::RebuildModelsRequest* request,
                                          v1::RebuildModelsResponse* response) override;
  grpc::ServerUnaryReactor* ListSegments(grpc::CallbackServerContext* ctx,
                                         const v1::ListSegmentsRequest* request,
                                         v1::ListSegmentsResponse* response) override;
  grpc::ServerUnaryReactor* Checkpoint(grpc::CallbackServerContext* ctx,
                                       const v1::CheckpointRequest* request,
                                       v1::CheckpointResponse* response) override;

 private:
  const ServiceDeps deps_;
};

class PrivacyServiceImpl final : public v1::PrivacyService::CallbackService {
 public:
  explicit PrivacyServiceImpl(const ServiceDeps& deps) : deps_(deps) {}
  grpc::ServerUnaryReactor* SetConsent(grpc::CallbackServerContext* ctx,
                                       const v1::SetConsentRequest* request,
                                       v1::SetConsentResponse* response) override;
  grpc::ServerUnaryReactor* EraseCustomer(grpc::CallbackServerContext* ctx,
                                          const v1::EraseCustomerRequest* request,
                                          v1::EraseCustomerResponse* response) override;
  grpc::ServerWriteReactor<v1::ExportCustomerResponse>* ExportCustomer(
      grpc::CallbackServerContext* ctx, const v1::ExportCustomerRequest* request) override;
  grpc::ServerWriteReactor<v1::ListErasuresResponse>* ListErasures(
      grpc::CallbackServerContext* ctx, const v1::ListErasuresRequest* request) override;

 private:
  const ServiceDeps deps_;
};

// experiment_service.cc
class ExperimentServiceImpl final : public v1::ExperimentService::CallbackService {
 public:
  explicit ExperimentServiceImpl(const ServiceDeps& deps) : deps_(deps) {}
  grpc::ServerUnaryReactor* GetExperimentReport(grpc::CallbackServerContext* ctx,
                                                const v1::GetExperimentReportRequest* request,
                                                v1::GetExperimentReportResponse* response) override;

 private:
  const ServiceDeps deps_;
};

class InsightServiceImpl final : public v1::InsightService::CallbackService {
 public:
  explicit InsightServiceImpl(const ServiceDeps& deps);
  grpc::ServerUnaryReactor* DescribeConfig(grpc::CallbackServerContext* ctx,
                                           const v1::DescribeConfigRequest* request,
                                           v1::DescribeConfigResponse* response) override;
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* ctx,
                                      const v1::GetStatusRequest* request,
                                      v1::GetStatusResponse* response) override;

 private:
  const ServiceDeps deps_;
  const core::TimeMs started_at_;
};

}  // namespace nextbest::server
