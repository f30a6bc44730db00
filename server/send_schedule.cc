#include "server/send_schedule.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "server/validation.h"

namespace nextbest::server {
namespace {

constexpr core::TimeMs kHourMs = 3'600'000;
constexpr core::TimeMs kMaxWindowMs = 14 * 24 * kHourMs;

absl::Status Invalid(const std::string& field, const std::string& rule) {
  return absl::InvalidArgumentError(absl::StrCat("send_time.", field, ": ", rule));
}

}  // namespace

absl::StatusOr<SendSchedule> SendSchedule::Make(const v1::SendTimeRequest& r,
                                                const core::FeatureOptions& features,
                                                core::TimeMs now) {
  SendSchedule s;
  if (!v1::SendTimeRequest::Mode_IsValid(r.mode())) {
    return Invalid("mode", absl::StrCat("unknown value ", r.mode()));
  }
  s.mode_ = r.mode();
  if (s.mode_ == v1::SendTimeRequest::MODE_UNSPECIFIED) return s;
  if (s.mode_ == v1::SendTimeRequest::FIXED) {
    if (!r.has_at()) return Invalid("at", "required with mode FIXED");
    RETURN_IF_ERROR(ValidateTimestamp(r.at(), "send_time.at"));
    s.fixed_ = ToTimeMs(r.at());
    return s;
  }
  if (r.has_at()) return Invalid("at", "only with mode FIXED");
  if (r.has_window_start())
    RETURN_IF_ERROR(ValidateTimestamp(r.window_start(), "send_time.window_start"));
  if (r.has_window_end())
    RETURN_IF_ERROR(ValidateTimestamp(r.window_end(), "send_time.window_end"));
  const core::TimeMs start = r.has_window_start() ? ToTimeMs(r.window_start()) : now;
  const core::TimeMs end = r.has_window_end() ? ToTimeMs(r.window_end()) : start + 24 * kHourMs;
  if (end <= start) return Invalid("window_end", "must be after window_start");
  if (end - start > kMaxWindowMs)
    return Invalid("window_end", "at most 14 days after window_start");
  const int first = r.has_first_hour() ? r.first_hour() : 0;
  const int last = r.has_last_hour() ? r.last_hour() : 23;
  if (first < 0 || first > 23) return Invalid("first_hour", "must be 0..23");
  if (last < 0 || last > 23) return Invalid("last_hour", "must be 0..23");
  if (last < first) return Invalid("last_hour", "must not be before first_hour");
  const size_t markets = std::max<size_t>(features.market_zones.size(), 1);
  for (size_t m = 0; m < markets; ++m) {
    const absl::TimeZone zone =
        m < features.market_zones.size() ? features.market_zones[m] : absl::UTCTimeZone();
    s.slots_.push_back(core::SendSlots(zone, start, end, first, last));
    if (s.slots_.back().empty()) {
      return Invalid("window_start", absl::StrCat("no whole local hour from ", first, ":00 to ",
                                                  last, ":59 in the window (", zone.name(), ")"));
    }
  }
  return s;
}

std::optional<core::TimeMs> SendSchedule::SendAt(const core::CustomerFeatures& f,
                                                 core::CountryIndex market,
                                                 const core::Models* models, bool personal) const {
  switch (mode_) {
    case v1::SendTimeRequest::FIXED:
      return fixed_;
    case v1::SendTimeRequest::BEST_HOUR: {
      static const core::SendTimeModel kNone;
      const core::SendTimeProfile p =
          core::CustomerSendTime(models != nullptr ? models->send_time : kNone,
                                 personal ? f.send_time : core::SendTimeHistogram{});
      return core::BestSendAt(p, slots_[market < slots_.size() ? market : 0]);
    }
    default:
      return std::nullopt;
  }
}

}  // namespace nextbest::server
