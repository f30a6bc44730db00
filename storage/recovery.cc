// Start-up: rebuilds the in-memory state from RocksDB. Events are not
// replayed: every event was written in the same batch as the feature state
// it produced, so the features column family is already the result.

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "storage/codec.h"
#include "storage/ingestor.h"
#include "storage/keys.h"
#include "storage/rocks_status.h"

namespace nextbest::storage {

absl::Status Ingestor::Recover() {
  const auto started = std::chrono::steady_clock::now();
  core::CatalogBuilder catalog(*live_->catalog.Get());

  // Stores in ordinal order, so that stock bit i means the same store as
  // when it was written.
  std::vector<std::pair<uint32_t, core::Store>> stores;
  auto it = store_->NewIterator(Cf::kStores, /*fill_cache=*/false);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ASSIGN_OR_RETURN(auto rec, codec::Parse<v1::StoreRecord>(it->value().ToString(), "store"));
    stores.push_back({rec.ordinal(),
                      {it->key().ToString(),
                       catalog.current().FindMarket(rec.country()).value_or(core::kNoCountry),
                       rec.name(), rec.city()}});
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "read stores"));
  std::sort(stores.begin(), stores.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < stores.size(); ++i) {
    if (stores[i].first != i) {
      return absl::DataLossError(absl::StrCat("store ordinals are not dense: store '",
                                              stores[i].second.id, "' has ordinal ",
                                              stores[i].first, ", expected ", i));
    }
    catalog.UpsertStore(std::move(stores[i].second));
  }
  recovery_.stores = static_cast<int64_t>(stores.size());

  it = store_->NewIterator(Cf::kProducts, /*fill_cache=*/false);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ASSIGN_OR_RETURN(auto rec, codec::Parse<v1::ProductRecord>(it->value().ToString(), "product"));
    catalog.UpsertProduct(codec::ProductFromRecord(it->key().ToString(), rec));
    ++recovery_.products;
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "read products"));

  it = store_->NewIterator(Cf::kStock, /*fill_cache=*/false);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ASSIGN_OR_RETURN(auto rec, codec::Parse<v1::StockRecord>(it->value().ToString(), "stock"));
    auto p = catalog.current().FindProduct(it->key().ToString());
    if (p.has_value()) codec::ApplyStock(rec, *p, catalog);
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "read stock"));

  std::vector<std::pair<core::ProductIndex, v1::PopularityRecord>> popularity;
  it = store_->NewIterator(Cf::kPopularity, /*fill_cache=*/false);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ASSIGN_OR_RETURN(auto rec,
                     codec::Parse<v1::PopularityRecord>(it->value().ToString(), "popularity"));
    popularity.emplace_back(catalog.InternProduct(it->key().ToString()), std::move(rec));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "read popularity"));

  struct StoreEntry {
    core::StoreIndex store;
    core::ProductIndex product;
    core::StoreScore score;
  };
  std::vector<StoreEntry> store_scores;
  it = store_->NewIterator(Cf::kStorePopularity, /*fill_cache=*/false);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ASSIGN_OR_RETURN(auto rec, codec::Parse<v1::StorePopularityRecord>(it->value().ToString(),
                                                                       "store popularity"));
    auto ids = keys::ParseStoreProduct(it->key().ToString());
    if (!ids.has_value()) return absl::DataLossError("malformed store popularity key");
    auto s = catalog.current().FindStore(ids->first);
    if (!s.has_value()) continue;  // not a store any more
    store_scores.push_back(
        {*s, catalog.InternProduct(ids->second), codec::StoreScoreFromRecord(rec)});
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "read store popularity"));

  ASSIGN_OR_RETURN(std::optional<std::string> ledger,
                   store_->Get(Cf::kMeta, keys::kOfferLedgerMetaKey));
  if (ledger.has_value()) RETURN_IF_ERROR(live_->offers.Load(*ledger));
  RETURN_IF_ERROR(RecoverFeedback());
  RETURN_IF_ERROR(RecoverLogPositions());

  it = store_->NewIterator(Cf::kSuppression, /*fill_cache=*/false);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ASSIGN_OR_RETURN(auto rec,
                     codec::Parse<v1::SuppressionRecord>(it->value().ToString(), "suppression"));
    erased_[it->key().ToString()] = rec.suppress_through_ms() != 0
                                        ? rec.suppress_through_ms()
                                        : rec.erased_ms() + options_.max_clock_skew_ms;
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "read suppression"));

  // Customers: attributes and features live in two families keyed alike;
  // walk both in key order and join.
  struct Loaded {
    std::string id;
    std::unique_ptr<core::CustomerState> state;
  };
  std::vector<Loaded> customers;
  auto attrs = store_->NewIterator(Cf::kCustomers, /*fill_cache=*/false);
  auto feats = store_->NewIterator(Cf::kFeatures, /*fill_cache=*/false);
  attrs->SeekToFirst();
  feats->SeekToFirst();
  while (attrs->Valid() || feats->Valid()) {
    const int order = !attrs->Valid()   ? 1
                      : !feats->Valid() ? -1
                                        : attrs->key().compare(feats->key());
    Loaded l{order <= 0 ? attrs->key().ToString() : feats->key().ToString(),
             std::make_unique<core::CustomerState>()};
    if (order <= 0) {
      ASSIGN_OR_RETURN(auto rec,
                       codec::Parse<v1::CustomerRecord>(attrs->value().ToString(), "customer"));
      l.state->attributes = codec::AttributesFromRecord(rec, catalog.current());
      attrs->Next();
    }
    if (order >= 0) {
      ASSIGN_OR_RETURN(auto rec,
                       codec::Parse<v1::FeaturesRecord>(feats->value().ToString(), "features"));
      l.state->features = codec::FeaturesFromRecord(rec, catalog);
      feats->Next();
    }
    customers.push_back(std::move(l));
  }
  RETURN_IF_ERROR(FromRocks(attrs->status(), "read customers"));
  RETURN_IF_ERROR(FromRocks(feats->status(), "read features"));

  // Publish: catalog first (customers refer to its product indices).
  live_->catalog.Publish(catalog.Build(), live_->epochs);
  const core::Catalog& published = *live_->catalog.Get();
  popularity_.assign(published.product_count(), core::ProductPopularity{});
  for (auto& [p, rec] : popularity) popularity_[p] = codec::PopularityFromRecord(rec, published);
  store_popularity_.assign(published.store_count(), {});
  for (const StoreEntry& e : store_scores) store_popularity_[e.store][e.product] = e.score;
  for (auto& l : customers) live_->customers.Publish(l.id, std::move(l.state));
  recovery_.customers = static_cast<int64_t>(customers.size());
  PublishTrending();
  live_->epochs.Reclaim();
  recovery_.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return absl::OkStatus();
}

}  // namespace nextbest::storage
