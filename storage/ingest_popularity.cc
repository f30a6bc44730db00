// Product popularity and the trending lists: the writer keeps its own
// shard's popularity (persisted with the events), publishes trending lists
// from it, and in a cluster shares it with the other shards and adds
// theirs (server/cluster_models.cc).

#include <algorithm>
#include <chrono>

#include "core/model_parts.h"
#include "storage/ingestor.h"
#include "storage/keys.h"
#include "storage/rocks_store.h"

namespace nextbest::storage {

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
  const core::Catalog& catalog = *live_->catalog.Get();
  const auto list_size = static_cast<size_t>(f.trending_list_size);
  if (remote_in_use_ == nullptr) {
    live_->trending.Publish(
        core::BuildTrending(popularity_, catalog, clock_->Now(), f.popularity_half_life_days,
                            list_size, &store_popularity_),
        live_->epochs);
  } else {
    // The whole population's: this shard's own and the others' last parts.
    std::vector<core::ProductPopularity> products = popularity_;
    core::StorePopularity stores = store_popularity_;
    core::MergePopularity(products, remote_in_use_->products, f.popularity_half_life_days);
    core::MergeStorePopularity(stores, remote_in_use_->stores, f.popularity_half_life_days);
    live_->trending.Publish(core::BuildTrending(products, catalog, clock_->Now(),
                                                f.popularity_half_life_days, list_size, &stores),
                            live_->epochs);
  }
  trending_dirty_ = false;
  last_trending_ms_ = clock_->Now();
}

std::shared_ptr<const Ingestor::Popularity> Ingestor::CopyPopularity() {
  std::unique_lock<std::mutex> lock(share_mu_);
  const uint64_t before = copies_made_;
  copy_wanted_ = true;
  cv_.notify_all();  // the writer looks at least every decision_flush_ms anyway
  // Bounded: a writer that stopped never answers (nullptr).
  if (!share_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return copies_made_ != before; })) {
    return nullptr;
  }
  return copy_;
}

void Ingestor::SetRemotePopularity(std::shared_ptr<const Popularity> remote) {
  std::lock_guard<std::mutex> lock(share_mu_);
  remote_ = std::move(remote);
  remote_changed_ = true;
}

void Ingestor::SharePopularity() {
  std::unique_lock<std::mutex> lock(share_mu_);
  if (copy_wanted_) {
    auto copy = std::make_shared<Popularity>();
    copy->products = popularity_;
    copy->stores = store_popularity_;
    copy_ = std::move(copy);
    copy_wanted_ = false;
    ++copies_made_;
    share_cv_.notify_all();
  }
  if (remote_changed_) {
    remote_in_use_ = remote_;
    remote_changed_ = false;
    trending_dirty_ = true;
    last_trending_ms_ = 0;  // publish now
  }
}

}  // namespace nextbest::storage
