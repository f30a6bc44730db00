// A full disk under the real writer (an injected ENOSPC).

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <map>
#include <random>
#include <thread>

#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "tests/storage/ingestor_fixture.h"

namespace nextbest::storage {
namespace {

using testing::IngestorTest;
using testing::kDay;
using testing::kT0;
using testing::Purchase;
using testing::View;

// A file system that runs out of space on command: while `full`, creating
// or appending to or syncing any file fails with ENOSPC, as a full disk
// does.
class FullDiskFs : public rocksdb::FileSystemWrapper {
 public:
  FullDiskFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FullDiskFs"; }
  std::atomic<bool> full{false};

  // A full disk has no free space: RocksDB's recovery thread asks before
  // it resumes.
  rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& o,
                                 uint64_t* free, rocksdb::IODebugContext* d) override {
    if (full) {
      *free = 0;
      return rocksdb::IOStatus::OK();
    }
    return target()->GetFreeSpace(path, o, free, d);
  }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* d) override {
    return Open(&FileSystem::NewWritableFile, f, o, r, d);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* d) override {
    return Open(&FileSystem::ReopenWritableFile, f, o, r, d);
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile>&& f, const std::atomic<bool>* full)
        : FSWritableFileOwnerWrapper(std::move(f)), full_(full) {}
    using IOOptions = rocksdb::IOOptions;
    using Ctx = rocksdb::IODebugContext;
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const IOOptions& o, Ctx* c) override {
      return *full_ ? NoSpace() : FSWritableFileOwnerWrapper::Append(d, o, c);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const IOOptions& o,
                             const rocksdb::DataVerificationInfo& v, Ctx* c) override {
      return *full_ ? NoSpace() : FSWritableFileOwnerWrapper::Append(d, o, v, c);
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& d, uint64_t off, const IOOptions& o,
                                       Ctx* c) override {
      return *full_ ? NoSpace() : FSWritableFileOwnerWrapper::PositionedAppend(d, off, o, c);
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& d, uint64_t off, const IOOptions& o,
                                       const rocksdb::DataVerificationInfo& v, Ctx* c) override {
      return *full_ ? NoSpace() : FSWritableFileOwnerWrapper::PositionedAppend(d, off, o, v, c);
    }
    rocksdb::IOStatus Flush(const IOOptions& o, Ctx* c) override {
      return *full_ ? NoSpace() : FSWritableFileOwnerWrapper::Flush(o, c);
    }
    rocksdb::IOStatus Sync(const IOOptions& o, Ctx* c) override {
      return *full_ ? NoSpace() : FSWritableFileOwnerWrapper::Sync(o, c);
    }
    rocksdb::IOStatus Fsync(const IOOptions& o, Ctx* c) override {
      return *full_ ? NoSpace() : FSWritableFileOwnerWrapper::Fsync(o, c);
    }

   private:
    static rocksdb::IOStatus NoSpace() {
      return rocksdb::IOStatus::NoSpace("fault injection: disk full");
    }
    const std::atomic<bool>* full_;
  };

  // Creates or reopens through the real file system, wrapped so that its
  // writes fail while the disk is full.
  using OpenFn = rocksdb::IOStatus (rocksdb::FileSystem::*)(
      const std::string&, const rocksdb::FileOptions&, std::unique_ptr<rocksdb::FSWritableFile>*,
      rocksdb::IODebugContext*);
  rocksdb::IOStatus Open(OpenFn open, const std::string& f, const rocksdb::FileOptions& o,
                         std::unique_ptr<rocksdb::FSWritableFile>* r, rocksdb::IODebugContext* d) {
    if (full) return rocksdb::IOStatus::NoSpace("fault injection: disk full");
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = (target()->*open)(f, o, &file, d);
    if (s.ok()) r->reset(new File(std::move(file), &full));
    return s;
  }
};

