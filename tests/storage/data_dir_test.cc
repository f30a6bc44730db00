// The data directory's guards against a real RocksDB in a temp dir: a
// database is created only where none ever was, a missing CURRENT is
// refused with nothing changed, and the acknowledged-write watermark finds
// a WAL cut short.

#include "storage/data_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "storage/rocks_store.h"
#include "tests/temp_dir.h"

namespace nextbest::storage {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::map<std::string, std::string> Snap(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    out[e.path().filename()] = std::string(std::istreambuf_iterator<char>(in), {});
  }
  return out;
}

void Touch(const std::string& path, const std::string& text = "x") { std::ofstream(path) << text; }

TEST(DataDirTest, ForeignFilesLeaveADirectoryFreshDatabaseFilesDoNot) {
  TempDir dir;
  auto c = InspectDataDir(dir.path() + "/missing");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->exists);
  EXPECT_TRUE(c->fresh());

  fs::create_directories(dir.path() + "/lost+found");
  Touch(dir.path() + "/admin_token");
  c = InspectDataDir(dir.path());
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->exists);
  EXPECT_TRUE(c->fresh());
  EXPECT_TRUE(CheckOpenable(*c, dir.path()).ok());

  for (const char* name : {"000012.sst", "000013.log", "MANIFEST-000005", "IDENTITY",
                           "OPTIONS-000007", kDataDirMarker, "ACKNOWLEDGED"}) {
    TempDir d;
    Touch(d.path() + "/" + name);
    auto one = InspectDataDir(d.path());
    ASSERT_TRUE(one.ok());
    EXPECT_FALSE(one->fresh()) << name;
    const absl::Status s = CheckOpenable(*one, d.path());
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << name;
    EXPECT_NE(s.message().find("CURRENT file is missing"), absl::string_view::npos) << s;
    EXPECT_NE(s.message().find("checkpoint"), absl::string_view::npos) << s;
  }
}

TEST(DataDirTest, MissingCurrentIsRefusedWithNothingChangedAndTheNewestManifestNamed) {
  TempDir dir;
  const std::string path = dir.path() + "/db";
  {
    StoreOptions o;
    o.path = path;
    auto store = RocksStore::Open(o);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_TRUE((*store)->open_report().created);
    rocksdb::WriteBatch b;
    b.Put((*store)->handle(Cf::kCustomers), "c1", "attributes");
    ASSERT_TRUE((*store)->Write(b).ok());
  }
  EXPECT_TRUE(fs::exists(path + "/" + kDataDirMarker));
  // Created by Open: the service user's alone.
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  fs::remove(path + "/CURRENT");
  const auto before = Snap(path);
  for (int attempt = 0; attempt < 3; ++attempt) {
    StoreOptions o;
    o.path = path;
    auto store = RocksStore::Open(o);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(store.status().message().find("MANIFEST-"), absl::string_view::npos)
        << store.status();
    EXPECT_EQ(Snap(path), before);
  }
}

TEST(DataDirTest, ADatabaseWithoutTheMarkerGetsItAtItsNextOpen) {
  TempDir dir;
  const std::string path = dir.path() + "/db";
  StoreOptions o;
  o.path = path;
  { ASSERT_TRUE(RocksStore::Open(o).ok()); }
  fs::remove(path + "/" + kDataDirMarker);  // as written before the marker existed
  auto store = RocksStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_FALSE((*store)->open_report().created);
  EXPECT_TRUE(fs::exists(path + "/" + kDataDirMarker));
}

TEST(DataDirTest, WatermarkRoundTripsAndATornValueIsIgnored) {
  TempDir dir;
  EXPECT_FALSE(AckWatermark::Read(dir.path()).has_value());
  {
    auto w = AckWatermark::Open(dir.path());
    ASSERT_TRUE(w.ok());
    (*w)->Store({1234, 56});
    (*w)->Store({1240, 60});
  }
  auto v = AckWatermark::Read(dir.path());
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->sequence, 1240u);
  EXPECT_EQ(v->events, 60);
  {
    std::fstream f(dir.path() + "/" + AckWatermark::kFileName,
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3);
    f.put('\x7f');
  }
  EXPECT_FALSE(AckWatermark::Read(dir.path()).has_value());
}

// A hot copy of an open database holds its writes only in the WAL; cutting
// that WAL short loses acknowledged events, which the copy's open reports.
TEST(DataDirTest, AWalCutShortIsRefusedUnlessAcceptedAndTheLossIsCounted) {
  TempDir dir;
  const std::string path = dir.path() + "/db";
  const std::string copy = dir.path() + "/copy";
  StoreOptions o;
  o.path = path;
  auto store = RocksStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  for (int i = 0; i < 200; ++i) {
    rocksdb::WriteBatch b;
    for (int e = 0; e < 5; ++e) {
      b.Put((*store)->handle(Cf::kEvents), absl::StrCat("c", i, "-", e), std::string(100, 'e'));
    }
    ASSERT_TRUE((*store)->Write(b, /*events=*/5).ok());
  }
  fs::copy(path, copy, fs::copy_options::recursive);
  store->reset();

  StoreOptions c;
  c.path = copy;
  {  // The intact copy: nothing lost.
    TempDir intact;
    fs::copy(copy, intact.path() + "/db", fs::copy_options::recursive);
    StoreOptions i = c;
    i.path = intact.path() + "/db";
    auto opened = RocksStore::Open(i);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ((*opened)->open_report().lost_events, 0);
    EXPECT_TRUE((*opened)->open_report().loss.empty());
  }
  fs::path wal;
  for (const auto& e : fs::directory_iterator(copy)) {
    if (e.path().extension() == ".log" && fs::file_size(e.path()) > 0) wal = e.path();
  }
  ASSERT_FALSE(wal.empty());
  fs::resize_file(wal, fs::file_size(wal) / 2);
  const auto before = Snap(copy);
  auto refused = RocksStore::Open(c);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(refused.status().message().find(wal.filename().string()), absl::string_view::npos)
      << refused.status();
  EXPECT_EQ(Snap(copy), before);

  c.accept_wal_loss = true;
  auto accepted = RocksStore::Open(c);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  const OpenReport& r = (*accepted)->open_report();
  EXPECT_GT(r.lost_events, 0);
  EXPECT_LT(r.lost_events, 1000);
  EXPECT_EQ(r.lost_events % 5, 0) << "whole batches are lost, never half of one";
  EXPECT_GT(r.lost_writes, r.lost_events);  // each event batch also wrote its counter
  int64_t left = 0;
  auto it = (*accepted)->NewIterator(Cf::kEvents);
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++left;
  EXPECT_EQ(left, 1000 - r.lost_events);
}

}  // namespace
}  // namespace nextbest::storage
