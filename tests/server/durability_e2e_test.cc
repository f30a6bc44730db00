// Durability end to end, with the real server binary: kill -9 at random
// moments under a writing client (>= 50 cycles; NEXTBEST_CRASH_CYCLES for a
// longer run), and start-up on a damaged database (corrupt CURRENT,
// MANIFEST, WAL and SST files) that must refuse to serve, never serve
// partial data.

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "nextbest/v1/customers.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "tests/server/server_process.h"

namespace nextbest {
namespace {

namespace fs = std::filesystem;
using testing::ServerProcess;
using testing::TempDir;

constexpr int kCustomers = 4;
constexpr int kBatch = 10;

int64_t NowSec() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

v1::Event View(const std::string& id, const std::string& customer) {
  v1::Event e;
  e.set_event_id(id);
  e.set_customer_id(customer);
  e.set_type(v1::EVENT_TYPE_VIEW);
  e.set_channel(v1::CHANNEL_WEB);
  e.mutable_time()->set_seconds(NowSec() - 60);
  e.set_product_id("p1");
  return e;
}

// Event counts per customer as the server reports them.
std::vector<int64_t> Counts(ServerProcess& server) {
  auto stub = v1::CustomerService::NewStub(server.Channel());
  std::vector<int64_t> out(kCustomers, 0);
  for (int c = 0; c < kCustomers; ++c) {
    v1::GetProfileRequest req;
    req.set_customer_id(absl::StrCat("crash-", c));
    v1::GetProfileResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    grpc::Status s = stub->GetProfile(&ctx, req, &resp);
    out[c] = s.ok() ? resp.features().events() : 0;
  }
  return out;
}

// Each cycle: a client writes batches of 10 events (spread over 4
// customers) as fast as it can, recording what was acknowledged; the server
// is killed with SIGKILL after a random 30-300 ms; after the restart every
// acknowledged event is counted, the batch in flight is there entirely or
// not at all, and the client's retry of it makes the counts exact (never
// double counted).
TEST(CrashTest, Kill9AtRandomMomentsLosesNoAcknowledgedEvent) {
  const char* env = std::getenv("NEXTBEST_CRASH_CYCLES");
  const int cycles = env != nullptr ? std::atoi(env) : 50;
  TempDir dir;
  const std::string data = dir.path() + "/data";
  std::mt19937 rng(20261123);
  std::vector<int64_t> acked(kCustomers, 0);  // acknowledged events per customer
  int64_t total_acked = 0, next_id = 0, retried = 0;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    ServerProcess server;
    ASSERT_TRUE(server.Start(data, {"--verify_checksums=false"})) << server.log();
    // What the previous cycle left: everything acknowledged, the batch in
    // flight all or nothing (checked below before it is retried).
    std::atomic<bool> stop{false};
    std::vector<v1::Event> in_flight;
    std::thread client([&] {
      auto stub = v1::EventService::NewStub(server.Channel());
      while (!stop) {
        in_flight.clear();
        for (int i = 0; i < kBatch; ++i, ++next_id) {
          in_flight.push_back(
              View(absl::StrCat("e", next_id), absl::StrCat("crash-", next_id % kCustomers)));
        }
        v1::RecordEventsRequest req;
        for (const auto& e : in_flight) *req.add_events() = e;
        v1::RecordEventsResponse resp;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        if (!stub->RecordEvents(&ctx, req, &resp).ok()) return;  // killed: keep in_flight
        for (const auto& e : in_flight) ++acked[std::stoi(e.customer_id().substr(6))];
        total_acked += kBatch;
        in_flight.clear();
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 270));
    ASSERT_EQ(server.Stop(SIGKILL), -SIGKILL);
    stop = true;
    client.join();

    ServerProcess after;
    ASSERT_TRUE(after.Start(data, {"--verify_checksums=false"})) << "cycle " << cycle << "\n"
                                                                 << after.log();
    std::vector<int64_t> pending(kCustomers, 0);
    for (const auto& e : in_flight) ++pending[std::stoi(e.customer_id().substr(6))];
    const std::vector<int64_t> got = Counts(after);
    int64_t extra = 0;
    for (int c = 0; c < kCustomers; ++c) {
      ASSERT_GE(got[c], acked[c]) << "cycle " << cycle << ": acknowledged events lost for crash-"
                                  << c;
      extra += got[c] - acked[c];
    }
    ASSERT_TRUE(extra == 0 || extra == static_cast<int64_t>(in_flight.size()))
        << "cycle " << cycle << ": the batch in flight was half applied (" << extra << " of "
        << in_flight.size() << ")";
    // The client retries the batch it got no answer for.
    if (!in_flight.empty()) {
      auto stub = v1::EventService::NewStub(after.Channel());
      v1::RecordEventsRequest req;
      for (const auto& e : in_flight) *req.add_events() = e;
      v1::RecordEventsResponse resp;
      grpc::ClientContext ctx;
      ASSERT_TRUE(stub->RecordEvents(&ctx, req, &resp).ok());
      EXPECT_EQ(resp.accepted() + resp.duplicates(), kBatch);
      EXPECT_EQ(resp.duplicates(), extra);
      for (int c = 0; c < kCustomers; ++c) acked[c] += pending[c];
      total_acked += kBatch;
      ++retried;
    }
    ASSERT_EQ(Counts(after), acked) << "cycle " << cycle << ": counts after the retry";
    ASSERT_EQ(after.Stop(SIGKILL), -SIGKILL);  // the next cycle recovers from a kill too
  }
  std::printf(
      "crash test: %d kill -9 cycles, %lld acknowledged events verified, %lld batches retried\n",
      cycles, static_cast<long long>(total_acked), static_cast<long long>(retried));
  EXPECT_GT(total_acked, cycles * kBatch);
}

// A database written by the real server and closed cleanly (everything in
// SST files), or killed (recent writes only in the WAL).
class DamagedDatabaseTest : public ::testing::Test {
 protected:
  void Write(bool kill) {
    ServerProcess server;
    ASSERT_TRUE(server.Start(data_)) << server.log();
    {
      auto stub = v1::EventService::NewStub(server.Channel());
      for (int b = 0; b < 20; ++b) {
        v1::RecordEventsRequest req;
        for (int i = 0; i < 50; ++i)
          *req.add_events() = View(absl::StrCat("d", b, "-", i), absl::StrCat("cust-", i));
        v1::RecordEventsResponse resp;
        grpc::ClientContext ctx;
        ASSERT_TRUE(stub->RecordEvents(&ctx, req, &resp).ok());
      }
    }  // the channel closes: a SIGTERM need not wait for an idle client
    server.Stop(kill ? SIGKILL : SIGTERM);
  }
  std::vector<fs::path> Files(const std::string& suffix_or_prefix, bool prefix) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(data_)) {
      const std::string name = e.path().filename();
      if (prefix ? name.rfind(suffix_or_prefix, 0) == 0
                 : name.size() >= suffix_or_prefix.size() &&
                       name.compare(name.size() - suffix_or_prefix.size(), std::string::npos,
                                    suffix_or_prefix) == 0) {
        out.push_back(e.path());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // Overwrites `n` bytes at `offset` with a pattern no checksum matches.
  static void Corrupt(const fs::path& file, size_t offset, size_t n) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.is_open()) << file;
    f.seekp(static_cast<std::streamoff>(offset));
    for (size_t i = 0; i < n; ++i) f.put(static_cast<char>(0xA5 ^ i));
  }
  // The server must exit non-zero before serving, saying why.
  void ExpectRefused(const std::vector<std::string>& needles,
                     const std::vector<std::string>& flags = {}, bool test_token = true) {
    ServerProcess server;
    if (server.Start(data_, flags, test_token)) {
      ADD_FAILURE() << "served a damaged database\n" << server.log();
      server.Stop(SIGKILL);
      return;
    }
    EXPECT_EQ(server.Wait(), 1);
    last_log_ = server.log();
    bool named = false;
    for (const auto& n : needles) named |= last_log_.find(n) != std::string::npos;
    EXPECT_TRUE(named) << last_log_;
  }
  // Every file of the data directory: name -> contents.
  using Snapshot = std::map<std::string, std::string>;
  Snapshot Snap() {
    Snapshot out;
    for (const auto& e : fs::directory_iterator(data_)) {
      std::ifstream in(e.path(), std::ios::binary);
      out[e.path().filename()] = std::string(std::istreambuf_iterator<char>(in), {});
    }
    return out;
  }

