// Micro-benchmarks of the decisioning core at the retailer's scale:
// 32,000 products, 700 stores, customers with full histories.
//   build/release/bench/nextbest_core_bench --benchmark_repetitions=5

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/decision.h"
#include "core/epoch.h"
#include "core/features.h"
#include "core/live_state.h"
#include "core/trending.h"

namespace nextbest::core {
namespace {

constexpr TimeMs kNow = 1'790'000'000'000;
constexpr int kProducts = 32000;
constexpr int kStores = 700;
// NEXTBEST_BENCH_CUSTOMERS overrides (scripts/bench --full uses 1,000,000).
int Customers() {
  static const int n = [] {
    const char* env = std::getenv("NEXTBEST_BENCH_CUSTOMERS");
    return env != nullptr ? std::atoi(env) : 100000;
  }();
  return n;
}

struct World {
  LiveState live;
  std::vector<PlacementSpec> placements = {
      {"homepage.door_jou_bekeken", PlacementSpec::Kind::kRecentlyViewed, 10, 50},
      {"homepage.populair", PlacementSpec::Kind::kTrending, 10, 50},
      {"checkout.vergeten", PlacementSpec::Kind::kReplenishment, 5, 20}};
  World() {
    std::mt19937_64 rng(1);
    auto empty = Catalog::Empty({"NL", "BE", "LU", "FR", "DE", "AT"}, "EUR");
    CatalogBuilder b(**empty);
    for (int s = 0; s < kStores; ++s) b.UpsertStore({absl::StrCat("s", s), static_cast<CountryIndex>(s % 6), "", ""});
    for (int i = 0; i < kProducts; ++i) {
      Product p;
      p.id = absl::StrCat("p", i + 1);
      p.name = absl::StrCat("Product ", i + 1);
      p.category_path = {"C", absl::StrCat("S", i % 200)};
      p.active = rng() % 50 != 0;
      const ProductIndex idx = b.UpsertProduct(std::move(p));
      for (CountryIndex c = 0; c < 6; ++c) b.SetOnlineStock(idx, c, rng() % 10 != 0);
      for (int s = 0; s < kStores; ++s) b.SetStoreStock(idx, s, rng() % 5 != 0);
    }
    live.catalog.Publish(b.Build(), live.epochs);
    std::vector<ProductPopularity> pop(kProducts);
    for (int i = 0; i < 200000; ++i) {
      AddPopularity(pop[rng() % kProducts], kNow - static_cast<TimeMs>(rng() % (30 * kMsPerDay)), 1 + rng() % 5,
                    rng() % 6, 7);
    }
    live.trending.Publish(BuildTrending(pop, *live.catalog.Get(), kNow, 7, 500), live.epochs);
    FeatureOptions fo;
    for (int c = 0; c < Customers(); ++c) {
      auto s = std::make_unique<CustomerState>();
      s->attributes.country = c % 6;
      for (int v = 0; v < 60; ++v) {
        Event e;
        e.type = v % 4 == 0 ? EventType::kPurchase : EventType::kView;
        e.time = kNow - static_cast<TimeMs>(rng() % (365 * kMsPerDay));
        const ProductIndex p = rng() % kProducts;
        if (e.type == EventType::kView) e.product = p;
        else e.lines = {{static_cast<ProductIndex>(rng() % 40), 1, 199}};
        ApplyEvent(fo, *live.catalog.Get(), e, s->features);
      }
      live.customers.Publish(absl::StrCat("c", c + 1), std::move(s));
    }
  }
};

World& TheWorld() {
  static World* w = new World();
  return *w;
}

// One decision as Recommend makes it: guard, snapshot loads, customer
// lookup by id, Decide.
void BM_Decide(benchmark::State& state) {
  World& w = TheWorld();
  const PlacementSpec& spec = w.placements[state.range(0)];
  state.SetLabel(spec.id);
  std::vector<std::string> ids;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 4096; ++i) ids.push_back(absl::StrCat("c", 1 + rng() % Customers()));
  const ProductIndex cart[] = {5, 17, 300};
  size_t i = 0;
  for (auto _ : state) {
    ReadGuard guard(w.live.epochs);
    DecisionRequest r;
    r.placement = &spec;
    r.customer = w.live.customers.Find(ids[i++ & 4095]);
    r.cart = cart;
    r.now = kNow;
    Decision d = Decide(*w.live.catalog.Get(), *w.live.trending.Get(), r);
    benchmark::DoNotOptimize(d);
  }
  state.counters["decisions/s"] = benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Decide)->Arg(0)->Arg(1)->Arg(2)->ThreadRange(1, 2);

// The distribution of single decisions: each one timed on its own
// (steady_clock costs ~20 ns of each sample), reported as p50/p99/max.
void BM_DecisionLatency(benchmark::State& state) {
  World& w = TheWorld();
  const PlacementSpec& spec = w.placements[state.range(0)];
  state.SetLabel(spec.id);
  std::vector<std::string> ids;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 65536; ++i) ids.push_back(absl::StrCat("c", 1 + rng() % Customers()));
  const ProductIndex cart[] = {5, 17, 300};
  std::vector<double> ns;
  ns.reserve(state.max_iterations);
  size_t i = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    {
      ReadGuard guard(w.live.epochs);
      DecisionRequest r;
      r.placement = &spec;
      r.customer = w.live.customers.Find(ids[i++ & 65535]);
      r.cart = cart;
      r.now = kNow;
      Decision d = Decide(*w.live.catalog.Get(), *w.live.trending.Get(), r);
      benchmark::DoNotOptimize(d);
    }
    ns.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ns.begin(), ns.end());
  state.counters["p50_us"] = ns[ns.size() / 2] / 1000;
  state.counters["p99_us"] = ns[ns.size() * 99 / 100] / 1000;
  state.counters["max_us"] = ns.back() / 1000;
}
BENCHMARK(BM_DecisionLatency)->Arg(0)->Arg(1)->Arg(2)->Iterations(200000);

