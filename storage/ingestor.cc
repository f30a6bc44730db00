#include "storage/ingestor.h"

#include <algorithm>
#include <chrono>
#include <future>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "storage/codec.h"
#include "storage/keys.h"
#include "storage/rocks_status.h"

namespace nextbest::storage {

// The work of one group commit: the batch, and the new in-memory objects
// that are published only if the batch is written.
class Ingestor::Group {
 public:
  Group(RocksStore& store, core::LiveState& live, const std::vector<core::ProductPopularity>& pop,
        const core::StorePopularity& store_pop)
      : store_(store),
        live_(live),
        catalog_(*live.catalog.Get()),
        popularity_base_(pop),
        store_popularity_base_(store_pop) {}

  rocksdb::WriteBatch& batch() { return batch_; }
  core::CatalogBuilder& catalog() { return catalog_; }

  // The customer's state as this group leaves it; created if new.
  core::CustomerState& Customer(const std::string& id, bool features_changed) {
    auto [it, inserted] = customers_.try_emplace(id);
    if (inserted) {
      const core::CustomerState* current =
          erasures_.contains(id) ? nullptr : live_.customers.Find(id);
      it->second.state = current != nullptr ? std::make_unique<core::CustomerState>(*current)
                                            : std::make_unique<core::CustomerState>();
    }
    it->second.features_changed |= features_changed;
    return *it->second.state;
  }

  core::ProductPopularity& Popularity(core::ProductIndex p) {
    auto [it, inserted] = popularity_.try_emplace(p);
    if (inserted && p < popularity_base_.size()) it->second = popularity_base_[p];
    return it->second;
  }

  core::StoreScore& StorePopularity(core::StoreIndex s, core::ProductIndex p) {
    auto [it, inserted] = store_scores_.try_emplace({s, p});
    if (inserted && s < store_popularity_base_.size()) {
      const auto& base = store_popularity_base_[s];
      if (auto b = base.find(p); b != base.end()) it->second = b->second;
    }
    return it->second;
  }

  // The customer's attributes record as this group leaves it, if any.
  absl::StatusOr<std::optional<v1::CustomerRecord>> CustomerRecord(const std::string& id) {
    if (auto it = records_.find(id); it != records_.end()) return it->second;
    if (erasures_.contains(id)) return std::optional<v1::CustomerRecord>();
    ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                     store_.Get(Cf::kCustomers, keys::Customer(id)));
    if (!bytes.has_value()) return std::optional<v1::CustomerRecord>();
    ASSIGN_OR_RETURN(auto rec, codec::Parse<v1::CustomerRecord>(*bytes, "customer"));
    return std::optional<v1::CustomerRecord>(std::move(rec));
  }
  void PutCustomerRecord(const std::string& id, const v1::CustomerRecord& rec) {
    batch_.Put(store_.handle(Cf::kCustomers), keys::Customer(id), rec.SerializeAsString());
    records_[id] = rec;
  }

  // The customer's state as of this group, or null.
  const core::CustomerState* Current(const std::string& id) const {
    if (auto it = customers_.find(id); it != customers_.end()) return it->second.state.get();
    return erasures_.contains(id) ? nullptr : live_.customers.Find(id);
  }
  bool InMemory(const std::string& id) const { return Current(id) != nullptr; }

  // Erasure: the customer's pending state and records are dropped; once the
  // group is durable, it leaves memory and its result gets the number of
  // offer-cap counters dropped.
  void Erase(const std::string& id, const std::string& suppression_key, int64_t suppress_through,
             Erasure* result) {
    customers_.erase(id);
    records_.erase(id);
    erasures_[id] = result;
    suppressions_[suppression_key] = suppress_through;
  }
  void Suppress(const std::string& suppression_key, int64_t suppress_through) {
    suppressions_[suppression_key] = suppress_through;
  }
  const absl::flat_hash_map<std::string, int64_t>& suppressions() const { return suppressions_; }

  // An offer impression or click, counted once the group is durable.
  void OfferEvent(const std::string& offer_id, bool click) {
    offer_events_.emplace_back(offer_id, click);
  }

  // Event ids written by earlier requests of this group: key -> payload hash.
  absl::flat_hash_map<std::string, uint64_t>& seen_ids() { return seen_ids_; }

