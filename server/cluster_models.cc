#include "server/cluster_models.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "core/live_state.h"
#include "core/models.h"
#include "core/status_macros.h"
#include "server/cluster.h"
#include "server/log.h"
#include "storage/ingestor.h"
#include "storage/model_part_codec.h"

namespace nextbest::server {
namespace {

constexpr size_t kChunkBytes = 512 * 1024;
constexpr char kModelPartType[] = "model-part";

}  // namespace

ModelExchange::ModelExchange(std::unique_ptr<storage::KafkaConsumer> consumer,
                             storage::KafkaProducer* producer, std::string topic, int32_t shard,
                             int32_t shards, int32_t replica)
    : consumer_(std::move(consumer)),
      producer_(producer),
      topic_(std::move(topic)),
      shard_(shard),
      shards_(shards),
      replica_(replica),
      latest_(shards) {}

absl::StatusOr<std::unique_ptr<ModelExchange>> ModelExchange::Start(
    const std::string& brokers, const storage::KafkaProperties& properties,
    storage::KafkaProducer* producer, const std::string& topic, int32_t shard, int32_t shards,
    int32_t replica) {
  ASSIGN_OR_RETURN(int32_t partitions, producer->Partitions(topic));
  if (partitions != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "kafka topic ", topic, " has ", partitions,
        " partitions; the models topic must have exactly 1 (compacted: cleanup.policy=compact)"));
  }
  ASSIGN_OR_RETURN(auto consumer,
                   storage::KafkaConsumer::Create(
                       brokers, absl::StrCat("nextbest-models-", shard, "-", replica), properties));
  RETURN_IF_ERROR(consumer->Assign({{topic, 0, storage::kKafkaOffsetBeginning}}));
  std::unique_ptr<ModelExchange> x(
      new ModelExchange(std::move(consumer), producer, topic, shard, shards, replica));
  x->thread_ = std::thread([p = x.get()] { p->Run(); });
  return x;
}

ModelExchange::~ModelExchange() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ModelExchange::Run() {
  std::vector<storage::KafkaRecord> records;
  while (!stop_.load(std::memory_order_relaxed)) {
    records.clear();
    absl::Status s = consumer_->Poll(records, 64, 100);
    if (!s.ok()) {
      // E.g. the topic's start moved past this reader (retention instead of
      // compaction, or the mock cluster's bound): read it again from its
      // start; parts already held are only replaced by newer ones.
      Log("cluster models: reading %s: %s; reading it again from its start", topic_, s.ToString());
      std::this_thread::sleep_for(std::chrono::seconds(1));
      if (absl::Status a = consumer_->Assign({{topic_, 0, storage::kKafkaOffsetBeginning}});
          !a.ok()) {
        Log("cluster models: %s", a.ToString());
      }
      continue;
    }
    for (const storage::KafkaRecord& r : records) Take(r);
    if (!records.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      next_offset_ = records.back().offset + 1;
      read_cv_.notify_all();
    }
  }
}

