// The HTTP/JSON route table: which path and method reach which RPC, and
// the three ways a call is transcoded (unary, server stream, client
// stream). Routes follow Google's API design (AIP-136 custom methods:
// `/v1/customers/{customer_id}:recommend`).

#include "server/http_routes.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "nextbest/v1/admin.grpc.pb.h"
#include "nextbest/v1/catalog.grpc.pb.h"
#include "nextbest/v1/customers.grpc.pb.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "nextbest/v1/experiments.grpc.pb.h"
#include "nextbest/v1/insight.grpc.pb.h"
#include "nextbest/v1/privacy.grpc.pb.h"
#include "server/http_gateway.h"
#include "server/services.h"

namespace nextbest::server {
namespace {

using Invoker = std::function<grpc::Status(HttpCall&)>;

template <class Stub, class Req, class Resp>
Invoker Unary(Stub* stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
              bool from_body) {
  return [stub, method, from_body](HttpCall& call) {
    Req request;
    if (grpc::Status s = call.Fill(request, from_body); !s.ok()) return s;
    Resp response;
    grpc::Status s = (stub->*method)(&call.context(), request, &response);
    if (s.ok()) call.Append(response);
    return s;
  };
}

// Each message one JSON line, collected up to the gateway's limit.
template <class Stub, class Req, class Resp>
Invoker ServerStream(Stub* stub,
                     std::unique_ptr<grpc::ClientReader<Resp>> (Stub::*method)(grpc::ClientContext*,
                                                                               const Req&),
                     bool from_body) {
  return [stub, method, from_body](HttpCall& call) {
    Req request;
    if (grpc::Status s = call.Fill(request, from_body); !s.ok()) return s;
    std::unique_ptr<grpc::ClientReader<Resp>> reader = (stub->*method)(&call.context(), request);
    Resp response;
    while (reader->Read(&response)) {
      call.Append(response);
      if (call.Full()) {
        call.context().TryCancel();
        reader->Finish();
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            "the answer passed the HTTP stream limit (--http_max_stream_bytes); "
                            "narrow the request or call this method over gRPC");
      }
    }
    return reader->Finish();
  };
}

// The body is newline-delimited JSON, one request message per line. Every
// line is parsed before the first is sent: a bad line writes nothing.
template <class Stub, class Req, class Resp>
Invoker ClientStream(Stub* stub,
                     std::unique_ptr<grpc::ClientWriter<Req>> (Stub::*method)(grpc::ClientContext*,
                                                                              Resp*)) {
  return [stub, method](HttpCall& call) {
    std::vector<Req> messages;
    int line_number = 0;
    for (absl::string_view line : absl::StrSplit(call.request().body, '\n')) {
      ++line_number;
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      google::protobuf::util::JsonParseOptions options;
      if (auto s = google::protobuf::util::JsonStringToMessage(std::string(line),
                                                               &messages.emplace_back(), options);
          !s.ok()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            absl::StrCat("body line ", line_number, ": ", s.message().ToString()));
      }
    }
    Resp response;
    std::unique_ptr<grpc::ClientWriter<Req>> writer = (stub->*method)(&call.context(), &response);
    for (const Req& m : messages) {
      if (!writer->Write(m)) break;  // the server ended the call: Finish says why
    }
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    if (s.ok()) call.Append(response);
    return s;
  };
}

// Recommend without the in-process round trip (see http_gateway.h).
Invoker DirectRecommend(DecisionServiceImpl* decisions, bool from_body) {
  return [decisions, from_body](HttpCall& call) {
    v1::RecommendRequest request;
    if (grpc::Status s = call.Fill(request, from_body); !s.ok()) return s;
    v1::RecommendResponse response;
    grpc::Status s = decisions->RecommendDirect(call.request().authorization, request, response);
    if (s.ok()) call.Append(response);
    return s;
  };
}

}  // namespace

struct HttpGateway::Routes {
  explicit Routes(const std::shared_ptr<grpc::Channel>& channel)
      : decisions(v1::DecisionService::NewStub(channel)),
        events(v1::EventService::NewStub(channel)),
        customers(v1::CustomerService::NewStub(channel)),
        catalog(v1::CatalogService::NewStub(channel)),
        privacy(v1::PrivacyService::NewStub(channel)),
        experiments(v1::ExperimentService::NewStub(channel)),
        admin(v1::AdminService::NewStub(channel)),
        insight(v1::InsightService::NewStub(channel)) {}

  std::unique_ptr<v1::DecisionService::Stub> decisions;
  std::unique_ptr<v1::EventService::Stub> events;
  std::unique_ptr<v1::CustomerService::Stub> customers;
  std::unique_ptr<v1::CatalogService::Stub> catalog;
  std::unique_ptr<v1::PrivacyService::Stub> privacy;
  std::unique_ptr<v1::ExperimentService::Stub> experiments;
  std::unique_ptr<v1::AdminService::Stub> admin;
  std::unique_ptr<v1::InsightService::Stub> insight;
  std::vector<HttpRoute> table;
};

