#include "server/cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <limits>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status_macros.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "nextbest/v1/catalog.pb.h"
#include "nextbest/v1/customers.pb.h"
#include "nextbest/v1/events.pb.h"
#include "nextbest/v1/privacy.pb.h"
#include "prometheus/metric_family.h"
#include "server/cluster_internal.h"
#include "server/log.h"

namespace nextbest::server {
namespace {

constexpr char kForwardedHeader[] = "x-nextbest-forwarded";
}  // namespace

// ---------------------------------------------------------------------------
// Consistency-token waiters: woken by the writer after each applied group.
class ClusterNode::Waiters {
 public:
  explicit Waiters(const storage::AppliedLog* applied) : applied_(applied) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Waiters() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool Applied(const storage::LogPositions& need) const {
    for (const storage::LogPosition& p : need) {
      if (applied_->NextOffset(p.topic, p.partition) < p.next_offset) return false;
    }
    return true;
  }
  void Add(storage::LogPositions need, absl::Time deadline, std::function<void(bool)> done) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      waiting_.push_back({std::move(need), deadline, std::move(done)});
    }
    cv_.notify_all();
  }
  void Wake() { cv_.notify_all(); }
  // Calls `fire` at `deadline` (a waiter for a position never reached).
  void Timer(absl::Time deadline, std::function<void()> fire) {
    Add({{storage::LogTopic::kEvents, -1, std::numeric_limits<int64_t>::max()}}, deadline,
        [fire = std::move(fire)](bool) { fire(); });
  }

 private:
  struct Waiter {
    storage::LogPositions need;
    absl::Time deadline;
    std::function<void(bool)> done;
  };
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      std::vector<std::pair<std::function<void(bool)>, bool>> fire;
      absl::Time next = absl::InfiniteFuture();
      const absl::Time now = absl::Now();
      for (size_t i = 0; i < waiting_.size();) {
        const bool applied = Applied(waiting_[i].need);
        if (applied || now >= waiting_[i].deadline) {
          fire.emplace_back(std::move(waiting_[i].done), applied);
          waiting_[i] = std::move(waiting_.back());
          waiting_.pop_back();
        } else {
          next = std::min(next, waiting_[i].deadline);
          ++i;
        }
      }
      if (!fire.empty()) {
        lock.unlock();
        for (auto& [done, applied] : fire) done(applied);
        lock.lock();
        continue;
      }
      if (next == absl::InfiniteFuture()) {
        cv_.wait(lock);
      } else {
        cv_.wait_for(lock, absl::ToChronoNanoseconds(next - now));
      }
    }
    for (Waiter& w : waiting_) w.done(false);
  }

  const storage::AppliedLog* applied_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Waiter> waiting_;
  bool stop_ = false;
  std::thread thread_;
};

// ---------------------------------------------------------------------------
// HAProxy's agent check (a TCP connection answered with one line): "up"
// while this node serves, "down" while it is behind the log.
class ClusterNode::Agent {
 public:
  static absl::StatusOr<std::unique_ptr<Agent>> Listen(const std::string& address,
                                                       const std::atomic<bool>* up) {
    std::vector<std::string> hp = absl::StrSplit(address, absl::MaxSplits(':', 1));
    int port = 0;
    if (hp.size() != 2 || !absl::SimpleAtoi(hp[1], &port)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--agent_address: '", address, "' is not HOST:PORT"));
    }
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, hp[0] == "0.0.0.0" || hp[0].empty() ? "0.0.0.0" : hp[0].c_str(),
                  &addr.sin_addr) != 1 ||
        bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 64) != 0) {
      close(fd);
      return absl::UnavailableError(absl::StrCat("cannot listen on agent address ", address));
    }
    return std::unique_ptr<Agent>(new Agent(fd, up));
  }
  ~Agent() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }

 private:
  Agent(int fd, const std::atomic<bool>* up) : fd_(fd), up_(up) {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0) continue;
        const int c = accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        const char* line = up_->load() ? "up ready\n" : "down\n";
        (void)!write(c, line, strlen(line));
        close(c);
      }
    });
  }
  const int fd_;
  const std::atomic<bool>* up_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ---------------------------------------------------------------------------
