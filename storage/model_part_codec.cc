#include "storage/model_part_codec.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "storage/codec.h"

namespace nextbest::storage {
namespace {

using core::CategoryIndex;
using core::ProductIndex;

void ValuesToRecord(const core::ValueCounts& v, v1::ValueCountsRecord& r) {
  for (const auto& [value, count] : v.items()) {
    r.add_values(value);
    r.add_counts(count);
  }
}

core::ValueCounts ValuesFromRecord(const v1::ValueCountsRecord& r) {
  std::vector<std::pair<double, int64_t>> items;
  const int n = std::min(r.values_size(), r.counts_size());
  items.reserve(n);
  for (int i = 0; i < n; ++i) items.push_back({r.values(i), r.counts(i)});
  return core::ValueCounts::FromSorted(std::move(items));
}

void HistoriesToRecord(const core::NeighbourHistories& h, v1::HistoriesRecord& r) {
  for (int64_t n : h.holders) r.add_holders(n);
  r.mutable_products()->Reserve(static_cast<int>(h.items.size()));
  r.mutable_times()->Reserve(static_cast<int>(h.items.size()));
  for (const core::HistoryItem& item : h.items) {
    r.add_products(static_cast<int32_t>(item.product));
    r.add_times(item.time_s);
  }
  for (size_t k = 0; k + 1 < h.starts.size(); ++k) {
    r.add_lengths(static_cast<int32_t>(h.starts[k + 1] - h.starts[k]));
  }
}

void RepurchaseToRecord(const core::RepurchaseCounts::Category& c, v1::RepurchaseCountsRecord& r) {
  r.set_pairs(c.pairs);
  r.set_repeats(c.repeats);
  ValuesToRecord(c.intervals, *r.mutable_intervals());
}

core::RepurchaseCounts::Category RepurchaseFromRecord(const v1::RepurchaseCountsRecord& r) {
  core::RepurchaseCounts::Category c;
  c.pairs = r.pairs();
  c.repeats = r.repeats();
  c.intervals = ValuesFromRecord(r.intervals());
  return c;
}

// The record's tables mapped onto the local catalog.
struct Mapping {
  std::vector<std::optional<ProductIndex>> products;
  std::vector<std::optional<CategoryIndex>> categories;
  int64_t unknown = 0;

