// Caller identities and scopes end to end, with the real server binary:
// every RPC × every scope (bearer tokens whose hashes are in the config),
// the default (anonymous decide and track, personal data denied), mutual
// TLS identities, token rotation by reload, and the CLI's hash-token.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <functional>
#include <map>
#include <regex>

#include "absl/strings/str_cat.h"
#include "nextbest/v1/admin.grpc.pb.h"
#include "nextbest/v1/catalog.grpc.pb.h"
#include "nextbest/v1/customers.grpc.pb.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "nextbest/v1/experiments.grpc.pb.h"
#include "nextbest/v1/insight.grpc.pb.h"
#include "nextbest/v1/privacy.grpc.pb.h"
#include "tests/server/server_process.h"

namespace nextbest {
namespace {

using testing::ChannelWithToken;
using testing::RunCli;
using testing::ServerProcess;
using testing::TempDir;
using Code = grpc::StatusCode;

const char* const kScopes[] = {"DECIDE", "TRACK",   "READ_PROFILE", "BATCH",
                               "ADMIN",  "PRIVACY", "REPORT"};

std::string TokenFor(const std::string& scope) { return "tok-" + scope + "-5e1f0a77c2d94b3a"; }

// The hash line `nextbest hash-token` prints for `token`.
std::string HashWithCli(const TempDir& dir, const std::string& token) {
  const std::string file = dir.path() + "/token-" + token;
  std::ofstream(file) << token << "\n";
  std::string out;
  EXPECT_EQ(RunCli("unused:1", "hash-token --token_file=" + file, &out), 0) << out;
  std::smatch m;
  EXPECT_TRUE(std::regex_search(out, m, std::regex("token_sha256: \"([0-9a-f]{64})\""))) << out;
  return m.size() > 1 ? m[1].str() : "";
}

template <typename Stub, typename Req, typename Resp>
Code Unary(std::shared_ptr<grpc::Channel> ch,
           grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), const Req& req) {
  auto stub = std::make_unique<Stub>(ch);
  Resp resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  return (stub.get()->*method)(&ctx, req, &resp).error_code();
}

// One minimal call per RPC, and the scope it needs.
struct RpcCase {
  const char* name;
  const char* scope;
  std::function<Code(std::shared_ptr<grpc::Channel>)> call;
};

std::vector<RpcCase> AllRpcs() {
  v1::RecordEventsRequest events;  // empty: INVALID_ARGUMENT once allowed
  v1::RecommendRequest recommend;
  recommend.mutable_context()->set_placement("homepage.populair");
  v1::GetProfileRequest profile;
  profile.set_customer_id("nobody");
  v1::DecideForAllRequest batch;
  batch.set_placement("no.such.placement");
  v1::EraseCustomerRequest erase;
  erase.set_customer_id("nobody");
  v1::SetConsentRequest consent;
  consent.set_customer_id("nobody");
  consent.set_personalization(true);
  v1::ExportCustomerRequest exp;
  exp.set_customer_id("nobody");
  return {
      {"RecordEvents", "TRACK",
       [=](auto ch) { return Unary(ch, &v1::EventService::Stub::RecordEvents, events); }},
      {"StreamEvents", "TRACK",
       [](auto ch) {
         auto stub = v1::EventService::NewStub(ch);
         grpc::ClientContext ctx;
         v1::StreamEventsResponse resp;
         auto writer = stub->StreamEvents(&ctx, &resp);
         writer->WritesDone();
         return writer->Finish().error_code();
       }},
      {"UpsertCustomers", "TRACK",
       [](auto ch) {
         return Unary(ch, &v1::CustomerService::Stub::UpsertCustomers,
                      v1::UpsertCustomersRequest());
       }},
      {"UpsertProducts", "TRACK",
       [](auto ch) {
         return Unary(ch, &v1::CatalogService::Stub::UpsertProducts, v1::UpsertProductsRequest());
       }},
      {"UpsertStores", "TRACK",
       [](auto ch) {
         return Unary(ch, &v1::CatalogService::Stub::UpsertStores, v1::UpsertStoresRequest());
       }},
      {"SetStock", "TRACK",
       [](auto ch) {
         return Unary(ch, &v1::CatalogService::Stub::SetStock, v1::SetStockRequest());
       }},
      {"Recommend", "DECIDE",
       [=](auto ch) { return Unary(ch, &v1::DecisionService::Stub::Recommend, recommend); }},
      {"Ping", "DECIDE",
       [](auto ch) { return Unary(ch, &v1::DecisionService::Stub::Ping, v1::PingRequest()); }},
      {"GetProfile", "READ_PROFILE",
       [=](auto ch) { return Unary(ch, &v1::CustomerService::Stub::GetProfile, profile); }},
      {"DecideForAll", "BATCH",
       [=](auto ch) {
         auto stub = v1::DecisionService::NewStub(ch);
         grpc::ClientContext ctx;
         auto reader = stub->DecideForAll(&ctx, batch);
         v1::DecideForAllResponse msg;
         while (reader->Read(&msg)) {
         }
         return reader->Finish().error_code();
       }},
      {"ReloadConfig", "ADMIN",
       [](auto ch) {
         return Unary(ch, &v1::AdminService::Stub::ReloadConfig, v1::ReloadConfigRequest());
       }},
      {"RebuildModels", "ADMIN",
       [](auto ch) {
         return Unary(ch, &v1::AdminService::Stub::RebuildModels, v1::RebuildModelsRequest());
       }},
      {"ListSegments", "ADMIN",
       [](auto ch) {
         return Unary(ch, &v1::AdminService::Stub::ListSegments, v1::ListSegmentsRequest());
       }},
      {"Checkpoint", "ADMIN",
       [](auto ch) {
         return Unary(ch, &v1::AdminService::Stub::Checkpoint, v1::CheckpointRequest());
       }},
      {"SetConsent", "PRIVACY",
       [=](auto ch) { return Unary(ch, &v1::PrivacyService::Stub::SetConsent, consent); }},
      {"EraseCustomer", "PRIVACY",
       [=](auto ch) { return Unary(ch, &v1::PrivacyService::Stub::EraseCustomer, erase); }},
      {"ExportCustomer", "PRIVACY",
       [=](auto ch) {
         auto stub = v1::PrivacyService::NewStub(ch);
         grpc::ClientContext ctx;
         auto reader = stub->ExportCustomer(&ctx, exp);
         v1::ExportCustomerResponse msg;
         while (reader->Read(&msg)) {
         }
         return reader->Finish().error_code();
       }},
      {"ListErasures", "PRIVACY",
       [](auto ch) {
         auto stub = v1::PrivacyService::NewStub(ch);
         grpc::ClientContext ctx;
         auto reader = stub->ListErasures(&ctx, v1::ListErasuresRequest());
         v1::ListErasuresResponse msg;
         while (reader->Read(&msg)) {
         }
         return reader->Finish().error_code();
       }},
      {"GetExperimentReport", "REPORT",
       [](auto ch) {
         auto stub = v1::ExperimentService::NewStub(ch);
         grpc::ClientContext ctx;
         v1::GetExperimentReportResponse resp;
         return stub->GetExperimentReport(&ctx, v1::GetExperimentReportRequest(), &resp)
             .error_code();
       }},
      {"DescribeConfig", "REPORT",
       [](auto ch) {
         return Unary(ch, &v1::InsightService::Stub::DescribeConfig, v1::DescribeConfigRequest());
       }},
      {"GetStatus", "REPORT",
       [](auto ch) {
         return Unary(ch, &v1::InsightService::Stub::GetStatus, v1::GetStatusRequest());
       }},
  };
}

bool Denied(Code c) { return c == Code::UNAUTHENTICATED || c == Code::PERMISSION_DENIED; }

class AuthTest : public ::testing::Test {
 protected:
  void StartWith(const std::string& auth_section) {
    config_ = dir_.path() + "/config.textproto";
    std::ofstream(config_) << auth_section << testing::kConfigEnd;
    server_ = std::make_unique<ServerProcess>();
    ASSERT_TRUE(server_->Start(dir_.path() + "/data", {"--config=" + config_})) << server_->log();
  }
  std::shared_ptr<grpc::Channel> As(const std::string& token) {
    return ChannelWithToken(server_->target(), token);
  }

