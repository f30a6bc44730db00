#include "server/batch.h"

#include <malloc.h>

#include <array>
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
#include "server/enums.h"
#include "server/send_schedule.h"
#include "server/status_mapping.h"
#include "server/validation.h"

namespace nextbest::server {
namespace {

using Clock = std::chrono::steady_clock;

// Customers per streamed message.
constexpr size_t kChunk = 500;
// Decisions of assigned customers waiting for the writer (core/decision_log.h).
constexpr size_t kLogBacklog = 200'000;

// Customers left out of a run: without e-mail consent, or held back by
// the contact policy (by core::ContactVerdict).
struct Skipped {
  int64_t consent = 0;
  std::array<int64_t, 3> by_contact{};
};

// One call. Chunks of kChunk customers are decided as tasks on the shared
// BatchPool, at most `max_parallel_` at once, and only while fewer than
// `max_ready_` finished messages wait for the client: a client that stops
// reading stops the production (flow control), holds no thread, and keeps
// at most max_ready_ chunks in memory. The reactor deletes itself once gRPC
// is done with it and no task of it runs.
class DecideForAllReactor final : public grpc::ServerWriteReactor<v1::DecideForAllResponse> {
 public:
  DecideForAllReactor(const ServiceDeps& deps, const grpc::CallbackServerContext& ctx,
                      const v1::DecideForAllRequest& request, std::atomic<int>* open_batches)
      : deps_(deps), request_(request), start_(Clock::now()), open_batches_(open_batches) {
    absl::Status s = Authorize(deps_, ctx, Rpc::kDecideForAll);
    if (s.ok() && open_batches_->fetch_add(1, std::memory_order_relaxed) >=
                      deps_.limits.max_concurrent_batches) {
      open_batches_->fetch_sub(1, std::memory_order_relaxed);
      s = absl::ResourceExhaustedError(absl::StrCat("too many DecideForAll calls open (",
                                                    deps_.limits.max_concurrent_batches,
                                                    "); retry later"));
    } else if (s.ok()) {
      admitted_ = true;
      s = Prepare();
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!s.ok()) {
      stop_ = true;
      error_ = s;
      WriteNextLocked();
      return;
    }
    max_parallel_ = static_cast<size_t>(deps_.batch_pool->threads());
    max_ready_ = 2 * max_parallel_;
    chunks_ = (handles_.size() + kChunk - 1) / kChunk;
    ScheduleLocked();
    WriteNextLocked();  // nothing to decide: the last message at once
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    ready_.pop_front();
    writing_ = false;
    if (!ok) stop_ = true;  // the client went away
    ScheduleLocked();
    WriteNextLocked();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    WriteNextLocked();
  }

  void OnDone() override {
    if (admitted_ && open_batches_->fetch_sub(1, std::memory_order_relaxed) == 1) {
      // The last open run: give what the runs allocated back to the system
      // (glibc keeps freed memory in its arenas otherwise).
      deps_.batch_pool->Run([] { malloc_trim(0); });
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      if (in_flight_ > 0) return;  // the last task deletes
    }
    delete this;
  }

 private:
  absl::Status Prepare() {
    RETURN_IF_ERROR(ValidateDecideForAll(request_));
    core::ReadGuard guard(deps_.live->epochs);
    RETURN_IF_ERROR(
        core::FindPlacement(*deps_.live->config.Get(), request_.placement(), request_.count())
            .status());
    handles_ = deps_.live->customers.Handles();
    if (request_.max_customers() > 0 &&
        handles_.size() > static_cast<size_t>(request_.max_customers())) {
      handles_.erase(handles_.begin() + request_.max_customers(), handles_.end());
    }
    now_ = request_.has_time() ? ToTimeMs(request_.time()) : deps_.clock->Now();
    channel_ = request_.channel() == v1::CHANNEL_UNSPECIFIED ? core::Channel::kEmail
                                                             : ToCore(request_.channel());
    ASSIGN_OR_RETURN(schedule_, SendSchedule::Make(request_.send_time(), deps_.features, now_));
    return absl::OkStatus();
  }

  // Queues chunk tasks while the run may produce more.
  void ScheduleLocked() {
    while (!stop_ && !finished_ && next_chunk_ < chunks_ && in_flight_ < max_parallel_ &&
           in_flight_ + ready_.size() < max_ready_) {
      const size_t begin = next_chunk_++ * kChunk;
      ++in_flight_;
      deps_.batch_pool->Run([this, begin] { RunChunk(begin); });
    }
  }

  void RunChunk(size_t begin) {
    v1::DecideForAllResponse msg;
    Skipped skipped;
    absl::Status s = stopped() ? absl::OkStatus() : DecideChunk(begin, msg, skipped);
    bool last;
    {
      std::lock_guard<std::mutex> lock(mu_);
      --in_flight_;
      if (!s.ok() && !stop_) {
        stop_ = true;
        error_ = s;
      }
      if (!stop_) {
        decided_ += msg.decisions_size();
        skipped_.consent += skipped.consent;
        for (size_t v = 0; v < skipped.by_contact.size(); ++v) {
          skipped_.by_contact[v] += skipped.by_contact[v];
        }
        ready_.push_back(std::move(msg));
        ++chunks_done_;
        if (chunks_done_ == chunks_) QueueLastLocked();
      }
      ScheduleLocked();
      WriteNextLocked();
      last = done_ && in_flight_ == 0;
    }
    if (last) delete this;
  }