  template <typename T>
  absl::StatusOr<std::optional<T>> At(const std::vector<std::optional<T>>& table, int64_t i,
                                      const char* what) {
    if (i < 0 || static_cast<size_t>(i) >= table.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("model part: ", what, " ", i, " out of range"));
    }
    if (!table[i]) ++unknown;
    return table[i];
  }
};

absl::Status HistoriesFromRecord(const v1::HistoriesRecord& r, Mapping& m, size_t products,
                                 core::NeighbourHistories& out) {
  out = core::NeighbourHistories();
  out.holders.assign(products, 0);
  for (int i = 0; i < r.holders_size(); ++i) {
    ASSIGN_OR_RETURN(auto p, m.At(m.products, i, "product"));
    if (p) out.holders[*p] += r.holders(i);
  }
  if (r.times_size() != r.products_size()) {
    return absl::InvalidArgumentError("model part: history times and products differ in number");
  }
  int64_t at = 0;
  for (int32_t length : r.lengths()) {
    if (length < 0 || at + length > r.products_size()) {
      return absl::InvalidArgumentError("model part: history lengths exceed the products");
    }
    size_t kept = 0;
    for (int32_t k = 0; k < length; ++k, ++at) {
      ASSIGN_OR_RETURN(auto p, m.At(m.products, r.products(static_cast<int>(at)), "product"));
      if (!p) continue;  // a product this catalog lacks: the history without it
      out.items.push_back({*p, r.times(static_cast<int>(at))});
      ++kept;
    }
    if (kept >= 2) {
      out.starts.push_back(out.items.size());
    } else {
      out.items.resize(out.items.size() - kept);
    }
  }
  return absl::OkStatus();
}

void CustomerValueToRecord(const core::ModelPart& part, const core::Catalog& catalog,
                           v1::ModelPartRecord& r) {
  for (const auto& [country, counts] : part.customer_value) {
    v1::CustomerValueCountsRecord& c = *r.add_customer_value();
    if (country != core::kNoCountry) c.set_market(catalog.market_code(country));
    for (const auto& p : counts.purchases) {
      c.add_purchase_x(p.x);
      c.add_purchase_t_x(p.t_x);
      c.add_purchase_t(p.T);
      c.add_purchase_count(p.count);
    }
    for (const auto& v : counts.values) {
      c.add_value_orders(v.orders);
      c.add_value_spend_minor(v.spend_minor);
      c.add_value_count(v.count);
    }
  }
  for (int64_t n : part.churn_risk_sizes) r.add_churn_risk_sizes(n);
  const core::SendTimeCounts& st = part.send_time;
  v1::SendTimeCountsRecord& sr = *r.mutable_send_time();
  for (double x : st.hour_shares) sr.add_hour_shares(x);
  for (double x : st.day_shares) sr.add_day_shares(x);
  sr.set_hour_share_squares(st.hour_share_squares);
  sr.set_day_share_squares(st.day_share_squares);
  sr.set_hour_inverse_n(st.hour_inverse_n);
  sr.set_day_inverse_n(st.day_inverse_n);
  sr.set_hour_customers(st.hour_customers);
  sr.set_day_customers(st.day_customers);
  sr.set_customers(st.customers);
}

absl::Status SendTimeFromRecord(const v1::SendTimeCountsRecord& sr, core::SendTimeCounts& st) {
  if (sr.customers() == 0) return absl::OkStatus();  // none, or a part from before send times
  if (sr.hour_shares_size() != core::kHoursPerDay || sr.day_shares_size() != core::kDaysPerWeek) {
    return absl::InvalidArgumentError("model part: send_time needs 24 hour and 7 day shares");
  }
  auto finite = [](double x) { return std::isfinite(x) && x >= 0; };
  for (int i = 0; i < core::kHoursPerDay; ++i) st.hour_shares[i] = sr.hour_shares(i);
  for (int i = 0; i < core::kDaysPerWeek; ++i) st.day_shares[i] = sr.day_shares(i);
  st.hour_share_squares = sr.hour_share_squares();
  st.day_share_squares = sr.day_share_squares();
  st.hour_inverse_n = sr.hour_inverse_n();
  st.day_inverse_n = sr.day_inverse_n();
  st.hour_customers = sr.hour_customers();
  st.day_customers = sr.day_customers();
  st.customers = sr.customers();
  bool ok = st.customers > 0 && st.hour_customers >= 0 && st.day_customers >= 0;
  for (double x : st.hour_shares) ok &= finite(x);
  for (double x : st.day_shares) ok &= finite(x);
  for (double x :
       {st.hour_share_squares, st.day_share_squares, st.hour_inverse_n, st.day_inverse_n}) {
    ok &= finite(x);
  }
  if (!ok) {
    st = {};
    return absl::InvalidArgumentError("model part: send_time figures out of range");
  }
  return absl::OkStatus();
}

absl::Status CustomerValueFromRecord(const v1::ModelPartRecord& r, const core::Catalog& catalog,
                                     Mapping& m, core::ModelPart& part) {
  for (const v1::CustomerValueCountsRecord& c : r.customer_value()) {
    core::CountryIndex country = core::kNoCountry;
    if (!c.market().empty()) {
      const std::optional<core::CountryIndex> found = catalog.FindMarket(c.market());
      if (!found) {
        ++m.unknown;  // a market this node does not serve: its customers count as none
      } else {
        country = *found;
      }
    }
    const int n = c.purchase_x_size();
    if (c.purchase_t_x_size() != n || c.purchase_t_size() != n || c.purchase_count_size() != n ||
        c.value_spend_minor_size() != c.value_orders_size() ||
        c.value_count_size() != c.value_orders_size()) {
      return absl::InvalidArgumentError("model part: customer value columns differ in length");
    }
    core::CustomerValueData one;
    core::CustomerValueCounts& into = one[country];
    for (int i = 0; i < n; ++i) {
      into.purchases.push_back(
          {c.purchase_x(i), c.purchase_t_x(i), c.purchase_t(i), c.purchase_count(i)});
    }
    for (int i = 0; i < c.value_orders_size(); ++i) {
      into.values.push_back({c.value_orders(i), c.value_spend_minor(i), c.value_count(i)});
    }
    core::MergeCustomerValue(part.customer_value, one);
  }
  for (int i = 0; i < r.churn_risk_sizes_size() && i < core::kChurnRiskCount; ++i) {
    part.churn_risk_sizes[i] = r.churn_risk_sizes(i);
  }
  RETURN_IF_ERROR(SendTimeFromRecord(r.send_time(), part.send_time));
  return absl::OkStatus();
}

}  // namespace

