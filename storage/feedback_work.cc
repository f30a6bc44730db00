#include "storage/feedback_work.h"

#include "core/status_macros.h"
#include "storage/codec.h"
#include "storage/keys.h"
#include "storage/records.pb.h"
#include "storage/rocks_status.h"

namespace nextbest::storage {
namespace {}  // namespace

core::ExposureEntry FeedbackWork::EntryFromRecord(const v1::ExposureRecord& r) {
  core::ExposureEntry e;
  e.variant = r.variant();
  e.first = r.first_ms();
  e.decisions = r.decisions();
  e.impressions = r.impressions();
  e.clicks = r.clicks();
  e.add_to_carts = r.add_to_carts();
  e.orders = r.orders();
  e.revenue_minor = r.revenue_minor();
  e.attributed_lines = r.attributed_lines();
  e.attributed_revenue_minor = r.attributed_revenue_minor();
  return e;
}

namespace {

v1::ExposureRecord ToRecord(const core::ExposureEntry& e) {
  v1::ExposureRecord r;
  r.set_variant(e.variant);
  r.set_first_ms(e.first);
  r.set_decisions(e.decisions);
  r.set_impressions(e.impressions);
  r.set_clicks(e.clicks);
  r.set_add_to_carts(e.add_to_carts);
  r.set_orders(e.orders);
  r.set_revenue_minor(e.revenue_minor);
  r.set_attributed_lines(e.attributed_lines);
  r.set_attributed_revenue_minor(e.attributed_revenue_minor);
  return r;
}

// The smallest key after every key starting with `prefix`.
std::string PrefixEnd(std::string prefix) {
  prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

}  // namespace

absl::StatusOr<FeedbackWork::PendingEntry*> FeedbackWork::Load(const std::string& customer,
                                                               const std::string& experiment) {
  auto [it, inserted] = entries_.try_emplace({customer, experiment});
  if (!inserted) return &it->second;
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_.Get(Cf::kExperiments, keys::Exposure(customer, experiment)));
  if (bytes.has_value()) {
    ASSIGN_OR_RETURN(auto rec, codec::Parse<v1::ExposureRecord>(*bytes, "exposure"));
    it->second.before = EntryFromRecord(rec);
    it->second.after = *it->second.before;
    it->second.exists = true;
  }
  return &it->second;
}

absl::StatusOr<core::ExposureEntry*> FeedbackWork::Entry(const std::string& customer,
                                                         const std::string& experiment,
                                                         bool create) {
  ASSIGN_OR_RETURN(PendingEntry * p, Load(customer, experiment));
  if (!p->exists) {
    if (!create) return nullptr;
    p->exists = true;
    p->after = core::ExposureEntry{};
  }
  p->changed = true;  // the caller is about to change it
  return &p->after;
}

absl::StatusOr<std::vector<std::pair<std::string, core::ExposureEntry*>>> FeedbackWork::Entries(
    const std::string& customer) {
  const std::string prefix = keys::ExposurePrefix(customer);
  const std::string end = PrefixEnd(prefix);
  std::vector<std::string> experiments;
  auto it = store_.NewIterator(Cf::kExperiments, /*fill_cache=*/true);
  for (it->Seek(prefix); it->Valid() && it->key().compare(end) < 0; it->Next()) {
    experiments.push_back(it->key().ToString().substr(prefix.size()));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "read exposures"));
  for (auto e = entries_.lower_bound({customer, ""});
       e != entries_.end() && e->first.first == customer; ++e) {
    experiments.push_back(e->first.second);
  }
  std::vector<std::pair<std::string, core::ExposureEntry*>> out;
  for (const std::string& x : experiments) {
    if (std::any_of(out.begin(), out.end(), [&](const auto& o) { return o.first == x; })) continue;
    ASSIGN_OR_RETURN(core::ExposureEntry * e, Entry(customer, x, /*create=*/false));
    if (e != nullptr) out.emplace_back(x, e);
  }
  return out;
}

void FeedbackWork::AddDecision(const std::string& customer, const core::DecisionId& id,
                               core::StoredDecision decision, std::string record) {
  decisions_[keys::Decision(customer, id.hi, id.lo)] = {std::move(decision), std::move(record)};
}

