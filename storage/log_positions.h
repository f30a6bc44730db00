#pragma once
// Log positions: how far this node has applied each partition of the
// cluster's Kafka topics. The writer stores a partition's next offset in
// the SAME write batch as the effects of the records it consumed (meta key
// "log_offset\0<topic>\0<partition>"), so after a crash the node resumes
// exactly where its durable state ends: no record applied twice or lost,
// and no consumer-group commit to keep in step.
//
// AppliedLog publishes the positions to readers without a lock: a
// Recommend that carries a consistency token compares against it.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nextbest::storage {

enum class LogTopic : int32_t { kEvents = 0, kCatalog = 1 };
inline constexpr int kLogTopicCount = 2;

struct LogPosition {
  LogTopic topic = LogTopic::kEvents;
  int32_t partition = 0;
  int64_t next_offset = 0;  // the offset of the first record not applied
  // The position the record follows (the consumer's previous next_offset on
  // the partition): the writer applies the record only if this is where the
  // partition stands, else refuses it (ABORTED) and stores nothing — after
  // a failed write, records queued behind the lost ones are not applied
  // out of order; the consumer goes back to the stored position. -1: no
  // check.
  int64_t follows = -1;
};
using LogPositions = std::vector<LogPosition>;

// The meta key of a partition's stored position.
std::string LogOffsetKey(LogTopic topic, int32_t partition);

class AppliedLog {
 public:
  // `partitions` per topic (0: the node does not consume the topic).
  explicit AppliedLog(std::array<int32_t, kLogTopicCount> partitions = {0, 0});

  int32_t partitions(LogTopic topic) const { return partitions_[static_cast<int>(topic)]; }
  // 0 before anything was applied; 0 also for a partition out of range.
  int64_t NextOffset(LogTopic topic, int32_t partition) const;
  // Writer only: moves forward, never back.
  void Advance(const LogPosition& p);

 private:
  std::array<int32_t, kLogTopicCount> partitions_;
  std::array<std::unique_ptr<std::atomic<int64_t>[]>, kLogTopicCount> next_;
};

}  // namespace nextbest::storage
