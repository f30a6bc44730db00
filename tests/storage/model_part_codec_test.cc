// A model part travels in id space (storage/model_part_codec.h): read onto
// a catalog whose indices differ, every count lands on the same product,
// category and store; what the reader's catalog lacks is counted, not
// misplaced; a damaged record is refused.

#include "storage/model_part_codec.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace nextbest::storage {
namespace {

constexpr core::TimeMs kNow = 1'700'000'000'000;

// Products p1..pN (categories A, B alternately), stores s1, s2; `reversed`
// interns them in the opposite order; `skip` leaves one product out.
std::unique_ptr<const core::Catalog> Catalog(bool reversed, int skip = 0) {
  auto empty = core::Catalog::Empty({"NL", "BE"}, "EUR");
  core::CatalogBuilder b(**empty);
  for (int k = 0; k < 2; ++k) {
    const int s = reversed ? 2 - k : k + 1;
    b.UpsertStore({absl::StrCat("s", s), static_cast<core::CountryIndex>(s % 2), "", ""});
  }
  for (int k = 0; k < 6; ++k) {
    const int i = reversed ? 6 - k : k + 1;
    if (i == skip) continue;
    core::Product p;
    p.id = absl::StrCat("p", i);
    p.name = p.id;
    p.category_path = {i % 2 ? "A" : "B"};
    p.active = true;
    b.UpsertProduct(std::move(p));
  }
  return b.Build();
}

core::ProductIndex P(const core::Catalog& c, int i) { return *c.FindProduct(absl::StrCat("p", i)); }

TEST(ModelPartCodecTest, CountsLandOnTheSameIdsInAnotherCatalog) {
  auto writer = Catalog(false), reader = Catalog(true);
  core::ModelPart part;
  part.built_at = kNow;
  part.customers = 10;
  part.interested = 4;
  part.interest.assign(writer->category_count(), 0);
  part.interest[*writer->FindCategory("B")] = 3 << 20;
  part.frequency = core::ValueCounts::Of({1, 1, 2, 5});
  part.co_purchase.holders.assign(6, 0);
  part.co_purchase.holders[P(*writer, 2)] = 7;
  // Two histories: p1 p2 p3 and p1 p2.
  part.co_purchase.items = {{P(*writer, 1), 10},
                            {P(*writer, 2), 20},
                            {P(*writer, 3), 30},
                            {P(*writer, 1), 40},
                            {P(*writer, 2), 50}};
  part.co_purchase.starts = {0, 3, 5};
  part.repurchase.categories.assign(writer->category_count(), {});
  part.repurchase.categories[*writer->FindCategory("A")].pairs = 9;
  part.repurchase.shop.repeats = 2;
  part.counted_with.population = 4;
  part.counted_with.frequency = {1, 1, 2, 5};
  part.rfm_sizes[3] = 2;
  part.rule_segment_sizes = {{"vip", 3}};
  part.customer_value[1].purchases = {{0, 0, 12, 5}, {3, 40, 90, 2}};
  part.customer_value[1].values = {{4, 12000, 2}};
  part.customer_value[core::kNoCountry].purchases = {{1, 2, 3, 1}};
  part.churn_risk_sizes = {0, 4, 2, 1};
  core::SendTimeHistogram evening;
  core::AddActivity(evening, 2, 20, 3, 0, kNow, 28);
  core::AddActivity(evening, 3, 21, 1, kNow, kNow, 28);
  part.send_time.Add(evening);
  part.popularity.assign(6, {});
  part.popularity[P(*writer, 4)].ref = kNow;
  part.popularity[P(*writer, 4)].overall = 2.5;
  part.popularity[P(*writer, 4)].by_market[*writer->FindMarket("BE")] = 1.5;
  part.store_popularity.assign(2, {});
  part.store_popularity[*writer->FindStore("s2")][P(*writer, 5)] = {kNow, 4};

  const v1::ModelPartRecord record = ModelPartToRecord(part, *writer);
  v1::ModelPartRecord wire;
  ASSERT_TRUE(wire.ParseFromString(record.SerializeAsString()));
  auto decoded = ModelPartFromRecord(wire, *reader);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const core::ModelPart& got = decoded->part;
  EXPECT_EQ(decoded->unknown, 0);
  EXPECT_EQ(got.built_at, kNow);
  EXPECT_EQ(got.customers, 10);
  EXPECT_EQ(got.interest[*reader->FindCategory("B")], 3 << 20);
  EXPECT_EQ(got.frequency, part.frequency);
  EXPECT_EQ(got.co_purchase.holders[P(*reader, 2)], 7);
  ASSERT_EQ(got.co_purchase.histories(), 2u);
  ASSERT_EQ(got.co_purchase.items.size(), 5u);
  EXPECT_EQ(got.co_purchase.items[2].product, P(*reader, 3));
  EXPECT_EQ(got.co_purchase.items[2].time_s, 30u);
  EXPECT_EQ(got.co_purchase.items[4].product, P(*reader, 2));
  EXPECT_EQ(got.repurchase.categories[*reader->FindCategory("A")].pairs, 9);
  EXPECT_EQ(got.repurchase.shop.repeats, 2);
  EXPECT_EQ(got.counted_with.frequency, part.counted_with.frequency);
  EXPECT_EQ(got.rfm_sizes, part.rfm_sizes);
  EXPECT_EQ(got.rule_segment_sizes, part.rule_segment_sizes);
  EXPECT_EQ(got.churn_risk_sizes, part.churn_risk_sizes);
  // The send-time fit data, exactly.
  EXPECT_EQ(got.send_time.customers, 1);
  EXPECT_EQ(got.send_time.hour_shares, part.send_time.hour_shares);
  EXPECT_EQ(got.send_time.day_shares, part.send_time.day_shares);
  EXPECT_EQ(got.send_time.hour_share_squares, part.send_time.hour_share_squares);
  EXPECT_EQ(got.send_time.hour_inverse_n, part.send_time.hour_inverse_n);
  EXPECT_EQ(got.send_time.hour_customers, part.send_time.hour_customers);
  // Fit data per market, by the market's code (BE is 1 in both catalogs).
  ASSERT_EQ(got.customer_value.size(), 2u);
  const auto& be = got.customer_value.at(*reader->FindMarket("BE"));
  ASSERT_EQ(be.purchases.size(), 2u);
  EXPECT_EQ(be.purchases[1].x, 3);
  EXPECT_EQ(be.purchases[1].t_x, 40);
  EXPECT_EQ(be.purchases[1].T, 90);
  EXPECT_EQ(be.purchases[1].count, 2);
  ASSERT_EQ(be.values.size(), 1u);
  EXPECT_EQ(be.values[0].spend_minor, 12000);
  EXPECT_EQ(got.customer_value.at(core::kNoCountry).purchases[0].T, 3);
  EXPECT_EQ(got.popularity[P(*reader, 4)].overall, 2.5);
  EXPECT_EQ(got.popularity[P(*reader, 4)].by_market[*reader->FindMarket("BE")], 1.5);
  EXPECT_EQ(got.store_popularity[*reader->FindStore("s2")].at(P(*reader, 5)).score, 4);

  // A reader that lacks p2: what names it is counted as unknown.
  auto lacking = Catalog(true, /*skip=*/2);
  auto partial = ModelPartFromRecord(wire, *lacking);
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->unknown, 3);  // p2's holders and its place in both histories
  // p1 p3 stays a history; p1 alone is none.
  ASSERT_EQ(partial->part.co_purchase.histories(), 1u);
  EXPECT_EQ(partial->part.co_purchase.items[1].product, P(*lacking, 3));