  // Adds the final feature and popularity records to the batch.
  void Seal() {
    const core::Catalog& catalog = catalog_.current();
    for (auto& [id, pending] : customers_) {
      if (!pending.features_changed) continue;
      batch_.Put(store_.handle(Cf::kFeatures), keys::Customer(id),
                 codec::FeaturesToRecord(pending.state->features, catalog).SerializeAsString());
    }
    for (auto& [p, pop] : popularity_) {
      batch_.Put(store_.handle(Cf::kPopularity), catalog.product(p).id,
                 codec::PopularityToRecord(pop, catalog).SerializeAsString());
    }
    for (auto& [key, score] : store_scores_) {
      batch_.Put(store_.handle(Cf::kStorePopularity),
                 keys::StoreProduct(catalog.store(key.first).id, catalog.product(key.second).id),
                 codec::StoreScoreToRecord(score).SerializeAsString());
    }
  }

  // After a successful write: catalog first, so that published customer
  // states never name a product the published catalog lacks.
  void Publish(std::vector<core::ProductPopularity>& popularity,
               core::StorePopularity& store_popularity,
               absl::flat_hash_map<std::string, int64_t>& erased) {
    if (catalog_.changed()) live_.catalog.Publish(catalog_.Build(), live_.epochs);
    // Erasures before new states: events after an erasure in the same group
    // start a new profile.
    for (auto& [id, result] : erasures_) {
      live_.customers.Erase(id);
      result->offer_counters = live_.offers.Forget(id);
    }
    for (auto& [key, at] : suppressions_) erased[key] = at;
    for (auto& [id, pending] : customers_) {
      core::ShrinkToFit(pending.state->features);
      live_.customers.Publish(id, std::move(pending.state));
    }
    if (popularity.size() < catalog_.current().product_count()) {
      popularity.resize(catalog_.current().product_count());
    }
    for (auto& [p, pop] : popularity_) popularity[p] = pop;
    if (store_popularity.size() < catalog_.current().store_count()) {
      store_popularity.resize(catalog_.current().store_count());
    }
    for (auto& [key, score] : store_scores_) store_popularity[key.first][key.second] = score;
    for (const auto& [offer, click] : offer_events_) {
      if (click) {
        live_.offers.RecordClick(offer);
      } else {
        live_.offers.RecordImpression(offer);
      }
    }
  }

  bool catalog_changed() const { return catalog_.changed(); }
  bool popularity_changed() const { return !popularity_.empty() || !store_scores_.empty(); }

 private:
  struct PendingCustomer {
    std::unique_ptr<core::CustomerState> state;
    bool features_changed = false;
  };
  RocksStore& store_;
  core::LiveState& live_;
  rocksdb::WriteBatch batch_;
  core::CatalogBuilder catalog_;
  const std::vector<core::ProductPopularity>& popularity_base_;
  const core::StorePopularity& store_popularity_base_;
  absl::flat_hash_map<std::string, PendingCustomer> customers_;
  absl::flat_hash_map<core::ProductIndex, core::ProductPopularity> popularity_;
  absl::flat_hash_map<std::pair<core::StoreIndex, core::ProductIndex>, core::StoreScore>
      store_scores_;
  absl::flat_hash_map<std::string, uint64_t> seen_ids_;
  std::vector<std::pair<std::string, bool>> offer_events_;
  absl::flat_hash_map<std::string, v1::CustomerRecord> records_;
  absl::flat_hash_map<std::string, Erasure*> erasures_;
  absl::flat_hash_map<std::string, int64_t> suppressions_;
};

Ingestor::Ingestor(RocksStore* store, core::LiveState* live, const IngestOptions& options,
                   const core::Clock* clock)
    : store_(store), live_(live), options_(options), clock_(clock) {}

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
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("server is shutting down");
    if (queue_.size() >= static_cast<size_t>(options_.queue_capacity)) {
      return absl::ResourceExhaustedError(
          absl::StrCat("ingest queue full (", options_.queue_capacity, " requests); retry later"));
    }
    queue_.push_back({std::move(command), std::move(done)});
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
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto ready = [&] { return !queue_.empty() || stopping_; };
      if (trending_dirty_) {
        cv_.wait_for(lock, interval, ready);
      } else {
        cv_.wait(lock, ready);
      }
      if (queue_.empty() && stopping_) break;
      while (!queue_.empty() && group.size() < max_group) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queue_depth_.store(queue_.size(), std::memory_order_relaxed);
    }
    if (!group.empty()) ProcessGroup(group);
    group.clear();
    MaybePublishTrending();
    live_->epochs.Reclaim();
  }
  if (trending_dirty_) PublishTrending();
  live_->epochs.Reclaim();
}