  TempDir dir_;
  std::string config_;
  std::unique_ptr<ServerProcess> server_;
};

// require_credentials and one caller per scope: each RPC answers its own
// scope's caller (and the admin token), and denies every other caller
// (PERMISSION_DENIED), no credential and an unknown token (UNAUTHENTICATED)
// before it looks at the request.
TEST_F(AuthTest, EveryRpcNeedsItsScopeAndNothingElseOpensIt) {
  std::string auth = "auth {\n  require_credentials: true\n";
  for (const char* scope : kScopes) {
    absl::StrAppend(&auth, "  callers { name: '", scope, "' token_sha256: '",
                    HashWithCli(dir_, TokenFor(scope)), "' scopes: ", scope, " }\n");
  }
  auth += "}";
  StartWith(auth);
  for (const RpcCase& rpc : AllRpcs()) {
    SCOPED_TRACE(rpc.name);
    EXPECT_EQ(rpc.call(As("")), Code::UNAUTHENTICATED);
    EXPECT_EQ(rpc.call(As("an-unknown-token-0000")), Code::UNAUTHENTICATED);
    EXPECT_FALSE(Denied(rpc.call(As(testing::kTestAdminToken))))
        << "the admin token holds every scope";
    for (const char* scope : kScopes) {
      const Code code = rpc.call(As(TokenFor(scope)));
      if (std::string(scope) == rpc.scope) {
        EXPECT_FALSE(Denied(code)) << scope << " got " << code;
      } else {
        EXPECT_EQ(code, Code::PERMISSION_DENIED) << scope;
      }
    }
  }
}

// No auth section: the webshop's path (decide, track) is open, personal
// data (profiles, the batch, export) and admin need a credential — what
// was open to anyone before (20,555 profiles read without a credential).
TEST_F(AuthTest, ByDefaultPersonalDataNeedsACredential) {
  StartWith("");
  for (const RpcCase& rpc : AllRpcs()) {
    SCOPED_TRACE(rpc.name);
    const Code anonymous = rpc.call(As(""));
    if (std::string(rpc.scope) == "DECIDE" || std::string(rpc.scope) == "TRACK") {
      EXPECT_FALSE(Denied(anonymous)) << anonymous;
    } else {
      EXPECT_EQ(anonymous, Code::UNAUTHENTICATED);
    }
    EXPECT_FALSE(Denied(rpc.call(As(testing::kTestAdminToken))));
  }
  // Without credentials the CLI's profile command is refused (exit 16);
  // with the admin token it is allowed (5: the customer is unknown).
  unsetenv("NEXTBEST_ADMIN_TOKEN");
  std::string out;
  EXPECT_EQ(RunCli(server_->target(), "profile --customer=nobody", &out), 16) << out;
  EXPECT_NE(out.find("read_profile"), std::string::npos) << out;
  EXPECT_EQ(RunCli(server_->target(),
                   "profile --customer=nobody --admin_token_file=" + dir_.path() +
                       "/data/test_admin_token",
                   &out),
            5)
      << out;
}

// A reload replaces the callers: a removed caller's token stops working
// at once, a new one starts; a bad auth section is refused and the old
// callers keep working.
TEST_F(AuthTest, ReloadRotatesTokens) {
  const std::string old_hash = HashWithCli(dir_, TokenFor("old"));
  const std::string new_hash = HashWithCli(dir_, TokenFor("new"));
  StartWith("auth { callers { name: 'callcenter' token_sha256: '" + old_hash +
            "' scopes: READ_PROFILE } }");
  const auto profile = AllRpcs()[8];
  ASSERT_STREQ(profile.name, "GetProfile");
  EXPECT_EQ(profile.call(As(TokenFor("old"))), Code::NOT_FOUND);
  EXPECT_EQ(profile.call(As(TokenFor("new"))), Code::UNAUTHENTICATED);

  std::ofstream(config_) << "auth { callers { name: 'callcenter' token_sha256: '" << old_hash
                         << "' scopes: READ_PROFILE } callers { name: 'x' token_sha256: '"
                         << old_hash << "' scopes: DECIDE } }" << testing::kConfigEnd;
  std::string out;
  EXPECT_EQ(RunCli(server_->target(), "reload-config", &out), 3) << out;
  EXPECT_NE(out.find("token of caller"), std::string::npos) << out;
  EXPECT_EQ(profile.call(As(TokenFor("old"))), Code::NOT_FOUND);

  std::ofstream(config_) << "auth { callers { name: 'callcenter' token_sha256: '" << new_hash
                         << "' scopes: READ_PROFILE } }" << testing::kConfigEnd;
  ASSERT_EQ(RunCli(server_->target(), "reload-config", &out), 0) << out;
  EXPECT_EQ(profile.call(As(TokenFor("old"))), Code::UNAUTHENTICATED);
  EXPECT_EQ(profile.call(As(TokenFor("new"))), Code::NOT_FOUND);
}

TEST_F(AuthTest, BadAuthSectionsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {"auth { anonymous_scopes: ADMIN }", "auth.anonymous_scopes[0]"},
      {"auth { anonymous_scopes: DECIDE require_credentials: true }", "auth.anonymous_scopes"},
      {"auth { callers { name: 'a' token_sha256: 'abc' scopes: DECIDE } }",
       "auth.callers[0].token_sha256"},
      {"auth { callers { name: 'a' scopes: DECIDE } }",
       "auth.callers[0]: needs token_sha256 or tls_identity"},
      {"auth { callers { name: 'a' tls_identity: 'x' } }", "auth.callers[0].scopes"},
      {"auth { callers { name: 'admin' tls_identity: 'x' scopes: DECIDE } }",
       "auth.callers[0].name"},
      {"auth { callers { name: 'a' tls_identity: 'x' scopes: DECIDE } callers { name: 'a' "
       "tls_identity: 'y' scopes: DECIDE } }",
       "auth.callers[1].name"},
  };
  for (const auto& [text, field] : cases) {
    const std::string config = dir_.path() + "/bad.textproto";
    std::ofstream(config) << text << testing::kConfigEnd;
    ServerProcess server;
    EXPECT_FALSE(server.Start(dir_.path() + "/bad-data", {"--config=" + config})) << text;
    EXPECT_EQ(server.Wait(), 1);
    EXPECT_NE(server.log().find(field), std::string::npos) << text << "\n" << server.log();
  }
}

