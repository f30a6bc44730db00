#pragma once
// The cluster tests' fixture: the mock Kafka process, 3 shards × 2 replicas
// of nextbest-server on loopback ports chosen for them, HAProxy with the
// shipped routing (deploy/haproxy/), and the helpers the tests share.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/partitioning.h"
#include "nextbest/v1/catalog.grpc.pb.h"
#include "nextbest/v1/customers.grpc.pb.h"
#include "tests/server/server_process.h"
#include "tools/demo_retailer.h"

namespace nextbest::testing {

constexpr int kShards = 3;
constexpr int kReplicas = 2;
constexpr int kPartitions = 12;
constexpr int kCustomers = 680;  // about 100,000 events
// Long enough for a token never to run out on a loaded machine.
constexpr int kTokenWaitMs = 10000;

// Loopback ports the kernel considers free, all different: each socket
// stays bound until all are chosen.
inline std::vector<int> FreePorts(int n) {
  std::vector<int> fds, ports;
  for (int i = 0; i < n; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    fds.push_back(fd);
    ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) close(fd);
  return ports;
}

// A child process (mock Kafka, HAProxy), killed at the end.
class Child {
 public:
  bool Start(std::vector<std::string> args, const std::string& log_file) {
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = std::fopen(log_file.c_str(), "w");
      dup2(fileno(f), STDOUT_FILENO);
      dup2(fileno(f), STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    return pid_ > 0;
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }

 private:
  pid_t pid_ = 0;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Sum of the cluster's partition lag on a node's /metrics (-1: not known).
inline int64_t MetricsLag(int metrics_port) {
  const std::string out = "/tmp/nextbest-cluster-metrics-" + std::to_string(metrics_port);
  const std::string cmd =
      "curl -s -m 2 http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics > " + out;
  if (std::system(cmd.c_str()) != 0) return -1;
  int64_t lag = 0;
  bool any = false;
  for (absl::string_view line : absl::StrSplit(ReadFile(out), '\n')) {
    if (!absl::StartsWith(line, "nextbest_cluster_partition_lag{")) continue;
    any = true;
    const double v = std::stod(std::string(line.substr(line.rfind(' ') + 1)));
    if (v < 0) return -1;
    lag += static_cast<int64_t>(v);
  }
  std::remove(out.c_str());
  return any ? lag : -1;
}

inline int64_t MetricValue(int metrics_port, const std::string& name) {
  const std::string out = "/tmp/nextbest-cluster-metric-" + std::to_string(metrics_port);
  const std::string cmd =
      "curl -s -m 2 http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics > " + out;
  if (std::system(cmd.c_str()) != 0) return -1;
  for (absl::string_view line : absl::StrSplit(ReadFile(out), '\n')) {
    if (absl::StartsWith(line, name + " ")) {
      return static_cast<int64_t>(std::stod(std::string(line.substr(name.size() + 1))));
    }
  }
  return -1;
}

// What a profile holds of the customer's own state: the figures computed
// at the time of the request (decayed scores, days since) and from the
// population models (segments) are left out.
inline std::string Stateful(v1::GetProfileResponse p) {
  p.clear_computed_at();
  p.clear_segments();
  p.clear_future();  // from the node's models and the time of asking
  // The send-time rates come from the node's models too; the activity
  // behind them is the customer's own counters.
  const double activity = p.send_time().activity();
  p.clear_send_time();
  p.mutable_send_time()->set_activity(activity);
  v1::Features* f = p.mutable_features();
  f->clear_tenure_days();
  f->clear_days_since_last_purchase();
  f->clear_orders_per_month();
  for (auto& c : *f->mutable_top_categories()) c.clear_score();
  for (auto& b : *f->mutable_top_brands()) b.clear_score();
  return p.SerializeAsString();
}

struct Node {
  int shard;
  int replica;
  int port;
  int agent;
  std::string dir;
  std::unique_ptr<ServerProcess> process;
};

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string kafka_file = dir_.path() + "/kafka.addr";
    ASSERT_TRUE(kafka_.Start({NEXTBEST_MOCK_KAFKA_BIN, "--brokers=3",
                              absl::StrCat("--topics=nextbest.events:", kPartitions,
                                           ",nextbest.catalog:1,nextbest.models:1"),
                              "--bootstrap_file=" + kafka_file},
                             dir_.path() + "/kafka.log"));
    for (int i = 0; i < 100 && brokers_.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      brokers_ = std::string(absl::StripTrailingAsciiWhitespace(ReadFile(kafka_file)));
    }
    ASSERT_FALSE(brokers_.empty()) << ReadFile(dir_.path() + "/kafka.log");
    std::vector<std::string> peers, haproxy_nodes;
    const std::vector<int> ports = FreePorts(2 * kShards * kReplicas + 1);
    size_t next_port = 0;
    for (int s = 0; s < kShards; ++s) {
      for (int r = 0; r < kReplicas; ++r) {
        Node n{s,
               r,
               ports[next_port],
               ports[next_port + 1],
               absl::StrCat(dir_.path(), "/node-", s, "-", r),
               nullptr};
        next_port += 2;
        peers.push_back(absl::StrCat(s, "@127.0.0.1:", n.port));
        haproxy_nodes.push_back(absl::StrCat("--node=", s, "@127.0.0.1:", n.port, "@", n.agent));
        nodes_.push_back(std::move(n));
      }
    }
    peers_ = absl::StrJoin(peers, ",");
    for (Node& n : nodes_) ASSERT_NO_FATAL_FAILURE(StartNode(n));
    proxy_port_ = ports[next_port];
    const std::string cfg = dir_.path() + "/haproxy.cfg";
    std::string cmd = absl::StrCat(
        "python3 ", NEXTBEST_SOURCE_DIR,
        "/deploy/haproxy/haproxy_config.py --listen 127.0.0.1:", proxy_port_, " --partitions ",
        kPartitions, " --shards ", kShards, " --lua ", NEXTBEST_SOURCE_DIR,
        "/deploy/haproxy/nextbest_shard.lua ", absl::StrJoin(haproxy_nodes, " "), " > ", cfg);
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    ASSERT_TRUE(haproxy_.Start({"haproxy", "-db", "-f", cfg}, dir_.path() + "/haproxy.log"));
    proxy_ = ChannelWithToken(absl::StrCat("127.0.0.1:", proxy_port_), kTestAdminToken);
    ASSERT_TRUE(
        proxy_->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));
  }

