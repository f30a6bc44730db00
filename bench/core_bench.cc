// Micro-benchmarks of the decisioning core at the retailer's scale:
// 32,000 products, 700 stores, customers with full histories.
//   build/release/bench/nextbest_core_bench --benchmark_repetitions=5

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "bench/bench_world.h"
#include "core/decision.h"
#include "core/epoch.h"
#include "core/features.h"
#include "core/live_state.h"
#include "core/models.h"
#include "core/trending.h"
#include "storage/model_part_codec.h"

namespace nextbest::core {
namespace {

using bench::kNow;
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

bench::World& TheWorld() {
  static auto* w = new bench::World(kProducts, kStores, Customers());
  return *w;
}

// The shipped config's placements; BM_Decide refuses to run if it differs.
constexpr int kPlacements = 9;

// One decision as Recommend makes it (bench::World::Decide).
void BM_Decide(benchmark::State& state) {
  bench::World& w = TheWorld();
  if (w.placements().size() != kPlacements) {
    state.SkipWithError("the shipped config's placement count changed: update kPlacements");
    return;
  }
  const PlacementSpec& spec = w.placement(state.range(0));
  state.SetLabel(spec.id);
  std::vector<std::string> ids;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 4096; ++i) ids.push_back(absl::StrCat("c", 1 + rng() % Customers()));
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(w.Decide(spec, ids[i++ & 4095]));
  state.counters["decisions/s"] =
      benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
}
// Every placement of the shipped config, in its order.
BENCHMARK(BM_Decide)->DenseRange(0, kPlacements - 1)->ThreadRange(1, 2);

// The distribution of single decisions: each one timed on its own
// (steady_clock costs ~20 ns of each sample), reported as p50/p99/max.
void BM_DecisionLatency(benchmark::State& state) {
  bench::World& w = TheWorld();
  const PlacementSpec& spec = w.placement(state.range(0));
  state.SetLabel(spec.id);
  std::vector<std::string> ids;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 65536; ++i) ids.push_back(absl::StrCat("c", 1 + rng() % Customers()));
  std::vector<double> ns;
  ns.reserve(state.max_iterations);
  size_t i = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(w.Decide(spec, ids[i++ & 65535]));
    ns.push_back(
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ns.begin(), ns.end());
  state.counters["p50_us"] = ns[ns.size() / 2] / 1000;
  state.counters["p99_us"] = ns[ns.size() * 99 / 100] / 1000;
  state.counters["max_us"] = ns.back() / 1000;
}
BENCHMARK(BM_DecisionLatency)->DenseRange(0, kPlacements - 1)->Iterations(200000);

// Decide in a store context: every candidate checks the store's stock bit.
void BM_DecideInStore(benchmark::State& state) {
  bench::World& w = TheWorld();
  const PlacementSpec& spec = w.placement(0);  // speciaal voor jou
  state.SetLabel(spec.id);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        w.Decide(spec, absl::StrCat("c", 1 + (i++ * 7919) % Customers()), 699));
  }
}
BENCHMARK(BM_DecideInStore);

void BM_ReadGuard(benchmark::State& state) {
  bench::World& w = TheWorld();
  for (auto _ : state) {
    ReadGuard guard(w.live.epochs);
    benchmark::DoNotOptimize(w.live.catalog.Get());
  }
}
BENCHMARK(BM_ReadGuard)->ThreadRange(1, 2);

void BM_ApplyEvent(benchmark::State& state) {
  bench::World& w = TheWorld();
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

// The background models build over every customer in memory: neighbours,
// RFM cut points, segment sizes (what the server's models thread does).
void BM_BuildModels(benchmark::State& state) {
  bench::World& w = TheWorld();
  size_t neighbours = 0;
  for (auto _ : state) {
    ReadGuard guard(w.live.epochs);
    ModelBuilder b(ModelOptions(), *w.live.catalog.Get(), *w.live.config.Get(), kNow);
    w.live.customers.ForEach([&](absl::string_view, const CustomerState& s) { b.Add(s.features); });
    b.Thresholds();
    w.live.customers.ForEach([&](absl::string_view, const CustomerState& s) { b.Count(s, true); });
    auto m = b.Finish();
    neighbours = m->co_purchase.entries() + m->co_view.entries();
  }
  state.counters["customers"] = static_cast<double>(w.live.customers.size());
  state.counters["neighbours"] = static_cast<double>(neighbours);
}
BENCHMARK(BM_BuildModels)->Unit(benchmark::kMillisecond)->Iterations(1);

// A cluster's models build (server/cluster_models.cc) over the same
// customers: the part (every pair held at once), encoded as it travels,
// decoded and turned into models. The world as one shard: the sum of the
// shards' work, to set beside BM_BuildModels in the same run.
void BM_ModelPartBuildEncodeDecode(benchmark::State& state) {
  bench::World& w = TheWorld();
  const Catalog& catalog = *w.live.catalog.Get();
  size_t bytes = 0, items = 0;
  double build = 0, encode = 0, decode = 0, models = 0;
  for (auto _ : state) {
    ReadGuard guard(w.live.epochs);
    auto t0 = std::chrono::steady_clock::now();
    ModelPart part = BuildModelPart(ModelOptions(), w.live.customers, catalog, *w.live.config.Get(),
                                    kNow, w.live.models.Get());
    auto t1 = std::chrono::steady_clock::now();
    const std::string wire = storage::ModelPartToRecord(part, catalog).SerializeAsString();
    auto t2 = std::chrono::steady_clock::now();
    storage::v1::ModelPartRecord record;
    record.ParseFromString(wire);
    auto decoded = storage::ModelPartFromRecord(record, catalog);
    auto t3 = std::chrono::steady_clock::now();
    auto m = ModelsFromPart(ModelOptions(), decoded->part, catalog, *w.live.config.Get(), kNow);
    auto t4 = std::chrono::steady_clock::now();
    auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
    build = secs(t0, t1), encode = secs(t1, t2), decode = secs(t2, t3), models = secs(t3, t4);
    bytes = wire.size();
    items = part.co_purchase.items.size() + part.co_view.items.size();
  }
  state.counters["history_items"] = static_cast<double>(items);
  state.counters["part_MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["build_s"] = build;
  state.counters["encode_s"] = encode;
  state.counters["decode_s"] = decode;
  state.counters["models_s"] = models;
}
BENCHMARK(BM_ModelPartBuildEncodeDecode)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_BuildTrending(benchmark::State& state) {
  bench::World& w = TheWorld();
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
