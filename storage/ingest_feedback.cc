// The writer's feedback work: served decisions stored and exposures counted
// (RecordDecisions, drained from core::DecisionLog), feedback events
// attributed to decisions and experiments, old decisions pruned, and the
// per-variant totals rebuilt from the stored entries at start. The rule is
// core/attribution.h's.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/segments.h"
#include "core/status_macros.h"
#include "storage/codec.h"
#include "storage/ingest_group.h"
#include "storage/ingestor.h"
#include "storage/keys.h"
#include "storage/rocks_status.h"

namespace nextbest::storage {

absl::Status Ingestor::Apply(const RecordDecisions& c, Group& g, WriteResult& r) {
  const core::Catalog& catalog = g.catalog().current();
  for (const core::ServedDecision& d : c.decisions) {
    if (std::optional<int64_t> through = SuppressedThrough(d.customer_id, g);
        through && d.time <= *through) {
      continue;  // erased meanwhile: nothing about them is kept
    }
    v1::DecisionRecord rec;
    rec.set_time_ms(d.time);
    rec.set_placement(d.placement);
    core::StoredDecision stored;
    stored.time = d.time;
    stored.products = d.products;
    for (const auto& [experiment, variant] : d.arms) {
      auto* arm = rec.add_arms();
      arm->set_experiment(experiment);
      arm->set_variant(variant);
      stored.arms.emplace_back(experiment, variant);
      ASSIGN_OR_RETURN(core::ExposureEntry * e,
                       g.feedback().Entry(d.customer_id, experiment, /*create=*/true));
      if (e->decisions == 0) {  // the first decision exposes the customer
        e->variant = variant;
        e->first = d.time;
      }
      e->first = std::min(e->first, d.time);
      ++e->decisions;
    }
    // Offers: the shown and the held-back groups of each offer's uplift.
    const std::string segment = d.offer_segment.empty() ? "none" : d.offer_segment;
    for (const auto& [offers, group] :
         {std::pair{&d.offers, core::kOfferShown}, {&d.held_back_offers, core::kOfferHeldBack}}) {
      for (const std::string& o : *offers) {
        ASSIGN_OR_RETURN(
            core::ExposureEntry * e,
            g.feedback().Entry(d.customer_id, absl::StrCat(core::kOfferExperimentPrefix, o), true));
        if (e->decisions == 0) {
          e->variant = absl::StrCat(group, "|", segment);
          e->first = d.time;
        }
        ++e->decisions;
      }
    }
    for (core::ProductIndex p : d.products) {
      rec.add_product_ids(p < catalog.product_count() ? catalog.product(p).id : "");
    }
    for (const std::string& o : d.offers) rec.add_offer_ids(o);
    g.feedback().AddDecision(d.customer_id, d.id, std::move(stored), rec.SerializeAsString());
    ++r.accepted;
  }
  return absl::OkStatus();
}

absl::Status Ingestor::Feedback(const RawEvent& e, const core::Event& ev, Group& g) {
  FeedbackWork& f = g.feedback();
  const core::Catalog& catalog = g.catalog().current();
  const core::DecisionConfig* config = live_->config.Get();
  const core::TimeMs window = config != nullptr ? config->learning.attribution_window_ms
                                                : core::LearningSpec{}.attribution_window_ms;
  const std::optional<core::DecisionId> id =
      e.decision_id.empty() ? std::nullopt : core::DecisionId::Parse(e.decision_id);
  const core::StoredDecision* named = nullptr;
  if (id.has_value()) {
    ASSIGN_OR_RETURN(named, f.Decision(catalog, e.customer_id, *id));
  }
  // Impressions, clicks and add-to-carts count for the decision they name.
  auto count = [&](int64_t core::ExposureEntry::*field) -> absl::Status {
    if (named == nullptr) {
      if (ev.type != core::EventType::kAddToCart) ++f.unattributed().unknown_decision_events;
      return absl::OkStatus();
    }
    for (const auto& [experiment, variant] : named->arms) {
      ASSIGN_OR_RETURN(core::ExposureEntry * entry,
                       f.Entry(e.customer_id, experiment, /*create=*/false));
      if (entry != nullptr) ++(entry->*field);
    }
    return absl::OkStatus();
  };
  switch (ev.type) {
    case core::EventType::kProductImpression:
    case core::EventType::kOfferImpression:
      if (id.has_value()) return count(&core::ExposureEntry::impressions);
      return absl::OkStatus();
    case core::EventType::kProductClick:
    case core::EventType::kOfferClick:
      if (id.has_value()) return count(&core::ExposureEntry::clicks);
      return absl::OkStatus();
    case core::EventType::kAddToCart:
      if (id.has_value()) return count(&core::ExposureEntry::add_to_carts);
      return absl::OkStatus();
    case core::EventType::kPurchase:
      break;
    case core::EventType::kView:
    case core::EventType::kRemoveFromCart:
    case core::EventType::kReturn:
    case core::EventType::kContact:  // counted by the contact policy (core/contact_policy.h)
    case core::EventType::kComplaint:
      return absl::OkStatus();
  }
  // A purchase: orders and revenue for every experiment the customer was
  // exposed to by then; each line last-touch attributed.
  int64_t total = 0;
  for (const core::OrderLine& l : ev.lines) total += l.unit_price_minor * l.quantity;
  ASSIGN_OR_RETURN(auto entries, f.Entries(e.customer_id));
  for (auto& [experiment, entry] : entries) {
    if (entry->first > ev.time) continue;
    ++entry->orders;
    entry->revenue_minor += total;
  }
  std::vector<const core::StoredDecision*> recent;
  if (named == nullptr) {
    ASSIGN_OR_RETURN(recent, f.Decisions(catalog, e.customer_id, ev.time - window, ev.time));
  }
  for (const core::OrderLine& l : ev.lines) {
    const core::StoredDecision* d = named;
    if (d == nullptr) {
      const int i = core::LastTouch(recent, l.product, ev.time, window);
      if (i >= 0) d = recent[i];
    }
    if (d == nullptr) {
      ++f.unattributed().unattributed_lines;
      continue;
    }
    for (const auto& [experiment, variant] : d->arms) {
      ASSIGN_OR_RETURN(core::ExposureEntry * entry,
                       f.Entry(e.customer_id, experiment, /*create=*/false));
      if (entry == nullptr) continue;
      ++entry->attributed_lines;
      entry->attributed_revenue_minor += l.unit_price_minor * l.quantity;
    }
  }
  return absl::OkStatus();
}

absl::Status Ingestor::Apply(const PruneDecisions& c, Group& g, WriteResult& r) {
  auto it = store_->NewIterator(Cf::kExperiments, /*fill_cache=*/false);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string key = it->key().ToString();
    std::optional<keys::ExperimentsKey> k = keys::ParseExperimentsKey(key);
    if (!k.has_value() || k->kind != 'd') continue;
    uint64_t hi = 0;
    for (int i = 0; i < 8; ++i) hi = (hi << 8) | static_cast<uint8_t>(k->rest[i]);
    if (static_cast<int64_t>(hi >> 16) < c.before_ms) {
      g.batch().Delete(store_->handle(Cf::kExperiments), it->key());
      ++r.accepted;
    }
  }
  return FromRocks(it->status(), "prune decisions");
}

