#include "server/app.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "server/log.h"

namespace nextbest::server {
namespace {
constexpr const char* kOfferLedgerKey = "offer_ledger";
// Showings older than this are dropped from the ledger (no cap period may
// be longer; config validation holds it to 365 days).
constexpr int64_t kMaxCapPeriodMs = 366 * core::kMsPerDay;
}  // namespace

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
  if (auto ledger = app->store_->Get(storage::Cf::kMeta, kOfferLedgerKey); !ledger.ok()) {
    return ledger.status();
  } else if (ledger->has_value()) {
    RETURN_IF_ERROR(app->live_->offers.Load(**ledger));
  }
  app->config_path_ = options.config_path;
  for (const auto& p : cfg.decisions.placements) app->metric_placements_.push_back(p.id);
  RETURN_IF_ERROR(app->PublishConfig(cfg.decisions));
  ASSIGN_OR_RETURN(app->ingestor_, storage::Ingestor::Start(app->store_.get(), app->live_.get(),
                                                            cfg.ingest, app->clock_));
  const auto& rec = app->ingestor_->recovery();
  Log("recovered %d customers, %d products, %d stores in %.2f s", rec.customers, rec.products,
      rec.stores, rec.seconds);

  std::vector<std::string> series = app->metric_placements_;
  series.push_back("other");  // placements added by a reload
  app->metrics_ = std::make_unique<Metrics>(series, options.request_metrics);

  Limits limits;
  limits.markets = cfg.markets;
  limits.currency = cfg.currency;
  limits.max_events_per_request = cfg.max_events_per_request;
  ServiceDeps deps{app->live_.get(), app->ingestor_.get(), app->metrics_.get(), app->clock_,
                   limits, cfg.ingest.features, app.get()};
  app->events_ = std::make_unique<EventServiceImpl>(deps);
  app->customers_ = std::make_unique<CustomerServiceImpl>(deps);
  app->catalog_ = std::make_unique<CatalogServiceImpl>(deps);
  app->decisions_ = std::make_unique<DecisionServiceImpl>(deps);
  app->admin_ = std::make_unique<AdminServiceImpl>(deps);
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
  builder.RegisterService(app->admin_.get());
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
  // The first models build starts at once; until it is published,
  // neighbour sources propose nothing and RFM scores are empty.
  app->models_thread_ = std::thread([a = app.get()] { a->RunModels(); });

  app->server_->GetHealthCheckService()->SetServingStatus(true);
  return app;
}

absl::Status App::PublishConfig(core::DecisionConfig config) {
  live_->offers.Attach(config);
  config.version = ++config_version_;
  for (core::PlacementSpec& p : config.placements) {
    auto it = std::find(metric_placements_.begin(), metric_placements_.end(), p.id);
    p.metric_slot = static_cast<uint32_t>(it - metric_placements_.begin());  // end = "other"
  }
  ASSIGN_OR_RETURN(auto built, core::DecisionConfig::Build(std::move(config)));
  live_->config.PublishFromAnyThread(std::move(built), live_->epochs);
  return absl::OkStatus();
}

absl::StatusOr<v1::ReloadConfigResponse> App::ReloadConfig() {
  std::lock_guard<std::mutex> lock(reload_mu_);
  if (config_path_.empty()) {
    return absl::FailedPreconditionError("the server runs on built-in defaults (no --config file)");
  }
  ASSIGN_OR_RETURN(ServiceConfig next, LoadConfig(config_path_));
  v1::ReloadConfigResponse r;
  r.set_placements(static_cast<int32_t>(next.decisions.placements.size()));
  r.set_offers(static_cast<int32_t>(next.decisions.offers.size()));
  r.set_segments(static_cast<int32_t>(next.decisions.segments.size()));
  RETURN_IF_ERROR(PublishConfig(std::move(next.decisions)));
  r.set_version(config_version_);
  Log("config %s reloaded: version %d, %d placements, %d offers, %d segments", config_path_,
      r.version(), r.placements(), r.offers(), r.segments());
  return r;
}

void App::RebuildModels(std::function<void(const core::Models&)> done) {
  {
    std::lock_guard<std::mutex> lock(models_mu_);
    models_waiters_.push_back(std::move(done));
  }
  models_cv_.notify_all();
}

void App::RunModels() {
  bool first = true;
  std::unique_lock<std::mutex> lock(models_mu_);
  while (!models_stopping_) {
    if (!first) {
      models_cv_.wait_for(lock, std::chrono::seconds(config_.model_interval_seconds),
                          [&] { return models_stopping_ || !models_waiters_.empty(); });
      if (models_stopping_) break;
    }
    first = false;
    auto waiters = std::move(models_waiters_);
    models_waiters_.clear();
    lock.unlock();
    const auto start = std::chrono::steady_clock::now();
    std::unique_ptr<const core::Models> models;
    {
      // The guard keeps the states read here alive; the writer keeps
      // publishing meanwhile (what it retires is freed after the build).
      core::ReadGuard guard(live_->epochs);
      const core::DecisionConfig& config = *live_->config.Get();
      core::ModelBuilder builder(config_.models, *live_->catalog.Get(), config, clock_->Now());
      live_->customers.ForEach(
          [&](absl::string_view, const core::CustomerState& s) { builder.Add(s.features); });
      builder.Thresholds();
      live_->customers.ForEach([&](absl::string_view, const core::CustomerState& s) {
        builder.Count(s, !config.require_consent || s.attributes.consent_personalization);
      });
      models = builder.Finish(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    const core::Models& m = *models;
    live_->models.PublishFromAnyThread(std::move(models), live_->epochs);
    Log("models built: %d customers, %d co-purchase and %d co-view neighbours in %.2f s",
        m.customers, m.co_purchase.entries(), m.co_view.entries(), m.build_seconds);
    // `m` stays valid: only this thread replaces the models.
    for (auto& w : waiters) w(m);
    lock.lock();
  }
}

absl::Status App::SaveOfferLedger() {
  rocksdb::WriteBatch batch;
  batch.Put(store_->handle(storage::Cf::kMeta), kOfferLedgerKey, live_->offers.Serialize());
  return store_->Write(batch);
}

void App::RunTicker() {
  std::unique_lock<std::mutex> lock(ticker_mu_);
  int64_t ticks = 0;
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
    if (++ticks % 10 == 0) {
      live_->offers.Prune(clock_->Now(), kMaxCapPeriodMs);
      if (absl::Status s = SaveOfferLedger(); !s.ok()) Log("saving the offer ledger: %s", s.ToString());
    }
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
  {
    std::lock_guard<std::mutex> lock(models_mu_);
    models_stopping_ = true;
  }
  models_cv_.notify_all();
  if (models_thread_.joinable()) models_thread_.join();
  if (store_) {
    if (absl::Status s = SaveOfferLedger(); !s.ok()) Log("saving the offer ledger: %s", s.ToString());
  }
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
