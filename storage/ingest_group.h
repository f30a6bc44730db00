#pragma once
// The work of one group commit (internal to the writer: ingestor.cc and the
// ingest_*.cc files that apply commands): the write batch, and the new
// in-memory objects published only if the batch is written.

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/status_macros.h"
#include "storage/codec.h"
#include "storage/feedback_work.h"
#include "storage/ingestor.h"
#include "storage/keys.h"

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
        store_popularity_base_(store_pop),
        feedback_(store) {}

  rocksdb::WriteBatch& batch() { return batch_; }
  FeedbackWork& feedback() { return feedback_; }
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

  // An offer impression or click by a customer in RFM `segment`, counted
  // (and its posterior moved) once the group is durable.
  void OfferEvent(const std::string& offer_id, bool click, core::TimeMs time, int segment) {
    offer_events_.emplace_back(offer_id, click);
    const core::DecisionConfig* config = live_.config.Get();
    const double half_life =
        config != nullptr ? config->learning.half_life_days : core::LearningSpec{}.half_life_days;
    auto [it, inserted] = posteriors_.try_emplace(offer_id);
    Posterior& p = it->second;
    if (inserted) {
      const core::OfferPosterior& live = live_.offers.Counters(offer_id)->posterior;
      p.overall = live.overall.Load();
      for (int s = 0; s < core::kPosteriorSegments; ++s) p.segments[s] = live.by_segment[s].Load();
    }
    p.overall.Add(click, time, half_life);
    if (segment > 0 && segment < core::kPosteriorSegments) {
      p.segments[segment].Add(click, time, half_life);
    }
  }

  // Event ids written by earlier requests of this group: key -> payload hash.
  absl::flat_hash_map<std::string, uint64_t>& seen_ids() { return seen_ids_; }

  // Adds the final feature and popularity records to the batch.
  void Seal() {
    feedback_.Seal(batch_, live_.experiment_totals);
    for (const auto& [offer, p] : posteriors_) {
      batch_.Put(store_.handle(Cf::kMeta), keys::OfferPosterior(offer),
                 codec::PosteriorToRecord(p.overall, p.segments).SerializeAsString());
    }
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
    feedback_.Publish(live_.experiment_totals);
    for (const auto& [offer, click] : offer_events_) {
      if (click) {
        live_.offers.RecordClick(offer);
      } else {
        live_.offers.RecordImpression(offer);
      }
    }
    for (const auto& [offer, p] : posteriors_) {
      core::OfferPosterior& live = live_.offers.Counters(offer)->posterior;
      live.overall.Store(p.overall);
      for (int s = 0; s < core::kPosteriorSegments; ++s) live.by_segment[s].Store(p.segments[s]);
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
  struct Posterior {
    core::ClickCounts overall;
    std::array<core::ClickCounts, core::kPosteriorSegments> segments;
  };
  std::map<std::string, Posterior> posteriors_;
  absl::flat_hash_map<std::string, v1::CustomerRecord> records_;
  absl::flat_hash_map<std::string, Erasure*> erasures_;
  absl::flat_hash_map<std::string, int64_t> suppressions_;
  FeedbackWork feedback_;
};

}  // namespace nextbest::storage
