// The cost of the caller check on the request path (server/auth.h): an
// RPC open to anonymous callers (one bit test), a bearer token (SHA-256 of
// the token and one hash lookup) and a refusal. Compare with a Recommend's
// server CPU (bench/RESULTS.md).
//   build/release/bench/nextbest_auth_bench

#include <benchmark/benchmark.h>

#include "absl/strings/str_cat.h"
#include "server/auth.h"

namespace nextbest::server {
namespace {

std::unique_ptr<const Authorizer> Build(ScopeSet anonymous) {
  AuthConfig config;
  config.anonymous = anonymous;
  for (int i = 0; i < 20; ++i) {
    config.callers.push_back({absl::StrCat("caller", i),
                              Sha256(absl::StrCat("token-", i, "-0123456789abcdef")), "",
                              ScopeBit(Scope::kDecide) | ScopeBit(Scope::kReadProfile)});
  }
  return *Authorizer::Build(config, "admin-token-0123456789abcdef");
}

void BM_AuthorizeAnonymousDecide(benchmark::State& state) {
  auto auth = Build(ScopeBit(Scope::kDecide));
  for (auto _ : state) {
    benchmark::DoNotOptimize(auth->Authorize(Scope::kDecide, nullptr, {}, "Recommend"));
  }
}
BENCHMARK(BM_AuthorizeAnonymousDecide);

void BM_AuthorizeBearerToken(benchmark::State& state) {
  auto auth = Build(0);
  const absl::string_view header = "Bearer token-7-0123456789abcdef";
  for (auto _ : state) {
    benchmark::DoNotOptimize(auth->Authorize(Scope::kDecide, &header, {}, "Recommend"));
  }
}
BENCHMARK(BM_AuthorizeBearerToken);

void BM_AuthorizeRefused(benchmark::State& state) {
  auto auth = Build(0);
  const absl::string_view header = "Bearer token-7-0123456789abcdef";
  for (auto _ : state) {
    benchmark::DoNotOptimize(auth->Authorize(Scope::kBatch, &header, {}, "DecideForAll"));
  }
}
BENCHMARK(BM_AuthorizeRefused);

}  // namespace
}  // namespace nextbest::server

BENCHMARK_MAIN();
