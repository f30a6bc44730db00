// The cost of the per-request metrics on the Recommend path: one request
// counter, one latency histogram, one decision histogram and the two clock
// reads that time the decision. Compare with a Recommend's server CPU.
//   build/release/bench/nextbest_metrics_bench

#include <benchmark/benchmark.h>

#include <chrono>

#include "server/metrics.h"

namespace nextbest::server {
namespace {

void BM_RecommendMetrics(benchmark::State& state) {
  Metrics metrics({"homepage.door_jou_bekeken", "homepage.populair", "checkout.vergeten"});
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto t1 = std::chrono::steady_clock::now();
    metrics.RecordDecision(1, std::chrono::duration<double>(t1 - t0).count());
    metrics.RecordRpc(Rpc::kRecommend, grpc::StatusCode::OK, 120e-6);
  }
}
BENCHMARK(BM_RecommendMetrics)->ThreadRange(1, 2);

}  // namespace
}  // namespace nextbest::server

BENCHMARK_MAIN();
