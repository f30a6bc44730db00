// The hard-rule property test over random catalogs, customers, placements and offers.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/sources.h"
#include "tests/core/decision_fixture.h"

namespace nextbest::core {
namespace {

using testing::Consenting;
using testing::DecisionTest;
using testing::kDay;
using testing::kNow;
using testing::OfferTest;
using testing::Spec;

// Size fit as the README states it, independently of the implementation:
// known sizes are the declared ones of the longest prefix ("C" or "C/<k>")
// of the product's category, else those bought in it and not returned.
bool Fits(const CustomerState& c, const Product& p) {
  if (p.sizes.empty()) return true;
  const std::string path = "C/" + p.category_path[1];
  const SizePreference* declared = nullptr;
  for (const SizePreference& d : c.attributes.sizes) {
    if ((d.category_prefix == "C" || d.category_prefix == path) &&
        (declared == nullptr || d.category_prefix.size() > declared->category_prefix.size())) {
      declared = &d;
    }
  }
  std::vector<std::string> known;
  if (declared != nullptr) {
    known = declared->sizes;
  } else {
    for (const SizeSeen& s : c.features.sizes) {
      if (s.category == p.category && s.net > 0) known.push_back(s.size);
    }
  }
  if (known.empty()) return true;
  for (const std::string& s : p.sizes) {
    if (std::count(known.begin(), known.end(), s) > 0) return true;
  }
  return false;
}

// Property: whatever the catalog state, the customer and the placement, no
// answer ever holds an out-of-stock, inactive, unavailable, cart, on-screen
// or excluded product, a product outside the filters, more than the
// per-category limit, a size that does not fit the customer, an ineligible
// or capped offer, a repeat, or (personal answers) a bought durable.
TEST_F(DecisionTest, HardRulesHoldForRandomCatalogsCustomersAndPlacements) {
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937_64 rng(seed);
  const std::vector<Source> all = {
      Source::kRecentlyViewed, Source::kTrending, Source::kReplenishment,
      Source::kCoPurchase,     Source::kCoView,   Source::kAffinity,
      Source::kNewArrivals,    Source::kOffer,    Source::kBrandAffinity};
  const std::vector<std::string> size_range = {"S", "M", "L"};
  int64_t bought_shown = 0;  // bought products (consumable) in personal answers
  for (int round = 0; round < 300; ++round) {
    auto empty = Catalog::Empty({"NL", "BE"}, "EUR");
    CatalogBuilder b(**empty);
    b.UpsertStore({"s1", 0, "", ""});
    b.UpsertStore({"s2", 1, "", ""});
    const int n = 24;
    for (int i = 0; i < n; ++i) {
      Product p;
      p.id = "p" + std::to_string(i);
      p.category_path = {"C", std::to_string(i % 4)};
      p.brand = rng() % 2 ? "A" : "B";
      p.price_minor = 100 + static_cast<int64_t>(rng() % 1000);
      p.active = rng() % 5 != 0;
      p.available_from =
          rng() % 6 == 0 ? kNow + kDay : kNow - static_cast<TimeMs>(rng() % 60) * kDay;
      if (i % 4 < 2) {  // clothing: a random non-empty subset of S, M, L
        for (const std::string& size : size_range) {
          if (rng() % 2) p.sizes.push_back(size);
        }
        if (p.sizes.empty()) p.sizes.push_back(size_range[rng() % 3]);
      }
      const ProductIndex idx = b.UpsertProduct(p);
      for (CountryIndex c = 0; c < 2; ++c) b.SetOnlineStock(idx, c, rng() % 3 != 0);
      for (StoreIndex s = 0; s < 2; ++s) b.SetStoreStock(idx, s, rng() % 3 != 0);
    }
    auto catalog = b.Build();
    std::vector<ProductPopularity> pop(n);
    for (int i = 0; i < n; ++i) AddPopularity(pop[i], kNow, 1 + rng() % 100, rng() % 2, 7);
    StorePopularity stores(2);
    for (int k = 0; k < 12; ++k) {
      AddStoreScore(stores[rng() % 2][static_cast<ProductIndex>(rng() % n)], kNow, 1 + rng() % 10,
                    7);
    }
    auto trending = BuildTrending(pop, *catalog, kNow, 7, 50, &stores);

    auto random_customer = [&] {
      CustomerState c = Consenting();
      c.attributes.consent_personalization = rng() % 4 != 0;
      c.attributes.loyalty_member = rng() % 2;
      c.attributes.country = rng() % 2;
      for (int i = 0; i < 10; ++i) {
        c.features.recently_viewed.push_back(
            {static_cast<ProductIndex>(rng() % n), kNow - i * kDay});
        // Distinct products, bought once (durable unless the category is
        // consumable) or in up to 5 orders (consumable for this customer).
        const auto product = static_cast<ProductIndex>(rng() % n);
        bool known = false;
        for (const PurchaseRecord& rec : c.features.purchases) known |= rec.product == product;
        if (!known) {
          c.features.purchases.push_back(
              {product, rng() % 2 ? 1u : 2 + static_cast<uint32_t>(rng() % 4), kNow - 100 * kDay,
               kNow - static_cast<TimeMs>(rng() % 60) * kDay});
        }
        c.features.affinities.push_back({static_cast<CategoryIndex>(rng() % 4), 1.0 + rng() % 10});
      }
      std::sort(c.features.purchases.begin(), c.features.purchases.end(),
                MoreRecentPurchase{*catalog});
      c.features.brand_affinities.push_back({static_cast<BrandIndex>(rng() % 2), 1.0 + rng() % 10});
      for (int i = 0; i < 3; ++i) {
        c.features.sizes.push_back({static_cast<CategoryIndex>(rng() % 4),
                                    static_cast<int32_t>(rng() % 3) - 1, kNow,
                                    size_range[rng() % 3]});
      }
      if (rng() % 3 == 0) c.attributes.sizes.push_back({"C", {size_range[rng() % 3]}});
      if (rng() % 3 == 0) {
        c.attributes.sizes.push_back({"C/" + std::to_string(rng() % 4), {size_range[rng() % 3]}});
      }
      c.attributes.home_store = rng() % 3 == 0 ? kNoStore : static_cast<StoreIndex>(rng() % 2);
      return c;
    };
    std::vector<CustomerState> population;
    for (int i = 0; i < 20; ++i) population.push_back(random_customer());

    PlacementSpec spec;
    spec.id = "p";
    for (Source s : all) {
      if (rng() % 2)
        spec.sources.push_back({s, 0.1 + (rng() % 10) / 10.0, 1 + static_cast<int>(rng() % 30),
                                static_cast<Seed>(1 + rng() % 3)});
    }
    if (spec.sources.empty()) spec.sources.push_back({Source::kTrending});
    for (SourceSpec& src : spec.sources) {
      if (src.source == Source::kTrending) src.scope = static_cast<TrendingScope>(rng() % 4);
    }
    spec.size_fit = rng() % 4 != 0;
    spec.max_count = 20;
    spec.fill_with_trending = rng() % 2;
    spec.max_per_category = static_cast<int>(rng() % 3);
    if (rng() % 3 == 0) spec.filter.exclude_categories = {"C/1"};
    if (rng() % 3 == 0) spec.filter.include_brands = {"A"};
    if (rng() % 3 == 0) spec.filter.max_price_minor = 700;
    spec.exclude_bought_within_days = rng() % 2 ? 30 : 0;
    spec.exclude_bought_durables = rng() % 4 != 0;
    DecisionConfig dc;
    dc.placements.push_back(spec);
    for (int o = 0; o < 4; ++o) {
      OfferSpec offer;
      offer.id = "o" + std::to_string(o);
      offer.title = offer.id;
      offer.placements = {"p"};
      offer.priority = 1 + rng() % 3;
      if (rng() % 2) offer.eligibility.loyalty_member = 1;
      if (rng() % 3 == 0) offer.eligibility.countries = 1;  // NL only
      if (rng() % 3 == 0) offer.end = kNow - kDay;          // expired
      offer.per_customer_cap = 1 + static_cast<int>(rng() % 2);
      offer.cap_period_ms = 30 * kDay;
      offer.total_cap = 5 + static_cast<int64_t>(rng() % 5);
      if (rng() % 3 == 0) {
        offer.type = OfferType::kProductPush;
        offer.product_id = "p" + std::to_string(rng() % n);
      }
      dc.offers.push_back(offer);
    }
    OfferLedger ledger;
    ledger.Attach(dc);
    auto config = *DecisionConfig::Build(dc);
    ModelOptions mo;
    mo.co_purchase.shrink = 0;
    ModelBuilder mb(mo, *catalog, *config, kNow);
    for (const auto& c : population) mb.Add(c.features);
    mb.Thresholds();
    auto models = mb.Finish();

    std::map<std::pair<std::string, int>, int> shown_to;  // (customer, offer)
    std::vector<int> shown(config->offers.size());
    for (int q = 0; q < 10; ++q) {
      const int who = static_cast<int>(rng() % 5);
      const CustomerState* customer = rng() % 5 == 0 ? nullptr : &population[who];
      const std::string customer_id = "c" + std::to_string(who);
      std::vector<ProductIndex> cart = {static_cast<ProductIndex>(rng() % n)};
      std::vector<ProductIndex> exclude = {static_cast<ProductIndex>(rng() % n)};
      DecisionRequest r;
      r.config = config.get();
      r.placement = &config->placements[0];
      r.customer = customer;
      if (customer != nullptr) r.customer_id = customer_id;
      r.models = models.get();
      r.ledger = &ledger;
      r.store = rng() % 2 == 0 ? kNoStore : static_cast<StoreIndex>(rng() % 2);
      r.current_product = static_cast<ProductIndex>(rng() % n);
      r.cart = cart;
      r.exclude = exclude;
      r.count = 1 + rng() % 20;
      r.now = kNow;
      const Decision d = Decide(*catalog, *trending, r);
      const bool consented = customer != nullptr && customer->attributes.consent_personalization;
      if (!consented) {
        EXPECT_FALSE(d.personalized);
      }
      std::vector<ProductIndex> seen;
      std::map<CategoryIndex, int> per_category;
      for (const auto& item : d.items) {
        EXPECT_TRUE(std::isfinite(item.score)) << item.score;
        if (item.offer >= 0) {
          const OfferSpec& o = config->offers[item.offer];
          EXPECT_TRUE(o.end == 0 || o.end > kNow);
          if (o.eligibility.loyalty_member == 1) {
            EXPECT_TRUE(consented && customer->attributes.loyalty_member);
          }
          if (o.eligibility.countries == 1) {
            EXPECT_EQ(d.country, 0);
          }
          ++shown[item.offer];
          if (customer != nullptr) {
            const int n = ++shown_to[std::make_pair(customer_id, static_cast<int>(item.offer))];
            EXPECT_LE(n, o.per_customer_cap);
          }
          EXPECT_LE(shown[item.offer], o.total_cap);
          if (item.product == kNoProduct) continue;
        }
        if (!consented) {
          EXPECT_FALSE(IsPersonalSource(item.source));
        }
        const Product& p = catalog->product(item.product);
        EXPECT_TRUE(catalog->Recommendable(item.product, kNow));
        EXPECT_TRUE(catalog->InStock(item.product, d.country, r.store));
        EXPECT_NE(item.product, r.current_product);
        EXPECT_EQ(std::count(cart.begin(), cart.end(), item.product), 0);
        EXPECT_EQ(std::count(exclude.begin(), exclude.end(), item.product), 0);
        EXPECT_EQ(std::count(seen.begin(), seen.end(), item.product), 0);
        if (!spec.filter.exclude_categories.empty()) {
          EXPECT_NE(p.category_path[1], "1");
        }
        if (!spec.filter.include_brands.empty()) {
          EXPECT_EQ(p.brand, "A");
        }
        if (spec.filter.max_price_minor > 0) {
          EXPECT_LE(p.price_minor, spec.filter.max_price_minor);
        }
        if (spec.max_per_category > 0) {
          EXPECT_LE(++per_category[p.category], spec.max_per_category);
        }
        if (spec.size_fit && consented) {
          EXPECT_TRUE(Fits(*customer, p)) << "product " << item.product;
        }
        // Never a bought durable in a personal answer.
        if (spec.exclude_bought_durables && d.personalized) {
          for (const PurchaseRecord& rec : customer->features.purchases) {
            if (rec.product != item.product) continue;
            EXPECT_TRUE(MayRebuy(&models->repurchase, *catalog, rec))
                << "bought durable " << item.product << " from " << SourceName(item.source);
            ++bought_shown;
          }
        }
        seen.push_back(item.product);
      }
      EXPECT_LE(static_cast<int>(d.items.size()), r.count);
    }
  }
  // The durable rule was exercised next to consumables that may come back.
  EXPECT_GT(bought_shown, 0);
}

}  // namespace
}  // namespace nextbest::core
