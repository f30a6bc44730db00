#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "server/convert.h"
#include "server/service_util.h"
#include "server/services.h"
#include "storage/customer_data.h"
#include "storage/erasures.h"

namespace nextbest::server {
namespace {

// Export: the profile first, then the raw events in chunks, read one chunk
// per write from one consistent view (storage::CustomerEvents).
class ExportReactor final : public grpc::ServerWriteReactor<v1::ExportCustomerResponse> {
 public:
  static constexpr int kEventsPerMessage = 500;

  ExportReactor(const ServiceDeps& deps, grpc::CallbackServerContext* ctx,
                const v1::ExportCustomerRequest& request)
      : deps_(deps), start_(Clock::now()), id_(request.customer_id()) {
    absl::Status s = Authorize(deps_, *ctx, Rpc::kExportCustomer);
    if (s.ok()) s = ValidateId(id_, "customer_id", deps_.limits);
    if (!s.ok()) {
      Done(s);
      return;
    }
    events_ = std::make_unique<storage::CustomerEvents>(*deps_.store, id_);
    bool known = false;
    {
      core::ReadGuard guard(deps_.live->epochs);
      if (const core::CustomerState* state = deps_.live->customers.Find(id_)) {
        known = true;
        FillProfile(id_, *state, *deps_.live->catalog.Get(), deps_.features,
                    *deps_.live->config.Get(), deps_.live->models.Get(), deps_.clock->Now(),
                    *message_.mutable_profile());
      }
    }
    if (!known && !events_->HasMore()) {
      Done(absl::NotFoundError(absl::StrCat("customer_id: no data held about '", id_, "'")));
      return;
    }
    *message_.mutable_exported_at() = FromTimeMs(deps_.clock->Now());
    if (absl::Status fill = FillEvents(); !fill.ok()) {
      Done(fill);
      return;
    }
    StartWrite(&message_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Done(absl::CancelledError("export: the client went away"));
      return;
    }
    if (!events_->HasMore()) {
      Done(absl::OkStatus());
      return;
    }
    message_.Clear();
    if (absl::Status fill = FillEvents(); !fill.ok()) {
      Done(fill);
      return;
    }
    StartWrite(&message_);
  }

  void OnDone() override { delete this; }

 private:
  absl::Status FillEvents() {
    std::vector<storage::RawEvent> events;
    RETURN_IF_ERROR(events_->Next(kEventsPerMessage, events));
    for (const storage::RawEvent& e : events)
      FillEvent(e, deps_.limits.currency, *message_.add_events());
    return absl::OkStatus();
  }

  void Done(const absl::Status& s) {
    grpc::Status g = ToGrpcStatus(s);
    deps_.metrics->RecordRpc(Rpc::kExportCustomer, g.error_code(), SecondsSince(start_));
    Finish(g);
  }

