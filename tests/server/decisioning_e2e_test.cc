// End to end for the decisioning engine: the real server with the shipped
// config (or a test's own), the demo retailer loaded through the real CLI,
// every placement asked through a real gRPC channel; config reloads (admin
// call and SIGHUP, also under load), offer caps, explanations, segments.

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nextbest/v1/admin.grpc.pb.h"
#include "nextbest/v1/customers.grpc.pb.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "tests/server/e2e_fixture.h"

namespace nextbest {
namespace {

using testing::RunCli;
using testing::ServerProcess;
using testing::TempDir;

std::string ShippedConfig() {
  std::ifstream in(NEXTBEST_DEPLOY_CONFIG);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class DecisioningTest : public testing::ServerTest {
 protected:
  // Starts the server on `config` (written to a file it can reload).
  void Start(const std::string& config) {
    config_path_ = dir_.path() + "/nextbest.textproto";
    WriteConfig(config);
    StartServer({"--config=" + config_path_});
  }
  void WriteConfig(const std::string& text) {
    std::ofstream(config_path_) << text << testing::kConfigEnd;
  }
  void LoadDemo() {
    std::string out;
    ASSERT_EQ(
        RunCli(server_->target(), "demo-data --customers=400 --products=300 --stores=30", &out), 0)
        << out;
    ASSERT_NE(out.find("models rebuilt"), std::string::npos) << out;
  }
  static std::map<std::string, int> PerCategory(const v1::RecommendResponse& r) {
    std::map<std::string, int> n;
    for (const auto& it : r.items()) {
      if (it.category_path_size() > 0) ++n[absl::StrJoin(it.category_path(), "/")];
    }
    return n;
  }

  std::string config_path_;
};

TEST_F(DecisioningTest, EveryShippedPlacementAnswersTheDemoCustomers) {
  Start(ShippedConfig());
  LoadDemo();
  std::map<std::string, int> personalized, offers, items;
  std::set<int> sources_seen;
  for (int c = 1; c <= 40; ++c) {
    const std::string customer = absl::StrCat("c", c);
    for (const char* placement :
         {"homepage.speciaal_voor_jou", "app.speciaal_voor_jou", "homepage.door_jou_bekeken",
          "homepage.populair", "pdp.vaak_samen_gekocht", "checkout.vergeten", "newsletter.blocks",
          "callcenter.top3"}) {
      v1::RecommendResponse r;
      const std::vector<std::string> cart = {"p1", "p23"};
      grpc::Status s = Recommend(customer, placement, &r, [&](v1::RecommendRequest& q) {
        if (std::string(placement) == "pdp.vaak_samen_gekocht")
          q.mutable_context()->set_product_id("p4");
        if (std::string(placement) == "checkout.vergeten") {
          for (const auto& p : cart) q.mutable_context()->add_cart_product_ids(p);
        }
      });
      ASSERT_TRUE(s.ok()) << placement << ": " << s.error_message();
      EXPECT_EQ(r.placement(), placement);
      items[placement] += r.items_size();
      personalized[placement] += r.personalized();
      std::set<std::string> ids;
      for (const auto& it : r.items()) {
        sources_seen.insert(it.source());
        EXPECT_FALSE(it.reason().empty()) << placement << " " << it.DebugString();
        if (it.has_offer()) {
          ++offers[placement];
          EXPECT_FALSE(it.offer().title().empty());
        }
        if (!it.product_id().empty()) {
          EXPECT_TRUE(ids.insert(it.product_id()).second) << "repeated " << it.product_id();
        }
        if (std::string(placement) == "pdp.vaak_samen_gekocht") {
          EXPECT_NE(it.product_id(), "p4") << "the product on screen is never recommended";
        }
        if (std::string(placement) == "checkout.vergeten") {
          EXPECT_NE(it.product_id(), "p1");
          EXPECT_NE(it.product_id(), "p23");
        }
      }
      if (std::string(placement) == "homepage.speciaal_voor_jou") {
        for (const auto& [cat, n] : PerCategory(r)) EXPECT_LE(n, 3) << cat;
      }
      if (std::string(placement) == "homepage.populair") {
        for (const auto& [cat, n] : PerCategory(r)) EXPECT_LE(n, 4) << cat;
        EXPECT_FALSE(r.personalized());
      }
      if (std::string(placement) == "callcenter.top3") {
        EXPECT_LE(r.items_size(), 3);
      }
    }
  }
  // Demo customers have histories and (90 %) consent: personal answers.
  EXPECT_GE(personalized["homepage.speciaal_voor_jou"], 30);
  EXPECT_GE(personalized["homepage.door_jou_bekeken"], 30);
  EXPECT_EQ(items["homepage.speciaal_voor_jou"], 400);
  EXPECT_EQ(items["homepage.populair"], 400);
  EXPECT_GT(items["pdp.vaak_samen_gekocht"], 0);
  EXPECT_GT(items["checkout.vergeten"], 0);
  EXPECT_GT(offers["newsletter.blocks"], 0);
  EXPECT_GT(offers["callcenter.top3"], 0);
  for (int s : {v1::SOURCE_RECENTLY_VIEWED, v1::SOURCE_TRENDING, v1::SOURCE_REPLENISHMENT,
                v1::SOURCE_CO_PURCHASE, v1::SOURCE_AFFINITY, v1::SOURCE_OFFER}) {
    EXPECT_TRUE(sources_seen.count(s)) << v1::Source_Name(static_cast<v1::Source>(s));
  }

  // Segments: sizes add up to the population; a profile names its segment.
  v1::ListSegmentsResponse segs;
  ASSERT_TRUE(
      Call(&v1::AdminService::Stub::ListSegments, admin_.get(), v1::ListSegmentsRequest(), &segs)
          .ok());
  int64_t rfm_total = 0;
  std::set<std::string> rule;
  for (const auto& s : segs.segments()) {
    if (s.kind() == "rfm") rfm_total += s.customers();
    if (s.kind() == "rule") rule.insert(s.segment());
  }
  EXPECT_EQ(rfm_total, segs.rfm_population());
  EXPECT_EQ(segs.recency_days_cuts_size(), 4);
  EXPECT_TRUE(rule.count("jonge_ouders"));
  v1::GetProfileRequest pr;
  pr.set_customer_id("c1");
  v1::GetProfileResponse profile;
  ASSERT_TRUE(Call(&v1::CustomerService::Stub::GetProfile, customers_.get(), pr, &profile).ok());
  EXPECT_FALSE(profile.segments().rfm_segment().empty()) << profile.segments().DebugString();
  EXPECT_GE(profile.segments().recency(), 1);
  EXPECT_FALSE(profile.segments().behaviour().empty()) << profile.segments().DebugString();
  int64_t behaviour_total = 0;
  for (const auto& s : segs.segments()) {
    if (s.kind() == "behaviour") behaviour_total += s.customers();
  }
  EXPECT_EQ(behaviour_total, segs.rfm_population());  // every buyer has a group
}

TEST_F(DecisioningTest, ExplainNamesSourcesScoresAndDroppedCandidates) {
  Start(ShippedConfig());
  LoadDemo();
  v1::RecommendResponse plain;
  ASSERT_TRUE(Recommend("c1", "pdp.vaak_samen_gekocht", &plain, [](v1::RecommendRequest& q) {
                q.mutable_context()->set_product_id("p4");
              }).ok());
  ASSERT_GE(plain.items_size(), 2);
  EXPECT_FALSE(plain.has_explanation());
  EXPECT_FALSE(plain.items(0).has_explanation());
  // Put the best neighbour in the cart: explained as dropped by in_cart.
  const std::string best = plain.items(0).product_id();
  v1::RecommendResponse r;
  ASSERT_TRUE(Recommend("c1", "pdp.vaak_samen_gekocht", &r, [&](v1::RecommendRequest& q) {
                q.mutable_context()->set_product_id("p4");
                q.mutable_context()->add_cart_product_ids(best);
                q.mutable_context()->add_exclude_product_ids(plain.items(1).product_id());
                // Every candidate examined (a seed in the cart brings new
                // ones that may fill a short answer first).
                q.mutable_context()->set_count(50);
                q.set_explain(true);
              }).ok());
  ASSERT_TRUE(r.has_explanation());
  EXPECT_GT(r.explanation().candidates(), 0);
  EXPECT_GE(r.explanation().config_version(), 1);
  std::map<std::string, std::string> dropped;
  for (const auto& d : r.explanation().dropped()) dropped[d.product_id()] = d.rule();
  EXPECT_EQ(dropped[best], "in_cart");
  EXPECT_EQ(dropped[plain.items(1).product_id()], "excluded_by_caller");
  for (const auto& it : r.items()) {
    ASSERT_GT(it.explanation().sources_size(), 0) << it.DebugString();
    double sum = 0;
    for (const auto& s : it.explanation().sources()) {
      EXPECT_GT(s.raw_score(), 0);
      sum += s.contribution();
    }
    EXPECT_NEAR(sum, it.explanation().relevance(), 1e-4);
    EXPECT_NEAR(it.explanation().relevance() * it.explanation().value() *
                    it.explanation().priority() * it.explanation().context(),
                it.score(), 1e-4);
    EXPECT_NE(it.explanation().formula().find("relevance"), std::string::npos);
  }
  // The CLI prints it readably.
  std::string out;
  ASSERT_EQ(RunCli(server_->target(),
                   "recommend --customer=c1 --placement=pdp.vaak_samen_gekocht --product=p4 "
                   "--count=50 --cart=" +
                       best + " --explain",
                   &out),
            0)
      << out;
  EXPECT_NE(out.find("explanation"), std::string::npos) << out;
  EXPECT_NE(out.find("in_cart"), std::string::npos) << out;
}

// The newsletter run: every customer with e-mail consent once, caps held
// across the whole run and the next.
TEST_F(DecisioningTest, DecideForAllGivesEveryConsentingCustomerOneNewsletterUnderCaps) {
  Start(ShippedConfig());
  LoadDemo();
  auto run = [&](int64_t max_customers,
                 std::map<std::string, std::set<std::string>>* offers_by_customer) {
    v1::DecideForAllRequest req;
    req.set_placement("newsletter.blocks");
    req.set_max_customers(max_customers);
    grpc::ClientContext ctx;
    auto reader = decisions_->DecideForAll(&ctx, req);
    v1::DecideForAllResponse msg, last;
    std::set<std::string> customers;
    int64_t decided = 0;
    while (reader->Read(&msg)) {
      for (const auto& d : msg.decisions()) {
        EXPECT_TRUE(customers.insert(d.customer_id()).second) << "twice: " << d.customer_id();
        EXPECT_LE(d.items_size(), 6);
        for (const auto& it : d.items()) {
          EXPECT_FALSE(it.reason().empty());
          if (!it.offer_id().empty()) (*offers_by_customer)[d.customer_id()].insert(it.offer_id());
        }
        ++decided;
      }
      if (msg.last()) last = msg;
    }
    grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(last.last());
    EXPECT_EQ(last.customers_decided(), decided);
    // Held back by the shipped contact policy (quiet after a purchase...).
    return std::make_pair(decided, last.customers_skipped() + last.skipped_contact_cap() +
                                       last.skipped_quiet_period());
  };
  std::map<std::string, std::set<std::string>> first, second;
  const auto [decided, skipped] = run(0, &first);
  EXPECT_EQ(decided + skipped, 400);  // all demo customers: decided, or skipped with the reason
  EXPECT_GT(decided, 200);            // ~65 % gave marketing e-mail consent
  EXPECT_GT(skipped, 50);
  EXPECT_FALSE(first.empty());
  // "dubbele-punten" may be shown once a week per customer: never again now.
  run(0, &second);
  for (const auto& [customer, offers] : second) {
    if (first[customer].count("dubbele-punten"))
      EXPECT_FALSE(offers.count("dubbele-punten")) << customer;
  }
  std::map<std::string, std::set<std::string>> trial;
  const auto [few, few_skipped] = run(25, &trial);
  EXPECT_EQ(few + few_skipped, 25);

  v1::DecideForAllRequest bad;
  bad.set_placement("nope");
  grpc::ClientContext ctx;
  auto reader = decisions_->DecideForAll(&ctx, bad);
  v1::DecideForAllResponse msg;
  EXPECT_FALSE(reader->Read(&msg));
  EXPECT_EQ(reader->Finish().error_code(), grpc::NOT_FOUND);
  std::string out;
  ASSERT_EQ(RunCli(server_->target(), "newsletter --max_customers=50", &out), 0) << out;
  EXPECT_NE(out.find("newsletter.blocks for"), std::string::npos) << out;
}

constexpr const char* kCapsConfig = R"pb(
  placements {
    id: "top"
    sources { kind: OFFERS }
    default_count: 3
    fill_with_trending: false
  }
  offers {
    id: "once-a-week"
    type: PROMOTION
    title: "A"
    placements: "top"
    priority: 3
    per_customer_cap: 2
    cap_period_days: 7
  }
  offers { id: "limited" type: PROMOTION title: "B" placements: "top" priority: 2 total_cap: 25 }
  offers {
    id: "members"
    type: LOYALTY
    title: "C"
    placements: "top"
    priority: 1
    eligibility { loyalty_member: true }
  }
)pb";

TEST_F(DecisioningTest, OfferCapsAreExactUnderConcurrentRequests) {
  Start(kCapsConfig);
  std::atomic<int> weekly_same{0}, limited{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      auto stub = v1::DecisionService::NewStub(server_->Channel());
      for (int i = 0; i < 30; ++i) {
        v1::RecommendRequest req;
        const bool same = i % 2 == 0;
        req.set_customer_id(same ? "same" : absl::StrCat("c", t, "-", i));
        req.mutable_context()->set_placement("top");
        v1::RecommendResponse resp;
        grpc::ClientContext ctx;
        if (!stub->Recommend(&ctx, req, &resp).ok()) {
          ++errors;
          continue;
        }
        for (const auto& it : resp.items()) {
          if (it.offer().offer_id() == "once-a-week" && same) ++weekly_same;
          if (it.offer().offer_id() == "limited") ++limited;
          // Unknown customers: "members" needs personal data, never shown.
          EXPECT_NE(it.offer().offer_id(), "members");
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(weekly_same.load(), 2);
  EXPECT_EQ(limited.load(), 25);
  // The counts survive a restart (the ledger is saved at shutdown).
  ASSERT_EQ(server_->Stop(SIGTERM), 0) << server_->log();
  server_ = std::make_unique<ServerProcess>();
  ASSERT_TRUE(server_->Start(dir_.path() + "/data", {"--config=" + config_path_}))
      << server_->log();
  decisions_ = v1::DecisionService::NewStub(server_->Channel());
  v1::RecommendResponse r;
  ASSERT_TRUE(Recommend("same", "top", &r).ok());
  for (const auto& it : r.items()) {
    EXPECT_NE(it.offer().offer_id(), "once-a-week");
    EXPECT_NE(it.offer().offer_id(), "limited");
  }
}

TEST_F(DecisioningTest, ClicksRaiseAnOffersPropensity) {
  Start(R"pb(
    placements {
      id: "top"
      sources { kind: OFFERS }
      default_count: 1
      fill_with_trending: false
    }
    offers { id: "a" type: PROMOTION title: "A" placements: "top" priority: 1.2 }
    offers { id: "b" type: PROMOTION title: "B" placements: "top" priority: 1 }
  )pb");
  v1::RecommendResponse r;
  ASSERT_TRUE(Recommend("x", "top", &r).ok());
  ASSERT_EQ(r.items_size(), 1);
  EXPECT_EQ(r.items(0).offer().offer_id(), "a");
  // b is shown 10 times and clicked 5 times: its smoothed click rate
  // (5 + 1) / (10 + 20) = 0.2 beats a's 1/20 x 1.2.
  v1::RecordEventsRequest req;
  for (int i = 0; i < 15; ++i) {
    auto* e = req.add_events();
    e->set_event_id(absl::StrCat("o", i));
    e->set_customer_id("x");
    e->set_type(i < 10 ? v1::EVENT_TYPE_OFFER_IMPRESSION : v1::EVENT_TYPE_OFFER_CLICK);
    e->mutable_time()->set_seconds(absl::ToUnixSeconds(absl::Now()));
    e->set_channel(v1::CHANNEL_EMAIL);
    e->set_offer_id("b");
    e->set_placement("top");
  }
  v1::RecordEventsResponse rr;
  grpc::Status s = Call(&v1::EventService::Stub::RecordEvents, events_.get(), req, &rr);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  ASSERT_TRUE(Recommend("x", "top", &r).ok());
  EXPECT_EQ(r.items(0).offer().offer_id(), "b");
}

constexpr const char* kConfigA = R"pb(
  placements {
    id: "common"
    sources { kind: TRENDING }
  }
  placements {
    id: "only_a"
    sources { kind: TRENDING }
  }
)pb";
constexpr const char* kConfigB = R"pb(
  placements {
    id: "common"
    sources { kind: TRENDING }
  }
  placements {
    id: "only_b"
    sources { kind: TRENDING }
  }
)pb";

TEST_F(DecisioningTest, ReloadSwapsTheConfigAndABadOneKeepsTheOld) {
  Start(kConfigA);
  v1::RecommendResponse r;
  EXPECT_TRUE(Recommend("c", "only_a", &r).ok());
  EXPECT_EQ(Recommend("c", "only_b", &r).error_code(), grpc::NOT_FOUND);

  WriteConfig(kConfigB);
  v1::ReloadConfigResponse reload;
  // B drops only_a: refused unless confirmed (callers of only_a would get
  // NOT_FOUND), the old config keeps serving.
  grpc::Status s =
      Call(&v1::AdminService::Stub::ReloadConfig, admin_.get(), v1::ReloadConfigRequest(), &reload);
  EXPECT_EQ(s.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("would remove placements only_a"), std::string::npos)
      << s.error_message();
  EXPECT_TRUE(Recommend("c", "only_a", &r).ok());
  v1::ReloadConfigRequest confirmed;
  confirmed.set_allow_removing_placements(true);
  s = Call(&v1::AdminService::Stub::ReloadConfig, admin_.get(), confirmed, &reload);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reload.version(), 2);
  EXPECT_EQ(reload.placements(), 2);
  EXPECT_TRUE(Recommend("c", "only_b", &r).ok());
  EXPECT_EQ(Recommend("c", "only_a", &r).error_code(), grpc::NOT_FOUND);

  // A bad file: rejected with the field named, the old config keeps serving.
  WriteConfig(R"pb(placements {
                     id: "broken"
                     sources { kind: TRENDING weight: -2 }
                   })pb");
  s = Call(&v1::AdminService::Stub::ReloadConfig, admin_.get(), v1::ReloadConfigRequest(), &reload);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("placements[0].sources[0].weight"), std::string::npos)
      << s.error_message();
  EXPECT_TRUE(Recommend("c", "only_b", &r).ok());