// Disk full: the write is UNAVAILABLE and changes nothing (memory or
// disk), reads keep working, and writes resume by themselves once space
// returns; nothing acknowledged is lost across a restart.
TEST(DiskFullTest, WritesAreUnavailableReadsWorkAndWritesResume) {
  nextbest::testing::TempDir dir;
  auto fs = std::make_shared<FullDiskFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  core::ManualClock clock(kT0 + 100 * kDay);
  StoreOptions so;
  so.path = dir.path();
  so.env = env.get();
  {
    auto store = RocksStore::Open(so);
    ASSERT_TRUE(store.ok()) << store.status();
    core::LiveState live;
    live.catalog.Publish(*core::Catalog::Empty({"NL", "BE"}, "EUR"), live.epochs);
    auto ingestor = Ingestor::Start(store->get(), &live, IngestOptions{}, &clock);
    ASSERT_TRUE(ingestor.ok()) << ingestor.status();
    auto record = [&](const RawEvent& e) { return (*ingestor)->SubmitAndWait(RecordEvents{{e}}); };
    ASSERT_TRUE(record(View("c1", "e1", "p1", kT0)).ok());

    fs->full = true;
    for (const char* id : {"e2", "e3"}) {
      auto r = record(View("c1", id, "p2", kT0 + kDay));
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
    }
    // The next refusal says how much space writes need to resume.
    auto refused = record(View("c1", "e4", "p2", kT0 + kDay));
    EXPECT_NE(refused.status().message().find("writes resume once about"), std::string::npos)
        << refused.status();
    EXPECT_TRUE((*store)->write_stopped());
    // Nothing of the refused writes, in memory or on disk; reads work.
    EXPECT_EQ(live.customers.Find("c1")->features.events, 1);
    auto features = (*store)->Get(Cf::kFeatures, keys::Customer("c1"));
    ASSERT_TRUE(features.ok()) << features.status();
    EXPECT_TRUE(features->has_value());
    EXPECT_FALSE((*store)->Get(Cf::kEvents, keys::Event("c1", kT0 + kDay, "e2"))->has_value());

    fs->full = false;
    absl::StatusOr<WriteResult> r = absl::UnavailableError("not tried");
    // The retry of a client. Either our Resume() (at most once a second) or
    // RocksDB's own recovery thread brings writes back; if that thread tried
    // while the disk was still full, it waits 5 s before the next try.
    for (int i = 0; i < 200 && !r.ok(); ++i) {
      r = record(View("c1", "e2", "p2", kT0 + kDay));
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->accepted, 1);
    EXPECT_FALSE((*store)->write_stopped());
    EXPECT_EQ(live.customers.Find("c1")->features.events, 2);
  }
  auto store = RocksStore::Open(so);
  ASSERT_TRUE(store.ok()) << store.status();
  core::LiveState live;
  live.catalog.Publish(*core::Catalog::Empty({"NL", "BE"}, "EUR"), live.epochs);
  auto ingestor = Ingestor::Start(store->get(), &live, IngestOptions{}, &clock);
  ASSERT_TRUE(ingestor.ok()) << ingestor.status();
  EXPECT_EQ(live.customers.Find("c1")->features.events, 2);
  EXPECT_FALSE((*store)->Get(Cf::kEvents, keys::Event("c1", kT0 + kDay, "e3"))->has_value());
}

// The headroom a resume needs scales with the volume: a small volume gets
// small memtables, so it is not stuck needing 64 MB it will never have.
TEST(DiskFullTest, TheMemtableSizeFollowsTheVolume) {
  constexpr uint64_t kMb = 1 << 20;
  EXPECT_EQ(WriteBufferMbFor(100 * kMb), 4);
  EXPECT_EQ(WriteBufferMbFor(1024 * kMb), 16);
  EXPECT_EQ(WriteBufferMbFor(4096 * kMb), 64);
  EXPECT_EQ(WriteBufferMbFor(uint64_t{2} << 40), 64);
}

}  // namespace
}  // namespace nextbest::storage
