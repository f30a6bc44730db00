#include "core/send_time.h"

#include <algorithm>
#include <cmath>

namespace nextbest::core {
namespace {

constexpr int kHourScale = 2;  // hour counters per view unit
constexpr int kDayMax = 15;    // a nibble

// Halves every counter `times` times (all of them are 0 past 8 halvings).
void Halve(SendTimeHistogram& h, int64_t times) {
  const int shift = static_cast<int>(std::min<int64_t>(times, 8));
  for (uint8_t& c : h.hours) c = static_cast<uint8_t>(c >> shift);
  for (int d = 0; d < kDaysPerWeek; ++d) h.SetDay(d, h.Day(d) >> shift);
}

// Σ (c/scale) and the shares of counters c.
template <size_t N, typename Get>
double Shares(Get get, double scale, std::array<double, N>& shares) {
  double n = 0;
  for (size_t i = 0; i < N; ++i) n += get(i) / scale;
  for (size_t i = 0; i < N; ++i) shares[i] = n > 0 ? get(i) / scale / n : 0;
  return n;
}

// Method-of-moments strength K of a Dirichlet prior around mean shares p,
// from the customers' mean squared deviation from p: under a
// Dirichlet-multinomial, E Σ (s − p)² = Σ p(1 − p) · (1/n + (1 − 1/n)·ρ)
// with ρ = 1 / (K + 1). Kept in [0.5, 1000].
template <size_t N>
double PriorStrength(const std::array<double, N>& p, double share_squares, double inverse_n,
                     int64_t customers) {
  if (customers < 2) return 2;
  double p_squares = 0, spread = 0;
  for (double x : p) {
    p_squares += x * x;
    spread += x * (1 - x);
  }
  const double deviation = share_squares / customers - p_squares;
  const double m = inverse_n / customers;
  if (!(spread > 0) || m >= 1) return 2;
  const double rho = std::clamp((deviation / spread - m) / (1 - m), 1e-3, 1.0 / 1.5);
  return std::clamp(1 / rho - 1, 0.5, 1000.0);
}

template <size_t N>
void Smooth(const std::array<double, N>& own, double n, const std::array<double, N>& population,
            double prior, std::array<double, N>& out) {
  for (size_t i = 0; i < N; ++i) out[i] = (own[i] * n + prior * population[i]) / (n + prior);
}

// A customer's own shares of hours and days, and the view units behind them.
struct OwnShares {
  explicit OwnShares(const SendTimeHistogram& h) {
    hour_n = Shares([&](size_t i) { return static_cast<double>(h.hours[i]); }, kHourScale, hours);
    day_n =
        Shares([&](size_t i) { return static_cast<double>(h.Day(static_cast<int>(i))); }, 1, days);
  }
  std::array<double, kHoursPerDay> hours;
  std::array<double, kDaysPerWeek> days;
  double hour_n, day_n;
};

}  // namespace

bool SendTimeHistogram::Empty() const {
  for (uint8_t c : hours) {
    if (c != 0) return false;
  }
  for (uint8_t c : days) {
    if (c != 0) return false;
  }
  return true;
}

int ActivityUnits(EventType type, Channel channel) {
  int units = 0;
  switch (type) {
    case EventType::kView:
      units = 1;
      break;
    case EventType::kAddToCart:
      units = 2;
      break;
    case EventType::kPurchase:
    case EventType::kOfferClick:
    case EventType::kProductClick:
      units = 3;
      break;
    default:
      break;
  }
  return channel == Channel::kStore ? std::min(units, 1) : units;
}

void AddActivity(SendTimeHistogram& h, int weekday, int hour, int units, TimeMs previous,
                 TimeMs time, int half_life_days) {
  const TimeMs period = static_cast<TimeMs>(std::max(half_life_days, 1)) * kMsPerDay;
  if (previous > 0 && time > previous && time / period > previous / period) {
    Halve(h, time / period - previous / period);
  }
  if (units <= 0 || weekday < 0 || weekday >= kDaysPerWeek || hour < 0 || hour >= kHoursPerDay) {
    return;
  }
  while (h.hours[hour] + units * kHourScale > 255) {
    for (uint8_t& c : h.hours) c = static_cast<uint8_t>(c >> 1);
  }
  h.hours[hour] = static_cast<uint8_t>(h.hours[hour] + units * kHourScale);
  while (h.Day(weekday) + units > kDayMax) {
    for (int d = 0; d < kDaysPerWeek; ++d) h.SetDay(d, h.Day(d) >> 1);
  }
  h.SetDay(weekday, h.Day(weekday) + units);
}

void LocalHour(absl::TimeZone zone, TimeMs time, int& weekday, int& hour) {
  const absl::CivilSecond local = zone.At(absl::FromUnixMillis(time)).cs;
  hour = local.hour();
  weekday = static_cast<int>(absl::GetWeekday(local));  // absl: kMonday = 0
}

void SendTimeCounts::Add(const SendTimeHistogram& h) {
  const OwnShares own(h);
  const auto& hs = own.hours;
  const auto& ds = own.days;
  const double hn = own.hour_n, dn = own.day_n;
  if (hn <= 0) return;
  ++customers;
  for (int i = 0; i < kHoursPerDay; ++i) hour_shares[i] += hs[i];
  if (dn > 0) {
    for (int i = 0; i < kDaysPerWeek; ++i) day_shares[i] += ds[i];
  } else {
    for (double& s : day_shares) s += 1.0 / kDaysPerWeek;
  }
  if (hn >= 2) {
    ++hour_customers;
    hour_inverse_n += 1 / hn;
    for (double s : hs) hour_share_squares += s * s;
  }
  if (dn >= 2) {
    ++day_customers;
    day_inverse_n += 1 / dn;
    for (double s : ds) day_share_squares += s * s;
  }
}

void SendTimeCounts::Merge(const SendTimeCounts& o) {
  for (int i = 0; i < kHoursPerDay; ++i) hour_shares[i] += o.hour_shares[i];
  for (int i = 0; i < kDaysPerWeek; ++i) day_shares[i] += o.day_shares[i];
  hour_share_squares += o.hour_share_squares;
  day_share_squares += o.day_share_squares;
  hour_inverse_n += o.hour_inverse_n;
  day_inverse_n += o.day_inverse_n;
  hour_customers += o.hour_customers;
  day_customers += o.day_customers;
  customers += o.customers;
}

SendTimeModel FitSendTime(const SendTimeCounts& c) {
  SendTimeModel m;
  m.customers = c.customers;
  if (c.customers == 0) {
    m.hours.fill(1.0 / kHoursPerDay);
    m.days.fill(1.0 / kDaysPerWeek);
    m.hour_prior = m.day_prior = 2;
    return m;
  }
  for (int i = 0; i < kHoursPerDay; ++i) m.hours[i] = c.hour_shares[i] / c.customers;
  for (int i = 0; i < kDaysPerWeek; ++i) m.days[i] = c.day_shares[i] / c.customers;
  // The spread is measured on the customers with n ≥ 2 around the mean of all.
  m.hour_prior = PriorStrength(m.hours, c.hour_share_squares, c.hour_inverse_n, c.hour_customers);
  m.day_prior = PriorStrength(m.days, c.day_share_squares, c.day_inverse_n, c.day_customers);
  return m;
}

SendTimeProfile CustomerSendTime(const SendTimeModel& model, const SendTimeHistogram& h) {
  SendTimeProfile p;
  const OwnShares own(h);
  const auto& hs = own.hours;
  const auto& ds = own.days;
  const double hn = own.hour_n, dn = own.day_n;
  SendTimeModel uniform;
  const SendTimeModel& m = model.fitted() ? model : (uniform = FitSendTime({}));
  Smooth(hs, hn, m.hours, m.hour_prior, p.hours);
  Smooth(ds, dn, m.days, m.day_prior, p.days);
  p.activity = hn;
  return p;
}

int SendTimeProfile::BestHour() const {
  return static_cast<int>(std::max_element(hours.begin(), hours.end()) - hours.begin());
}

std::vector<SendSlot> SendSlots(absl::TimeZone zone, TimeMs start, TimeMs end, int first_hour,
                                int last_hour) {
  std::vector<SendSlot> out;
  if (end <= start) return out;
  // Whole UTC hours are whole local hours in every zone with whole-hour
  // offsets (all of Europe); elsewhere the slot starts at the UTC hour.
  constexpr TimeMs kHour = 3'600'000;
  for (TimeMs t = (start + kHour - 1) / kHour * kHour; t < end; t += kHour) {
    int weekday, hour;
    LocalHour(zone, t, weekday, hour);
    if (hour < first_hour || hour > last_hour) continue;
    out.push_back({t, static_cast<uint8_t>(weekday), static_cast<uint8_t>(hour)});
  }
  return out;
}

TimeMs BestSendAt(const SendTimeProfile& p, absl::Span<const SendSlot> slots) {
  TimeMs best = 0;
  double best_score = -1;
  for (const SendSlot& s : slots) {
    const double score = p.hours[s.hour] * p.days[s.weekday];
    if (score > best_score) {
      best_score = score;
      best = s.at;
    }
  }
  return best;
}

}  // namespace nextbest::core