int Ingestor::RfmSegmentOf(const core::CustomerState& state, core::TimeMs now) const {
  const core::Models* models = live_->models.Get();
  if (models == nullptr || models->rfm.population == 0) return 0;
  return static_cast<int>(core::ScoreRfm(state.features, models->rfm, now).segment);
}

absl::Status Ingestor::RecoverFeedback() {
  core::ExperimentTotals& totals = live_->experiment_totals;
  totals.Clear();
  ASSIGN_OR_RETURN(std::optional<std::string> meta, store_->Get(Cf::kMeta, keys::kFeedbackMetaKey));
  if (meta.has_value()) {
    ASSIGN_OR_RETURN(auto rec, codec::Parse<v1::FeedbackCountsRecord>(*meta, "feedback counts"));
    totals.AddUnattributed({rec.unknown_decision_events(), rec.unattributed_lines()});
  }
  // Offer posteriors.
  const std::string prefix = keys::OfferPosterior("");
  auto meta_it = store_->NewIterator(Cf::kMeta, /*fill_cache=*/false);
  for (meta_it->Seek(prefix); meta_it->Valid() && meta_it->key().starts_with(prefix);
       meta_it->Next()) {
    ASSIGN_OR_RETURN(auto rec, codec::Parse<v1::OfferPosteriorRecord>(meta_it->value().ToString(),
                                                                      "offer posterior"));
    core::OfferPosterior& p =
        live_->offers.Counters(meta_it->key().ToString().substr(prefix.size()))->posterior;
    codec::PosteriorFromRecord(rec, p);
  }
  RETURN_IF_ERROR(FromRocks(meta_it->status(), "read offer posteriors"));

  auto it = store_->NewIterator(Cf::kExperiments, /*fill_cache=*/false);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string key = it->key().ToString();
    std::optional<keys::ExperimentsKey> k = keys::ParseExperimentsKey(key);
    if (!k.has_value()) return absl::DataLossError("malformed experiments key");
    if (k->kind != 'x') continue;
    ASSIGN_OR_RETURN(auto rec,
                     codec::Parse<v1::ExposureRecord>(it->value().ToString(), "exposure"));
    const core::ExposureEntry entry = FeedbackWork::EntryFromRecord(rec);
    totals.Apply(std::string(k->rest), nullptr, &entry);
  }
  return FromRocks(it->status(), "read exposures");
}

}  // namespace nextbest::storage
