// nextbest-load: closed-loop gRPC load against a running nextbest-server,
// measuring every request kind next to an empty Ping on the same server in
// the same run. Phases alternate (ping, recommend..., ping, ...) for
// --rounds rounds so that drift on a shared machine hits all kinds alike;
// the figures are medians over rounds.
//
//   nextbest-load --target=127.0.0.1:50051 --concurrency=16 --duration_s=5 --rounds=3 \
//     --kinds=ping,homepage.door_jou_bekeken,homepage.populair,checkout.vergeten,record
//
// Kinds: "ping" (empty RPC), a placement id (Recommend for a random customer
// c1..c<customers>), "record" (RecordEvents with one new view event).
// Closed loop by default (--concurrency requests in flight); open loop with
// --rate=N (N requests/s per phase at fixed intervals, latency measured from
// each request's scheduled time, so a stalled server cannot hide its queue).
// Ends with "name value" summary lines.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "grpcpp/grpcpp.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "server address");
ABSL_FLAG(int, concurrency, 16, "requests in flight");
ABSL_FLAG(int, channels, 4, "gRPC channels (connections)");
ABSL_FLAG(double, duration_s, 5, "seconds per phase");
ABSL_FLAG(int, rounds, 3, "rounds of all phases");
ABSL_FLAG(int, customers, 2000, "customer ids c1..cN to ask for");
ABSL_FLAG(bool, routing_header, false,
          "cluster: send the customer in x-customer-id (the proxy routes on it)");
ABSL_FLAG(bool, answer_here, false,
          "cluster: mark calls as forwarded already (x-nextbest-forwarded), so the node answers "
          "every customer itself: the cost of a call without the hop");
ABSL_FLAG(double, rate, 0,
          "open loop: requests per second per phase at fixed intervals (0: closed loop with "
          "--concurrency in flight); latency counts from each request's scheduled time");
ABSL_FLAG(int, max_in_flight, 2000,
          "open loop: requests beyond this many in flight are dropped and counted");
ABSL_FLAG(int, stream_chunk, 0,
          "instead of the phases: StreamEvents ingest, one stream per --concurrency, chunks of "
          "this many new view events, for --duration_s; prints ingest_grpc_stream_events_per_s");
ABSL_FLAG(std::string, kinds, "ping,homepage.door_jou_bekeken,homepage.populair,checkout.vergeten",
          "comma-separated phases: ping, a placement id, or record");

namespace {

using Clock = std::chrono::steady_clock;
namespace v1 = nextbest::v1;

struct PhaseResult {
  std::vector<double> latency_us;
  double seconds = 0;
  int64_t errors = 0;
  std::string first_error;
  double Percentile(double q) const {
    if (latency_us.empty()) return 0;
    return latency_us[std::min(latency_us.size() - 1, static_cast<size_t>(q * latency_us.size()))];
  }
  double Qps() const { return latency_us.size() / seconds; }
};

class Phase {
 public:
  Phase(const std::vector<std::shared_ptr<grpc::Channel>>& channels, std::string kind,
        int customers)
      : kind_(std::move(kind)), customers_(customers) {
    for (auto& ch : channels) {
      decisions_.push_back(v1::DecisionService::NewStub(ch));
      events_.push_back(v1::EventService::NewStub(ch));
    }
  }