class ClusterNode::Metrics : public prometheus::Collectable {
 public:
  explicit Metrics(const ClusterNode* node) : node_(node) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> out;
    auto family = [&](const char* name, const char* help, MetricType type) {
      out.push_back({name, help, type, {}});
      return &out.back();
    };
    auto value = [](prometheus::MetricFamily* f, double v,
                    std::vector<prometheus::ClientMetric::Label> labels = {}) {
      prometheus::ClientMetric m;
      m.label = std::move(labels);
      if (f->type == MetricType::Counter) {
        m.counter.value = v;
      } else {
        m.gauge.value = v;
      }
      f->metric.push_back(std::move(m));
    };
    const Counters& c = node_->counters_;
    value(family("nextbest_cluster_consumed_records_total", "Log records consumed",
                 MetricType::Counter),
          static_cast<double>(c.consumed.load()));
    value(family("nextbest_cluster_rejected_records_total",
                 "Log records consumed but refused (invalid, conflicting)", MetricType::Counter),
          static_cast<double>(c.rejected.load()));
    value(family("nextbest_cluster_forwarded_total",
                 "Requests forwarded to a node of the owning shard", MetricType::Counter),
          static_cast<double>(c.forwarded.load()));
    value(family("nextbest_cluster_forward_errors_total",
                 "Forwarded requests no node of the owning shard answered", MetricType::Counter),
          static_cast<double>(c.forward_errors.load()));
    value(family("nextbest_cluster_token_timeouts_total",
                 "Recommends answered before their consistency token was applied",
                 MetricType::Counter),
          static_cast<double>(c.token_timeouts.load()));
    value(family("nextbest_cluster_serving", "1 while caught up with the log (SERVING)",
                 MetricType::Gauge),
          node_->CaughtUp() ? 1 : 0);
    auto* lag = family("nextbest_cluster_partition_lag", "Records of the partition not applied",
                       MetricType::Gauge);
    auto* applied = family("nextbest_cluster_partition_applied_offset",
                           "The partition's next offset to apply", MetricType::Gauge);
    int64_t total_end = 0, total_applied = 0;
    for (const PartitionLag& p : node_->Lag()) {
      const std::vector<prometheus::ClientMetric::Label> l = {
          {"partition", std::to_string(p.partition)}};
      value(lag, p.end < 0 ? -1 : static_cast<double>(std::max<int64_t>(0, p.end - p.applied)), l);
      value(applied, static_cast<double>(p.applied), l);
      total_end += std::max<int64_t>(p.end, 0);
      total_applied += std::min(p.applied, std::max<int64_t>(p.end, 0));
    }
    value(family("nextbest_cluster_bootstrap_progress",
                 "Share of the shard's log applied (1: caught up)", MetricType::Gauge),
          total_end == 0 ? 1.0 : static_cast<double>(total_applied) / total_end);
    value(family("nextbest_cluster_shards", "Shards in the cluster (--shards)", MetricType::Gauge),
          node_->options_.shards);
    value(family("nextbest_cluster_model_shards",
                 "Shards whose model parts the last models build merged (all: global models)",
                 MetricType::Gauge),
          node_->model_shards_.load());
    if (const ModelExchange* x = node_->models(); x != nullptr) {
      value(family("nextbest_cluster_model_parts_published_total",
                   "Model parts this node published", MetricType::Counter),
            static_cast<double>(x->parts_published()));
      value(family("nextbest_cluster_model_parts_received_total",
                   "Other nodes' model parts read in full", MetricType::Counter),
            static_cast<double>(x->parts_received()));
      value(family("nextbest_cluster_model_records_refused_total",
                   "Models-topic records or parts this node could not read (logged)",
                   MetricType::Counter),
            static_cast<double>(x->bad_records()));
    }
    return out;
  }

 private:
  const ClusterNode* node_;
};

// ---------------------------------------------------------------------------
ClusterNode::ClusterNode(const ClusterOptions& options,
                         std::unique_ptr<storage::KafkaProducer> producer, core::ShardMap map)
    : options_(options), producer_(std::move(producer)), map_(map) {
  std::random_device rd;
  node_nonce_ = absl::StrCat(rd(), "-", rd(), "-");
}

