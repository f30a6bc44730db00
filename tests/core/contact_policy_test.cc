// The contact policy (core/contact_policy.h): caps per channel and across
// channels over rolling periods, quiet periods after an event, per-segment
// allowances, and the five-slot contact log: on random contact streams its
// verdicts equal those of the full history at every moment, for every
// policy the validation accepts.

#include "core/contact_policy.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/features.h"

namespace nextbest::core {
namespace {

constexpr TimeMs kDay = kMsPerDay;
constexpr TimeMs kT0 = 1'780'000'020'000;  // a whole minute

ContactRules Shipped() {
  ContactRules r;
  r.caps = {{Channel::kEmail, 2, 7 * kDay},
            {Channel::kCallCenter, 1, 30 * kDay},
            {Channel::kUnspecified, 4, 7 * kDay}};
  r.quiet = {{EventType::kPurchase, 2 * kDay}, {EventType::kComplaint, 14 * kDay}};
  r.max_extra = {1, 0, 0};  // "glippers" may get one more e-mail
  return r;
}

auto Never() {
  return [](EventType) { return TimeMs{0}; };
}

TEST(ContactPolicyTest, CapsCountTheChannelAndAllChannelsOverRollingPeriods) {
  const ContactRules rules = Shipped();
  ASSERT_TRUE(rules.Validate().ok()) << rules.Validate();
  EXPECT_EQ(rules.SlotsNeeded(), 5);  // all 4 + call 1; e-mail (7 days) is covered
  ContactLog log;
  auto check = [&](Channel c, TimeMs now, absl::Span<const int> extra = {}) {
    return CheckContact(rules, log, Never(), c, now, extra);
  };
  EXPECT_EQ(check(Channel::kEmail, kT0).verdict, ContactVerdict::kOk);
  RecordContact(rules, kT0, Channel::kEmail, log);
  RecordContact(rules, kT0 + kDay, Channel::kEmail, log);
  EXPECT_EQ(log.size(), 2);
  EXPECT_EQ(log.ChannelOf(0), Channel::kEmail);
  EXPECT_EQ(log.Time(0), kT0 + kDay);  // newest first, to the minute
  const ContactCheck over = check(Channel::kEmail, kT0 + 2 * kDay);
  EXPECT_EQ(over.verdict, ContactVerdict::kContactCap);
  EXPECT_EQ(over.detail, "2 contacts by email in the last 7 days (at most 2)");
  EXPECT_STREQ(ContactVerdictName(over.verdict), "contact_cap");
  // One more for the customer's segment; then that is used too.
  EXPECT_EQ(check(Channel::kEmail, kT0 + 2 * kDay, {1, 0, 0}).verdict, ContactVerdict::kOk);
  // Another channel is fine until all channels together reach 4.
  EXPECT_EQ(check(Channel::kPush, kT0 + 2 * kDay).verdict, ContactVerdict::kOk);
  RecordContact(rules, kT0 + 2 * kDay, Channel::kPush, log);
  RecordContact(rules, kT0 + 2 * kDay, Channel::kSms, log);
  const ContactCheck all = check(Channel::kPush, kT0 + 3 * kDay);
  EXPECT_EQ(all.verdict, ContactVerdict::kContactCap);
  EXPECT_EQ(all.detail, "4 contacts over all channels in the last 7 days (at most 4)");
  // Rolling: 7 days after the first e-mail it no longer counts.
  EXPECT_EQ(check(Channel::kEmail, kT0 + 7 * kDay - 60'000).verdict, ContactVerdict::kContactCap);
  EXPECT_EQ(check(Channel::kEmail, kT0 + 7 * kDay).verdict, ContactVerdict::kOk);
  // A call: one per 30 days.
  RecordContact(rules, kT0 + 10 * kDay, Channel::kCallCenter, log);
  EXPECT_EQ(check(Channel::kCallCenter, kT0 + 39 * kDay).verdict, ContactVerdict::kContactCap);
  EXPECT_EQ(check(Channel::kCallCenter, kT0 + 40 * kDay).verdict, ContactVerdict::kOk);
  EXPECT_EQ(check(Channel::kEmail, kT0 + 39 * kDay).verdict, ContactVerdict::kOk);
}

TEST(ContactPolicyTest, QuietPeriodsFollowTheirEvent) {
  const ContactRules rules = Shipped();
  const ContactLog log;
  const TimeMs purchase = kT0, complaint = 0;
  auto last = [&](EventType t) { return t == EventType::kPurchase ? purchase : complaint; };
  const ContactCheck c = CheckContact(rules, log, last, Channel::kEmail, kT0 + kDay, {});
  EXPECT_EQ(c.verdict, ContactVerdict::kQuietPeriod);
  EXPECT_EQ(c.detail, "purchase 1 day ago: no contact within 2 days after a purchase");
  EXPECT_EQ(CheckContact(rules, log, last, Channel::kEmail, kT0 + 2 * kDay, {}).verdict,
            ContactVerdict::kOk);
  auto complained = [&](EventType t) { return t == EventType::kComplaint ? kT0 : 0; };
  EXPECT_EQ(CheckContact(rules, log, complained, Channel::kCallCenter, kT0 + 13 * kDay, {}).verdict,
            ContactVerdict::kQuietPeriod);
  EXPECT_STREQ(ContactVerdictName(ContactVerdict::kQuietPeriod), "quiet_period");
}

TEST(ContactPolicyTest, PoliciesThatCannotBeCountedExactlyAreRefused) {
  ContactRules r = Shipped();
  r.caps.push_back({Channel::kEmail, 1, kDay});
  EXPECT_NE(r.Validate().message().find("contact_policy.caps[3].channel: a second cap for email"),
            std::string::npos)
      << r.Validate();
  r = Shipped();
  r.caps[1].max_contacts = 2;  // call 2 per 30 days + all 4: six slots
  EXPECT_NE(r.Validate().message().find("needs 6 contacts per customer, at most 5"),
            std::string::npos)
      << r.Validate();
  r = Shipped();
  r.caps.pop_back();  // no all-channel cap: e-mail 2 (+1) and call 1: four
  EXPECT_TRUE(r.Validate().ok());
  EXPECT_EQ(r.SlotsNeeded(), 4);
  r.caps[0].period_ms = 0;
  EXPECT_FALSE(r.Validate().ok());
}

struct Contact {
  TimeMs time;
  Channel channel;
};

// The verdict from the whole history.
ContactVerdict Reference(const ContactRules& rules, const std::vector<Contact>& all, Channel c,
                         TimeMs now, absl::Span<const int> extra) {
  for (size_t k = 0; k < rules.caps.size(); ++k) {
    const ContactCap& cap = rules.caps[k];
    if (!cap.Counts(c)) continue;
    int n = 0;
    for (const Contact& x : all) n += cap.Counts(x.channel) && now - x.time < cap.period_ms;
    if (n >= cap.max_contacts + (k < extra.size() ? extra[k] : 0)) {
      return ContactVerdict::kContactCap;
    }
  }
  return ContactVerdict::kOk;
}

// Random streams of contacts (bursts, several channels, minutes apart or
// weeks apart) under several accepted policies: the five-slot log answers
// exactly as the whole history does, with and without allowances.
TEST(ContactPolicyTest, TheFiveSlotLogAnswersAsTheWholeHistoryDoes) {
  std::vector<ContactRules> policies;
  policies.push_back(Shipped());
  ContactRules no_all;  // per channel only: e-mail 2 / 7 d, push 1 / 3 d, SMS 1 / 30 d (+1)
  no_all.caps = {
      {Channel::kEmail, 2, 7 * kDay}, {Channel::kPush, 1, 3 * kDay}, {Channel::kSms, 1, 30 * kDay}};
  no_all.max_extra = {0, 0, 1};
  policies.push_back(no_all);
  ContactRules long_all;  // all 3 / 30 d covers every channel cap
  long_all.caps = {{Channel::kEmail, 2, 7 * kDay},
                   {Channel::kCallCenter, 1, 14 * kDay},
                   {Channel::kUnspecified, 3, 30 * kDay}};
  long_all.max_extra = {2, 1, 2};
  policies.push_back(long_all);
  const Channel channels[] = {Channel::kEmail, Channel::kCallCenter, Channel::kPush, Channel::kSms,
                              Channel::kApp};
  int checks = 0, blocked = 0;
  for (size_t p = 0; p < policies.size(); ++p) {
    const ContactRules& rules = policies[p];
    ASSERT_TRUE(rules.Validate().ok()) << p << ": " << rules.Validate();
    std::mt19937_64 rng(11 + p);
    for (int customer = 0; customer < 300; ++customer) {
      ContactLog log;
      std::vector<Contact> all;
      TimeMs t = kT0;
      for (int i = 0; i < 60; ++i) {
        // Bursts (minutes apart) and gaps (up to three weeks).
        t += rng() % 4 == 0 ? static_cast<TimeMs>(rng() % 120) * 60'000
                            : static_cast<TimeMs>(rng() % (21 * 24)) * 3'600'000;
        const Channel c = channels[rng() % std::size(channels)];
        RecordContact(rules, t, c, log);
        all.push_back({(t + 59'999) / 60'000 * 60'000, c});  // the log's minute, rounded up
        for (int probe = 0; probe < 4; ++probe) {
          const TimeMs now = t + static_cast<TimeMs>(rng() % (40 * 24)) * 3'600'000;
          for (Channel asked : channels) {
            std::vector<int> extra(rules.caps.size(), 0);
            if (rng() % 2) extra = rules.max_extra;  // the customer has the allowance
            const ContactVerdict want = Reference(rules, all, asked, now, extra);
            const ContactVerdict got = CheckContact(rules, log, Never(), asked, now, extra).verdict;
            ASSERT_EQ(got, want) << "policy " << p << ", customer " << customer << ", contact " << i
                                 << ", " << ChannelName(asked);
            ++checks;
            blocked += want != ContactVerdict::kOk;
          }
        }
      }
    }
  }
  EXPECT_GT(blocked, checks / 10);  // the streams do hit the caps
}

TEST(ContactPolicyTest, ContactEventsFillTheLogThroughApplyEvent) {
  FeatureOptions o;
  o.contacts = Shipped();
  CustomerFeatures f;
  const auto catalog = Catalog::Empty({"NL"}, "EUR");
  ASSERT_TRUE(catalog.ok());
  Event e;
  e.type = EventType::kContact;
  e.channel = Channel::kEmail;
  e.time = kT0;
  ApplyEvent(o, **catalog, e, f);
  e.type = EventType::kComplaint;
  e.time = kT0 + kDay;
  ApplyEvent(o, **catalog, e, f);
  EXPECT_EQ(f.contacts.size(), 1);
  EXPECT_EQ(f.LastOfType(EventType::kComplaint), kT0 + kDay);
  EXPECT_TRUE(f.send_time.Empty());  // contacts and complaints say nothing about reading hours
  const ContactCheck c =
      CheckContact(o.contacts, f.contacts, [&](EventType t) { return f.LastOfType(t); },
                   Channel::kEmail, kT0 + 2 * kDay, {});
  EXPECT_EQ(c.verdict, ContactVerdict::kQuietPeriod);
}

}  // namespace
}  // namespace nextbest::core
