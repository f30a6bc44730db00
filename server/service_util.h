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
// In cluster mode the validated request goes to the log instead
// (ClusterNode::Write) and is answered once Kafka has it, with the
// consistency token when the response has one.
template <typename MakeCommand, typename Response, typename OnOk>
grpc::ServerUnaryReactor* SubmitUnary(grpc::CallbackServerContext* ctx, const ServiceDeps& deps,
                                      Rpc rpc, const google::protobuf::Message& request,
                                      MakeCommand make_command, Response* response, OnOk on_ok) {
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
  if (deps.cluster != nullptr) {
    deps.cluster->Write(rpc, request,
                        [reactor, metrics, rpc, start, response, on_ok](
                            absl::Status s, int64_t records, v1::ConsistencyToken token) {
                          if (s.ok()) {
                            storage::WriteResult r;
                            r.accepted = records;
                            on_ok(r, *response);
                            if constexpr (requires { response->mutable_consistency_token(); }) {
                              *response->mutable_consistency_token() = std::move(token);
                            }
                          }
                          Finish(reactor, metrics, rpc, s, start);
                        });
    return reactor;
  }
  absl::Status queued = deps.ingestor->Submit(
      std::move(*command),
      [reactor, metrics, rpc, start, response, on_ok](absl::Status s, storage::WriteResult r) {
        if (s.ok()) on_ok(r, *response);
        Finish(reactor, metrics, rpc, s, start);
      });
  if (!queued.ok()) Finish(reactor, deps.metrics, rpc, queued, start);
  return reactor;
}

// Cluster mode: a call about a customer of another shard goes to a node of
// that shard (one hop; a call forwarded once is answered where it lands).
// True if it was forwarded: the reactor finishes when the owner answers.
inline bool ForwardIfElsewhere(grpc::CallbackServerContext* ctx, const ServiceDeps& deps, Rpc rpc,
                               const char* method, const std::string& customer_id,
                               const google::protobuf::Message& request,
                               google::protobuf::Message* response,
                               grpc::ServerUnaryReactor* reactor, Clock::time_point start) {
  if (deps.cluster == nullptr || customer_id.empty() || deps.cluster->Owns(customer_id) ||
      ClusterNode::WasForwarded(*ctx)) {
    return false;
  }
  Metrics* metrics = deps.metrics;
  deps.cluster->Forward(method, *ctx, customer_id, request, response,
                        [reactor, metrics, rpc, start](grpc::Status g) {
                          metrics->RecordRpc(rpc, g.error_code(), SecondsSince(start));
                          reactor->Finish(g);
                        });
  return true;
}

// Cluster mode: a write about one customer whose answer needs the writer's
// result (consent, erasure). Forwarded to the owning shard unless owned
// here; the owner writes it to the log and answers once it applied it.
// `on_ok(result, finish)` fills the response and calls finish(status).
template <typename OnOk>
grpc::ServerUnaryReactor* OwnerWrite(grpc::CallbackServerContext* ctx, const ServiceDeps& deps,
                                     Rpc rpc, const char* method, const std::string& customer_id,
                                     const google::protobuf::Message& request,
                                     google::protobuf::Message* response, OnOk on_ok,
                                     grpc::ServerUnaryReactor* reactor, Clock::time_point start) {
  if (ForwardIfElsewhere(ctx, deps, rpc, method, customer_id, request, response, reactor, start)) {
    return reactor;
  }
  Metrics* metrics = deps.metrics;
  deps.cluster->WriteAndApply(
      rpc, request, customer_id,
      [reactor, metrics, rpc, start, on_ok](absl::Status s, storage::WriteResult r) {
        auto finish = [reactor, metrics, rpc, start](absl::Status done) {
          Finish(reactor, metrics, rpc, done, start);
        };
        if (!s.ok()) return finish(s);
        on_ok(r, finish);
      });
  return reactor;
}

template <typename T>
absl::StatusOr<storage::Command> AsCommand(absl::StatusOr<T> c) {
  if (!c.ok()) return c.status();
  return storage::Command(std::move(*c));
}

}  // namespace nextbest::server