// Decide for a store context: every item checks the store's stock bit.
void BM_DecideInStore(benchmark::State& state) {
  World& w = TheWorld();
  const PlacementSpec& spec = w.placements[1];
  for (auto _ : state) {
    ReadGuard guard(w.live.epochs);
    DecisionRequest r;
    r.placement = &spec;
    r.store = 699;
    r.now = kNow;
    benchmark::DoNotOptimize(Decide(*w.live.catalog.Get(), *w.live.trending.Get(), r));
  }
}
BENCHMARK(BM_DecideInStore);

void BM_ReadGuard(benchmark::State& state) {
  World& w = TheWorld();
  for (auto _ : state) {
    ReadGuard guard(w.live.epochs);
    benchmark::DoNotOptimize(w.live.catalog.Get());
  }
}
BENCHMARK(BM_ReadGuard)->ThreadRange(1, 2);

void BM_ApplyEvent(benchmark::State& state) {
  World& w = TheWorld();
  const Catalog& catalog = *w.live.catalog.Get();
  FeatureOptions fo;
  CustomerState base = *w.live.customers.Find("c1");
  Event e;
  e.type = static_cast<EventType>(state.range(0));
  e.time = kNow;
  e.product = 123;
  e.lines = {{12, 1, 199}, {99, 2, 450}};
  state.SetLabel(state.range(0) == 1 ? "view" : "purchase");
  for (auto _ : state) {
    // The writer copies the state, applies the event, publishes the copy.
    auto next = std::make_unique<CustomerState>(base);
    ApplyEvent(fo, catalog, e, next->features);
    benchmark::DoNotOptimize(next);
  }
}
BENCHMARK(BM_ApplyEvent)->Arg(1)->Arg(4);

void BM_BuildTrending(benchmark::State& state) {
  World& w = TheWorld();
  std::vector<ProductPopularity> pop(kProducts);
  std::mt19937_64 rng(3);
  for (auto& p : pop) AddPopularity(p, kNow, 1 + rng() % 100, rng() % 6, 7);
  for (auto _ : state) {
    benchmark::DoNotOptimize(BuildTrending(pop, *w.live.catalog.Get(), kNow, 7, 500));
  }
}
BENCHMARK(BM_BuildTrending)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace nextbest::core

BENCHMARK_MAIN();
