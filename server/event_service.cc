#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "server/service_util.h"
#include "server/services.h"

namespace nextbest::server {
namespace {

// Client-streaming ingest. Each chunk is validated and queued as it arrives;
// up to kMaxInFlight chunks wait for the writer at once (back-pressure: the
// next read starts only when a slot is free). The stream finishes after the
// client half-closes and every chunk is durable, or at the first error once
// the chunks already queued are done.
class StreamEventsReactor final : public grpc::ServerReadReactor<v1::StreamEventsRequest> {
 public:
  // `open_streams` was incremented for this stream; OnDone decrements it.
  StreamEventsReactor(const ServiceDeps& deps, v1::StreamEventsResponse* response,
                      std::atomic<int>* open_streams)
      : deps_(deps), response_(response), start_(Clock::now()), open_streams_(open_streams) {
    // Initial metadata tells the client the stream was admitted (counted
    // against --max_concurrent_streams) before it has sent anything.
    StartSendInitialMetadata();
    reading_ = true;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    reading_ = false;
    if (!ok) {
      reads_done_ = true;
      MaybeFinishLocked();
      return;
    }
    if (!error_.ok()) return;
    ++chunks_;
    absl::StatusOr<storage::RecordEvents> cmd =
        ToRecordEvents(request_.events(), deps_.limits, deps_.clock->Now());
    if (!cmd.ok()) {
      error_ = absl::Status(cmd.status().code(),
                            absl::StrCat("chunk ", chunks_ - 1, ": ", cmd.status().message()));
      MaybeFinishLocked();
      return;
    }
    ++in_flight_;
    const int64_t chunk = chunks_ - 1;
    lock.unlock();
    if (deps_.cluster != nullptr) {
      // Cluster mode: the chunk goes to the log (serialized before Write
      // returns, so the next read may reuse request_).
      deps_.cluster->Write(
          Rpc::kStreamEvents, request_,
          [this, chunk](absl::Status s, int64_t records, v1::ConsistencyToken token) {
            std::lock_guard<std::mutex> l(mu_);
            --in_flight_;
            if (s.ok()) {
              accepted_ += records;
              for (const auto& p : token.positions()) {
                int64_t& last = token_[{p.topic(), p.partition()}];
                last = std::max(last, p.offset());
              }
            } else if (error_.ok()) {
              error_ = absl::Status(s.code(), absl::StrCat("chunk ", chunk, ": ", s.message()));
            }
            StartReadIfAllowedLocked();
            MaybeFinishLocked();
          });
      lock.lock();
      StartReadIfAllowedLocked();
      MaybeFinishLocked();
      return;
    }
    absl::Status queued = deps_.ingestor->Submit(
        std::move(*cmd), [this, chunk](absl::Status s, storage::WriteResult r) {
          std::lock_guard<std::mutex> l(mu_);
          --in_flight_;
          if (s.ok()) {
            accepted_ += r.accepted;
            duplicates_ += r.duplicates;
            suppressed_ += r.suppressed;
          } else if (error_.ok()) {
            error_ = absl::Status(s.code(), absl::StrCat("chunk ", chunk, ": ", s.message()));
          }
          StartReadIfAllowedLocked();
          MaybeFinishLocked();
        });
    lock.lock();
    if (!queued.ok()) {
      --in_flight_;
      if (error_.ok()) error_ = queued;
    }
    StartReadIfAllowedLocked();
    MaybeFinishLocked();
  }

  void OnDone() override {
    open_streams_->fetch_sub(1, std::memory_order_relaxed);
    delete this;
  }

 private:
  static constexpr int kMaxInFlight = 4;

  void StartReadIfAllowedLocked() {
    if (finished_ || reading_ || reads_done_ || !error_.ok() || in_flight_ >= kMaxInFlight) return;
    reading_ = true;
    StartRead(&request_);
  }

  void MaybeFinishLocked() {
    if (finished_ || in_flight_ > 0) return;
    if (error_.ok() && !reads_done_) return;
    finished_ = true;
    response_->set_accepted(accepted_);
    response_->set_duplicates(duplicates_);
    response_->set_suppressed(suppressed_);
    response_->set_chunks(chunks_);
    for (const auto& [tp, offset] : token_) {
      auto* p = response_->mutable_consistency_token()->add_positions();
      p->set_topic(tp.first);
      p->set_partition(tp.second);
      p->set_offset(offset);
    }
    grpc::Status g = ToGrpcStatus(error_);
    deps_.metrics->RecordRpc(Rpc::kStreamEvents, g.error_code(), SecondsSince(start_));
    Finish(g);
  }

  const ServiceDeps& deps_;
  v1::StreamEventsResponse* response_;
  const Clock::time_point start_;
  std::atomic<int>* const open_streams_;
  v1::StreamEventsRequest request_;
  std::mutex mu_;
  bool reading_ = false;
  bool reads_done_ = false;
  bool finished_ = false;
  int in_flight_ = 0;
  int64_t chunks_ = 0;
  int64_t accepted_ = 0;
  int64_t duplicates_ = 0;
  int64_t suppressed_ = 0;
  std::map<std::pair<std::string, int32_t>, int64_t> token_;  // cluster mode
  absl::Status error_;
};

}  // namespace

grpc::ServerUnaryReactor* EventServiceImpl::RecordEvents(grpc::CallbackServerContext* ctx,
                                                         const v1::RecordEventsRequest* request,
                                                         v1::RecordEventsResponse* response) {
  return SubmitUnary(
      ctx, deps_, Rpc::kRecordEvents, *request,
      [&] {
        return AsCommand(ToRecordEvents(request->events(), deps_.limits, deps_.clock->Now()));
      },
      response,
      [](const storage::WriteResult& r, v1::RecordEventsResponse& out) {
        out.set_accepted(static_cast<int32_t>(r.accepted));
        out.set_duplicates(static_cast<int32_t>(r.duplicates));
        out.set_suppressed(static_cast<int32_t>(r.suppressed));
      });
}

grpc::ServerReadReactor<v1::StreamEventsRequest>* EventServiceImpl::StreamEvents(
    grpc::CallbackServerContext* ctx, v1::StreamEventsResponse* response) {
  // Refused at once: no reactor state, no read, no thread held.
  class Refused final : public grpc::ServerReadReactor<v1::StreamEventsRequest> {
   public:
    explicit Refused(const grpc::Status& s) { Finish(s); }
    void OnDone() override { delete this; }
  };
  auto refuse = [&](const absl::Status& s) {
    grpc::Status g = ToGrpcStatus(s);
    deps_.metrics->RecordRpc(Rpc::kStreamEvents, g.error_code(), 0);
    return new Refused(g);
  };
  if (absl::Status allowed = Authorize(deps_, *ctx, Rpc::kStreamEvents); !allowed.ok()) {
    return refuse(allowed);
  }
  if (open_streams_.fetch_add(1, std::memory_order_relaxed) >=
      deps_.limits.max_concurrent_streams) {
    open_streams_.fetch_sub(1, std::memory_order_relaxed);
    return refuse(absl::ResourceExhaustedError(absl::StrCat(
        "too many open event streams (", deps_.limits.max_concurrent_streams, "); retry later")));
  }
  return new StreamEventsReactor(deps_, response, &open_streams_);
}

}  // namespace nextbest::server
