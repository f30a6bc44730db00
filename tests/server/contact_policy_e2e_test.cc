// End to end for the contact policy (core/contact_policy.h) with the
// shipped config (e-mail ≤ 2 per 7 days, call ≤ 1 per 30 days, all
// channels ≤ 4 per 7 days; quiet 2 days after a purchase, 14 after a
// complaint; "glippers" one e-mail more): contacts reported as events count,
// the newsletter and the call centre hold customers back with the reason in
// the answer and in DecideForAll's totals, the counts survive a restart and
// concurrent reports, and a contact without a channel is refused.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/server/e2e_fixture.h"

namespace nextbest {
namespace {

using testing::RunCli;

class ContactPolicyTest : public testing::ServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartShippedWithDemo("--customers=300 --products=200 --stores=10"));
  }

  // Customers with both consents, no purchase in the last 3 days, and (not)
  // in the "glippers" segment.
  std::vector<std::string> Contactable(bool glippers, int n) {
    std::vector<std::string> out;
    for (int c = 1; c <= 300 && static_cast<int>(out.size()) < n; ++c) {
      v1::GetProfileResponse p;
      if (!Profile(absl::StrCat("c", c), &p).ok()) continue;
      const auto& consent = p.customer().consent();
      if (!consent.personalization() || !consent.marketing_email()) continue;
      if (p.features().orders() == 0 || p.features().days_since_last_purchase() < 3) continue;
      bool in = false;
      for (const auto& s : p.segments().rule_segments()) in |= s == "glippers";
      if (in == glippers) out.push_back(absl::StrCat("c", c));
    }
    return out;
  }

  v1::Event Contact(const std::string& customer, v1::Channel channel, absl::Duration ago,
                    const std::string& id) {
    v1::Event e;
    e.set_event_id(id);
    e.set_customer_id(customer);
    e.set_type(v1::EVENT_TYPE_CONTACT);
    e.set_channel(channel);
    e.set_placement(channel == v1::CHANNEL_EMAIL ? "newsletter.blocks" : "callcenter.top3");
    e.mutable_time()->set_seconds(absl::ToUnixSeconds(absl::Now() - ago));
    return e;
  }

  v1::RecommendResponse Ask(const std::string& customer, const std::string& placement,
                            v1::Channel channel) {
    v1::RecommendResponse r;
    EXPECT_TRUE(Recommend(customer, placement, &r, [&](v1::RecommendRequest& q) {
                  q.mutable_context()->set_channel(channel);
                  q.set_preview(true);
                }).ok());
    return r;
  }

  // Decided customers and the totals of a newsletter run.
  std::vector<std::string> Newsletter(v1::DecideForAllResponse& last) {
    v1::DecideForAllRequest req;
    req.set_placement("newsletter.blocks");
    grpc::ClientContext ctx;
    auto reader = decisions_->DecideForAll(&ctx, req);
    v1::DecideForAllResponse msg;
    std::vector<std::string> ids;
    while (reader->Read(&msg)) {
      for (const auto& d : msg.decisions()) ids.push_back(d.customer_id());
      if (msg.last()) last = msg;
    }
    EXPECT_TRUE(reader->Finish().ok());
    return ids;
  }
};

bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

TEST_F(ContactPolicyTest, ReportedContactsCountAndTheNewsletterSaysWhoItHeldBack) {
  const std::vector<std::string> plain = Contactable(false, 2);
  ASSERT_EQ(plain.size(), 2u);
  const std::string& x = plain[0];
  // Decided, not yet contacted: the answer has items.
  v1::RecommendResponse r = Ask(x, "newsletter.blocks", v1::CHANNEL_EMAIL);
  EXPECT_TRUE(r.contact_skip().empty()) << r.contact_detail();
  EXPECT_GT(r.items_size(), 0);
  // Deciding does not count: only reported contacts do.
  v1::DecideForAllResponse totals;
  EXPECT_TRUE(Has(Newsletter(totals), x));
  EXPECT_TRUE(Has(Newsletter(totals), x));
  // Two e-mails sent (reported by the sender): the third waits a week.
  ASSERT_TRUE(Record({Contact(x, v1::CHANNEL_EMAIL, absl::Hours(30), "mail-1"),
                      Contact(x, v1::CHANNEL_EMAIL, absl::Hours(2), "mail-2")})
                  .ok());
  r = Ask(x, "newsletter.blocks", v1::CHANNEL_EMAIL);
  EXPECT_EQ(r.contact_skip(), "contact_cap");
  EXPECT_EQ(r.contact_detail(), "2 contacts by email in the last 7 days (at most 2)");
  EXPECT_EQ(r.items_size(), 0);
  EXPECT_TRUE(r.decision_id().empty());
  // Other channels still have room (the call centre: its own cap).
  EXPECT_TRUE(Ask(x, "callcenter.top3", v1::CHANNEL_CALL_CENTER).contact_skip().empty());
  // Pages are no contact: the homepage answers as ever.
  EXPECT_GT(Ask(x, "homepage.speciaal_voor_jou", v1::CHANNEL_WEB).items_size(), 0);
  // The run leaves the customer out and counts why.
  const std::vector<std::string> decided = Newsletter(totals);
  EXPECT_FALSE(Has(decided, x));
  EXPECT_TRUE(Has(decided, plain[1]));
  EXPECT_GE(totals.skipped_contact_cap(), 1);
  EXPECT_GE(totals.skipped_quiet_period(), 0);
  std::string out;
  ASSERT_EQ(RunCli(server_->target(), "newsletter", &out), 0) << out;
  EXPECT_NE(out.find("held back by the contact policy: "), std::string::npos) << out;
  ASSERT_EQ(RunCli(server_->target(),
                   "recommend --placement=newsletter.blocks --channel=email --customer=" + x, &out),
            0);
  EXPECT_NE(out.find("contact_cap: 2 contacts by email"), std::string::npos) << out;

  // Durable: after a restart the same.
  RestartServer();
  r = Ask(x, "newsletter.blocks", v1::CHANNEL_EMAIL);
  EXPECT_EQ(r.contact_skip(), "contact_cap");

  // A contact needs its channel.
  v1::Event bad = Contact(x, v1::CHANNEL_EMAIL, absl::Hours(1), "bad");
  bad.set_channel(v1::CHANNEL_UNSPECIFIED);
  const grpc::Status s = Record({bad});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("events[0].channel"), std::string::npos) << s.error_message();
  // The CLI reports one.
  ASSERT_EQ(
      RunCli(server_->target(), "track --type=contact --channel=call_center --customer=" + x, &out),
      0)
      << out;
  r = Ask(x, "callcenter.top3", v1::CHANNEL_CALL_CENTER);
  EXPECT_EQ(r.contact_skip(), "contact_cap");
  EXPECT_EQ(r.contact_detail(), "1 contact by call_center in the last 30 days (at most 1)");
}