  // SIGHUP reloads too, but never removes a placement: A (which drops
  // only_b) is refused and logged, A + B is taken.
  WriteConfig(kConfigA);
  server_->Signal(SIGHUP);
  for (int i = 0;
       i < 200 && server_->log().find("would remove placements only_b") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(server_->log().find("would remove placements only_b"), std::string::npos)
      << server_->log();
  EXPECT_TRUE(Recommend("c", "only_b", &r).ok());
  EXPECT_EQ(Recommend("c", "only_a", &r).error_code(), grpc::NOT_FOUND);
  WriteConfig(std::string(kConfigA) + R"pb(placements {
                                             id: "only_b"
                                             sources { kind: TRENDING }
                                           })pb");
  server_->Signal(SIGHUP);
  bool swapped = false;
  for (int i = 0; i < 200 && !swapped; ++i) {
    swapped = Recommend("c", "only_a", &r).ok();
    if (!swapped) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(swapped) << server_->log();
  std::string out;
  WriteConfig(kConfigA);
  EXPECT_EQ(RunCli(server_->target(), "reload-config", &out), 9) << out;
  EXPECT_EQ(RunCli(server_->target(), "reload-config --allow_removing_placements", &out), 0) << out;
  EXPECT_NE(out.find("config version 4"), std::string::npos) << out;
  EXPECT_EQ(Recommend("c", "only_b", &r).error_code(), grpc::NOT_FOUND);

  // A file cut short — here inside a comment, which still parses, with
  // placements missing — lacks the end marker and is refused.
  std::ofstream(config_path_) << kConfigA << "# a comment cut sh";
  s = Call(&v1::AdminService::Stub::ReloadConfig, admin_.get(), confirmed, &reload);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("must end with the line '# end of nextbest config'"),
            std::string::npos)
      << s.error_message();
  EXPECT_TRUE(Recommend("c", "only_a", &r).ok());
}

TEST_F(DecisioningTest, ReloadUnderLoadLosesNoRequest) {
  Start(kConfigA);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&] {
      auto stub = v1::DecisionService::NewStub(server_->Channel());
      while (!stop) {
        v1::RecommendRequest req;
        req.set_customer_id("c");
        req.mutable_context()->set_placement("common");
        v1::RecommendResponse resp;
        grpc::ClientContext ctx;
        (stub->Recommend(&ctx, req, &resp).ok() ? ok : failed)++;
      }
    });
  }
  v1::ReloadConfigRequest confirmed;
  confirmed.set_allow_removing_placements(true);
  for (int i = 0; i < 30; ++i) {
    WriteConfig(i % 2 == 0 ? kConfigB : kConfigA);
    v1::ReloadConfigResponse reload;
    ASSERT_TRUE(Call(&v1::AdminService::Stub::ReloadConfig, admin_.get(), confirmed, &reload).ok());
  }
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 0);
}

}  // namespace
}  // namespace nextbest
