#include "storage/ingestor.h"

#include <algorithm>
#include <chrono>
#include <future>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "storage/codec.h"
#include "storage/ingest_group.h"
#include "storage/keys.h"
#include "storage/rocks_status.h"

namespace nextbest::storage {

Ingestor::Ingestor(RocksStore* store, core::LiveState* live, const IngestOptions& options,
                   const core::Clock* clock)
    : store_(store),
      live_(live),
      options_(options),
      clock_(clock),
      applied_log_(options.log_partitions) {}

absl::StatusOr<std::unique_ptr<Ingestor>> Ingestor::Start(RocksStore* store, core::LiveState* live,
                                                          const IngestOptions& options,
                                                          const core::Clock* clock) {
  if (live->catalog.Get() == nullptr) {
    return absl::FailedPreconditionError("LiveState has no catalog (markets) yet");
  }
  std::unique_ptr<Ingestor> ingestor(new Ingestor(store, live, options, clock));
  RETURN_IF_ERROR(ingestor->Recover());
  ingestor->thread_ = std::thread([p = ingestor.get()] { p->Run(); });
  return ingestor;
}

Ingestor::~Ingestor() { Stop(); }

void Ingestor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::Status Ingestor::Submit(Command command, WriteDone done) {
  return Submit(std::move(command), {}, std::move(done));
}

absl::Status Ingestor::Submit(Command command, LogPositions positions, WriteDone done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("server is shutting down");
    if (queue_.size() >= static_cast<size_t>(options_.queue_capacity)) {
      return absl::ResourceExhaustedError(
          absl::StrCat("ingest queue full (", options_.queue_capacity, " requests); retry later"));
    }
    queue_.push_back({std::move(command), std::move(done), std::move(positions)});
    queue_depth_.store(queue_.size(), std::memory_order_relaxed);
  }
  cv_.notify_one();
  return absl::OkStatus();
}

absl::StatusOr<WriteResult> Ingestor::SubmitAndWait(Command command) {
  std::promise<std::pair<absl::Status, WriteResult>> promise;
  auto future = promise.get_future();
  RETURN_IF_ERROR(Submit(std::move(command), [&promise](absl::Status s, WriteResult r) {
    promise.set_value({std::move(s), r});
  }));
  auto [status, result] = future.get();
  if (!status.ok()) return status;
  return result;
}

void Ingestor::Run() {
  std::vector<Pending> group;
  const size_t max_group =
      store_->durability() == Durability::kSyncEachWrite ? 1 : options_.max_group_requests;
  const auto interval = std::chrono::milliseconds(options_.trending_publish_interval_ms);
  const auto decision_flush = std::chrono::milliseconds(options_.decision_flush_ms);
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto ready = [&] { return !queue_.empty() || stopping_; };
      if (live_->decision_log.pending() > 0) {
        cv_.wait_for(lock, std::min(decision_flush, interval), ready);
      } else if (trending_dirty_) {
        cv_.wait_for(lock, interval, ready);
      } else {
        // Decisions are logged without waking the writer: look again soon.
        cv_.wait_for(lock, decision_flush, ready);
      }
      if (queue_.empty() && stopping_ && live_->decision_log.pending() == 0) break;
      while (!queue_.empty() && group.size() < max_group) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queue_depth_.store(queue_.size(), std::memory_order_relaxed);
    }
    // Decisions served so far go first: events of this group may name them.
    if (live_->decision_log.pending() > 0) {
      RecordDecisions decisions;
      live_->decision_log.Drain(decisions.decisions);
      group.insert(group.begin(),
                   Pending{std::move(decisions), [](absl::Status, WriteResult) {}, {}});
    }
    if (!group.empty()) ProcessGroup(group);
    group.clear();
    SharePopularity();
    MaybePublishTrending();
    live_->epochs.Reclaim();
  }
  if (trending_dirty_) PublishTrending();
  live_->epochs.Reclaim();
}

