#include "core/epoch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace nextbest::core {
namespace {

TEST(EpochTest, RetiredObjectWaitsForReadersThatMaySeeIt) {
  EpochDomain domain;
  std::atomic<bool> freed{false};
  std::atomic<bool> inside{false}, release{false};
  std::thread reader([&] {
    ReadGuard guard(domain);
    inside = true;
    while (!release) std::this_thread::yield();
  });
  while (!inside) std::this_thread::yield();
  domain.Retire([&] { freed = true; });
  EXPECT_EQ(domain.Reclaim(), 0);  // the reader entered before the retire
  EXPECT_FALSE(freed);
  release = true;
  reader.join();
  EXPECT_EQ(domain.Reclaim(), 1);
  EXPECT_TRUE(freed);
}

TEST(EpochTest, ReadersEnteringLaterDoNotBlockReclaim) {
  EpochDomain domain;
  bool freed = false;
  domain.Retire([&] { freed = true; });
  domain.Reclaim();  // nobody reading: freed at once
  EXPECT_TRUE(freed);
  bool freed2 = false;
  domain.Retire([&] { freed2 = true; });
  std::atomic<bool> inside{false}, release{false};
  domain.Reclaim();
  std::thread reader([&] {
    ReadGuard guard(domain);  // enters after the object was unlinked and reclaimed
    inside = true;
    while (!release) std::this_thread::yield();
  });
  while (!inside) std::this_thread::yield();
  bool freed3 = false;
  domain.Retire([&] { freed3 = true; });
  domain.Reclaim();
  EXPECT_TRUE(freed2);
  EXPECT_FALSE(freed3);  // this one was retired while the reader is inside
  release = true;
  reader.join();
  domain.Reclaim();
  EXPECT_TRUE(freed3);
}

TEST(EpochTest, NestedGuardsOnOneThread) {
  EpochDomain domain;
  bool freed = false;
  {
    ReadGuard outer(domain);
    {
      ReadGuard inner(domain);
    }
    // Still inside the outer guard: the retire must wait. Retire/Reclaim
    // from the same thread is allowed for the test.
    domain.Retire([&] { freed = true; });
    domain.Reclaim();
    EXPECT_FALSE(freed);
  }
  domain.Reclaim();
  EXPECT_TRUE(freed);
}

TEST(EpochTest, PublishedSwapsAndRetires) {
  EpochDomain domain;
  Published<int> p;
  EXPECT_EQ(p.Get(), nullptr);
  p.Publish(std::make_unique<const int>(1), domain);
  p.Publish(std::make_unique<const int>(2), domain);
  EXPECT_EQ(*p.Get(), 2);
  EXPECT_EQ(domain.pending(), 1u);
  domain.Reclaim();
  EXPECT_EQ(domain.pending(), 0u);
}

TEST(EpochTest, ManyShortLivedReaderThreadsReuseSlots) {
  EpochDomain domain;
  for (int i = 0; i < 2 * EpochDomain::kMaxReaders; ++i) {
    std::thread([&] { ReadGuard g(domain); }).join();
  }
  SUCCEED();
}

}  // namespace
}  // namespace nextbest::core
