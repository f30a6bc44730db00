// Global models in the cluster, as real processes (mock Kafka, 3 shards ×
// 2 replicas, HAProxy; server/cluster_models.h): the shards exchange their
// model parts through the models topic, and on the same events every node
// serves what a single process builds over all customers, and answers its
// customers as that process does.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/partitioning.h"
#include "nextbest/v1/admin.grpc.pb.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "tests/cluster/cluster_fixture.h"
#include "tests/server/server_process.h"
#include "tools/demo_retailer.h"

namespace nextbest::testing {
namespace {

// Every shard builds the part of its own customers and publishes it on the
// models topic; every node merges all shards' parts. On the same events,
// each of the 6 nodes serves the models and trending lists a single
// process builds over all customers: the same neighbour tables
// (fingerprint), cut points (recency: up to the seconds between the
// builds), segment sizes and "Populair" lists.
TEST_F(ClusterTest, ModelsAndTrendingAreTheWholePopulationsEqualToASingleNode) {
  tools::RetailerSize size;
  size.customers = 300;
  size.products = 300;
  size.stores = 20;
  size.days = 365;
  const tools::DemoRetailer retailer(size);
  ServerProcess single;
  ASSERT_TRUE(single.Start(dir_.path() + "/single")) << single.log();
  const auto single_channel =
      ChannelWithToken(absl::StrCat("127.0.0.1:", single.grpc_port()), kTestAdminToken);
  ASSERT_NO_FATAL_FAILURE(LoadCatalogAndCustomers(retailer, size.customers));
  ASSERT_NO_FATAL_FAILURE(LoadCatalogAndCustomers(retailer, size.customers, single_channel));
  auto to_cluster = v1::EventService::NewStub(proxy_);
  auto to_single = v1::EventService::NewStub(single_channel);
  int64_t events = 0;
  for (int i = 1; i <= size.customers; ++i) {
    v1::RecordEventsRequest req;
    for (const v1::Event& e : retailer.CustomerEvents(i)) *req.add_events() = e;
    events += req.events_size();
    v1::RecordEventsResponse r1, r2;
    ASSERT_TRUE(
        Unary([&](grpc::ClientContext* c) { return to_cluster->RecordEvents(c, req, &r1); }).ok());
    ASSERT_TRUE(
        Unary([&](grpc::ClientContext* c) { return to_single->RecordEvents(c, req, &r2); }).ok());
    ASSERT_EQ(r1.accepted(), r2.accepted());
  }
  ASSERT_GT(events, 20000);
  ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());

  auto rebuild = [&](const std::shared_ptr<grpc::Channel>& channel) {
    auto admin = v1::AdminService::NewStub(channel);
    v1::RebuildModelsRequest req;
    v1::RebuildModelsResponse resp;
    EXPECT_TRUE(
        Unary([&](grpc::ClientContext* c) { return admin->RebuildModels(c, req, &resp); }).ok());
    return resp;
  };
  auto segments = [&](const std::shared_ptr<grpc::Channel>& channel) {
    auto admin = v1::AdminService::NewStub(channel);
    v1::ListSegmentsRequest req;
    v1::ListSegmentsResponse resp;
    EXPECT_TRUE(
        Unary([&](grpc::ClientContext* c) { return admin->ListSegments(c, req, &resp); }).ok());
    return resp;
  };
  // Four rounds over every node: the first publishes every shard's counts,
  // the second merges them (cut points), the third counts the segment
  // sizes with those cut points, the fourth merges the sizes. (On its
  // schedule a cluster converges the same way, a build interval a round.)
  for (int round = 0; round < 4; ++round) {
    for (const Node& n : nodes_) rebuild(n.process->Channel());
  }
  const v1::RebuildModelsResponse expected = rebuild(single_channel);
  const v1::ListSegmentsResponse expected_segments = segments(single_channel);
  ASSERT_EQ(expected.customers(), size.customers);
  ASSERT_GT(expected.co_purchase_pairs(), 0);
  ASSERT_GT(expected_segments.rfm_population(), 0);

