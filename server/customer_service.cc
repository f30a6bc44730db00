#include "server/convert.h"
#include "server/service_util.h"
#include "server/services.h"

namespace nextbest::server {

grpc::ServerUnaryReactor* CustomerServiceImpl::UpsertCustomers(
    grpc::CallbackServerContext* ctx, const v1::UpsertCustomersRequest* request,
    v1::UpsertCustomersResponse* response) {
  return SubmitUnary(
      ctx, deps_, Rpc::kUpsertCustomers, *request,
      [&] { return AsCommand(ToUpsertCustomers(*request, deps_.limits, deps_.clock->Now())); },
      response,
      [](const storage::WriteResult& r, v1::UpsertCustomersResponse& out) {
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
  if (s.ok() &&
      ForwardIfElsewhere(ctx, deps_, Rpc::kGetProfile, "/nextbest.v1.CustomerService/GetProfile",
                         request->customer_id(), *request, response, reactor, start)) {
    return reactor;
  }
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

}  // namespace nextbest::server
