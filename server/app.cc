#include "server/app.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "core/partitioning.h"
#include "core/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "server/log.h"
#include "server/protobuf_log.h"
#include "server/validation.h"
#include "storage/erasures.h"

namespace nextbest::server {
namespace {
// Showings older than this are dropped from the ledger (no cap period may
// be longer; config validation holds it to 365 days).
constexpr int64_t kMaxCapPeriodMs = 366 * core::kMsPerDay;

// The admin token: read from `file`, else from DATA_DIR/admin_token, which
// is created with a random token (mode 0600) if missing.
absl::StatusOr<std::string> LoadAdminToken(const std::string& file, const std::string& data_dir) {
  const std::string path = file.empty() ? data_dir + "/admin_token" : file;
  if (file.empty() && !std::filesystem::exists(path)) {
    std::random_device random;
    std::string token;
    for (int i = 0; i < 32; ++i) token += "0123456789abcdef"[random() & 15];
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, token.data(), token.size()) != static_cast<ssize_t>(token.size()) ||
        fsync(fd) != 0) {
      if (fd >= 0) close(fd);
      return absl::FailedPreconditionError(absl::StrCat("cannot create ", path));
    }
    close(fd);
    Log("created admin token in %s (mode 0600)", path);
    return token;
  }
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token)) {
    return absl::FailedPreconditionError(absl::StrCat("admin token file ", path, ": cannot read"));
  }
  token = std::string(absl::StripAsciiWhitespace(token));
  if (token.size() < 16) {
    return absl::FailedPreconditionError(
        absl::StrCat("admin token file ", path, ": the token must have at least 16 characters"));
  }
  return token;
}
absl::StatusOr<std::string> ReadPem(const std::string& path, const char* flag) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  }
  return text.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const AppOptions& o) {
  if (o.tls_cert_file.empty() && o.tls_key_file.empty()) {
    if (!o.tls_client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca_file needs --tls_cert_file and --tls_key_file");
    }
    return grpc::InsecureServerCredentials();
  }
  if (o.tls_cert_file.empty() || o.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file go together");
  }
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.private_key, ReadPem(o.tls_key_file, "tls_key_file"));
  ASSIGN_OR_RETURN(pair.cert_chain, ReadPem(o.tls_cert_file, "tls_cert_file"));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (!o.tls_client_ca_file.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem(o.tls_client_ca_file, "tls_client_ca_file"));
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}
}  // namespace

