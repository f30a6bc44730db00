// The cluster end to end, as real processes on loopback: the mock Kafka
// cluster (tools/mock_kafka_main.cc, 3 brokers), 3 shards × 2 replicas of
// nextbest-server, and HAProxy with the shipped routing (deploy/haproxy/).
//
// ~100,000 demo-retailer events go in through the proxy while two threads
// ask for recommendations through it and one node of every shard is killed
// (kill -9) and restarted at random moments. Then:
//   - every acknowledged event is applied exactly once on both replicas of
//     its shard (each customer's export holds exactly the acknowledged
//     event ids), and the replicas hold the same profiles;
//   - Recommend kept answering: failed calls are counted and must not exceed
//     the calls in flight on the killed nodes (2 client threads × kills);
//   - through the proxy, no call needed a second hop (forwarded = 0), and a
//     call sent to a node of another shard is forwarded and answered the
//     same as by the owner;
//   - the population's models (neighbours, cut points, segment sizes) and
//     the trending lists are the whole population's on every node, equal to
//     a single process fed the same events (cluster_models_test.cc).
// Sized for CI (2 cores): about a minute.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/partitioning.h"
#include "google/protobuf/util/time_util.h"
#include "nextbest/v1/admin.grpc.pb.h"
#include "nextbest/v1/catalog.grpc.pb.h"
#include "nextbest/v1/customers.grpc.pb.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "nextbest/v1/privacy.grpc.pb.h"
#include "tests/cluster/cluster_fixture.h"
#include "tests/server/server_process.h"
#include "tools/demo_retailer.h"

