#pragma once
// What every `nextbest` command shares: the flags more than one command
// reads, the channel (plaintext or TLS), the caller's credential, and one
// call helper — deadline, token, error printed, exit code = gRPC code.
// Commands live per group: cli_decisions.cc, cli_data.cc, cli_admin.cc,
// cli_privacy.cc; nextbest_main.cc dispatches.

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/grpcpp.h"
#include "nextbest/v1/common.pb.h"
#include "nextbest/v1/decisions.pb.h"
#include "tools/demo_retailer.h"

ABSL_DECLARE_FLAG(std::string, target);
ABSL_DECLARE_FLAG(int, timeout_ms);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(std::string, customer);
ABSL_DECLARE_FLAG(std::string, placement);
ABSL_DECLARE_FLAG(std::string, product);
ABSL_DECLARE_FLAG(int, count);
ABSL_DECLARE_FLAG(std::string, country);
ABSL_DECLARE_FLAG(std::string, store);
ABSL_DECLARE_FLAG(std::string, time);
ABSL_DECLARE_FLAG(std::string, channel);
ABSL_DECLARE_FLAG(std::string, out);
ABSL_DECLARE_FLAG(std::string, file);
ABSL_DECLARE_FLAG(std::string, token_file);
ABSL_DECLARE_FLAG(std::string, data_dir);

namespace nextbest::cli {

// Plaintext, or TLS with --tls_ca_file (and a client certificate for
// mutual TLS with --tls_cert_file/--tls_key_file).
std::shared_ptr<grpc::Channel> Channel();
// A channel to `target` instead of --target (same credentials).
std::shared_ptr<grpc::Channel> ChannelTo(const std::string& target);

// The caller's bearer token, when there is one: --token_file,
// $NEXTBEST_TOKEN, else the admin token (--admin_token_file,
// $NEXTBEST_ADMIN_TOKEN, DATA_DIR/admin_token with --data_dir).
const std::string& CallerToken();
// The first line of `path`, trimmed; empty (with a message) if unreadable.
std::string ReadToken(const std::string& path);
// Adds the token to a call (RPCs open to anonymous callers ignore it).
void AddCredential(grpc::ClientContext& ctx);
// The --timeout_ms deadline and the credential.
void SetDeadline(grpc::ClientContext& ctx);
// The routing header of a cluster: `x-customer-id` when the request names
// one customer (a `customer_id` field), so that a proxy sends the call
// straight to the shard owning the customer (README "Cluster").
void AddRoutingHeader(grpc::ClientContext& ctx, const google::protobuf::Message& request);

// Prints "nextbest WHAT: message (code N)"; returns N, the exit code.
int Fail(const grpc::Status& s, absl::string_view what);
// A usage error: the message, exit code 3 (INVALID_ARGUMENT).
int Usage(const std::string& msg);
// The message in the protobuf JSON mapping (field names as in the protos).
void PrintJson(const google::protobuf::Message& m);

// One unary call: deadline and credential, the error printed. Returns the
// exit code (0, or the gRPC status code).
template <typename Stub, typename Request, typename Response>
int Call(absl::string_view what,
         grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
         const Request& request, Response* response) {
  Stub stub(Channel());
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  AddRoutingHeader(ctx, request);
  const grpc::Status s = (stub.*method)(&ctx, request, response);
  return s.ok() ? 0 : Fail(s, what);
}
// Call, then print the response: as JSON with --json, else by `print`.
template <typename Stub, typename Request, typename Response, typename Print>
int CallAndPrint(absl::string_view what,
                 grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                 const Request& request, Print print) {
  Response response;
  if (int rc = Call(what, method, request, &response); rc != 0) return rc;
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(response);
  } else {
    print(response);
  }
  return 0;
}

// Formatting shared by the commands.
std::string Euro(const v1::Money& m);                  // "€ 2,49"
std::string Ts(const google::protobuf::Timestamp& t);  // "2026-11-23 14:05"
std::string SourceName(v1::Source s);                  // "co purchase"
v1::Channel ParseChannel(const std::string& name);     // "web" -> CHANNEL_WEB
// --time (RFC 3339), if given; INVALID_ARGUMENT naming the problem if
// malformed.
absl::StatusOr<std::optional<absl::Time>> TimeFlag();
google::protobuf::Timestamp ToTimestamp(absl::Time t);

// The commands, by group.
int Recommend();  // cli_decisions.cc
int Newsletter();
int Ping();
int Profile();  // cli_data.cc
int Track();
int DemoData();
// The demo retailer's size from the demo-data flags (--customers, ...).
absl::StatusOr<tools::RetailerSize> RetailerSizeFromFlags();
int SimulateAb();  // cli_simulate.cc
int Health();      // cli_admin.cc
int ReloadConfig();
int RebuildModels();
int Segments();
int Experiments();  // cli_experiments.cc
int Checkpoint();
int Consent();  // cli_privacy.cc
int Erase();
int Export();
int Erasures();
int HashToken();
int Import(absl::string_view kind);  // cli_import.cc: products, stores, stock, events
int Eval();                          // cli_eval.cc
int World();

}  // namespace nextbest::cli
