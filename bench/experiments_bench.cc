// What experiments add to a decision, side by side in one run on the bench
// world (bench/bench_world.h: 32,000 products, 100,000 customers by
// default, the shipped config):
//   * BM_AssignAndId: the assignment (holdout + one experiment) and a
//     decision id rendered as 32 hex digits, alone.
//   * BM_RecommendOverhead: the same customers asked through core::Recommend
//     in turn on the shipped config, on the shipped config with an A/A
//     experiment on the placement (both variants as configured, so the
//     answers do the same work) and then also logging the decision for
//     the writer; each decision timed on its own, p50/p99 per mode and
//     the paired median difference (the order of the three rotates).
//   build/release/bench/nextbest_experiments_bench

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "absl/strings/str_cat.h"
#include "bench/bench_world.h"
#include "core/recommend.h"

namespace nextbest::core {
namespace {

bench::World& TheWorld() {
  static auto* w = [] {
    const char* env = std::getenv("NEXTBEST_BENCH_CUSTOMERS");
    return new bench::World(32000, 700, env != nullptr ? std::atoi(env) : 100000);
  }();
  return *w;
}

int Customers() { return static_cast<int>(TheWorld().live.customers.size()); }

// The shipped config with an A/A experiment on placement 0 and, when
// `holdout`, a 5 % holdout.
std::unique_ptr<const DecisionConfig> WithExperiment(const DecisionConfig& shipped, bool holdout) {
  DecisionConfig c = shipped;
  ExperimentSpec x;
  x.id = "bench_aa";
  x.placement = c.placements[0].id;
  x.salt = "bench_aa";
  for (int v = 0; v < 2; ++v) {
    VariantSpec vs;
    vs.id = v == 0 ? "a" : "b";
    vs.ranges = {{v * 5000u, (v + 1) * 5000u}};
    vs.placement = c.placements[0];
    x.variants.push_back(vs);
  }
  c.experiments = {x};
  if (holdout) c.holdout.buckets = 500;
  auto built = DecisionConfig::Build(std::move(c));
  if (!built.ok()) std::abort();
  return std::move(*built);
}

std::vector<std::string> Ids(int n, uint64_t seed) {
  std::vector<std::string> ids;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < n; ++i) ids.push_back(absl::StrCat("c", 1 + rng() % Customers()));
  return ids;
}

void BM_AssignAndId(benchmark::State& state) {
  bench::World& w = TheWorld();
  ReadGuard guard(w.live.epochs);
  auto config = WithExperiment(*w.live.config.Get(), /*holdout=*/true);
  const PlacementSpec& p = config->placements[0];
  DecisionIds ids(1, 1);
  const std::vector<std::string> customers = Ids(4096, 3);
  size_t i = 0;
  char hex[32];
  for (auto _ : state) {
    const Assignment a = Assign(*config, p, customers[i++ & 4095], bench::kNow);
    benchmark::DoNotOptimize(a);
    ids.Next(bench::kNow).Hex(hex);
    benchmark::DoNotOptimize(hex);
  }
}
BENCHMARK(BM_AssignAndId);

void BM_RecommendOverhead(benchmark::State& state) {
  bench::World& w = TheWorld();
  auto aa = WithExperiment(*w.live.config.Get(), /*holdout=*/false);
  DecisionIds ids(1, 1);
  DecisionLog log;
  const std::vector<std::string> customers = Ids(65536, 5);
  std::vector<double> ns[3], paired_id, paired_log;
  size_t i = 0;
  for (auto _ : state) {
    ReadGuard guard(w.live.epochs);
    Snapshot plain = Snapshot::Of(w.live);
    plain.ids = nullptr;
    plain.log = nullptr;
    Snapshot with_id{plain.catalog, plain.trending,  *aa,  plain.models,
                     plain.ledger,  plain.customers, &ids, nullptr};
    Snapshot with_log = with_id;
    with_log.log = &log;
    RecommendQuery q;
    q.customer_id = customers[i++ & 65535];
    q.placement = plain.config.placements[0].id;
    q.time = bench::kNow;
    double t[3];
    const Snapshot* modes[3] = {&plain, &with_id, &with_log};
    // The first decision for a customer pays the cache misses: the order
    // rotates, so every mode goes first a third of the time.
    for (int k = 0; k < 3; ++k) {
      const int m = static_cast<int>((i + k) % 3);
      const auto t0 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(Recommend(*modes[m], q, bench::kNow));
      t[m] =
          std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
      ns[m].push_back(t[m]);
    }
    paired_id.push_back(t[1] - t[0]);
    paired_log.push_back(t[2] - t[0]);
    if (log.pending() >= 4096) {  // the writer's drain, untimed
      state.PauseTiming();
      std::vector<ServedDecision> drained;
      log.Drain(drained);
      state.ResumeTiming();
    }
  }
  auto median = [](std::vector<double>& v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  for (int m = 0; m < 3; ++m) {
    std::sort(ns[m].begin(), ns[m].end());
    static const char* kNames[] = {"plain", "experiment", "experiment_logged"};
    state.counters[absl::StrCat(kNames[m], "_p50_us")] = ns[m][ns[m].size() / 2] / 1000;
    state.counters[absl::StrCat(kNames[m], "_p99_us")] = ns[m][ns[m].size() * 99 / 100] / 1000;
  }
  state.counters["paired_assign_id_ns"] = median(paired_id);
  state.counters["paired_assign_id_log_ns"] = median(paired_log);
}
BENCHMARK(BM_RecommendOverhead)->Iterations(100000);

}  // namespace
}  // namespace nextbest::core

BENCHMARK_MAIN();
