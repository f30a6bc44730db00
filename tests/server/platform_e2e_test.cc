// End to end, the process: health, reflection and metrics, the CLI's contract,
// demo data, kill -9 and SIGTERM, bad config, TLS, stream limits, one server
// per data directory.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "nextbest/v1/catalog.grpc.pb.h"
#include "nextbest/v1/customers.grpc.pb.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "tests/server/e2e_shop.h"

namespace nextbest {
namespace {

using testing::E2eTest;
using testing::HttpGet;
using testing::kDaySec;
using testing::NowSec;
using testing::RunCli;
using testing::ServerProcess;
using testing::TempDir;

TEST_F(E2eTest, HealthReflectionAndMetrics) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckRequest hreq;
  grpc::health::v1::HealthCheckResponse hresp;
  ASSERT_TRUE(Call(&grpc::health::v1::Health::Stub::Check, health.get(), hreq, &hresp).ok());
  EXPECT_EQ(hresp.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(channel_);
  grpc::ClientContext ctx;
  auto stream = reflection->ServerReflectionInfo(&ctx);
  grpc::reflection::v1alpha::ServerReflectionRequest rreq;
  rreq.set_list_services("");
  ASSERT_TRUE(stream->Write(rreq));
  grpc::reflection::v1alpha::ServerReflectionResponse rresp;
  ASSERT_TRUE(stream->Read(&rresp));
  std::set<std::string> services;
  for (const auto& s : rresp.list_services_response().service()) services.insert(s.name());
  for (const char* want :
       {"nextbest.v1.EventService", "nextbest.v1.CustomerService", "nextbest.v1.CatalogService",
        "nextbest.v1.DecisionService", "grpc.health.v1.Health"}) {
    EXPECT_EQ(services.count(want), 1u) << want;
  }
  stream->WritesDone();
  stream->Finish();

  v1::RecommendResponse r;
  ASSERT_TRUE(Recommend("c1", "homepage.populair", &r).ok());
  v1::RecommendResponse bad;
  Recommend("c1", "nope", &bad);
  std::string metrics;
  for (int i = 0; i < 50 && metrics.find("nextbest_customers_in_memory") == std::string::npos;
       ++i) {
    metrics = HttpGet(server_->metrics_port(), "/metrics");
  }
  EXPECT_NE(metrics.find("nextbest_requests_total{code=\"OK\",rpc=\"Recommend\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("nextbest_requests_total{code=\"NOT_FOUND\",rpc=\"Recommend\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.find("nextbest_decision_duration_seconds_bucket{placement=\"homepage."
                         "populair\",le=\"1e-05\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("nextbest_request_duration_seconds_count{rpc=\"Recommend\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("nextbest_ingest_queue_depth"), std::string::npos);
  EXPECT_EQ(metrics.find("c1"), std::string::npos) << "no customer ids in metrics";

  // The exposition is valid for Prometheus' own checker.
  if (system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed (scripts/setup --test installs it)";
  }
  const size_t body = metrics.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  const std::string file = dir_.path() + "/metrics.txt";
  std::ofstream(file) << metrics.substr(body + 4);
  EXPECT_EQ(system(("promtool check metrics < " + file).c_str()), 0);
}

TEST_F(E2eTest, CliSpeaksTheContractAndExitsWithTheGrpcCode) {
  LoadCatalog();
  std::string out;
  const std::string t = server_->target();
  ASSERT_EQ(RunCli(t, "health", &out), 0) << out;
  EXPECT_NE(out.find("SERVING"), std::string::npos);

  // A retry carries the same content (time included): a duplicate.
  const std::string view = "track --customer=c1 --type=view --product=p2 --event_id=cli1 --time=" +
                           absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
  ASSERT_EQ(RunCli(t, view, &out), 0) << out;
  ASSERT_EQ(RunCli(t, view, &out), 0) << out;
  EXPECT_NE(out.find("duplicate"), std::string::npos) << out;
  // The same id with other content is refused.
  EXPECT_EQ(RunCli(t, "track --customer=c1 --type=view --product=p3 --event_id=cli1", &out), 6)
      << out;
  ASSERT_EQ(RunCli(t,
                   "track --customer=c1 --type=purchase --product=p1 --quantity=2 "
                   "--price_cents=199 --size=M",
                   &out),
            0)
      << out;
  EXPECT_EQ(RunCli(t, "track --customer=c1 --type=purchase --product=p1 --price_cents=-5", &out), 3)
      << out;

  const std::string jsonl = dir_.path() + "/events.jsonl";
  std::ofstream(jsonl)
      << R"({"event_id":"j1","customer_id":"c1","type":"EVENT_TYPE_VIEW","time":"2026-01-02T10:00:00Z","channel":"CHANNEL_APP","product_id":"p3"})"
      << "\n\n"
      << R"({"eventId":"j2","customerId":"c1","type":"EVENT_TYPE_VIEW","time":"2026-01-02T11:00:00Z","channel":"CHANNEL_WEB","productId":"p5"})"
      << "\n";
  ASSERT_EQ(RunCli(t, "track --file=" + jsonl, &out), 0) << out;
  EXPECT_NE(out.find("2 events recorded"), std::string::npos) << out;

  ASSERT_EQ(
      RunCli(t, "recommend --customer=c1 --placement=homepage.door_jou_bekeken --count=2 --json",
             &out),
      0)
      << out;
  v1::RecommendResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &parsed).ok()) << out;
  ASSERT_EQ(parsed.items_size(), 2);
  EXPECT_EQ(parsed.items(0).product_id(), "p2");  // the CLI's view is the latest

  ASSERT_EQ(
      RunCli(t, "recommend --customer=c1 --placement=homepage.door_jou_bekeken --cart=p2", &out),
      0);
  EXPECT_NE(out.find("Product 5"), std::string::npos) << out;
  EXPECT_EQ(out.find("Product 2 "), std::string::npos) << out;
  EXPECT_NE(out.find("€"), std::string::npos);

  EXPECT_EQ(RunCli(t, "recommend --customer=c1 --placement=nope", &out), 5) << out;
  EXPECT_EQ(RunCli(t, "recommend --customer=c1 --placement=homepage.populair --count=500", &out), 3)
      << out;
  EXPECT_EQ(RunCli(t, "profile --customer=nobody", &out), 5) << out;
  ASSERT_EQ(RunCli(t, "profile --customer=c1", &out), 0) << out;
  EXPECT_NE(out.find("1 orders"), std::string::npos) << out;
  EXPECT_NE(out.find("sizes bought: Baby/Luiers M (2)"), std::string::npos) << out;
  ASSERT_EQ(RunCli(t, "profile --customer=c1 --json", &out), 0) << out;
  v1::GetProfileResponse profile;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &profile).ok()) << out;
  EXPECT_EQ(profile.features().events(), 4);
  EXPECT_EQ(RunCli("127.0.0.1:1", "health --timeout_ms=500", &out), 14) << out;
}

TEST_F(E2eTest, DemoDataLoadsThroughTheRealApi) {
  std::string out;
  ASSERT_EQ(RunCli(server_->target(),
                   "demo-data --customers=50 --products=60 --stores=20 --days=60", &out),
            0)
      << out;
  EXPECT_NE(out.find("50 customers"), std::string::npos) << out;
  ASSERT_EQ(RunCli(server_->target(),
                   "recommend --customer=c1 --placement=homepage.door_jou_bekeken --json", &out),
            0);
  v1::RecommendResponse r;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &r).ok()) << out;
  EXPECT_GT(r.items_size(), 0);
  EXPECT_TRUE(r.personalized());
  // Deterministic: loading again records nothing new.
  ASSERT_EQ(RunCli(server_->target(),
                   "demo-data --customers=50 --products=60 --stores=20 --days=60", &out),
            0)
      << out;
  EXPECT_NE(out.find(" 0 events recorded"), std::string::npos) << out;
}

// kill -9 while a client keeps writing: everything acknowledged before the
// kill is there after the restart, exactly once (the client's retries of
// unacknowledged batches are duplicates or new, never double counted).
TEST_F(E2eTest, Kill9LosesNoAcknowledgedEvent) {
  LoadCatalog();
  const int64_t now = NowSec();
  std::atomic<bool> stop{false};
  std::atomic<int64_t> acknowledged{0};
  std::thread writer = StartWriter(
      "k", [&](const std::string& id) { return Purchase(id, "killed", "p2", now - 1000); }, stop,
      acknowledged);
  while (acknowledged < 400) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(server_->Stop(SIGKILL), -SIGKILL);
  stop = true;
  writer.join();
  const int64_t acked = acknowledged;
  StartServer();
  v1::GetProfileResponse profile;
  ASSERT_TRUE(Profile("killed", &profile).ok());
  // Acknowledged ones are all there; at most the one batch in flight more.
  EXPECT_GE(profile.features().orders(), acked);
  EXPECT_LE(profile.features().orders(), acked + 20);
  EXPECT_EQ(profile.features().orders() % 20, 0) << "a batch is all or nothing";
  // Re-sending everything acknowledged changes nothing.
  v1::RecordEventsRequest again;
  for (int i = 0; i < 20; ++i)
    *again.add_events() = Purchase(absl::StrCat("k0-", i), "killed", "p2", now - 1000);
  v1::RecordEventsResponse resp;
  ASSERT_TRUE(Call(&v1::EventService::Stub::RecordEvents, events_.get(), again, &resp).ok());
  EXPECT_EQ(resp.duplicates(), 20);
}

TEST_F(E2eTest, SigtermDrainsAndExitsCleanly) {
  LoadCatalog();
  ASSERT_TRUE(Record({View("z1", "c1", "p1", NowSec())}).ok());
  EXPECT_EQ(server_->Stop(SIGTERM), 0);
  EXPECT_NE(server_->log().find("stopped cleanly"), std::string::npos) << server_->log();
}

// SIGTERM under load: four clients write batches as fast as they can; the
// server drains and exits 0, every acknowledged event is there after the
// restart, and the clean close left no WAL to replay (the memtables were
// flushed: the next start has no backlog).
TEST_F(E2eTest, SigtermUnderLoadDrainsWithoutReplayBacklog) {
  LoadCatalog();
  const int64_t now = NowSec();
  std::atomic<bool> stop{false};
  std::atomic<int64_t> acked{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.push_back(StartWriter(
        absl::StrCat("t", w, "-"),
        [&](const std::string& id) { return View(id, "loaded", "p2", now - 10); }, stop, acked));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(server_->Stop(SIGTERM), 0) << server_->log();
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_NE(server_->log().find("stopped cleanly"), std::string::npos) << server_->log();
  EXPECT_GT(acked.load(), 0);
  int64_t wal_bytes = 0;
  for (const auto& f : std::filesystem::directory_iterator(data_dir())) {
    if (f.path().extension() == ".log") wal_bytes += static_cast<int64_t>(f.file_size());
  }
  EXPECT_EQ(wal_bytes, 0) << "WAL left to replay";

  StartServer();
  v1::GetProfileResponse profile;
  ASSERT_TRUE(Profile("loaded", &profile).ok());
  // Every acknowledged event; at most each writer's last batch more (applied
  // while its answer was lost with the connection), and only whole batches.
  const int64_t events = profile.features().events();
  EXPECT_GE(events, acked.load());
  EXPECT_LE(events, acked.load() + 4 * 20);
  EXPECT_EQ(events % 20, 0);
}

TEST(E2eStartupTest, BadConfigExitsNonZeroBeforeServing) {
  TempDir dir;
  const std::string config = dir.path() + "/bad.textproto";
  std::ofstream(config) << "placements { id: 'x' sources { kind: TRENDING } max_count: 2000 }"
                        << testing::kConfigEnd;
  ServerProcess server;
  EXPECT_FALSE(server.Start(dir.path() + "/data", {"--config=" + config}));
  EXPECT_EQ(server.Wait(), 1);
  EXPECT_NE(server.log().find("placements[0]"), std::string::npos) << server.log();
}

// TLS and mutual TLS with certificates made by the openssl CLI: a CA, a
// server certificate for 127.0.0.1 and a client certificate.
TEST(E2eStartupTest, TlsAndMutualTls) {
  TempDir dir;
  const std::string d = dir.path();
  const std::string script =
      absl::StrCat("cd ", d, " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost' > san.ext && ",
                   "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
                   "-subj /CN=test-ca && ",
                   "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "
                   "/CN=localhost && ",
                   "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out "
                   "server.pem -days 2 -extfile san.ext && ",
                   "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "
                   "/CN=webshop && ",
                   "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out "
                   "client.pem -days 2",
                   " >/dev/null 2>&1");
  ASSERT_EQ(std::system(script.c_str()), 0) << "openssl failed";
  std::string out;
  {
    ServerProcess server;
    ASSERT_TRUE(server.Start(d + "/data", {"--tls_cert_file=" + d + "/server.pem",
                                           "--tls_key_file=" + d + "/server.key"}))
        << server.log();
    EXPECT_NE(server.log().find("(TLS)"), std::string::npos);
    EXPECT_EQ(RunCli(server.target(), "health --tls_ca_file=" + d + "/ca.pem", &out), 0) << out;
    EXPECT_EQ(RunCli(server.target(), "health --timeout_ms=2000", &out), 14)
        << out;  // plaintext refused
  }
  {
    ServerProcess server;
    ASSERT_TRUE(server.Start(
        d + "/data", {"--tls_cert_file=" + d + "/server.pem", "--tls_key_file=" + d + "/server.key",
                      "--tls_client_ca_file=" + d + "/ca.pem"}))
        << server.log();
    EXPECT_NE(server.log().find("(mutual TLS)"), std::string::npos);
    EXPECT_EQ(
        RunCli(server.target(), "health --timeout_ms=2000 --tls_ca_file=" + d + "/ca.pem", &out),
        14)
        << out;
    EXPECT_EQ(RunCli(server.target(),
                     absl::StrCat("health --tls_ca_file=", d, "/ca.pem --tls_cert_file=", d,
                                  "/client.pem --tls_key_file=", d, "/client.key"),
                     &out),
              0)
        << out;
  }
  ServerProcess bad;
  EXPECT_FALSE(bad.Start(d + "/data", {"--tls_cert_file=" + d + "/server.pem"}));
  EXPECT_EQ(bad.Wait(), 1);
  EXPECT_NE(bad.log().find("--tls_cert_file and --tls_key_file go together"), std::string::npos)
      << bad.log();
}

// Streams over --max_concurrent_streams are RESOURCE_EXHAUSTED at once;
// the open ones finish normally, health stays responsive, and a slot freed
// is a slot to use.
TEST(E2eStartupTest, StreamsOverTheLimitAreRefusedAndHealthStaysUp) {
  TempDir dir;
  ServerProcess server;
  ASSERT_TRUE(server.Start(dir.path() + "/data", {"--max_concurrent_streams=3"})) << server.log();
  auto stub = v1::EventService::NewStub(server.Channel());
  auto event = [](int n) {
    v1::StreamEventsRequest chunk;
    auto* e = chunk.add_events();
    e->set_event_id(absl::StrCat("flood-", n));
    e->set_customer_id("flood");
    e->set_type(v1::EVENT_TYPE_VIEW);
    e->set_channel(v1::CHANNEL_WEB);
    e->set_product_id("p1");
    e->mutable_time()->set_seconds(NowSec() - 60);
    return chunk;
  };
  struct Open {
    grpc::ClientContext ctx;
    v1::StreamEventsResponse resp;
    std::unique_ptr<grpc::ClientWriter<v1::StreamEventsRequest>> writer;
  };
  std::vector<std::unique_ptr<Open>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<Open>());
    open.back()->writer = stub->StreamEvents(&open.back()->ctx, &open.back()->resp);
    ASSERT_TRUE(open.back()->writer->Write(event(i)));
    // Admitted by the server (not just buffered by the client) before the next.
    open.back()->writer->WaitForInitialMetadata();
  }
  for (int i = 0; i < 5; ++i) {  // over the limit while the three are open
    Open extra;
    extra.writer = stub->StreamEvents(&extra.ctx, &extra.resp);
    extra.writer->Write(event(100 + i));
    extra.writer->WritesDone();
    EXPECT_EQ(extra.writer->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  auto health = grpc::health::v1::Health::NewStub(server.Channel());
  grpc::health::v1::HealthCheckRequest hreq;
  grpc::health::v1::HealthCheckResponse hresp;
  grpc::ClientContext hctx;
  hctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  ASSERT_TRUE(health->Check(&hctx, hreq, &hresp).ok());
  EXPECT_EQ(hresp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  int64_t accepted = 0;
  for (auto& o : open) {
    o->writer->WritesDone();
    ASSERT_TRUE(o->writer->Finish().ok());
    accepted += o->resp.accepted();
  }
  EXPECT_EQ(accepted, 3);
  // The slots are free again.
  Open again;
  again.writer = stub->StreamEvents(&again.ctx, &again.resp);
  ASSERT_TRUE(again.writer->Write(event(200)));
  again.writer->WritesDone();
  EXPECT_TRUE(again.writer->Finish().ok());
  EXPECT_EQ(again.resp.accepted(), 1);
}

// 10,000 concurrent StreamEvents calls against the default limit (1,000),
// over 10 connections: 1,000 are admitted and stay open, the other 9,000
// are answered RESOURCE_EXHAUSTED at once; the server holds no thread per
// stream (its thread count barely moves), health answers meanwhile, and
// once the clients cancel, the slots are free again.
TEST(E2eStartupTest, TenThousandConcurrentStreams) {
  constexpr int kStreams = 10000, kLimit = 1000, kChannels = 10;
  TempDir dir;
  ServerProcess server;
  ASSERT_TRUE(server.Start(dir.path() + "/data")) << server.log();
  auto threads_of = [&] {
    std::ifstream in("/proc/" + std::to_string(server.pid()) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
    }
    return -1;
  };
  const int threads_before = threads_of();

  struct Tally {
    std::mutex mu;
    std::condition_variable cv;
    int metadata = 0;  // answered: initial metadata (admitted) or trailers only (refused)
    int done = 0;
    std::map<grpc::StatusCode, int> codes;
  } tally;
  class Stream final : public grpc::ClientWriteReactor<v1::StreamEventsRequest> {
   public:
    Stream(v1::EventService::Stub* stub, Tally* tally) : tally_(tally) {
      stub->async()->StreamEvents(&ctx_, &resp_, this);
      StartCall();
    }
    void OnReadInitialMetadataDone(bool ok) override {
      std::lock_guard<std::mutex> l(tally_->mu);
      ++tally_->metadata;
      tally_->cv.notify_all();
    }
    void OnDone(const grpc::Status& s) override {
      std::lock_guard<std::mutex> l(tally_->mu);
      ++tally_->done;
      ++tally_->codes[s.error_code()];
      tally_->cv.notify_all();
    }
    void Cancel() { ctx_.TryCancel(); }

   private:
    grpc::ClientContext ctx_;
    v1::StreamEventsResponse resp_;
    Tally* tally_;
  };

  std::vector<std::unique_ptr<v1::EventService::Stub>> stubs;
  for (int c = 0; c < kChannels; ++c) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection each
    args.SetInt("grpc.channel_id", c);
    stubs.push_back(v1::EventService::NewStub(
        grpc::CreateCustomChannel(server.target(), grpc::InsecureChannelCredentials(), args)));
  }
  std::vector<std::unique_ptr<Stream>> streams;
  // Whatever happens below, every stream ends before its reactor goes.
  struct CancelAll {
    std::vector<std::unique_ptr<Stream>>& streams;
    Tally& tally;
    ~CancelAll() {
      for (auto& s : streams) s->Cancel();
      std::unique_lock<std::mutex> l(tally.mu);
      tally.cv.wait_for(l, std::chrono::seconds(60),
                        [&] { return tally.done == static_cast<int>(streams.size()); });
    }
  } cancel_all{streams, tally};
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::make_unique<Stream>(stubs[i % kChannels].get(), &tally));
  }
  {
    std::unique_lock<std::mutex> l(tally.mu);
    ASSERT_TRUE(tally.cv.wait_for(
        l, std::chrono::seconds(120),
        [&] { return tally.metadata == kStreams && tally.done >= kStreams - kLimit; }))
        << "answered " << tally.metadata << ", done " << tally.done;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // no late refusals
  {
    std::lock_guard<std::mutex> l(tally.mu);
    EXPECT_EQ(tally.done, kStreams - kLimit);  // the rest are open
    EXPECT_EQ(tally.codes[grpc::StatusCode::RESOURCE_EXHAUSTED], kStreams - kLimit);
  }
  const int threads_during = threads_of();
  EXPECT_LT(threads_during, threads_before + 20) << "before " << threads_before;
  std::printf("server threads: %d before, %d with %d streams open and %d refused\n", threads_before,
              threads_during, kLimit, kStreams - kLimit);

  auto health = grpc::health::v1::Health::NewStub(server.Channel());
  grpc::ClientContext hctx;
  hctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::health::v1::HealthCheckResponse hresp;
  ASSERT_TRUE(health->Check(&hctx, grpc::health::v1::HealthCheckRequest(), &hresp).ok());
  EXPECT_EQ(hresp.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  for (auto& s : streams) s->Cancel();
  {
    std::unique_lock<std::mutex> l(tally.mu);
    ASSERT_TRUE(
        tally.cv.wait_for(l, std::chrono::seconds(60), [&] { return tally.done == kStreams; }));
    EXPECT_EQ(tally.codes[grpc::StatusCode::CANCELLED], kLimit);
  }
  // Slots are free again: a new stream is admitted and writes.
  auto stub = v1::EventService::NewStub(server.Channel());
  grpc::ClientContext ctx;
  v1::StreamEventsResponse resp;
  auto writer = stub->StreamEvents(&ctx, &resp);
  v1::StreamEventsRequest chunk;
  auto* e = chunk.add_events();
  e->set_event_id("after");
  e->set_customer_id("c");
  e->set_type(v1::EVENT_TYPE_VIEW);
  e->set_channel(v1::CHANNEL_WEB);
  e->set_product_id("p1");
  e->mutable_time()->set_seconds(NowSec() - 10);
  ASSERT_TRUE(writer->Write(chunk));
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.accepted(), 1);
}

TEST(E2eStartupTest, SecondServerOnTheSameDataDirIsRefused) {
  TempDir dir;
  ServerProcess first;
  ASSERT_TRUE(first.Start(dir.path()));
  ServerProcess second;
  EXPECT_FALSE(second.Start(dir.path()));
  EXPECT_EQ(second.Wait(), 1);
  EXPECT_NE(second.log().find("lock"), std::string::npos) << second.log();
}

}  // namespace
}  // namespace nextbest