  bool stopped() {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  }

  // Decides the customers [begin, begin + kChunk) under one short read
  // guard (with the config of that moment).
  absl::Status DecideChunk(size_t begin, v1::DecideForAllResponse& msg, Skipped& skip) {
    const size_t end = std::min(handles_.size(), begin + kChunk);
    // Backpressure: assigned customers' decisions wait in the decision log
    // for the writer; the run keeps at most kLogBacklog of them waiting
    // (for at most 10 s per chunk: a stuck writer drops and counts them).
    for (int waited = 0;
         deps_.live->decision_log.pending() > kLogBacklog && waited < 5000 && !stopped();
         ++waited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    core::ReadGuard guard(deps_.live->epochs);
    const core::Snapshot snapshot = core::Snapshot::Of(*deps_.live);
    core::RecommendQuery q;
    q.placement = request_.placement();
    q.channel = channel_;
    q.count = request_.count();
    q.time = now_;
    for (size_t i = begin; i < end; ++i) {
      const core::CustomerState* state = handles_[i].state();
      if (state == nullptr) continue;
      if (!request_.include_without_email_consent() && !state->attributes.consent_marketing_email) {
        ++skip.consent;
        continue;
      }
      q.customer_id = handles_[i].id();
      q.customer = state;
      absl::StatusOr<core::Recommendation> r = core::Recommend(snapshot, q, now_);
      if (!r.ok()) {  // the placement was removed or changed by a reload meanwhile
        return absl::AbortedError(
            absl::StrCat("a config reload during the run: ", r.status().message()));
      }
      if (r->contact.verdict != core::ContactVerdict::kOk) {  // held back by the contact policy
        ++skip.by_contact[static_cast<int>(r->contact.verdict)];
        continue;
      }
      v1::CustomerDecision& out = *msg.add_decisions();
      FillCustomerDecision(q.customer_id, *r, snapshot.catalog, snapshot.config, out);
      const std::optional<core::TimeMs> send_at =
          schedule_.SendAt(state->features, r->decision.country, snapshot.models,
                           core::MayPersonalize(snapshot.config.require_consent, state));
      if (send_at) *out.mutable_send_at() = FromTimeMs(*send_at);
    }
    return absl::OkStatus();
  }

  void QueueLastLocked() {
    v1::DecideForAllResponse last;
    last.set_last(true);
    last.set_customers_decided(decided_);
    last.set_customers_skipped(skipped_.consent);
    last.set_skipped_contact_cap(
        skipped_.by_contact[static_cast<int>(core::ContactVerdict::kContactCap)]);
    last.set_skipped_quiet_period(
        skipped_.by_contact[static_cast<int>(core::ContactVerdict::kQuietPeriod)]);
    last.set_seconds(std::chrono::duration<double>(Clock::now() - start_).count());
    ready_.push_back(std::move(last));
    last_queued_ = true;
  }

  // Starts the next write, or finishes the call once everything is written
  // (or, after a stop, once no task runs any more).
  void WriteNextLocked() {
    if (writing_ || finished_) return;
    if (stop_) {
      ready_.clear();
      if (in_flight_ == 0) {
        finished_ = true;
        Done(error_.ok() ? absl::CancelledError("the client went away") : error_);
      }
      return;
    }
    if (!last_queued_ && chunks_done_ == chunks_ && in_flight_ == 0) QueueLastLocked();
    if (!ready_.empty()) {
      writing_ = true;
      StartWrite(&ready_.front());
    } else if (last_queued_) {
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
  std::atomic<int>* const open_batches_;
  bool admitted_ = false;
  std::vector<core::CustomerIndex::Handle> handles_;
  core::TimeMs now_ = 0;
  core::Channel channel_ = core::Channel::kEmail;
  SendSchedule schedule_;

  std::mutex mu_;
  std::deque<v1::DecideForAllResponse> ready_;  // front = being written
  size_t max_parallel_ = 1;
  size_t max_ready_ = 2;
  size_t chunks_ = 0;
  size_t next_chunk_ = 0;
  size_t chunks_done_ = 0;
  size_t in_flight_ = 0;
  int64_t decided_ = 0;
  Skipped skipped_;
  bool writing_ = false;
  bool stop_ = false;
  bool last_queued_ = false;
  bool finished_ = false;
  bool done_ = false;
  absl::Status error_;
};

}  // namespace

grpc::ServerWriteReactor<v1::DecideForAllResponse>* StartDecideForAll(
    const ServiceDeps& deps, const grpc::CallbackServerContext& ctx,
    const v1::DecideForAllRequest* request, std::atomic<int>* open_batches) {
  return new DecideForAllReactor(deps, ctx, *request, open_batches);
}

}  // namespace nextbest::server
