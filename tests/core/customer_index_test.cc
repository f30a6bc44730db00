#include "core/customer_index.h"

#include <gtest/gtest.h>

#include "core/features.h"

namespace nextbest::core {
namespace {

std::unique_ptr<const CustomerState> State(int64_t events) {
  auto s = std::make_unique<CustomerState>();
  s->features.events = events;
  return s;
}

TEST(CustomerIndexTest, PublishFindReplaceAndGrow) {
  EpochDomain domain;
  CustomerIndex index(domain);
  EXPECT_EQ(index.Find("c1"), nullptr);
  for (int i = 0; i < 10000; ++i) index.Publish("c" + std::to_string(i), State(i));
  EXPECT_EQ(index.size(), 10000u);
  for (int i = 0; i < 10000; i += 97) {
    const CustomerState* s = index.Find("c" + std::to_string(i));
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->features.events, i);
  }
  index.Publish("c5", State(500));
  EXPECT_EQ(index.Find("c5")->features.events, 500);
  EXPECT_EQ(index.size(), 10000u);
  EXPECT_EQ(index.Find("c10000"), nullptr);
  int visited = 0;
  index.ForEach([&](absl::string_view, const CustomerState&) { ++visited; });
  EXPECT_EQ(visited, 10000);
  domain.Reclaim();
}

}  // namespace
}  // namespace nextbest::core