void Ingestor::MaybePublishTrending() {
  if (trending_dirty_ &&
      clock_->Now() - last_trending_ms_ >= options_.trending_publish_interval_ms) {
    PublishTrending();
  }
}

void Ingestor::PruneStorePopularity() {
  const core::Catalog& catalog = *live_->catalog.Get();
  const double half_life = options_.features.popularity_half_life_days;
  const auto keep = static_cast<size_t>(std::max(1, options_.store_trending_keep));
  rocksdb::WriteBatch batch;
  std::vector<std::pair<core::StoreIndex, std::vector<core::ProductIndex>>> drop;
  for (size_t s = 0; s < store_popularity_.size() && s < catalog.store_count(); ++s) {
    auto victims =
        core::StorePopularityOverflow(store_popularity_[s], clock_->Now(), half_life, keep);
    if (victims.empty()) continue;
    for (core::ProductIndex p : victims) {
      batch.Delete(store_->handle(Cf::kStorePopularity),
                   keys::StoreProduct(catalog.store(s).id, catalog.product(p).id));
    }
    drop.emplace_back(static_cast<core::StoreIndex>(s), std::move(victims));
  }
  if (drop.empty()) return;
  // Forgotten in memory only once forgotten on disk; a failed write leaves
  // both as they were (tried again at the next rebuild).
  if (!store_->Write(batch).ok()) return;
  for (auto& [s, victims] : drop) {
    for (core::ProductIndex p : victims) store_popularity_[s].erase(p);
  }
}

void Ingestor::PublishTrending() {
  const core::FeatureOptions& f = options_.features;
  PruneStorePopularity();
  live_->trending.Publish(
      core::BuildTrending(popularity_, *live_->catalog.Get(), clock_->Now(),
                          f.popularity_half_life_days, static_cast<size_t>(f.trending_list_size),
                          &store_popularity_),
      live_->epochs);
  trending_dirty_ = false;
  last_trending_ms_ = clock_->Now();
}

