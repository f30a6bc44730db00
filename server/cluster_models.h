#pragma once
// Global models in a cluster: the shards exchange their model parts
// (core/model_parts.h) through a compacted Kafka topic of one partition,
// and every node merges the latest part of every shard.
//
// At each models build a node builds the part of its own customers (with
// the cut points of its last global build for the segment sizes), adds its
// writer's product popularity, and publishes it: the encoded part
// (storage/model_part_codec.h) in records of at most 512 KiB, keyed
// "shard-S/replica-R/I" so that compaction keeps each replica's latest
// part. The node then reads the topic up to its end as of the publication,
// takes the newest complete part of every other shard (any replica: the
// replicas of a shard hold the same customers), merges them with its own
// and builds the models from the sum. Every node of every shard so serves
// the models of the whole population — equal to a single node's over the
// same events (tests/cluster/) — one build interval fresh. The other
// shards' popularity is added to the writer's own for the trending lists
// until the next build.
//
// A node publishes only once caught up with its shard's log (a starting or
// rebuilding replica would replace its peer's complete part with a partial
// one). A shard whose part is missing (no node of it has built yet) is
// left out and counted in nextbest_cluster_model_shards.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/catalog.h"
#include "core/model_parts.h"
#include "storage/kafka_log.h"

namespace nextbest::server {

class ModelExchange {
 public:
  // Starts reading `topic` (one partition) from its beginning.
  static absl::StatusOr<std::unique_ptr<ModelExchange>> Start(
      const std::string& brokers, const storage::KafkaProperties& properties,
      storage::KafkaProducer* producer, const std::string& topic, int32_t shard, int32_t shards,
      int32_t replica);
  ~ModelExchange();

  // Publishes this node's part; returns once Kafka acknowledged every
  // record (or one failed).
  absl::Status Publish(const core::ModelPart& part, const core::Catalog& catalog);

  struct Others {
    core::ModelPart merged;  // the other shards' parts, added up
    int32_t shards = 0;      // other shards with a part
    int64_t unknown = 0;     // entries naming what this node's catalog lacks
  };
  // Reads the topic up to its end as of now (at most `timeout_ms`), then
  // merges the newest part of every other shard onto `catalog`.
  Others Gather(const core::Catalog& catalog, double popularity_half_life_days, int timeout_ms);

  int64_t parts_published() const { return published_.load(); }
  int64_t parts_received() const { return received_.load(); }
  int64_t bad_records() const { return bad_.load(); }

 private:
  ModelExchange(std::unique_ptr<storage::KafkaConsumer> consumer, storage::KafkaProducer* producer,
                std::string topic, int32_t shard, int32_t shards, int32_t replica);
  void Run();
  void Take(const storage::KafkaRecord& record);

  struct Assembly {
    int64_t generation = -1;
    int32_t count = 0;
    std::vector<std::string> chunks;
    int32_t have = 0;
  };
  struct Complete {
    int64_t generation = -1;
    std::string bytes;  // an encoded storage ModelPartRecord
  };

  std::unique_ptr<storage::KafkaConsumer> consumer_;
  storage::KafkaProducer* producer_;
  const std::string topic_;
  const int32_t shard_, shards_, replica_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> published_{0}, received_{0}, bad_{0};

  std::mutex mu_;
  std::condition_variable read_cv_;
  int64_t next_offset_ = 0;                                  // the next record to read
  std::map<std::pair<int32_t, int32_t>, Assembly> pending_;  // by (shard, replica)
  std::vector<Complete> latest_;                             // by shard
};

}  // namespace nextbest::server