  // Open loop: a request every 1/rate seconds whatever the server does.
  PhaseResult RunOpen(double rate, double seconds, int max_in_flight) {
    std::vector<double> latencies;
    std::mutex mu;
    std::condition_variable cv;
    int in_flight = 0;
    int64_t errors = 0, dropped = 0;
    std::string first_error;
    const auto start = Clock::now();
    const auto interval = std::chrono::duration<double>(1.0 / rate);
    std::mt19937_64 rng(++run_);
    for (int64_t i = 0;; ++i) {
      const auto scheduled = start + std::chrono::duration_cast<Clock::duration>(interval * i);
      if (std::chrono::duration<double>(scheduled - start).count() >= seconds) break;
      std::this_thread::sleep_until(scheduled);
      {
        std::lock_guard<std::mutex> lock(mu);
        if (in_flight >= max_in_flight) {
          ++dropped;
          continue;
        }
        ++in_flight;
      }
      auto* slot = new Slot();
      slot->rng.seed(rng());
      slot->index = static_cast<int>(i);
      slot->run = run_;
      slot->sent = 0;
      slot->started = scheduled;
      Send(*slot, [&, slot](grpc::Status st) {
        const double us =
            std::chrono::duration<double, std::micro>(Clock::now() - slot->started).count();
        std::lock_guard<std::mutex> lock(mu);
        if (st.ok()) {
          latencies.push_back(us);
        } else {
          ++errors;
          if (first_error.empty()) first_error = st.error_message();
        }
        delete slot;
        if (--in_flight == 0) cv.notify_all();
      });
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return in_flight == 0; });
    PhaseResult r;
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    r.latency_us = std::move(latencies);
    r.errors = errors + dropped;
    r.first_error =
        dropped > 0 ? absl::StrCat(dropped, " dropped: over --max_in_flight") : first_error;
    std::sort(r.latency_us.begin(), r.latency_us.end());
    return r;
  }

  PhaseResult Run(int concurrency, double seconds) {
    slots_.clear();
    for (int i = 0; i < concurrency; ++i) {
      slots_.push_back(std::make_unique<Slot>());
      slots_.back()->rng.seed(i * 7919 + run_);
      slots_.back()->index = i;
      slots_.back()->run = run_;
    }
    ++run_;
    active_ = concurrency;
    stop_ = false;
    const auto start = Clock::now();
    for (auto& s : slots_) Issue(*s);
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop_ = true;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return active_ == 0; });
    }
    PhaseResult r;
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    for (auto& s : slots_) {
      r.latency_us.insert(r.latency_us.end(), s->latency_us.begin(), s->latency_us.end());
      r.errors += s->errors;
      if (r.first_error.empty()) r.first_error = s->first_error;
    }
    std::sort(r.latency_us.begin(), r.latency_us.end());
    return r;
  }

 private:
  struct Slot {
    std::unique_ptr<grpc::ClientContext> ctx;
    v1::PingRequest ping_req;
    v1::PingResponse ping_resp;
    v1::RecommendRequest rec_req;
    v1::RecommendResponse rec_resp;
    v1::RecordEventsRequest ev_req;
    v1::RecordEventsResponse ev_resp;
    Clock::time_point started;
    std::vector<double> latency_us;
    int64_t errors = 0;
    std::string first_error;
    std::mt19937_64 rng;
    int index = 0;
    int run = 0;  // phase run: event ids never repeat across rounds
    int64_t sent = 0;
  };

  void Issue(Slot& s) {
    s.started = Clock::now();
    Send(s, [this, &s](grpc::Status st) { Done(s, st); });
  }

  void Send(Slot& s, std::function<void(grpc::Status)> done) {
    s.ctx = std::make_unique<grpc::ClientContext>();
    s.ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    const size_t stub = s.index % decisions_.size();
    if (kind_ == "ping") {
      decisions_[stub]->async()->Ping(s.ctx.get(), &s.ping_req, &s.ping_resp, done);
    } else if (kind_ == "record") {
      s.ev_req.Clear();
      v1::Event* e = s.ev_req.add_events();
      const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      e->set_event_id(absl::StrCat("load-", nonce_, "-", s.run, "-", s.index, "-", s.sent++));
      e->set_customer_id(absl::StrCat("c", 1 + s.rng() % customers_));
      e->set_type(v1::EVENT_TYPE_VIEW);
      e->mutable_time()->set_seconds(now);
      e->set_channel(v1::CHANNEL_WEB);
      e->set_product_id(absl::StrCat("p", 1 + s.rng() % 100));
      events_[stub]->async()->RecordEvents(s.ctx.get(), &s.ev_req, &s.ev_resp, done);
    } else {
      s.rec_req.Clear();
      s.rec_req.set_customer_id(absl::StrCat("c", 1 + s.rng() % customers_));
      if (absl::GetFlag(FLAGS_routing_header)) {
        s.ctx->AddMetadata("x-customer-id", s.rec_req.customer_id());
      }
      if (absl::GetFlag(FLAGS_answer_here)) s.ctx->AddMetadata("x-nextbest-forwarded", "1");
      s.rec_req.mutable_context()->set_placement(kind_);
      s.rec_req.mutable_context()->add_cart_product_ids("p1");
      if (absl::StartsWith(kind_, "pdp.")) {  // a product page: the product on screen
        s.rec_req.mutable_context()->set_product_id(absl::StrCat("p", 2 + s.rng() % 200));
      }
      decisions_[stub]->async()->Recommend(s.ctx.get(), &s.rec_req, &s.rec_resp, done);
    }
  }

  void Done(Slot& s, const grpc::Status& st) {
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - s.started).count();
    if (st.ok()) {
      s.latency_us.push_back(us);
    } else {
      ++s.errors;
      if (s.first_error.empty()) s.first_error = st.error_message();
    }
    if (!stop_) {
      Issue(s);
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (--active_ == 0) cv_.notify_all();
  }

  const std::string kind_;
  const int customers_;
  std::vector<std::unique_ptr<v1::DecisionService::Stub>> decisions_;
  std::vector<std::unique_ptr<v1::EventService::Stub>> events_;
  std::vector<std::unique_ptr<Slot>> slots_;
  const int64_t nonce_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int active_ = 0;
  int run_ = 0;
};

