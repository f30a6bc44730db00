// The writer's side of the cluster log: positions written with the effects
// of the records, and read back at start (storage/log_positions.h).
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "storage/ingest_group.h"
#include "storage/log_positions.h"

namespace nextbest::storage {

std::string LogOffsetKey(LogTopic topic, int32_t partition) {
  std::string key = "log_offset";
  key.push_back('\0');
  key.push_back(static_cast<char>('0' + static_cast<int>(topic)));
  key.push_back('\0');
  const auto p = static_cast<uint32_t>(partition);
  for (int shift = 24; shift >= 0; shift -= 8) key.push_back(static_cast<char>(p >> shift));
  return key;
}

AppliedLog::AppliedLog(std::array<int32_t, kLogTopicCount> partitions) : partitions_(partitions) {
  for (int t = 0; t < kLogTopicCount; ++t) {
    next_[t] = std::make_unique<std::atomic<int64_t>[]>(std::max(partitions_[t], 1));
    for (int32_t p = 0; p < std::max(partitions_[t], 1); ++p) next_[t][p].store(0);
  }
}

int64_t AppliedLog::NextOffset(LogTopic topic, int32_t partition) const {
  const int t = static_cast<int>(topic);
  if (partition < 0 || partition >= partitions_[t]) return 0;
  return next_[t][partition].load(std::memory_order_acquire);
}

void AppliedLog::Advance(const LogPosition& p) {
  const int t = static_cast<int>(p.topic);
  if (p.partition < 0 || p.partition >= partitions_[t]) return;
  std::atomic<int64_t>& slot = next_[t][p.partition];
  if (p.next_offset > slot.load(std::memory_order_relaxed)) {
    slot.store(p.next_offset, std::memory_order_release);
  }
}

void Ingestor::PutLogPositions(const LogPositions& positions, rocksdb::WriteBatch& batch) {
  for (const LogPosition& p : positions) {
    std::string value;
    for (int shift = 56; shift >= 0; shift -= 8) {
      value.push_back(static_cast<char>(static_cast<uint64_t>(p.next_offset) >> shift));
    }
    batch.Put(store_->handle(Cf::kMeta), LogOffsetKey(p.topic, p.partition), value);
  }
}

bool Ingestor::InLogOrder(const LogPositions& positions,
                          absl::flat_hash_map<std::pair<int, int32_t>, int64_t>& next) const {
  for (const LogPosition& p : positions) {
    if (p.follows < 0) continue;
    const std::pair<int, int32_t> key{static_cast<int>(p.topic), p.partition};
    auto it = next.find(key);
    const int64_t at =
        it != next.end() ? it->second : applied_log_.NextOffset(p.topic, p.partition);
    if (p.follows != at) return false;
  }
  for (const LogPosition& p : positions) {
    next[{static_cast<int>(p.topic), p.partition}] = p.next_offset;
  }
  return true;
}

absl::Status Ingestor::RecoverLogPositions() {
  for (int t = 0; t < kLogTopicCount; ++t) {
    const auto topic = static_cast<LogTopic>(t);
    for (int32_t p = 0; p < applied_log_.partitions(topic); ++p) {
      ASSIGN_OR_RETURN(std::optional<std::string> v,
                       store_->Get(Cf::kMeta, LogOffsetKey(topic, p)));
      if (!v.has_value()) continue;
      if (v->size() != 8) {
        return absl::DataLossError(
            absl::StrCat("log offset of topic ", t, " partition ", p, " is damaged"));
      }
      uint64_t next = 0;
      for (unsigned char c : *v) next = (next << 8) | c;
      applied_log_.Advance({topic, p, static_cast<int64_t>(next)});
    }
  }
  return absl::OkStatus();
}

}  // namespace nextbest::storage
