#include "server/service_util.h"
#include "server/services.h"

namespace nextbest::server {

grpc::ServerUnaryReactor* CatalogServiceImpl::UpsertProducts(
    grpc::CallbackServerContext* ctx, const v1::UpsertProductsRequest* request,
    v1::UpsertProductsResponse* response) {
  return SubmitUnary(
      ctx, deps_, Rpc::kUpsertProducts, *request,
      [&] { return AsCommand(ToUpsertProducts(*request, deps_.limits)); }, response,
      [](const storage::WriteResult& r, v1::UpsertProductsResponse& out) {
        out.set_upserted(static_cast<int32_t>(r.accepted));
        out.set_created(static_cast<int32_t>(r.created));
        out.set_unchanged(static_cast<int32_t>(r.unchanged));
        out.set_updated(static_cast<int32_t>(r.accepted - r.created - r.unchanged));
      });
}

grpc::ServerUnaryReactor* CatalogServiceImpl::UpsertStores(grpc::CallbackServerContext* ctx,
                                                           const v1::UpsertStoresRequest* request,
                                                           v1::UpsertStoresResponse* response) {
  return SubmitUnary(
      ctx, deps_, Rpc::kUpsertStores, *request,
      [&] { return AsCommand(ToUpsertStores(*request, deps_.limits)); }, response,
      [](const storage::WriteResult& r, v1::UpsertStoresResponse& out) {
        out.set_upserted(static_cast<int32_t>(r.accepted));
      });
}

grpc::ServerUnaryReactor* CatalogServiceImpl::SetStock(grpc::CallbackServerContext* ctx,
                                                       const v1::SetStockRequest* request,
                                                       v1::SetStockResponse* response) {
  return SubmitUnary(
      ctx, deps_, Rpc::kSetStock, *request,
      [&] { return AsCommand(ToSetStock(*request, deps_.limits)); }, response,
      [](const storage::WriteResult& r, v1::SetStockResponse& out) {
        out.set_updated(static_cast<int32_t>(r.accepted));
      });
}

}  // namespace nextbest::server
