// The HTTP/JSON API end to end: the real server binary, curl as the client
// (HTTP/1.1 and HTTP/2 by prior knowledge), answers compared with the same
// requests over gRPC.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/server/e2e_shop.h"

namespace nextbest {
namespace {

using testing::kTestAdminToken;

constexpr char kShopToken[] = "shop-frontend-token-123";
constexpr char kOrigin[] = "https://www.shop.example";

std::string Quote(const std::string& s) {
  return "'" + absl::StrReplaceAll(s, {{"'", "'\\''"}}) + "'";
}

std::string Shell(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

struct HttpAnswer {
  int status = 0;
  std::string version;  // "1.1" or "2"
  std::string headers;  // lower-cased names as sent
  std::string body;
};

class HttpTest : public testing::E2eTest {
 protected:
  void SetUp() override {
    const std::string config = dir_.path() + "/config.textproto";
    const std::string hash =
        Shell("printf %s " + Quote(kShopToken) + " | sha256sum | cut -c1-64 | tr -d '\\n'");
    std::ofstream(config) << "auth { callers { name: 'shop' token_sha256: '" << hash
                          << "' scopes: DECIDE scopes: TRACK } }" << testing::kConfigEnd;
    StartServer({"--config=" + config, absl::StrCat("--http_cors_origins=", kOrigin),
                 "--http_max_stream_bytes=4096"});
    ASSERT_GT(server_->http_port(), 0) << server_->log();
  }

  // One curl call; `token` empty: no credential.
  HttpAnswer Http(const std::string& method, const std::string& path, const std::string& body = "",
                  const std::string& token = kTestAdminToken, const std::string& extra = "") {
    const std::string body_file = dir_.path() + "/body.json";
    const std::string out_file = dir_.path() + "/out.json";
    const std::string head_file = dir_.path() + "/head.txt";
    std::ofstream(body_file) << body;
    std::string cmd = absl::StrCat("curl -s -X ", method, " -o ", out_file, " -D ", head_file,
                                   " -w '%{http_code} %{http_version}' ", extra);
    if (!token.empty()) absl::StrAppend(&cmd, " -H ", Quote("authorization: Bearer " + token));
    if (!body.empty()) {
      absl::StrAppend(&cmd, " -H 'content-type: application/json' --data-binary @", body_file);
    }
    absl::StrAppend(&cmd, " ",
                    Quote(absl::StrCat("http://127.0.0.1:", server_->http_port(), path)));
    HttpAnswer a;
    std::vector<std::string> status = absl::StrSplit(Shell(cmd), ' ');
    if (status.size() == 2) {
      a.status = std::stoi(status[0]);
      a.version = status[1];
    }
    std::ifstream out(out_file), head(head_file);
    a.body.assign(std::istreambuf_iterator<char>(out), {});
    a.headers.assign(std::istreambuf_iterator<char>(head), {});
    return a;
  }

  template <typename M>
  M Parse(const std::string& json) {
    M m;
    auto s = google::protobuf::util::JsonStringToMessage(json, &m);
    EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << json;
    return m;
  }

  // A few customers with history, so personal answers differ from popular.
  void LoadHistory() {
    LoadCatalog();
    const int64_t now = testing::NowSec();
    ASSERT_TRUE(Record({Purchase("o1", "c1", "p1", now - 20 * testing::kDaySec),
                        Purchase("o2", "c1", "p1", now - 10 * testing::kDaySec),
                        Purchase("o3", "c2", "p2", now - 5 * testing::kDaySec),
                        View("v1", "c1", "p3", now - 3600), View("v2", "c1", "p5", now - 1800)})
                    .ok());
    v1::RebuildModelsResponse built;
    ASSERT_TRUE(Call(&v1::AdminService::Stub::RebuildModels, admin_.get(),
                     v1::RebuildModelsRequest(), &built)
                    .ok());
  }
};

// What a decision is, without the fields that differ per call.
v1::RecommendResponse Stable(v1::RecommendResponse r) {
  r.clear_decision_id();
  r.clear_decided_at();
  return r;
}

TEST_F(HttpTest, RecommendOverHttp1AndHttp2EqualsGrpc) {
  LoadHistory();
  // Scores decay with time: every call decides at the same instant. The
  // trending lists are republished every 200 ms.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const int64_t at = testing::NowSec();
  const std::string at_text =
      absl::FormatTime(absl::RFC3339_sec, absl::FromUnixSeconds(at), absl::UTCTimeZone());
  for (const char* placement : {"homepage.speciaal_voor_jou", "homepage.door_jou_bekeken",
                                "homepage.populair", "checkout.vergeten"}) {
    SCOPED_TRACE(placement);
    const std::string body = absl::StrCat(R"({"context": {"placement": ")", placement,
                                          R"(", "country": "NL", "time": ")", at_text, R"("}})");
    v1::RecommendResponse with_country;
    ASSERT_TRUE(ServerTest::Recommend("c1", placement, &with_country, [&](v1::RecommendRequest& r) {
                  r.mutable_context()->set_country("NL");
                  r.mutable_context()->mutable_time()->set_seconds(at);
                }).ok());
    EXPECT_GT(with_country.items_size(), 0);
    for (const char* version : {"--http1.1", "--http2-prior-knowledge"}) {
      HttpAnswer a = Http("POST", "/v1/customers/c1:recommend", body, kShopToken, version);
      ASSERT_EQ(a.status, 200) << a.body;
      EXPECT_EQ(a.version, std::string(version) == "--http1.1" ? "1.1" : "2");
      EXPECT_TRUE(absl::StrContains(a.headers, "content-type: application/json")) << a.headers;
      auto http_answer = Parse<v1::RecommendResponse>(a.body);
      EXPECT_EQ(http_answer.decision_id().size(), 32u);
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(Stable(http_answer),
                                                                     Stable(with_country)))
          << "HTTP:\n"
          << http_answer.DebugString() << "gRPC:\n"
          << with_country.DebugString();
    }
    // GET with query parameters: the same request.
    HttpAnswer g = Http("GET",
                        absl::StrCat("/v1/customers/c1:recommend?context.placement=", placement,
                                     "&context.country=NL&context.time=",
                                     absl::StrReplaceAll(at_text, {{"+", "%2B"}})),
                        "", kShopToken);
    ASSERT_EQ(g.status, 200) << g.body;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
        Stable(Parse<v1::RecommendResponse>(g.body)), Stable(with_country)));
  }
  // Every field of the answer is there for a JavaScript caller, in the
  // standard mapping's lowerCamelCase.
  HttpAnswer a = Http("POST", "/v1/customers/c1:recommend",
                      R"({"context":{"placement":"homepage.populair"},"explain":true})");
  EXPECT_TRUE(absl::StrContains(a.body, "\"fallbackReason\":")) << a.body;
  EXPECT_TRUE(absl::StrContains(a.body, "\"explanation\":")) << a.body;
}

