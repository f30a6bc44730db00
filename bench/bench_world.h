#pragma once
// A deterministic retailer in memory for benchmarks: products in 200
// categories (2 % inactive), stores in six markets with random stock,
// trending lists, and customers with 60 events each (views and purchases).

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/decision.h"
#include "core/features.h"
#include "core/live_state.h"
#include "core/trending.h"

namespace nextbest::bench {

inline constexpr core::TimeMs kNow = 1'790'000'000'000;

struct World {
  core::LiveState live;
  std::vector<core::PlacementSpec> placements = {
      {"homepage.door_jou_bekeken", core::PlacementSpec::Kind::kRecentlyViewed, 10, 50},
      {"homepage.populair", core::PlacementSpec::Kind::kTrending, 10, 50},
      {"checkout.vergeten", core::PlacementSpec::Kind::kReplenishment, 5, 20}};
  int customers;

  World(int products, int stores, int customer_count) : customers(customer_count) {
    using namespace core;  // NOLINT
    std::mt19937_64 rng(1);
    auto empty = Catalog::Empty({"NL", "BE", "LU", "FR", "DE", "AT"}, "EUR");
    CatalogBuilder b(**empty);
    for (int s = 0; s < stores; ++s) b.UpsertStore({absl::StrCat("s", s), static_cast<CountryIndex>(s % 6), "", ""});
    for (int i = 0; i < products; ++i) {
      Product p;
      p.id = absl::StrCat("p", i + 1);
      p.name = absl::StrCat("Product ", i + 1);
      p.category_path = {"C", absl::StrCat("S", i % 200)};
      p.active = rng() % 50 != 0;
      const ProductIndex idx = b.UpsertProduct(std::move(p));
      for (CountryIndex c = 0; c < 6; ++c) b.SetOnlineStock(idx, c, rng() % 10 != 0);
      for (int s = 0; s < stores; ++s) b.SetStoreStock(idx, s, rng() % 5 != 0);
    }
    live.catalog.Publish(b.Build(), live.epochs);
    std::vector<ProductPopularity> pop(products);
    for (int i = 0; i < 200000; ++i) {
      AddPopularity(pop[rng() % products], kNow - static_cast<TimeMs>(rng() % (30 * kMsPerDay)),
                    1 + rng() % 5, rng() % 6, 7);
    }
    live.trending.Publish(BuildTrending(pop, *live.catalog.Get(), kNow, 7, 500), live.epochs);
    FeatureOptions fo;
    for (int c = 0; c < customer_count; ++c) {
      auto s = std::make_unique<CustomerState>();
      s->attributes.present = true;
      s->attributes.country = c % 6;
      s->attributes.consent_personalization = true;
      for (int v = 0; v < 60; ++v) {
        Event e;
        e.type = v % 4 == 0 ? EventType::kPurchase : EventType::kView;
        e.time = kNow - static_cast<TimeMs>(rng() % (365 * kMsPerDay));
        const ProductIndex p = rng() % products;
        if (e.type == EventType::kView) {
          e.product = p;
        } else {
          e.lines = {{static_cast<ProductIndex>(rng() % 40), 1, 199}};
        }
        ApplyEvent(fo, *live.catalog.Get(), e, s->features);
      }
      ShrinkToFit(s->features);
      live.customers.Publish(absl::StrCat("c", c + 1), std::move(s));
    }
  }

  // One decision as Recommend makes it: guard, snapshot loads, customer
  // lookup by id, Decide with a 3-item cart.
  core::Decision Decide(const core::PlacementSpec& spec, const std::string& customer_id) {
    static const core::ProductIndex cart[] = {5, 17, 300};
    core::ReadGuard guard(live.epochs);
    core::DecisionRequest r;
    r.placement = &spec;
    r.customer = live.customers.Find(customer_id);
    r.cart = cart;
    r.now = kNow;
    return core::Decide(*live.catalog.Get(), *live.trending.Get(), r);
  }
};

}  // namespace nextbest::bench
