#pragma once
// Cluster mode (README "Cluster"): N shards × R replicas on one Kafka log.
//
//   - Writes (events, customers, consent, erasure, catalog) go to Kafka
//     first and are acknowledged once Kafka has them (idempotent producer,
//     acks=all), with a consistency token (partition, offset).
//   - Every node consumes the partitions of its shard (partition p belongs
//     to shard p % N, core/partitioning.h) and the whole catalog topic, and
//     applies them through its single writer, the partition's position in
//     the same RocksDB batch as the effects (storage/log_positions.h): the
//     replicas of a shard apply the same records in the same order and hold
//     the same state; a restarted node resumes where its durable state ends.
//   - A request about a customer of another shard is forwarded, one hop,
//     with the caller's deadline, to a node of that shard (the proxy
//     normally routes it there directly: deploy/haproxy/).
//   - A starting node reports SERVING (gRPC health, HAProxy agent check)
//     only once its lag behind the log is at most max_serving_lag records.
//
// Thread-safety: everything after Start() from any thread.

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "core/partitioning.h"
#include "google/protobuf/message.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/server_context.h"
#include "nextbest/v1/common.pb.h"
#include "prometheus/collectable.h"
#include "server/cluster_models.h"
#include "server/metrics.h"
#include "server/validation.h"
#include "storage/ingestor.h"
#include "storage/kafka_log.h"

namespace nextbest::server {

struct ClusterOptions {
  std::string kafka_brokers;  // empty: a single process (no cluster)
  std::string events_topic = "nextbest.events";
  std::string catalog_topic = "nextbest.catalog";
  // The shards' model parts (one partition, compacted; server/cluster_models.h).
  std::string models_topic = "nextbest.models";
  int32_t shards = 1;
  int32_t shard = 0;
  // Replicas per shard and this node's replica number: each node serves an
  // offer's total cap from its share (core::CapShare over shards × replicas).
  int32_t replicas = 1;
  int32_t replica = 0;
  // Every node, "SHARD@HOST:PORT" (this one may be listed too): where a
  // request about another shard's customer is forwarded.
  std::vector<std::string> peers;
  std::string self_address;  // this node's entry in `peers`, never forwarded to
  // A starting node is SERVING once every owned partition is at most this
  // many records behind the log's end.
  int64_t max_serving_lag = 1000;
  // How long a Recommend waits for its consistency token at most.
  int consistency_wait_ms = 50;
  // HAProxy agent check (HOST:PORT; empty: off): answers "up" or "down".
  std::string agent_address;
  storage::KafkaProperties kafka_properties;
};

// Parses "--peers" ("0@h:p,1@h:p,...") and checks the shard numbers.
absl::StatusOr<std::vector<std::pair<int32_t, std::string>>> ParsePeers(
    const std::vector<std::string>& peers, int32_t shards);

class ClusterNode {
 public:
  // Connects to Kafka and learns the topics' partitions; nothing is
  // consumed before Start().
  static absl::StatusOr<std::unique_ptr<ClusterNode>> Connect(const ClusterOptions& options);
  ~ClusterNode();  // Stop()

  // For the writer's options: the partitions whose positions it stores, and
  // the hook that wakes consistency-token waiters.
  std::array<int32_t, storage::kLogTopicCount> log_partitions() const;
  std::function<void()> applied_hook();

  // Starts consuming into `ingestor` from its stored positions.
  absl::Status Start(storage::Ingestor* ingestor, const Limits& limits, core::FeatureOptions f,
                     const core::Clock* clock);
  void Stop();

  const core::ShardMap& shard_map() const { return map_; }
  int32_t shard() const { return options_.shard; }
  bool Owns(std::string_view customer_id) const {
    return map_.ShardOf(customer_id) == options_.shard;
  }
  // Since the start, once caught up: lag within max_serving_lag on every
  // owned partition (and the log's end known for each). It stays true
  // afterwards (a busy node is behind for a while; tokens cover that).
  bool CaughtUp() const { return caught_up_.load(std::memory_order_relaxed); }

  // --- writes ----------------------------------------------------------
  using Written = std::function<void(absl::Status, int64_t records, v1::ConsistencyToken)>;
  // Writes an already validated request to the log: events one record per
  // event (key: customer id; the value the nextbest.v1.Event), customers
  // one record per customer, catalog requests whole to the catalog topic.
  // `done` runs once Kafka acknowledged every record (or one failed).
  void Write(Rpc rpc, const google::protobuf::Message& request, Written done);
  // Writes one record about `customer_id` (consent, erasure) that this node
  // applies itself (it owns the customer); `done` gets the writer's result.
  void WriteAndApply(Rpc rpc, const google::protobuf::Message& request,
                     const std::string& customer_id,
                     std::function<void(absl::Status, storage::WriteResult)> done);