namespace nextbest::testing {
namespace {

TEST_F(ClusterTest, KillsDuringIngestLoseNothingApplyNothingTwiceAndRecommendKeepsAnswering) {
  tools::RetailerSize size;
  size.customers = kCustomers;
  size.products = 300;
  size.stores = 20;
  size.days = 365;
  const tools::DemoRetailer retailer(size);
  auto events = v1::EventService::NewStub(proxy_);
  auto decisions = v1::DecisionService::NewStub(proxy_);

  // Catalog and customers through the proxy (any node writes them to the log).
  ASSERT_NO_FATAL_FAILURE(LoadCatalogAndCustomers(retailer, kCustomers));

  // Every customer's events, interleaved across customers in time order of
  // their index (each customer's own events stay in order).
  std::vector<v1::Event> all;
  std::map<std::string, std::set<std::string>> expected;  // customer -> event ids
  {
    std::vector<std::vector<v1::Event>> per(kCustomers);
    for (int i = 1; i <= kCustomers; ++i) per[i - 1] = retailer.CustomerEvents(i);
    for (size_t k = 0;; ++k) {
      bool any = false;
      for (auto& list : per) {
        if (k < list.size()) {
          all.push_back(list[k]);
          any = true;
        }
      }
      if (!any) break;
    }
  }
  ASSERT_GE(all.size(), 90000u);

  // Recommend load through the proxy while events go in and nodes die.
  std::atomic<bool> stop{false};
  std::atomic<int64_t> calls{0}, failed{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 2; ++t) {
    load.emplace_back([&, t] {
      std::mt19937 rng(t);
      while (!stop.load()) {
        v1::RecommendRequest req;
        req.set_customer_id(absl::StrCat("c", 1 + rng() % kCustomers));
        req.mutable_context()->set_placement("homepage.speciaal_voor_jou");
        v1::RecommendResponse resp;
        grpc::Status s =
            Unary([&](grpc::ClientContext* c) { return decisions->Recommend(c, req, &resp); },
                  req.customer_id());
        ++calls;
        if (!s.ok()) ++failed;
      }
    });
  }
  // One node of every shard is killed (-9) once, at a random moment, and
  // restarted a second later.
  std::atomic<int> kills{0};
  std::thread killer([&] {
    std::mt19937 rng(7);
    for (int s = 0; s < kShards; ++s) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500 + rng() % 1500));
      Node& n = nodes_[s * kReplicas + rng() % kReplicas];
      n.process->Stop(SIGKILL);
      ++kills;
      std::this_thread::sleep_for(std::chrono::seconds(1));
      StartNode(n);
    }
  });

  auto stream = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; i += 500) {
      v1::RecordEventsRequest req;
      for (size_t j = i; j < std::min(to, i + 500); ++j) *req.add_events() = all[j];
      v1::RecordEventsResponse resp;
      grpc::Status s;
      for (int attempt = 0; attempt < 5; ++attempt) {  // a retry is idempotent (event ids)
        s = Unary([&](grpc::ClientContext* c) { return events->RecordEvents(c, req, &resp); });
        if (s.ok()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      ASSERT_TRUE(s.ok()) << s.error_message();
      for (const auto& e : req.events()) expected[e.customer_id()].insert(e.event_id());
    }
  };
  const auto ingest_start = std::chrono::steady_clock::now();
  stream(0, all.size());
  const double ingest_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - ingest_start).count();
  killer.join();
  ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());
  stop = true;
  for (auto& t : load) t.join();
  std::printf(
      "cluster: %zu events acknowledged through the proxy in %.1f s (%.0f/s); "
      "%lld Recommend calls, %lld failed, %d kills\n",
      all.size(), ingest_seconds, all.size() / ingest_seconds, static_cast<long long>(calls.load()),
      static_cast<long long>(failed.load()), kills.load());
  EXPECT_GT(calls.load(), 100);
  // At most the calls in flight on a killed node: one per client thread.
  EXPECT_LE(failed.load(), 2 * kills.load());

  // Exactly once, on every replica: each export holds exactly the
  // acknowledged ids of the customer.
  for (const Node& n : nodes_) {
    auto privacy = v1::PrivacyService::NewStub(n.process->Channel());
    core::ShardMap map{kPartitions, kShards};
    int checked = 0;
    for (const auto& [customer, ids] : expected) {
      if (map.ShardOf(customer) != n.shard) continue;
      grpc::ClientContext ctx;
      v1::ExportCustomerRequest req;
      req.set_customer_id(customer);
      auto reader = privacy->ExportCustomer(&ctx, req);
      v1::ExportCustomerResponse part;
      std::multiset<std::string> got;
      while (reader->Read(&part)) {
        for (const auto& e : part.events()) got.insert(e.event_id());
      }
      ASSERT_TRUE(reader->Finish().ok()) << customer;
      ASSERT_EQ(got.size(), ids.size()) << customer << " on a node of shard " << n.shard;
      ASSERT_TRUE(std::equal(got.begin(), got.end(), ids.begin())) << customer;
      ++checked;
    }
    EXPECT_GT(checked, kCustomers / kShards / 2);
  }

  // The replicas of a shard hold the same profiles.
  for (int sh = 0; sh < kShards; ++sh) {
    ExpectSameProfiles(nodes_[sh * kReplicas], nodes_[sh * kReplicas + 1], sh, kCustomers,
                       "after the kills");
  }

  // The newsletter for the whole cluster: the CLI runs DecideForAll on one
  // node of every shard and merges the outputs; every customer exactly once.
  {
    const std::string out = dir_.path() + "/newsletter.jsonl";
    std::vector<std::string> targets;
    for (int sh = 0; sh < kShards; ++sh)
      targets.push_back(nodes_[sh * kReplicas].process->target());
    const std::string summary = dir_.path() + "/newsletter.txt";
    const std::string cmd =
        absl::StrCat(NEXTBEST_CLI_BIN, " newsletter --all --out=", out,
                     " --shard_targets=", absl::StrJoin(targets, ","), " > ", summary);
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    // Customers the shipped contact policy holds back are counted, not decided.
    size_t held_back = 0;
    std::ifstream text(summary);
    static const std::regex held("held back by the contact policy: ([0-9]+)");
    for (std::string line; std::getline(text, line);) {
      std::smatch m;
      if (std::regex_search(line, m, held)) held_back = std::stoul(m[1]);
    }
    std::multiset<std::string> decided;
    std::ifstream in(out);
    static const std::regex id("\"customerId\":\"([^\"]+)\"");
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (std::regex_search(line, m, id)) decided.insert(m[1]);
    }
    EXPECT_EQ(decided.size() + held_back, static_cast<size_t>(kCustomers));
    EXPECT_EQ(std::set<std::string>(decided.begin(), decided.end()).size(), decided.size());
  }

  // Models (neighbours, repurchase profiles, cut points) are built by each
  // node on its schedule; rebuilt now, the replicas of a shard hold the same.
  for (const Node& n : nodes_) {
    auto admin = v1::AdminService::NewStub(n.process->Channel());
    v1::RebuildModelsRequest req;
    v1::RebuildModelsResponse resp;
    ASSERT_TRUE(
        Unary([&](grpc::ClientContext* c) { return admin->RebuildModels(c, req, &resp); }).ok());
  }

  // Zero extra hops through the proxy; one hop when asked at another shard,
  // answered as by the owner's replicas (which agree).
  int64_t forwarded = 0;
  for (const Node& n : nodes_) {
    forwarded += MetricValue(n.process->metrics_port(), "nextbest_cluster_forwarded_total");
  }
  EXPECT_EQ(forwarded, 0);
  for (int i = 1; i <= 30; ++i) {
    const std::string id = absl::StrCat("c", i);
    const int owner = core::ShardMap{kPartitions, kShards}.ShardOf(id);
    const Node& other = nodes_[((owner + 1) % kShards) * kReplicas];
    const Node& mine = nodes_[owner * kReplicas];
    v1::RecommendRequest req;
    req.set_customer_id(id);
    req.set_request_id("same-rotation");
    req.mutable_context()->set_placement("homepage.door_jou_bekeken");
    v1::RecommendResponse via_other, via_owner;
    auto s1 = v1::DecisionService::NewStub(other.process->Channel());
    auto s2 = v1::DecisionService::NewStub(mine.process->Channel());
    ASSERT_TRUE(
        Unary([&](grpc::ClientContext* c) { return s1->Recommend(c, req, &via_other); }).ok());
    ASSERT_TRUE(
        Unary([&](grpc::ClientContext* c) { return s2->Recommend(c, req, &via_owner); }).ok());
    v1::RecommendResponse via_replica;
    auto s3 = v1::DecisionService::NewStub(nodes_[owner * kReplicas + 1].process->Channel());
    ASSERT_TRUE(
        Unary([&](grpc::ClientContext* c) { return s3->Recommend(c, req, &via_replica); }).ok());
    ASSERT_EQ(via_replica.items_size(), via_owner.items_size()) << id;
    for (int k = 0; k < via_owner.items_size(); ++k) {
      EXPECT_EQ(via_replica.items(k).product_id(), via_owner.items(k).product_id()) << id;
    }
    ASSERT_EQ(via_other.items_size(), via_owner.items_size()) << id;
    for (int k = 0; k < via_owner.items_size(); ++k) {
      EXPECT_EQ(via_other.items(k).product_id(), via_owner.items(k).product_id()) << id;
    }
  }
  EXPECT_GE(
      MetricValue(nodes_[kReplicas].process->metrics_port(), "nextbest_cluster_forwarded_total") +
          MetricValue(nodes_[0].process->metrics_port(), "nextbest_cluster_forwarded_total") +
          MetricValue(nodes_[2 * kReplicas].process->metrics_port(),
                      "nextbest_cluster_forwarded_total"),
      30);
}

