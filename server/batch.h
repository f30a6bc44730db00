#pragma once
// DecideForAll: one decision per customer for the whole population (the
// newsletter run), streamed in chunks.

#include "server/services.h"

namespace nextbest::server {

// Authorizes and validates `request`; the reactor finishes with
// UNAUTHENTICATED, INVALID_ARGUMENT, NOT_FOUND or (more than
// limits.max_concurrent_batches calls open, counted in `open_batches`)
// RESOURCE_EXHAUSTED at once, or streams chunks of decisions made on the
// shared BatchPool as fast as the client reads them, and finishes OK after
// the last one.
grpc::ServerWriteReactor<v1::DecideForAllResponse>* StartDecideForAll(
    const ServiceDeps& deps, const grpc::CallbackServerContext& ctx,
    const v1::DecideForAllRequest* request, std::atomic<int>* open_batches);

}  // namespace nextbest::server
