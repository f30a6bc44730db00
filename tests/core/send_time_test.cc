// Best send time (core/send_time.h): the counters (units, nibbles, halving
// per half-life, overflow), local hours in a real time zone, the
// population's prior by moments, and on simulated customers with a planted
// active hour: the chosen hour is the planted one for at least 90 % of
// those with 10 or more events; a customer without activity gets the
// population's best hour; send_at is the best slot of the window.

#include "core/send_time.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include "absl/time/civil_time.h"

namespace nextbest::core {
namespace {

constexpr TimeMs kHour = 3'600'000;
constexpr TimeMs kDay = kMsPerDay;

TimeMs Utc(int y, int mo, int d, int h, int mi = 0) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::UTCTimeZone()));
}

absl::TimeZone Amsterdam() {
  absl::TimeZone z;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/Amsterdam", &z)) << "tzdata missing";
  return z;
}

TEST(SendTimeTest, CountersAddUnitsHalveByPeriodAndOnOverflow) {
  SendTimeHistogram h;
  EXPECT_TRUE(h.Empty());
  const TimeMs t = 100 * 28 * kDay;  // the start of a 28-day period
  AddActivity(h, 2, 20, ActivityUnits(EventType::kView), 0, t, 28);
  AddActivity(h, 2, 20, ActivityUnits(EventType::kPurchase), t, t + kHour, 28);
  AddActivity(h, 6, 9, ActivityUnits(EventType::kAddToCart), t + kHour, t + 2 * kHour, 28);
  EXPECT_EQ(h.hours[20], 2 + 6);
  EXPECT_EQ(h.hours[9], 4);
  EXPECT_EQ(h.Day(2), 1 + 3);
  EXPECT_EQ(h.Day(6), 2);
  EXPECT_EQ(h.days[3] >> 4, 0);  // the eighth nibble stays free
  // Impressions add nothing; a later period halves everything once.
  AddActivity(h, 0, 0, ActivityUnits(EventType::kOfferImpression), t, t + 29 * kDay, 28);
  EXPECT_EQ(h.hours[20], 4);
  EXPECT_EQ(h.hours[9], 2);
  EXPECT_EQ(h.Day(2), 2);
  EXPECT_EQ(h.Day(6), 1);
  // Two periods later: quartered.
  AddActivity(h, 0, 0, 0, t + 29 * kDay, t + 29 * kDay + 56 * kDay, 28);
  EXPECT_EQ(h.hours[20], 1);
  // Overflow halves the kind that would overflow, keeping the shape of
  // activity that comes mixed in time (two purchases at 08:00 for one at 18:00).
  SendTimeHistogram full;
  for (int i = 0; i < 300; ++i) {
    AddActivity(full, 1, 8, 3, t, t, 28);
    if (i % 2 == 1) AddActivity(full, 1, 18, 3, t, t, 28);
  }
  EXPECT_NEAR(static_cast<double>(full.hours[8]) / full.hours[18], 2.0, 0.3);
  EXPECT_GT(full.hours[8], 128);
  EXPECT_LE(full.Day(1), 15);
  EXPECT_GT(full.Day(1), 0);
  EXPECT_EQ(ActivityUnits(EventType::kPurchase, Channel::kStore), 1);
  EXPECT_EQ(ActivityUnits(EventType::kPurchase, Channel::kEmail), 3);
  EXPECT_EQ(ActivityUnits(EventType::kReturn, Channel::kStore), 0);
  EXPECT_EQ(ActivityUnits(EventType::kOfferImpression), 0);
  // Out-of-range positions add nothing.
  SendTimeHistogram none;
  AddActivity(none, 7, 1, 1, 0, t, 28);
  AddActivity(none, 1, 24, 1, 0, t, 28);
  EXPECT_TRUE(none.Empty());
}

TEST(SendTimeTest, LocalHoursFollowTheZoneAndDaylightSaving) {
  const absl::TimeZone z = Amsterdam();
  int weekday, hour;
  LocalHour(z, Utc(2026, 7, 1, 18, 30), weekday, hour);  // a Wednesday, CEST (+2)
  EXPECT_EQ(weekday, 2);
  EXPECT_EQ(hour, 20);
  LocalHour(z, Utc(2026, 12, 1, 18, 30), weekday, hour);  // a Tuesday, CET (+1)
  EXPECT_EQ(weekday, 1);
  EXPECT_EQ(hour, 19);
  LocalHour(z, Utc(2026, 12, 6, 23, 30), weekday, hour);  // Sunday 23:30 UTC = Monday 00:30
  EXPECT_EQ(weekday, 0);
  EXPECT_EQ(hour, 0);
}