absl::StatusOr<std::unique_ptr<ClusterNode>> ClusterNode::Connect(const ClusterOptions& options) {
  if (options.shards < 1) return absl::InvalidArgumentError("--shards: must be >= 1");
  if (options.shard < 0 || options.shard >= options.shards) {
    return absl::InvalidArgumentError(absl::StrCat("--shard: must be in 0..", options.shards - 1));
  }
  ASSIGN_OR_RETURN(auto peers, ParsePeers(options.peers, options.shards));
  ASSIGN_OR_RETURN(auto producer,
                   storage::KafkaProducer::Create(options.kafka_brokers, options.kafka_properties));
  ASSIGN_OR_RETURN(int32_t partitions, producer->Partitions(options.events_topic));
  ASSIGN_OR_RETURN(int32_t catalog_partitions, producer->Partitions(options.catalog_topic));
  if (catalog_partitions != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("kafka topic ", options.catalog_topic, " has ", catalog_partitions,
                     " partitions; the catalog topic must have exactly 1 (one order for all)"));
  }
  if (partitions < options.shards) {
    return absl::FailedPreconditionError(absl::StrCat("kafka topic ", options.events_topic, " has ",
                                                      partitions, " partitions, fewer than the ",
                                                      options.shards, " shards"));
  }
  std::unique_ptr<ClusterNode> node(
      new ClusterNode(options, std::move(producer), core::ShardMap{partitions, options.shards}));
  node->stubs_.resize(options.shards);
  for (const auto& [shard, address] : peers) {
    if (address == options.self_address) continue;
    node->stubs_[shard].push_back(
        std::make_unique<
            grpc::TemplatedGenericStub<google::protobuf::Message, google::protobuf::Message>>(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials())));
  }
  Log("cluster: shard %d of %d, %d partitions (%d owned), %d peers", options.shard, options.shards,
      partitions, static_cast<int>(node->OwnedPartitions().size()), static_cast<int>(peers.size()));
  return node;
}

ClusterNode::~ClusterNode() { Stop(); }

std::array<int32_t, storage::kLogTopicCount> ClusterNode::log_partitions() const {
  return {map_.partitions, 1};
}

std::function<void()> ClusterNode::applied_hook() {
  return [this] {
    if (waiters_ != nullptr) waiters_->Wake();
  };
}

std::vector<int32_t> ClusterNode::OwnedPartitions() const {
  std::vector<int32_t> out;
  for (int32_t p = 0; p < map_.partitions; ++p) {
    if (map_.ShardOfPartition(p) == options_.shard) out.push_back(p);
  }
  return out;
}

absl::Status ClusterNode::Start(storage::Ingestor* ingestor, const Limits& limits,
                                core::FeatureOptions features, const core::Clock* clock) {
  (void)clock;
  ingestor_ = ingestor;
  features_ = features;
  waiters_ = std::make_unique<Waiters>(&ingestor->applied_log());
  if (!options_.agent_address.empty()) {
    ASSIGN_OR_RETURN(agent_, Agent::Listen(options_.agent_address, &caught_up_));
  }
  ASSIGN_OR_RETURN(auto kafka,
                   storage::KafkaConsumer::Create(options_.kafka_brokers,
                                                  absl::StrCat("nextbest-shard-", options_.shard),
                                                  options_.kafka_properties));
  ASSIGN_OR_RETURN(auto catalog_kafka,
                   storage::KafkaConsumer::Create(options_.kafka_brokers,
                                                  absl::StrCat("nextbest-catalog-", options_.shard),
                                                  options_.kafka_properties));
  catalog_consumer_ =
      std::make_unique<Consumer>(this, storage::LogTopic::kCatalog, std::move(catalog_kafka),
                                 limits, features, limits.max_future_skew_ms);
  consumer_ = std::make_unique<Consumer>(this, storage::LogTopic::kEvents, std::move(kafka), limits,
                                         features, limits.max_future_skew_ms);
  ASSIGN_OR_RETURN(models_,
                   ModelExchange::Start(options_.kafka_brokers, options_.kafka_properties,
                                        producer_.get(), options_.models_topic, options_.shard,
                                        options_.shards, options_.replica));
  catalog_consumer_->Start();
  consumer_->Start();
  return absl::OkStatus();
}

void ClusterNode::Stop() {
  if (consumer_ != nullptr) consumer_->Stop();
  if (catalog_consumer_ != nullptr) catalog_consumer_->Stop();
  agent_.reset();
  waiters_.reset();
  models_.reset();
}

std::vector<ClusterNode::PartitionLag> ClusterNode::Lag() const {
  std::vector<PartitionLag> out;
  if (consumer_ == nullptr || ingestor_ == nullptr) return out;
  for (int32_t p : OwnedPartitions()) {
    out.push_back({p, consumer_->kafka().HighWatermark(options_.events_topic, p),
                   ingestor_->applied_log().NextOffset(storage::LogTopic::kEvents, p)});
  }
  return out;
}

