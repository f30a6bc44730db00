#pragma once
// A small retailer for the fuzz targets: products p0..p29 in three
// categories (some inactive, some out of stock, Sub0 in sizes), two brands,
// two stores, the given markets (NL and BE unless told), trending built
// (store s1 with its own list), customers c0..c3 with views and purchases
// (sizes bought, c1 with declared sizes, c3 without personalization
// consent), and a decision config published as the server publishes one
// (offers attached to the ledger, then built).

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/features.h"
#include "core/live_state.h"
#include "core/trending.h"
#include "tests/fuzz/fuzz_check.h"

namespace nextbest::fuzz {

inline constexpr core::TimeMs kNow = 1'760'000'000'000;  // 2025-10-09

inline void BuildWorld(core::LiveState& live,
                       const std::vector<std::string>& markets = {"NL", "BE"}) {
  auto empty = core::Catalog::Empty(markets, "EUR");
  FUZZ_CHECK(empty.ok());
  const auto second = static_cast<core::CountryIndex>(markets.size() > 1 ? 1 : 0);
  core::CatalogBuilder b(**empty);
  b.UpsertStore({"s1", 0, "Utrecht", "Utrecht"});
  b.UpsertStore({"s2", second, "Gent", "Gent"});
  std::vector<core::ProductPopularity> popularity(30);
  core::StorePopularity stores(2);
  for (int i = 0; i < 30; ++i) {
    core::Product p;
    p.id = absl::StrCat("p", i);
    p.name = p.id;
    p.category_path = {"Cat", absl::StrCat("Sub", i % 3)};
    p.brand = i % 2 ? "HEMA" : "Other";
    if (i % 3 == 0) p.sizes = i % 2 ? std::vector<std::string>{"S", "M"} : std::vector<std::string>{"L"};
    p.price_minor = 100 + 50 * i;
    p.active = i % 7 != 6;
    const core::ProductIndex idx = b.UpsertProduct(std::move(p));
    b.SetOnlineStock(idx, 0, i % 5 != 4);
    b.SetOnlineStock(idx, second, true);
    b.SetStoreStock(idx, 0, i % 3 != 0);
    core::AddPopularity(popularity[idx], kNow - i * 3'600'000, 1 + i,
                        static_cast<core::CountryIndex>(i % 2 ? second : 0), 7);
    if (i % 4 == 0) core::AddStoreScore(stores[0][idx], kNow, 30 - i, 7);
  }
  live.catalog.Publish(b.Build(), live.epochs);
  const core::Catalog& catalog = *live.catalog.Get();
  live.trending.Publish(core::BuildTrending(popularity, catalog, kNow, 7, 50, &stores), live.epochs);

  const core::FeatureOptions features;
  for (int c = 0; c < 4; ++c) {
    auto state = std::make_unique<core::CustomerState>();
    state->attributes.present = true;
    state->attributes.country = static_cast<core::CountryIndex>(c % 2 ? second : 0);
    state->attributes.birth_year = 1960 + 10 * c;
    state->attributes.loyalty_member = c % 2 == 1;
    state->attributes.consent_personalization = c != 3;
    state->attributes.consent_marketing_email = c % 2 == 0;
    state->attributes.home_store = c % 2 ? 0 : core::kNoStore;
    if (c == 1) state->attributes.sizes.push_back({"Cat", {"M"}});
    for (int i = 0; i < 12; ++i) {
      core::Event e;
      e.time = kNow - (20 - i) * core::kMsPerDay;
      e.channel = core::Channel::kWeb;
      if (i % 4 == 3) {
        e.type = core::EventType::kPurchase;
        e.lines.push_back({static_cast<core::ProductIndex>((c * 7 + i) % 30), 1, 250, c % 2 ? "L" : "S"});
      } else {
        e.type = core::EventType::kView;
        e.product = static_cast<core::ProductIndex>((c * 5 + i) % 30);
      }
      core::ApplyEvent(features, catalog, e, state->features);
    }
    live.customers.Publish(absl::StrCat("c", c), std::move(state));
  }
}

// As App::PublishConfig does it; the status of DecisionConfig::Build.
inline absl::Status PublishConfig(core::LiveState& live, core::DecisionConfig config) {
  live.offers.Attach(config);
  auto built = core::DecisionConfig::Build(std::move(config));
  if (!built.ok()) return built.status();
  live.config.Publish(std::move(*built), live.epochs);
  return absl::OkStatus();
}

}  // namespace nextbest::fuzz