struct Simulated {
  SendTimeHistogram h;
  int planted = -1;
  int events = 0;
};

// Customers active over the last 8 weeks: half of each one's views at their
// planted local hour (evenings are the most common), the rest spread over
// 07:00–22:59, on random days.
std::vector<Simulated> Simulate(int n, uint64_t seed, absl::TimeZone z, TimeMs now) {
  std::mt19937_64 rng(seed);
  std::discrete_distribution<int> planted_hour(
      {0, 0, 0, 0, 0, 0, 0, 2, 3, 2, 1, 1, 3, 2, 1, 1, 1, 2, 3, 5, 6, 5, 3, 1});
  std::uniform_int_distribution<int> spread_hour(7, 22), day(0, 55), minute(0, 59);
  std::uniform_int_distribution<int> events(0, 30);
  std::bernoulli_distribution at_planted(0.5);
  std::vector<Simulated> out(n);
  for (Simulated& c : out) {
    c.planted = planted_hour(rng);
    c.events = events(rng);
    std::vector<TimeMs> times;
    for (int e = 0; e < c.events; ++e) {
      const int hour = at_planted(rng) ? c.planted : spread_hour(rng);
      // Local midnight of the day, then the hour: found through the zone.
      const absl::CivilDay local_day =
          absl::ToCivilDay(absl::FromUnixMillis(now - day(rng) * kDay), z);
      const absl::CivilSecond at(local_day.year(), local_day.month(), local_day.day(), hour,
                                 minute(rng), 0);
      times.push_back(absl::ToUnixMillis(absl::FromCivil(at, z)));
    }
    std::sort(times.begin(), times.end());
    TimeMs previous = 0;
    for (TimeMs t : times) {
      int weekday, hour;
      LocalHour(z, t, weekday, hour);
      AddActivity(c.h, weekday, hour, ActivityUnits(EventType::kView), previous, t, 28);
      previous = t;
    }
  }
  return out;
}

TEST(SendTimeTest, PlantedHoursAreFoundAndColdStartGetsThePopulations) {
  const absl::TimeZone z = Amsterdam();
  const TimeMs now = Utc(2026, 12, 1, 12);
  const std::vector<Simulated> customers = Simulate(20000, 7, z, now);
  SendTimeCounts counts;
  for (const Simulated& c : customers) counts.Add(c.h);
  const SendTimeModel m = FitSendTime(counts);
  ASSERT_TRUE(m.fitted());
  EXPECT_GT(m.hour_prior, 0.5);
  int with_ten = 0, found = 0;
  for (const Simulated& c : customers) {
    if (c.events < 10) continue;
    ++with_ten;
    found += CustomerSendTime(m, c.h).BestHour() == c.planted;
  }
  ASSERT_GT(with_ten, 10000);
  const double share = static_cast<double>(found) / with_ten;
  std::printf(
      "planted hour found for %d of %d customers with >= 10 events (%.1f %%), prior K %.2f\n",
      found, with_ten, 100 * share, m.hour_prior);
  EXPECT_GE(share, 0.90) << found << " of " << with_ten;
  // Cold start: no activity, the population's pattern and best hour (the
  // evening peak the simulation planted most).
  const SendTimeProfile cold = CustomerSendTime(m, SendTimeHistogram{});
  EXPECT_EQ(cold.activity, 0);
  EXPECT_EQ(cold.BestHour(), 20);
  for (int h = 0; h < kHoursPerDay; ++h) EXPECT_DOUBLE_EQ(cold.hours[h], m.hours[h]);
  // Shares sum to 1; rates average 1.
  const SendTimeProfile some = CustomerSendTime(m, customers[0].h);
  double sum = 0, days = 0;
  for (double x : some.hours) sum += x;
  for (double x : some.days) days += x;
  EXPECT_NEAR(sum, 1, 1e-9);
  EXPECT_NEAR(days, 1, 1e-9);
  // Without any model: uniform.
  EXPECT_NEAR(CustomerSendTime(SendTimeModel{}, SendTimeHistogram{}).HourRate(5), 1, 1e-12);
}

