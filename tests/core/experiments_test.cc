// Assignment (buckets, variants, holdout), the control answer, decision
// ids, and Recommend with experiments: holdout customers never get a
// personal source or a personal offer.

#include "core/experiments.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/recommend.h"
#include "tests/core/decision_fixture.h"

namespace nextbest::core {
namespace {

using testing::Consenting;
using testing::kNow;

ExperimentSpec TwoVariants(uint32_t first_buckets, std::string salt = "ab") {
  ExperimentSpec x;
  x.id = "ab";
  x.placement = "test";
  x.salt = std::move(salt);
  VariantSpec a, b;
  a.id = "personal";
  a.ranges = {{0, first_buckets}};
  b.id = "control";
  b.control = true;
  b.ranges = {{first_buckets, kBuckets}};
  x.variants = {a, b};
  EXPECT_TRUE(x.IndexBuckets());
  return x;
}

TEST(AssignmentBucketTest, IsTheDocumentedHash) {
  // FNV-1a 64 over "salt\0id", SplitMix64's finalizer, mod 10,000: golden
  // values, so that any other implementation can check itself.
  EXPECT_EQ(AssignmentBucket("ab", "c1"), AssignmentBucket("ab", "c1"));
  EXPECT_NE(AssignmentBucket("ab", "c1"), AssignmentBucket("ba", "c1"));
  // "a" + "\0bc" must differ from "a\0" + "bc": the separator is a byte.
  EXPECT_NE(AssignmentBucket("a", "bc"), AssignmentBucket("ab", "c"));
  const uint32_t golden = AssignmentBucket("homepage_ab", "customer-42");
  EXPECT_LT(golden, kBuckets);
  // Computed independently (Python, from the formula in the header).
  EXPECT_EQ(golden, 1538u) << "the documented hash changed: every customer would move";
}

TEST(AssignmentBucketTest, SequentialIdsAreUniformWithinAChiSquareBound) {
  // 100,000 ids "c0".."c99999" into 100 groups of 100 buckets: chi-square
  // with 99 degrees of freedom; p = 0.001 at 148.2.
  std::vector<int> groups(100);
  const int n = 100'000;
  for (int i = 0; i < n; ++i) ++groups[AssignmentBucket("salt", absl::StrCat("c", i)) / 100];
  double chi2 = 0;
  const double expected = n / 100.0;
  for (int g : groups) chi2 += (g - expected) * (g - expected) / expected;
  EXPECT_LT(chi2, 148.2);
}

TEST(AssignTest, VariantsTakeTheirShareAndAnonymousCallersNone) {
  DecisionConfig c;
  c.placements.push_back(testing::Spec({Source::kRecentlyViewed}));
  c.experiments.push_back(TwoVariants(3000));
  auto built = DecisionConfig::Build(c);
  ASSERT_TRUE(built.ok()) << built.status();
  const DecisionConfig& d = **built;
  const PlacementSpec& p = d.placements[0];
  EXPECT_FALSE(Assign(d, p, "", kNow).Any());
  int personal = 0;
  const int n = 20'000;
  for (int i = 0; i < n; ++i) {
    const Assignment a = Assign(d, p, absl::StrCat("c", i), kNow);
    ASSERT_EQ(a.experiment, 0);
    if (a.variant == 0) {
      ++personal;
      EXPECT_FALSE(a.control);
    } else {
      EXPECT_TRUE(a.control);
    }
  }
  EXPECT_NEAR(personal / static_cast<double>(n), 0.30, 0.015);
}

TEST(AssignTest, ChangingTwoWeightsMovesOnlyTheCustomersBetweenTheBoundaries) {
  DecisionConfig before, after;
  for (DecisionConfig* c : {&before, &after}) {
    c->placements.push_back(testing::Spec({Source::kRecentlyViewed}));
  }
  before.experiments.push_back(TwoVariants(5000));
  after.experiments.push_back(TwoVariants(3000));
  auto b = DecisionConfig::Build(before);
  auto a = DecisionConfig::Build(after);
  ASSERT_TRUE(b.ok() && a.ok());
  int moved = 0, wrong_way = 0;
  const int n = 20'000;
  for (int i = 0; i < n; ++i) {
    const std::string id = absl::StrCat("c", i);
    const Assignment x = Assign(**b, (*b)->placements[0], id, kNow);
    const Assignment y = Assign(**a, (*a)->placements[0], id, kNow);
    if (x.variant != y.variant) ++moved;
    if (x.variant == 1 && y.variant == 0) ++wrong_way;  // control never becomes personal
  }
  EXPECT_EQ(wrong_way, 0);
  EXPECT_NEAR(moved / static_cast<double>(n), 0.20, 0.015);  // exactly buckets 3000..4999
}

TEST(AssignTest, TheHoldoutIsInNoExperimentAndRunsOnItsOwnSalt) {
  DecisionConfig c;
  c.placements.push_back(testing::Spec({Source::kRecentlyViewed}));
  c.experiments.push_back(TwoVariants(5000));
  c.holdout.buckets = 1000;  // 10 %
  auto built = DecisionConfig::Build(c);
  ASSERT_TRUE(built.ok());
  const DecisionConfig& d = **built;
  int held = 0;
  const int n = 20'000;
  for (int i = 0; i < n; ++i) {
    const std::string id = absl::StrCat("c", i);
    const Assignment a = Assign(d, d.placements[0], id, kNow);
    if (a.holdout == Assignment::Holdout::kHeldOut) {
      ++held;
      EXPECT_EQ(a.experiment, -1);
      EXPECT_TRUE(a.control);
      EXPECT_LT(AssignmentBucket(d.holdout.salt, id), 1000u);
    } else {
      EXPECT_EQ(a.holdout, Assignment::Holdout::kPersonalized);
      EXPECT_EQ(a.experiment, 0);
    }
  }
  EXPECT_NEAR(held / static_cast<double>(n), 0.10, 0.01);
}

TEST(AssignTest, OnlyWithinTheWindowAndOverlapsAreRejected) {
  DecisionConfig c;
  c.placements.push_back(testing::Spec({Source::kRecentlyViewed}));
  ExperimentSpec x = TwoVariants(5000);
  x.start = kNow;
  x.end = kNow + testing::kDay;
  c.experiments.push_back(x);
  auto built = DecisionConfig::Build(c);
  ASSERT_TRUE(built.ok());
  EXPECT_FALSE(Assign(**built, (*built)->placements[0], "c1", kNow - 1).Any());
  EXPECT_TRUE(Assign(**built, (*built)->placements[0], "c1", kNow).Any());
  EXPECT_FALSE(Assign(**built, (*built)->placements[0], "c1", kNow + testing::kDay).Any());

  ExperimentSpec y = TwoVariants(5000);
  y.id = "second";
  y.start = kNow + testing::kDay / 2;  // overlaps
  c.experiments.push_back(y);
  auto overlapping = DecisionConfig::Build(c);
  ASSERT_FALSE(overlapping.ok());
  EXPECT_NE(overlapping.status().message().find("experiments[1].start"), std::string::npos);
  c.experiments.back().start = kNow + testing::kDay;  // back to back: fine
  EXPECT_TRUE(DecisionConfig::Build(c).ok());
}

TEST(ControlTest, KeepsTrendingOffersAndRulesAndDropsPersonalSources) {
  PlacementSpec p = testing::Spec({Source::kRecentlyViewed, Source::kCoPurchase, Source::kOffer});
  p.max_per_category = 2;
  const PlacementSpec c = ControlOf(p);
  EXPECT_FALSE(c.HasSource(Source::kRecentlyViewed));
  EXPECT_FALSE(c.HasSource(Source::kCoPurchase));
  EXPECT_TRUE(c.HasSource(Source::kTrending));
  EXPECT_TRUE(c.HasSource(Source::kOffer));
  EXPECT_EQ(c.max_per_category, 2);
  EXPECT_TRUE(c.fill_with_trending);
}

TEST(DecisionIdTest, HexRoundTripsAndIdsAreUniqueAndCarryTheTime) {
  DecisionIds ids(0xbeef, 0xffff'ffff'ffff'fffe);  // the sequence wraps
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const DecisionId id = ids.Next(kNow + i);
    EXPECT_EQ(id.time(), kNow + i);
    const std::string hex = id.Hex();
    ASSERT_EQ(hex.size(), 32u);
    EXPECT_TRUE(seen.insert(hex).second);
    std::optional<DecisionId> back = DecisionId::Parse(hex);
    ASSERT_TRUE(back.has_value());
    EXPECT_TRUE(*back == id);
  }
  EXPECT_FALSE(DecisionId::Parse("xyz").has_value());
  EXPECT_FALSE(DecisionId::Parse(std::string(32, 'G')).has_value());
  EXPECT_FALSE(DecisionId::Parse(std::string(31, '0')).has_value());
}

// Recommend with the holdout: held-out customers get no personal source,
// no personal offer, the holdout's fallback reason, and their decision is
// logged with its arm; everyone else is personal as before.
class RecommendExperimentTest : public testing::DecisionTest {};

TEST_F(RecommendExperimentTest, HoldoutCustomersNeverGetPersonalSourcesOrOffers) {
  DecisionConfig c;
  PlacementSpec p = testing::Spec({Source::kRecentlyViewed, Source::kOffer});
  p.id = "home";
  c.placements.push_back(p);
  OfferSpec personal_offer;
  personal_offer.id = "loyal_only";
  personal_offer.title = "For you";
  personal_offer.eligibility.min_orders = 0;
  personal_offer.eligibility.loyalty_member = 1;  // needs personal data
  personal_offer.placements = {"home"};
  c.offers.push_back(personal_offer);
  c.holdout.buckets = 2000;
  ledger_.Attach(c);
  auto built = DecisionConfig::Build(c);
  ASSERT_TRUE(built.ok()) << built.status();
  CustomerState customer = Consenting();
  customer.attributes.loyalty_member = true;
  customer.features.recently_viewed = {{2, kNow - 1000}, {3, kNow - 2000}};
  DecisionIds ids(1, 1);
  DecisionLog log;
  Snapshot s{*catalog_, *trending_, **built, nullptr, &ledger_, nullptr, &ids, &log};
  int held = 0;
  for (int i = 0; i < 500; ++i) {
    const std::string id = absl::StrCat("c", i);
    RecommendQuery q;
    q.customer_id = id;
    q.customer = &customer;
    q.placement = "home";
    auto r = Recommend(s, q, kNow);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->id.empty());
    const bool out = r->assignment.holdout == Assignment::Holdout::kHeldOut;
    held += out;
    for (const DecidedItem& item : r->decision.items) {
      if (out) {
        EXPECT_FALSE(IsPersonalSource(item.source) && item.offer < 0) << id;
        EXPECT_LT(item.offer, 0) << "personal offer to a held-out customer " << id;
      }
    }
    EXPECT_EQ(r->decision.personalized, !out) << id;
    if (out) {
      EXPECT_EQ(r->decision.fallback, FallbackReason::kHoldout);
    }
  }
  EXPECT_GT(held, 60);
  EXPECT_LT(held, 140);
  std::vector<ServedDecision> logged;
  EXPECT_EQ(log.Drain(logged), 500u);
  int logged_held = 0;
  for (const ServedDecision& d : logged) {
    ASSERT_EQ(d.arms.size(), 1u);
    EXPECT_EQ(d.arms[0].first, kHoldoutExperiment);
    logged_held += d.arms[0].second == kHoldoutVariant;
  }
  EXPECT_EQ(logged_held, held);
}

}  // namespace
}  // namespace nextbest::core
