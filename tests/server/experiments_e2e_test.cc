// End to end for experiments: the real server with an experiment on the
// homepage and a global holdout, the demo retailer loaded through the real
// CLI; answers carry decision ids and arms, feedback events with decision
// ids flow in, the report counts each exactly (also after a restart and
// with a customer erased), and `nextbest experiments` prints it.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nextbest/v1/experiments.grpc.pb.h"
#include "tests/server/e2e_fixture.h"

namespace nextbest {
namespace {

using testing::RunCli;

constexpr char kExperiment[] = R"(
experiments {
  id: "speciaal_ab"
  placement: "homepage.speciaal_voor_jou"
  variants {
    id: "affinity_first"
    weight: 50
    placement {
      sources { kind: AFFINITY weight: 1.0 }
      sources { kind: CO_VIEW seed: HISTORY weight: 0.5 }
      sources { kind: TRENDING weight: 0.1 }
      default_count: 6
    }
  }
  variants { id: "popular" weight: 50 control: true }
}
holdout { percent: 10 }
learning { attribution_window_hours: 24 }
)";

std::string ShippedConfig() {
  std::ifstream in(NEXTBEST_DEPLOY_CONFIG);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ExperimentsTest : public testing::ServerTest {
 protected:
  void SetUp() override {
    const std::string path = dir_.path() + "/nextbest.textproto";
    std::ofstream(path) << ShippedConfig() << kExperiment << testing::kConfigEnd;
    StartServer({"--config=" + path});
    reports_ = v1::ExperimentService::NewStub(channel_);
    std::string out;
    ASSERT_EQ(
        RunCli(server_->target(), "demo-data --customers=300 --products=200 --stores=10", &out), 0)
        << out;
  }
  void RestartAndReconnect() {
    RestartServer();
    reports_ = v1::ExperimentService::NewStub(channel_);
  }
  v1::GetExperimentReportResponse Report() {
    v1::GetExperimentReportRequest req;
    v1::GetExperimentReportResponse resp;
    grpc::Status s =
        Call(&v1::ExperimentService::Stub::GetExperimentReport, reports_.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }
  static const v1::VariantReport* Variant(const v1::GetExperimentReportResponse& r,
                                          const std::string& experiment,
                                          const std::string& variant) {
    for (const auto& x : r.experiments()) {
      if (x.experiment_id() != experiment) continue;
      for (const auto& v : x.variants()) {
        if (v.variant() == variant) return &v;
      }
    }
    return nullptr;
  }
  static v1::Event Event(const std::string& id, const std::string& customer, v1::EventType type,
                         int64_t time_sec) {
    v1::Event e;
    e.set_event_id(id);
    e.set_customer_id(customer);
    e.set_type(type);
    e.mutable_time()->set_seconds(time_sec);
    e.set_channel(v1::CHANNEL_WEB);
    return e;
  }

  std::unique_ptr<v1::ExperimentService::Stub> reports_;
};

TEST_F(ExperimentsTest, DecisionsCarryArmsFeedbackIsCountedOnceAndTheReportSurvivesARestart) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  // The demo's own purchase history named no decision: unattributed.
  const int64_t unattributed_before = Report().unattributed_lines();
  EXPECT_GT(unattributed_before, 0);
  const int64_t decided = now - 3 * 86400;  // decisions three days ago
  struct Served {
    std::string customer, decision_id, product, experiment_arm, holdout_arm;
  };
  std::vector<Served> served;
  std::map<std::string, std::set<std::string>> exposed;  // arm -> customers
  for (int c = 1; c <= 120; ++c) {
    const std::string customer = absl::StrCat("c", c);
    v1::RecommendResponse r;
    ASSERT_TRUE(Recommend(customer, "homepage.speciaal_voor_jou", &r, [&](auto& req) {
                  req.mutable_context()->mutable_time()->set_seconds(decided);
                }).ok());
    ASSERT_EQ(r.decision_id().size(), 32u);
    ASSERT_FALSE(r.items().empty());
    Served s{customer, r.decision_id(), r.items(0).product_id(), "", ""};
    for (const auto& arm : r.experiments()) {
      const std::string key = arm.experiment() + "/" + arm.variant();
      exposed[key].insert(customer);
      if (arm.experiment() == "global_holdout") {
        s.holdout_arm = arm.variant();
      } else {
        s.experiment_arm = arm.variant();
      }
    }
    ASSERT_FALSE(s.holdout_arm.empty()) << "every known customer is on one side of the holdout";
    if (s.holdout_arm == "holdout") {
      EXPECT_TRUE(s.experiment_arm.empty()) << "holdout customers are in no experiment";
      EXPECT_FALSE(r.personalized());
      EXPECT_EQ(r.fallback_reason(), "global holdout: popular products instead");
    } else {
      ASSERT_FALSE(s.experiment_arm.empty());
      if (s.experiment_arm == "popular") {
        EXPECT_FALSE(r.personalized()) << customer;
        EXPECT_EQ(r.fallback_reason(), "control group of an experiment: popular products instead");
      } else {
        EXPECT_LE(r.items_size(), 6) << "the variant's own count";
      }
    }
    served.push_back(s);
  }
  // The same customer asked again: the same arms (sticky), a new id.
  v1::RecommendResponse again;
  ASSERT_TRUE(Recommend("c1", "homepage.speciaal_voor_jou", &again, [&](auto& req) {
                req.mutable_context()->mutable_time()->set_seconds(decided);
              }).ok());
  EXPECT_NE(again.decision_id(), served[0].decision_id);
  EXPECT_EQ(again.experiments_size(), (served[0].experiment_arm.empty() ? 1 : 2));

  // Feedback: an impression and a click of each first item (position 1),
  // a purchase of it one hour later (attributed, last touch), and for c1
  // a purchase two days later (counted as an order, past the window).
  std::vector<v1::Event> events;
  int n = 0;
  for (const Served& s : served) {
    for (auto type : {v1::EVENT_TYPE_PRODUCT_IMPRESSION, v1::EVENT_TYPE_PRODUCT_CLICK}) {
      v1::Event e = Event(absl::StrCat("fb", n++), s.customer, type, decided + 60);
      e.set_product_id(s.product);
      e.set_placement("homepage.speciaal_voor_jou");
      e.set_decision_id(s.decision_id);
      e.set_position(1);
      events.push_back(e);
    }
    v1::Event buy =
        Event(absl::StrCat("fb", n++), s.customer, v1::EVENT_TYPE_PURCHASE, decided + 3600);
    auto* line = buy.mutable_order()->add_lines();
    line->set_product_id(s.product);
    line->set_quantity(1);
    line->mutable_unit_price()->set_amount_minor(1000);
    line->mutable_unit_price()->set_currency("EUR");
    events.push_back(buy);
  }
  v1::Event late = events.back();
  late.set_event_id("late");
  late.set_customer_id(served[0].customer);
  late.mutable_order()->mutable_lines(0)->set_product_id(served[0].product);
  late.mutable_time()->set_seconds(decided + 2 * 86400);
  events.push_back(late);
  v1::Event unknown = Event("unknown", "c1", v1::EVENT_TYPE_PRODUCT_CLICK, decided + 60);
  unknown.set_product_id(served[0].product);
  unknown.set_placement("homepage.speciaal_voor_jou");
  unknown.set_decision_id(std::string(32, 'a'));
  unknown.set_position(2);
  events.push_back(unknown);
  for (size_t i = 0; i < events.size(); i += 100) {
    std::vector<v1::Event> chunk(events.begin() + i,
                                 events.begin() + std::min(events.size(), i + 100));
    ASSERT_TRUE(Record(chunk).ok());
    ASSERT_TRUE(Record(chunk).ok());  // re-sent: counted once
  }

  auto check = [&](const v1::GetExperimentReportResponse& r) {
    EXPECT_EQ(r.unknown_decision_events(), 1);
    EXPECT_EQ(r.unattributed_lines(), unattributed_before + 1);  // the late purchase
    for (const auto& [key, customers] : exposed) {
      const size_t slash = key.find('/');
      const v1::VariantReport* v = Variant(r, key.substr(0, slash), key.substr(slash + 1));
      ASSERT_NE(v, nullptr) << key;
      SCOPED_TRACE(key);
      const int64_t k = static_cast<int64_t>(customers.size());
      EXPECT_EQ(v->exposed_customers(), k);
      EXPECT_EQ(v->impressions(), k);
      EXPECT_EQ(v->clicks(), k);
      EXPECT_EQ(v->converting_customers(), k);
      EXPECT_EQ(v->attributed_lines(), k);
      EXPECT_EQ(v->attributed_revenue_minor(), 1000 * k);
      const bool has_c1 = customers.contains("c1");
      EXPECT_EQ(v->orders(), k + (has_c1 ? 1 : 0));
      EXPECT_EQ(v->revenue_minor(), 1000 * (k + (has_c1 ? 1 : 0)));
      EXPECT_TRUE(v->ctr().defined());
      EXPECT_DOUBLE_EQ(v->ctr().value(), 1.0);
      EXPECT_GE(v->assigned_customers(), k);
    }
    const v1::VariantReport* personal = Variant(r, "global_holdout", "personalized");
    ASSERT_NE(personal, nullptr);
    EXPECT_TRUE(personal->conversion_uplift().defined());
  };
  const v1::GetExperimentReportResponse before = Report();
  check(before);

  RestartAndReconnect();
  const v1::GetExperimentReportResponse after = Report();
  check(after);

  // The CLI prints the table.
  std::string out;
  ASSERT_EQ(RunCli(server_->target(), "experiments", &out), 0) << out;
  EXPECT_NE(out.find("experiment speciaal_ab on homepage.speciaal_voor_jou"), std::string::npos)
      << out;
  EXPECT_NE(out.find("uplift conversion"), std::string::npos) << out;
  EXPECT_NE(out.find("sample ratio"), std::string::npos) << out;
  ASSERT_EQ(RunCli(server_->target(), "experiments --id=nope", &out), 5) << out;

  // An erased customer leaves the totals.
  v1::EraseCustomerRequest erase;
  erase.set_customer_id(served[0].customer);
  v1::EraseCustomerResponse receipt;
  ASSERT_TRUE(Call(&v1::PrivacyService::Stub::EraseCustomer, privacy_.get(), erase, &receipt).ok());
  const v1::GetExperimentReportResponse erased = Report();
  const v1::VariantReport* h = Variant(erased, "global_holdout", served[0].holdout_arm);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->exposed_customers(),
            static_cast<int64_t>(exposed["global_holdout/" + served[0].holdout_arm].size()) - 1);
}

TEST_F(ExperimentsTest, TheNewsletterBatchCarriesDecisionIdsAndArms) {
  v1::DecideForAllRequest req;
  req.set_placement("newsletter.blocks");
  req.set_include_without_email_consent(true);
  grpc::ClientContext ctx;
  auto reader = decisions_->DecideForAll(&ctx, req);
  v1::DecideForAllResponse msg;
  std::set<std::string> ids;
  std::map<std::string, int64_t> shown;  // offer -> personalized customers shown it
  int held = 0, decided = 0;
  while (reader->Read(&msg)) {
    for (const auto& d : msg.decisions()) {
      ++decided;
      for (const auto& item : d.items()) {
        if (!item.offer_id().empty()) ++shown[item.offer_id()];
      }
      EXPECT_TRUE(ids.insert(d.decision_id()).second);
      ASSERT_EQ(d.experiments_size(), 1) << "only the holdout runs on the newsletter";
      if (d.experiments(0).variant() == "holdout") {
        ++held;
        EXPECT_FALSE(d.personalized());
      }
    }
    // Held back by the shipped contact policy: counted, not decided.
    if (msg.last()) decided += msg.skipped_contact_cap() + msg.skipped_quiet_period();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(decided, 300);
  EXPECT_GT(held, 10);
  EXPECT_LT(held, 55);

  // Offer uplift groups: every customer shown an offer, and held-out
  // customers whose data made an offer eligible (the writer stores the
  // logged decisions within ~50 ms).
  ASSERT_FALSE(shown.empty());
  v1::GetExperimentReportResponse r;
  int64_t held_back = 0;
  for (int attempt = 0; attempt < 40; ++attempt) {
    r = Report();
    std::map<std::string, int64_t> reported;
    held_back = 0;
    for (const auto& o : r.offers()) {
      if (!o.segment().empty()) continue;
      reported[o.offer_id()] = o.shown_customers();
      held_back += o.held_back_customers();
    }
    if (reported == shown && held_back > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (const auto& o : r.offers()) {
    if (o.segment().empty()) EXPECT_EQ(o.shown_customers(), shown[o.offer_id()]) << o.offer_id();
  }
  EXPECT_GT(held_back, 0) << "held-out customers eligible for an offer form its comparison group";
}

}  // namespace
}  // namespace nextbest