absl::StatusOr<std::unique_ptr<App>> App::Start(const AppOptions& options,
                                                const core::Clock* clock) {
  std::unique_ptr<App> app(new App());
  app->clock_ = clock != nullptr ? clock : &app->system_clock_;
  ASSIGN_OR_RETURN(app->config_, LoadConfig(options.config_path));
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials, Credentials(options));
  if (options.max_concurrent_streams < 1) {
    return absl::InvalidArgumentError("--max_concurrent_streams: must be >= 1");
  }
  if (options.max_concurrent_batches < 1) {
    return absl::InvalidArgumentError("--max_concurrent_batches: must be >= 1");
  }
  if (options.batch_threads < 0) return absl::InvalidArgumentError("--batch_threads: must be >= 0");
  const ServiceConfig& cfg = app->config_;

  storage::StoreOptions store_options = cfg.store;
  store_options.path = options.data_dir;
  store_options.accept_wal_loss = options.accept_wal_loss;
  // The database first: a directory it refuses is left exactly as it was.
  ASSIGN_OR_RETURN(app->store_, storage::RocksStore::Open(store_options));
  const storage::OpenReport& opened = app->store_->open_report();
  if (!opened.loss.empty()) {
    Log("WARNING: serving with acknowledged writes missing (--accept_wal_loss): %s", opened.loss);
  }
  ASSIGN_OR_RETURN(app->admin_token_, LoadAdminToken(options.admin_token_file, options.data_dir));
  if (options.verify_checksums) {
    const auto verify_start = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(app->store_->VerifyChecksums());
    Log("verified the checksums of every database file in %.2f s",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - verify_start).count());
  }

  app->live_ = std::make_unique<core::LiveState>();
  {
    std::random_device rd;  // decision ids: a random node and sequence start per process
    app->live_->decision_ids.Reseed(static_cast<uint16_t>(rd()),
                                    (static_cast<uint64_t>(rd()) << 32) | rd());
  }
  ASSIGN_OR_RETURN(auto empty_catalog, core::Catalog::Empty(cfg.markets, cfg.currency));
  app->live_->catalog.Publish(std::move(empty_catalog), app->live_->epochs);
  app->config_path_ = options.config_path;
  if (!options.cluster.kafka_brokers.empty()) {
    const ClusterOptions& c = options.cluster;
    if (c.replicas < 1 || c.replica < 0 || c.replica >= c.replicas) {
      return absl::InvalidArgumentError(
          absl::StrCat("--replica: must be in 0..", c.replicas - 1, " (--replicas)"));
    }
    app->cap_node_ = c.shard * c.replicas + c.replica;
    app->cap_nodes_ = c.shards * c.replicas;
  }
  app->data_dir_ = options.data_dir;
  for (const auto& p : cfg.decisions.placements) app->metric_placements_.push_back(p.id);
  RETURN_IF_ERROR(app->PublishConfig(cfg.decisions));
  ASSIGN_OR_RETURN(auto authorizer, Authorizer::Build(cfg.auth, app->admin_token_));
  app->auth_.PublishFromAnyThread(std::move(authorizer), app->live_->epochs);
  storage::IngestOptions ingest = cfg.ingest;
  if (!options.cluster.kafka_brokers.empty()) {
    ClusterOptions cluster = options.cluster;
    if (cluster.self_address.empty()) cluster.self_address = options.grpc_address;
    ASSIGN_OR_RETURN(app->cluster_, ClusterNode::Connect(cluster));
    ingest.log_partitions = app->cluster_->log_partitions();
    ingest.on_log_applied = app->cluster_->applied_hook();
  }
  ASSIGN_OR_RETURN(app->ingestor_, storage::Ingestor::Start(app->store_.get(), app->live_.get(),
                                                            ingest, app->clock_));
  const auto& rec = app->ingestor_->recovery();
  Log("recovered %d customers, %d products, %d stores in %.2f s", rec.customers, rec.products,
      rec.stores, rec.seconds);
  if (!options.reapply_erasures.empty())
    RETURN_IF_ERROR(app->ReapplyErasures(options.reapply_erasures));

  std::vector<std::string> series = app->metric_placements_;
  series.push_back("other");  // placements added by a reload
  app->metrics_ = std::make_unique<Metrics>(series, options.request_metrics);
  app->metrics_->SetRecoveryLoss(opened.lost_events, opened.lost_writes);

  Limits limits;
  limits.markets = cfg.markets;
  limits.currency = cfg.currency;
  limits.max_events_per_request = cfg.max_events_per_request;
  limits.max_concurrent_streams = options.max_concurrent_streams;
  limits.max_concurrent_batches = options.max_concurrent_batches;
  limits.max_future_skew_ms = cfg.ingest.max_clock_skew_ms;  // one accepted skew for both
  app->batch_pool_ = std::make_unique<BatchPool>(
      options.batch_threads > 0
          ? options.batch_threads
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  ServiceDeps deps{app->live_.get(), app->ingestor_.get(),   app->metrics_.get(), app->clock_,
                   limits,           cfg.ingest.features,    app.get(),           app->store_.get(),
                   &app->auth_,      app->batch_pool_.get(), app->cluster_.get()};
  if (app->cluster_ != nullptr) {
    RETURN_IF_ERROR(
        app->cluster_->Start(app->ingestor_.get(), limits, cfg.ingest.features, app->clock_));
  }
  app->events_ = std::make_unique<EventServiceImpl>(deps);
  app->customers_ = std::make_unique<CustomerServiceImpl>(deps);
  app->catalog_ = std::make_unique<CatalogServiceImpl>(deps);
  app->decisions_ = std::make_unique<DecisionServiceImpl>(deps);
  app->admin_ = std::make_unique<AdminServiceImpl>(deps);
  app->privacy_ = std::make_unique<PrivacyServiceImpl>(deps);
  app->experiments_ = std::make_unique<ExperimentServiceImpl>(deps);
  app->insight_ = std::make_unique<InsightServiceImpl>(deps);
  app->decisions_->SetMessageAllocatorFor_Recommend(&app->recommend_allocator_);
  app->customers_->SetMessageAllocatorFor_GetProfile(&app->profile_allocator_);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.grpc_address, credentials, &app->grpc_port_);
  builder.RegisterService(app->events_.get());
  builder.RegisterService(app->customers_.get());
  builder.RegisterService(app->catalog_.get());
  builder.RegisterService(app->decisions_.get());
  builder.RegisterService(app->admin_.get());
  builder.RegisterService(app->privacy_.get());
  builder.RegisterService(app->experiments_.get());
  builder.RegisterService(app->insight_.get());
  app->server_ = builder.BuildAndStart();
  if (app->server_ == nullptr || app->grpc_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.grpc_address, " (in use or invalid)"));
  }

  if (!options.http_address.empty()) {
    app->gateway_ =
        std::make_unique<HttpGateway>(app->server_->InProcessChannel(grpc::ChannelArguments()),
                                      options.http, app->decisions_.get());
    HttpServerOptions http;
    http.address = options.http_address;
    http.threads = options.http_threads;
    ASSIGN_OR_RETURN(app->http_,
                     HttpServer::Start(
                         http, [g = app->gateway_.get()](const HttpRequest& in, HttpResponse& out) {
                           g->Handle(in, out);
                         }));
  }
  if (!options.metrics_address.empty()) {
    try {
      app->exposer_ = std::make_unique<prometheus::Exposer>(options.metrics_address);
    } catch (const std::exception& e) {
      return absl::UnavailableError(absl::StrCat("cannot listen on metrics address ",
                                                 options.metrics_address, ": ", e.what()));
    }
    for (const auto& c : app->metrics_->collectables()) app->exposer_->RegisterCollectable(c);
    app->experiment_metrics_ = std::make_shared<ExperimentMetrics>(app->live_.get());
    app->exposer_->RegisterCollectable(app->experiment_metrics_);
    if (app->cluster_ != nullptr) {
      app->cluster_metrics_ = app->cluster_->metrics();
      app->exposer_->RegisterCollectable(app->cluster_metrics_);
    }
    auto ports = app->exposer_->GetListeningPorts();
    app->metrics_port_ = ports.empty() ? 0 : ports.front();
  }
  app->ticker_ = std::thread([a = app.get()] { a->RunTicker(); });
  app->maintenance_thread_ = std::thread([a = app.get()] { a->RunMaintenanceTasks(); });
  // The first models build starts at once; until it is published,
  // neighbour sources propose nothing and RFM scores are empty.
  app->models_thread_ = std::thread([a = app.get()] { a->RunModels(); });

  // A cluster node serves once caught up with the log (the ticker updates it).
  app->server_->GetHealthCheckService()->SetServingStatus(app->cluster_ == nullptr ||
                                                          app->cluster_->CaughtUp());
  return app;
}

