// End to end for each customer's future (core/customer_value.h): the real
// server with the shipped config, the demo retailer loaded through the real
// CLI; P(alive), expected orders and CLV in GetProfile and in the
// explanation, the churn-risk bands and the fitted models in ListSegments,
// the shipped "glippers" segment (a condition on the future) exactly where
// the profile's figures put it, and the churn-prone personas at risk.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nextbest/v1/admin.grpc.pb.h"
#include "nextbest/v1/customers.grpc.pb.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "tests/server/e2e_fixture.h"

namespace nextbest {
namespace {

using testing::RunCli;

class CustomerValueTest : public testing::ServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartShippedWithDemo("--customers=700 --products=300 --stores=30"));
  }

  v1::GetProfileResponse ProfileOf(const std::string& customer) {
    v1::GetProfileResponse resp;
    EXPECT_TRUE(Profile(customer, &resp).ok()) << customer;
    return resp;
  }
};

bool InSegment(const v1::GetProfileResponse& p, const std::string& segment) {
  for (const auto& s : p.segments().rule_segments()) {
    if (s == segment) return true;
  }
  return false;
}

TEST_F(CustomerValueTest, ProfilesSegmentsAndExplanationsShowTheFuture) {
  v1::ListSegmentsResponse segs;
  ASSERT_TRUE(
      Call(&v1::AdminService::Stub::ListSegments, admin_.get(), v1::ListSegmentsRequest(), &segs)
          .ok());
  ASSERT_GE(segs.customer_value_models_size(), 1);
  const v1::CustomerValueModel& model = segs.customer_value_models(0);
  EXPECT_EQ(model.market(), "");  // the population's (700 customers: no market has 5000)
  EXPECT_TRUE(model.purchases_fitted());
  EXPECT_TRUE(model.value_fitted());
  EXPECT_GT(model.r(), 0);
  EXPECT_GT(model.q(), 1);
  std::map<std::string, int64_t> bands;
  for (const auto& s : segs.segments()) {
    if (s.kind() == "churn_risk") bands[s.segment()] = s.customers();
  }
  ASSERT_EQ(bands.size(), 3u);
  // Every customer with an order is in one band.
  EXPECT_EQ(bands["low"] + bands["medium"] + bands["high"], model.customers());
  EXPECT_GT(bands["high"], 0);
  EXPECT_GT(bands["low"], 0);

  // Personas: c1 young parent, ..., c4 party planner, c5 home & household
  // (the churn-prone: many stop coming), c6 beauty fan, c7 snack lover.
  std::map<bool, std::vector<double>> p_alive;  // by churn-prone
  int checked = 0, glippers = 0, without_consent = 0;
  for (int c = 1; c <= 350; ++c) {
    const v1::GetProfileResponse p = ProfileOf(absl::StrCat("c", c));
    if (!p.customer().consent().personalization()) {
      EXPECT_FALSE(p.has_future()) << c;  // no personal figures without consent
      ++without_consent;
      continue;
    }
    if (p.features().orders() == 0) {
      EXPECT_FALSE(p.has_future()) << c;
      continue;
    }
    ASSERT_TRUE(p.has_future()) << c;
    const v1::CustomerFuture& f = p.future();
    ++checked;
    EXPECT_GE(f.p_alive(), 0);
    EXPECT_LE(f.p_alive(), 1);
    EXPECT_EQ(f.churn_risk(), f.p_alive() < 0.3 ? "high" : f.p_alive() < 0.6 ? "medium" : "low");
    EXPECT_LE(f.expected_orders_30d(), f.expected_orders_90d());
    EXPECT_LE(f.expected_orders_90d(), f.expected_orders_365d());
    EXPECT_GT(f.expected_order_value().amount_minor(), 0);
    EXPECT_EQ(f.expected_order_value().currency(), "EUR");
    EXPECT_EQ(f.clv_months(), 12);
    EXPECT_NEAR(f.clv_at_risk().amount_minor(), f.clv().amount_minor() * (1 - f.p_alive()), 1.01);
    // The shipped "glippers": three orders or more and P(alive) below 60 %.
    const bool expected = p.features().orders() >= 3 && f.p_alive() < 0.6;
    EXPECT_EQ(InSegment(p, "glippers"), expected) << c << " p " << f.p_alive();
    glippers += expected;
    const int persona = (c - 1) % 7;
    p_alive[persona == 3 || persona == 4].push_back(f.p_alive());
  }
  EXPECT_GT(checked, 200);
  EXPECT_GT(without_consent, 0);
  EXPECT_GT(glippers, 5);
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
  };
  auto below = [](const std::vector<double>& v, double cut) {
    int n = 0;
    for (double x : v) n += x < cut;
    return static_cast<double>(n) / static_cast<double>(v.size());
  };
  std::printf("P(alive) mean: churn-prone %.3f, others %.3f; below 0.6: %.2f vs %.2f\n",
              mean(p_alive[true]), mean(p_alive[false]), below(p_alive[true], 0.6),
              below(p_alive[false], 0.6));
  EXPECT_LT(mean(p_alive[true]), mean(p_alive[false]) - 0.1);
  EXPECT_GT(below(p_alive[true], 0.6), 3 * below(p_alive[false], 0.6));

  // The explanation carries the same figures as the profile.
  for (int c = 1; c <= 20; ++c) {
    const std::string customer = absl::StrCat("c", c);
    const v1::GetProfileResponse p = ProfileOf(customer);
    if (!p.has_future()) continue;
    v1::RecommendResponse r;
    ASSERT_TRUE(Recommend(customer, "callcenter.top3", &r, [](v1::RecommendRequest& q) {
                  q.set_explain(true);
                  q.mutable_context()->set_channel(v1::CHANNEL_CALL_CENTER);
                }).ok());
    ASSERT_TRUE(r.explanation().has_future()) << customer;
    EXPECT_NEAR(r.explanation().future().p_alive(), p.future().p_alive(), 1e-6);
    EXPECT_EQ(r.explanation().future().churn_risk(), p.future().churn_risk());
    // The CLI prints it.
    std::string out;
    ASSERT_EQ(
        RunCli(server_->target(),
               "recommend --customer=" + customer + " --placement=callcenter.top3 --explain", &out),
        0)
        << out;
    EXPECT_NE(out.find("customer: P(alive)"), std::string::npos) << out;
    ASSERT_EQ(RunCli(server_->target(), "profile --customer=" + customer, &out), 0) << out;
    EXPECT_NE(out.find("future: P(alive)"), std::string::npos) << out;
    EXPECT_NE(out.find("CLV"), std::string::npos) << out;
    ASSERT_EQ(RunCli(server_->target(), "segments", &out), 0) << out;
    EXPECT_NE(out.find("churn_risk high"), std::string::npos) << out;
    EXPECT_NE(out.find("purchase model (everyone"), std::string::npos) << out;
    return;
  }
  FAIL() << "none of c1..c20 has a future";
}

