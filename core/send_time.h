#pragma once
// Best send time: when a customer is active, by hour of day and day of
// week in their market's local time, smoothed towards the population's
// pattern (empirical Bayes), and the best whole hour to send within a
// window.
//
// Per customer 28 bytes (SendTimeHistogram): 24 one-byte counters for the
// hours of the day (a view adds 2, a cart 4, a click or a purchase 6) and
// seven four-bit counters for the days of the week (a view adds 1, a cart
// 2, a click or purchase 3). Counters halve at every whole half-life
// (SendTimeOptions::half_life_days, counted in periods since the epoch)
// between the customer's previous activity and the new one, and all of one
// kind halve when one would overflow, so the shape stays while old habits
// fade. A late (out-of-order) event adds at the current scale.
//
// The hour of the week is read as hour-of-day × day-of-week (the two
// patterns are taken as independent: 31 counters instead of 168).
//
// Smoothing: a customer's share of hour h is (c_h + K·p_h) / (n + K), with
// c the counters in view units, n their sum, p the population's mean share
// and K the prior's strength, estimated from the population by moments
// (the spread of customers' shares around p, net of the spread their own
// few events explain). A customer without activity gets the population's
// pattern (cold start); one with much activity, their own.

#include <array>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/types.h"

namespace nextbest::core {

inline constexpr int kHoursPerDay = 24;
inline constexpr int kDaysPerWeek = 7;  // 0 = Monday ... 6 = Sunday

struct SendTimeHistogram {
  std::array<uint8_t, kHoursPerDay> hours{};
  std::array<uint8_t, 4> days{};  // seven nibbles, day d in byte d / 2
  int Day(int d) const { return (days[d / 2] >> (4 * (d % 2))) & 0xF; }
  void SetDay(int d, int v) {
    days[d / 2] =
        static_cast<uint8_t>((days[d / 2] & ~(0xF << (4 * (d % 2)))) | (v << (4 * (d % 2))));
  }
  bool Empty() const;
  bool operator==(const SendTimeHistogram&) const = default;
};
static_assert(sizeof(SendTimeHistogram) == 28);

// Units of one activity, by event type (0: not an activity that says when
// the customer reads: impressions, returns, cart removals); anything in a
// physical store counts 1 (shop hours say little about when one reads).
int ActivityUnits(EventType type, Channel channel = Channel::kUnspecified);

// Adds an activity of `units` at local (weekday, hour), first halving the
// counters once per whole half-life period boundary between `previous`
// (the customer's latest event before this one, of any type; 0 = none)
// and `time`. Called for every event (units 0: only the halving), so no
// boundary is missed.
void AddActivity(SendTimeHistogram& h, int weekday, int hour, int units, TimeMs previous,
                 TimeMs time, int half_life_days);

// Local weekday (0 = Monday) and hour of `time` in `zone`.
void LocalHour(absl::TimeZone zone, TimeMs time, int& weekday, int& hour);

// The population's fit data: sums over customers with activity, adding up
// exactly across parts (shards) in any order.
struct SendTimeCounts {
  std::array<double, kHoursPerDay> hour_shares{};  // Σ of customers' hour shares
  std::array<double, kDaysPerWeek> day_shares{};
  double hour_share_squares = 0, day_share_squares = 0;  // Σ Σ share²
  double hour_inverse_n = 0, day_inverse_n = 0;          // Σ 1 / n (customers with n ≥ 2)
  int64_t hour_customers = 0, day_customers = 0;         // with n ≥ 2 (the spread)
  int64_t customers = 0;                                 // with any activity
  void Add(const SendTimeHistogram& h);
  void Merge(const SendTimeCounts& other);
};

struct SendTimeModel {
  std::array<double, kHoursPerDay> hours{};  // the population's mean shares
  std::array<double, kDaysPerWeek> days{};
  double hour_prior = 0, day_prior = 0;  // K, in view units
  int64_t customers = 0;
  bool fitted() const { return customers > 0; }
};
// Without any customer's activity: uniform shares and a weak prior.
SendTimeModel FitSendTime(const SendTimeCounts& counts);

// One customer's smoothed pattern.
struct SendTimeProfile {
  std::array<double, kHoursPerDay> hours{};  // shares, summing to 1
  std::array<double, kDaysPerWeek> days{};
  double activity = 0;   // n, in view units (0: the population's pattern)
  int BestHour() const;  // ties: the earliest
  // Relative activity in hour h against an even spread (1 = average).
  double HourRate(int h) const { return hours[h] * kHoursPerDay; }
};
SendTimeProfile CustomerSendTime(const SendTimeModel& model, const SendTimeHistogram& h);

// The whole local hours in [start, end) of one zone, between the local
// hours first_hour and last_hour inclusive (e.g. 7 and 20: 07:00–20:59).
struct SendSlot {
  TimeMs at;
  uint8_t weekday, hour;
};
std::vector<SendSlot> SendSlots(absl::TimeZone zone, TimeMs start, TimeMs end, int first_hour,
                                int last_hour);
// The slot where the customer is most active (hour share × day share),
// the earliest of equals; 0 without slots.
TimeMs BestSendAt(const SendTimeProfile& p, absl::Span<const SendSlot> slots);

}  // namespace nextbest::core