absl::Status App::PublishConfig(core::DecisionConfig config) {
  for (core::OfferSpec& o : config.offers) {
    o.total_cap = core::CapShare(o.total_cap, cap_node_, cap_nodes_);
  }
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

absl::StatusOr<v1::ReloadConfigResponse> App::ReloadConfig(bool allow_removing_placements) {
  std::lock_guard<std::mutex> lock(reload_mu_);
  if (config_path_.empty()) {
    return absl::FailedPreconditionError("the server runs on built-in defaults (no --config file)");
  }
  ASSIGN_OR_RETURN(ServiceConfig next, LoadConfig(config_path_));
  if (!allow_removing_placements) {
    std::vector<std::string> removed;
    {
      core::ReadGuard guard(live_->epochs);
      for (const core::PlacementSpec& p : live_->config.Get()->placements) {
        const bool kept =
            std::any_of(next.decisions.placements.begin(), next.decisions.placements.end(),
                        [&](const core::PlacementSpec& n) { return n.id == p.id; });
        if (!kept) removed.push_back(p.id);
      }
    }
    if (!removed.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          config_path_, ": the reload would remove placements ", absl::StrJoin(removed, ", "),
          " (callers asking for them would get NOT_FOUND); the old config keeps serving. Confirm "
          "with "
          "`nextbest reload-config --allow_removing_placements` (ReloadConfigRequest."
          "allow_removing_placements)"));
    }
  }
  // The contact logs keep what the start-up caps need: other caps need a restart.
  const core::ContactRules& now_kept = config_.ingest.features.contacts;  // start-up's
  const core::ContactRules& next_kept = next.ingest.features.contacts;
  bool same_caps =
      now_kept.caps.size() == next_kept.caps.size() && now_kept.max_extra == next_kept.max_extra;
  for (size_t k = 0; same_caps && k < now_kept.caps.size(); ++k) {
    const core::ContactCap &a = now_kept.caps[k], &b = next_kept.caps[k];
    same_caps =
        a.channel == b.channel && a.max_contacts == b.max_contacts && a.period_ms == b.period_ms;
  }
  if (!same_caps) {
    return absl::FailedPreconditionError(absl::StrCat(
        config_path_,
        ": contact_policy.caps (or an override's extra_contacts) changed: each customer's contact "
        "log keeps what the caps of start-up need, so new caps apply after a restart; the old "
        "config keeps serving (quiet periods and which segments an override names reload)"));
  }
  ASSIGN_OR_RETURN(auto authorizer, Authorizer::Build(next.auth, admin_token_));
  v1::ReloadConfigResponse r;
  r.set_placements(static_cast<int32_t>(next.decisions.placements.size()));
  r.set_offers(static_cast<int32_t>(next.decisions.offers.size()));
  r.set_segments(static_cast<int32_t>(next.decisions.segments.size()));
  RETURN_IF_ERROR(PublishConfig(std::move(next.decisions)));
  auth_.PublishFromAnyThread(std::move(authorizer), live_->epochs);
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
    std::unique_ptr<const core::Models> models;
    if (cluster_ != nullptr) {
      // The whole population's, from every shard's part (only this thread
      // replaces the models: the previous ones stay valid).
      models = cluster_->BuildModels(config_.models, *live_, live_->models.Get(), clock_->Now());
    } else {
      // The guard keeps the states read here alive; the writer keeps
      // publishing meanwhile (what it retires is freed after the build).
      core::ReadGuard guard(live_->epochs);
      models = core::BuildModels(config_.models, live_->customers, *live_->catalog.Get(),
                                 *live_->config.Get(), clock_->Now());
    }
    const core::Models& m = *models;
    live_->models.PublishFromAnyThread(std::move(models), live_->epochs);
    Log("models built: %d customers, %d co-purchase and %d co-view neighbours, %d of %d "
        "categories consumable, in %.2f s (%d passes, fingerprint %016x)",
        m.customers, m.co_purchase.entries(), m.co_view.entries(),
        m.repurchase.consumable_categories(), m.repurchase.categories(), m.build_seconds,
        m.build_passes, m.fingerprint);
    // `m` stays valid: only this thread replaces the models.
    for (auto& w : waiters) w(m);
    lock.lock();
  }
}

