#pragma once
// A deterministic retailer in memory for benchmarks: products in 200
// categories (2 % inactive, 3 % new arrivals; a quarter from 40 partner
// brands; the first 40 categories clothing in runs of three sizes), stores
// in six markets with random stock and their own popularity, trending
// lists, customers with a home store and 60 events each (browsing sessions
// and purchases, clothing in their size), the shipped config (every
// placement, offers, segments) and the models learned from the customers.

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/decision.h"
#include "core/features.h"
#include "core/live_state.h"
#include "core/models.h"
#include "core/trending.h"
#include "server/config.h"

namespace nextbest::bench {

inline constexpr core::TimeMs kNow = 1'790'000'000'000;

struct World {
  core::LiveState live;
  int customers;

  World(int products, int stores, int customer_count) : customers(customer_count) {
    using namespace core;  // NOLINT
    std::mt19937_64 rng(1);
    auto empty = Catalog::Empty({"NL", "BE", "LU", "FR", "DE", "AT"}, "EUR");
    CatalogBuilder b(**empty);
    for (int s = 0; s < stores; ++s)
      b.UpsertStore({absl::StrCat("s", s), static_cast<CountryIndex>(s % 6), "", ""});
    for (int i = 0; i < products; ++i) {
      Product p;
      p.id = absl::StrCat("p", i + 1);
      p.name = absl::StrCat("Product ", i + 1);
      p.brand = i % 4 == 0 ? absl::StrCat("Brand", i % 40) : "HEMA";
      if (i % 200 < 40) p.sizes = Sizes(i % 3);
      p.category_path = {"C", absl::StrCat("S", i % 200)};
      p.price_minor = 100 + static_cast<int64_t>(rng() % 5000);
      p.active = rng() % 50 != 0;
      if (rng() % 33 == 0) p.available_from = kNow - static_cast<TimeMs>(rng() % (20 * kMsPerDay));
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
    // In-store sales: a few hundred products per store (own generator, so
    // the rest of the world stays as it was).
    std::mt19937_64 store_rng(2);
    StorePopularity by_store(stores);
    for (int i = 0; i < 300 * stores; ++i) {
      AddStoreScore(by_store[store_rng() % stores][store_rng() % products],
                    kNow - static_cast<TimeMs>(store_rng() % (30 * kMsPerDay)), 1 + store_rng() % 5,
                    7);
    }
    live.trending.Publish(BuildTrending(pop, *live.catalog.Get(), kNow, 7, 500, &by_store),
                          live.epochs);

    // The shipped config, as the server loads it by default.
    auto config = server::ParseConfig("");
    if (!config.ok()) std::abort();
    live.offers.Attach(config->decisions);
    live.config.Publish(*DecisionConfig::Build(config->decisions), live.epochs);

    FeatureOptions fo;
    for (int c = 0; c < customer_count; ++c) {
      auto s = std::make_unique<CustomerState>();
      s->attributes.present = true;
      s->attributes.country = c % 6;
      s->attributes.consent_personalization = true;
      s->attributes.loyalty_member = c % 3 == 0;
      s->attributes.home_store = static_cast<StoreIndex>(c % stores);
      const std::string my_size = Sizes(0)[c % 5 < 3 ? c % 5 : 1];  // XS, S or M
      auto line = [&](ProductIndex p) {
        OrderLine l{p, 1, 199};
        if (!live.catalog.Get()->product(p).sizes.empty()) l.size = my_size;
        return l;
      };
      // A taste: most views and purchases in 5 of the 200 categories.
      const int taste = static_cast<int>(rng() % 200);
      auto product = [&] {
        const int category = rng() % 4 != 0 ? (taste + static_cast<int>(rng() % 5)) % 200
                                            : static_cast<int>(rng() % 200);
        return static_cast<ProductIndex>((category + 200 * (rng() % (products / 200))) % products);
      };
      TimeMs t = kNow - static_cast<TimeMs>(rng() % (365 * kMsPerDay));
      for (int v = 0; v < 60; ++v) {
        Event e;
        e.type = v % 4 == 0 ? EventType::kPurchase : EventType::kView;
        // Sessions of a few events a minute apart, days apart.
        t += v % 6 == 0 ? static_cast<TimeMs>(rng() % (10 * kMsPerDay)) : 60'000;
        e.time = std::min(t, kNow);
        if (e.type == EventType::kView) {
          e.product = product();
        } else {
          e.lines = {line(product()), line(static_cast<ProductIndex>(rng() % 40))};
        }
        ApplyEvent(fo, *live.catalog.Get(), e, s->features);
      }
      ShrinkToFit(s->features);
      live.customers.Publish(absl::StrCat("c", c + 1), std::move(s));
    }
    live.models.Publish(
        BuildModels(config->models, live.customers, *live.catalog.Get(), *live.config.Get(), kNow),
        live.epochs);
  }

  // Three consecutive sizes of XS..XL starting at `first` (0..2).
  static std::vector<std::string> Sizes(int first) {
    static const char* kAll[] = {"XS", "S", "M", "L", "XL"};
    return {kAll[first], kAll[first + 1], kAll[first + 2]};
  }

  const std::vector<core::PlacementSpec>& placements() const {
    return live.config.Get()->placements;
  }
  const core::PlacementSpec& placement(size_t i) const { return placements().at(i); }

  // One decision as Recommend makes it: guard, snapshot loads, customer
  // lookup by id, Decide with the product on screen and a 3-item cart.
  core::Decision Decide(const core::PlacementSpec& spec, const std::string& customer_id,
                        core::StoreIndex store = core::kNoStore) {
    static const core::ProductIndex cart[] = {5, 17, 300};
    core::ReadGuard guard(live.epochs);
    core::DecisionRequest r;
    r.config = live.config.Get();
    r.placement = &spec;
    r.customer = live.customers.Find(customer_id);
    r.customer_id = customer_id;
    r.models = live.models.Get();
    r.ledger = &live.offers;
    r.current_product = 1234;
    r.cart = cart;
    r.store = store;
    r.channel = core::Channel::kWeb;
    r.now = kNow;
    return core::Decide(*live.catalog.Get(), *live.trending.Get(), r);
  }
};

}  // namespace nextbest::bench
