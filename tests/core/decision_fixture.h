#pragma once
// The decision tests' fixture: a 10-product catalog whose NL popularity
// rises from p1 to p10, helpers to run a placement, learn models and read
// reasons, and (OfferTest) a config with offers.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/caps.h"
#include "core/decision.h"
#include "core/models.h"
#include "tests/core/test_catalog.h"

namespace nextbest::core::testing {

inline constexpr TimeMs kDay = kMsPerDay;
inline constexpr TimeMs kNow = 1'700'000'000'000;

inline PlacementSpec Spec(std::vector<Source> sources, bool fill = true) {
  PlacementSpec s;
  s.id = "test";
  for (Source src : sources) s.sources.push_back({src, 1.0, 50, Seed::kBoth});
  s.default_count = 5;
  s.max_count = 20;
  s.fill_with_trending = fill;
  return s;
}

// A customer who consented to personalization.
inline CustomerState Consenting() {
  CustomerState c;
  c.attributes.present = true;
  c.attributes.consent_personalization = true;
  return c;
}

class DecisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = MakeCatalog(10);
    std::vector<ProductPopularity> pop(10);
    // Popularity p10 > p9 > ... > p1 in NL.
    for (int i = 0; i < 10; ++i) AddPopularity(pop[i], kNow, 1.0 + i, 0, 7);
    trending_ = BuildTrending(pop, *catalog_, kNow, 7, 100);
  }
  static std::vector<ProductIndex> Products(const Decision& d) {
    std::vector<ProductIndex> out;
    for (const auto& i : d.items) out.push_back(i.product);
    return out;
  }
  DecisionRequest Request(const PlacementSpec& spec, const CustomerState* customer) {
    DecisionRequest r;
    r.config = &config_;
    r.placement = &spec;
    r.customer = customer;
    r.customer_id = "c1";
    r.models = models_.get();
    r.ledger = &ledger_;
    r.now = kNow;
    return r;
  }
  Decision Run(const PlacementSpec& spec, const CustomerState* customer,
               std::vector<ProductIndex> cart = {}, ProductIndex current = kNoProduct,
               int count = 0) {
    DecisionRequest r = Request(spec, customer);
    r.cart = cart;
    r.current_product = current;
    r.count = count;
    return Decide(*catalog_, *trending_, r);
  }
  std::string Reason(const DecidedItem& item, CountryIndex country = 0) {
    std::string out;
    DescribeReason(*catalog_, config_, item, country, kNow, out);
    return out;
  }
  // Models learned from `customers` (for the neighbour sources).
  void Learn(const std::vector<CustomerState>& customers) {
    ModelBuilder b(ModelOptions(), *catalog_, config_, kNow);
    for (const auto& c : customers) b.Add(c.features);
    b.Thresholds();
    for (const auto& c : customers) b.Count(c, true);
    models_ = b.Finish();
  }

  std::unique_ptr<const Catalog> catalog_;
  std::unique_ptr<const TrendingSnapshot> trending_;
  std::unique_ptr<const Models> models_;
  DecisionConfig config_;
  OfferLedger ledger_;
};

class OfferTest : public DecisionTest {
 protected:
  void SetUp() override {
    DecisionTest::SetUp();
    PlacementSpec spec = Spec({Source::kOffer}, /*fill=*/false);
    spec.id = "offers";
    spec.default_count = 3;
    DecisionConfig c;
    c.placements.push_back(spec);
    OfferSpec a;
    a.id = "a";
    a.title = "Offer A";
    a.priority = 3;
    a.placements = {"offers"};
    OfferSpec b = a;
    b.id = "b";
    b.title = "Offer B";
    b.priority = 2;
    b.eligibility.loyalty_member = 1;
    OfferSpec window = a;
    window.id = "later";
    window.start = kNow + kDay;
    OfferSpec push = a;
    push.id = "push";
    push.type = OfferType::kProductPush;
    push.product_id = "p3";
    push.priority = 1;
    c.offers = {a, b, window, push};
    ledger_.Attach(c);
    built_ = *DecisionConfig::Build(std::move(c));
    config_ = *built_;  // copy the indexed config into the fixture's
  }
  std::vector<std::string> Offers(const Decision& d) {
    std::vector<std::string> out;
    for (const auto& it : d.items) out.push_back(it.offer >= 0 ? config_.offers[it.offer].id : "?");
    return out;
  }
  std::unique_ptr<const DecisionConfig> built_;
};

}  // namespace nextbest::core::testing