void Ingestor::ProcessGroup(std::vector<Pending>& group) {
  Group g(*store_, *live_, popularity_, store_popularity_);
  std::vector<absl::Status> statuses(group.size());
  std::vector<WriteResult> results(group.size());
  for (size_t i = 0; i < group.size(); ++i) {
    statuses[i] =
        std::visit([&](const auto& c) { return Apply(c, g, results[i]); }, group[i].command);
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
      g.OfferEvent(e.offer_id, ev.type == core::EventType::kOfferClick);
    }

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

absl::Status Ingestor::Apply(const UpsertCustomers& c, Group& g, WriteResult& r) {
  const core::Catalog& catalog = g.catalog().current();
  for (size_t i = 0; i < c.customers.size(); ++i) {
    const CustomerUpsert& u = c.customers[i];
    if (!u.home_store_id.empty() && !catalog.FindStore(u.home_store_id)) {
      return absl::NotFoundError(
          absl::StrCat("customers[", i, "].home_store_id: unknown store '", u.home_store_id, "'"));
    }
  }
  const int64_t now = clock_->Now();
  for (const CustomerUpsert& u : c.customers) {
    v1::CustomerRecord rec = codec::AttributesToRecord(u, now);
    core::CustomerState& state = g.Customer(u.customer_id, /*features_changed=*/false);
    state.attributes = codec::AttributesFromRecord(rec, catalog);
    g.PutCustomerRecord(u.customer_id, rec);
    ++r.accepted;
  }
  return absl::OkStatus();
}

absl::Status Ingestor::Apply(const UpsertProducts& c, Group& g, WriteResult& r) {
  for (const core::Product& p : c.products) {
    g.batch().Put(store_->handle(Cf::kProducts), p.id,
                  codec::ProductToRecord(p).SerializeAsString());
    g.catalog().UpsertProduct(p);
    ++r.accepted;
  }
  return absl::OkStatus();
}

absl::Status Ingestor::Apply(const UpsertStores& c, Group& g, WriteResult& r) {
  for (const StoreUpsert& s : c.stores) {
    core::CatalogBuilder& cat = g.catalog();
    const core::StoreIndex ordinal =
        cat.UpsertStore({s.store_id, cat.current().FindMarket(s.country).value_or(core::kNoCountry),
                         s.name, s.city});
    v1::StoreRecord rec;
    rec.set_country(s.country);
    rec.set_name(s.name);
    rec.set_city(s.city);
    rec.set_ordinal(ordinal);
    g.batch().Put(store_->handle(Cf::kStores), s.store_id, rec.SerializeAsString());
    ++r.accepted;
  }
  return absl::OkStatus();
}

absl::Status Ingestor::Apply(const SetStock& c, Group& g, WriteResult& r) {
  const core::Catalog& before = g.catalog().current();
  for (size_t i = 0; i < c.levels.size(); ++i) {
    const StockUpdate& u = c.levels[i];
    auto p = before.FindProduct(u.product_id);
    if (!p.has_value() || !before.product(*p).listed) {
      return absl::NotFoundError(absl::StrCat("levels[", i, "].product_id: unknown product '",
                                              u.product_id, "' (upsert it first)"));
    }
    if (!u.store_id.empty() && !before.FindStore(u.store_id)) {
      return absl::NotFoundError(
          absl::StrCat("levels[", i, "].store_id: unknown store '", u.store_id, "'"));
    }
  }
  core::CatalogBuilder& cat = g.catalog();
  std::vector<core::ProductIndex> touched;
  for (const StockUpdate& u : c.levels) {
    const core::ProductIndex p = *cat.current().FindProduct(u.product_id);
    if (!u.store_id.empty()) {
      cat.SetStoreStock(p, *cat.current().FindStore(u.store_id), u.quantity > 0);
    } else {
      cat.SetOnlineStock(p, *cat.current().FindMarket(u.online_country), u.quantity > 0);
    }
    touched.push_back(p);
    ++r.accepted;
  }
  // One record per product holds its availability everywhere.
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  const core::Catalog& after = cat.current();
  for (core::ProductIndex p : touched) {
    v1::StockRecord rec;
    for (uint64_t w : after.StoreStockBits(p)) rec.add_store_bits(w);
    const uint16_t online = after.OnlineStockMask(p);
    for (size_t m = 0; m < after.market_count(); ++m) {
      if ((online >> m) & 1)
        rec.add_online_markets(after.market_code(static_cast<core::CountryIndex>(m)));
    }
    g.batch().Put(store_->handle(Cf::kStock), after.product(p).id, rec.SerializeAsString());
  }
  return absl::OkStatus();
}

std::optional<int64_t> Ingestor::SuppressedThrough(const std::string& customer_id,
                                                   const Group& g) const {
  if (erased_.empty() && g.suppressions().empty()) return std::nullopt;
  const std::string key = keys::Suppression(store_->secret(), customer_id);
  if (auto it = g.suppressions().find(key); it != g.suppressions().end()) return it->second;
  if (auto it = erased_.find(key); it != erased_.end()) return it->second;
  return std::nullopt;
}

absl::Status Ingestor::Apply(const EraseCustomer& c, Group& g, WriteResult& r) {
  const std::string& id = c.customer_id;
  if (c.inactive_before_ms > 0) {
    const core::CustomerState* s = g.Current(id);
    if (s == nullptr || s->features.last_seen == 0 ||
        s->features.last_seen >= c.inactive_before_ms) {
      return absl::FailedPreconditionError("customer_id: active again; not erased by retention");
    }
  }
  Erasure& e = r.erasure;
  e.erased_at_ms = c.erased_at_ms != 0 ? c.erased_at_ms : clock_->Now();
  e.suppress_through_ms = c.suppress_through_ms != 0 ? c.suppress_through_ms
                          : c.inactive_before_ms > 0 ? c.inactive_before_ms - 1
                                                     : e.erased_at_ms + options_.max_clock_skew_ms;
  e.subject_hash = keys::Suppression(store_->secret(), id);
  e.in_memory = g.InMemory(id);
  ASSIGN_OR_RETURN(std::optional<v1::CustomerRecord> record, g.CustomerRecord(id));
  e.attributes = record.has_value();
  ASSIGN_OR_RETURN(std::optional<std::string> features,
                   store_->Get(Cf::kFeatures, keys::Customer(id)));
  e.features = features.has_value();
  const keys::Range range = keys::CustomerRange(id);
  for (auto [cf, count] :
       {std::pair{Cf::kEvents, &e.events}, {Cf::kIdempotency, &e.idempotency_keys}}) {
    auto it = store_->NewIterator(cf, /*fill_cache=*/false);
    for (it->Seek(range.begin); it->Valid() && it->key().compare(range.end) < 0; it->Next())
      ++*count;
    RETURN_IF_ERROR(FromRocks(it->status(), absl::StrCat("erase: read ", RocksStore::CfName(cf))));
  }
  if (!e.in_memory && !e.attributes && !e.features && e.events == 0 && e.idempotency_keys == 0) {
    return absl::NotFoundError(absl::StrCat("customer_id: no data held about '", id, "'"));
  }
  rocksdb::WriteBatch& b = g.batch();
  b.DeleteRange(store_->handle(Cf::kEvents), range.begin, range.end);
  b.DeleteRange(store_->handle(Cf::kIdempotency), range.begin, range.end);
  b.Delete(store_->handle(Cf::kCustomers), keys::Customer(id));
  b.Delete(store_->handle(Cf::kFeatures), keys::Customer(id));
  v1::SuppressionRecord sup;
  sup.set_erased_ms(e.erased_at_ms);
  sup.set_suppress_through_ms(e.suppress_through_ms);
  b.Put(store_->handle(Cf::kSuppression), e.subject_hash, sup.SerializeAsString());
  // Earlier requests of this group may have used the customer's event ids.
  absl::erase_if(g.seen_ids(), [&](const auto& kv) {
    return absl::string_view(kv.first).substr(0, range.begin.size()) == range.begin;
  });
  g.Erase(id, e.subject_hash, e.suppress_through_ms, &e);
  return absl::OkStatus();
}

absl::Status Ingestor::Apply(const Suppress& c, Group& g, WriteResult& r) {
  v1::SuppressionRecord sup;
  sup.set_erased_ms(c.erased_at_ms);
  sup.set_suppress_through_ms(c.suppress_through_ms);
  g.batch().Put(store_->handle(Cf::kSuppression), c.subject_hash, sup.SerializeAsString());
  g.Suppress(c.subject_hash, c.suppress_through_ms);
  ++r.accepted;
  return absl::OkStatus();
}

absl::Status Ingestor::Apply(const SaveOfferLedger&, Group& g, WriteResult& r) {
  g.batch().Put(store_->handle(Cf::kMeta), keys::kOfferLedgerMetaKey, live_->offers.Serialize());
  ++r.accepted;
  return absl::OkStatus();
}

absl::Status Ingestor::Apply(const SetConsent& c, Group& g, WriteResult& r) {
  ASSIGN_OR_RETURN(std::optional<v1::CustomerRecord> record, g.CustomerRecord(c.customer_id));
  if (!record.has_value() && !g.InMemory(c.customer_id)) {
    return absl::NotFoundError(absl::StrCat("customer_id: unknown customer '", c.customer_id, "'"));
  }
  v1::CustomerRecord rec = record.value_or(v1::CustomerRecord());
  if (c.personalization.has_value()) rec.set_consent_personalization(*c.personalization);
  if (c.marketing_email.has_value()) rec.set_consent_marketing_email(*c.marketing_email);
  rec.set_updated_ms(clock_->Now());
  core::CustomerState& state = g.Customer(c.customer_id, /*features_changed=*/false);
  state.attributes = codec::AttributesFromRecord(rec, g.catalog().current());
  g.PutCustomerRecord(c.customer_id, rec);
  r.consent_personalization = rec.consent_personalization();
  r.consent_marketing_email = rec.consent_marketing_email();
  ++r.accepted;
  return absl::OkStatus();
}

}  // namespace nextbest::storage
