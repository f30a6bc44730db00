// The contact policy's config (ContactPolicyConfig) into core::ContactRules
// and the per-segment allowances.

#include "absl/strings/ascii.h"
#include "core/status_macros.h"
#include "server/config_internal.h"

namespace nextbest::server::config_internal {

absl::StatusOr<core::Channel> ToChannel(const std::string& name, const std::string& field) {
  if (name.empty()) return core::Channel::kUnspecified;
  for (int c = 1; c <= static_cast<int>(core::kMaxChannel); ++c) {
    const auto channel = static_cast<core::Channel>(c);
    if (absl::AsciiStrToUpper(core::ChannelName(channel)) == name) return channel;
  }
  return Invalid(field, absl::StrCat("'", name,
                                     "': one of WEB, APP, STORE, EMAIL, CALL_CENTER, PUSH, SMS "
                                     "(empty: all channels)"));
}

absl::Status ParseContactPolicy(const cfg::ContactPolicyConfig& c,
                                const std::vector<std::string>& markets, core::DecisionConfig& d) {
  core::ContactRules& rules = d.contact;
  for (int i = 0; i < c.caps_size(); ++i) {
    const auto& cap = c.caps(i);
    const std::string f = absl::StrCat("contact_policy.caps[", i, "]");
    ASSIGN_OR_RETURN(core::Channel channel, ToChannel(cap.channel(), f + ".channel"));
    if (cap.max_contacts() < 0 || cap.max_contacts() > kMaxCapContacts) {
      return Invalid(f + ".max_contacts", absl::StrCat("must be 0..", kMaxCapContacts));
    }
    if (cap.period_days() <= 0 || cap.period_days() > 365) {
      return Invalid(f + ".period_days", "must be 1..365");
    }
    rules.caps.push_back({channel, cap.max_contacts(), cap.period_days() * core::kMsPerDay});
  }
  for (int i = 0; i < c.quiet_periods_size(); ++i) {
    const auto& q = c.quiet_periods(i);
    const std::string f = absl::StrCat("contact_policy.quiet_periods[", i, "]");
    int type = 0;
    for (int t = 1; t < core::kEventTypeCount; ++t) {
      const char* name = core::EventTypeName(static_cast<core::EventType>(t));
      if (absl::AsciiStrToUpper(name) == q.after()) type = t;
    }
    if (type == 0) {
      return Invalid(f + ".after", absl::StrCat("'", q.after(),
                                                "': an event type, e.g. PURCHASE, COMPLAINT, "
                                                "CONTACT"));
    }
    if (q.days() <= 0 || q.days() > 365) return Invalid(f + ".days", "must be 1..365");
    rules.quiet.push_back({static_cast<core::EventType>(type), q.days() * core::kMsPerDay});
  }
  rules.max_extra.assign(rules.caps.size(), 0);
  for (int i = 0; i < c.overrides_size(); ++i) {
    const auto& o = c.overrides(i);
    const std::string f = absl::StrCat("contact_policy.overrides[", i, "]");
    core::ContactOverride out;
    ASSIGN_OR_RETURN(out.condition,
                     ToCondition(o.condition(), f + ".condition", markets, d.segments));
    ASSIGN_OR_RETURN(out.channel, ToChannel(o.channel(), f + ".channel"));
    if (o.extra_contacts() <= 0 || o.extra_contacts() > kMaxCapContacts) {
      return Invalid(f + ".extra_contacts", absl::StrCat("must be 1..", kMaxCapContacts));
    }
    out.extra = o.extra_contacts();
    bool applies = false;
    for (size_t k = 0; k < rules.caps.size(); ++k) {
      if (out.channel != core::Channel::kUnspecified && rules.caps[k].channel != out.channel) {
        continue;
      }
      applies = true;
      rules.max_extra[k] = std::max(rules.max_extra[k], out.extra);
    }
    if (!applies) {
      return Invalid(f + ".channel", absl::StrCat("no cap on ", o.channel(), " to loosen"));
    }
    d.contact_overrides.push_back(std::move(out));
  }
  absl::Status valid = rules.Validate();
  if (!valid.ok()) return Invalid("", std::string(valid.message()));
  return absl::OkStatus();
}

}  // namespace nextbest::server::config_internal
