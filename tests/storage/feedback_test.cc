// The writer's feedback work against a real RocksDB: served decisions from
// the log become exposures once, feedback naming a decision counts once,
// purchases are attributed last touch within the window, the totals equal
// the stored entries after a restart, and pruned decisions attribute
// nothing.

#include <gtest/gtest.h>

#include "core/live_state.h"
#include "tests/storage/ingestor_fixture.h"

namespace nextbest::storage::testing {
namespace {

constexpr core::TimeMs kHour = 3'600'000;

class FeedbackTest : public IngestorTest {
 protected:
  // A decision served to `customer` at `t` showing p1 and p2 under arm (ab, `variant`).
  core::DecisionId Serve(const std::string& customer, core::TimeMs t, const std::string& variant) {
    core::ServedDecision d;
    d.id = ids_.Next(t);
    d.time = t;
    d.customer_id = customer;
    d.placement = "home";
    d.arms.emplace_back("ab", variant);
    d.products = {*Product("p1"), *Product("p2")};
    live_->decision_log.Append(d);
    return d.id;
  }
  std::optional<core::ProductIndex> Product(const std::string& id) {
    core::ReadGuard guard(live_->epochs);
    return live_->catalog.Get()->FindProduct(id);
  }
  RawEvent Click(const std::string& customer, const std::string& id, const core::DecisionId& d,
                 core::TimeMs t) {
    RawEvent e = View(customer, id, "p1", t);
    e.type = core::EventType::kProductClick;
    e.decision_id = d.Hex();
    e.position = 1;
    return e;
  }
  WriteResult Record(std::vector<RawEvent> events) {
    RecordEvents c;
    c.events = std::move(events);
    auto r = ingestor_->SubmitAndWait(c);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : WriteResult{};
  }
  core::VariantTotals Totals(const std::string& variant) {
    auto all = live_->experiment_totals.Variants();
    auto it = all.find({"ab", variant});
    return it == all.end() ? core::VariantTotals{} : it->second;
  }
  core::DecisionIds ids_{7, 1};
};

TEST_F(FeedbackTest, ExposureOnceFeedbackOnceLastTouchWithinTheWindowAndTotalsSurviveARestart) {
  LoadCatalog();
  const core::DecisionId a = Serve("c1", kT0, "personal");
  Serve("c1", kT0 + kHour, "personal");  // a second decision: still one exposed customer
  const core::DecisionId b = Serve("c2", kT0, "control");
  Record({Click("c1", "k1", a, kT0 + 60'000), Click("c2", "k2", b, kT0 + 60'000)});
  Record({Click("c1", "k1", a, kT0 + 60'000)});  // the same event again
  // c1 buys p2 (shown) after 2 h: attributed; p3 (never shown): not; c2
  // buys p1 after 30 h: an order of an exposed customer, past the window.
  RawEvent buy = Purchase("c1", "o1", "p2", kT0 + 2 * kHour, 400);
  buy.lines.push_back({"p3", 1, 100});
  Record({buy, Purchase("c2", "o2", "p1", kT0 + 30 * kHour, 300)});
  // A click naming a decision nobody stored.
  Record({Click("c3", "k3", core::DecisionId{12345, 678}, kT0)});

  auto check = [&] {
    const core::VariantTotals p = Totals("personal"), c = Totals("control");
    EXPECT_EQ(p.exposed, 1);
    EXPECT_EQ(p.decisions, 2);
    EXPECT_EQ(p.clicks, 1);
    EXPECT_EQ(p.orders, 1);
    EXPECT_EQ(p.revenue, 500);
    EXPECT_EQ(p.converters, 1);
    EXPECT_EQ(p.attributed_lines, 1);
    EXPECT_EQ(p.attributed_revenue, 400);
    EXPECT_EQ(c.exposed, 1);
    EXPECT_EQ(c.clicks, 1);
    EXPECT_EQ(c.orders, 1);
    EXPECT_EQ(c.attributed_lines, 0);
    const core::UnattributedCounts u = live_->experiment_totals.Unattributed();
    EXPECT_EQ(u.unknown_decision_events, 1);
    EXPECT_EQ(u.unattributed_lines, 2);  // p3, and c2's late p1
  };
  check();
  Reopen();  // the totals are rebuilt from the stored entries
  check();

  // Pruned: decisions before kT0 + 2 h are gone; a click naming one is unknown.
  auto pruned = ingestor_->SubmitAndWait(PruneDecisions{kT0 + 2 * kHour});
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(pruned->accepted, 3);
  Record({Click("c1", "k9", a, kT0 + 3 * kHour)});
  EXPECT_EQ(live_->experiment_totals.Unattributed().unknown_decision_events, 2);
  EXPECT_EQ(Totals("personal").clicks, 1);
}

TEST_F(FeedbackTest, ErasureTakesTheCustomerOutOfTheTotals) {
  LoadCatalog();
  Serve("c1", kT0, "personal");
  Serve("c2", kT0, "personal");
  Record({View("c1", "v1", "p1", kT0 + 1), View("c2", "v2", "p1", kT0 + 1)});
  EXPECT_EQ(Totals("personal").exposed, 2);
  EraseCustomer erase;
  erase.customer_id = "c1";
  ASSERT_TRUE(ingestor_->SubmitAndWait(erase).ok());
  EXPECT_EQ(Totals("personal").exposed, 1);
  Reopen();
  EXPECT_EQ(Totals("personal").exposed, 1);
}

}  // namespace
}  // namespace nextbest::storage::testing