core::StoredDecision FeedbackWork::FromRecord(const core::Catalog& catalog,
                                              const std::string& bytes) const {
  core::StoredDecision d;
  v1::DecisionRecord rec;
  if (!rec.ParseFromString(bytes)) return d;  // unreadable: attributes nothing
  d.time = rec.time_ms();
  for (const std::string& p : rec.product_ids()) {
    d.products.push_back(catalog.FindProduct(p).value_or(core::kNoProduct));
  }
  for (const auto& a : rec.arms()) d.arms.emplace_back(a.experiment(), a.variant());
  return d;
}

absl::StatusOr<const core::StoredDecision*> FeedbackWork::Decision(const core::Catalog& catalog,
                                                                   const std::string& customer,
                                                                   const core::DecisionId& id) {
  const std::string key = keys::Decision(customer, id.hi, id.lo);
  if (auto it = decisions_.find(key); it != decisions_.end()) return &it->second.decision;
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, store_.Get(Cf::kExperiments, key));
  if (!bytes.has_value()) return nullptr;
  return &decisions_.emplace(key, PendingDecision{FromRecord(catalog, *bytes), {}})
              .first->second.decision;
}

absl::StatusOr<std::vector<const core::StoredDecision*>> FeedbackWork::Decisions(
    const core::Catalog& catalog, const std::string& customer, core::TimeMs from, core::TimeMs to) {
  const std::string begin = keys::Decision(customer, static_cast<uint64_t>(from) << 16, 0);
  const std::string end = keys::Decision(customer, static_cast<uint64_t>(to + 1) << 16, 0);
  auto it = store_.NewIterator(Cf::kExperiments, /*fill_cache=*/true);
  for (it->Seek(begin); it->Valid() && it->key().compare(end) < 0; it->Next()) {
    const std::string key = it->key().ToString();
    if (!decisions_.contains(key)) {
      decisions_.emplace(key, PendingDecision{FromRecord(catalog, it->value().ToString()), {}});
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "read decisions"));
  std::vector<const core::StoredDecision*> out;
  for (auto d = decisions_.lower_bound(begin); d != decisions_.end() && d->first < end; ++d) {
    out.push_back(&d->second.decision);
  }
  return out;
}

absl::Status FeedbackWork::Erase(const std::string& customer) {
  ASSIGN_OR_RETURN(auto entries, Entries(customer));
  for (auto& [experiment, entry] : entries) {
    PendingEntry& p = entries_[{customer, experiment}];
    p.exists = false;
    p.changed = true;
  }
  const keys::Range range = keys::CustomerRange(customer);
  for (auto it = decisions_.lower_bound(range.begin);
       it != decisions_.end() && it->first < range.end;) {
    it = decisions_.erase(it);
  }
  return absl::OkStatus();
}

void FeedbackWork::Seal(rocksdb::WriteBatch& batch, const core::ExperimentTotals& totals) {
  for (const auto& [key, p] : entries_) {
    if (!p.changed) continue;
    const std::string k = keys::Exposure(key.first, key.second);
    if (p.exists) {
      batch.Put(store_.handle(Cf::kExperiments), k, ToRecord(p.after).SerializeAsString());
    } else if (p.before.has_value()) {
      batch.Delete(store_.handle(Cf::kExperiments), k);
    }
  }
  for (const auto& [key, d] : decisions_) {
    if (!d.record.empty()) batch.Put(store_.handle(Cf::kExperiments), key, d.record);
  }
  if (unattributed_.unknown_decision_events != 0 || unattributed_.unattributed_lines != 0) {
    const core::UnattributedCounts now = totals.Unattributed();
    v1::FeedbackCountsRecord rec;
    rec.set_unknown_decision_events(now.unknown_decision_events +
                                    unattributed_.unknown_decision_events);
    rec.set_unattributed_lines(now.unattributed_lines + unattributed_.unattributed_lines);
    batch.Put(store_.handle(Cf::kMeta), keys::kFeedbackMetaKey, rec.SerializeAsString());
  }
}

void FeedbackWork::Publish(core::ExperimentTotals& totals) {
  for (const auto& [key, p] : entries_) {
    if (!p.changed) continue;
    totals.Apply(key.second, p.before ? &*p.before : nullptr, p.exists ? &p.after : nullptr);
  }
  totals.AddUnattributed(unattributed_);
}

}  // namespace nextbest::storage