void App::RunMaintenance(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(maintenance_mu_);
    maintenance_.push_back(std::move(task));
  }
  maintenance_cv_.notify_all();
}

void App::RunMaintenanceTasks() {
  std::unique_lock<std::mutex> lock(maintenance_mu_);
  while (true) {
    maintenance_cv_.wait(lock, [&] { return maintenance_stopping_ || !maintenance_.empty(); });
    if (maintenance_.empty()) break;  // stopping, nothing left
    std::function<void()> task = std::move(maintenance_.front());
    maintenance_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

void App::SweepInactiveProfiles() {
  const int64_t erased = storage::EraseInactiveProfiles(
      *ingestor_, *live_, clock_->Now() - config_.profile_retention_ms);
  profiles_expired_.fetch_add(erased);
  if (erased > 0)
    Log("retention: erased %d profiles inactive for more than %d days", erased,
        config_.profile_retention_ms / core::kMsPerDay);
}

absl::Status App::ReapplyErasures(const std::string& file) {
  std::ifstream in(file);
  if (!in) return absl::NotFoundError(absl::StrCat("--reapply_erasures: cannot open ", file));
  std::vector<storage::ErasureEntry> entries;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    v1::Erasure e;
    const bool parsed = google::protobuf::util::JsonStringToMessage(line, &e).ok();
    if (!parsed || e.subject_hash().size() != 64 ||
        e.subject_hash().find_first_not_of("0123456789abcdef") != std::string::npos ||
        !e.has_erased_at()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--reapply_erasures: ", file, " line ", n,
          ": not an erasure of `nextbest erasures` (JSON with subject_hash, erased_at)"));
    }
    entries.push_back({absl::HexStringToBytes(e.subject_hash()), ToTimeMs(e.erased_at()),
                       ToTimeMs(e.events_dropped_through())});
  }
  ASSIGN_OR_RETURN(storage::ReapplyReport r,
                   storage::ReapplyErasures(entries, *store_, *ingestor_, *live_));
  Log("re-applied erasures from %s: %d listed, %d already on record, %d customers erased, %d "
      "suppressions "
      "added for customers not held here",
      file, r.listed, r.already_on_record, r.customers_erased, r.suppressions_added);
  return absl::OkStatus();
}

