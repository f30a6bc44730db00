#include "storage/kafka_log.h"

#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace nextbest::storage {
namespace {

absl::Status Set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    return absl::InvalidArgumentError(absl::StrCat("kafka property ", name, ": ", err));
  }
  return absl::OkStatus();
}

absl::Status FromKafka(rd_kafka_resp_err_t err, absl::string_view what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  const std::string msg = absl::StrCat(what, ": ", rd_kafka_err2str(err));
  switch (err) {
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      return absl::ResourceExhaustedError(msg);
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return absl::NotFoundError(msg);
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      return absl::InvalidArgumentError(msg);
    default:
      return absl::UnavailableError(msg);
  }
}

// Base settings, then the caller's.
absl::StatusOr<rd_kafka_conf_t*> NewConf(
    const std::string& brokers, const std::vector<std::pair<std::string, std::string>>& base,
    const KafkaProperties& extra) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  absl::Status s = Set(conf, "bootstrap.servers", brokers);
  for (const auto& [k, v] : base) {
    if (s.ok()) s = Set(conf, k, v);
  }
  for (const auto& [k, v] : extra) {
    if (s.ok()) s = Set(conf, k, v);
  }
  if (!s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s;
  }
  return conf;
}

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* delivered = static_cast<KafkaProducer::Delivered*>(m->_private);
  if (delivered == nullptr) return;
  (*delivered)(FromKafka(m->err, "kafka delivery"), m->partition, m->offset);
  delete delivered;
}

}  // namespace

KafkaProducer::KafkaProducer(rd_kafka_t* rk) : rk_(rk) {
  poller_ = std::thread([this] {
    while (!stop_.load(std::memory_order_relaxed)) rd_kafka_poll(rk_, 50);
  });
}

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(const std::string& brokers,
                                                                     const KafkaProperties& extra) {
  auto conf = NewConf(brokers,
                      {{"enable.idempotence", "true"},
                       {"acks", "all"},
                       {"partitioner", "murmur2_random"},
                       {"linger.ms", "1"},
                       {"message.timeout.ms", "30000"}},
                      extra);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(*conf, OnDelivery);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return absl::InvalidArgumentError(absl::StrCat("kafka producer: ", err));
  }
  return std::unique_ptr<KafkaProducer>(new KafkaProducer(rk));
}

KafkaProducer::~KafkaProducer() {
  rd_kafka_flush(rk_, 10000);
  stop_ = true;
  poller_.join();
  rd_kafka_poll(rk_, 0);
  rd_kafka_destroy(rk_);
}

absl::Status KafkaProducer::Produce(const std::string& topic, const std::string& key,
                                    const std::string& value, const std::string& type,
                                    const std::string& request_id, Delivered delivered,
                                    int32_t partition, int64_t catalog_after) {
  auto* cb = new Delivered(std::move(delivered));
  rd_kafka_headers_t* headers = nullptr;
  if (!type.empty() || !request_id.empty() || catalog_after >= 0) {
    headers = rd_kafka_headers_new(3);
  }
  const std::string after = catalog_after >= 0 ? std::to_string(catalog_after) : "";
  if (!after.empty()) {
    rd_kafka_header_add(headers, kRecordCatalogHeader, -1, after.data(),
                        static_cast<ssize_t>(after.size()));
  }
  if (!type.empty()) {
    rd_kafka_header_add(headers, kRecordTypeHeader, -1, type.data(),
                        static_cast<ssize_t>(type.size()));
  }
  if (!request_id.empty()) {
    rd_kafka_header_add(headers, kRecordRequestHeader, -1, request_id.data(),
                        static_cast<ssize_t>(request_id.size()));
  }
  rd_kafka_resp_err_t err =
      rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic.c_str()),
                        RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
                        RD_KAFKA_V_KEY(key.data(), key.size()),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
                        RD_KAFKA_V_OPAQUE(cb), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    delete cb;
    if (headers != nullptr) rd_kafka_headers_destroy(headers);
    return FromKafka(err, absl::StrCat("kafka produce to ", topic));
  }
  return absl::OkStatus();
}