void ClusterNode::UpdateCaughtUp() {
  // A bootstrap gate: a starting node serves once it has caught up, and
  // then stays serving while busy — a bulk load may put it many records
  // behind for a while, which a consistency token covers for the caller
  // who needs it, and which the lag metric and its alert report.
  if (caught_up_.load(std::memory_order_relaxed)) return;
  bool ok = true;
  for (const PartitionLag& p : Lag()) {
    if (p.end < 0 || p.end - p.applied > options_.max_serving_lag) ok = false;
  }
  if (ok) caught_up_.store(true, std::memory_order_relaxed);
}

void ClusterNode::Write(Rpc rpc, const google::protobuf::Message& request, Written done) {
  absl::StatusOr<std::vector<LogRecord>> records = RecordsOf(rpc, request);
  if (!records.ok()) return done(records.status(), 0, {});
  if (records->empty()) return done(absl::OkStatus(), 0, {});
  struct Pending {
    std::mutex mu;
    size_t left;
    absl::Status status;
    std::map<std::pair<std::string, int32_t>, int64_t> last;
    Written done;
  };
  bool events = false;
  for (const LogRecord& r : *records) events |= r.topic == storage::LogTopic::kEvents;
  const int64_t catalog_after = CatalogEnd(events);
  auto pending = std::make_shared<Pending>();
  pending->left = records->size();
  pending->done = std::move(done);
  const int64_t n = static_cast<int64_t>(records->size());
  auto finish_one = [pending, n](const std::string& topic, absl::Status s, int32_t partition,
                                 int64_t offset) {
    std::unique_lock<std::mutex> lock(pending->mu);
    if (s.ok()) {
      int64_t& last = pending->last[{topic, partition}];
      last = std::max(last, offset);
    } else if (pending->status.ok()) {
      pending->status = s;
    }
    if (--pending->left > 0) return;
    v1::ConsistencyToken token;
    for (const auto& [tp, offset] : pending->last) {
      auto* p = token.add_positions();
      p->set_topic(tp.first);
      p->set_partition(tp.second);
      p->set_offset(offset);
    }
    lock.unlock();
    pending->done(pending->status, pending->status.ok() ? n : 0, std::move(token));
  };
  for (LogRecord& r : *records) {
    const std::string topic = TopicName(r.topic);
    absl::Status queued = producer_->Produce(
        topic, r.key, r.value, r.type, "",
        [finish_one, topic](absl::Status s, int32_t partition, int64_t offset) {
          finish_one(topic, std::move(s), partition, offset);
        },
        r.topic == storage::LogTopic::kCatalog ? 0 : -1,
        r.topic == storage::LogTopic::kEvents ? catalog_after : -1);
    if (!queued.ok()) finish_one(topic, queued, -1, -1);
  }
}

int64_t ClusterNode::CatalogEnd(bool events) {
  if (!events) return -1;
  absl::StatusOr<int64_t> end = producer_->End(options_.catalog_topic, 0);
  if (!end.ok()) {
    // Unknown: the record is applied with whatever catalog the node has
    // (as a record of another producer would be).
    Log("cluster: the catalog topic's end is unknown: %s", end.status().ToString());
    return -1;
  }
  return *end;
}

void ClusterNode::WriteAndApply(Rpc rpc, const google::protobuf::Message& request,
                                const std::string& customer_id,
                                std::function<void(absl::Status, storage::WriteResult)> done) {
  absl::StatusOr<std::vector<LogRecord>> records = RecordsOf(rpc, request);
  if (!records.ok()) return done(records.status(), {});
  if (records->size() != 1 || records->front().key != customer_id) {
    return done(absl::InternalError("WriteAndApply: one record about the customer expected"), {});
  }
  const std::string id = absl::StrCat(node_nonce_, next_request_.fetch_add(1));
  {
    std::lock_guard<std::mutex> lock(results_mu_);
    results_[id] = std::move(done);
  }
  // The caller is answered even if this node does not apply the record in
  // time (far behind, or a --peers list that disagrees with the shards).
  waiters_->Timer(absl::Now() + absl::Seconds(30), [this, id] {
    DeliverResult(id,
                  absl::DeadlineExceededError(
                      "written to the log but not applied by the customer's shard within 30 s; "
                      "it will be applied in log order"),
                  {});
  });
  const LogRecord& r = records->front();
  absl::Status queued = producer_->Produce(
      TopicName(r.topic), r.key, r.value, r.type, id,
      [this, id](absl::Status s, int32_t, int64_t) {
        if (!s.ok()) DeliverResult(id, s, {});  // never in the log: answer now
      },
      -1, CatalogEnd(r.topic == storage::LogTopic::kEvents));
  if (!queued.ok()) DeliverResult(id, queued, {});
}