// Client-streaming ingest: each thread keeps one StreamEvents call open and
// writes chunks of new events until the time is up.
int RunStreamIngest(const std::vector<std::shared_ptr<grpc::Channel>>& channels) {
  const int threads = absl::GetFlag(FLAGS_concurrency), chunk = absl::GetFlag(FLAGS_stream_chunk);
  const double seconds = absl::GetFlag(FLAGS_duration_s);
  const int customers = absl::GetFlag(FLAGS_customers);
  std::atomic<int64_t> accepted{0};
  std::atomic<int> failures{0};
  const int64_t nonce = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  const auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto stub = v1::EventService::NewStub(channels[t % channels.size()]);
      grpc::ClientContext ctx;
      v1::StreamEventsResponse resp;
      auto writer = stub->StreamEvents(&ctx, &resp);
      std::mt19937_64 rng(t);
      const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      int64_t seq = 0;
      while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
        v1::StreamEventsRequest req;
        for (int i = 0; i < chunk; ++i) {
          v1::Event* e = req.add_events();
          e->set_event_id(absl::StrCat("stream-", nonce, "-", t, "-", seq++));
          e->set_customer_id(absl::StrCat("c", 1 + rng() % customers));
          e->set_type(v1::EVENT_TYPE_VIEW);
          e->mutable_time()->set_seconds(now);
          e->set_channel(v1::CHANNEL_WEB);
          e->set_product_id(absl::StrCat("p", 1 + rng() % 100));
        }
        if (!writer->Write(req)) break;
      }
      writer->WritesDone();
      grpc::Status s = writer->Finish();
      if (!s.ok()) {
        std::fprintf(stderr, "stream %d: %s\n", t, s.error_message().c_str());
        ++failures;
      }
      accepted += resp.accepted();
    });
  }
  for (auto& w : workers) w.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("ingest_grpc_stream_events_per_s %.0f\n", accepted / secs);
  return failures > 0 ? 1 : 0;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_channels)); ++i) {
    grpc::ChannelArguments args;
    args.SetInt("nextbest.load.channel", i);  // distinct args: distinct connections
    channels.push_back(grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target),
                                                 grpc::InsecureChannelCredentials(), args));
  }
  if (absl::GetFlag(FLAGS_stream_chunk) > 0) return RunStreamIngest(channels);
  const std::vector<std::string> kinds =
      absl::StrSplit(absl::GetFlag(FLAGS_kinds), ',', absl::SkipEmpty());
  std::map<std::string, std::unique_ptr<Phase>> phases;
  for (const auto& k : kinds)
    phases[k] = std::make_unique<Phase>(channels, k, absl::GetFlag(FLAGS_customers));

  // Warm-up: connections, server caches.
  for (const auto& k : kinds) phases[k]->Run(absl::GetFlag(FLAGS_concurrency), 0.3);

  struct Figures {
    std::vector<double> p50, p90, p99, p999, qps;
    int64_t errors = 0;
    std::string first_error;
  };
  std::map<std::string, Figures> figures;
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    for (const auto& k : kinds) {
      PhaseResult r =
          absl::GetFlag(FLAGS_rate) > 0
              ? phases[k]->RunOpen(absl::GetFlag(FLAGS_rate), absl::GetFlag(FLAGS_duration_s),
                                   absl::GetFlag(FLAGS_max_in_flight))
              : phases[k]->Run(absl::GetFlag(FLAGS_concurrency), absl::GetFlag(FLAGS_duration_s));
      Figures& f = figures[k];
      f.p50.push_back(r.Percentile(0.5));
      f.p90.push_back(r.Percentile(0.9));
      f.p99.push_back(r.Percentile(0.99));
      f.p999.push_back(r.Percentile(0.999));
      f.qps.push_back(r.Qps());
      f.errors += r.errors;
      if (f.first_error.empty()) f.first_error = r.first_error;
      std::fprintf(stderr, "round %d %-28s p50 %7.1f us  p99 %7.1f us  %8.0f req/s  errors %lld\n",
                   round, k.c_str(), r.Percentile(0.5), r.Percentile(0.99), r.Qps(),
                   static_cast<long long>(r.errors));
    }
  }

  std::printf("%-28s %9s %9s %9s %9s %10s %7s\n", "kind (median of rounds)", "p50_us", "p90_us",
              "p99_us", "p99.9_us", "req/s", "errors");
  for (const auto& k : kinds) {
    const Figures& f = figures[k];
    std::printf("%-28s %9.1f %9.1f %9.1f %9.1f %10.0f %7lld\n", k.c_str(), Median(f.p50),
                Median(f.p90), Median(f.p99), Median(f.p999), Median(f.qps),
                static_cast<long long>(f.errors));
    if (f.errors > 0)
      std::fprintf(stderr, "%s: first error: %s\n", k.c_str(), f.first_error.c_str());
  }
  int rc = 0;
  for (const auto& [k, f] : figures) rc |= f.errors > 0;
  if (figures.count("ping") == 0) return rc;
  const Figures& ping = figures["ping"];
  std::printf("\n");
  double worst_p50 = 0, worst_p99 = 0, worst_qps = 1e9;
  for (const auto& k : kinds) {
    if (k == "ping") continue;
    const Figures& f = figures[k];
    const double p50 = Median(f.p50) / Median(ping.p50), p99 = Median(f.p99) / Median(ping.p99),
                 qps = Median(f.qps) / Median(ping.qps);
    std::printf("%s_p50_over_ping %.3f\n%s_p99_over_ping %.3f\n%s_throughput_over_ping %.3f\n",
                k.c_str(), p50, k.c_str(), p99, k.c_str(), qps);
    if (k != "record") {
      worst_p50 = std::max(worst_p50, p50);
      worst_p99 = std::max(worst_p99, p99);
      worst_qps = std::min(worst_qps, qps);
    }
  }
  if (worst_p50 > 0) {
    std::printf(
        "recommend_p50_over_ping %.3f\nrecommend_p99_over_ping "
        "%.3f\nrecommend_throughput_over_ping %.3f\n",
        worst_p50, worst_p99, worst_qps);
  }
  return rc;
}
