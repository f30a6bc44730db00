#pragma once
// The one place where absl::Status becomes grpc::Status.

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace nextbest::server {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace nextbest::server
