// nextbest eval's parts: the ranking metrics against hand-computed values,
// the log readers (CSV, JSON lines, aliases, bad input naming file, line
// and column), and the whole evaluation on a small generated world:
// deterministic, no bought durable in any answer, personal beats popular.

#include <cmath>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/temp_dir.h"
#include "tools/eval/evaluator.h"
#include "tools/eval/interaction_log.h"
#include "tools/eval/metrics.h"
#include "tools/eval/worlds.h"

namespace nextbest::tools::eval {
namespace {

using Set = absl::flat_hash_set<uint32_t>;

TEST(RankingMetricsTest, HandComputedValues) {
  RankingMetrics m(3);
  const std::vector<uint32_t> category_of = {0, 0, 1, 1, 2, 2};
  // Case 1: the relevant item 4 at rank 3; item 0 was bought (a durable).
  m.Add({0, 2, 4}, Set{4}, Set{0}, Set{0}, Set{0, 5}, category_of);
  // Case 2: a miss; item 5 was bought and may come back (not durable).
  m.Add({1, 5}, Set{3}, Set{5}, Set{}, Set{5}, category_of);
  // Case 3: two relevant, hits at ranks 1 and 2; the fourth item is past K.
  m.Add({3, 2, 0, 1}, Set{3, 2}, Set{}, Set{}, Set{}, category_of);
  const Summary s = m.Summarize(10);
  EXPECT_EQ(s.cases, 3);
  EXPECT_DOUBLE_EQ(s.hit_rate, 2.0 / 3);
  // NDCG: case 1 = (1/log2(4)) / 1 = 0.5; case 3 = (1 + 1/log2(3)) / (1 + 1/log2(3)) = 1.
  EXPECT_NEAR(s.ndcg, (0.5 + 0 + 1) / 3, 1e-12);
  EXPECT_NEAR(s.mrr, (1.0 / 3 + 0 + 1) / 3, 1e-12);
  EXPECT_NEAR(s.recall, (1 + 0 + 1) / 3.0, 1e-12);
  // Distinct items shown: 0, 2, 4, 1, 5, 3 of 10.
  EXPECT_DOUBLE_EQ(s.coverage, 0.6);
  // 8 items shown (3 + 2 + 3): bought 0 (case 1) and 5 (case 2); durable only 0.
  EXPECT_DOUBLE_EQ(s.mean_length, 8.0 / 3);
  EXPECT_DOUBLE_EQ(s.bought_share, 2.0 / 8);
  EXPECT_DOUBLE_EQ(s.durable_share, 1.0 / 8);
  // Categories per item: {0,1,2}/3, {0,2}/2, {1,0}/3.
  EXPECT_NEAR(s.diversity, (1.0 + 1.0 + 2.0 / 3) / 3, 1e-12);
  // Case 2's relevant item 3 was never touched (novel); case 1's item 4
  // neither; case 3's items neither: three novel cases, two hits.
  EXPECT_EQ(s.novel_cases, 3);
  EXPECT_DOUBLE_EQ(s.novel_hit_rate, 2.0 / 3);
  EXPECT_EQ(s.repeat_cases, 0);
}

TEST(RankingMetricsTest, RepeatPurchasesCountedApart) {
  RankingMetrics m(10);
  m.Add({7}, Set{7}, Set{7}, Set{}, Set{7}, {});
  m.Add({1}, Set{8}, Set{8}, Set{}, Set{8}, {});
  const Summary s = m.Summarize(100);
  EXPECT_EQ(s.repeat_cases, 2);
  EXPECT_DOUBLE_EQ(s.repeat_hit_rate, 0.5);
  EXPECT_EQ(s.novel_cases, 0);
}

class LogTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  testing::TempDir dir_;
};

TEST_F(LogTest, CsvWithAliasesQuotesAndTimeFormats) {
  const std::string path = Write("log.csv",
                                 "userId,movieId,rating,timestamp\n"
                                 "1,31,2.5,1260759144\n"
                                 "1,\"10,29\",3.0,2009-12-14T02:52:24Z\n"
                                 "2,31,4.0,1260759144000\n");
  auto log = ReadInteractions(path, LogOptions{.event_as = core::EventType::kView});
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 3u);
  EXPECT_EQ((*log)[0].customer, "1");
  EXPECT_EQ((*log)[0].item, "31");
  EXPECT_EQ((*log)[0].time, 1260759144000);
  EXPECT_EQ((*log)[0].type, core::EventType::kView);
  EXPECT_DOUBLE_EQ((*log)[0].rating, 2.5);
  EXPECT_EQ((*log)[1].item, "10,29");
  EXPECT_EQ((*log)[1].time, 1260759144000);  // RFC 3339, the same instant
  EXPECT_EQ((*log)[2].time, 1260759144000);  // milliseconds taken as such
  EXPECT_LT((*log)[0].order, (*log)[1].order);

