// The cluster log against librdkafka's mock cluster (3 brokers, in
// process): the producer lands keys where Kafka's Java clients would, an
// idempotent producer delivers every record exactly once through a broker
// failure, and the writer stores a partition's position in the records'
// own write batch — resuming from it applies nothing twice and loses
// nothing, and a record that does not follow the stored position is
// refused without a trace.

#include "storage/kafka_log.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <future>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/partitioning.h"
#include "storage/log_positions.h"
#include "tests/storage/ingestor_fixture.h"

namespace nextbest::storage::testing {
namespace {

constexpr char kTopic[] = "events";
constexpr int kPartitions = 6;

class MockKafka {
 public:
  MockKafka() {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cluster_ = rd_kafka_mock_cluster_new(rk_, 3);
    rd_kafka_mock_topic_create(cluster_, kTopic, kPartitions, 3);
  }
  ~MockKafka() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(rk_);
  }
  std::string brokers() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  rd_kafka_mock_cluster_t* cluster() { return cluster_; }

 private:
  rd_kafka_t* rk_;
  rd_kafka_mock_cluster_t* cluster_;
};

struct Delivery {
  absl::Status status;
  int32_t partition;
  int64_t offset;
};

// Produces and waits for the acknowledgement.
Delivery ProduceAndWait(KafkaProducer& p, const std::string& key, const std::string& value) {
  auto done = std::make_shared<std::promise<Delivery>>();
  auto f = done->get_future();
  absl::Status q =
      p.Produce(kTopic, key, value, "", "", [done](absl::Status s, int32_t pa, int64_t o) {
        done->set_value({s, pa, o});
      });
  if (!q.ok()) return {q, -1, -1};
  return f.get();
}

// Reads every record of the topic from `from` (per partition) until `want`
// records arrived or 20 s passed.
std::vector<KafkaRecord> ReadAll(const std::string& brokers, std::map<int32_t, int64_t> from,
                                 size_t want) {
  auto consumer = KafkaConsumer::Create(brokers, "test");
  EXPECT_TRUE(consumer.ok()) << consumer.status();
  std::vector<KafkaConsumer::Assignment> a;
  for (int32_t p = 0; p < kPartitions; ++p) a.push_back({kTopic, p, from[p]});
  EXPECT_TRUE((*consumer)->Assign(a).ok());
  std::vector<KafkaRecord> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
    EXPECT_TRUE((*consumer)->Poll(out, 1000, 100).ok());
  }
  return out;
}

TEST(KafkaLog, ProducerPartitionsKeysAsKafkasJavaClients) {
  MockKafka kafka;
  auto producer = KafkaProducer::Create(kafka.brokers());
  ASSERT_TRUE(producer.ok()) << producer.status();
  auto n = (*producer)->Partitions(kTopic);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, kPartitions);
  for (int i = 0; i < 60; ++i) {
    const std::string key = absl::StrCat("customer-", i);
    Delivery d = ProduceAndWait(**producer, key, "v");
    ASSERT_TRUE(d.status.ok()) << d.status;
    EXPECT_EQ(d.partition, core::KafkaPartition(key, kPartitions)) << key;
  }
}

TEST(KafkaLog, IdempotentProducerDeliversEveryRecordOnceThroughABrokerFailure) {
  MockKafka kafka;
  auto producer = KafkaProducer::Create(kafka.brokers());
  ASSERT_TRUE(producer.ok());
  constexpr int kRecords = 3000;
  std::atomic<int> acked{0}, failed{0};
  for (int i = 0; i < kRecords; ++i) {
    if (i == kRecords / 3) rd_kafka_mock_broker_set_down(kafka.cluster(), 1);
    if (i == 2 * kRecords / 3) rd_kafka_mock_broker_set_up(kafka.cluster(), 1);
    ASSERT_TRUE((*producer)
                    ->Produce(kTopic, absl::StrCat("c", i % 97), absl::StrCat("r", i), "", "",
                              [&](absl::Status s, int32_t, int64_t) {
                                (s.ok() ? acked : failed).fetch_add(1);
                              })
                    .ok());
  }
  producer->reset();  // flushes: every record is acknowledged or failed
  EXPECT_EQ(acked.load(), kRecords);
  EXPECT_EQ(failed.load(), 0);
  std::vector<KafkaRecord> all = ReadAll(kafka.brokers(), {}, kRecords);
  std::map<std::string, int> seen;
  for (const KafkaRecord& r : all) ++seen[r.value];
  EXPECT_EQ(seen.size(), static_cast<size_t>(kRecords));
  for (const auto& [v, n] : seen) EXPECT_EQ(n, 1) << v << " delivered " << n << " times";
}