absl::Status App::Checkpoint(const std::string& dir) {
  // Relative paths resolve against the server's working directory, which
  // the caller does not see; a checkpoint inside the data directory would
  // be copied into the next checkpoint and hold data past its erasure.
  if (!std::filesystem::path(dir).is_absolute()) {
    return absl::InvalidArgumentError(absl::StrCat("dir: '", dir, "' must be an absolute path"));
  }
  std::error_code ec;
  const std::filesystem::path target = std::filesystem::weakly_canonical(dir, ec);
  const std::filesystem::path data = std::filesystem::weakly_canonical(data_dir_, ec);
  const auto [d, t] = std::mismatch(data.begin(), data.end(), target.begin(), target.end());
  if (!ec && d == data.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("dir: '", dir, "' is inside the data directory"));
  }
  if (std::filesystem::exists(dir)) {
    return absl::AlreadyExistsError(absl::StrCat("dir: ", dir, " already exists"));
  }
  RETURN_IF_ERROR(SaveOfferLedger());
  RETURN_IF_ERROR(store_->Checkpoint(dir));
  Log("checkpoint written to %s", dir);
  return absl::OkStatus();
}

void App::PruneDecisions() {
  core::TimeMs window;
  {
    core::ReadGuard guard(live_->epochs);
    window = live_->config.Get()->learning.attribution_window_ms;
  }
  // A day of slack: a purchase may arrive late.
  auto pruned =
      ingestor_->SubmitAndWait(storage::PruneDecisions{clock_->Now() - window - core::kMsPerDay});
  if (!pruned.ok()) {
    Log("pruning stored decisions: %s", pruned.status().ToString());
  } else if (pruned->accepted > 0) {
    Log("pruned %d stored decisions past the attribution window", pruned->accepted);
  }
}

absl::Status App::SaveOfferLedger() {
  return ingestor_->SubmitAndWait(storage::SaveOfferLedger{}).status();
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
                      c.events_accepted.load(), c.events_duplicate.load(), c.write_errors.load(),
                      c.events_suppressed.load(), c.customers_erased.load(),
                      store_->events_expired(), profiles_expired_.load(), InvalidUtf8Requests()});
    ticker_cv_.wait_for(lock, std::chrono::seconds(1));
    if (cluster_ != nullptr && !shut_down_ && cluster_->CaughtUp() != serving_) {
      serving_ = cluster_->CaughtUp();
      server_->GetHealthCheckService()->SetServingStatus(serving_);
      Log("cluster: %s",
          serving_ ? "caught up with the log: SERVING" : "behind the log: NOT_SERVING");
    }
    if (config_.profile_retention_ms > 0 && ticks % config_.retention_sweep_seconds == 0) {
      RunMaintenance([this] { SweepInactiveProfiles(); });
    }
    if (ticks % 3600 == 1800) {  // hourly: decisions past the attribution window
      RunMaintenance([this] { PruneDecisions(); });
    }
    if (++ticks % 10 == 0) {
      live_->offers.Prune(clock_->Now(), kMaxCapPeriodMs);
      if (absl::Status s = SaveOfferLedger(); !s.ok())
        Log("saving the offer ledger: %s", s.ToString());
    }
  }
}

void App::Shutdown(absl::Duration drain) {
  if (shut_down_) return;
  shut_down_ = true;
  if (http_) {
    http_->Stop(static_cast<int>(absl::ToInt64Milliseconds(drain)));
    Log("HTTP server stopped");
  }
  if (server_) {
    server_->GetHealthCheckService()->SetServingStatus(false);
    server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(drain));
    server_->Wait();
    Log("gRPC server stopped");
  }
  {
    std::lock_guard<std::mutex> lock(maintenance_mu_);
    maintenance_stopping_ = true;
  }
  maintenance_cv_.notify_all();
  if (maintenance_thread_.joinable()) maintenance_thread_.join();  // queued tasks run first
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
  // Only once fully recovered: a failed start has nothing to save (and
  // must not overwrite what is on disk).
  if (store_ && live_ && ingestor_) {
    if (absl::Status s = SaveOfferLedger(); !s.ok())
      Log("saving the offer ledger: %s", s.ToString());
  }
  if (cluster_) cluster_->Stop();  // no more records for the writer
  if (ingestor_) {
    ingestor_->Stop();  // every queued write finishes first
    Log("writer stopped");
  }
  batch_pool_.reset();  // every call is done: nothing of theirs queued
  exposer_.reset();
  ingestor_.reset();
  store_.reset();  // closes RocksDB
}

App::~App() { Shutdown(absl::Seconds(5)); }

}  // namespace nextbest::server