  // Send-time figures that cannot be: refused.
  v1::ModelPartRecord bad_send_time = wire;
  bad_send_time.mutable_send_time()->set_hour_share_squares(-1);
  EXPECT_EQ(ModelPartFromRecord(bad_send_time, *reader).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad_send_time = wire;
  bad_send_time.mutable_send_time()->add_hour_shares(0.5);
  EXPECT_EQ(ModelPartFromRecord(bad_send_time, *reader).status().code(),
            absl::StatusCode::kInvalidArgument);

  // An index outside the record's own table: refused.
  wire.mutable_co_purchase()->set_products(1, 99);
  EXPECT_EQ(ModelPartFromRecord(wire, *reader).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ModelPartCodecTest, ChunksJoinIntoThePartAndBadOnesAreRefused) {
  auto catalog = Catalog(false);
  core::ModelPart part;
  part.built_at = kNow;
  part.customers = 3;
  part.frequency = core::ValueCounts::Of({1, 2, 2, 3, 5, 8, 13});
  for (int i = 0; i < 40; ++i) part.co_view.items.push_back({P(*catalog, 1 + i % 6), 0});
  part.co_view.starts = {0, 20, 40};
  const auto chunks = EncodeModelPartChunks(part, *catalog, 2, 1, /*chunk_bytes=*/16);
  ASSERT_GT(chunks.size(), 3u);
  std::string joined;
  for (size_t i = 0; i < chunks.size(); ++i) {
    auto c = ParseModelChunk(chunks[i], /*shards=*/3);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->shard, 2);
    EXPECT_EQ(c->replica, 1);
    EXPECT_EQ(c->generation, kNow);
    EXPECT_EQ(c->index, static_cast<int32_t>(i));
    EXPECT_EQ(c->count, static_cast<int32_t>(chunks.size()));
    joined += c->data;
  }
  auto decoded = DecodeModelPart(joined, *catalog);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->part.customers, 3);
  EXPECT_EQ(decoded->part.frequency, part.frequency);
  EXPECT_EQ(decoded->part.co_view.histories(), 2u);
  // A shard the cluster does not have, or not a chunk at all.
  EXPECT_FALSE(ParseModelChunk(chunks[0], /*shards=*/2).ok());
  EXPECT_FALSE(ParseModelChunk("\xff\xff garbage", 3).ok());
  EXPECT_FALSE(DecodeModelPart(joined.substr(0, joined.size() / 2), *catalog).ok());
}

}  // namespace
}  // namespace nextbest::storage
