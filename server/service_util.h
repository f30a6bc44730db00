#pragma once
// What every gRPC handler file shares: timing, finishing a unary call with
// its metric, and the shape of a unary write (authorize, validate+convert,
// queue to the writer, answer once durable).

#include <chrono>

#include "absl/status/statusor.h"
#include "server/services.h"
#include "server/status_mapping.h"

namespace nextbest::server {

using Clock = std::chrono::steady_clock;

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

inline void Finish(grpc::ServerUnaryReactor* reactor, Metrics* metrics, Rpc rpc,
                   const absl::Status& s, Clock::time_point start) {
  grpc::Status g = ToGrpcStatus(s);
  metrics->RecordRpc(rpc, g.error_code(), SecondsSince(start));
  reactor->Finish(g);
}

// The shape of every unary write: authorize, validate+convert, queue,
// answer when the writer is done.
template <typename MakeCommand, typename Response, typename OnOk>
grpc::ServerUnaryReactor* SubmitUnary(grpc::CallbackServerContext* ctx, const ServiceDeps& deps,
                                      Rpc rpc, MakeCommand make_command, Response* response,
                                      OnOk on_ok) {
  const auto start = Clock::now();
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status allowed = Authorize(deps, *ctx, rpc);
  absl::StatusOr<storage::Command> command =
      allowed.ok() ? absl::StatusOr<storage::Command>(make_command()) : allowed;
  if (!command.ok()) {
    Finish(reactor, deps.metrics, rpc, command.status(), start);
    return reactor;
  }
  Metrics* metrics = deps.metrics;
  absl::Status queued = deps.ingestor->Submit(
      std::move(*command),
      [reactor, metrics, rpc, start, response, on_ok](absl::Status s, storage::WriteResult r) {
        if (s.ok()) on_ok(r, *response);
        Finish(reactor, metrics, rpc, s, start);
      });
  if (!queued.ok()) Finish(reactor, deps.metrics, rpc, queued, start);
  return reactor;
}

template <typename T>
absl::StatusOr<storage::Command> AsCommand(absl::StatusOr<T> c) {
  if (!c.ok()) return c.status();
  return storage::Command(std::move(*c));
}

}  // namespace nextbest::server
