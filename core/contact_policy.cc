#include "core/contact_policy.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace nextbest::core {
namespace {

constexpr int64_t kMinuteMs = 60'000;

// Whole days, else whole hours, else minutes (rounded down).
std::string Days(int64_t ms) {
  auto unit = [](int64_t n, const char* one) {
    return absl::StrCat(n, " ", one, n == 1 ? "" : "s");
  };
  if (ms >= kMsPerDay) return unit(ms / kMsPerDay, "day");
  if (ms >= 3'600'000) return unit(ms / 3'600'000, "hour");
  return unit(ms / kMinuteMs, "minute");
}

// A cap that needs no slots of its own: one channel's, no longer than the
// all-channel cap's period (see the header).
bool Covered(const ContactRules& r, size_t k) {
  if (r.caps[k].AllChannels()) return false;
  for (const ContactCap& c : r.caps) {
    if (c.AllChannels() && c.period_ms >= r.caps[k].period_ms) return true;
  }
  return false;
}

int Limit(const ContactRules& r, size_t k) {
  return r.caps[k].max_contacts + (k < r.max_extra.size() ? r.max_extra[k] : 0);
}

}  // namespace

const char* ContactVerdictName(ContactVerdict v) {
  switch (v) {
    case ContactVerdict::kOk:
      return "";
    case ContactVerdict::kContactCap:
      return "contact_cap";
    case ContactVerdict::kQuietPeriod:
      return "quiet_period";
  }
  return "";
}

int ContactLog::size() const {
  int n = 0;
  while (n < kContactSlots && slots[n] != 0) ++n;
  return n;
}

int ContactRules::SlotsNeeded() const {
  int n = 0;
  for (size_t k = 0; k < caps.size(); ++k) {
    if (!Covered(*this, k)) n += Limit(*this, k);
  }
  return n;
}

absl::Status ContactRules::Validate() const {
  bool all = false;
  std::array<bool, 8> seen{};
  for (size_t k = 0; k < caps.size(); ++k) {
    const ContactCap& c = caps[k];
    const std::string f = absl::StrCat("contact_policy.caps[", k, "]");
    if (c.max_contacts < 0) return absl::InvalidArgumentError(f + ".max_contacts: must be >= 0");
    if (c.period_ms <= 0 || c.period_ms > 365 * kMsPerDay) {
      return absl::InvalidArgumentError(f + ".period_days: must be 1..365");
    }
    bool& dup = c.AllChannels() ? all : seen[static_cast<int>(c.channel)];
    if (dup) {
      return absl::InvalidArgumentError(absl::StrCat(
          f, ".channel: a second cap for ",
          c.AllChannels() ? "all channels" : ChannelName(c.channel), " (one per channel)"));
    }
    dup = true;
  }
  for (size_t i = 0; i < quiet.size(); ++i) {
    if (quiet[i].period_ms <= 0 || quiet[i].period_ms > 365 * kMsPerDay) {
      return absl::InvalidArgumentError(
          absl::StrCat("contact_policy.quiet_periods[", i, "].days: must be 1..365"));
    }
  }
  if (SlotsNeeded() > kContactSlots) {
    return absl::InvalidArgumentError(absl::StrCat(
        "contact_policy.caps: counting these caps exactly needs ", SlotsNeeded(),
        " contacts per customer, at most ", kContactSlots,
        " are kept (the all-channel limit plus each longer channel cap's limit, with their "
        "largest override): lower a limit, or make the all-channel period at least as long"));
  }
  return absl::OkStatus();
}

void RecordContact(const ContactRules& rules, TimeMs time, Channel channel, ContactLog& log) {
  // To the minute, rounded up: a contact counts up to a minute longer, never shorter.
  const int64_t minutes =
      std::clamp<int64_t>((time + kMinuteMs - 1) / kMinuteMs, 1, (int64_t{1} << 29) - 1);
  const uint32_t entry = static_cast<uint32_t>(minutes) << 3 | static_cast<uint32_t>(channel);
  // Newest first: a late report goes where its time puts it.
  std::array<uint32_t, kContactSlots + 1> all{};
  int n = 0, at = 0;
  const int size = log.size();
  while (at < size && log.slots[at] >> 3 >= entry >> 3) all[n++] = log.slots[at++];
  all[n++] = entry;
  while (at < size) all[n++] = log.slots[at++];
  if (n > kContactSlots) {
    // Drop the oldest contact no cap needs (with the newest time as "now":
    // a contact no cap needs now is needed by none later); none: the oldest.
    const TimeMs now = static_cast<TimeMs>(all[0] >> 3) * kMinuteMs;
    int drop = n - 1;
    for (int i = n - 1; i >= 0; --i) {
      const TimeMs t = static_cast<TimeMs>(all[i] >> 3) * kMinuteMs;
      const auto c = static_cast<Channel>(all[i] & 7);
      bool needed = false;
      for (size_t k = 0; k < rules.caps.size() && !needed; ++k) {
        const ContactCap& cap = rules.caps[k];
        if (Covered(rules, k) || !cap.Counts(c) || now - t >= cap.period_ms) continue;
        int newer = 0;  // contacts this cap counts that are newer than i
        for (int j = 0; j < i; ++j) newer += cap.Counts(static_cast<Channel>(all[j] & 7));
        needed = newer < Limit(rules, k);
      }
      if (!needed) {
        drop = i;
        break;
      }
    }
    for (int i = drop; i + 1 < n; ++i) all[i] = all[i + 1];
    --n;
  }
  for (int i = 0; i < kContactSlots; ++i) log.slots[i] = i < n ? all[i] : 0;
}

ContactCheck QuietCheck(const QuietPeriod& q, TimeMs last, TimeMs now) {
  ContactCheck c;
  if (last <= 0 || now - last >= q.period_ms) return c;
  c.verdict = ContactVerdict::kQuietPeriod;
  c.detail = absl::StrCat(EventTypeName(q.after), " ", Days(std::max<int64_t>(now - last, 0)),
                          " ago: no contact within ", Days(q.period_ms), " after a ",
                          EventTypeName(q.after));
  return c;
}

ContactCheck CapCheck(const ContactCap& cap, int extra, const ContactLog& log, TimeMs now) {
  ContactCheck c;
  int count = 0;
  for (int i = 0; i < log.size(); ++i) {
    if (cap.Counts(log.ChannelOf(i)) && now - log.Time(i) < cap.period_ms) ++count;
  }
  const int limit = cap.max_contacts + extra;
  if (count < limit) return c;
  c.verdict = ContactVerdict::kContactCap;
  // A full log may have let go of older contacts no cap needed: "at least".
  c.detail = absl::StrCat(
      log.size() == kContactSlots ? "at least " : "", count, count == 1 ? " contact" : " contacts",
      cap.AllChannels() ? " over all channels" : absl::StrCat(" by ", ChannelName(cap.channel)),
      " in the last ", Days(cap.period_ms), " (at most ", limit,
      extra > 0 ? absl::StrCat(", ", extra, " more for their segment") : "", ")");
  return c;
}

}  // namespace nextbest::core
