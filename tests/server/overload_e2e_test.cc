// Overload end to end, with the real server binary: DecideForAll calls
// whose clients do not read must not take threads, memory or latency from
// everyone else.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "tests/server/server_process.h"

namespace nextbest {
namespace {

using testing::RunCli;
using testing::ServerProcess;
using testing::TempDir;

// Under AddressSanitizer freed memory waits in the allocator's quarantine
// (256 MiB by default) before it is reused or returned, so the server's
// RSS grows by up to that much whatever the server does; the bounds below
// allow for it there and are exact in the Release build.
#if defined(__SANITIZE_ADDRESS__)
constexpr int64_t kAllocatorSlackKb = 256 * 1024;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr int64_t kAllocatorSlackKb = 256 * 1024;
#else
constexpr int64_t kAllocatorSlackKb = 0;
#endif
#else
constexpr int64_t kAllocatorSlackKb = 0;
#endif

// A field of /proc/PID/status ("Threads", "VmRSS" in kB).
int64_t ProcStatus(pid_t pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

// Median and 99th percentile of `n` Ping round trips, in microseconds.
std::pair<double, double> PingLatency(v1::DecisionService::Stub& stub, int n) {
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    grpc::ClientContext ctx;
    v1::PingResponse resp;
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(stub.Ping(&ctx, v1::PingRequest(), &resp).ok());
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

v1::DecideForAllRequest Everyone() {
  v1::DecideForAllRequest req;
  req.set_placement("newsletter.blocks");
  req.set_include_without_email_consent(true);
  return req;
}

// 40 newsletter runs opened at once whose clients read one message and
// then nothing: 4 are admitted (--max_concurrent_batches), 36 get
// RESOURCE_EXHAUSTED at once; the admitted ones stop producing while
// unread, so the server keeps its threads and memory and Ping its latency;
// cancelled, they give their slots back and a full run completes.
// (Before: every call started a thread per core and buffered megabytes;
// 200 unread calls took 24 -> 410 threads, 225 MB -> 1.08 GB, Ping 894 ms.)
TEST(OverloadTest, UnreadNewsletterRunsAreBoundedAndCostOthersNothing) {
  TempDir dir;
  ServerProcess server;
  ASSERT_TRUE(server.Start(dir.path() + "/data")) << server.log();
  std::string out;
  ASSERT_EQ(RunCli(server.target(),
                   "demo-data --customers=4000 --products=300 --stores=20 --days=20", &out),
            0)
      << out;
  auto stub = v1::DecisionService::NewStub(server.Channel());
  PingLatency(*stub, 100);  // warm up
  const auto [p50_before, p99_before] = PingLatency(*stub, 400);
  const int64_t threads_before = ProcStatus(server.pid(), "Threads");
  const int64_t rss_before = ProcStatus(server.pid(), "VmRSS");

  // The unread calls' channel grants the server a small flow-control
  // window (no BDP probing), as a client that stops reading does: the
  // server can send a chunk or so, then its writes wait.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
  auto slow_stub = v1::DecisionService::NewStub(
      testing::ChannelWithToken(server.target(), testing::kTestAdminToken, args));
  constexpr int kCalls = 40;
  struct Call {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::DecideForAllResponse>> reader;
    bool admitted = false;
  };
  std::vector<std::unique_ptr<Call>> calls;
  int refused = 0;
  for (int i = 0; i < kCalls; ++i) {
    auto c = std::make_unique<Call>();
    c->reader = slow_stub->DecideForAll(&c->ctx, Everyone());
    v1::DecideForAllResponse first;
    c->admitted = c->reader->Read(&first);
    if (!c->admitted) {
      const grpc::Status s = c->reader->Finish();
      EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
      ++refused;
    } else {
      // A chunk of 500 customers, less those the shipped contact policy holds back.
      EXPECT_LE(first.decisions_size(), 500);
      EXPECT_GT(first.decisions_size(), 400);
    }
    calls.push_back(std::move(c));
  }
  EXPECT_EQ(refused, kCalls - 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let them fill what they may

  const auto [p50_during, p99_during] = PingLatency(*stub, 400);
  const int64_t threads_during = ProcStatus(server.pid(), "Threads");
  const int64_t rss_during = ProcStatus(server.pid(), "VmRSS");
  std::printf(
      "unread runs: threads %lld -> %lld, RSS %lld -> %lld kB, Ping p50 %.0f -> %.0f us, p99 %.0f "
      "-> %.0f us\n",
      static_cast<long long>(threads_before), static_cast<long long>(threads_during),
      static_cast<long long>(rss_before), static_cast<long long>(rss_during), p50_before,
      p50_during, p99_before, p99_during);
  // (gRPC may add an executor thread or two under load.)
  EXPECT_LE(threads_during, threads_before + 4) << "unread runs must not hold threads";
  EXPECT_LE(rss_during - rss_before, 64 * 1024 + kAllocatorSlackKb)
      << "unread runs hold a few chunks each, not the run";
  EXPECT_LE(p50_during, std::max(3 * p50_before, p50_before + 1000))
      << "Ping slowed by unread runs";
  EXPECT_LE(p99_during, std::max(5 * p99_before, 20000.0));
  // Recommend is unaffected too.
  {
    v1::RecommendRequest req;
    req.set_customer_id("c1");
    req.mutable_context()->set_placement("homepage.speciaal_voor_jou");
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    v1::RecommendResponse resp;
    ASSERT_TRUE(stub->Recommend(&ctx, req, &resp).ok());
    EXPECT_GT(resp.items_size(), 0);
  }

  for (auto& c : calls) {
    if (!c->admitted) continue;
    c->ctx.TryCancel();
    EXPECT_EQ(c->reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  calls.clear();
  // The slots are free again (a cancelled call gives its slot back once
  // gRPC is done with it, a moment after the client sees CANCELLED): four
  // full runs at once, each complete; a client retries RESOURCE_EXHAUSTED.
  std::vector<std::thread> runs;
  std::atomic<int> complete{0};
  for (int i = 0; i < 4; ++i) {
    runs.emplace_back([&] {
      for (int attempt = 0; attempt < 50; ++attempt) {
        grpc::ClientContext ctx;
        auto reader = stub->DecideForAll(&ctx, Everyone());
        v1::DecideForAllResponse msg;
        int64_t decided = 0, last = -1;
        while (reader->Read(&msg)) {
          decided += msg.decisions_size();
          if (msg.last()) {  // with those the shipped contact policy holds back
            last = msg.customers_decided();
            decided += msg.skipped_contact_cap() + msg.skipped_quiet_period();
            last += msg.skipped_contact_cap() + msg.skipped_quiet_period();
          }
        }
        const grpc::Status s = reader->Finish();
        if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        }
        if (s.ok() && decided == 4000 && last == 4000) ++complete;
        return;
      }
    });
  }
  for (auto& t : runs) t.join();
  EXPECT_EQ(complete, 4);
  const int64_t rss_after = ProcStatus(server.pid(), "VmRSS");
  EXPECT_LE(rss_after - rss_before, 64 * 1024 + kAllocatorSlackKb)
      << "memory of finished runs is returned";
  EXPECT_LE(ProcStatus(server.pid(), "Threads"), threads_before + 4);
}

// A client that reads slowly still gets every customer, in order of its
// reads, without the server racing ahead of it.
TEST(OverloadTest, ASlowReaderGetsEverything) {
  TempDir dir;
  ServerProcess server;
  ASSERT_TRUE(server.Start(dir.path() + "/data", {"--batch_threads=1"})) << server.log();
  std::string out;
  ASSERT_EQ(RunCli(server.target(),
                   "demo-data --customers=2500 --products=200 --stores=10 --days=10", &out),
            0)
      << out;
  auto stub = v1::DecisionService::NewStub(server.Channel());
  grpc::ClientContext ctx;
  auto reader = stub->DecideForAll(&ctx, Everyone());
  v1::DecideForAllResponse msg;
  int64_t decided = 0;
  int messages = 0;
  std::set<std::string> customers;
  int64_t held_back = 0;  // by the shipped contact policy
  while (reader->Read(&msg)) {
    ++messages;
    decided += msg.decisions_size();
    for (const auto& d : msg.decisions()) customers.insert(d.customer_id());
    if (msg.last()) held_back = msg.skipped_contact_cap() + msg.skipped_quiet_period();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(decided + held_back, 2500);
  EXPECT_EQ(customers.size(), static_cast<size_t>(decided));
  EXPECT_EQ(messages, 6);  // 5 chunks of 500 and the totals
}

// Every request with invalid UTF-8 in a string field made protobuf log an
// error line, unthrottled: a client in a loop could fill the disk. Now at
// most one line a second (saying how many were left out), all counted.
TEST(OverloadTest, InvalidUtf8RequestsAreCountedAndTheirLogLinesRateLimited) {
  google::protobuf::SetLogHandler(nullptr);  // this client's own serializer complains too
  TempDir dir;
  ServerProcess server;
  ASSERT_TRUE(server.Start(dir.path() + "/data")) << server.log();
  auto stub = v1::DecisionService::NewStub(server.Channel());
  constexpr int kRequests = 500;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRequests; ++i) {
    v1::RecommendRequest req;
    req.set_customer_id(std::string("c\xff\xfe", 3));
    req.mutable_context()->set_placement("homepage.populair");
    grpc::ClientContext ctx;
    v1::RecommendResponse resp;
    EXPECT_FALSE(stub->Recommend(&ctx, req, &resp).ok());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the metrics tick
  const std::string log = server.log();
  int lines = 0;
  for (size_t at = log.find("invalid UTF-8"); at != std::string::npos;
       at = log.find("invalid UTF-8", at + 1))
    ++lines;
  EXPECT_LE(lines, static_cast<int>(seconds) + 2) << log;
  EXPECT_GE(lines, 1);
  const std::string metrics = testing::HttpGet(server.metrics_port(), "/metrics");
  EXPECT_NE(metrics.find(absl::StrCat("nextbest_invalid_utf8_requests_total ", kRequests)),
            std::string::npos)
      << metrics.substr(0, 2000);
  // The server is fine.
  grpc::ClientContext ctx;
  v1::PingResponse pong;
  EXPECT_TRUE(stub->Ping(&ctx, v1::PingRequest(), &pong).ok());
}

}  // namespace
}  // namespace nextbest
