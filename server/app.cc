#include "server/app.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "server/log.h"

namespace nextbest::server {

absl::StatusOr<std::unique_ptr<App>> App::Start(const AppOptions& options,
                                                const core::Clock* clock) {
  std::unique_ptr<App> app(new App());
  app->clock_ = clock != nullptr ? clock : &app->system_clock_;
  ASSIGN_OR_RETURN(app->config_, LoadConfig(options.config_path));
  const ServiceConfig& cfg = app->config_;

  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("data_dir ", options.data_dir, ": ", ec.message()));
  }
  storage::StoreOptions store_options = cfg.store;
  store_options.path = options.data_dir;
  ASSIGN_OR_RETURN(app->store_, storage::RocksStore::Open(store_options));

  app->live_ = std::make_unique<core::LiveState>();
  ASSIGN_OR_RETURN(auto empty_catalog, core::Catalog::Empty(cfg.markets, cfg.currency));
  app->live_->catalog.Publish(std::move(empty_catalog), app->live_->epochs);
  app->live_->placements.Publish(
      std::make_unique<const core::PlacementTable>(core::PlacementTable::FromSpecs(cfg.placements)),
      app->live_->epochs);
  ASSIGN_OR_RETURN(app->ingestor_, storage::Ingestor::Start(app->store_.get(), app->live_.get(),
                                                            cfg.ingest, app->clock_));
  const auto& rec = app->ingestor_->recovery();
  Log("recovered %d customers, %d products, %d stores in %.2f s", rec.customers, rec.products,
      rec.stores, rec.seconds);

  std::vector<std::string> placement_ids;
  for (const auto& p : cfg.placements) placement_ids.push_back(p.id);
  app->metrics_ = std::make_unique<Metrics>(placement_ids, options.request_metrics);

  Limits limits;
  limits.markets = cfg.markets;
  limits.currency = cfg.currency;
  limits.max_events_per_request = cfg.max_events_per_request;
  ServiceDeps deps{app->live_.get(), app->ingestor_.get(), app->metrics_.get(), app->clock_,
                   limits, cfg.ingest.features, cfg.personalization_requires_consent};
  app->events_ = std::make_unique<EventServiceImpl>(deps);
  app->customers_ = std::make_unique<CustomerServiceImpl>(deps);
  app->catalog_ = std::make_unique<CatalogServiceImpl>(deps);
  app->decisions_ = std::make_unique<DecisionServiceImpl>(deps);
  app->decisions_->SetMessageAllocatorFor_Recommend(&app->recommend_allocator_);
  app->customers_->SetMessageAllocatorFor_GetProfile(&app->profile_allocator_);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.grpc_address, grpc::InsecureServerCredentials(),
                           &app->grpc_port_);
  builder.RegisterService(app->events_.get());
  builder.RegisterService(app->customers_.get());
  builder.RegisterService(app->catalog_.get());
  builder.RegisterService(app->decisions_.get());
  app->server_ = builder.BuildAndStart();
  if (app->server_ == nullptr || app->grpc_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.grpc_address, " (in use or invalid)"));
  }

  if (!options.metrics_address.empty()) {
    try {
      app->exposer_ = std::make_unique<prometheus::Exposer>(options.metrics_address);
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on metrics address ", options.metrics_address, ": ", e.what()));
    }
    for (const auto& c : app->metrics_->collectables()) app->exposer_->RegisterCollectable(c);
    auto ports = app->exposer_->GetListeningPorts();
    app->metrics_port_ = ports.empty() ? 0 : ports.front();
  }
  app->ticker_ = std::thread([a = app.get()] { a->RunTicker(); });

  app->server_->GetHealthCheckService()->SetServingStatus(true);
  return app;
}

void App::RunTicker() {
  std::unique_lock<std::mutex> lock(ticker_mu_);
  while (!stopping_) {
    const auto& c = ingestor_->counters();
    metrics_->Update({static_cast<double>(ingestor_->queue_depth()),
                      static_cast<double>(live_->customers.size()),
                      [&] {
                        core::ReadGuard guard(live_->epochs);
                        return static_cast<double>(live_->catalog.Get()->product_count());
                      }(),
                      c.events_accepted.load(), c.events_duplicate.load(), c.write_errors.load()});
    ticker_cv_.wait_for(lock, std::chrono::seconds(1));
  }
}

void App::Shutdown(absl::Duration drain) {
  if (shut_down_) return;
  shut_down_ = true;
  if (server_) {
    server_->GetHealthCheckService()->SetServingStatus(false);
    server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(drain));
    server_->Wait();
    Log("gRPC server stopped");
  }
  {
    std::lock_guard<std::mutex> lock(ticker_mu_);
    stopping_ = true;
  }
  ticker_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  if (ingestor_) {
    ingestor_->Stop();  // every queued write finishes first
    Log("writer stopped");
  }
  exposer_.reset();
  ingestor_.reset();
  store_.reset();  // closes RocksDB
}

App::~App() { Shutdown(absl::Seconds(5)); }

}  // namespace nextbest::server