TEST_F(HttpTest, ErrorsAreTheGrpcStatusInJsonWithItsHttpStatus) {
  LoadCatalog();
  // The service's own validation, naming the field.
  HttpAnswer a = Http("POST", "/v1/customers/c1:recommend", R"({"context":{}})");
  EXPECT_EQ(a.status, 400);
  v1::RecommendResponse ignored;
  grpc::Status g = Recommend("c1", "", &ignored);
  EXPECT_EQ(a.body,
            absl::StrCat(R"({"code":3,"message":")", g.error_message(), "\",\"details\":[]}\n"));
  // JSON the mapping refuses: the unknown field is named.
  a = Http("POST", "/v1/customers/c1:recommend", R"({"context":{"placment":"x"}})");
  EXPECT_EQ(a.status, 400);
  EXPECT_TRUE(absl::StrContains(a.body, "placment")) << a.body;
  a = Http("POST", "/v1/customers/c1:recommend", "{not json");
  EXPECT_EQ(a.status, 400);
  EXPECT_TRUE(absl::StrContains(a.body, "\"code\":3")) << a.body;
  // The path and the body disagree.
  a = Http("POST", "/v1/customers/c1:recommend",
           R"({"customerId":"c2","context":{"placement":"homepage.populair"}})");
  EXPECT_EQ(a.status, 400);
  EXPECT_TRUE(absl::StrContains(a.body, "customer_id: the path says 'c1'")) << a.body;
  // Callers and scopes as over gRPC.
  a = Http("GET", "/v1/segments", "", "");
  EXPECT_EQ(a.status, 401) << a.body;
  EXPECT_TRUE(absl::StrContains(a.body, "\"code\":16")) << a.body;
  EXPECT_TRUE(absl::StrContains(a.headers, "www-authenticate: Bearer")) << a.headers;
  a = Http("GET", "/v1/segments", "", "an-unknown-token");
  EXPECT_EQ(a.status, 401);
  a = Http("GET", "/v1/customers/c1/profile", "", kShopToken);
  EXPECT_EQ(a.status, 403) << a.body;
  EXPECT_TRUE(absl::StrContains(a.body, "read_profile")) << a.body;
  a = Http("GET", "/v1/customers/nobody/profile");
  EXPECT_EQ(a.status, 404) << a.body;
  // Routes.
  a = Http("GET", "/v1/nothing-here");
  EXPECT_EQ(a.status, 404);
  EXPECT_TRUE(absl::StrContains(a.body, "no API route for GET /v1/nothing-here")) << a.body;
  a = Http("DELETE", "/v1/segments");
  EXPECT_EQ(a.status, 405);
  EXPECT_TRUE(absl::StrContains(a.headers, "allow: GET")) << a.headers;
  a = Http("GET", "/v1/customers/c1/profile?nosuchfield=1");
  EXPECT_EQ(a.status, 400);
  EXPECT_TRUE(absl::StrContains(a.body, "nosuchfield")) << a.body;
}