// Mutual TLS: the client certificate's common name is the caller.
TEST_F(AuthTest, MutualTlsIdentitiesAreCallers) {
  const std::string d = dir_.path();
  const std::string script =
      absl::StrCat("cd ", d, " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost' > san.ext && ",
                   "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
                   "-subj /CN=test-ca && ",
                   "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "
                   "/CN=localhost && ",
                   "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out "
                   "server.pem -days 2 -extfile san.ext && ",
                   "for who in callcenter stranger; do ",
                   "openssl req -newkey rsa:2048 -nodes -keyout $who.key -out $who.csr -subj "
                   "/CN=$who.example && ",
                   "openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out "
                   "$who.pem -days 2 || exit 1; done",
                   " >/dev/null 2>&1");
  ASSERT_EQ(std::system(script.c_str()), 0) << "openssl failed";
  config_ = d + "/config.textproto";
  std::ofstream(config_) << "auth { require_credentials: true "
                            "callers { name: 'callcenter' tls_identity: 'callcenter.example' "
                            "scopes: [DECIDE, READ_PROFILE] } }"
                         << testing::kConfigEnd;
  ServerProcess server;
  ASSERT_TRUE(server.Start(
      d + "/data",
      {"--config=" + config_, "--tls_cert_file=" + d + "/server.pem",
       "--tls_key_file=" + d + "/server.key", "--tls_client_ca_file=" + d + "/ca.pem"}))
      << server.log();
  unsetenv("NEXTBEST_ADMIN_TOKEN");
  auto cli = [&](const std::string& who, const std::string& args) {
    std::string out;
    const int code = RunCli(server.target(),
                            absl::StrCat(args, " --tls_ca_file=", d, "/ca.pem --tls_cert_file=", d,
                                         "/", who, ".pem --tls_key_file=", d, "/", who, ".key"),
                            &out);
    return std::make_pair(code, out);
  };
  EXPECT_EQ(cli("callcenter", "profile --customer=nobody").first, 5);  // allowed: unknown customer
  EXPECT_EQ(cli("callcenter", "ping").first, 0);
  auto denied = cli("callcenter", "newsletter --max_customers=1");
  EXPECT_EQ(denied.first, 7) << denied.second;  // PERMISSION_DENIED: no batch scope
  EXPECT_NE(denied.second.find("lacks the scope batch"), std::string::npos) << denied.second;
  EXPECT_EQ(cli("stranger", "profile --customer=nobody").first, 16);  // a valid cert, not a caller
  EXPECT_EQ(cli("stranger", "ping").first, 16);
}

TEST(AuthCliTest, HashTokenMakesANewTokenAndItsHash) {
  std::string out;
  ASSERT_EQ(RunCli("unused:1", "hash-token --new_token", &out), 0) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      out, m, std::regex("token: ([0-9a-f]{48})\ntoken_sha256: \"([0-9a-f]{64})\"")))
      << out;
  TempDir dir;
  EXPECT_EQ(HashWithCli(dir, m[1].str()), m[2].str());
  // sha256("0123456789abcdef0123") by coreutils' sha256sum.
  EXPECT_EQ(HashWithCli(dir, "0123456789abcdef0123"),
            "1bd8fd47297046f993e608e398d5905b00a33e163c6b1172dd38887fed05ed6a");
}

}  // namespace
}  // namespace nextbest