class LogIngestTest : public IngestorTest {
 protected:
  void SetUp() override {
    ingest_options_.log_partitions = {kPartitions, 1};
    IngestorTest::SetUp();
    LoadCatalog();
  }
  // Applies `records` as the cluster consumer does: one command per record,
  // its position following the previous one.
  void Apply(const std::vector<KafkaRecord>& records) {
    std::map<int32_t, int64_t> follows;
    for (int32_t p = 0; p < kPartitions; ++p) {
      follows[p] = ingestor_->applied_log().NextOffset(LogTopic::kEvents, p);
    }
    std::vector<std::future<absl::Status>> done;
    for (const KafkaRecord& r : records) {
      auto promise = std::make_shared<std::promise<absl::Status>>();
      done.push_back(promise->get_future());
      RecordEvents c;
      c.events.push_back(View(r.key, r.value, "p1", kT0 + 99 * kDay));
      LogPositions pos{{LogTopic::kEvents, r.partition, r.offset + 1, follows[r.partition]}};
      follows[r.partition] = r.offset + 1;
      ASSERT_TRUE(
          ingestor_
              ->Submit(c, pos, [promise](absl::Status s, WriteResult) { promise->set_value(s); })
              .ok());
    }
    for (auto& f : done) EXPECT_TRUE(f.get().ok());
  }
};

TEST_F(LogIngestTest, ResumingFromStoredPositionsAppliesEveryRecordExactlyOnce) {
  MockKafka kafka;
  auto producer = KafkaProducer::Create(kafka.brokers());
  ASSERT_TRUE(producer.ok());
  constexpr int kRecords = 1200;
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_TRUE(
        ProduceAndWait(**producer, absl::StrCat("c", i % 50), absl::StrCat("e", i)).status.ok());
  }
  // First life: the first 500 records (in log order per partition).
  std::vector<KafkaRecord> all = ReadAll(kafka.brokers(), {}, kRecords);
  ASSERT_EQ(all.size(), static_cast<size_t>(kRecords));
  Apply(std::vector<KafkaRecord>(all.begin(), all.begin() + 500));
  const int64_t first_life = ingestor_->counters().events_accepted.load();
  EXPECT_EQ(first_life, 500);

  // Restart (the positions come back from RocksDB), read on from them.
  Reopen();
  std::map<int32_t, int64_t> from;
  int64_t stored = 0;
  for (int32_t p = 0; p < kPartitions; ++p) {
    from[p] = ingestor_->applied_log().NextOffset(LogTopic::kEvents, p);
    stored += from[p];
  }
  EXPECT_EQ(stored, 500);  // offsets start at 0: the next offsets sum to what was applied
  std::vector<KafkaRecord> rest = ReadAll(kafka.brokers(), from, kRecords - 500);
  ASSERT_EQ(rest.size(), static_cast<size_t>(kRecords - 500));
  Apply(rest);
  EXPECT_EQ(ingestor_->counters().events_accepted.load(), kRecords - 500);
  EXPECT_EQ(ingestor_->counters().events_duplicate.load(), 0);  // nothing applied twice
  int64_t views = 0;
  for (int c = 0; c < 50; ++c) {
    const core::CustomerState* s = Customer(absl::StrCat("c", c));
    ASSERT_NE(s, nullptr);
    views += s->features.events;
  }
  EXPECT_EQ(views, kRecords);  // nothing lost
}

TEST_F(LogIngestTest, ARecordThatDoesNotFollowTheStoredPositionIsRefusedWithoutATrace) {
  RecordEvents c;
  c.events.push_back(View("c1", "e1", "p1", kT0 + 99 * kDay));
  auto submit = [&](LogPositions pos) {
    std::promise<absl::Status> p;
    auto f = p.get_future();
    EXPECT_TRUE(
        ingestor_->Submit(c, pos, [&p](absl::Status s, WriteResult) { p.set_value(s); }).ok());
    return f.get();
  };
  // Position 0 applied nothing yet: a record claiming to follow offset 5 is
  // behind a gap (lost writes before it) and refused.
  absl::Status s = submit({{LogTopic::kEvents, 2, 6, 5}});
  EXPECT_TRUE(absl::IsAborted(s)) << s;
  EXPECT_EQ(ingestor_->applied_log().NextOffset(LogTopic::kEvents, 2), 0);
  EXPECT_EQ(Customer("c1"), nullptr);
  // The record that follows position 0 is applied and stored.
  EXPECT_TRUE(submit({{LogTopic::kEvents, 2, 1, 0}}).ok());
  EXPECT_EQ(ingestor_->applied_log().NextOffset(LogTopic::kEvents, 2), 1);
  Reopen();
  EXPECT_EQ(ingestor_->applied_log().NextOffset(LogTopic::kEvents, 2), 1);
}

}  // namespace
}  // namespace nextbest::storage::testing
