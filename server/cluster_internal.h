#pragma once
// What server/cluster.cc and server/cluster_consumer.cc share.

#include <map>
#include <thread>

#include "server/cluster.h"

namespace nextbest::server {

// The "nextbest-type" header of each kind of record (storage/kafka_log.h).
inline constexpr char kEventRecord[] = "event";          // or no header: a plain nextbest.v1.Event
inline constexpr char kCustomersRecord[] = "customers";  // UpsertCustomersRequest, one customer
inline constexpr char kConsentRecord[] = "consent";      // SetConsentRequest
inline constexpr char kEraseRecord[] = "erase";          // EraseCustomerRequest
inline constexpr char kProductsRecord[] = "products";    // UpsertProductsRequest (catalog topic)
inline constexpr char kStoresRecord[] = "stores";        // UpsertStoresRequest (catalog topic)
inline constexpr char kStockRecord[] = "stock";          // SetStockRequest (catalog topic)

// One record of the cluster log, as a write becomes it.
struct LogRecord {
  storage::LogTopic topic;
  std::string key;
  std::string value;
  std::string type;  // the "nextbest-type" header; empty: a plain event
};
// The records of a validated write request (events and customers: one per
// customer record, keyed by customer id; catalog requests in chunks of 500
// items, keyed "catalog"). FAILED_PRECONDITION for an RPC that does not
// write to the log.
absl::StatusOr<std::vector<LogRecord>> RecordsOf(Rpc rpc, const google::protobuf::Message& m);

class ClusterNode::Consumer {
 public:
  // Consumes the shard's partitions of the events topic, or the catalog
  // topic (one consumer each: an event waits for the catalog it names).
  Consumer(ClusterNode* node, storage::LogTopic topic,
           std::unique_ptr<storage::KafkaConsumer> kafka, const Limits& limits,
           const core::FeatureOptions& features, int64_t clock_skew_ms);
  ~Consumer();
  void Start();
  void Stop();
  const storage::KafkaConsumer& kafka() const { return *kafka_; }

 private:
  void Run();
  absl::Status AssignFromApplied();
  void Submit(const storage::KafkaRecord& r);
  absl::StatusOr<storage::Command> Decode(const storage::KafkaRecord& r,
                                          storage::LogTopic topic) const;

  ClusterNode* const node_;
  const storage::LogTopic topic_;
  std::unique_ptr<storage::KafkaConsumer> kafka_;
  const Limits limits_;
  const core::FeatureOptions features_;
  const int64_t clock_skew_ms_;
  // Consumer thread only: per (topic, partition) the next offset submitted.
  std::map<std::pair<int, int32_t>, int64_t> submitted_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> rewind_{false};
  std::atomic<int> in_flight_{0};
  // Records queued to the writer at most: the writer's queue keeps room for
  // everything else (the offer ledger's saves, served decisions).
  static constexpr int kMaxInFlight = 1024;
  std::thread thread_;
};

}  // namespace nextbest::server
