#include "storage/keys.h"

#include <gtest/gtest.h>

namespace nextbest::storage::keys {
namespace {

TEST(KeysTest, EventKeysSortByCustomerThenTime) {
  const std::string a = Event("c1", -5, "e");
  const std::string b = Event("c1", 0, "e");
  const std::string c = Event("c1", 1'700'000'000'000, "a");
  const std::string d = Event("c10", 0, "a");
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);  // "c1\0..." sorts before "c10..."
  auto parsed = ParseEvent(c);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->customer_id, "c1");
  EXPECT_EQ(parsed->time_ms, 1'700'000'000'000);
  EXPECT_EQ(parsed->event_id, "a");
  EXPECT_FALSE(ParseEvent("c1").has_value());  // no separator
  EXPECT_EQ(EventTime(c), 1'700'000'000'000);
  EXPECT_EQ(EventTime(Event("c1", -5, "x")), -5);
  EXPECT_FALSE(EventTime("c1").has_value());
  EXPECT_FALSE(EventTime(absl::string_view("c1\0abc", 6)).has_value());  // short time
}

TEST(KeysTest, SuppressionKeyIsAKeyedHashNotTheId) {
  const std::string a = Suppression("secret-one", "c1");
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a, Suppression("secret-one", "c1"));
  EXPECT_NE(a, Suppression("secret-two", "c1"));
  EXPECT_NE(a, Suppression("secret-one", "c2"));
  EXPECT_EQ(a.find("c1"), std::string::npos);
}

TEST(KeysTest, CustomerRangeCoversExactlyThatCustomer) {
  const Range r = CustomerRange("c1");
  for (const std::string& k : {Event("c1", 0, "x"), Idempotency("c1", "x"), Event("c1", -1, "")}) {
    EXPECT_GE(k, r.begin);
    EXPECT_LT(k, r.end);
  }
  for (const std::string& k : {Event("c10", 0, "x"), Idempotency("c", "x"), Customer("c1"),
                               Idempotency("c2", "")}) {
    EXPECT_FALSE(k >= r.begin && k < r.end) << k;
  }
}

}  // namespace
}  // namespace nextbest::storage::keys
