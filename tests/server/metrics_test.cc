#include "server/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace nextbest::server {
namespace {

TEST(AtomicHistogramTest, CumulativeBucketsSumAndCount) {
  AtomicHistogramFamily h("x_seconds", "help", "placement", {1e-6, 1e-5, 1e-4});
  const size_t a = h.Add("a");
  const size_t b = h.Add("b");
  h.Observe(a, 1e-6);   // on the bound: counts in le=1e-6
  h.Observe(a, 5e-6);
  h.Observe(a, 2.0);    // +Inf
  h.Observe(b, 5e-5);
  auto families = h.Collect();
  ASSERT_EQ(families.size(), 1u);
  const auto& f = families[0];
  EXPECT_EQ(f.name, "x_seconds");
  EXPECT_EQ(f.type, prometheus::MetricType::Histogram);
  ASSERT_EQ(f.metric.size(), 2u);
  const auto& ma = f.metric[0].histogram;
  EXPECT_EQ(f.metric[0].label[0].value, "a");
  ASSERT_EQ(ma.bucket.size(), 4u);
  EXPECT_EQ(ma.bucket[0].cumulative_count, 1u);
  EXPECT_EQ(ma.bucket[1].cumulative_count, 2u);
  EXPECT_EQ(ma.bucket[2].cumulative_count, 2u);
  EXPECT_EQ(ma.bucket[3].cumulative_count, 3u);
  EXPECT_TRUE(std::isinf(ma.bucket[3].upper_bound));
  EXPECT_EQ(ma.sample_count, 3u);
  EXPECT_NEAR(ma.sample_sum, 2.000006, 1e-9);
  EXPECT_EQ(f.metric[1].histogram.bucket[2].cumulative_count, 1u);
}

TEST(AtomicHistogramTest, ConcurrentObservationsAreAllCounted) {
  AtomicHistogramFamily h("y", "help", "rpc", {1e-3});
  const size_t s = h.Add("r");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) h.Observe(s, i % 2 ? 1e-4 : 1e-2);
    });
  }
  for (auto& t : threads) t.join();
  const auto m = h.Collect()[0].metric[0].histogram;
  EXPECT_EQ(m.sample_count, 400000u);
  EXPECT_EQ(m.bucket[0].cumulative_count, 200000u);
}

}  // namespace
}  // namespace nextbest::server
