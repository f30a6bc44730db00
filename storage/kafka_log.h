#pragma once
// The cluster's log on Kafka (librdkafka's C API): a producer that lands a
// customer's records on the partition Kafka's Java clients would pick
// (partitioner murmur2_random, core/partitioning.h), idempotent with
// acks=all, acknowledging once every in-sync replica has the record; and a
// consumer of explicitly assigned partitions from explicit offsets (the
// node's stored positions, storage/log_positions.h) — no consumer group,
// no offset commits: the offsets live in RocksDB with the effects.
//
// Records carry their kind in the header "nextbest-type" (absent: an
// event, the value a nextbest.v1.Event, as any producer may write it).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace nextbest::storage {

inline constexpr char kRecordTypeHeader[] = "nextbest-type";
// The writing node's id for the record, so that it can answer its caller
// with the result of applying it (absent on other producers' records).
inline constexpr char kRecordRequestHeader[] = "nextbest-request";
// On events-topic records written by a node: the catalog topic's end when
// the record was written. Every replica applies the record only after the
// catalog up to there, so a product upserted (and acknowledged) before an
// event about it is known when the event is applied, on every replica.
inline constexpr char kRecordCatalogHeader[] = "nextbest-catalog";

struct KafkaRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;  // the record's Kafka timestamp (create or append time)
  std::string key;
  std::string value;
  std::string type;            // the "nextbest-type" header; empty for plain events
  std::string request_id;      // the "nextbest-request" header, if any
  int64_t catalog_after = -1;  // the "nextbest-catalog" header, if any
};

// librdkafka properties beyond the defaults (e.g. "security.protocol").
using KafkaProperties = std::map<std::string, std::string>;

class KafkaProducer {
 public:
  // Runs on the producer's own thread once the record is acknowledged by
  // the cluster (acks=all) or failed for good.
  using Delivered = std::function<void(absl::Status, int32_t partition, int64_t offset)>;

  static absl::StatusOr<std::unique_ptr<KafkaProducer>> Create(const std::string& brokers,
                                                               const KafkaProperties& extra = {});
  ~KafkaProducer();  // waits up to 10 s for records in flight

  // Queues one record; `partition` < 0: the murmur2 partitioner picks it
  // from the key. UNAVAILABLE/RESOURCE_EXHAUSTED if it cannot be queued
  // (then `delivered` is not called).
  absl::Status Produce(const std::string& topic, const std::string& key, const std::string& value,
                       const std::string& type, const std::string& request_id, Delivered delivered,
                       int32_t partition = -1, int64_t catalog_after = -1);
  // The end of a partition (the offset the next record will get), asked
  // from its leader.
  absl::StatusOr<int64_t> End(const std::string& topic, int32_t partition, int timeout_ms = 2000);
  // The number of partitions of `topic` (asks the cluster).
  absl::StatusOr<int32_t> Partitions(const std::string& topic, int timeout_ms = 5000);

 private:
  explicit KafkaProducer(rd_kafka_t* rk);
  rd_kafka_t* rk_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

// A start offset: the partition's first retained record (a compacted
// topic read in full).
inline constexpr int64_t kKafkaOffsetBeginning = -2;

class KafkaConsumer {
 public:
  struct Assignment {
    std::string topic;
    int32_t partition = 0;
    int64_t start_offset = 0;  // the first record to read
  };

  static absl::StatusOr<std::unique_ptr<KafkaConsumer>> Create(const std::string& brokers,
                                                               const std::string& client_id,
                                                               const KafkaProperties& extra = {});
  ~KafkaConsumer();

  // Replaces the assignment: reading starts at each start_offset.
  absl::Status Assign(const std::vector<Assignment>& assignments);
  // Appends up to `max` records, waiting at most `timeout_ms` for the first.
  // Transient broker errors are logged and retried by librdkafka (not
  // returned); a record the consumer cannot read at all is an error.
  absl::Status Poll(std::vector<KafkaRecord>& out, size_t max, int timeout_ms);
  // The partition's end (the offset the next record will get), as last seen
  // in a fetch; -1 if not known yet.
  int64_t HighWatermark(const std::string& topic, int32_t partition) const;

 private:
  explicit KafkaConsumer(rd_kafka_t* rk) : rk_(rk) {}
  rd_kafka_t* rk_;
};

}  // namespace nextbest::storage