std::unique_ptr<HttpGateway::Routes> HttpGateway::MakeRoutes(
    const std::shared_ptr<grpc::Channel>& channel, DecisionServiceImpl* decisions) {
  auto r = std::make_unique<Routes>(channel);
  using D = v1::DecisionService::Stub;
  using E = v1::EventService::Stub;
  using C = v1::CustomerService::Stub;
  using K = v1::CatalogService::Stub;
  using P = v1::PrivacyService::Stub;
  using X = v1::ExperimentService::Stub;
  using A = v1::AdminService::Stub;
  using I = v1::InsightService::Stub;
  constexpr bool kBody = true, kQuery = false;
  auto add = [&](const char* method, const char* path, const char* rpc, Invoker invoke,
                 bool stream_out = false) {
    r->table.push_back(HttpRoute::Parse(method, path, rpc, std::move(invoke), stream_out));
  };
  // DecisionService
  const bool direct = decisions != nullptr && decisions->direct_ok();
  add("POST", "/v1/customers/{customer_id}:recommend", "Recommend",
      direct ? DirectRecommend(decisions, kBody) : Unary(r->decisions.get(), &D::Recommend, kBody));
  add("GET", "/v1/customers/{customer_id}:recommend", "Recommend",
      direct ? DirectRecommend(decisions, kQuery)
             : Unary(r->decisions.get(), &D::Recommend, kQuery));
  add("GET", "/v1/ping", "Ping", Unary(r->decisions.get(), &D::Ping, kQuery));
  add("POST", "/v1/decisions:decideForAll", "DecideForAll",
      ServerStream(r->decisions.get(), &D::DecideForAll, kBody), true);
  // EventService
  add("POST", "/v1/events:record", "RecordEvents", Unary(r->events.get(), &E::RecordEvents, kBody));
  add("POST", "/v1/events:stream", "StreamEvents", ClientStream(r->events.get(), &E::StreamEvents));
  // CustomerService
  add("POST", "/v1/customers:upsert", "UpsertCustomers",
      Unary(r->customers.get(), &C::UpsertCustomers, kBody));
  add("GET", "/v1/customers/{customer_id}/profile", "GetProfile",
      Unary(r->customers.get(), &C::GetProfile, kQuery));
  // CatalogService
  add("POST", "/v1/products:upsert", "UpsertProducts",
      Unary(r->catalog.get(), &K::UpsertProducts, kBody));
  add("POST", "/v1/stores:upsert", "UpsertStores",
      Unary(r->catalog.get(), &K::UpsertStores, kBody));
  add("POST", "/v1/stock:set", "SetStock", Unary(r->catalog.get(), &K::SetStock, kBody));
  // PrivacyService
  add("POST", "/v1/customers/{customer_id}:setConsent", "SetConsent",
      Unary(r->privacy.get(), &P::SetConsent, kBody));
  add("POST", "/v1/customers/{customer_id}:erase", "EraseCustomer",
      Unary(r->privacy.get(), &P::EraseCustomer, kBody));
  add("GET", "/v1/customers/{customer_id}:export", "ExportCustomer",
      ServerStream(r->privacy.get(), &P::ExportCustomer, kQuery), true);
  add("GET", "/v1/erasures", "ListErasures",
      ServerStream(r->privacy.get(), &P::ListErasures, kQuery), true);
  // ExperimentService
  add("GET", "/v1/experiments/{experiment_id}/report", "GetExperimentReport",
      Unary(r->experiments.get(), &X::GetExperimentReport, kQuery));
  // AdminService
  add("POST", "/v1/config:reload", "ReloadConfig", Unary(r->admin.get(), &A::ReloadConfig, kBody));
  add("POST", "/v1/models:rebuild", "RebuildModels",
      Unary(r->admin.get(), &A::RebuildModels, kBody));
  add("GET", "/v1/segments", "ListSegments", Unary(r->admin.get(), &A::ListSegments, kQuery));
  add("POST", "/v1/checkpoints", "Checkpoint", Unary(r->admin.get(), &A::Checkpoint, kBody));
  // InsightService
  add("GET", "/v1/config", "DescribeConfig", Unary(r->insight.get(), &I::DescribeConfig, kQuery));
  add("GET", "/v1/status", "GetStatus", Unary(r->insight.get(), &I::GetStatus, kQuery));
  return r;
}

const std::vector<HttpRoute>& HttpGateway::table() const { return routes_->table; }

HttpGateway::HttpGateway(std::shared_ptr<grpc::Channel> channel, HttpGatewayOptions options,
                         DecisionServiceImpl* decisions)
    : options_(std::move(options)), routes_(MakeRoutes(channel, decisions)) {}

HttpGateway::~HttpGateway() = default;

}  // namespace nextbest::server