void Ingestor::ProcessGroup(std::vector<Pending>& group) {
  Group g(*store_, *live_, popularity_, store_popularity_);
  std::vector<absl::Status> statuses(group.size());
  std::vector<WriteResult> results(group.size());
  // Where each log partition stands as this group goes (records in order).
  absl::flat_hash_map<std::pair<int, int32_t>, int64_t> log_next;
  bool log_positions = false;
  for (size_t i = 0; i < group.size(); ++i) {
    if (!InLogOrder(group[i].positions, log_next)) {
      statuses[i] = absl::AbortedError("log record out of order (a write before it failed)");
      group[i].positions.clear();
      continue;
    }
    statuses[i] =
        std::visit([&](const auto& c) { return Apply(c, g, results[i]); }, group[i].command);
    if (!group[i].positions.empty()) {
      PutLogPositions(group[i].positions, g.batch());
      log_positions = true;
    }
  }
  g.Seal();
  int64_t events = 0;
  for (size_t i = 0; i < group.size(); ++i) {
    if (statuses[i].ok() && std::holds_alternative<RecordEvents>(group[i].command)) {
      events += results[i].accepted;
    }
  }
  absl::Status write = absl::OkStatus();
  if (g.batch().Count() > 0) {
    write = store_->Write(g.batch(), events);
    counters_.write_groups.fetch_add(1, std::memory_order_relaxed);
  }
  if (write.ok()) {
    g.Publish(popularity_, store_popularity_, erased_);
    for (const Pending& p : group) {
      for (const LogPosition& position : p.positions) applied_log_.Advance(position);
    }
    trending_dirty_ |= g.catalog_changed() || g.popularity_changed();
    // A due trending list goes out before the acknowledgements.
    MaybePublishTrending();
    for (size_t i = 0; i < group.size(); ++i) {
      if (!statuses[i].ok() || !std::holds_alternative<RecordEvents>(group[i].command)) continue;
      counters_.events_accepted.fetch_add(results[i].accepted, std::memory_order_relaxed);
      counters_.events_duplicate.fetch_add(results[i].duplicates, std::memory_order_relaxed);
      counters_.events_suppressed.fetch_add(results[i].suppressed, std::memory_order_relaxed);
    }
    for (size_t i = 0; i < group.size(); ++i) {
      if (statuses[i].ok() && std::holds_alternative<EraseCustomer>(group[i].command)) {
        counters_.customers_erased.fetch_add(1, std::memory_order_relaxed);
      }
    }
  } else {
    counters_.write_errors.fetch_add(1, std::memory_order_relaxed);
  }
  for (size_t i = 0; i < group.size(); ++i) {
    absl::Status s = statuses[i].ok() ? write : statuses[i];
    group[i].done(std::move(s), s.ok() ? results[i] : WriteResult{});
  }
  if (write.ok() && log_positions && options_.on_log_applied) options_.on_log_applied();
}

