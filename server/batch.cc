#include "server/batch.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/decision.h"
#include "core/status_macros.h"
#include "server/convert.h"
#include "server/status_mapping.h"
#include "server/validation.h"

namespace nextbest::server {
namespace {

using Clock = std::chrono::steady_clock;

// Customers per streamed message.
constexpr size_t kChunk = 500;

class DecideForAllReactor final : public grpc::ServerWriteReactor<v1::DecideForAllResponse> {
 public:
  DecideForAllReactor(const ServiceDeps& deps, const v1::DecideForAllRequest& request)
      : deps_(deps), request_(request), start_(Clock::now()) {
    absl::Status s = Prepare();
    if (!s.ok()) {
      Done(s);
      return;
    }
    worker_count_ = std::max(1u, std::thread::hardware_concurrency());
    max_ready_ = 2 * worker_count_;
    std::lock_guard<std::mutex> lock(mu_);  // workers wait until all are started
    for (size_t i = 0; i < worker_count_; ++i) workers_.emplace_back([this] { Work(); });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    ready_.pop_front();
    writing_ = false;
    if (!ok) stop_ = true;  // the client went away
    space_.notify_all();
    WriteNextLocked();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    space_.notify_all();
    WriteNextLocked();
  }

  void OnDone() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      space_.notify_all();
    }
    for (auto& w : workers_) w.join();
    delete this;
  }

 private:
  absl::Status Prepare() {
    RETURN_IF_ERROR(ValidateDecideForAll(request_));
    core::ReadGuard guard(deps_.live->epochs);
    const core::PlacementSpec* spec = deps_.live->config.Get()->Find(request_.placement());
    if (spec == nullptr) {
      return absl::NotFoundError(absl::StrCat("placement: unknown placement '", request_.placement(), "'"));
    }
    if (request_.count() > spec->max_count) {
      return absl::InvalidArgumentError(absl::StrCat("count: at most ", spec->max_count));
    }
    handles_ = deps_.live->customers.Handles();
    if (request_.max_customers() > 0 && handles_.size() > static_cast<size_t>(request_.max_customers())) {
      handles_.erase(handles_.begin() + request_.max_customers(), handles_.end());
    }
    now_ = request_.has_time() ? ToTimeMs(request_.time()) : deps_.clock->Now();
    channel_ = request_.channel() == v1::CHANNEL_UNSPECIFIED ? core::Channel::kEmail
                                                             : static_cast<core::Channel>(request_.channel());
    return absl::OkStatus();
  }

  // Worker: takes chunks of customers until none are left; each chunk is
  // decided under one short read guard (with the config of that moment).
  void Work() {
    DecideChunks();
    std::lock_guard<std::mutex> lock(mu_);
    if (++workers_done_ == worker_count_ && !stop_) {
      v1::DecideForAllResponse last;
      last.set_last(true);
      last.set_customers_decided(decided_.load());
      last.set_customers_skipped(skipped_.load());
      last.set_seconds(std::chrono::duration<double>(Clock::now() - start_).count());
      ready_.push_back(std::move(last));
      all_queued_ = true;
    }
    WriteNextLocked();
  }