// A wiped replica rebuilds its state from the log (the mock cluster keeps
// every record; a real one with retention "forever" on the events topic,
// or a peer's checkpoint plus the log: README "Cluster") and serves once
// caught up, holding the same profiles as its peer.
TEST_F(ClusterTest, AWipedReplicaRebuildsFromTheLogOrAPeersCheckpointAndConverges) {
  tools::RetailerSize size;
  size.customers = 300;
  size.products = 200;
  size.stores = 10;
  const tools::DemoRetailer retailer(size);
  auto events = v1::EventService::NewStub(proxy_);
  ASSERT_NO_FATAL_FAILURE(LoadCatalogAndCustomers(retailer, size.customers));
  int64_t total = 0;
  for (int i = 1; i <= size.customers; ++i) {
    v1::RecordEventsRequest req;
    for (const auto& e : retailer.CustomerEvents(i)) *req.add_events() = e;
    for (int k = 0; k < req.events_size(); k += 1000) {
      v1::RecordEventsRequest part;
      for (int j = k; j < std::min(req.events_size(), k + 1000); ++j)
        *part.add_events() = req.events(j);
      v1::RecordEventsResponse resp;
      ASSERT_TRUE(
          Unary([&](grpc::ClientContext* c) { return events->RecordEvents(c, part, &resp); }).ok());
      total += part.events_size();
    }
  }
  ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());
  Node& wiped = nodes_[1];  // shard 0, replica 1
  wiped.process->Stop(SIGKILL);
  std::filesystem::remove_all(wiped.dir);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(StartNode(wiped));
  ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "bootstrap: a wiped replica of shard 0 rebuilt from the log in %.2f s (the shard "
      "holds ~%lld of %lld events)\n",
      seconds, static_cast<long long>(total / kShards), static_cast<long long>(total));
  ExpectSameProfiles(nodes_[0], wiped, 0, size.customers, "rebuilt from the log");

  // From a peer's checkpoint: the replica is wiped again, a checkpoint of its
  // peer becomes its data directory, more events arrive, and it reads the
  // log on from the checkpoint's positions.
  wiped.process->Stop(SIGKILL);
  std::filesystem::remove_all(wiped.dir);
  {
    auto admin = v1::AdminService::NewStub(nodes_[0].process->Channel());
    v1::CheckpointRequest req;
    req.set_dir(wiped.dir);
    v1::CheckpointResponse resp;
    grpc::Status s =
        Unary([&](grpc::ClientContext* c) { return admin->Checkpoint(c, req, &resp); });
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  for (int i = 1; i <= size.customers; i += 7) {
    v1::RecordEventsRequest req;
    v1::Event* e = req.add_events();
    e->set_event_id(absl::StrCat("after-checkpoint-", i));
    e->set_customer_id(absl::StrCat("c", i));
    e->set_type(v1::EVENT_TYPE_VIEW);
    e->set_channel(v1::CHANNEL_WEB);
    e->set_product_id("p1");
    *e->mutable_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
    v1::RecordEventsResponse resp;
    ASSERT_TRUE(
        Unary([&](grpc::ClientContext* c) { return events->RecordEvents(c, req, &resp); }).ok());
  }
  ASSERT_NO_FATAL_FAILURE(StartNode(wiped));
  // It starts from the checkpoint's customers, not from nothing.
  EXPECT_TRUE(
      std::regex_search(wiped.process->log(), std::regex("recovered [1-9][0-9]* customers")))
      << wiped.process->log();
  ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());
  ExpectSameProfiles(nodes_[0], wiped, 0, size.customers, "from the checkpoint");
}