void ModelExchange::Take(const storage::KafkaRecord& record) {
  absl::StatusOr<storage::ModelChunk> chunk = storage::ParseModelChunk(record.value, shards_);
  if (record.type != kModelPartType || !chunk.ok()) {
    ++bad_;
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  Assembly& a = pending_[{chunk->shard, chunk->replica}];
  if (a.generation != chunk->generation || a.count != chunk->count) {
    a = Assembly{chunk->generation, chunk->count, std::vector<std::string>(chunk->count), 0};
  }
  std::string& slot = a.chunks[chunk->index];
  if (slot.empty()) ++a.have;
  slot = std::move(chunk->data);
  if (a.have < a.count) return;
  Complete& c = latest_[chunk->shard];
  if (a.generation > c.generation) {
    c.generation = a.generation;
    c.bytes.clear();
    for (const std::string& piece : a.chunks) c.bytes += piece;
    ++received_;
  }
  pending_.erase({chunk->shard, chunk->replica});
}

absl::Status ModelExchange::Publish(const core::ModelPart& part, const core::Catalog& catalog) {
  const std::vector<std::string> chunks =
      storage::EncodeModelPartChunks(part, catalog, shard_, replica_, kChunkBytes);
  const auto count = static_cast<int32_t>(chunks.size());
  struct Acks {
    std::mutex mu;
    std::condition_variable cv;
    int32_t left;
    absl::Status status;
  };
  auto acks = std::make_shared<Acks>();
  acks->left = count;
  for (int32_t i = 0; i < count; ++i) {
    absl::Status queued = producer_->Produce(
        topic_, absl::StrCat("shard-", shard_, "/replica-", replica_, "/", i), chunks[i],
        kModelPartType, "",
        [acks](absl::Status s, int32_t, int64_t) {
          std::lock_guard<std::mutex> lock(acks->mu);
          if (!s.ok() && acks->status.ok()) acks->status = s;
          if (--acks->left == 0) acks->cv.notify_all();
        },
        0);
    if (!queued.ok()) {
      std::lock_guard<std::mutex> lock(acks->mu);
      acks->left -= count - i;  // the rest is never queued
      if (acks->status.ok()) acks->status = queued;
      break;
    }
  }
  std::unique_lock<std::mutex> lock(acks->mu);
  acks->cv.wait(lock, [&] { return acks->left <= 0; });
  if (acks->status.ok()) ++published_;
  return acks->status;
}

ModelExchange::Others ModelExchange::Gather(const core::Catalog& catalog,
                                            double popularity_half_life_days, int timeout_ms) {
  Others out;
  absl::StatusOr<int64_t> end = producer_->End(topic_, 0);
  std::vector<Complete> latest;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (end.ok()) {
      const bool read = read_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                          [&] { return next_offset_ >= *end; });
      if (!read) Log("cluster models: %s not read to its end in %d ms", topic_, timeout_ms);
    } else {
      Log("cluster models: end of %s unknown: %s", topic_, end.status().ToString());
    }
    latest = latest_;
  }
  for (int32_t s = 0; s < shards_; ++s) {
    if (s == shard_ || latest[s].generation < 0) continue;
    absl::StatusOr<storage::DecodedPart> part = storage::DecodeModelPart(latest[s].bytes, catalog);
    if (!part.ok()) {
      Log("cluster models: shard %d's part refused: %s", s, part.status().ToString());
      ++bad_;
      continue;
    }
    core::MergePart(out.merged, part->part, popularity_half_life_days);
    out.unknown += part->unknown;
    ++out.shards;
  }
  return out;
}

}  // namespace nextbest::server

namespace nextbest::server {

std::unique_ptr<const core::Models> ClusterNode::BuildModels(const core::ModelOptions& options,
                                                             core::LiveState& live,
                                                             const core::Models* previous,
                                                             core::TimeMs now) {
  const double half_life = features_.popularity_half_life_days;
  // One guard throughout: the catalog and config read here stay valid (the
  // writer keeps publishing; what it retires is freed after the build).
  core::ReadGuard guard(live.epochs);
  const core::Catalog& catalog = *live.catalog.Get();
  const core::DecisionConfig& config = *live.config.Get();
  core::ModelPart part =
      core::BuildModelPart(options, live.customers, catalog, config, now, previous);
  if (std::shared_ptr<const storage::Ingestor::Popularity> own = ingestor_->CopyPopularity()) {
    part.popularity = own->products;
    part.store_popularity = own->stores;
  }
  // A node still catching up (starting, or rebuilt from the log) holds part
  // of its shard only: its part would replace its peer's complete one.
  if (!CaughtUp()) {
    Log("cluster models: not caught up with the log yet; this build publishes no part");
  } else if (absl::Status s = models_->Publish(part, catalog); !s.ok()) {
    Log("cluster models: publishing shard %d's part: %s", options_.shard, s.ToString());
  }
  ModelExchange::Others others = models_->Gather(catalog, half_life, /*timeout_ms=*/10000);
  auto remote = std::make_shared<storage::Ingestor::Popularity>();
  remote->products = std::move(others.merged.popularity);
  remote->stores = std::move(others.merged.store_popularity);
  others.merged.popularity.clear();
  others.merged.store_popularity.clear();
  ingestor_->SetRemotePopularity(std::move(remote));
  core::MergePart(part, others.merged, half_life);
  set_model_shards(others.shards + 1);
  if (others.shards + 1 < options_.shards || others.unknown > 0) {
    Log("cluster models: merged %d of %d shards' parts (%d entries for products this node's "
        "catalog lacks left out)",
        others.shards + 1, options_.shards, others.unknown);
  }
  return core::ModelsFromPart(options, part, catalog, config, now);
}

}  // namespace nextbest::server