TEST_F(HttpTest, WritesGoThroughTheSameServiceAndStreamsAreJsonLines) {
  LoadCatalog();
  const int64_t now = testing::NowSec();
  const std::string t = absl::StrCat(now - 60);
  auto event = [&](const std::string& id, const std::string& product) {
    return absl::StrCat(
        R"({"eventId":")", id, R"(","customerId":"c1","type":"EVENT_TYPE_VIEW",)", R"("time":")",
        absl::FormatTime(absl::RFC3339_sec, absl::FromUnixSeconds(now - 60), absl::UTCTimeZone()),
        R"(","channel":"CHANNEL_WEB","productId":")", product, R"("})");
  };
  HttpAnswer a = Http("POST", "/v1/events:record",
                      absl::StrCat(R"({"events":[)", event("h1", "p1"), "]}"), kShopToken);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(absl::StrContains(a.body, "\"accepted\":1")) << a.body;
  v1::GetProfileResponse profile;
  ASSERT_TRUE(Profile("c1", &profile).ok());
  EXPECT_EQ(profile.features().events(), 1);

  // StreamEvents: one request message per line. A bad line refuses the
  // whole body before anything is written.
  a = Http("POST", "/v1/events:stream",
           absl::StrCat(R"({"events":[)", event("h2", "p2"), "]}\n{\"events\":[{\"bogus\":1}]}\n"),
           kShopToken);
  EXPECT_EQ(a.status, 400);
  EXPECT_TRUE(absl::StrContains(a.body, "body line 2")) << a.body;
  ASSERT_TRUE(Profile("c1", &profile).ok());
  EXPECT_EQ(profile.features().events(), 1);
  a = Http("POST", "/v1/events:stream",
           absl::StrCat(R"({"events":[)", event("h2", "p2"), "]}\n\n{\"events\":[",
                        event("h3", "p3"), "]}\n"),
           kShopToken);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(absl::StrContains(a.body, "\"accepted\":\"2\"")) << a.body;
  ASSERT_TRUE(Profile("c1", &profile).ok());
  EXPECT_EQ(profile.features().events(), 3);

  // A server stream answers JSON lines, each one message.
  a = Http("GET", "/v1/customers/c1:export");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(absl::StrContains(a.headers, "application/x-ndjson")) << a.headers;
  int exported = 0;
  for (absl::string_view line : absl::StrSplit(a.body, '\n', absl::SkipEmpty())) {
    exported += Parse<v1::ExportCustomerResponse>(std::string(line)).events_size();
  }
  EXPECT_EQ(exported, 3);
  // Beyond --http_max_stream_bytes (4096 here): RESOURCE_EXHAUSTED, 429.
  v1::UpsertCustomersRequest many;
  for (int i = 0; i < 200; ++i) {
    auto* c = many.add_customers();
    c->set_customer_id(absl::StrCat("m", i));
    c->set_country("NL");
    c->mutable_consent()->set_marketing_email(true);
    c->mutable_consent()->set_personalization(true);
  }
  v1::UpsertCustomersResponse upserted;
  ASSERT_TRUE(
      Call(&v1::CustomerService::Stub::UpsertCustomers, customers_.get(), many, &upserted).ok());
  a = Http("POST", "/v1/decisions:decideForAll",
           R"({"placement":"newsletter.blocks","channel":"CHANNEL_EMAIL"})");
  EXPECT_EQ(a.status, 429) << a.body.substr(0, 300);
  EXPECT_TRUE(absl::StrContains(a.body, "http_max_stream_bytes")) << a.body.substr(0, 300);

  // The per-RPC metrics count HTTP calls under the RPC's own name.
  const std::string metrics = testing::HttpGet(server_->metrics_port(), "/metrics");
  EXPECT_TRUE(std::regex_search(
      metrics, std::regex(R"(nextbest_requests_total\{code="OK",rpc="RecordEvents"\} 1)")))
      << metrics.substr(0, 2000);
}