// Read-your-writes across the cluster: a write through one node, then a
// Recommend with its token at another node of the owning shard sees it.
TEST_F(ClusterTest, AConsistencyTokenMakesTheNextRecommendSeeTheWrite) {
  auto catalog = v1::CatalogService::NewStub(proxy_);
  v1::UpsertProductsRequest products;
  for (int i = 1; i <= 5; ++i) {
    v1::Product* p = products.add_products();
    p->set_product_id(absl::StrCat("p", i));
    p->set_name(absl::StrCat("Product ", i));
    p->add_category_path("Bakkerij");
    p->mutable_price()->set_amount_minor(100 * i);
    p->mutable_price()->set_currency("EUR");
  }
  v1::UpsertProductsResponse pr;
  ASSERT_TRUE(Unary([&](grpc::ClientContext* c) {
                return catalog->UpsertProducts(c, products, &pr);
              }).ok());
  v1::SetStockRequest stock;
  for (int i = 1; i <= 5; ++i) {
    v1::StockLevel* l = stock.add_levels();
    l->set_product_id(absl::StrCat("p", i));
    l->set_online_country("NL");
    l->set_quantity(10);
  }
  v1::SetStockResponse sr;
  ASSERT_TRUE(Unary([&](grpc::ClientContext* c) { return catalog->SetStock(c, stock, &sr); }).ok());
  const std::string customer = "token-customer";
  const int owner = core::ShardMap{kPartitions, kShards}.ShardOf(customer);
  {
    auto customers = v1::CustomerService::NewStub(proxy_);
    v1::UpsertCustomersRequest req;
    v1::Customer* c = req.add_customers();
    c->set_customer_id(customer);
    c->set_country("NL");
    c->mutable_consent()->set_personalization(true);
    v1::UpsertCustomersResponse resp;
    ASSERT_TRUE(Unary([&](grpc::ClientContext* ctx) {
                  return customers->UpsertCustomers(ctx, req, &resp);
                }).ok());
  }
  // Written at a node of another shard ...
  auto writer =
      v1::EventService::NewStub(nodes_[((owner + 1) % kShards) * kReplicas].process->Channel());
  auto reader = v1::DecisionService::NewStub(nodes_[owner * kReplicas + 1].process->Channel());
  for (int round = 1; round <= 5; ++round) {
    v1::RecordEventsRequest req;
    v1::Event* e = req.add_events();
    e->set_event_id(absl::StrCat("view-", round));
    e->set_customer_id(customer);
    e->set_type(v1::EVENT_TYPE_VIEW);
    e->set_channel(v1::CHANNEL_WEB);
    e->set_product_id(absl::StrCat("p", round));
    *e->mutable_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
    v1::RecordEventsResponse resp;
    grpc::Status w =
        Unary([&](grpc::ClientContext* c) { return writer->RecordEvents(c, req, &resp); });
    ASSERT_TRUE(w.ok()) << w.error_message();
    ASSERT_EQ(resp.consistency_token().positions_size(), 1);
    EXPECT_EQ(resp.consistency_token().positions(0).partition(),
              core::KafkaPartition(customer, kPartitions));
    // ... read at a replica of the owner with the token: the view is there.
    v1::RecommendRequest rec;
    rec.set_customer_id(customer);
    rec.mutable_context()->set_placement("homepage.door_jou_bekeken");
    *rec.mutable_after() = resp.consistency_token();
    v1::RecommendResponse out;
    ASSERT_TRUE(
        Unary([&](grpc::ClientContext* c) { return reader->Recommend(c, rec, &out); }, "", true)
            .ok());
    EXPECT_FALSE(out.token_pending());
    std::set<std::string> shown;
    for (const auto& item : out.items()) shown.insert(item.product_id());
    EXPECT_TRUE(shown.count(absl::StrCat("p", round))) << "round " << round;
  }
  // A token this node cannot have applied (a position past the log's end):
  // answered after --consistency_wait_ms with what it has, saying so.
  v1::RecommendRequest rec;
  rec.set_customer_id(customer);
  rec.mutable_context()->set_placement("homepage.door_jou_bekeken");
  v1::ConsistencyToken::Position* ahead = rec.mutable_after()->add_positions();
  ahead->set_topic("nextbest.events");
  ahead->set_partition(core::KafkaPartition(customer, kPartitions));
  ahead->set_offset(1'000'000'000);
  const int metrics = nodes_[owner * kReplicas + 1].process->metrics_port();
  const int64_t timeouts = MetricValue(metrics, "nextbest_cluster_token_timeouts_total");
  v1::RecommendResponse out;
  const auto asked = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      Unary([&](grpc::ClientContext* c) { return reader->Recommend(c, rec, &out); }, "", true)
          .ok());
  EXPECT_GE(std::chrono::steady_clock::now() - asked, std::chrono::milliseconds(kTokenWaitMs));
  EXPECT_TRUE(out.token_pending());
  EXPECT_GT(out.items_size(), 0);  // what it has: the views applied so far
  EXPECT_EQ(MetricValue(metrics, "nextbest_cluster_token_timeouts_total"), timeouts + 1);
}

