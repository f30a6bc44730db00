#include "server/services.h"

#include <optional>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/decision.h"
#include "core/status_macros.h"
#include "server/batch.h"
#include "server/convert.h"
#include "server/service_util.h"

namespace nextbest::server {

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

}  // namespace nextbest::server
