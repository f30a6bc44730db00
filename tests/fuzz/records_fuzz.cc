// Fuzz target: decoding of stored records (storage/records.proto through
// storage/codec.h), as recovery, GetProfile and export read them.
//
// Input: one selector byte, then the bytes of a stored value. Bytes that do
// not parse are DATA_LOSS (recovery stops with that). Bytes that parse, but
// hold values no writer would produce (negative counts, times at the ends
// of int64, unknown products and categories, stock bits for stores that do
// not exist), must still decode into state that every reader handles: the
// profile renders, RFM and affinities compute, a feature update applies,
// the catalog builds, trending builds, and re-encoding is stable.

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/features.h"
#include "core/trending.h"
#include "server/config.h"
#include "server/convert.h"
#include "storage/codec.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace core = nextbest::core;
namespace codec = nextbest::storage::codec;
namespace rec = nextbest::storage::v1;

constexpr core::TimeMs kNow = 1'760'000'000'000;

struct Base {
  std::unique_ptr<const core::Catalog> catalog;
  core::DecisionConfig config;
  core::FeatureOptions features;

  Base() {
    auto empty = core::Catalog::Empty({"NL", "BE"}, "EUR");
    core::CatalogBuilder b(**empty);
    b.UpsertStore({"s1", 0, "", ""});
    b.UpsertStore({"s2", 1, "", ""});
    for (int i = 0; i < 10; ++i) {
      core::Product p;
      p.id = absl::StrCat("p", i);
      p.category_path = {"Cat", absl::StrCat("Sub", i % 3)};
      p.price_minor = 100 * (i + 1);
      p.brand = i % 2 ? "Alpha" : "Beta";
      if (i % 3 == 1) p.sizes = {"S", "M", "L"};
      p.active = true;
      b.UpsertProduct(std::move(p));
    }
    catalog = b.Build();
    auto parsed = nextbest::server::ParseConfig("markets: 'NL' markets: 'BE'");
    FUZZ_CHECK(parsed.ok());
    config = std::move(parsed->decisions);
  }
};

const Base& TheBase() {
  static const Base* base = new Base();
  return *base;
}

template <typename Record>
bool Decode(const uint8_t* data, size_t size, Record& r) {
  auto parsed =
      codec::Parse<Record>(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kDataLoss);
    return false;
  }
  r = std::move(*parsed);
  return true;
}