v1::ModelPartRecord ModelPartToRecord(const core::ModelPart& part, const core::Catalog& catalog) {
  v1::ModelPartRecord r;
  r.set_built_at_ms(part.built_at);
  r.set_customers(part.customers);
  r.set_interested(part.interested);
  const size_t categories = std::min(part.interest.size(), catalog.category_count());
  for (size_t c = 0; c < catalog.category_count(); ++c) {
    r.add_categories(catalog.category_name(static_cast<CategoryIndex>(c)));
  }
  for (size_t c = 0; c < catalog.category_count(); ++c) {
    r.add_interest(c < categories ? part.interest[c] : 0);
  }
  ValuesToRecord(part.last_purchase, *r.mutable_last_purchase_ms());
  ValuesToRecord(part.frequency, *r.mutable_frequency());
  ValuesToRecord(part.monetary, *r.mutable_monetary());
  ValuesToRecord(part.current_spend, *r.mutable_current_spend());
  ValuesToRecord(part.baseline_spend, *r.mutable_baseline_spend());
  for (size_t p = 0; p < catalog.product_count(); ++p) r.add_products(catalog.product(p).id);
  HistoriesToRecord(part.co_purchase, *r.mutable_co_purchase());
  HistoriesToRecord(part.co_view, *r.mutable_co_view());
  for (size_t c = 0; c < catalog.category_count(); ++c) {
    RepurchaseToRecord(c < part.repurchase.categories.size() ? part.repurchase.categories[c]
                                                             : core::RepurchaseCounts::Category{},
                       *r.add_repurchase());
  }
  RepurchaseToRecord(part.repurchase.shop, *r.mutable_repurchase_shop());
  v1::RfmCutsRecord& cuts = *r.mutable_counted_with();
  cuts.set_population(part.counted_with.population);
  for (double v : part.counted_with.recency_days) cuts.add_recency_days(v);
  for (core::TimeMs t : part.counted_with.recency_cut_times) cuts.add_recency_cut_times(t);
  for (double v : part.counted_with.frequency) cuts.add_frequency(v);
  for (double v : part.counted_with.monetary) cuts.add_monetary(v);
  cuts.set_top_current_minor(part.counted_with_behaviour.top_current_minor);
  cuts.set_median_baseline_minor(part.counted_with_behaviour.median_baseline_minor);
  for (int64_t n : part.rfm_sizes) r.add_rfm_sizes(n);
  for (int64_t n : part.behaviour_sizes) r.add_behaviour_sizes(n);
  r.set_behaviour_priority(part.behaviour_priority);
  for (const auto& [id, n] : part.rule_segment_sizes) {
    v1::SegmentSizeRecord& s = *r.add_rule_segment_sizes();
    s.set_segment(id);
    s.set_customers(n);
  }
  CustomerValueToRecord(part, catalog, r);
  for (size_t p = 0; p < part.popularity.size() && p < catalog.product_count(); ++p) {
    if (part.popularity[p].ref == 0) continue;
    v1::PartPopularityRecord& e = *r.add_popularity();
    e.set_product(static_cast<int32_t>(p));
    *e.mutable_popularity() = codec::PopularityToRecord(part.popularity[p], catalog);
  }
  for (size_t s = 0; s < part.store_popularity.size() && s < catalog.store_count(); ++s) {
    if (part.store_popularity[s].empty()) continue;
    v1::PartStoreRecord& e = *r.add_store_popularity();
    e.set_store(catalog.store(static_cast<core::StoreIndex>(s)).id);
    std::vector<std::pair<ProductIndex, core::StoreScore>> sorted(part.store_popularity[s].begin(),
                                                                  part.store_popularity[s].end());
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [p, score] : sorted) {
      if (p >= catalog.product_count()) continue;
      e.add_products(static_cast<int32_t>(p));
      *e.add_scores() = codec::StoreScoreToRecord(score);
    }
  }
  return r;
}