  void DecideChunks() {
    while (true) {
      const size_t begin = next_.fetch_add(kChunk);
      if (begin >= handles_.size()) break;
      const size_t end = std::min(handles_.size(), begin + kChunk);
      v1::DecideForAllResponse msg;
      int64_t skipped = 0;
      {
        core::ReadGuard guard(deps_.live->epochs);
        const core::DecisionConfig& config = *deps_.live->config.Get();
        const core::PlacementSpec* spec = config.Find(request_.placement());
        if (spec == nullptr) {  // removed by a reload meanwhile
          Fail(absl::AbortedError("placement: removed by a config reload during the run"));
          return;
        }
        const core::Catalog& catalog = *deps_.live->catalog.Get();
        const core::TrendingSnapshot& trending = *deps_.live->trending.Get();
        for (size_t i = begin; i < end; ++i) {
          const core::CustomerState* state = handles_[i].state();
          if (state == nullptr) continue;
          if (!request_.include_without_email_consent() && !state->attributes.consent_marketing_email) {
            ++skipped;
            continue;
          }
          core::DecisionRequest d;
          d.config = &config;
          d.placement = spec;
          d.customer = state;
          d.customer_id = handles_[i].id();
          d.models = deps_.live->models.Get();
          d.ledger = &deps_.live->offers;
          d.channel = channel_;
          d.count = request_.count();
          d.require_consent = config.require_consent;
          d.now = now_;
          const core::Decision decision = core::Decide(catalog, trending, d);
          v1::CustomerDecision* out = msg.add_decisions();
          out->set_customer_id(std::string(handles_[i].id()));
          out->set_personalized(decision.personalized);
          for (const core::DecidedItem& item : decision.items) {
            v1::BatchItem* b = out->add_items();
            if (item.product < catalog.product_count()) b->set_product_id(catalog.product(item.product).id);
            if (item.offer >= 0) b->set_offer_id(config.offers[item.offer].id);
            b->set_source(static_cast<v1::Source>(item.source));
            b->set_score(item.score);
            core::DescribeReason(catalog, config, item, decision.country, now_, *b->mutable_reason());
          }
        }
      }
      decided_ += msg.decisions_size();
      skipped_ += skipped;
      if (!Enqueue(std::move(msg))) return;
    }
  }

  // Waits for room (bounded memory); false if the run was stopped.
  bool Enqueue(v1::DecideForAllResponse msg) {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [&] { return stop_ || ready_.size() < max_ready_; });
    if (stop_) return false;
    ready_.push_back(std::move(msg));
    WriteNextLocked();
    return true;
  }

  void Fail(absl::Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
    error_ = s;
    space_.notify_all();
  }

  // Starts the next write, or finishes the call once everything is written
  // (or, after a stop, once every worker has left).
  void WriteNextLocked() {
    if (writing_ || finished_) return;
    if (stop_) {
      ready_.clear();
      if (workers_done_ == worker_count_) {
        finished_ = true;
        Done(error_.ok() ? absl::CancelledError("the client went away") : error_);
      }
      return;
    }
    if (!ready_.empty()) {
      writing_ = true;
      StartWrite(&ready_.front());
    } else if (all_queued_) {
      finished_ = true;
      Done(absl::OkStatus());
    }
  }

  void Done(const absl::Status& s) {
    grpc::Status g = ToGrpcStatus(s);
    deps_.metrics->RecordRpc(Rpc::kDecideForAll, g.error_code(),
                             std::chrono::duration<double>(Clock::now() - start_).count());
    Finish(g);
  }

  const ServiceDeps& deps_;
  const v1::DecideForAllRequest request_;
  const Clock::time_point start_;
  std::vector<core::CustomerIndex::Handle> handles_;
  core::TimeMs now_ = 0;
  core::Channel channel_ = core::Channel::kEmail;
  std::atomic<size_t> next_{0};
  std::atomic<int64_t> decided_{0}, skipped_{0};
  std::vector<std::thread> workers_;

  std::mutex mu_;
  std::condition_variable space_;
  std::deque<v1::DecideForAllResponse> ready_;  // front = being written
  size_t max_ready_ = 4;
  size_t worker_count_ = 0;
  size_t workers_done_ = 0;
  bool writing_ = false;
  bool stop_ = false;
  bool all_queued_ = false;
  bool finished_ = false;
  absl::Status error_;
};

}  // namespace

grpc::ServerWriteReactor<v1::DecideForAllResponse>* StartDecideForAll(
    const ServiceDeps& deps, const v1::DecideForAllRequest* request) {
  return new DecideForAllReactor(deps, *request);
}

}  // namespace nextbest::server