// Everything the readers do with one customer's state.
void UseState(const core::CustomerState& state, const core::Catalog& catalog) {
  const Base& base = TheBase();
  nextbest::v1::GetProfileResponse profile;
  nextbest::server::FillProfile("c1", state, catalog, base.features, base.config, nullptr, kNow,
                                profile);
  (void)core::ComputeRfm(state.features, kNow);
  (void)core::TopAffinities(state.features, kNow, base.features.affinity_half_life_days, 5);
  (void)core::TopBrandAffinities(state.features, kNow, base.features.affinity_half_life_days, 5);
  for (core::ProductIndex p = 0; p < catalog.product_count(); ++p) {
    (void)core::FitsKnownSizes(catalog, state, p);
  }
  core::CustomerFeatures next = state.features;
  core::Event view;
  view.type = core::EventType::kView;
  view.time = kNow;
  view.channel = core::Channel::kWeb;
  view.product = 0;
  core::ApplyEvent(base.features, catalog, view, next);
  core::Event buy = view;
  buy.type = core::EventType::kPurchase;
  buy.product = core::kNoProduct;
  buy.lines.push_back({1, 2, 500, "M"});
  core::ApplyEvent(base.features, catalog, buy, next);
  core::ShrinkToFit(next);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 64 * 1024) return 0;
  const Base& base = TheBase();
  const uint8_t selector = data[0] % 7;
  ++data;
  --size;
  core::CatalogBuilder builder(*base.catalog);
  switch (selector) {
    case 0: {  // customers family: attributes
      rec::CustomerRecord r;
      if (!Decode(data, size, r)) return 0;
      core::CustomerState state;
      state.attributes = codec::AttributesFromRecord(r, *base.catalog);
      FUZZ_CHECK(state.attributes.country == core::kNoCountry ||
                 state.attributes.country < base.catalog->market_count());
      FUZZ_CHECK(state.attributes.home_store == core::kNoStore ||
                 state.attributes.home_store < base.catalog->store_count());
      UseState(state, *base.catalog);
      break;
    }
    case 1: {  // features family
      rec::FeaturesRecord r;
      if (!Decode(data, size, r)) return 0;
      core::CustomerState state;
      state.features = codec::FeaturesFromRecord(r, builder);
      auto catalog = builder.Build();
      UseState(state, *catalog);
      // Written back and read again, the record is stable.
      const std::string once =
          codec::FeaturesToRecord(state.features, *catalog).SerializeAsString();
      rec::FeaturesRecord again;
      FUZZ_CHECK(again.ParseFromString(once));
      core::CatalogBuilder second(*catalog);
      const core::CustomerFeatures f2 = codec::FeaturesFromRecord(again, second);
      auto catalog2 = second.Build();
      FUZZ_CHECK(codec::FeaturesToRecord(f2, *catalog2).SerializeAsString() == once);
      break;
    }
    case 2: {  // products family
      rec::ProductRecord r;
      if (!Decode(data, size, r)) return 0;
      const core::ProductIndex p = builder.UpsertProduct(codec::ProductFromRecord("p3", r));
      FUZZ_CHECK(p == *base.catalog->FindProduct("p3"));
      builder.UpsertProduct(codec::ProductFromRecord("new", r));
      auto catalog = builder.Build();
      std::vector<core::ProductPopularity> popularity(catalog->product_count());
      for (size_t i = 0; i < popularity.size(); ++i)
        core::AddPopularity(popularity[i], kNow, 1, 0, 7);
      (void)core::BuildTrending(popularity, *catalog, kNow, 7, 50);
      (void)codec::ProductToRecord(catalog->product(p)).SerializeAsString();
      break;
    }
    case 3: {  // stock family
      rec::StockRecord r;
      if (!Decode(data, size, r)) return 0;
      codec::ApplyStock(r, 4, builder);
      auto catalog = builder.Build();
      // Only real stores and served markets can be in stock.
      const auto bits = catalog->StoreStockBits(4);
      for (size_t w = 0; w < bits.size(); ++w) {
        for (int b = 0; b < 64; ++b) {
          if (bits[w] >> b & 1) FUZZ_CHECK(w * 64 + b < catalog->store_count());
        }
      }
      FUZZ_CHECK(catalog->OnlineStockMask(4) >> catalog->market_count() == 0);
      for (core::StoreIndex s = 0; s < catalog->store_count(); ++s) (void)catalog->InStock(4, 0, s);
      break;
    }
    case 4: {  // popularity family
      rec::PopularityRecord r;
      if (!Decode(data, size, r)) return 0;
      std::vector<core::ProductPopularity> popularity(base.catalog->product_count());
      popularity[2] = codec::PopularityFromRecord(r, *base.catalog);
      auto trending = core::BuildTrending(popularity, *base.catalog, kNow, 7, 50);
      FUZZ_CHECK(trending != nullptr);
      for (const auto& e : trending->For(core::kNoCountry))
        FUZZ_CHECK(std::isfinite(e.score) && e.score > 0);
      for (const auto& e : trending->For(0)) FUZZ_CHECK(std::isfinite(e.score) && e.score > 0);
      (void)codec::PopularityToRecord(popularity[2], *base.catalog).SerializeAsString();
      break;
    }
    case 6: {  // store popularity family
      rec::StorePopularityRecord r;
      if (!Decode(data, size, r)) return 0;
      core::StorePopularity stores(base.catalog->store_count());
      stores[1][3] = codec::StoreScoreFromRecord(r);
      const core::StoreScore& s = stores[1][3];
      FUZZ_CHECK(std::isfinite(s.score));
      (void)core::StorePopularityOverflow(stores[1], kNow, 7, 1);
      std::vector<core::ProductPopularity> popularity(base.catalog->product_count());
      auto trending = core::BuildTrending(popularity, *base.catalog, kNow, 7, 50, &stores);
      for (const auto& e : trending->ForStore(1)) FUZZ_CHECK(std::isfinite(e.score));
      (void)codec::StoreScoreToRecord(s).SerializeAsString();
      break;
    }
    case 5: {  // events family, as export renders it
      rec::EventRecord r;
      if (!Decode(data, size, r)) return 0;
      nextbest::v1::Event e;
      nextbest::server::FillEvent(codec::EventFromRecord("c1", r), "EUR", e);
      FUZZ_CHECK(e.customer_id() == "c1");
      break;
    }
  }
  return 0;
}
