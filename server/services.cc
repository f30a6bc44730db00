#include "server/services.h"

namespace nextbest::server {

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
    case Rpc::kListErasures:
      return Scope::kPrivacy;
    case Rpc::kGetExperimentReport:
    case Rpc::kDescribeConfig:
    case Rpc::kGetStatus:
      return Scope::kReport;
    case Rpc::kCount:
      break;
  }
  return Scope::kAdmin;  // unreachable; the most restrictive
}

absl::Status Authorize(const ServiceDeps& deps, const grpc::ServerContextBase& ctx, Rpc rpc) {
  core::ReadGuard guard(deps.live->epochs);
  return deps.auth->Get()->Check(ctx, RpcScope(rpc), RpcName(rpc));
}

absl::Status AuthorizeHeader(const ServiceDeps& deps, absl::string_view authorization, Rpc rpc) {
  core::ReadGuard guard(deps.live->epochs);
  return deps.auth->Get()->Authorize(
      RpcScope(rpc), authorization.empty() ? nullptr : &authorization, {}, RpcName(rpc));
}

}  // namespace nextbest::server
