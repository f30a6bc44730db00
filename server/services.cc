#include "server/services.h"

#include <chrono>
#include <mutex>
#include <optional>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "core/decision.h"
#include "core/segments.h"
#include "core/status_macros.h"
#include "server/batch.h"
#include "server/convert.h"
#include "server/status_mapping.h"
#include "storage/keys.h"
#include "storage/rocks_status.h"

namespace nextbest::server {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void Finish(grpc::ServerUnaryReactor* reactor, Metrics* metrics, Rpc rpc, const absl::Status& s,
            Clock::time_point start) {
  grpc::Status g = ToGrpcStatus(s);
  metrics->RecordRpc(rpc, g.error_code(), SecondsSince(start));
  reactor->Finish(g);
}

// The shape of every unary write: authorize, validate+convert, queue,
// answer when the writer is done.
template <typename MakeCommand, typename Response, typename OnOk>
grpc::ServerUnaryReactor* SubmitUnary(grpc::CallbackServerContext* ctx, const ServiceDeps& deps,
                                      Rpc rpc, MakeCommand make_command, Response* response,
                                      OnOk on_ok) {
  const auto start = Clock::now();
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status allowed = Authorize(deps, *ctx, rpc);
  absl::StatusOr<storage::Command> command =
      allowed.ok() ? absl::StatusOr<storage::Command>(make_command()) : allowed;
  if (!command.ok()) {
    Finish(reactor, deps.metrics, rpc, command.status(), start);
    return reactor;
  }
  Metrics* metrics = deps.metrics;
  absl::Status queued = deps.ingestor->Submit(
      std::move(*command),
      [reactor, metrics, rpc, start, response, on_ok](absl::Status s, storage::WriteResult r) {
        if (s.ok()) on_ok(r, *response);
        Finish(reactor, metrics, rpc, s, start);
      });
  if (!queued.ok()) Finish(reactor, deps.metrics, rpc, queued, start);
  return reactor;
}

template <typename T>
absl::StatusOr<storage::Command> AsCommand(absl::StatusOr<T> c) {
  if (!c.ok()) return c.status();
  return storage::Command(std::move(*c));
}

// Client-streaming ingest. Each chunk is validated and queued as it arrives;
// up to kMaxInFlight chunks wait for the writer at once (back-pressure: the
// next read starts only when a slot is free). The stream finishes after the
// client half-closes and every chunk is durable, or at the first error once
// the chunks already queued are done.
class StreamEventsReactor final : public grpc::ServerReadReactor<v1::StreamEventsRequest> {
 public:
  // `open_streams` was incremented for this stream; OnDone decrements it.
  StreamEventsReactor(const ServiceDeps& deps, v1::StreamEventsResponse* response,
                      std::atomic<int>* open_streams)
      : deps_(deps), response_(response), start_(Clock::now()), open_streams_(open_streams) {
    // Initial metadata tells the client the stream was admitted (counted
    // against --max_concurrent_streams) before it has sent anything.
    StartSendInitialMetadata();
    reading_ = true;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    reading_ = false;
    if (!ok) {
      reads_done_ = true;
      MaybeFinishLocked();
      return;
    }
    if (!error_.ok()) return;
    ++chunks_;
    absl::StatusOr<storage::RecordEvents> cmd =
        ToRecordEvents(request_.events(), deps_.limits, deps_.clock->Now());
    if (!cmd.ok()) {
      error_ = absl::Status(cmd.status().code(),
                            absl::StrCat("chunk ", chunks_ - 1, ": ", cmd.status().message()));
      MaybeFinishLocked();
      return;
    }
    ++in_flight_;
    const int64_t chunk = chunks_ - 1;
    lock.unlock();
    absl::Status queued = deps_.ingestor->Submit(
        std::move(*cmd), [this, chunk](absl::Status s, storage::WriteResult r) {
          std::lock_guard<std::mutex> l(mu_);
          --in_flight_;
          if (s.ok()) {
            accepted_ += r.accepted;
            duplicates_ += r.duplicates;
            suppressed_ += r.suppressed;
          } else if (error_.ok()) {
            error_ = absl::Status(s.code(), absl::StrCat("chunk ", chunk, ": ", s.message()));
          }
          StartReadIfAllowedLocked();
          MaybeFinishLocked();
        });
    lock.lock();
    if (!queued.ok()) {
      --in_flight_;
      if (error_.ok()) error_ = queued;
    }
    StartReadIfAllowedLocked();
    MaybeFinishLocked();
  }