void ClusterNode::DeliverResult(const std::string& request_id, const absl::Status& s,
                                const storage::WriteResult& r) {
  if (request_id.empty() || request_id.rfind(node_nonce_, 0) != 0) return;
  std::function<void(absl::Status, storage::WriteResult)> done;
  {
    std::lock_guard<std::mutex> lock(results_mu_);
    auto it = results_.find(request_id);
    if (it == results_.end()) return;
    done = std::move(it->second);
    results_.erase(it);
  }
  done(s, r);
}

void ClusterNode::AwaitToken(const v1::ConsistencyToken& token, std::function<void(bool)> done) {
  storage::LogPositions need;
  for (const auto& p : token.positions()) {
    storage::LogTopic topic;
    if (p.topic() == options_.events_topic) {
      // Only the partitions this node applies: a token from a write about
      // several customers names other shards' partitions too.
      if (p.partition() < 0 || p.partition() >= map_.partitions ||
          map_.ShardOfPartition(p.partition()) != options_.shard) {
        continue;
      }
      topic = storage::LogTopic::kEvents;
    } else if (p.topic() == options_.catalog_topic) {
      topic = storage::LogTopic::kCatalog;
    } else {
      continue;
    }
    need.push_back({topic, p.partition(), p.offset() + 1});
  }
  if (waiters_ == nullptr || waiters_->Applied(need)) return done(true);
  waiters_->Add(std::move(need), absl::Now() + absl::Milliseconds(options_.consistency_wait_ms),
                [this, done = std::move(done)](bool applied) {
                  if (!applied) counters_.token_timeouts.fetch_add(1, std::memory_order_relaxed);
                  done(applied);
                });
}

bool ClusterNode::WasForwarded(const grpc::CallbackServerContext& ctx) {
  return ctx.client_metadata().count(kForwardedHeader) > 0;
}

void ClusterNode::Forward(const std::string& method, const grpc::CallbackServerContext& ctx,
                          const std::string& customer_id, const google::protobuf::Message& request,
                          google::protobuf::Message* response,
                          std::function<void(grpc::Status)> done) {
  const int32_t shard = map_.ShardOf(customer_id);
  auto& replicas = stubs_[shard];
  if (replicas.empty()) {
    counters_.forward_errors.fetch_add(1, std::memory_order_relaxed);
    return done(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             absl::StrCat("no node of shard ", shard, " is configured (--peers)")));
  }
  struct Call {
    std::unique_ptr<grpc::ClientContext> ctx;
    size_t attempt = 0;
  };
  std::string authorization;
  if (auto it = ctx.client_metadata().find("authorization"); it != ctx.client_metadata().end()) {
    authorization.assign(it->second.data(), it->second.size());
  }
  const auto deadline = ctx.deadline();
  const uint32_t first = next_replica_.fetch_add(1, std::memory_order_relaxed);
  counters_.forwarded.fetch_add(1, std::memory_order_relaxed);
  // Tries replica (first + attempt) % n; on UNAVAILABLE the next one.
  auto attempt = std::make_shared<std::function<void(size_t)>>();
  *attempt = [this, &replicas, method, &request, response, done, authorization, deadline, first,
              attempt](size_t i) {
    auto call = std::make_shared<grpc::ClientContext>();
    call->set_deadline(deadline);
    call->AddMetadata(kForwardedHeader, "1");
    if (!authorization.empty()) call->AddMetadata("authorization", authorization);
    auto& stub = replicas[(first + i) % replicas.size()];
    stub->UnaryCall(
        call.get(), method, grpc::StubOptions(), &request, response,
        [this, call, i, &replicas, done, attempt](grpc::Status s) {
          if (s.error_code() == grpc::StatusCode::UNAVAILABLE && i + 1 < replicas.size()) {
            (*attempt)(i + 1);
            return;
          }
          if (!s.ok() && s.error_code() == grpc::StatusCode::UNAVAILABLE) {
            counters_.forward_errors.fetch_add(1, std::memory_order_relaxed);
          }
          done(s);
          *attempt = nullptr;  // breaks the self-reference
        });
  };
  (*attempt)(0);
}

std::shared_ptr<prometheus::Collectable> ClusterNode::metrics() {
  return std::make_shared<Metrics>(this);
}

}  // namespace nextbest::server