  auto answer = [&](const std::shared_ptr<grpc::Channel>& channel, const std::string& id,
                    const std::string& placement) {
    auto stub = v1::DecisionService::NewStub(channel);
    v1::RecommendRequest req;
    req.set_customer_id(id);
    req.set_request_id("same-rotation");
    req.mutable_context()->set_placement(placement);
    v1::RecommendResponse resp;
    EXPECT_TRUE(Unary([&](grpc::ClientContext* c) { return stub->Recommend(c, req, &resp); }, id,
                      /*forwarded=*/true)
                    .ok());
    std::vector<std::string> ids;
    for (const auto& item : resp.items()) ids.push_back(item.product_id());
    return ids;
  };
  for (const Node& n : nodes_) {
    SCOPED_TRACE(absl::StrCat("node of shard ", n.shard, " replica ", n.replica));
    const v1::RebuildModelsResponse got = rebuild(n.process->Channel());
    EXPECT_EQ(got.customers(), expected.customers());
    EXPECT_EQ(got.fingerprint(), expected.fingerprint());
    EXPECT_EQ(got.co_purchase_pairs(), expected.co_purchase_pairs());
    EXPECT_EQ(got.co_view_pairs(), expected.co_view_pairs());
    EXPECT_EQ(got.consumable_categories(), expected.consumable_categories());
    EXPECT_EQ(MetricValue(n.process->metrics_port(), "nextbest_cluster_model_shards"), kShards);
    EXPECT_EQ(
        MetricValue(n.process->metrics_port(), "nextbest_cluster_model_records_refused_total"), 0);

    const v1::ListSegmentsResponse seg = segments(n.process->Channel());
    EXPECT_EQ(seg.rfm_population(), expected_segments.rfm_population());
    ASSERT_EQ(seg.recency_days_cuts_size(), 4);
    for (int q = 0; q < 4; ++q) {
      // Days since the last purchase at build time: the builds are seconds apart.
      EXPECT_NEAR(seg.recency_days_cuts(q), expected_segments.recency_days_cuts(q), 0.01);
      EXPECT_EQ(seg.frequency_cuts(q), expected_segments.frequency_cuts(q));
      EXPECT_EQ(seg.monetary_cuts(q), expected_segments.monetary_cuts(q));
    }
    EXPECT_EQ(seg.top_current_spend_cut(), expected_segments.top_current_spend_cut());
    EXPECT_EQ(seg.median_baseline_spend(), expected_segments.median_baseline_spend());
    EXPECT_EQ(seg.behaviour_priority(), expected_segments.behaviour_priority());
    ASSERT_EQ(seg.segments_size(), expected_segments.segments_size());
    for (int k = 0; k < seg.segments_size(); ++k) {
      EXPECT_EQ(seg.segments(k).segment(), expected_segments.segments(k).segment());
      EXPECT_EQ(seg.segments(k).customers(), expected_segments.segments(k).customers())
          << seg.segments(k).segment();
    }
    // Answers for customers of the node's shard.
    for (int i = 1, asked = 0; i <= 60 && asked < 3; ++i) {
      const std::string id = absl::StrCat("c", i);
      if (core::ShardMap{kPartitions, kShards}.ShardOf(id) != n.shard) continue;
      ++asked;
      // Trending, and the personal lists built on neighbours, segments and
      // trending: the single process's answers.
      for (const char* placement : {"homepage.populair", "homepage.speciaal_voor_jou"}) {
        const std::vector<std::string> want = answer(single_channel, id, placement);
        EXPECT_FALSE(want.empty());
        EXPECT_EQ(answer(n.process->Channel(), id, placement), want) << id << " " << placement;
      }
    }
  }

  // A wiped replica builds models while it reads its shard back from the
  // log: it publishes no part until caught up (a partial part would take
  // the place of its peer's), so the other shards' models stay whole.
  Node& wiped = nodes_[1];  // shard 0, replica 1
  wiped.process->Stop(SIGKILL);
  std::filesystem::remove_all(wiped.dir);
  ASSERT_NO_FATAL_FAILURE(StartNode(wiped));
  rebuild(wiped.process->Channel());
  const Node& other = nodes_[kReplicas];  // shard 1
  EXPECT_EQ(rebuild(other.process->Channel()).fingerprint(), expected.fingerprint());
  ASSERT_NO_FATAL_FAILURE(WaitCaughtUp());
  EXPECT_EQ(rebuild(wiped.process->Channel()).fingerprint(), expected.fingerprint());
  EXPECT_EQ(rebuild(other.process->Channel()).fingerprint(), expected.fingerprint());
  std::printf("wiped replica's first build %s\n",
              wiped.process->log().find("publishes no part") != std::string::npos
                  ? "ran before it caught up (published nothing)"
                  : "came after it caught up");
}

}  // namespace
}  // namespace nextbest::testing