absl::StatusOr<DecodedPart> ModelPartFromRecord(const v1::ModelPartRecord& r,
                                                const core::Catalog& catalog) {
  Mapping m;
  for (const std::string& id : r.products()) m.products.push_back(catalog.FindProduct(id));
  for (const std::string& path : r.categories()) m.categories.push_back(catalog.FindCategory(path));

  DecodedPart out;
  core::ModelPart& part = out.part;
  part.built_at = r.built_at_ms();
  part.customers = r.customers();
  part.interested = r.interested();
  part.interest.assign(catalog.category_count(), 0);
  for (int i = 0; i < r.interest_size(); ++i) {
    ASSIGN_OR_RETURN(auto c, m.At(m.categories, i, "category"));
    if (c) part.interest[*c] += r.interest(i);
  }
  part.last_purchase = ValuesFromRecord(r.last_purchase_ms());
  part.frequency = ValuesFromRecord(r.frequency());
  part.monetary = ValuesFromRecord(r.monetary());
  part.current_spend = ValuesFromRecord(r.current_spend());
  part.baseline_spend = ValuesFromRecord(r.baseline_spend());
  const size_t products = catalog.product_count();
  RETURN_IF_ERROR(HistoriesFromRecord(r.co_purchase(), m, products, part.co_purchase));
  RETURN_IF_ERROR(HistoriesFromRecord(r.co_view(), m, products, part.co_view));
  part.repurchase.categories.assign(catalog.category_count(), {});
  for (int i = 0; i < r.repurchase_size(); ++i) {
    ASSIGN_OR_RETURN(auto c, m.At(m.categories, i, "category"));
    if (!c) continue;
    core::RepurchaseCounts::Category& into = part.repurchase.categories[*c];
    const core::RepurchaseCounts::Category from = RepurchaseFromRecord(r.repurchase(i));
    into.pairs += from.pairs;
    into.repeats += from.repeats;
    into.intervals.Merge(from.intervals);
  }
  part.repurchase.shop = RepurchaseFromRecord(r.repurchase_shop());
  const v1::RfmCutsRecord& cuts = r.counted_with();
  part.counted_with.population = cuts.population();
  for (int i = 0; i < 4; ++i) {
    part.counted_with.recency_days[i] = i < cuts.recency_days_size() ? cuts.recency_days(i) : 0;
    part.counted_with.recency_cut_times[i] =
        i < cuts.recency_cut_times_size() ? cuts.recency_cut_times(i) : 0;
    part.counted_with.frequency[i] = i < cuts.frequency_size() ? cuts.frequency(i) : 0;
    part.counted_with.monetary[i] = i < cuts.monetary_size() ? cuts.monetary(i) : 0;
  }
  part.counted_with_behaviour.top_current_minor = cuts.top_current_minor();
  part.counted_with_behaviour.median_baseline_minor = cuts.median_baseline_minor();
  for (int i = 0; i < r.rfm_sizes_size() && i < core::kRfmSegmentCount; ++i) {
    part.rfm_sizes[i] = r.rfm_sizes(i);
  }
  for (int i = 0; i < r.behaviour_sizes_size() && i < core::kBehaviourCount; ++i) {
    part.behaviour_sizes[i] = r.behaviour_sizes(i);
  }
  part.behaviour_priority = r.behaviour_priority();
  for (const v1::SegmentSizeRecord& s : r.rule_segment_sizes()) {
    part.rule_segment_sizes.push_back({s.segment(), s.customers()});
  }
  RETURN_IF_ERROR(CustomerValueFromRecord(r, catalog, m, part));
  part.popularity.assign(products, {});
  for (const v1::PartPopularityRecord& e : r.popularity()) {
    ASSIGN_OR_RETURN(auto p, m.At(m.products, e.product(), "product"));
    if (p) part.popularity[*p] = codec::PopularityFromRecord(e.popularity(), catalog);
  }
  part.store_popularity.assign(catalog.store_count(), {});
  for (const v1::PartStoreRecord& e : r.store_popularity()) {
    const std::optional<core::StoreIndex> s = catalog.FindStore(e.store());
    if (!s) {
      ++m.unknown;
      continue;
    }
    const int n = std::min(e.products_size(), e.scores_size());
    for (int k = 0; k < n; ++k) {
      ASSIGN_OR_RETURN(auto p, m.At(m.products, e.products(k), "product"));
      if (p) part.store_popularity[*s][*p] = codec::StoreScoreFromRecord(e.scores(k));
    }
  }
  out.unknown = m.unknown;
  return out;
}

