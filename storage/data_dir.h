#pragma once
// The data directory around the RocksDB database: what it holds before it
// is opened, nextbest's identity marker, and the acknowledged-write
// watermark.
//
// Why: RocksDB's DB::Open with create_if_missing creates a new, empty
// database whenever CURRENT is missing — and its next open deletes every
// SST and WAL file the new MANIFEST does not list. nextbest therefore
// creates a database only in a directory that has never held one (no
// database file and no marker, see DataDirContents::fresh) and opens every
// other directory with create_if_missing off, after checking that CURRENT
// is there. A directory that cannot be opened is left exactly as it was.
//
// The watermark detects acknowledged writes missing after a crash (a WAL
// truncated or deleted by something other than a crash): RocksDB's
// recovery mode kTolerateCorruptedTailRecords must accept a torn last
// record, and from inside the log a file cut short looks just like that.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace nextbest::storage {

// The marker file nextbest writes into a data directory right after it
// created the database there.
inline constexpr char kDataDirMarker[] = "NEXTBEST_DATA_DIR";

struct DataDirContents {
  bool exists = false;
  bool marker = false;                                      // kDataDirMarker
  bool current = false;                                     // RocksDB's CURRENT
  std::vector<std::string> manifests;                       // MANIFEST-* file names
  std::vector<std::pair<std::string, uint64_t>> wal_files;  // *.log: name, bytes
  int sst_files = 0;
  int other_db_files = 0;  // IDENTITY, OPTIONS-*, LOCK, blob files
  // Never held a database: no RocksDB file and no marker (files of other
  // programs, such as an admin token or lost+found, do not count).
  bool fresh() const {
    return !marker && !current && manifests.empty() && wal_files.empty() && sst_files == 0 &&
           other_db_files == 0;
  }
};

// Lists `path` (a missing directory is fresh). UNAVAILABLE if it cannot be
// read.
absl::StatusOr<DataDirContents> InspectDataDir(const std::string& path);

// OK if a database may be opened (or created) in the directory. DATA_LOSS
// naming what is missing and how to restore it when the directory held a
// database whose CURRENT file is gone (opening it would start an empty
// database over the old files).
absl::Status CheckOpenable(const DataDirContents& contents, const std::string& path);

// Writes the marker (mode 0600, fsync'ed, and the directory fsync'ed).
absl::Status WriteDataDirMarker(const std::string& path);

// The acknowledged-write watermark: the RocksDB sequence number and the
// running count of events of the last acknowledged write, in a small file
// of the data directory, rewritten in place after every write (a pwrite of
// 24 bytes, not fsync'ed: it may only lag behind the WAL, which is synced
// first, so it never claims more than was durable; after a power loss it
// may be older, which only weakens the check). A checksum guards against a
// torn write.
class AckWatermark {
 public:
  struct Value {
    uint64_t sequence = 0;
    int64_t events = 0;
  };
  static constexpr char kFileName[] = "ACKNOWLEDGED";

  // The stored value; nullopt if there is none or it is torn.
  static std::optional<Value> Read(const std::string& dir);
  // Opens (creates, 0600) the file for Store().
  static absl::StatusOr<std::unique_ptr<AckWatermark>> Open(const std::string& dir);
  ~AckWatermark();

  // Overwrites the value. Errors are ignored: the watermark is a check, not
  // data (a lagging value weakens the check, never fails it falsely).
  void Store(Value v);

 private:
  explicit AckWatermark(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace nextbest::storage