  void OnDone() override {
    open_streams_->fetch_sub(1, std::memory_order_relaxed);
    delete this;
  }

 private:
  static constexpr int kMaxInFlight = 4;

  void StartReadIfAllowedLocked() {
    if (finished_ || reading_ || reads_done_ || !error_.ok() || in_flight_ >= kMaxInFlight) return;
    reading_ = true;
    StartRead(&request_);
  }

  void MaybeFinishLocked() {
    if (finished_ || in_flight_ > 0) return;
    if (error_.ok() && !reads_done_) return;
    finished_ = true;
    response_->set_accepted(accepted_);
    response_->set_duplicates(duplicates_);
    response_->set_suppressed(suppressed_);
    response_->set_chunks(chunks_);
    grpc::Status g = ToGrpcStatus(error_);
    deps_.metrics->RecordRpc(Rpc::kStreamEvents, g.error_code(), SecondsSince(start_));
    Finish(g);
  }

  const ServiceDeps& deps_;
  v1::StreamEventsResponse* response_;
  const Clock::time_point start_;
  std::atomic<int>* const open_streams_;
  v1::StreamEventsRequest request_;
  std::mutex mu_;
  bool reading_ = false;
  bool reads_done_ = false;
  bool finished_ = false;
  int in_flight_ = 0;
  int64_t chunks_ = 0;
  int64_t accepted_ = 0;
  int64_t duplicates_ = 0;
  int64_t suppressed_ = 0;
  absl::Status error_;
};

// Export: the profile first, then the raw events in chunks, read from
// RocksDB one chunk per write (the iterator pins a consistent view).
class ExportReactor final : public grpc::ServerWriteReactor<v1::ExportCustomerResponse> {
 public:
  static constexpr int kEventsPerMessage = 500;

  ExportReactor(const ServiceDeps& deps, grpc::CallbackServerContext* ctx,
                const v1::ExportCustomerRequest& request)
      : deps_(deps), start_(Clock::now()), id_(request.customer_id()) {
    absl::Status s = Authorize(deps_, *ctx, Rpc::kExportCustomer);
    if (s.ok()) s = ValidateId(id_, "customer_id", deps_.limits);
    if (!s.ok()) {
      Done(s);
      return;
    }
    range_ = storage::keys::CustomerRange(id_);
    events_ = deps_.store->NewIterator(storage::Cf::kEvents, /*fill_cache=*/false);
    events_->Seek(range_.begin);
    bool known = false;
    {
      core::ReadGuard guard(deps_.live->epochs);
      if (const core::CustomerState* state = deps_.live->customers.Find(id_)) {
        known = true;
        FillProfile(id_, *state, *deps_.live->catalog.Get(), deps_.features,
                    *deps_.live->config.Get(), deps_.live->models.Get(), deps_.clock->Now(),
                    *message_.mutable_profile());
      }
    }
    if (!known && !InRange()) {
      Done(absl::NotFoundError(absl::StrCat("customer_id: no data held about '", id_, "'")));
      return;
    }
    *message_.mutable_exported_at() = FromTimeMs(deps_.clock->Now());
    if (absl::Status fill = FillEvents(); !fill.ok()) {
      Done(fill);
      return;
    }
    StartWrite(&message_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Done(absl::CancelledError("export: the client went away"));
      return;
    }
    if (!InRange()) {
      Done(events_->status().ok() ? absl::OkStatus()
                                  : storage::FromRocks(events_->status(), "export: read events"));
      return;
    }
    message_.Clear();
    if (absl::Status fill = FillEvents(); !fill.ok()) {
      Done(fill);
      return;
    }
    StartWrite(&message_);
  }

  void OnDone() override { delete this; }

 private:
  bool InRange() const { return events_->Valid() && events_->key().compare(range_.end) < 0; }

  absl::Status FillEvents() {
    storage::v1::EventRecord record;
    for (int n = 0; n < kEventsPerMessage && InRange(); ++n, events_->Next()) {
      if (!record.ParseFromArray(events_->value().data(), static_cast<int>(events_->value().size()))) {
        return absl::DataLossError("export: undecodable event record");
      }
      FillEvent(id_, record, deps_.limits.currency, *message_.add_events());
    }
    return storage::FromRocks(events_->status(), "export: read events");
  }

