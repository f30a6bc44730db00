#pragma once
// Partitioning: which Kafka partition a customer's records go to, and which
// shard of a cluster owns that partition.
//
// The partition is Kafka's standard key partitioning, as the Java client's
// default partitioner computes it for a keyed record:
//     partition = (murmur2(key) & 0x7fffffff) % partitions
// with murmur2 the 32-bit MurmurHash2 variant of
// org.apache.kafka.common.utils.Utils.murmur2 (seed 0x9747b28c). Any
// producer in a retailer's estate that keys records by customer id (Java,
// librdkafka with partitioner=murmur2_random, kcat -X partitioner=murmur2,
// Kafka Streams) lands a customer's records on the same partition.
//
// The shard mapping is static: partition p belongs to shard p % shards.
// Static, not a consumer group: the replicas of a shard must consume the
// same partitions, in the same order, independently — a consumer group
// would spread a shard's partitions over its replicas instead — and a
// router (the proxy, the CLI) can compute the owner of a customer from the
// id alone, without asking anyone.

#include <cstdint>
#include <string_view>

namespace nextbest::core {

// Kafka's murmur2 of `key` (signed, as Java's int).
int32_t KafkaMurmur2(std::string_view key);

// The partition Kafka's default (murmur2) partitioner picks for `key`.
int32_t KafkaPartition(std::string_view key, int32_t partitions);

struct ShardMap {
  int32_t partitions = 1;  // of the events topic
  int32_t shards = 1;

  int32_t ShardOfPartition(int32_t partition) const { return partition % shards; }
  int32_t ShardOf(std::string_view customer_id) const {
    return ShardOfPartition(KafkaPartition(customer_id, partitions));
  }
};

// An offer's total cap in a cluster: every node serves from its own share,
// cap / nodes, the remainder one each to the first nodes, so the shares add
// up to the cap exactly and the cluster never serves more than the cap
// (a share left unused on a quiet or stopped node is not lent to the
// others: the cluster may serve less). `node` in 0..nodes-1. A share of
// nothing is -1 (OfferSpec::total_cap: none to serve here; 0 means no cap).
inline int64_t CapShare(int64_t cap, int node, int nodes) {
  if (nodes <= 1 || cap <= 0) return cap;
  const int64_t share = cap / nodes + (node < cap % nodes ? 1 : 0);
  return share > 0 ? share : -1;
}

}  // namespace nextbest::core
