// Offers: eligibility, date windows, priority, product pushes and exact caps.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "tests/core/decision_fixture.h"

namespace nextbest::core {
namespace {

using testing::Consenting;
using testing::DecisionTest;
using testing::kDay;
using testing::kNow;
using testing::OfferTest;
using testing::Spec;

TEST_F(OfferTest, EligibilityWindowAndPriorityDecide) {
  CustomerState member = Consenting();
  member.attributes.loyalty_member = true;
  const PlacementSpec& spec = config_.placements[0];
  EXPECT_EQ(Offers(Run(spec, &member)), (std::vector<std::string>{"a", "b", "push"}));
  CustomerState other = Consenting();
  EXPECT_EQ(Offers(Run(spec, &other)), (std::vector<std::string>{"a", "push"}));
  // Loyalty is personal data: without consent "b" does not apply.
  member.attributes.consent_personalization = false;
  EXPECT_EQ(Offers(Run(spec, &member)), (std::vector<std::string>{"a", "push"}));
  EXPECT_EQ(Reason(Run(spec, &other).items[0]), "Offer A");
}

TEST_F(OfferTest, ProductPushObeysTheProductRules) {
  CustomerState c = Consenting();
  const PlacementSpec& spec = config_.placements[0];
  const Decision d = Run(spec, &c, /*cart=*/{2});  // p3 in the cart
  EXPECT_EQ(Offers(d), (std::vector<std::string>{"a"}));
}

TEST_F(OfferTest, PerCustomerAndTotalCapsAreExact) {
  config_.offers[0].per_customer_cap = 2;
  config_.offers[0].cap_period_ms = 7 * kDay;
  config_.offers[3].total_cap = 3;
  const PlacementSpec& spec = config_.placements[0];
  CustomerState c = Consenting();
  int a_shown = 0, push_shown = 0;
  for (int i = 0; i < 5; ++i) {
    DecisionRequest r = Request(spec, &c);
    r.customer_id = "c-cap";
    Explanation explain;
    r.explain = &explain;
    for (const auto& it : Decide(*catalog_, *trending_, r).items) {
      a_shown += config_.offers[it.offer].id == "a";
      push_shown += config_.offers[it.offer].id == "push";
    }
    if (i == 4) {
      std::vector<std::string> rules;
      for (const auto& x : explain.dropped) rules.push_back(DropRuleName(x.rule));
      EXPECT_NE(std::find(rules.begin(), rules.end(), "offer_customer_cap"), rules.end());
      EXPECT_NE(std::find(rules.begin(), rules.end(), "offer_total_cap"), rules.end());
    }
  }
  EXPECT_EQ(a_shown, 2);
  EXPECT_EQ(push_shown, 3);
  // A week later the per-customer window has rolled on; the total cap has not.
  DecisionRequest r = Request(spec, &c);
  r.customer_id = "c-cap";
  r.now = kNow + 8 * kDay;
  // ("later" has started by then.)
  EXPECT_EQ(Offers(Decide(*catalog_, *trending_, r)), (std::vector<std::string>{"a", "later"}));
}

// A preview obeys the caps but reserves nothing: the customer's real
// requests still get every showing.
TEST_F(OfferTest, PreviewObeysCapsAndReservesNothing) {
  config_.offers[0].per_customer_cap = 1;
  config_.offers[3].total_cap = 1;
  const PlacementSpec& spec = config_.placements[0];
  CustomerState c = Consenting();
  auto shown = [&](bool preview) {
    DecisionRequest r = Request(spec, &c);
    r.customer_id = "c-preview";
    r.preview = preview;
    std::vector<std::string> ids;
    for (const auto& it : Decide(*catalog_, *trending_, r).items) {
      if (it.offer >= 0) ids.push_back(config_.offers[it.offer].id);
    }
    return ids;
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(shown(true), (std::vector<std::string>{"a", "push"}));
  EXPECT_EQ(config_.offers[3].counters->served.load(), 0);
  EXPECT_EQ(shown(false), (std::vector<std::string>{"a", "push"}));  // reserves both
  EXPECT_EQ(shown(true), std::vector<std::string>{}) << "a capped preview shows what is left";
  EXPECT_EQ(shown(false), std::vector<std::string>{});
}

TEST_F(OfferTest, CapsHoldUnderConcurrentRequests) {
  config_.offers[0].per_customer_cap = 3;
  config_.offers[0].cap_period_ms = 7 * kDay;
  config_.offers[3].total_cap = 50;
  const PlacementSpec& spec = config_.placements[0];
  CustomerState c = Consenting();
  std::atomic<int> a_shown{0}, push_shown{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        DecisionRequest r = Request(spec, &c);
        const std::string id = i % 2 == 0 ? "same" : "c" + std::to_string(t * 1000 + i);
        r.customer_id = id;
        for (const auto& it : Decide(*catalog_, *trending_, r).items) {
          if (config_.offers[it.offer].id == "a" && id == "same") ++a_shown;
          if (config_.offers[it.offer].id == "push") ++push_shown;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(a_shown.load(), 3);
  EXPECT_EQ(push_shown.load(), 50);
  EXPECT_EQ(config_.offers[3].counters->served.load(), 50);
}

}  // namespace
}  // namespace nextbest::core
