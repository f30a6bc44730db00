#pragma once
// The end-to-end tests' shared fixture: the real nextbest-server binary in
// a fresh temp directory (TEMP/data), a stub for every service on a
// channel whose calls carry the test admin token, and one call helper.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "nextbest/v1/admin.grpc.pb.h"
#include "nextbest/v1/catalog.grpc.pb.h"
#include "nextbest/v1/customers.grpc.pb.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "nextbest/v1/privacy.grpc.pb.h"
#include "tests/server/server_process.h"

namespace nextbest::testing {

class ServerTest : public ::testing::Test {
 protected:
  // Starts the server on data_dir() with `flags` (kept for restarts).
  void StartServer(std::vector<std::string> flags = {}) {
    flags_ = std::move(flags);
    server_ = std::make_unique<ServerProcess>();
    ASSERT_TRUE(server_->Start(data_dir(), flags_)) << server_->log();
    channel_ = server_->Channel();
    events_ = v1::EventService::NewStub(channel_);
    customers_ = v1::CustomerService::NewStub(channel_);
    catalog_ = v1::CatalogService::NewStub(channel_);
    decisions_ = v1::DecisionService::NewStub(channel_);
    admin_ = v1::AdminService::NewStub(channel_);
    privacy_ = v1::PrivacyService::NewStub(channel_);
  }
  // The server with the shipped config (deploy/nextbest.textproto), then
  // the demo retailer loaded through the real CLI with `demo_flags`.
  void StartShippedWithDemo(const std::string& demo_flags) {
    std::ifstream in(NEXTBEST_DEPLOY_CONFIG);
    std::stringstream shipped;
    shipped << in.rdbuf();
    const std::string path = dir_.path() + "/nextbest.textproto";
    std::ofstream(path) << shipped.str() << kConfigEnd;
    StartServer({"--config=" + path});
    std::string out;
    ASSERT_EQ(RunCli(server_->target(), "demo-data " + demo_flags, &out), 0) << out;
    ASSERT_NE(out.find("models rebuilt"), std::string::npos) << out;
  }
  // SIGTERM (a clean exit is expected), then the same start again.
  void RestartServer() {
    ASSERT_EQ(server_->Stop(SIGTERM), 0) << server_->log();
    StartServer(flags_);
  }
  std::string data_dir() const { return dir_.path() + "/data"; }

  // One unary call with a deadline.
  template <typename Stub, typename Req, typename Resp>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    Stub* stub, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return (stub->*method)(&ctx, req, resp);
  }
  grpc::Status Record(const std::vector<v1::Event>& events,
                      v1::RecordEventsResponse* resp = nullptr) {
    v1::RecordEventsRequest req;
    for (const auto& e : events) *req.add_events() = e;
    v1::RecordEventsResponse local;
    return Call(&v1::EventService::Stub::RecordEvents, events_.get(), req,
                resp != nullptr ? resp : &local);
  }
  // `more` fills in the rest of the request (cart, store, time...).
  grpc::Status Recommend(const std::string& customer, const std::string& placement,
                         v1::RecommendResponse* resp,
                         const std::function<void(v1::RecommendRequest&)>& more = nullptr) {
    v1::RecommendRequest req;
    req.set_customer_id(customer);
    req.mutable_context()->set_placement(placement);
    if (more) more(req);
    return Call(&v1::DecisionService::Stub::Recommend, decisions_.get(), req, resp);
  }
  grpc::Status Profile(const std::string& customer, v1::GetProfileResponse* profile) {
    v1::GetProfileRequest req;
    req.set_customer_id(customer);
    return Call(&v1::CustomerService::Stub::GetProfile, customers_.get(), req, profile);
  }
  static std::vector<std::string> Ids(const v1::RecommendResponse& r) {
    std::vector<std::string> out;
    for (const auto& i : r.items()) out.push_back(i.product_id());
    return out;
  }

  TempDir dir_;
  std::vector<std::string> flags_;
  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EventService::Stub> events_;
  std::unique_ptr<v1::CustomerService::Stub> customers_;
  std::unique_ptr<v1::CatalogService::Stub> catalog_;
  std::unique_ptr<v1::DecisionService::Stub> decisions_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::PrivacyService::Stub> privacy_;
};

}  // namespace nextbest::testing