TEST_F(HttpTest, CorsAllowsTheConfiguredOriginOnly) {
  const std::string preflight =
      " -H 'origin: https://www.shop.example' -H 'access-control-request-method: POST'";
  HttpAnswer a = Http("OPTIONS", "/v1/customers/c1:recommend", "", "", preflight);
  EXPECT_EQ(a.status, 204);
  EXPECT_TRUE(absl::StrContains(a.headers, "access-control-allow-origin: https://www.shop.example"))
      << a.headers;
  EXPECT_TRUE(absl::StrContains(a.headers, "access-control-allow-headers: authorization"))
      << a.headers;
  EXPECT_TRUE(absl::StrContains(a.headers, "access-control-allow-methods: POST, GET")) << a.headers;
  a = Http("OPTIONS", "/v1/customers/c1:recommend", "", "",
           " -H 'origin: https://evil.example' -H 'access-control-request-method: POST'");
  EXPECT_EQ(a.status, 403);
  EXPECT_FALSE(absl::StrContains(a.headers, "access-control-allow-origin")) << a.headers;
  a = Http("GET", "/v1/ping", "", "", " -H 'origin: https://www.shop.example'");
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(
      absl::StrContains(a.headers, "access-control-allow-origin: https://www.shop.example"));
  a = Http("GET", "/v1/ping", "", "", " -H 'origin: https://evil.example'");
  EXPECT_FALSE(absl::StrContains(a.headers, "access-control-allow-origin")) << a.headers;
}

TEST_F(HttpTest, ServesTheConsoleWithAPolicyThatKeepsItOnThisOrigin) {
  HttpAnswer a = Http("GET", "/", "", "");
  EXPECT_EQ(a.status, 302);
  EXPECT_TRUE(absl::StrContains(a.headers, "location: /console/")) << a.headers;
  a = Http("GET", "/console/", "", "");
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(absl::StrContains(a.headers, "content-security-policy: default-src 'self'"))
      << a.headers;
  EXPECT_TRUE(absl::StrContains(a.body, "console.js")) << a.body.substr(0, 300);
  for (const char* asset : {"/console/console.js", "/console/console.css"}) {
    EXPECT_EQ(Http("GET", asset, "", "").status, 200) << asset;
  }
  // After HTTP/1.1 and HTTP/2 calls, SIGTERM still drains and exits cleanly.
  EXPECT_EQ(Http("GET", "/v1/ping", "", "", "--http2-prior-knowledge").status, 200);
  EXPECT_EQ(server_->Stop(SIGTERM), 0) << server_->log();
  EXPECT_NE(server_->log().find("HTTP server stopped"), std::string::npos) << server_->log();
}

}  // namespace
}  // namespace nextbest
