#include "absl/strings/str_format.h"
#include "core/segments.h"
#include "server/convert.h"
#include "server/service_util.h"
#include "server/services.h"

namespace nextbest::server {

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
    response->set_fingerprint(absl::StrFormat("%016x", m.fingerprint));
    response->set_build_passes(m.build_passes);
    response->set_consumable_categories(static_cast<int32_t>(m.repurchase.consumable_categories()));
    response->set_categories(static_cast<int32_t>(m.repurchase.categories()));
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
    for (int i = 1; i < core::kChurnRiskCount; ++i) {
      v1::SegmentSize* seg = response->add_segments();
      seg->set_segment(core::ChurnRiskName(static_cast<core::ChurnRisk>(i)));
      seg->set_kind("churn_risk");
      seg->set_customers(m->churn_risk_sizes[i]);
    }
    AddCustomerValueModels(m->customer_value, *deps_.live->catalog.Get(), *response);
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

}  // namespace nextbest::server