std::vector<std::string> EncodeModelPartChunks(const core::ModelPart& part,
                                               const core::Catalog& catalog, int32_t shard,
                                               int32_t replica, size_t chunk_bytes) {
  const std::string bytes = ModelPartToRecord(part, catalog).SerializeAsString();
  const size_t count = std::max<size_t>(1, (bytes.size() + chunk_bytes - 1) / chunk_bytes);
  std::vector<std::string> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    v1::ModelChunkRecord chunk;
    chunk.set_shard(shard);
    chunk.set_replica(replica);
    chunk.set_generation(part.built_at);
    chunk.set_index(static_cast<int32_t>(i));
    chunk.set_count(static_cast<int32_t>(count));
    chunk.set_data(bytes.substr(i * chunk_bytes, chunk_bytes));
    out.push_back(chunk.SerializeAsString());
  }
  return out;
}

absl::StatusOr<ModelChunk> ParseModelChunk(const std::string& value, int32_t shards) {
  v1::ModelChunkRecord r;
  if (!r.ParseFromString(value)) return absl::InvalidArgumentError("model chunk: not a record");
  if (r.shard() < 0 || r.shard() >= shards || r.count() < 1 || r.index() < 0 ||
      r.index() >= r.count()) {
    return absl::InvalidArgumentError(absl::StrCat("model chunk: shard ", r.shard(), ", piece ",
                                                   r.index(), " of ", r.count(), " out of range"));
  }
  ModelChunk c;
  c.shard = r.shard();
  c.replica = r.replica();
  c.generation = r.generation();
  c.index = r.index();
  c.count = r.count();
  c.data = std::move(*r.mutable_data());
  return c;
}

absl::StatusOr<DecodedPart> DecodeModelPart(const std::string& bytes,
                                            const core::Catalog& catalog) {
  v1::ModelPartRecord record;
  if (!record.ParseFromString(bytes)) {
    return absl::InvalidArgumentError("model part: not a record");
  }
  return ModelPartFromRecord(record, catalog);
}

}  // namespace nextbest::storage
