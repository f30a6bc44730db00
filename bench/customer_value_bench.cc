// The purchase and value models (core/customer_value.h): the fit at each
// models build, and a customer's figures at decision time.
//
//   build/release/bench/nextbest_customer_value_bench \
//     --benchmark_filter=BM_Fit/2500000 --benchmark_repetitions=3
//
// Customers are drawn from BG/NBD in days (r 0.25, α 30, a 0.8, b 2.4: a
// purchase every ~4 months while alive) and Gamma-Gamma order values, first
// orders spread over two years: the shape of a retailer's history.

#include <benchmark/benchmark.h>

#include <cmath>
#include <map>
#include <random>

#include "core/customer_value.h"

namespace nextbest::core {
namespace {

constexpr TimeMs kNow = 1'700'000'000'000;

std::vector<CustomerFeatures> Simulate(int n, uint64_t seed) {
  const BgNbdParams m{0.25, 30, 0.8, 2.4};
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> lambda(m.r, 1 / m.alpha), ga(m.a, 1), gb(m.b, 1);
  std::gamma_distribution<double> nu(4, 1 / 1500.0);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<CustomerFeatures> out(n);
  for (CustomerFeatures& f : out) {
    const double l = lambda(rng), u = ga(rng), v = gb(rng), p = u / (u + v);
    const double T = 1 + 729 * unit(rng);
    std::gamma_distribution<double> order_value(6, 1 / nu(rng));
    double t = 0, t_x = 0, spend = order_value(rng);
    int orders = 1;
    while (true) {
      t += std::exponential_distribution<double>(l)(rng);
      if (t > T) break;
      ++orders, t_x = t, spend += order_value(rng);
      if (unit(rng) < p) break;
    }
    f.orders = orders;
    f.first_purchase = kNow - static_cast<TimeMs>(T * kMsPerDay);
    f.last_purchase = f.first_purchase + static_cast<TimeMs>(t_x * kMsPerDay);
    f.spend_minor = static_cast<int64_t>(spend);
  }
  return out;
}

const std::vector<CustomerFeatures>& People(int n) {
  static std::map<int, std::vector<CustomerFeatures>> cache;
  auto it = cache.find(n);
  if (it == cache.end()) it = cache.emplace(n, Simulate(n, 7)).first;
  return it->second;
}

// A models build's share: every customer's cell, then the fit. Six markets.
void BM_Fit(benchmark::State& state) {
  const auto& people = People(static_cast<int>(state.range(0)));
  const CustomerValueOptions options;
  CustomerValueModels models;
  size_t cells = 0;
  for (auto _ : state) {
    CustomerValueData data;
    for (size_t i = 0; i < people.size(); ++i) {
      AddCustomerValue(people[i], static_cast<CountryIndex>(i % 6), kNow, data);
    }
    cells = 0;
    for (auto& [country, counts] : data) counts.Compact(), cells += counts.purchases.size();
    models = FitCustomerValue(options, data);
  }
  state.counters["cells"] = static_cast<double>(cells);
  state.counters["fit_s"] = models.fit_seconds;
  state.counters["evaluations"] = models.evaluations;
  state.counters["markets"] = static_cast<double>(models.markets.size());
}
BENCHMARK(BM_Fit)->Arg(20'000)->Arg(2'500'000)->Unit(benchmark::kMillisecond);

const CustomerValueModels& Fitted() {
  static const CustomerValueModels models = [] {
    CustomerValueData data;
    for (const auto& f : People(200'000)) AddCustomerValue(f, 0, kNow, data);
    return FitCustomerValue(CustomerValueOptions{}, data);
  }();
  return models;
}

// Per customer-level evaluation, over 4096 different customers.
void BM_PAlive(benchmark::State& state) {
  const auto& people = People(200'000);
  const CustomerValueModels& m = Fitted();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(CustomerPAlive(m, people[i++ & 4095], 0, kNow));
  }
}
BENCHMARK(BM_PAlive);

void BM_ExpectedOrders90(benchmark::State& state) {
  const auto& people = People(200'000);
  const CustomerValueModel& m = Fitted().population;
  size_t i = 0;
  for (auto _ : state) {
    PurchaseSummary s;
    SummarizePurchases(people[i++ & 4095], kNow, s);
    benchmark::DoNotOptimize(ExpectedPurchases(m.purchases, s.x, s.t_x, s.T, 90));
  }
}
BENCHMARK(BM_ExpectedOrders90);

// Everything a profile shows: P(alive), three horizons, order value, CLV.
void BM_ValueCustomer(benchmark::State& state) {
  const auto& people = People(200'000);
  const CustomerValueModels& m = Fitted();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ValueCustomer(m, people[i++ & 4095], 0, kNow));
  }
}
BENCHMARK(BM_ValueCustomer);

}  // namespace
}  // namespace nextbest::core

BENCHMARK_MAIN();
