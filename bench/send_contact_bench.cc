// What the newsletter run adds per customer for the best send time
// (core/send_time.h: the smoothed pattern and the best slot of a window)
// and the contact policy (core/contact_policy.h: quiet periods and caps on
// a full contact log; recording a contact).
//
//   build/release/bench/nextbest_send_contact_bench --benchmark_repetitions=3

#include <benchmark/benchmark.h>

#include <random>

#include "core/contact_policy.h"
#include "core/send_time.h"

namespace nextbest::core {
namespace {

constexpr TimeMs kNow = 1'780'000'020'000;

SendTimeHistogram Active(uint64_t seed) {
  std::mt19937_64 rng(seed);
  SendTimeHistogram h;
  for (int i = 0; i < 40; ++i) AddActivity(h, rng() % 7, 7 + rng() % 16, 1 + rng() % 3, 0, kNow, 28);
  return h;
}

void BM_SendAt(benchmark::State& state) {
  SendTimeCounts counts;
  for (int c = 0; c < 1000; ++c) counts.Add(Active(c));
  const SendTimeModel model = FitSendTime(counts);
  // Tomorrow 07:00-20:59 in Amsterdam: 14 slots (computed once per run).
  const std::vector<SendSlot> slots =
      SendSlots(absl::FixedTimeZone(3600), kNow, kNow + kMsPerDay, 7, 20);
  std::vector<SendTimeHistogram> customers;
  for (int c = 0; c < 1024; ++c) customers.push_back(Active(5000 + c));
  size_t i = 0;
  for (auto _ : state) {
    const SendTimeProfile p = CustomerSendTime(model, customers[i++ & 1023]);
    benchmark::DoNotOptimize(BestSendAt(p, slots));
  }
}
BENCHMARK(BM_SendAt);

ContactRules Shipped() {
  ContactRules r;
  r.caps = {{Channel::kEmail, 2, 7 * kMsPerDay},
            {Channel::kCallCenter, 1, 30 * kMsPerDay},
            {Channel::kUnspecified, 4, 7 * kMsPerDay}};
  r.quiet = {{EventType::kPurchase, 2 * kMsPerDay}, {EventType::kComplaint, 14 * kMsPerDay}};
  r.max_extra = {1, 0, 0};
  return r;
}

void BM_CheckContact(benchmark::State& state) {
  const ContactRules rules = Shipped();
  ContactLog log;
  for (int i = 0; i < 5; ++i) RecordContact(rules, kNow - i * 20 * 3'600'000, Channel::kPush, log);
  const int extra[] = {0, 0, 0};
  for (auto _ : state) {
    benchmark::DoNotOptimize(CheckContact(
        rules, log, [](EventType) { return TimeMs{0}; }, Channel::kEmail, kNow, extra));
  }
}
BENCHMARK(BM_CheckContact);

void BM_RecordContact(benchmark::State& state) {
  const ContactRules rules = Shipped();
  ContactLog log;
  TimeMs t = kNow;
  for (auto _ : state) {
    t += 3'600'000;
    RecordContact(rules, t, (t / 3'600'000) % 3 ? Channel::kEmail : Channel::kCallCenter, log);
    benchmark::DoNotOptimize(log);
  }
}
BENCHMARK(BM_RecordContact);

}  // namespace
}  // namespace nextbest::core

BENCHMARK_MAIN();