absl::Status Ingestor::Apply(const RecordEvents& c, Group& g, WriteResult& r) {
  // 1. Check: which events are new, and is any id reused for other content?
  struct Checked {
    v1::EventRecord record;
    uint64_t hash;
    std::string idem_key;
    bool duplicate;
    bool suppressed = false;
  };
  std::vector<Checked> checked;
  checked.reserve(c.events.size());
  absl::flat_hash_map<std::string, uint64_t> in_request;
  // Products the request would add as unlisted placeholders.
  const core::Catalog& catalog = g.catalog().current();
  absl::flat_hash_set<absl::string_view> new_products;
  auto check_product = [&](const std::string& id, const std::string& field) -> absl::Status {
    if (id.empty() || catalog.FindProduct(id).has_value() || new_products.contains(id)) {
      return absl::OkStatus();
    }
    if (options_.catalog_authoritative) {
      return absl::NotFoundError(absl::StrCat(field, ": unknown product '", id,
                                              "' (the catalog is authoritative: upsert it first)"));
    }
    if (catalog.unlisted_count() + new_products.size() >=
        static_cast<size_t>(options_.max_unlisted_products)) {
      return absl::ResourceExhaustedError(
          absl::StrCat(field, ": unknown product '", id, "', and ", catalog.unlisted_count(),
                       " products known only from events are held already "
                       "(ingest.max_unlisted_products); upsert it first"));
    }
    new_products.insert(id);
    return absl::OkStatus();
  };
  for (size_t i = 0; i < c.events.size(); ++i) {
    const RawEvent& e = c.events[i];
    Checked ch{codec::EventToRecord(e), 0, keys::Idempotency(e.customer_id, e.event_id), false};
    if (std::optional<int64_t> through = SuppressedThrough(e.customer_id, g);
        through && e.time <= *through) {
      ch.suppressed = true;  // a late or replayed event of an erased customer
      checked.push_back(std::move(ch));
      continue;
    }
    ch.hash = codec::PayloadHash(ch.record);
    std::optional<uint64_t> known;
    if (auto it = in_request.find(ch.idem_key); it != in_request.end()) {
      known = it->second;
    } else if (auto it2 = g.seen_ids().find(ch.idem_key); it2 != g.seen_ids().end()) {
      known = it2->second;
    } else {
      ASSIGN_OR_RETURN(std::optional<std::string> stored,
                       store_->Get(Cf::kIdempotency, ch.idem_key));
      if (stored.has_value()) {
        ASSIGN_OR_RETURN(auto rec, codec::Parse<v1::IdempotencyRecord>(*stored, "idempotency"));
        known = rec.payload_hash();
      }
    }
    if (known.has_value()) {
      if (*known != ch.hash) {
        return absl::AlreadyExistsError(
            absl::StrCat("events[", i, "].event_id: '", e.event_id,
                         "' was already recorded for this customer with a different payload"));
      }
      ch.duplicate = true;
    } else {
      in_request.emplace(ch.idem_key, ch.hash);
      RETURN_IF_ERROR(check_product(e.product_id, absl::StrCat("events[", i, "].product_id")));
      for (size_t j = 0; j < e.lines.size(); ++j) {
        RETURN_IF_ERROR(
            check_product(e.lines[j].product_id,
                          absl::StrCat("events[", i, "].order.lines[", j, "].product_id")));
      }
    }
    checked.push_back(std::move(ch));
  }

  // 2. Apply.
  const core::FeatureOptions& fo = options_.features;
  const int64_t now = clock_->Now();
  for (size_t i = 0; i < c.events.size(); ++i) {
    const RawEvent& e = c.events[i];
    Checked& ch = checked[i];
    if (ch.suppressed) {
      ++r.suppressed;
      continue;
    }
    if (ch.duplicate) {
      ++r.duplicates;
      continue;
    }
    ++r.accepted;
    g.seen_ids().emplace(ch.idem_key, ch.hash);
    g.batch().Put(store_->handle(Cf::kEvents), keys::Event(e.customer_id, e.time, e.event_id),
                  ch.record.SerializeAsString());
    v1::IdempotencyRecord idem;
    idem.set_payload_hash(ch.hash);
    idem.set_recorded_ms(now);
    g.batch().Put(store_->handle(Cf::kIdempotency), ch.idem_key, idem.SerializeAsString());

    core::CatalogBuilder& cat = g.catalog();
    core::Event ev;
    ev.type = e.type;
    ev.time = e.time;
    ev.channel = e.channel;
    ev.quantity = e.quantity;
    if (!e.store_id.empty())
      ev.store = cat.current().FindStore(e.store_id).value_or(core::kNoStore);
    if (!e.product_id.empty()) ev.product = cat.InternProduct(e.product_id);
    for (const RawOrderLine& l : e.lines) {
      ev.lines.push_back({cat.InternProduct(l.product_id), l.quantity, l.unit_price_minor, l.size});
    }
    core::CustomerState& state = g.Customer(e.customer_id, /*features_changed=*/true);
    ev.country =
        cat.current().MarketOf(cat.current().FindMarket(e.country).value_or(core::kNoCountry),
                               ev.store, state.attributes.country);
    core::ApplyEvent(fo, cat.current(), ev, state.features);
    if (ev.type == core::EventType::kOfferImpression || ev.type == core::EventType::kOfferClick) {
      g.OfferEvent(e.offer_id, ev.type == core::EventType::kOfferClick, ev.time,
                   RfmSegmentOf(state, ev.time));
    }
    RETURN_IF_ERROR(Feedback(e, ev, g));

    // Popularity of every product the event is about: in its market, and
    // in its store if it names one.
    const double w = core::PopularityWeight(fo, ev.type);
    auto popular = [&](core::ProductIndex p) {
      core::AddPopularity(g.Popularity(p), ev.time, w, ev.country, fo.popularity_half_life_days);
      if (ev.store != core::kNoStore) {
        core::AddStoreScore(g.StorePopularity(ev.store, p), ev.time, w,
                            fo.popularity_half_life_days);
      }
    };
    if (w > 0) {
      if (ev.product != core::kNoProduct) popular(ev.product);
      for (const core::OrderLine& l : ev.lines) popular(l.product);
    }
  }
  return absl::OkStatus();
}

}  // namespace nextbest::storage