  const ServiceDeps& deps_;
  const Clock::time_point start_;
  const std::string id_;
  std::unique_ptr<storage::CustomerEvents> events_;
  v1::ExportCustomerResponse message_;
};

std::string Hex(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace

grpc::ServerUnaryReactor* PrivacyServiceImpl::SetConsent(grpc::CallbackServerContext* ctx,
                                                         const v1::SetConsentRequest* request,
                                                         v1::SetConsentResponse* response) {
  auto fill = [](const storage::WriteResult& r, v1::SetConsentResponse& out) {
    out.mutable_consent()->set_personalization(r.consent_personalization);
    out.mutable_consent()->set_marketing_email(r.consent_marketing_email);
  };
  auto make = [&] { return AsCommand(ToSetConsent(*request, deps_.limits)); };
  if (deps_.cluster != nullptr) {
    const auto start = Clock::now();
    auto* reactor = ctx->DefaultReactor();
    absl::Status s = Authorize(deps_, *ctx, Rpc::kSetConsent);
    if (s.ok()) s = make().status();
    if (!s.ok()) {
      Finish(reactor, deps_.metrics, Rpc::kSetConsent, s, start);
      return reactor;
    }
    return OwnerWrite(
        ctx, deps_, Rpc::kSetConsent, "/nextbest.v1.PrivacyService/SetConsent",
        request->customer_id(), *request, response,
        [response, fill](const storage::WriteResult& r, auto finish) {
          fill(r, *response);
          finish(absl::OkStatus());
        },
        reactor, start);
  }
  return SubmitUnary(ctx, deps_, Rpc::kSetConsent, *request, make, response, fill);
}

grpc::ServerUnaryReactor* PrivacyServiceImpl::EraseCustomer(grpc::CallbackServerContext* ctx,
                                                            const v1::EraseCustomerRequest* request,
                                                            v1::EraseCustomerResponse* response) {
  const auto start = Clock::now();
  auto* reactor = ctx->DefaultReactor();
  absl::Status s = Authorize(deps_, *ctx, Rpc::kEraseCustomer);
  if (s.ok()) s = ValidateId(request->customer_id(), "customer_id", deps_.limits);
  if (!s.ok()) {
    Finish(reactor, deps_.metrics, Rpc::kEraseCustomer, s, start);
    return reactor;
  }
  // 1. The writer erases (atomic batch, memory); 2. the maintenance thread
  // purges the customer's key ranges from the files; 3. the receipt.
  Metrics* metrics = deps_.metrics;
  AdminOps* admin = deps_.admin;
  storage::RocksStore* store = deps_.store;
  const std::string id = request->customer_id();
  // The receipt of an applied erasure, once its bytes left the files too.
  auto receipt_of = [=](const storage::WriteResult& r, auto finish) {
    v1::ErasureReceipt* receipt = response->mutable_receipt();
    const storage::Erasure& e = r.erasure;
    receipt->set_subject_hash(Hex(e.subject_hash));
    *receipt->mutable_erased_at() = FromTimeMs(e.erased_at_ms);
    *receipt->mutable_events_dropped_through() = FromTimeMs(e.suppress_through_ms);
    receipt->set_attributes_erased(e.attributes);
    receipt->set_features_erased(e.features);
    receipt->set_erased_from_memory(e.in_memory);
    receipt->set_events_erased(e.events);
    receipt->set_idempotency_keys_erased(e.idempotency_keys);
    receipt->set_offer_cap_counters_erased(e.offer_counters);
    admin->RunMaintenance([=] {
      const auto purge_start = Clock::now();
      absl::Status purged = storage::PurgeCustomer(*store, id);
      receipt->set_purged_from_files(purged.ok());
      if (!purged.ok()) receipt->set_purge_error(std::string(purged.message()));
      receipt->set_purge_seconds(SecondsSince(purge_start));
      finish(absl::OkStatus());
    });
  };
  if (deps_.cluster != nullptr) {
    return OwnerWrite(ctx, deps_, Rpc::kEraseCustomer, "/nextbest.v1.PrivacyService/EraseCustomer",
                      id, *request, response, receipt_of, reactor, start);
  }
  absl::Status queued = deps_.ingestor->Submit(
      storage::EraseCustomer{id}, [=](absl::Status s, storage::WriteResult r) {
        if (!s.ok()) return Finish(reactor, metrics, Rpc::kEraseCustomer, s, start);
        receipt_of(r, [=](absl::Status done) {
          Finish(reactor, metrics, Rpc::kEraseCustomer, done, start);
        });
      });
  if (!queued.ok()) Finish(reactor, deps_.metrics, Rpc::kEraseCustomer, queued, start);
  return reactor;
}

grpc::ServerWriteReactor<v1::ExportCustomerResponse>* PrivacyServiceImpl::ExportCustomer(
    grpc::CallbackServerContext* ctx, const v1::ExportCustomerRequest* request) {
  return new ExportReactor(deps_, ctx, *request);
}

grpc::ServerWriteReactor<v1::ListErasuresResponse>* PrivacyServiceImpl::ListErasures(
    grpc::CallbackServerContext* ctx, const v1::ListErasuresRequest* request) {
  // The list is small (hashes and times); read at once, sent 1,000 per message.
  class Reactor final : public grpc::ServerWriteReactor<v1::ListErasuresResponse> {
   public:
    Reactor(const ServiceDeps& deps, grpc::CallbackServerContext* ctx)
        : deps_(deps), start_(Clock::now()) {
      absl::Status s = Authorize(deps_, *ctx, Rpc::kListErasures);
      absl::StatusOr<std::vector<storage::ErasureEntry>> list =
          s.ok() ? storage::ListErasures(*deps_.store)
                 : absl::StatusOr<std::vector<storage::ErasureEntry>>(s);
      if (!list.ok()) {
        Done(list.status());
        return;
      }
      for (size_t i = 0; i < list->size(); ++i) {
        if (i % 1000 == 0) messages_.emplace_back();
        const storage::ErasureEntry& e = (*list)[i];
        v1::Erasure* out = messages_.back().add_erasures();
        out->set_subject_hash(Hex(e.subject_hash));
        *out->mutable_erased_at() = FromTimeMs(e.erased_at_ms);
        *out->mutable_events_dropped_through() = FromTimeMs(e.suppress_through_ms);
      }
      Next();
    }
    void OnWriteDone(bool ok) override {
      if (!ok) return Done(absl::CancelledError("the client went away"));
      Next();
    }
    void OnDone() override { delete this; }

   private:
    void Next() {
      if (next_ == messages_.size()) return Done(absl::OkStatus());
      StartWrite(&messages_[next_++]);
    }
    void Done(const absl::Status& s) {
      grpc::Status g = ToGrpcStatus(s);
      deps_.metrics->RecordRpc(Rpc::kListErasures, g.error_code(), SecondsSince(start_));
      Finish(g);
    }
    const ServiceDeps& deps_;
    const Clock::time_point start_;
    std::vector<v1::ListErasuresResponse> messages_;
    size_t next_ = 0;
  };
  return new Reactor(deps_, ctx);
}

}  // namespace nextbest::server