  // --- reads -----------------------------------------------------------
  // Calls `done(applied)` once this node applied every position of `token`
  // it consumes (at once if it did), or with false after `consistency_wait_ms`.
  void AwaitToken(const v1::ConsistencyToken& token, std::function<void(bool applied)> done);
  // Forwards a unary call to a node of the shard owning `customer_id`
  // (trying its replicas in turn), with the caller's deadline and
  // credentials. `done` runs on a gRPC thread.
  void Forward(const std::string& method, const grpc::CallbackServerContext& ctx,
               const std::string& customer_id, const google::protobuf::Message& request,
               google::protobuf::Message* response, std::function<void(grpc::Status)> done);
  // True if the call was forwarded by another node (answer it here).
  static bool WasForwarded(const grpc::CallbackServerContext& ctx);

  std::shared_ptr<prometheus::Collectable> metrics();

  struct Counters {
    std::atomic<int64_t> consumed{0};
    std::atomic<int64_t> rejected{0};  // records the writer or validation refused
    std::atomic<int64_t> forwarded{0};
    std::atomic<int64_t> forward_errors{0};
    std::atomic<int64_t> token_timeouts{0};
  };
  const Counters& counters() const { return counters_; }
  // The model exchange (after Start()).
  ModelExchange* models() const { return models_.get(); }
  // One models build of the whole population (server/cluster_models.cc):
  // this shard's part (segment sizes with `previous`'s cut points, if any)
  // published, merged with every other shard's newest; the other shards'
  // popularity handed to the writer for the trending lists. On the models
  // thread, outside any ReadGuard.
  std::unique_ptr<const core::Models> BuildModels(const core::ModelOptions& options,
                                                  core::LiveState& live,
                                                  const core::Models* previous, core::TimeMs now);
  // Shards whose parts the last models build merged (this one included).
  void set_model_shards(int32_t n) { model_shards_.store(n, std::memory_order_relaxed); }
  // Per owned events partition: the log's end and this node's position.
  struct PartitionLag {
    int32_t partition;
    int64_t end;  // -1: not known yet
    int64_t applied;
  };
  std::vector<PartitionLag> Lag() const;

 private:
  class Consumer;
  class Waiters;
  class Agent;
  class Metrics;

  ClusterNode(const ClusterOptions& options, std::unique_ptr<storage::KafkaProducer> producer,
              core::ShardMap map);
  std::string TopicName(storage::LogTopic t) const {
    return t == storage::LogTopic::kEvents ? options_.events_topic : options_.catalog_topic;
  }
  void UpdateCaughtUp();
  // The catalog topic's end, stamped on events-topic records (-1: none).
  int64_t CatalogEnd(bool events);
  std::vector<int32_t> OwnedPartitions() const;
  // A record this node wrote with WriteAndApply was applied: answer its caller.
  void DeliverResult(const std::string& request_id, const absl::Status& s,
                     const storage::WriteResult& r);

  const ClusterOptions options_;
  std::unique_ptr<storage::KafkaProducer> producer_;
  const core::ShardMap map_;
  storage::Ingestor* ingestor_ = nullptr;
  core::FeatureOptions features_;
  std::unique_ptr<Consumer> consumer_;          // the shard's events partitions
  std::unique_ptr<Consumer> catalog_consumer_;  // the catalog topic
  std::unique_ptr<Waiters> waiters_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<ModelExchange> models_;
  std::atomic<int32_t> model_shards_{0};
  std::atomic<bool> caught_up_{false};
  Counters counters_;

  // Peers by shard, and their stubs.
  std::vector<std::vector<std::unique_ptr<
      grpc::TemplatedGenericStub<google::protobuf::Message, google::protobuf::Message>>>>
      stubs_;
  std::atomic<uint32_t> next_replica_{0};

  // WriteAndApply: the callers waiting for their record's result.
  std::mutex results_mu_;
  absl::flat_hash_map<std::string, std::function<void(absl::Status, storage::WriteResult)>>
      results_;
  std::atomic<uint64_t> next_request_{0};
  std::string node_nonce_;
};

}  // namespace nextbest::server