  void StartNode(Node& n) {
    n.process = std::make_unique<ServerProcess>();
    ASSERT_TRUE(n.process->Start(
        n.dir, {absl::StrCat("--grpc_address=127.0.0.1:", n.port), "--kafka_brokers=" + brokers_,
                absl::StrCat("--shards=", kShards), absl::StrCat("--shard=", n.shard),
                absl::StrCat("--replicas=", kReplicas), absl::StrCat("--replica=", n.replica),
                "--peers=" + peers_, absl::StrCat("--agent_address=127.0.0.1:", n.agent),
                "--verify_checksums=false",
                // The tests check what a token guarantees, not how fast on a
                // loaded machine: a wait long enough never to run out.
                absl::StrCat("--consistency_wait_ms=", kTokenWaitMs)}))
        << n.process->log();
  }

  // Waits until every node applied everything in the log.
  void WaitCaughtUp() {
    for (Node& n : nodes_) {
      int64_t lag = -1;
      for (int i = 0; i < 600 && lag != 0; ++i) {
        lag = MetricsLag(n.process->metrics_port());
        if (lag != 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      ASSERT_EQ(lag, 0) << "node of shard " << n.shard << " did not catch up\n" << n.process->log();
    }
  }

  static grpc::Status Unary(const std::function<grpc::Status(grpc::ClientContext*)>& call,
                            const std::string& customer = "", bool forwarded = false) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    if (!customer.empty()) ctx.AddMetadata("x-customer-id", customer);
    if (forwarded) ctx.AddMetadata("x-nextbest-forwarded", "1");  // answer here
    return call(&ctx);
  }

  // Stores, products, stock and customers 1..`customers` of `retailer`
  // through the proxy (or `to`).
  void LoadCatalogAndCustomers(const tools::DemoRetailer& retailer, int customers,
                               std::shared_ptr<grpc::Channel> to = nullptr) {
    if (to == nullptr) to = proxy_;
    auto catalog = v1::CatalogService::NewStub(to);
    v1::UpsertStoresRequest stores;
    for (const auto& st : retailer.stores()) *stores.add_stores() = st;
    v1::UpsertStoresResponse r1;
    ASSERT_TRUE(
        Unary([&](grpc::ClientContext* c) { return catalog->UpsertStores(c, stores, &r1); }).ok());
    v1::UpsertProductsRequest products;
    for (const auto& p : retailer.products()) *products.add_products() = p;
    v1::UpsertProductsResponse r2;
    ASSERT_TRUE(Unary([&](grpc::ClientContext* c) {
                  return catalog->UpsertProducts(c, products, &r2);
                }).ok());
    v1::SetStockRequest stock;
    retailer.ForEachStockLevel([&](const v1::StockLevel& l) { *stock.add_levels() = l; });
    v1::SetStockResponse r3;
    ASSERT_TRUE(
        Unary([&](grpc::ClientContext* c) { return catalog->SetStock(c, stock, &r3); }).ok());
    auto stub = v1::CustomerService::NewStub(to);
    v1::UpsertCustomersRequest all;
    for (int i = 1; i <= customers; ++i) *all.add_customers() = retailer.CustomerAttributes(i);
    v1::UpsertCustomersResponse r4;
    grpc::Status s =
        Unary([&](grpc::ClientContext* c) { return stub->UpsertCustomers(c, all, &r4); });
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(r4.upserted(), customers);
    if (to == proxy_) EXPECT_GT(r4.consistency_token().positions_size(), 0);
  }

  // The replicas `a` and `b` (of `shard`) hold the same profile of every
  // customer c1..c<customers> of the shard.
  static void ExpectSameProfiles(const Node& a, const Node& b, int shard, int customers,
                                 const std::string& what) {
    auto sa = v1::CustomerService::NewStub(a.process->Channel());
    auto sb = v1::CustomerService::NewStub(b.process->Channel());
    int compared = 0;
    for (int i = 1; i <= customers; ++i) {
      v1::GetProfileRequest req;
      req.set_customer_id(absl::StrCat("c", i));
      if (core::ShardMap{kPartitions, kShards}.ShardOf(req.customer_id()) != shard) continue;
      v1::GetProfileResponse pa, pb;
      ASSERT_TRUE(Unary([&](grpc::ClientContext* c) { return sa->GetProfile(c, req, &pa); }).ok());
      ASSERT_TRUE(Unary([&](grpc::ClientContext* c) { return sb->GetProfile(c, req, &pb); }).ok());
      ASSERT_EQ(Stateful(pa), Stateful(pb)) << what << ": " << req.customer_id();
      ++compared;
    }
    EXPECT_GT(compared, customers / kShards / 2) << what;
  }

  nextbest::testing::TempDir dir_;
  Child kafka_, haproxy_;
  std::string brokers_, peers_;
  std::vector<Node> nodes_;
  int proxy_port_ = 0;
  std::shared_ptr<grpc::Channel> proxy_;
};

}  // namespace nextbest::testing