absl::StatusOr<int32_t> KafkaProducer::Partitions(const std::string& topic, int timeout_ms) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 0, t, &md, timeout_ms);
  rd_kafka_topic_destroy(t);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromKafka(err, "kafka metadata");
  int32_t n = -1;
  absl::Status s;
  if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    n = md->topics[0].partition_cnt;
  } else if (md->topic_cnt == 1) {
    s = FromKafka(md->topics[0].err, absl::StrCat("kafka topic ", topic));
  } else {
    s = absl::NotFoundError(absl::StrCat("kafka topic ", topic, ": not in the metadata"));
  }
  rd_kafka_metadata_destroy(md);
  if (!s.ok()) return s;
  return n;
}

absl::StatusOr<int64_t> KafkaProducer::End(const std::string& topic, int32_t partition,
                                           int timeout_ms) {
  int64_t low = -1, high = -1;
  rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(rk_, topic.c_str(), partition, &low, &high, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromKafka(err, "kafka watermark query");
  return high;
}

absl::StatusOr<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Create(const std::string& brokers,
                                                                     const std::string& client_id,
                                                                     const KafkaProperties& extra) {
  // A group id is required by the consumer API, but the consumer never
  // joins the group (assign, not subscribe) and never commits offsets.
  auto conf = NewConf(brokers,
                      {{"group.id", client_id},
                       {"client.id", client_id},
                       {"enable.auto.commit", "false"},
                       {"enable.auto.offset.store", "false"},
                       {"enable.partition.eof", "false"},
                       // A stored position the log no longer holds (retention
                       // deleted it) is an error, never a silent jump to the end.
                       {"auto.offset.reset", "error"},
                       {"isolation.level", "read_committed"},
                       {"fetch.wait.max.ms", "10"}},
                      extra);
  if (!conf.ok()) return conf.status();
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", err));
  }
  rd_kafka_poll_set_consumer(rk);
  return std::unique_ptr<KafkaConsumer>(new KafkaConsumer(rk));
}

KafkaConsumer::~KafkaConsumer() {
  rd_kafka_assign(rk_, nullptr);
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

absl::Status KafkaConsumer::Assign(const std::vector<Assignment>& assignments) {
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(assignments.size()));
  for (const Assignment& a : assignments) {
    rd_kafka_topic_partition_list_add(list, a.topic.c_str(), a.partition)->offset = a.start_offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  return FromKafka(err, "kafka assign");
}

absl::Status KafkaConsumer::Poll(std::vector<KafkaRecord>& out, size_t max, int timeout_ms) {
  for (size_t n = 0; n < max; ++n) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, n == 0 ? timeout_ms : 0);
    if (m == nullptr) break;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const bool fatal = m->err == RD_KAFKA_RESP_ERR__FATAL ||
                         m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
                         m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET;
      absl::Status s = FromKafka(m->err, "kafka consume");
      rd_kafka_message_destroy(m);
      if (fatal) return s;
      std::fprintf(stderr, "nextbest: %s (retrying)\n", std::string(s.message()).c_str());
      break;
    }
    KafkaRecord r;
    r.topic = rd_kafka_topic_name(m->rkt);
    r.partition = m->partition;
    r.offset = m->offset;
    rd_kafka_timestamp_type_t tstype;
    r.timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
    if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload != nullptr) r.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      auto header = [&](const char* name, std::string& out) {
        const void* v = nullptr;
        size_t size = 0;
        if (rd_kafka_header_get_last(headers, name, &v, &size) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            v != nullptr) {
          out.assign(static_cast<const char*>(v), size);
        }
      };
      header(kRecordTypeHeader, r.type);
      header(kRecordRequestHeader, r.request_id);
      std::string after;
      header(kRecordCatalogHeader, after);
      if (!after.empty()) r.catalog_after = std::strtoll(after.c_str(), nullptr, 10);
    }
    rd_kafka_message_destroy(m);
    out.push_back(std::move(r));
  }
  return absl::OkStatus();
}

int64_t KafkaConsumer::HighWatermark(const std::string& topic, int32_t partition) const {
  int64_t low = -1, high = -1;
  if (rd_kafka_get_watermark_offsets(rk_, topic.c_str(), partition, &low, &high) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return -1;
  }
  return high;
}

}  // namespace nextbest::storage
