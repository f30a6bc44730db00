#pragma once
// One contact policy across offers and channels: at most N contacts per
// customer per rolling period on a channel (e-mail ≤ 2 per 7 days, call ≤ 1
// per 30 days) and across all channels (≤ 4 per 7 days), quiet periods after
// an event (no commercial contact within 2 days after a purchase, 30 after
// a complaint), and per-segment allowances (DecisionConfig's
// contact_overrides: "at_risk may get one more").
//
// A contact counts when the caller reports it: an event of type kContact
// with its channel (and the decision id it carried), applied by the single
// writer like every event, so the counts are durable (the event log) and
// exact under concurrency; a decision that was never sent uses nothing up.
// Placements whose answer is a contact (PlacementSpec::contact: the
// newsletter, the call centre's top 3) check the policy before deciding and
// answer nothing, with the reason, for a customer over it.
//
// Per customer 20 bytes: the latest five contacts (ContactLog), each the
// minute it happened (rounded up: a contact counts up to a minute longer,
// never shorter) and its channel. What a cap needs is kept: when a sixth
// arrives, the oldest contact no cap can count any more goes. A cap on one
// channel whose period is no longer than the all-channel cap's needs no
// slots of its own (whenever a contact the log dropped would still count
// for it, the newer ones it was dropped for block every channel already),
// so the policy is exact if the all-channel limit plus the limits of the
// longer channel caps (each with its largest allowance) fit in five slots;
// the config refuses a policy that does not (ContactRules::Validate).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "core/types.h"

namespace nextbest::core {

inline constexpr int kContactSlots = 5;

// The latest contacts, newest first; each minutes since the epoch << 3 |
// channel (0 = an empty slot). Channels fit in 3 bits.
struct ContactLog {
  std::array<uint32_t, kContactSlots> slots{};
  int size() const;
  TimeMs Time(int i) const { return static_cast<TimeMs>(slots[i] >> 3) * 60'000; }
  Channel ChannelOf(int i) const { return static_cast<Channel>(slots[i] & 7); }
  bool operator==(const ContactLog&) const = default;
};
static_assert(sizeof(ContactLog) == 20);
static_assert(static_cast<int>(kMaxChannel) < 8, "channels must fit in 3 bits");

struct ContactCap {
  Channel channel = Channel::kUnspecified;  // kUnspecified: every channel together
  int max_contacts = 0;
  int64_t period_ms = 0;
  bool AllChannels() const { return channel == Channel::kUnspecified; }
  bool Counts(Channel c) const { return AllChannels() || c == channel; }
};

struct QuietPeriod {
  EventType after = EventType::kPurchase;  // e.g. kPurchase, kComplaint
  int64_t period_ms = 0;
};

struct ContactRules {
  std::vector<ContactCap> caps;  // at most one across all channels, one per channel
  std::vector<QuietPeriod> quiet;
  // Per cap (parallel to `caps`): the largest allowance any override adds.
  std::vector<int> max_extra;
  bool empty() const { return caps.empty() && quiet.empty(); }
  // Slots the log needs to count every cap exactly.
  int SlotsNeeded() const;
  // INVALID_ARGUMENT naming the field ("contact_policy.caps[1]...").
  absl::Status Validate() const;
};

// Adds a reported contact to the log, keeping what the caps need.
void RecordContact(const ContactRules& rules, TimeMs time, Channel channel, ContactLog& log);

enum class ContactVerdict : uint8_t { kOk = 0, kContactCap, kQuietPeriod };
const char* ContactVerdictName(ContactVerdict v);  // "", "contact_cap", "quiet_period"

struct ContactCheck {
  ContactVerdict verdict = ContactVerdict::kOk;
  std::string detail;  // e.g. "2 contacts by email in the last 7 days (at most 2)"
};

// May the customer be contacted on `channel` at `now`? `last_of_type(t)`
// is the time of the customer's latest event of type t (0 = never);
// `extra` (parallel to rules.caps, or empty) the allowances that apply to
// this customer. Quiet periods first, then the caps that count the channel.
template <typename LastOfType>
ContactCheck CheckContact(const ContactRules& rules, const ContactLog& log, LastOfType last_of_type,
                          Channel channel, TimeMs now, absl::Span<const int> extra);

// The pieces of the check (contact_policy.cc).
ContactCheck QuietCheck(const QuietPeriod& q, TimeMs last, TimeMs now);
ContactCheck CapCheck(const ContactCap& cap, int extra, const ContactLog& log, TimeMs now);

template <typename LastOfType>
ContactCheck CheckContact(const ContactRules& rules, const ContactLog& log, LastOfType last_of_type,
                          Channel channel, TimeMs now, absl::Span<const int> extra) {
  for (const QuietPeriod& q : rules.quiet) {
    ContactCheck c = QuietCheck(q, last_of_type(q.after), now);
    if (c.verdict != ContactVerdict::kOk) return c;
  }
  for (size_t i = 0; i < rules.caps.size(); ++i) {
    if (!rules.caps[i].Counts(channel)) continue;
    ContactCheck c = CapCheck(rules.caps[i], i < extra.size() ? extra[i] : 0, log, now);
    if (c.verdict != ContactVerdict::kOk) return c;
  }
  return {};
}

}  // namespace nextbest::core
