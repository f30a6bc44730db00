#include "core/partitioning.h"

#include <map>
#include <string>

#include "gtest/gtest.h"

namespace nextbest::core {
namespace {

// Kafka's own test vectors (clients/.../utils/UtilsTest.java, testMurmur2)
// and the Akka/Pekko ones taken from Kafka's implementation.
TEST(KafkaMurmur2, MatchesKafkaTestVectors) {
  const std::map<std::string, int32_t> cases = {
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107},
      {"1", -1993445489},
      {"12", 126087238},
      {"123", -267702483},
      {"1234", -1614185708},
      {"12345", -1188365604},
  };
  for (const auto& [key, want] : cases) EXPECT_EQ(KafkaMurmur2(key), want) << key;
}

TEST(KafkaPartition, IsThePositiveHashModuloPartitions) {
  // murmur2("foobar") = -790332482; & 0x7fffffff = 1357151166.
  EXPECT_EQ(KafkaPartition("foobar", 12), 1357151166 % 12);
  EXPECT_EQ(KafkaPartition("21", 7), static_cast<int32_t>((-973932308 & 0x7fffffff) % 7));
  EXPECT_EQ(KafkaPartition("anything", 1), 0);
}

TEST(ShardMap, PartitionModuloShardsAndEveryShardOwnsSomeCustomers) {
  ShardMap map{12, 3};
  EXPECT_EQ(map.ShardOfPartition(0), 0);
  EXPECT_EQ(map.ShardOfPartition(4), 1);
  EXPECT_EQ(map.ShardOfPartition(11), 2);
  std::map<int32_t, int> per_shard;
  for (int i = 0; i < 3000; ++i) ++per_shard[map.ShardOf("customer-" + std::to_string(i))];
  ASSERT_EQ(per_shard.size(), 3u);
  for (const auto& [shard, n] : per_shard) {
    EXPECT_GT(n, 850) << shard;  // 1000 expected; a bad hash would skew it
    EXPECT_LT(n, 1150) << shard;
  }
}

TEST(CapShare, SharesAddUpToTheCapExactlyAndNothingIsNeverUnlimited) {
  for (int64_t cap : {1, 5, 6, 7, 1000, 1001}) {
    for (int nodes : {1, 2, 6, 9}) {
      int64_t sum = 0;
      for (int n = 0; n < nodes; ++n) {
        const int64_t share = CapShare(cap, n, nodes);
        ASSERT_NE(share, 0) << "0 would mean no cap";
        if (share > 0) sum += share;
      }
      EXPECT_EQ(sum, cap) << cap << " over " << nodes;
    }
  }
  EXPECT_EQ(CapShare(0, 3, 6), 0);   // no cap stays no cap
  EXPECT_EQ(CapShare(5, 5, 6), -1);  // 5 over 6 nodes: the sixth serves none
}

}  // namespace
}  // namespace nextbest::core
