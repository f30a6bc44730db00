#pragma once
// App: one nextbest process — config, RocksDB, in-memory state, the writer,
// the gRPC server and the metrics endpoint — in start and stop order.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "core/live_state.h"
#include "grpcpp/server.h"
#include "prometheus/exposer.h"
#include "server/arena_allocator.h"
#include "server/cluster.h"
#include "server/config.h"
#include "server/experiment_metrics.h"
#include "server/http_gateway.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/services.h"
#include "storage/ingestor.h"
#include "storage/rocks_store.h"

namespace nextbest::server {

struct AppOptions {
  std::string grpc_address = "127.0.0.1:50051";
  std::string metrics_address = "127.0.0.1:9464";  // empty: no metrics endpoint
  std::string data_dir = "./data";
  std::string config_path;      // empty: built-in defaults
  bool request_metrics = true;  // false: no per-request metrics (benchmarking their cost)
  // The admin token's file; empty: DATA_DIR/admin_token, created (random,
  // mode 0600) at the first start.
  std::string admin_token_file;
  // Verify every SST block's checksum before serving (refuses a corrupt
  // database).
  bool verify_checksums = true;
  int max_concurrent_streams = 1000;  // open StreamEvents calls
  int max_concurrent_batches = 4;     // open DecideForAll calls
  int batch_threads = 0;              // DecideForAll workers; 0: one per core
  // Serve even if the WAL lost acknowledged writes (logged and counted);
  // off: exit 1 naming the loss.
  bool accept_wal_loss = false;
  // A list of erasures (`nextbest erasures --out=FILE`, JSON lines) to
  // re-apply after recovery, before serving: for a data directory restored
  // from a checkpoint taken before some of them.
  std::string reapply_erasures;
  // TLS for the gRPC port: certificate chain and key (PEM files); with a
  // client CA, clients must present a certificate it signed (mutual TLS).
  // Empty: plaintext (loopback and trusted networks only).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // The HTTP/JSON API and the marketer console (server/http_gateway.h);
  // empty address: none.
  std::string http_address;
  int http_threads = 2;
  HttpGatewayOptions http;
  // Cluster mode when cluster.kafka_brokers is set (server/cluster.h).
  ClusterOptions cluster;
};

class App final : public AdminOps {
 public:
  // Loads the config, opens the database, recovers every customer and the
  // catalog into memory, then starts serving (health SERVING). Fails without
  // serving anything on bad config, a damaged database or a busy port.
  static absl::StatusOr<std::unique_ptr<App>> Start(const AppOptions& options,
                                                    const core::Clock* clock = nullptr);
  ~App();  // Shutdown(absl::Seconds(5)) if not done

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  int http_port() const { return http_ != nullptr ? http_->port() : 0; }
  const storage::RecoveryStats& recovery() const { return ingestor_->recovery(); }

  // Health NOT_SERVING, stop accepting calls, let in-flight calls finish
  // (at most `drain`), finish every queued write, close RocksDB.
  void Shutdown(absl::Duration drain);

  // AdminOps (also SIGHUP). Thread-safe.
  absl::StatusOr<v1::ReloadConfigResponse> ReloadConfig(bool allow_removing_placements) override;
  void RebuildModels(std::function<void(const core::Models&)> done) override;
  void RunMaintenance(std::function<void()> task) override;
  absl::Status Checkpoint(const std::string& dir) override;

 private:
  App() = default;
  void RunTicker();
  void RunModels();
  void RunMaintenanceTasks();
  // Erases customers whose last event is older than the profile retention.
  void SweepInactiveProfiles();
  // Attaches offer counters and metric series, then swaps the config in.
  absl::Status PublishConfig(core::DecisionConfig config);
  absl::Status SaveOfferLedger();
  // Drops stored decisions that can no longer be attributed.
  void PruneDecisions();
  absl::Status ReapplyErasures(const std::string& file);

  core::SystemClock system_clock_;
  const core::Clock* clock_ = nullptr;
  ServiceConfig config_;
  std::unique_ptr<storage::RocksStore> store_;
  std::unique_ptr<core::LiveState> live_;
  std::unique_ptr<ClusterNode> cluster_;  // cluster mode only
  std::unique_ptr<storage::Ingestor> ingestor_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<EventServiceImpl> events_;
  std::unique_ptr<CustomerServiceImpl> customers_;
  std::unique_ptr<CatalogServiceImpl> catalog_;
  std::unique_ptr<DecisionServiceImpl> decisions_;
  std::unique_ptr<AdminServiceImpl> admin_;
  std::unique_ptr<PrivacyServiceImpl> privacy_;
  std::unique_ptr<ExperimentServiceImpl> experiments_;
  std::unique_ptr<InsightServiceImpl> insight_;
  std::shared_ptr<ExperimentMetrics> experiment_metrics_;
  std::shared_ptr<prometheus::Collectable> cluster_metrics_;
  bool serving_ = false;  // health, in cluster mode (ticker thread)
  ArenaMessageAllocator<v1::RecommendRequest, v1::RecommendResponse> recommend_allocator_;
  ArenaMessageAllocator<v1::GetProfileRequest, v1::GetProfileResponse> profile_allocator_;
  std::unique_ptr<BatchPool> batch_pool_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::unique_ptr<HttpGateway> gateway_;  // calls server_ in process
  std::unique_ptr<HttpServer> http_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;

  std::string admin_token_;
  core::Published<Authorizer> auth_;  // retires into live_->epochs
  std::string config_path_;
  std::string data_dir_;
  std::mutex reload_mu_;  // one reload at a time
  int64_t config_version_ = 0;
  int cap_node_ = 0, cap_nodes_ = 1;            // cluster: this node's share of total caps
  std::vector<std::string> metric_placements_;  // placements at start; the rest "other"

  std::mutex models_mu_;
  std::condition_variable models_cv_;
  std::vector<std::function<void(const core::Models&)>> models_waiters_;
  bool models_stopping_ = false;
  std::thread models_thread_;

  std::mutex maintenance_mu_;
  std::condition_variable maintenance_cv_;
  std::deque<std::function<void()>> maintenance_;
  bool maintenance_stopping_ = false;
  std::thread maintenance_thread_;

  std::atomic<int64_t> profiles_expired_{0};

  std::mutex ticker_mu_;
  std::condition_variable ticker_cv_;
  bool stopping_ = false;
  std::thread ticker_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace nextbest::server
