// Readers run the decision path while the writer publishes new customer
// states, catalogs and trending lists, grows the customer table and
// reclaims old objects, while another thread rebuilds the models over the
// live customers and reloads the config (as the server's models thread and
// admin calls do). Run under ThreadSanitizer in CI: any data race or
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
  auto make_config = [&](int version) {
    DecisionConfig c;
    c.version = version;
    for (Source s : {Source::kRecentlyViewed, Source::kTrending, Source::kReplenishment,
                     Source::kCoPurchase, Source::kOffer}) {
      PlacementSpec p;
      p.id = SourceName(s);
      p.sources.push_back({s});
      c.placements.push_back(p);
    }
    OfferSpec o;
    o.id = "o";
    o.title = "o";
    o.placements = {"offer"};
    o.per_customer_cap = 1;
    o.cap_period_ms = kMsPerDay;
    o.total_cap = 100;
    c.offers.push_back(o);
    live.offers.Attach(c);
    return *DecisionConfig::Build(std::move(c));
  };
  live.config.Publish(make_config(1), live.epochs);

  std::atomic<bool> stop{false};
  std::atomic<int64_t> decisions{0};
  std::atomic<int64_t> violations{0};
  auto reader = [&](int id) {
    std::mt19937_64 rng(id);
    while (!stop.load(std::memory_order_relaxed)) {
      ReadGuard guard(live.epochs);
      const Catalog& catalog = *live.catalog.Get();
      const DecisionConfig& config = *live.config.Get();
      const std::string customer = "c" + std::to_string(rng() % 2000);
      const CustomerState* state = live.customers.Find(customer);
      // Invariant written by the writer: events == recently viewed size * 1000 + orders.
      if (state != nullptr &&
          state->features.events !=
              static_cast<int64_t>(state->features.recently_viewed.size()) * 1000 +
                  state->features.orders) {
        violations.fetch_add(1);
      }
      DecisionRequest r;
      r.config = &config;
      r.placement = &config.placements[rng() % config.placements.size()];
      r.customer = state;
      r.customer_id = customer;
      r.models = live.models.Get();
      r.ledger = &live.offers;
      r.now = kNow;
      const Decision d = Decide(catalog, *live.trending.Get(), r);
      for (const auto& item : d.items) {
        if (item.product != kNoProduct && !catalog.Recommendable(item.product, kNow))
          violations.fetch_add(1);
      }
      decisions.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) readers.emplace_back(reader, i);
  std::atomic<int> builds{0};
  std::thread models([&] {
    for (int v = 2; !stop.load(std::memory_order_relaxed); ++v) {
      std::unique_ptr<const Models> m;
      {
        ReadGuard guard(live.epochs);
        ModelBuilder b(ModelOptions(), *live.catalog.Get(), *live.config.Get(), kNow);
        live.customers.ForEach(
            [&](absl::string_view, const CustomerState& s) { b.Add(s.features); });
        b.Thresholds();
        live.customers.ForEach(
            [&](absl::string_view, const CustomerState& s) { b.Count(s, true); });
        m = b.Finish();
      }
      live.models.PublishFromAnyThread(std::move(m), live.epochs);
      live.config.PublishFromAnyThread(make_config(v), live.epochs);
      builds.fetch_add(1);
    }
  });

  std::mt19937_64 rng(99);
  const int kRounds = 20000;
  for (int i = 0; i < kRounds; ++i) {
    const std::string customer = "c" + std::to_string(rng() % 2000);
    const CustomerState* current = live.customers.Find(customer);
    auto next =
        current ? std::make_unique<CustomerState>(*current) : std::make_unique<CustomerState>();
    next->attributes.consent_personalization = true;
    auto& f = next->features;
    if (f.recently_viewed.size() < 10) {
      f.recently_viewed.insert(f.recently_viewed.begin(),
                               {static_cast<ProductIndex>(rng() % 50), kNow - i});
    }
    f.orders += 1;
    f.purchases.push_back(
        {static_cast<ProductIndex>(rng() % 50), 2, kNow - 30 * kMsPerDay, kNow - 20 * kMsPerDay});
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
  models.join();
  EXPECT_GT(builds.load(), 0);
  live.epochs.Reclaim();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(decisions.load(), 0);
  EXPECT_EQ(live.epochs.pending(), 0u);
}

}  // namespace
}  // namespace nextbest::core
