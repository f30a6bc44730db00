#pragma once
// The HTTP/JSON face of the API: every public RPC under a Google-API-style
// route (`POST /v1/customers/{customer_id}:recommend`), bodies and answers
// in the standard protobuf JSON mapping, errors as
// {"code", "message", "details"} with the HTTP status gRPC's mapping gives.
//
// One implementation behind both faces: the gateway transcodes and calls
// the *same* gRPC services through the server's in-process channel, so
// validation, limits, consent, caller identities and scopes, cluster
// forwarding and the per-RPC metrics (`rpc` label) are the gRPC path's —
// there is no second code path for decisions. Recommend, the hot call,
// skips the in-process round trip (thread hand-offs that cost 4x its
// time): it calls DecisionServiceImpl::RecommendDirect — the same
// authorization, Decide and metric the gRPC handler runs. The route table is in
// http_routes.cc; the console's static files are served from /console/.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"
#include "server/http_routes.h"
#include "server/http_server.h"

namespace nextbest::server {

class DecisionServiceImpl;

struct HttpGatewayOptions {
  // Origins a browser may call the API from (CORS), e.g.
  // "https://www.shop.example"; "*" allows any. Empty: same origin only.
  std::vector<std::string> cors_origins;
  int deadline_ms = 30000;  // per call
  // Server-streaming RPCs (DecideForAll, ExportCustomer, ListErasures)
  // answer newline-delimited JSON, buffered up to this size; beyond it the
  // call fails with RESOURCE_EXHAUSTED (use gRPC for full newsletter runs).
  size_t max_stream_bytes = 64 << 20;
  bool console = true;  // serve the marketer console under /console/
};

// One HTTP call on its way to a gRPC method (what a route's invoker uses).
class HttpCall {
 public:
  HttpCall(const HttpRequest& request, const HttpGatewayOptions& options);

  // The request message from the body ("*" routes) or the query string
  // (GET), then the path's variables; INVALID_ARGUMENT naming the field.
  grpc::Status Fill(google::protobuf::Message& message, bool from_body) const;
  // Appends the message's JSON (one line for streams).
  void Append(const google::protobuf::Message& message);
  // The collected stream passed options.max_stream_bytes.
  bool Full() const { return out_.size() > max_stream_bytes_; }

  grpc::ClientContext& context() { return context_; }
  std::vector<std::pair<std::string, std::string>>& bindings() { return bindings_; }
  const HttpRequest& request() const { return request_; }
  std::string& out() { return out_; }

 private:
  const HttpRequest& request_;
  grpc::ClientContext context_;
  std::vector<std::pair<std::string, std::string>> bindings_;  // path variables
  std::string out_;
  size_t max_stream_bytes_;
};

class HttpGateway {
 public:
  // `channel`: the server's in-process channel.
  // `decisions`: Recommend's direct path (nullptr: through `channel` too).
  HttpGateway(std::shared_ptr<grpc::Channel> channel, HttpGatewayOptions options,
              DecisionServiceImpl* decisions = nullptr);
  ~HttpGateway();

  void Handle(const HttpRequest& request, HttpResponse& response) const;

  struct Routes;  // http_routes.cc
  const std::vector<HttpRoute>& table() const;

 private:
  static std::unique_ptr<Routes> MakeRoutes(const std::shared_ptr<grpc::Channel>& channel,
                                            DecisionServiceImpl* decisions);
  // CORS: the allowed origin's headers; false for a foreign origin.
  bool AllowOrigin(absl::string_view origin, HttpResponse& response) const;

  HttpGatewayOptions options_;
  std::unique_ptr<Routes> routes_;
};

// gRPC code → HTTP status (google.rpc.Code's documented mapping).
int HttpStatusFor(grpc::StatusCode code);
// {"code": 3, "message": "...", "details": []}
std::string JsonError(const grpc::Status& status);

}  // namespace nextbest::server
