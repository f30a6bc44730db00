// Retention offers valued by CLV at risk (Arbitration::clv_at_risk): the
// offer's value factor is the customer's CLV × (1 − P(alive)) in major
// units, so it goes to valuable customers who are slipping; a customer with
// nothing at risk does not get it; the reason tells a call-centre agent why
// in words and figures; the explanation names the value basis.

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "tests/core/decision_fixture.h"

namespace nextbest::core {
namespace {

using testing::Consenting;
using testing::kDay;
using testing::kNow;
using testing::OfferTest;

CustomerState Buyer(int orders, int first_days_ago, int last_days_ago, int64_t spend_minor) {
  CustomerState c = Consenting();
  c.features.orders = orders;
  c.features.first_purchase = kNow - first_days_ago * kDay;
  c.features.last_purchase = kNow - last_days_ago * kDay;
  c.features.spend_minor = spend_minor;
  return c;
}

class RetentionOfferTest : public OfferTest {
 protected:
  void SetUp() override {
    OfferTest::SetUp();
    // Placement "offers" shows three of: a (priority 3), push (1), and the
    // retention offer "keep" (priority 1, configured value 5).
    DecisionConfig c = config_;
    c.placements[0].offers.clear();
    c.placements[0].arbitration.clv_at_risk = true;
    c.offers.erase(c.offers.begin() + 1, c.offers.begin() + 3);  // drop b and later
    OfferSpec keep = c.offers[0];
    keep.id = "keep";
    keep.title = "We missen je";
    keep.priority = 1;
    keep.value = 5;
    keep.retention = true;
    c.offers.push_back(keep);
    c.offers[0].value = 10;  // a: 10 (offer value) × 3 (priority)
    ledger_.Attach(c);
    built_ = *DecisionConfig::Build(std::move(c));
    config_ = *built_;
    auto models = std::make_unique<Models>();
    CustomerValueModel& m = models->customer_value.population;
    m.purchases = {0.25, 30, 0.8, 2.4};  // days: a purchase every ~120 days
    m.value = {6, 4, 1500};              // minor units: mean order 30.00
    m.purchases_fitted = m.value_fitted = true;
    models_ = std::move(models);
  }
  Decision RunExplained(const CustomerState& c, Explanation& explain) {
    DecisionRequest r = Request(config_.placements[0], &c);
    r.explain = &explain;
    return Decide(*catalog_, *trending_, r);
  }
  const DecidedItem* Find(const Decision& d, const std::string& id) {
    for (const auto& it : d.items) {
      if (it.offer >= 0 && config_.offers[it.offer].id == id) return &it;
    }
    return nullptr;
  }
};

TEST_F(RetentionOfferTest, ValueIsTheCustomersClvAtRisk) {
  // A big regular, silent for 120 days: much at risk (P(alive) about 0.65
  // of a CLV of € 180). A steady one: little.
  const CustomerState lapsed = Buyer(12, 665, 120, 12 * 6000);
  const CustomerState steady = Buyer(12, 365, 5, 12 * 6000);
  const CustomerValue lv = ValueCustomer(models_->customer_value, lapsed.features, 0, kNow);
  const CustomerValue sv = ValueCustomer(models_->customer_value, steady.features, 0, kNow);
  ASSERT_TRUE(lv.known && sv.known);
  ASSERT_GT(lv.clv_at_risk_minor / 100, 10 * 3);  // above a's value × priority
  ASSERT_LT(sv.clv_at_risk_minor / 100, 10 * 3);

  Explanation lx, sx;
  const Decision ld = RunExplained(lapsed, lx);
  const Decision sd = RunExplained(steady, sx);
  EXPECT_EQ(Offers(ld), (std::vector<std::string>{"keep", "a", "push"}));
  EXPECT_EQ(Offers(sd).front(), "a");

  // The explanation: value = CLV at risk in major units, basis named;
  // other offers by their configured value.
  ASSERT_EQ(lx.items.size(), ld.items.size());
  EXPECT_EQ(lx.items[0].value_basis, ValueBasis::kClvAtRisk);
  EXPECT_NEAR(lx.items[0].value, lv.clv_at_risk_minor / 100, 1e-9);
  EXPECT_EQ(lx.items[1].value_basis, ValueBasis::kOfferValue);
  EXPECT_EQ(lx.items[1].value, 10);
  EXPECT_STREQ(ValueBasisName(ValueBasis::kClvAtRisk), "clv_at_risk");
  // Score = relevance × CLV at risk × priority × context.
  EXPECT_NEAR(ld.items[0].score, lx.items[0].relevance * lx.items[0].value, 1e-9);
}

TEST_F(RetentionOfferTest, TheReasonTellsTheAgentWhyInWordsAndFigures) {
  const CustomerState lapsed = Buyer(12, 665, 120, 12 * 6000);
  const CustomerValue v = ValueCustomer(models_->customer_value, lapsed.features, 0, kNow);
  Explanation x;
  const Decision d = RunExplained(lapsed, x);
  const DecidedItem* keep = Find(d, "keep");
  ASSERT_NE(keep, nullptr);
  EXPECT_NEAR(keep->p_alive, v.p_alive, 1e-6);
  EXPECT_EQ(keep->clv_months, 12);
  char want[200];
  std::snprintf(want, sizeof want,
                ", value € %lld per year, %d %% chance still active: We missen je",
                static_cast<long long>(std::llround(v.clv_minor / 100)),
                static_cast<int>(std::lround(v.p_alive * 100)));
  const std::string reason = Reason(*keep);
  EXPECT_NE(reason.find(want), std::string::npos) << reason;
  // The customer in words, from the RFM segment of the answer.
  keep = Find(d, "keep");
  DecidedItem loyal = *keep;
  loyal.rfm = RfmSegment::kLoyal;
  EXPECT_EQ(Reason(loyal).rfind("loyal customer, value € ", 0), 0u) << Reason(loyal);
  loyal.clv_months = 24;
  EXPECT_NE(Reason(loyal).find(" over 24 months, "), std::string::npos);
  // Other offers keep their own text.
  EXPECT_EQ(Reason(*Find(d, "a")), "Offer A");
}

TEST_F(RetentionOfferTest, NothingAtRiskNoRetentionOffer) {
  // No order yet: no future, nothing at risk; likewise without models.
  Explanation x;
  const Decision d = RunExplained(Consenting(), x);
  EXPECT_EQ(Find(d, "keep"), nullptr);
  bool dropped = false;
  for (const auto& drop : x.dropped) {
    dropped |= drop.offer >= 0 && config_.offers[drop.offer].id == "keep" &&
               drop.rule == DropRule::kOfferNothingAtRisk;
  }
  EXPECT_TRUE(dropped);
  EXPECT_STREQ(DropRuleName(DropRule::kOfferNothingAtRisk), "offer_nothing_at_risk");
  models_ = std::make_unique<Models>();
  const CustomerState lapsed = Buyer(12, 665, 300, 12 * 6000);
  EXPECT_EQ(Find(Run(config_.placements[0], &lapsed), "keep"), nullptr);
  // Without the placement's switch the retention offer is an ordinary one.
  DecisionConfig c = config_;
  c.placements[0].offers.clear();
  c.placements[0].arbitration.clv_at_risk = false;
  built_ = *DecisionConfig::Build(std::move(c));
  config_ = *built_;
  const CustomerState none = Consenting();
  Explanation plain;
  const Decision p = RunExplained(none, plain);
  const DecidedItem* keep = Find(p, "keep");
  ASSERT_NE(keep, nullptr);
  EXPECT_LT(keep->p_alive, 0);  // no figures behind its reason
  EXPECT_EQ(Reason(*keep), "We missen je");
}

}  // namespace
}  // namespace nextbest::core
