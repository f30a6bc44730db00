// Readers run the decision path while the writer publishes new customer
// states, catalogs and trending lists, grows the customer table and
// reclaims old objects. Run under ThreadSanitizer in CI: any data race or
// use-after-free on the lock-free path fails it.

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "core/live_state.h"
#include "tests/core/test_catalog.h"

namespace nextbest::core {
namespace {

constexpr TimeMs kNow = 1'700'000'000'000;

TEST(ConcurrencyTest, DecisionsWhileTheWriterPublishes) {
  LiveState live;
  live.catalog.Publish(testing::MakeCatalog(50), live.epochs);
  std::vector<ProductPopularity> pop(50);
  live.trending.Publish(BuildTrending(pop, *live.catalog.Get(), kNow, 7, 100), live.epochs);
  PlacementSpec rv{"rv", PlacementSpec::Kind::kRecentlyViewed};
  PlacementSpec tr{"tr", PlacementSpec::Kind::kTrending};
  PlacementSpec rp{"rp", PlacementSpec::Kind::kReplenishment};
  live.placements.Publish(std::make_unique<const PlacementTable>(PlacementTable::FromSpecs({rv, tr, rp})),
                          live.epochs);

  std::atomic<bool> stop{false};
  std::atomic<int64_t> decisions{0};
  std::atomic<int64_t> violations{0};
  auto reader = [&](int id) {
    std::mt19937_64 rng(id);
    while (!stop.load(std::memory_order_relaxed)) {
      ReadGuard guard(live.epochs);
      const Catalog& catalog = *live.catalog.Get();
      const PlacementTable& placements = *live.placements.Get();
      const std::string customer = "c" + std::to_string(rng() % 2000);
      const CustomerState* state = live.customers.Find(customer);
      // Invariant written by the writer: events == recently viewed size * 1000 + orders.
      if (state != nullptr &&
          state->features.events !=
              static_cast<int64_t>(state->features.recently_viewed.size()) * 1000 + state->features.orders) {
        violations.fetch_add(1);
      }
      DecisionRequest r;
      r.placement = &placements.placements[rng() % 3];
      r.customer = state;
      r.now = kNow;
      const Decision d = Decide(catalog, *live.trending.Get(), r);
      for (const auto& item : d.items) {
        if (!catalog.Recommendable(item.product, kNow)) violations.fetch_add(1);
      }
      decisions.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) readers.emplace_back(reader, i);

  std::mt19937_64 rng(99);
  const int kRounds = 20000;
  for (int i = 0; i < kRounds; ++i) {
    const std::string customer = "c" + std::to_string(rng() % 2000);
    const CustomerState* current = live.customers.Find(customer);
    auto next = current ? std::make_unique<CustomerState>(*current) : std::make_unique<CustomerState>();
    next->attributes.consent_personalization = true;
    auto& f = next->features;
    if (f.recently_viewed.size() < 10) {
      f.recently_viewed.insert(f.recently_viewed.begin(), {static_cast<ProductIndex>(rng() % 50), kNow - i});
    }
    f.orders += 1;
    f.purchases.push_back({static_cast<ProductIndex>(rng() % 50), 2, kNow - 30 * kMsPerDay, kNow - 20 * kMsPerDay});
    if (f.purchases.size() > 8) f.purchases.erase(f.purchases.begin());
    f.events = static_cast<int64_t>(f.recently_viewed.size()) * 1000 + f.orders;
    live.customers.Publish(customer, std::move(next));
    if (i % 500 == 0) {
      CatalogBuilder b(*live.catalog.Get());
      b.SetOnlineStock(static_cast<ProductIndex>(rng() % 50), 0, rng() % 2);
      live.catalog.Publish(b.Build(), live.epochs);
      AddPopularity(pop[rng() % 50], kNow, 1, 0, 7);
      live.trending.Publish(BuildTrending(pop, *live.catalog.Get(), kNow, 7, 100), live.epochs);
    }
    if (i % 64 == 0) live.epochs.Reclaim();
  }
  stop = true;
  for (auto& t : readers) t.join();
  live.epochs.Reclaim();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(decisions.load(), 0);
  EXPECT_EQ(live.epochs.pending(), 0u);
}

}  // namespace
}  // namespace nextbest::core