  TempDir dir_;
  std::string last_log_;
  const std::string data_ = dir_.path() + "/data";
};

TEST_F(DamagedDatabaseTest, CorruptCurrentRefusesToStart) {
  Write(false);
  std::ofstream(data_ + "/CURRENT", std::ios::trunc) << "MANIFEST-999999\n";
  ExpectRefused({"MANIFEST-999999", "CURRENT"});
}

TEST_F(DamagedDatabaseTest, CorruptManifestRefusesToStart) {
  Write(false);
  auto manifests = Files("MANIFEST-", true);
  ASSERT_EQ(manifests.size(), 1u);
  ASSERT_GT(fs::file_size(manifests[0]), 64u);
  Corrupt(manifests[0], 20, 24);
  ExpectRefused({"Corruption", "corrupt", "checksum"});
}

TEST_F(DamagedDatabaseTest, CorruptWalInTheMiddleRefusesToStart) {
  Write(true);  // killed: the events are only in the WAL
  auto logs = Files(".log", false);
  ASSERT_FALSE(logs.empty());
  const fs::path wal = logs.back();
  ASSERT_GT(fs::file_size(wal), 40000u);
  Corrupt(wal, fs::file_size(wal) / 2, 16);  // not the tail: acknowledged records follow
  const Snapshot before = Snap();
  ExpectRefused({"Corruption", "corrupt", "checksum"});
  // The exit line itself names the damaged file, not only RocksDB's warning.
  const std::string exit_line = last_log_.substr(last_log_.find("cannot start"));
  EXPECT_NE(exit_line.find(wal.filename().string()), std::string::npos) << last_log_;
  EXPECT_EQ(Snap(), before) << "a refused start changed the files";
}

// A WAL cut short (by a tool, a bad copy, a broken disk) looks like a torn
// tail from the inside. The acknowledged-write watermark catches it: exit 1
// naming the loss and the WAL files, nothing changed; --accept_wal_loss
// serves what is left, and the log and the metric say how many acknowledged
// events are gone.
TEST_F(DamagedDatabaseTest, TruncatedWalRefusesUnlessTheLossIsAccepted) {
  for (double keep : {0.5, 0.01}) {
    SCOPED_TRACE(keep);
    fs::remove_all(data_);
    Write(true);  // 1,000 acknowledged events, only in the WAL
    auto logs = Files(".log", false);
    ASSERT_FALSE(logs.empty());
    const fs::path wal = logs.back();
    ASSERT_GT(fs::file_size(wal), 40000u);
    fs::resize_file(wal, static_cast<uintmax_t>(fs::file_size(wal) * keep));
    const Snapshot before = Snap();
    for (int attempt = 0; attempt < 2; ++attempt) {
      ExpectRefused({"holds less than was acknowledged"});
      EXPECT_NE(last_log_.find(wal.filename().string()), std::string::npos) << last_log_;
      EXPECT_NE(last_log_.find("--accept_wal_loss"), std::string::npos) << last_log_;
      EXPECT_EQ(Snap(), before) << "a refused start changed the files";
    }
    ServerProcess server;
    ASSERT_TRUE(server.Start(data_, {"--accept_wal_loss"})) << server.log();
    EXPECT_NE(server.log().find("WARNING: serving with acknowledged writes missing"),
              std::string::npos);
    int64_t found = 0;
    auto stub = v1::CustomerService::NewStub(server.Channel());
    for (int i = 0; i < 50; ++i) {
      v1::GetProfileRequest req;
      req.set_customer_id(absl::StrCat("cust-", i));
      v1::GetProfileResponse resp;
      grpc::ClientContext ctx;
      if (stub->GetProfile(&ctx, req, &resp).ok()) found += resp.features().events();
    }
    EXPECT_LT(found, 1000);
    const std::string metrics = testing::HttpGet(server.metrics_port(), "/metrics");
    EXPECT_NE(metrics.find(absl::StrCat("nextbest_recovery_lost_events ", 1000 - found)),
              std::string::npos)
        << "found " << found << "\n"
        << metrics.substr(0, 400);
    EXPECT_EQ(server.Stop(), 0);
    // Accepted once: the next start is clean.
    ServerProcess again;
    ASSERT_TRUE(again.Start(data_)) << again.log();
    EXPECT_EQ(again.log().find("WARNING"), std::string::npos) << again.log();
  }
}

// CURRENT or the MANIFEST missing or garbled, after a clean stop and after
// kill -9: every start exits 1 naming what is missing, and leaves every
// file byte for byte as it was — also the second and third start (what a
// supervisor's restart does). Before this, the failed open wrote a new
// CURRENT and the next start served an empty database and deleted the
// old files.
TEST_F(DamagedDatabaseTest, MissingOrGarbledCurrentOrManifestNeverWipesTheDatabase) {
  enum Damage { kIntact, kMissing, kGarbled };
  for (bool kill : {false, true}) {
    fs::remove_all(data_);
    Write(kill);
    const std::string pristine = dir_.path() + "/pristine";
    fs::remove_all(pristine);
    fs::copy(data_, pristine, fs::copy_options::recursive);
    for (Damage current : {kIntact, kMissing, kGarbled}) {
      for (Damage manifest : {kIntact, kMissing, kGarbled}) {
        if (current == kIntact && manifest == kIntact) continue;
        SCOPED_TRACE(absl::StrCat(kill ? "killed" : "clean stop", ", CURRENT ", current,
                                  ", MANIFEST ", manifest));
        fs::remove_all(data_);
        fs::copy(pristine, data_, fs::copy_options::recursive);
        for (const fs::path& m : Files("MANIFEST-", true)) {
          if (manifest == kMissing) fs::remove(m);
          if (manifest == kGarbled) Corrupt(m, 20, 24);
        }
        if (current == kMissing) fs::remove(data_ + "/CURRENT");
        if (current == kGarbled) Corrupt(data_ + "/CURRENT", 0, 12);
        const Snapshot before = Snap();
        for (int attempt = 0; attempt < 3; ++attempt) {
          ExpectRefused({current == kMissing ? "CURRENT file is missing" : "MANIFEST", "CURRENT",
                         "Corruption"},
                        {}, /*test_token=*/false);
          ASSERT_EQ(Snap(), before) << "start " << attempt + 1 << " changed the files";
        }
        if (current == kMissing) {
          EXPECT_NE(last_log_.find("checkpoint"), std::string::npos) << last_log_;
        }
      }
    }
    // The undamaged copy still serves everything.
    fs::remove_all(data_);
    fs::copy(pristine, data_, fs::copy_options::recursive);
    ServerProcess server;
    ASSERT_TRUE(server.Start(data_)) << server.log();
    auto stub = v1::CustomerService::NewStub(server.Channel());
    v1::GetProfileRequest req;
    req.set_customer_id("cust-7");
    v1::GetProfileResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->GetProfile(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.features().events(), 20);
  }
}

TEST_F(DamagedDatabaseTest, CorruptSstFileIsFoundByTheStartupCheck) {
  Write(false);
  // The events family's file: its blocks are not read at start otherwise.
  fs::path biggest;
  for (const auto& f : Files(".sst", false)) {
    if (biggest.empty() || fs::file_size(f) > fs::file_size(biggest)) biggest = f;
  }
  ASSERT_FALSE(biggest.empty());
  Corrupt(biggest, 100, 16);
  ExpectRefused({"Corruption", "corrupt", "checksum"});
}

// A really full file system under the real server: a tmpfs of 160 MB holds
// the data directory and a filler file takes every byte left. Writes answer
// UNAVAILABLE, reads (Recommend, GetProfile) and health keep working, and
// once the filler is deleted the client's retries go through; a restart
// finds exactly the acknowledged events. Needs permission to mount a tmpfs
// (root or CAP_SYS_ADMIN); skipped otherwise — the storage-level
// DiskFullTest covers the same contract with an injected ENOSPC.
TEST(DiskFullTest, FullFileSystemAnswersUnavailableAndWritesResumeWhenSpaceReturns) {
  TempDir dir;
  const std::string mnt = dir.path() + "/fs";
  fs::create_directories(mnt);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=160m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno) << ")";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const std::string data = mnt + "/data";
  int64_t next_id = 0, acked = 0;
  auto batch = [&](v1::RecordEventsRequest& req) {
    req.clear_events();
    for (int i = 0; i < 50; ++i) {
      *req.add_events() = View(absl::StrCat("full-", next_id++, std::string(100, 'x')), "crash-0");
    }
  };
  auto sender = [&](ServerProcess& server) {
    return [&, stub = std::shared_ptr<v1::EventService::Stub>(v1::EventService::NewStub(
                   server.Channel()))](const v1::RecordEventsRequest& req) {
      v1::RecordEventsResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
      grpc::Status s = stub->RecordEvents(&ctx, req, &resp);
      if (s.ok()) acked += resp.accepted();
      return s;
    };
  };
  v1::RecordEventsRequest req;
  {  // some history, then a clean stop
    ServerProcess server;
    ASSERT_TRUE(server.Start(data)) << server.log();
    batch(req);
    ASSERT_TRUE(sender(server)(req).ok());
    EXPECT_EQ(server.Stop(), 0) << server.log();
  }
  {  // every byte taken but 2 MB (enough to start, not for the WAL to grow)
    struct statvfs st;
    ASSERT_EQ(statvfs(mnt.c_str(), &st), 0);
    const int64_t free_bytes = static_cast<int64_t>(st.f_bavail) * st.f_frsize;
    std::ofstream filler(mnt + "/filler", std::ios::binary);
    const std::string kb(1 << 10, 'f');
    for (int64_t n = 0; n < free_bytes - (2 << 20) && filler.write(kb.data(), kb.size());
         n += kb.size()) {
    }
  }
  {
    ServerProcess server;
    ASSERT_TRUE(server.Start(data)) << server.log();
    auto send = sender(server);
    grpc::Status s;
    for (int i = 0; i < 2000; ++i) {  // until the disk is full
      batch(req);
      s = send(req);
      if (!s.ok()) break;
    }
    ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
    EXPECT_EQ(send(req).error_code(), grpc::StatusCode::UNAVAILABLE);  // still full
    // Reads and health work.
    EXPECT_EQ(Counts(server)[0], acked) << server.log();
    grpc::ClientContext hctx;
    grpc::health::v1::HealthCheckResponse hresp;
    ASSERT_TRUE(grpc::health::v1::Health::NewStub(server.Channel())
                    ->Check(&hctx, grpc::health::v1::HealthCheckRequest(), &hresp)
                    .ok())
        << server.log();
    EXPECT_EQ(hresp.status(), grpc::health::v1::HealthCheckResponse::SERVING);

    // Space returns. RocksDB's own recovery thread checks every 5 s and
    // resumes once the free space exceeds a memtable (64 MB).
    fs::remove(mnt + "/filler");
    for (int i = 0; i < 300; ++i) {  // the client retries the refused batch
      s = send(req);
      if (s.ok()) break;
      ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(s.ok()) << s.error_message() << server.log();
    EXPECT_EQ(Counts(server)[0], acked);
    EXPECT_EQ(server.Stop(), 0) << server.log();
  }
  ServerProcess again;
  ASSERT_TRUE(again.Start(data)) << again.log();
  EXPECT_EQ(Counts(again)[0], acked);
}

}  // namespace
}  // namespace nextbest