  auto kept = ReadInteractions(path, LogOptions{.min_rating = 3.0});
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->size(), 2u);
  EXPECT_EQ((*kept)[0].type, core::EventType::kPurchase);  // no type column: purchases
}

TEST_F(LogTest, JsonLinesAndItems) {
  const std::string events =
      Write("log.jsonl",
            "{\"customer\":\"c1\",\"item\":\"p1\",\"timestamp\":\"2026-11-01T10:00:00Z\","
            "\"event_type\":\"view\"}\n\n"
            "{\"customer\":\"c1\",\"item\":\"p2\",\"timestamp\":1790000000000,"
            "\"event_type\":\"purchase\",\"quantity\":2,\"price\":\"2.49\"}\n");
  auto log = ReadInteractions(events, {});
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[0].type, core::EventType::kView);
  EXPECT_EQ((*log)[1].quantity, 2);
  EXPECT_EQ((*log)[1].price_minor, 249);

  const std::string items = Write("items.csv",
                                  "item,name,category_path,brand,price,tags\n"
                                  "p1,Koffie,Food/Koffie,HEMA,3.99,bio|fair\n"
                                  "p2,Film,,,5,Drama\n");
  auto read = ReadItems(items);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].category_path, (std::vector<std::string>{"Food", "Koffie"}));
  EXPECT_EQ((*read)[0].price_minor, 399);
  EXPECT_EQ((*read)[0].tags, (std::vector<std::string>{"bio", "fair"}));
  EXPECT_TRUE((*read)[1].category_path.empty());
}

TEST_F(LogTest, BadInputNamesFileLineAndColumn) {
  const std::string path = Write("bad.csv",
                                 "customer,item,timestamp\n"
                                 "c1,p1,2026-11-01T10:00:00Z\n"
                                 "c1,p2,yesterday\n");
  auto log = ReadInteractions(path, {});
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(log.status().message().find("bad.csv:3"), std::string::npos) << log.status();
  EXPECT_NE(log.status().message().find("timestamp"), std::string::npos) << log.status();

  const std::string no_item = Write("noitem.csv", "customer,timestamp\nc1,1\n");
  auto missing = ReadInteractions(no_item, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("item"), std::string::npos) << missing.status();

  EXPECT_FALSE(ReadInteractions(dir_.path() + "/none.csv", {}).ok());
}

// The whole evaluation on a small hard world: the same table twice, no
// bought durable in any answer, the personal placement ahead of popularity.
TEST(EvaluateTest, SmallHardWorldIsDeterministicAndPersonalBeatsPopular) {
  testing::TempDir dir;
  WorldOptions w;
  w.world = "hard";
  w.customers = 400;
  w.items = 600;
  w.days = 120;
  w.seed = 3;
  ASSERT_TRUE(WriteWorld(w, dir.path() + "/e.csv", dir.path() + "/i.csv").ok());
  auto log = ReadInteractions(dir.path() + "/e.csv", {});
  auto items = ReadItems(dir.path() + "/i.csv");
  ASSERT_TRUE(log.ok() && items.ok());
  EvalOptions o;
  o.placements = {"homepage.speciaal_voor_jou", "homepage.populair"};
  auto first = Evaluate(*log, *items, o);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Evaluate(*log, *items, o);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->model_fingerprint, second->model_fingerprint);
  ASSERT_EQ(first->rows.size(), 3u);
  for (size_t i = 0; i < first->rows.size(); ++i) {
    EXPECT_EQ(first->rows[i].name, second->rows[i].name);
    EXPECT_DOUBLE_EQ(first->rows[i].metrics.hit_rate, second->rows[i].metrics.hit_rate);
    EXPECT_DOUBLE_EQ(first->rows[i].metrics.ndcg, second->rows[i].metrics.ndcg);
    EXPECT_DOUBLE_EQ(first->rows[i].metrics.coverage, second->rows[i].metrics.coverage);
    EXPECT_EQ(first->rows[i].metrics.durable_share, 0) << first->rows[i].name;
  }
  const Summary& popular = first->rows[0].metrics;
  const Summary& personal = first->rows[1].metrics;
  EXPECT_GT(first->tested, 300);
  EXPECT_GT(personal.hit_rate, 1.5 * popular.hit_rate);
  EXPECT_GT(personal.ndcg, 1.5 * popular.ndcg);

  EvalOptions unknown = o;
  unknown.placements = {"nope"};
  auto bad = Evaluate(*log, *items, unknown);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(bad.status().message().find("placements"), std::string::npos);
}

}  // namespace
}  // namespace nextbest::tools::eval