  void Done(const absl::Status& s) {
    grpc::Status g = ToGrpcStatus(s);
    deps_.metrics->RecordRpc(Rpc::kExportCustomer, g.error_code(), SecondsSince(start_));
    Finish(g);
  }

  const ServiceDeps& deps_;
  const Clock::time_point start_;
  const std::string id_;
  storage::keys::Range range_;
  std::unique_ptr<rocksdb::Iterator> events_;
  v1::ExportCustomerResponse message_;
};

std::string Hex(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace

Scope RpcScope(Rpc rpc) {
  switch (rpc) {
    case Rpc::kRecommend:
    case Rpc::kPing:
      return Scope::kDecide;
    case Rpc::kRecordEvents:
    case Rpc::kStreamEvents:
    case Rpc::kUpsertCustomers:
    case Rpc::kUpsertProducts:
    case Rpc::kUpsertStores:
    case Rpc::kSetStock:
      return Scope::kTrack;
    case Rpc::kGetProfile:
      return Scope::kReadProfile;
    case Rpc::kDecideForAll:
      return Scope::kBatch;
    case Rpc::kReloadConfig:
    case Rpc::kRebuildModels:
    case Rpc::kListSegments:
    case Rpc::kCheckpoint:
      return Scope::kAdmin;
    case Rpc::kSetConsent:
    case Rpc::kEraseCustomer:
    case Rpc::kExportCustomer:
      return Scope::kPrivacy;
    case Rpc::kCount:
      break;
  }
  return Scope::kAdmin;  // unreachable; the most restrictive
}

absl::Status Authorize(const ServiceDeps& deps, const grpc::ServerContextBase& ctx, Rpc rpc) {
  core::ReadGuard guard(deps.live->epochs);
  return deps.auth->Get()->Check(ctx, RpcScope(rpc), RpcName(rpc));
}

grpc::ServerUnaryReactor* EventServiceImpl::RecordEvents(grpc::CallbackServerContext* ctx,
                                                         const v1::RecordEventsRequest* request,
                                                         v1::RecordEventsResponse* response) {
  return SubmitUnary(ctx, deps_, Rpc::kRecordEvents,
                     [&] { return AsCommand(ToRecordEvents(request->events(), deps_.limits, deps_.clock->Now())); },
                     response, [](const storage::WriteResult& r, v1::RecordEventsResponse& out) {
                       out.set_accepted(static_cast<int32_t>(r.accepted));
                       out.set_duplicates(static_cast<int32_t>(r.duplicates));
                       out.set_suppressed(static_cast<int32_t>(r.suppressed));
                     });
}

grpc::ServerReadReactor<v1::StreamEventsRequest>* EventServiceImpl::StreamEvents(
    grpc::CallbackServerContext* ctx, v1::StreamEventsResponse* response) {
  // Refused at once: no reactor state, no read, no thread held.
  class Refused final : public grpc::ServerReadReactor<v1::StreamEventsRequest> {
   public:
    explicit Refused(const grpc::Status& s) { Finish(s); }
    void OnDone() override { delete this; }
  };
  auto refuse = [&](const absl::Status& s) {
    grpc::Status g = ToGrpcStatus(s);
    deps_.metrics->RecordRpc(Rpc::kStreamEvents, g.error_code(), 0);
    return new Refused(g);
  };
  if (absl::Status allowed = Authorize(deps_, *ctx, Rpc::kStreamEvents); !allowed.ok()) {
    return refuse(allowed);
  }
  if (open_streams_.fetch_add(1, std::memory_order_relaxed) >= deps_.limits.max_concurrent_streams) {
    open_streams_.fetch_sub(1, std::memory_order_relaxed);
    return refuse(absl::ResourceExhaustedError(absl::StrCat(
        "too many open event streams (", deps_.limits.max_concurrent_streams, "); retry later")));
  }
  return new StreamEventsReactor(deps_, response, &open_streams_);
}

grpc::ServerUnaryReactor* CustomerServiceImpl::UpsertCustomers(
    grpc::CallbackServerContext* ctx, const v1::UpsertCustomersRequest* request,
    v1::UpsertCustomersResponse* response) {
  return SubmitUnary(ctx, deps_, Rpc::kUpsertCustomers,
                     [&] { return AsCommand(ToUpsertCustomers(*request, deps_.limits, deps_.clock->Now())); },
                     response, [](const storage::WriteResult& r, v1::UpsertCustomersResponse& out) {
                       out.set_upserted(static_cast<int32_t>(r.accepted));
                     });
}

grpc::ServerUnaryReactor* CustomerServiceImpl::GetProfile(grpc::CallbackServerContext* ctx,
                                                          const v1::GetProfileRequest* request,
                                                          v1::GetProfileResponse* response) {
  const auto start = Clock::now();
  auto* reactor = ctx->DefaultReactor();
  absl::Status s = Authorize(deps_, *ctx, Rpc::kGetProfile);
  if (s.ok()) s = ValidateId(request->customer_id(), "customer_id", deps_.limits);
  if (s.ok()) {
    core::ReadGuard guard(deps_.live->epochs);
    const core::CustomerState* state = deps_.live->customers.Find(request->customer_id());
    if (state == nullptr) {
      s = absl::NotFoundError("customer_id: no such customer");
    } else {
      FillProfile(request->customer_id(), *state, *deps_.live->catalog.Get(), deps_.features,
                  *deps_.live->config.Get(), deps_.live->models.Get(), deps_.clock->Now(),
                  *response);
    }
  }
  Finish(reactor, deps_.metrics, Rpc::kGetProfile, s, start);
  return reactor;
}

grpc::ServerUnaryReactor* CatalogServiceImpl::UpsertProducts(grpc::CallbackServerContext* ctx,
                                                             const v1::UpsertProductsRequest* request,
                                                             v1::UpsertProductsResponse* response) {
  return SubmitUnary(ctx, deps_, Rpc::kUpsertProducts,
                     [&] { return AsCommand(ToUpsertProducts(*request, deps_.limits)); }, response,
                     [](const storage::WriteResult& r, v1::UpsertProductsResponse& out) {
                       out.set_upserted(static_cast<int32_t>(r.accepted));
                     });
}

grpc::ServerUnaryReactor* CatalogServiceImpl::UpsertStores(grpc::CallbackServerContext* ctx,
                                                           const v1::UpsertStoresRequest* request,
                                                           v1::UpsertStoresResponse* response) {
  return SubmitUnary(ctx, deps_, Rpc::kUpsertStores,
                     [&] { return AsCommand(ToUpsertStores(*request, deps_.limits)); }, response,
                     [](const storage::WriteResult& r, v1::UpsertStoresResponse& out) {
                       out.set_upserted(static_cast<int32_t>(r.accepted));
                     });
}

grpc::ServerUnaryReactor* CatalogServiceImpl::SetStock(grpc::CallbackServerContext* ctx,
                                                       const v1::SetStockRequest* request,
                                                       v1::SetStockResponse* response) {
  return SubmitUnary(ctx, deps_, Rpc::kSetStock,
                     [&] { return AsCommand(ToSetStock(*request, deps_.limits)); }, response, [](const storage::WriteResult& r, v1::SetStockResponse& out) {
                       out.set_updated(static_cast<int32_t>(r.accepted));
                     });
}

DecisionServiceImpl::DecisionServiceImpl(const ServiceDeps& deps) : deps_(deps) {}

absl::Status DecisionServiceImpl::Decide(const v1::RecommendRequest& request,
                                         v1::RecommendResponse& response) {
  RETURN_IF_ERROR(ValidateRecommend(request, deps_.limits));
  const v1::RecommendContext& ctx = request.context();

  core::ReadGuard guard(deps_.live->epochs);
  const core::DecisionConfig& config = *deps_.live->config.Get();
  const core::PlacementSpec* spec = config.Find(ctx.placement());
  if (spec == nullptr) {
    std::vector<absl::string_view> ids;
    for (const auto& p : config.placements) ids.push_back(p.id);
    return absl::NotFoundError(absl::StrCat("context.placement: unknown placement '",
                                            ctx.placement(), "'; known: ", absl::StrJoin(ids, ", ")));
  }
  if (ctx.count() > spec->max_count) {
    return absl::InvalidArgumentError(absl::StrCat("context.count: at most ", spec->max_count,
                                                   " for placement ", spec->id));
  }
  const core::Catalog& catalog = *deps_.live->catalog.Get();
  core::DecisionRequest d;
  d.config = &config;
  d.placement = spec;
  d.models = deps_.live->models.Get();
  d.ledger = &deps_.live->offers;
  if (!request.customer_id().empty()) {
    d.customer = deps_.live->customers.Find(request.customer_id());
    d.customer_id = request.customer_id();
  }
  if (!ctx.country().empty()) d.country = *catalog.FindMarket(ctx.country());
  if (!ctx.store_id().empty()) {
    auto store = catalog.FindStore(ctx.store_id());
    if (!store.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("context.store_id: unknown store '", ctx.store_id(), "'"));
    }
    d.store = *store;
  }
  d.channel = static_cast<core::Channel>(ctx.channel());
  if (!ctx.product_id().empty()) d.current_product = catalog.FindProduct(ctx.product_id()).value_or(core::kNoProduct);
  absl::InlinedVector<core::ProductIndex, 16> cart, exclude;
  for (const std::string& id : ctx.cart_product_ids()) {
    if (auto p = catalog.FindProduct(id)) cart.push_back(*p);
  }
  for (const std::string& id : ctx.exclude_product_ids()) {
    if (auto p = catalog.FindProduct(id)) exclude.push_back(*p);
  }
  d.cart = cart;
  d.exclude = exclude;
  d.count = ctx.count();
  if (!request.request_id().empty()) {
    d.rotation_seed = core::StableHash(request.request_id(), 3) | 1;  // non-zero
  }
  d.require_consent = config.require_consent;
  d.now = ctx.has_time() ? ToTimeMs(ctx.time()) : deps_.clock->Now();
  std::optional<core::Explanation> explain;
  if (request.explain()) d.explain = &explain.emplace();

  const bool timed = deps_.metrics->request_metrics();
  const auto started = timed ? Clock::now() : Clock::time_point();
  core::Decision decision = core::Decide(catalog, *deps_.live->trending.Get(), d);
  if (timed) deps_.metrics->RecordDecision(spec->metric_slot, SecondsSince(started));
  response.set_placement(spec->id);
  FillRecommendation(decision, catalog, config, d.explain, d.now, response);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* DecisionServiceImpl::Recommend(grpc::CallbackServerContext* ctx,
                                                         const v1::RecommendRequest* request,
                                                         v1::RecommendResponse* response) {
  const auto start = Clock::now();
  auto* reactor = ctx->DefaultReactor();
  absl::Status s = Authorize(deps_, *ctx, Rpc::kRecommend);
  if (s.ok()) s = Decide(*request, *response);
  Finish(reactor, deps_.metrics, Rpc::kRecommend, s, start);
  return reactor;
}

grpc::ServerUnaryReactor* DecisionServiceImpl::Ping(grpc::CallbackServerContext* ctx,
                                                    const v1::PingRequest* request,
                                                    v1::PingResponse* response) {
  const auto start = Clock::now();
  auto* reactor = ctx->DefaultReactor();
  Finish(reactor, deps_.metrics, Rpc::kPing, Authorize(deps_, *ctx, Rpc::kPing), start);
  return reactor;
}

grpc::ServerWriteReactor<v1::DecideForAllResponse>* DecisionServiceImpl::DecideForAll(
    grpc::CallbackServerContext* ctx, const v1::DecideForAllRequest* request) {
  return StartDecideForAll(deps_, *ctx, request, &open_batches_);
}

grpc::ServerUnaryReactor* AdminServiceImpl::ReloadConfig(grpc::CallbackServerContext* ctx,
                                                         const v1::ReloadConfigRequest* request,
                                                         v1::ReloadConfigResponse* response) {
  const auto start = Clock::now();
  auto* reactor = ctx->DefaultReactor();
  absl::Status token = Authorize(deps_, *ctx, Rpc::kReloadConfig);
  absl::StatusOr<v1::ReloadConfigResponse> r =
      token.ok() ? deps_.admin->ReloadConfig(request->allow_removing_placements())
                 : absl::StatusOr<v1::ReloadConfigResponse>(token);
  if (r.ok()) *response = *r;
  Finish(reactor, deps_.metrics, Rpc::kReloadConfig, r.status(), start);
  return reactor;
}

grpc::ServerUnaryReactor* AdminServiceImpl::RebuildModels(grpc::CallbackServerContext* ctx,
                                                          const v1::RebuildModelsRequest* request,
                                                          v1::RebuildModelsResponse* response) {
  const auto start = Clock::now();
  auto* reactor = ctx->DefaultReactor();
  Metrics* metrics = deps_.metrics;
  if (absl::Status s = Authorize(deps_, *ctx, Rpc::kRebuildModels); !s.ok()) {
    Finish(reactor, metrics, Rpc::kRebuildModels, s, start);
    return reactor;
  }
  deps_.admin->RebuildModels([=](const core::Models& m) {
    response->set_customers(m.customers);
    response->set_build_seconds(m.build_seconds);
    response->set_co_purchase_pairs(static_cast<int64_t>(m.co_purchase.entries()));
    response->set_co_view_pairs(static_cast<int64_t>(m.co_view.entries()));
    *response->mutable_built_at() = FromTimeMs(m.built_at);
    Finish(reactor, metrics, Rpc::kRebuildModels, absl::OkStatus(), start);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListSegments(grpc::CallbackServerContext* ctx,
                                                         const v1::ListSegmentsRequest* request,
                                                         v1::ListSegmentsResponse* response) {
  const auto start = Clock::now();
  auto* reactor = ctx->DefaultReactor();
  absl::Status s = Authorize(deps_, *ctx, Rpc::kListSegments);
  core::ReadGuard guard(deps_.live->epochs);
  const core::Models* m = deps_.live->models.Get();
  if (!s.ok()) {
  } else if (m == nullptr) {
    s = absl::UnavailableError("models not built yet; retry shortly");
  } else {
    for (int i = 1; i < core::kRfmSegmentCount; ++i) {
      v1::SegmentSize* seg = response->add_segments();
      seg->set_segment(core::RfmSegmentName(static_cast<core::RfmSegment>(i)));
      seg->set_kind("rfm");
      seg->set_customers(m->rfm_sizes[i]);
    }
    for (int i = 1; i < core::kBehaviourCount; ++i) {
      v1::SegmentSize* seg = response->add_segments();
      seg->set_segment(core::BehaviourName(static_cast<core::Behaviour>(i)));
      seg->set_kind("behaviour");
      seg->set_customers(m->behaviour_sizes[i]);
    }
    response->set_behaviour_priority(m->behaviour_priority);
    response->set_top_current_spend_cut(m->behaviour.top_current_minor);
    response->set_median_baseline_spend(m->behaviour.median_baseline_minor);
    // The rule segments of the config the last build ran with (a segment
    // added by a reload shows after the next build).
    for (size_t i = 0; i < m->rule_segment_ids.size(); ++i) {
      v1::SegmentSize* seg = response->add_segments();
      seg->set_segment(m->rule_segment_ids[i]);
      seg->set_kind("rule");
      seg->set_customers(m->rule_segment_sizes[i]);
    }
    response->set_rfm_population(m->rfm.population);
    for (double c : m->rfm.recency_days) response->add_recency_days_cuts(c);
    for (double c : m->rfm.frequency) response->add_frequency_cuts(c);
    for (double c : m->rfm.monetary) response->add_monetary_cuts(c);
    *response->mutable_built_at() = FromTimeMs(m->built_at);
  }
  Finish(reactor, deps_.metrics, Rpc::kListSegments, s, start);
  return reactor;
}

grpc::ServerUnaryReactor* AdminServiceImpl::Checkpoint(grpc::CallbackServerContext* ctx,
                                                       const v1::CheckpointRequest* request,
                                                       v1::CheckpointResponse* response) {
  const auto start = Clock::now();
  auto* reactor = ctx->DefaultReactor();
  absl::Status s = Authorize(deps_, *ctx, Rpc::kCheckpoint);
  if (s.ok() && request->dir().empty()) s = absl::InvalidArgumentError("dir: required");
  if (!s.ok()) {
    Finish(reactor, deps_.metrics, Rpc::kCheckpoint, s, start);
    return reactor;
  }
  AdminOps* admin = deps_.admin;
  Metrics* metrics = deps_.metrics;
  const std::string dir = request->dir();
  admin->RunMaintenance([=] {
    absl::Status done = admin->Checkpoint(dir);
    if (done.ok()) {
      response->set_dir(dir);
      response->set_seconds(SecondsSince(start));
    }
    Finish(reactor, metrics, Rpc::kCheckpoint, done, start);
  });
  return reactor;
}

grpc::ServerUnaryReactor* PrivacyServiceImpl::SetConsent(grpc::CallbackServerContext* ctx,
                                                         const v1::SetConsentRequest* request,
                                                         v1::SetConsentResponse* response) {
  auto make = [&]() -> absl::StatusOr<storage::Command> {
    RETURN_IF_ERROR(ValidateId(request->customer_id(), "customer_id", deps_.limits));
    if (!request->has_personalization() && !request->has_marketing_email()) {
      return absl::InvalidArgumentError("personalization, marketing_email: give at least one");
    }
    storage::SetConsent c;
    c.customer_id = request->customer_id();
    if (request->has_personalization()) c.personalization = request->personalization();
    if (request->has_marketing_email()) c.marketing_email = request->marketing_email();
    return storage::Command(std::move(c));
  };
  return SubmitUnary(ctx, deps_, Rpc::kSetConsent, make, response,
                     [](const storage::WriteResult& r, v1::SetConsentResponse& out) {
                       out.mutable_consent()->set_personalization(r.consent_personalization);
                       out.mutable_consent()->set_marketing_email(r.consent_marketing_email);
                     });
}

grpc::ServerUnaryReactor* PrivacyServiceImpl::EraseCustomer(grpc::CallbackServerContext* ctx,
                                                            const v1::EraseCustomerRequest* request,
                                                            v1::EraseCustomerResponse* response) {
  const auto start = Clock::now();
  auto* reactor = ctx->DefaultReactor();
  absl::Status s = Authorize(deps_, *ctx, Rpc::kEraseCustomer);
  if (s.ok()) s = ValidateId(request->customer_id(), "customer_id", deps_.limits);
  if (!s.ok()) {
    Finish(reactor, deps_.metrics, Rpc::kEraseCustomer, s, start);
    return reactor;
  }
  // 1. The writer erases (atomic batch, memory); 2. the maintenance thread
  // purges the customer's key ranges from the files; 3. the receipt.
  Metrics* metrics = deps_.metrics;
  AdminOps* admin = deps_.admin;
  storage::RocksStore* store = deps_.store;
  const std::string id = request->customer_id();
  absl::Status queued = deps_.ingestor->Submit(
      storage::EraseCustomer{id}, [=](absl::Status s, storage::WriteResult r) {
        if (!s.ok()) {
          Finish(reactor, metrics, Rpc::kEraseCustomer, s, start);
          return;
        }
        v1::ErasureReceipt* receipt = response->mutable_receipt();
        const storage::Erasure& e = r.erasure;
        receipt->set_subject_hash(Hex(e.subject_hash));
        *receipt->mutable_erased_at() = FromTimeMs(e.erased_at_ms);
        *receipt->mutable_events_dropped_through() = FromTimeMs(e.suppress_through_ms);
        receipt->set_attributes_erased(e.attributes);
        receipt->set_features_erased(e.features);
        receipt->set_erased_from_memory(e.in_memory);
        receipt->set_events_erased(e.events);
        receipt->set_idempotency_keys_erased(e.idempotency_keys);
        receipt->set_offer_cap_counters_erased(e.offer_counters);
        admin->RunMaintenance([=] {
          const auto purge_start = Clock::now();
          const storage::keys::Range range = storage::keys::CustomerRange(id);
          // [id, id\1) covers the customer's point keys and its ranges.
          absl::Status purged = store->Purge({storage::Cf::kCustomers, storage::Cf::kFeatures,
                                              storage::Cf::kEvents, storage::Cf::kIdempotency},
                                             id, range.end);
          receipt->set_purged_from_files(purged.ok());
          if (!purged.ok()) receipt->set_purge_error(std::string(purged.message()));
          receipt->set_purge_seconds(SecondsSince(purge_start));
          Finish(reactor, metrics, Rpc::kEraseCustomer, absl::OkStatus(), start);
        });
      });
  if (!queued.ok()) Finish(reactor, deps_.metrics, Rpc::kEraseCustomer, queued, start);
  return reactor;
}

grpc::ServerWriteReactor<v1::ExportCustomerResponse>* PrivacyServiceImpl::ExportCustomer(
    grpc::CallbackServerContext* ctx, const v1::ExportCustomerRequest* request) {
  return new ExportReactor(deps_, ctx, *request);
}

}  // namespace nextbest::server