TEST(SendTimeTest, ThePriorIsStrongWhenEveryoneIsAlikeAndWeakWhenNot) {
  SendTimeCounts alike, apart;
  const TimeMs t = 1000 * kDay;
  std::mt19937_64 rng(3);
  std::discrete_distribution<int> shared(
      {1, 1, 1, 1, 1, 1, 1, 3, 3, 2, 2, 2, 3, 2, 2, 2, 2, 3, 4, 6, 6, 5, 3, 1});
  std::uniform_int_distribution<int> any(0, 23);
  for (int c = 0; c < 5000; ++c) {
    SendTimeHistogram a, b;
    const int own = any(rng);
    for (int e = 0; e < 20; ++e) {
      AddActivity(a, 0, shared(rng), 1, t, t, 28);
      AddActivity(b, 0, own, 1, t, t, 28);
    }
    alike.Add(a);
    apart.Add(b);
  }
  const SendTimeModel ma = FitSendTime(alike), mb = FitSendTime(apart);
  EXPECT_GT(ma.hour_prior, 50);   // draws from one pattern: shrink hard
  EXPECT_LT(mb.hour_prior, 1.5);  // everyone their own hour: trust the customer
  // Parts add up to the whole (shards).
  SendTimeCounts half1, half2, whole;
  std::mt19937_64 r2(5);
  for (int c = 0; c < 1000; ++c) {
    SendTimeHistogram h;
    for (int e = 0; e < 1 + c % 7; ++e) AddActivity(h, e % 7, shared(r2), 1, t, t, 28);
    (c % 2 ? half1 : half2).Add(h);
    whole.Add(h);
  }
  half1.Merge(half2);
  const SendTimeModel merged = FitSendTime(half1), single = FitSendTime(whole);
  EXPECT_EQ(half1.customers, whole.customers);
  for (int h = 0; h < kHoursPerDay; ++h) EXPECT_NEAR(merged.hours[h], single.hours[h], 1e-12);
  EXPECT_NEAR(merged.hour_prior, single.hour_prior, 1e-9 * single.hour_prior);
}

TEST(SendTimeTest, SendAtIsTheBestSlotOfTheWindow) {
  const absl::TimeZone z = Amsterdam();
  // Tomorrow (Wednesday 2 December 2026) between 07:00 and 20:59 local.
  const TimeMs start = Utc(2026, 12, 1, 23), end = Utc(2026, 12, 2, 23);
  const std::vector<SendSlot> slots = SendSlots(z, start, end, 7, 20);
  ASSERT_EQ(slots.size(), 14u);
  EXPECT_EQ(slots.front().at, Utc(2026, 12, 2, 6));  // 07:00 CET
  EXPECT_EQ(slots.front().hour, 7);
  EXPECT_EQ(slots.front().weekday, 2);
  EXPECT_EQ(slots.back().hour, 20);
  SendTimeProfile p;
  p.hours.fill(1.0 / 24);
  p.days.fill(1.0 / 7);
  p.hours[19] = 0.2;
  p.hours[22] = 0.5;  // the best hour is outside the window: the best inside it
  EXPECT_EQ(BestSendAt(p, slots), Utc(2026, 12, 2, 18));  // 19:00 local
  // Equal slots: the earliest.
  p.hours[19] = 1.0 / 24;
  EXPECT_EQ(BestSendAt(p, slots), slots.front().at);
  EXPECT_EQ(BestSendAt(p, {}), 0);
  // Two days, Saturday much more active: the Saturday evening.
  const std::vector<SendSlot> weekend =
      SendSlots(z, Utc(2026, 12, 4, 23), Utc(2026, 12, 6, 23), 7, 20);
  p.hours[19] = 0.2;
  p.days[5] = 0.5;
  EXPECT_EQ(BestSendAt(p, weekend), Utc(2026, 12, 5, 18));
  EXPECT_TRUE(SendSlots(z, end, start, 0, 23).empty());
}

}  // namespace
}  // namespace nextbest::core
