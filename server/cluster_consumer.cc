// The cluster node's consumer: records of the shard's partitions and of the
// catalog topic -> the same validation as the gRPC API -> the single
// writer, each record with its position (storage/log_positions.h).
#include <chrono>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "nextbest/v1/catalog.pb.h"
#include "nextbest/v1/customers.pb.h"
#include "nextbest/v1/events.pb.h"
#include "nextbest/v1/privacy.pb.h"
#include "server/cluster_internal.h"
#include "server/log.h"

namespace nextbest::server {
namespace {

template <typename Request>
absl::StatusOr<Request> ParseValue(const storage::KafkaRecord& r) {
  Request request;
  if (!request.ParseFromString(r.value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("value: not a ", Request::descriptor()->full_name()));
  }
  return request;
}

template <typename T>
absl::StatusOr<storage::Command> Wrap(absl::StatusOr<T> c) {
  if (!c.ok()) return c.status();
  return storage::Command(std::move(*c));
}

}  // namespace

ClusterNode::Consumer::Consumer(ClusterNode* node, storage::LogTopic topic,
                                std::unique_ptr<storage::KafkaConsumer> kafka, const Limits& limits,
                                const core::FeatureOptions& features, int64_t clock_skew_ms)
    : node_(node),
      topic_(topic),
      kafka_(std::move(kafka)),
      limits_(limits),
      features_(features),
      clock_skew_ms_(clock_skew_ms) {}

ClusterNode::Consumer::~Consumer() { Stop(); }

void ClusterNode::Consumer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ClusterNode::Consumer::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  // The writer may still call back for records queued: wait for them.
  while (in_flight_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

absl::StatusOr<storage::Command> ClusterNode::Consumer::Decode(const storage::KafkaRecord& r,
                                                               storage::LogTopic topic) const {
  // Validation's clock is the record's own timestamp, so that every replica,
  // consuming now or bootstrapping next month, decides the same.
  const core::TimeMs at = r.timestamp_ms;
  if (topic == storage::LogTopic::kCatalog) {
    if (r.type == kProductsRecord) {
      ASSIGN_OR_RETURN(auto q, ParseValue<v1::UpsertProductsRequest>(r));
      return Wrap(ToUpsertProducts(q, limits_));
    }
    if (r.type == kStoresRecord) {
      ASSIGN_OR_RETURN(auto q, ParseValue<v1::UpsertStoresRequest>(r));
      return Wrap(ToUpsertStores(q, limits_));
    }
    if (r.type == kStockRecord) {
      ASSIGN_OR_RETURN(auto q, ParseValue<v1::SetStockRequest>(r));
      return Wrap(ToSetStock(q, limits_));
    }
    return absl::InvalidArgumentError(absl::StrCat("nextbest-type: '", r.type,
                                                   "' is not a catalog record (products, "
                                                   "stores, stock)"));
  }
  if (r.type.empty() || r.type == kEventRecord) {
    ASSIGN_OR_RETURN(auto e, ParseValue<v1::Event>(r));
    google::protobuf::RepeatedPtrField<v1::Event> one;
    *one.Add() = std::move(e);
    return Wrap(ToRecordEvents(one, limits_, at));
  }
  if (r.type == kCustomersRecord) {
    ASSIGN_OR_RETURN(auto q, ParseValue<v1::UpsertCustomersRequest>(r));
    return Wrap(ToUpsertCustomers(q, limits_, at));
  }
  if (r.type == kConsentRecord) {
    ASSIGN_OR_RETURN(auto q, ParseValue<v1::SetConsentRequest>(r));
    return Wrap(ToSetConsent(q, limits_));
  }
  if (r.type == kEraseRecord) {
    ASSIGN_OR_RETURN(auto q, ParseValue<v1::EraseCustomerRequest>(r));
    RETURN_IF_ERROR(ValidateId(q.customer_id(), "customer_id", limits_));
    // The erasure's times are the record's: the same on every replica.
    storage::EraseCustomer c{q.customer_id(), 0, at, at + clock_skew_ms_};
    return storage::Command(std::move(c));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("nextbest-type: '", r.type,
                   "' is not an events-topic record (event, customers, consent, "
                   "erase)"));
}

absl::Status ClusterNode::Consumer::AssignFromApplied() {
  std::vector<storage::KafkaConsumer::Assignment> assignments;
  const storage::AppliedLog& applied = node_->ingestor_->applied_log();
  const std::vector<int32_t> partitions =
      topic_ == storage::LogTopic::kEvents ? node_->OwnedPartitions() : std::vector<int32_t>{0};
  for (int32_t p : partitions) {
    const int64_t at = applied.NextOffset(topic_, p);
    assignments.push_back({node_->TopicName(topic_), p, at});
    submitted_[{static_cast<int>(topic_), p}] = at;
  }
  return kafka_->Assign(assignments);
}

void ClusterNode::Consumer::Run() {
  if (absl::Status s = AssignFromApplied(); !s.ok()) {
    Log("cluster: cannot assign the log partitions: %s", s.ToString());
    return;
  }
  std::vector<storage::KafkaRecord> records;
  while (!stop_.load()) {
    if (rewind_.load()) {
      // Records queued behind a failed write are refused by the writer; when
      // none is left in flight, read again from the stored positions.
      while (in_flight_.load() > 0 && !stop_.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      rewind_ = false;
      if (absl::Status s = AssignFromApplied(); !s.ok()) {
        Log("cluster: cannot re-assign the log partitions: %s", s.ToString());
      }
    }
    records.clear();
    if (absl::Status s = kafka_->Poll(records, 512, 100); !s.ok()) {
      // E.g. the log no longer holds the stored position (retention): the
      // node stays behind (NOT_SERVING at start) rather than skip records;
      // it needs a peer's checkpoint (README "Cluster").
      Log("cluster: consuming %s failed: %s; retrying from the stored positions in 5 s",
          node_->TopicName(topic_), s.ToString());
      rewind_ = true;
      for (int i = 0; i < 50 && !stop_.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    for (const storage::KafkaRecord& r : records) {
      if (stop_.load() || rewind_.load()) break;
      Submit(r);
    }
    node_->UpdateCaughtUp();
  }
}

void ClusterNode::Consumer::Submit(const storage::KafkaRecord& r) {
  const storage::LogTopic topic = topic_;
  node_->counters_.consumed.fetch_add(1, std::memory_order_relaxed);
  // The catalog as it was when the record was written comes first.
  const storage::AppliedLog& applied = node_->ingestor_->applied_log();
  while (r.catalog_after > 0 &&
         applied.NextOffset(storage::LogTopic::kCatalog, 0) < r.catalog_after && !stop_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  absl::StatusOr<storage::Command> command = Decode(r, topic);
  if (!command.ok()) {
    // A record nobody can apply is consumed all the same (its position is
    // stored with an empty command): one bad producer must not stop the
    // partition. Counted and logged.
    node_->counters_.rejected.fetch_add(1, std::memory_order_relaxed);
    Log("cluster: %s partition %d offset %d refused: %s", r.topic, r.partition, r.offset,
        command.status().ToString());
    command = storage::Command(storage::RecordEvents{});
  }
  while (in_flight_.load() >= kMaxInFlight && !stop_.load()) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  int64_t& follows = submitted_[{static_cast<int>(topic), r.partition}];
  storage::LogPositions positions{{topic, r.partition, r.offset + 1, follows}};
  follows = r.offset + 1;
  in_flight_.fetch_add(1);
  const int64_t next = r.offset + 1;
  auto done = [this, topic, partition = r.partition, next, request_id = r.request_id](
                  absl::Status s, storage::WriteResult result) {
    if (!s.ok()) {
      if (node_->ingestor_->applied_log().NextOffset(topic, partition) < next) {
        rewind_ = true;  // not stored: the write failed or came out of order
      } else {
        node_->counters_.rejected.fetch_add(1, std::memory_order_relaxed);
      }
    }
    node_->DeliverResult(request_id, s, result);
    in_flight_.fetch_sub(1);
  };
  while (true) {
    absl::Status queued = node_->ingestor_->Submit(*command, positions, done);
    if (queued.ok()) return;
    if (!absl::IsResourceExhausted(queued) || stop_.load()) {
      in_flight_.fetch_sub(1);
      rewind_ = true;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the writer's queue is full
  }
}

}  // namespace nextbest::server