// Consent and erasure about a customer of another shard: forwarded to the
// owner, which writes them to the log and answers with what it applied;
// both replicas of the owner then hold the consent, and neither the
// customer once erased.
TEST_F(ClusterTest, ConsentAndErasureAnswerWithWhatTheOwnerApplied) {
  const std::string customer = "private-customer";
  const int owner = core::ShardMap{kPartitions, kShards}.ShardOf(customer);
  const Node& elsewhere = nodes_[((owner + 1) % kShards) * kReplicas];
  {
    auto customers = v1::CustomerService::NewStub(proxy_);
    v1::UpsertCustomersRequest req;
    v1::Customer* c = req.add_customers();
    c->set_customer_id(customer);
    c->set_country("NL");
    v1::UpsertCustomersResponse resp;
    ASSERT_TRUE(Unary([&](grpc::ClientContext* ctx) {
                  return customers->UpsertCustomers(ctx, req, &resp);
                }).ok());
    auto events = v1::EventService::NewStub(proxy_);
    v1::RecordEventsRequest ev;
    for (int i = 0; i < 3; ++i) {
      v1::Event* e = ev.add_events();
      e->set_event_id(absl::StrCat("v", i));
      e->set_customer_id(customer);
      e->set_type(v1::EVENT_TYPE_VIEW);
      e->set_channel(v1::CHANNEL_WEB);
      e->set_product_id("p1");
      *e->mutable_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
    }
    v1::RecordEventsResponse er;
    ASSERT_TRUE(
        Unary([&](grpc::ClientContext* ctx) { return events->RecordEvents(ctx, ev, &er); }).ok());
  }
  auto privacy = v1::PrivacyService::NewStub(elsewhere.process->Channel());
  v1::SetConsentRequest consent;
  consent.set_customer_id(customer);
  consent.set_personalization(true);
  v1::SetConsentResponse cr;
  grpc::Status s =
      Unary([&](grpc::ClientContext* c) { return privacy->SetConsent(c, consent, &cr); });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(cr.consent().personalization());
  EXPECT_FALSE(cr.consent().marketing_email());  // kept as it was
  ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());
  for (int r = 0; r < kReplicas; ++r) {
    auto c = v1::CustomerService::NewStub(nodes_[owner * kReplicas + r].process->Channel());
    v1::GetProfileRequest req;
    req.set_customer_id(customer);
    v1::GetProfileResponse p;
    ASSERT_TRUE(Unary([&](grpc::ClientContext* ctx) { return c->GetProfile(ctx, req, &p); }).ok());
    EXPECT_TRUE(p.customer().consent().personalization()) << "replica " << r;
  }
  v1::EraseCustomerRequest erase;
  erase.set_customer_id(customer);
  v1::EraseCustomerResponse receipt;
  s = Unary([&](grpc::ClientContext* c) { return privacy->EraseCustomer(c, erase, &receipt); });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(receipt.receipt().events_erased(), 3);
  EXPECT_TRUE(receipt.receipt().attributes_erased());
  ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());
  for (int r = 0; r < kReplicas; ++r) {
    auto c = v1::CustomerService::NewStub(nodes_[owner * kReplicas + r].process->Channel());
    v1::GetProfileRequest req;
    req.set_customer_id(customer);
    v1::GetProfileResponse p;
    EXPECT_EQ(
        Unary([&](grpc::ClientContext* ctx) { return c->GetProfile(ctx, req, &p); }).error_code(),
        grpc::StatusCode::NOT_FOUND)
        << "replica " << r;
  }
}

}  // namespace
}  // namespace nextbest::testing
