#pragma once
// DecideForAll: one decision per customer for the whole population (the
// newsletter run), streamed in chunks.

#include "server/services.h"

namespace nextbest::server {

// Validates `request`; the reactor finishes with INVALID_ARGUMENT or
// NOT_FOUND at once, or streams chunks of decisions made by worker threads
// (one per core) and finishes OK after the last one.
grpc::ServerWriteReactor<v1::DecideForAllResponse>* StartDecideForAll(
    const ServiceDeps& deps, const v1::DecideForAllRequest* request);

}  // namespace nextbest::server
