#include <optional>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/decision.h"
#include "core/status_macros.h"
#include "server/batch.h"
#include "server/convert.h"
#include "server/service_util.h"
#include "server/services.h"

namespace nextbest::server {

DecisionServiceImpl::DecisionServiceImpl(const ServiceDeps& deps) : deps_(deps) {}

absl::Status DecisionServiceImpl::Decide(const v1::RecommendRequest& request,
                                         v1::RecommendResponse& response) {
  RETURN_IF_ERROR(ValidateRecommend(request, deps_.limits));
  const v1::RecommendContext& ctx = request.context();
  core::RecommendQuery q;
  q.customer_id = request.customer_id();
  q.placement = ctx.placement();
  q.country = ctx.country();
  q.store_id = ctx.store_id();
  q.product_id = ctx.product_id();
  const absl::InlinedVector<absl::string_view, 16> cart(ctx.cart_product_ids().begin(),
                                                        ctx.cart_product_ids().end());
  const absl::InlinedVector<absl::string_view, 16> exclude(ctx.exclude_product_ids().begin(),
                                                           ctx.exclude_product_ids().end());
  q.cart = cart;
  q.exclude = exclude;
  q.channel = ToCore(ctx.channel());
  q.count = ctx.count();
  if (ctx.has_time()) q.time = ToTimeMs(ctx.time());
  q.request_id = request.request_id();
  q.explain = request.explain();
  q.preview = request.preview();

  core::ReadGuard guard(deps_.live->epochs);
  const core::Snapshot snapshot = core::Snapshot::Of(*deps_.live);
  const bool timed = deps_.metrics->request_metrics();
  const auto started = timed ? Clock::now() : Clock::time_point();
  absl::StatusOr<core::Recommendation> r = core::Recommend(snapshot, q, deps_.clock->Now());
  if (!r.ok()) return PrefixField("context.", r.status());
  if (timed) deps_.metrics->RecordDecision(r->placement->metric_slot, SecondsSince(started));
  FillRecommendation(*r, snapshot.catalog, snapshot.config, response);
  return absl::OkStatus();
}

grpc::Status DecisionServiceImpl::RecommendDirect(absl::string_view authorization,
                                                  const v1::RecommendRequest& request,
                                                  v1::RecommendResponse& response) {
  const auto start = Clock::now();
  absl::Status s = AuthorizeHeader(deps_, authorization, Rpc::kRecommend);
  if (s.ok()) s = Decide(request, response);
  grpc::Status g = ToGrpcStatus(s);
  deps_.metrics->RecordRpc(Rpc::kRecommend, g.error_code(), SecondsSince(start));
  return g;
}

grpc::ServerUnaryReactor* DecisionServiceImpl::Recommend(grpc::CallbackServerContext* ctx,
                                                         const v1::RecommendRequest* request,
                                                         v1::RecommendResponse* response) {
  const auto start = Clock::now();
  auto* reactor = ctx->DefaultReactor();
  absl::Status s = Authorize(deps_, *ctx, Rpc::kRecommend);
  if (s.ok() && deps_.cluster != nullptr) {
    // Validated once, where it is answered (Decide): a forwarded request
    // on the owner, a local one below.
    if (ForwardIfElsewhere(ctx, deps_, Rpc::kRecommend, "/nextbest.v1.DecisionService/Recommend",
                           request->customer_id(), *request, response, reactor, start)) {
      return reactor;
    }
    if (request->has_after()) {
      // Read-your-writes across the cluster: wait (bounded) for the token.
      deps_.cluster->AwaitToken(request->after(),
                                [this, request, response, reactor, start](bool applied) {
                                  absl::Status d = Decide(*request, *response);
                                  if (!applied) response->set_token_pending(true);
                                  Finish(reactor, deps_.metrics, Rpc::kRecommend, d, start);
                                });
      return reactor;
    }
  }
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