TEST_F(ContactPolicyTest, QuietPeriodsAndTheSegmentAllowance) {
  const std::vector<std::string> plain = Contactable(false, 2);
  ASSERT_EQ(plain.size(), 2u);
  // A complaint: 14 quiet days on every channel.
  v1::Event complaint;
  complaint.set_event_id("complaint-1");
  complaint.set_customer_id(plain[0]);
  complaint.set_type(v1::EVENT_TYPE_COMPLAINT);
  complaint.set_channel(v1::CHANNEL_CALL_CENTER);
  complaint.mutable_time()->set_seconds(absl::ToUnixSeconds(absl::Now() - absl::Hours(24)));
  ASSERT_TRUE(Record({complaint}).ok());
  v1::RecommendResponse r = Ask(plain[0], "callcenter.top3", v1::CHANNEL_CALL_CENTER);
  EXPECT_EQ(r.contact_skip(), "quiet_period");
  EXPECT_EQ(r.contact_detail(), "complaint 1 day ago: no contact within 14 days after a complaint");
  EXPECT_EQ(Ask(plain[0], "newsletter.blocks", v1::CHANNEL_EMAIL).contact_skip(), "quiet_period");
  // A purchase just now: 2 quiet days.
  std::string out;
  ASSERT_EQ(
      RunCli(server_->target(),
             "track --type=purchase --product=p1 --price_cents=199 --customer=" + plain[1], &out),
      0)
      << out;
  r = Ask(plain[1], "newsletter.blocks", v1::CHANNEL_EMAIL);
  EXPECT_EQ(r.contact_skip(), "quiet_period");
  EXPECT_NE(r.contact_detail().find("after a purchase"), std::string::npos) << r.contact_detail();

  // "glippers" may get a third e-mail in a week; not a fourth.
  const std::vector<std::string> slipping = Contactable(true, 1);
  if (slipping.empty()) GTEST_SKIP() << "no glipper among the demo's contactable customers";
  const std::string& g = slipping[0];
  ASSERT_TRUE(Record({Contact(g, v1::CHANNEL_EMAIL, absl::Hours(50), "g-1"),
                      Contact(g, v1::CHANNEL_EMAIL, absl::Hours(40), "g-2")})
                  .ok());
  EXPECT_TRUE(Ask(g, "newsletter.blocks", v1::CHANNEL_EMAIL).contact_skip().empty());
  ASSERT_TRUE(Record({Contact(g, v1::CHANNEL_EMAIL, absl::Hours(30), "g-3")}).ok());
  r = Ask(g, "newsletter.blocks", v1::CHANNEL_EMAIL);
  EXPECT_EQ(r.contact_skip(), "contact_cap");
  EXPECT_EQ(r.contact_detail(),
            "3 contacts by email in the last 7 days (at most 3, 1 more for their segment)");
}

// Contacts reported from many senders at once are all counted (one writer
// applies them): four pushes, then every channel is at its weekly limit.
TEST_F(ContactPolicyTest, ConcurrentReportsAreAllCounted) {
  const std::vector<std::string> plain = Contactable(false, 1);
  ASSERT_EQ(plain.size(), 1u);
  const std::string& x = plain[0];
  std::vector<std::thread> senders;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    senders.emplace_back([&, i] {
      ok += Record({Contact(x, v1::CHANNEL_PUSH, absl::Minutes(10 + i), absl::StrCat("push-", i))})
                .ok();
    });
  }
  for (auto& t : senders) t.join();
  ASSERT_EQ(ok, 4);
  const v1::RecommendResponse r = Ask(x, "newsletter.blocks", v1::CHANNEL_EMAIL);
  EXPECT_EQ(r.contact_skip(), "contact_cap");
  EXPECT_EQ(r.contact_detail(), "4 contacts over all channels in the last 7 days (at most 4)");
}

}  // namespace
}  // namespace nextbest