// The shipped call-centre placement values the retention offer by the
// customer's CLV at risk and tells the agent why in words and figures.
TEST_F(CustomerValueTest, CallCentreValuesTheRetentionOfferByClvAtRisk) {
  int shown = 0, nothing_at_risk = 0;
  for (int c = 1; c <= 700 && shown < 5; ++c) {
    const std::string customer = absl::StrCat("c", c);
    v1::RecommendResponse r;
    ASSERT_TRUE(Recommend(customer, "callcenter.top3", &r, [](v1::RecommendRequest& q) {
                  q.set_explain(true);
                  q.set_preview(true);
                  q.mutable_context()->set_channel(v1::CHANNEL_CALL_CENTER);
                }).ok());
    for (const auto& d : r.explanation().dropped()) {
      nothing_at_risk += d.offer_id() == "we-missen-je" && d.rule() == "offer_nothing_at_risk";
    }
    for (const auto& it : r.items()) {
      const auto& x = it.explanation();
      if (it.offer().offer_id() != "we-missen-je") {
        if (it.has_offer()) EXPECT_EQ(x.value_basis(), "offer_value") << customer;
        continue;
      }
      ++shown;
      ASSERT_TRUE(r.explanation().has_future()) << customer;
      const v1::CustomerFuture& f = r.explanation().future();
      // value = CLV × (1 − P(alive)) in euros; the formula says so.
      EXPECT_EQ(x.value_basis(), "clv_at_risk");
      EXPECT_NEAR(x.value(), f.clv_at_risk().amount_minor() / 100.0, 0.006) << customer;
      EXPECT_NE(x.formula().find("(CLV at risk)"), std::string::npos) << x.formula();
      EXPECT_NEAR(it.score(), x.relevance() * x.value() * x.priority() * x.context(),
                  1e-9 * it.score());
      // "…, value € 128 per year, 64 % chance still active: We missen je: …"
      const std::string words =
          absl::StrCat(", value € ", std::llround(f.clv().amount_minor() / 100.0), " per year, ",
                       std::lround(100 * f.p_alive()), " % chance still active: We missen je");
      EXPECT_NE(it.reason().find(words), std::string::npos) << it.reason() << " / " << words;
      std::string out;
      ASSERT_EQ(
          RunCli(server_->target(),
                 "recommend --customer=" + customer + " --placement=callcenter.top3 --preview",
                 &out),
          0);
      EXPECT_NE(out.find("why: "), std::string::npos) << out;
      EXPECT_NE(out.find("chance still active"), std::string::npos) << out;
    }
  }
  EXPECT_GE(shown, 1) << "no customer of 700 got the retention offer in the call centre";
  std::printf(
      "call centre: retention offer shown by CLV at risk to %d customers checked; "
      "left out for nothing at risk %d times\n",
      shown, nothing_at_risk);
}

}  // namespace
}  // namespace nextbest
