// nextbest health | reload-config | rebuild-models | segments | checkpoint.

#include <iostream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "nextbest/v1/admin.grpc.pb.h"
#include "tools/cli.h"

ABSL_FLAG(bool, allow_removing_placements, false,
          "reload-config: confirm a reload that removes placements (refused otherwise)");
ABSL_FLAG(std::string, dir, "",
          "checkpoint: directory on the server's machine (absolute, must not exist)");

namespace nextbest::cli {

int Health() {
  grpc::health::v1::HealthCheckResponse resp;
  if (int rc = Call("health", &grpc::health::v1::Health::Stub::Check,
                    grpc::health::v1::HealthCheckRequest(), &resp);
      rc != 0) {
    return rc;
  }
  const bool serving = resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  std::cout << (serving ? "SERVING" : "NOT_SERVING") << "\n";
  return serving ? 0 : 14;  // UNAVAILABLE
}

int ReloadConfig() {
  v1::ReloadConfigRequest req;
  req.set_allow_removing_placements(absl::GetFlag(FLAGS_allow_removing_placements));
  return CallAndPrint("reload-config", &v1::AdminService::Stub::ReloadConfig, req,
                      [](const v1::ReloadConfigResponse& resp) {
                        std::cout << absl::StrFormat(
                            "config version %d: %d placements, %d offers, %d segments\n",
                            resp.version(), resp.placements(), resp.offers(), resp.segments());
                      });
}

int RebuildModels() {
  return CallAndPrint(
      "rebuild-models", &v1::AdminService::Stub::RebuildModels, v1::RebuildModelsRequest(),
      [](const v1::RebuildModelsResponse& resp) {
        std::cout << absl::StrFormat(
            "models rebuilt over %d customers in %.2f s: %d co-purchase and %d co-view "
            "neighbours\n",
            resp.customers(), resp.build_seconds(), resp.co_purchase_pairs(), resp.co_view_pairs());
      });
}

int Segments() {
  return CallAndPrint(
      "segments", &v1::AdminService::Stub::ListSegments, v1::ListSegmentsRequest(),
      [](const v1::ListSegmentsResponse& resp) {
        std::cout << absl::StrFormat("segments (models of %s; %d customers with a purchase)\n",
                                     Ts(resp.built_at()), resp.rfm_population());
        for (const auto& seg : resp.segments()) {
          std::cout << absl::StrFormat("  %-10s %-22s %9d\n", seg.kind(), seg.segment(),
                                       seg.customers());
        }
        std::cout << "  RFM cut points: recency days "
                  << absl::StrJoin(resp.recency_days_cuts(), " / ") << "; orders "
                  << absl::StrJoin(resp.frequency_cuts(), " / ") << "; spend (cents) "
                  << absl::StrJoin(resp.monetary_cuts(), " / ") << "\n";
        std::cout << absl::StrFormat(
            "  behaviour: %d flagged for attention; top = current spend >= %.0f cents\n",
            resp.behaviour_priority(), resp.top_current_spend_cut());
        for (const auto& m : resp.customer_value_models()) {
          const std::string who = m.market().empty() ? "everyone" : "market " + m.market();
          if (!m.purchases_fitted()) {
            std::cout << absl::StrFormat("  purchase model (%s): not fitted (%d customers)\n", who,
                                         m.customers());
            continue;
          }
          std::cout << absl::StrFormat(
              "  purchase model (%s, %d customers): BG/NBD r %.3f alpha %.1f days a %.3f b %.3f\n",
              who, m.customers(), m.r(), m.alpha(), m.a(), m.b());
          if (m.value_fitted()) {
            std::cout << absl::StrFormat(
                "  value model (%s, %d repeat customers): Gamma-Gamma p %.2f q %.2f gamma %.0f "
                "cents\n",
                who, m.repeat_customers(), m.p(), m.q(), m.gamma());
          }
        }
      });
}

int Checkpoint() {
  if (absl::GetFlag(FLAGS_dir).empty()) return Usage("checkpoint: --dir required");
  v1::CheckpointRequest req;
  req.set_dir(absl::GetFlag(FLAGS_dir));
  v1::CheckpointResponse resp;
  if (int rc = Call("checkpoint", &v1::AdminService::Stub::Checkpoint, req, &resp); rc != 0)
    return rc;
  std::cout << absl::StrFormat(
      "checkpoint in %s (%.2f s); restore: start nextbest-server --data_dir=%s\n", resp.dir(),
      resp.seconds(), resp.dir());
  return 0;
}

}  // namespace nextbest::cli
