#include "storage/data_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/caps.h"

namespace nextbest::storage {
namespace {

namespace fs = std::filesystem;

absl::Status WriteAll(int fd, const std::string& bytes, const std::string& path) {
  if (pwrite(fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()) ||
      fsync(fd) != 0) {
    return absl::UnavailableError(absl::StrCat("write ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status SyncDir(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return absl::UnavailableError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  const int rc = fsync(fd);
  close(fd);
  if (rc != 0)
    return absl::UnavailableError(absl::StrCat("fsync ", path, ": ", std::strerror(errno)));
  return absl::OkStatus();
}

// The watermark's bytes: sequence, events, checksum of both (8 bytes each,
// little-endian as the machine writes them; the file never moves between
// machines without its database, which has the same byte order).
constexpr size_t kWatermarkBytes = 24;
uint64_t WatermarkChecksum(uint64_t sequence, int64_t events) {
  char bytes[16];
  std::memcpy(bytes, &sequence, 8);
  std::memcpy(bytes + 8, &events, 8);
  return core::StableHash(absl::string_view(bytes, sizeof bytes), 0x6e65787462657374);
}

}  // namespace

absl::StatusOr<DataDirContents> InspectDataDir(const std::string& path) {
  DataDirContents c;
  std::error_code ec;
  if (!fs::exists(path, ec)) return c;
  if (!fs::is_directory(path, ec)) {
    return absl::FailedPreconditionError(absl::StrCat("data_dir ", path, ": not a directory"));
  }
  c.exists = true;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name == kDataDirMarker) {
      c.marker = true;
    } else if (name == "CURRENT") {
      c.current = true;
    } else if (absl::StartsWith(name, "MANIFEST-")) {
      c.manifests.push_back(name);
    } else if (absl::EndsWith(name, ".log")) {
      c.wal_files.emplace_back(name, it->file_size(ec));
    } else if (absl::EndsWith(name, ".sst")) {
      ++c.sst_files;
    } else if (name == "IDENTITY" || name == "LOCK" || absl::StartsWith(name, "OPTIONS-") ||
               absl::EndsWith(name, ".blob") || name == AckWatermark::kFileName) {
      ++c.other_db_files;
    }
  }
  if (ec) return absl::UnavailableError(absl::StrCat("data_dir ", path, ": ", ec.message()));
  std::sort(c.manifests.begin(), c.manifests.end());
  std::sort(c.wal_files.begin(), c.wal_files.end());
  return c;
}

absl::Status CheckOpenable(const DataDirContents& c, const std::string& path) {
  if (c.fresh() || c.current) return absl::OkStatus();
  std::vector<std::string> held;
  if (c.marker) held.push_back(absl::StrCat("the marker ", kDataDirMarker));
  if (!c.manifests.empty()) held.push_back(absl::StrJoin(c.manifests, ", "));
  if (c.sst_files > 0) held.push_back(absl::StrCat(c.sst_files, " SST files"));
  for (const auto& [name, bytes] : c.wal_files)
    held.push_back(absl::StrCat(name, " (", bytes, " bytes)"));
  std::string expert;
  if (!c.manifests.empty()) {
    expert = absl::StrCat(
        " An expert who knows the newest MANIFEST is intact may instead write its name "
        "into CURRENT (echo ",
        c.manifests.back(), " > ", path, "/CURRENT).");
  }
  return absl::DataLossError(absl::StrCat(
      "data_dir ", path, " holds a nextbest database (", absl::StrJoin(held, ", "),
      ") but its CURRENT file is missing. Refusing to open it: RocksDB would start an empty "
      "database there and delete the existing files. Nothing in the directory was changed. "
      "Restore it from a checkpoint: stop the server, move ",
      path, " aside and start with --data_dir=CHECKPOINT_DIR (README, Backups).", expert));
}

absl::Status WriteDataDirMarker(const std::string& path) {
  const std::string file = path + "/" + kDataDirMarker;
  const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return absl::UnavailableError(absl::StrCat("create ", file, ": ", std::strerror(errno)));
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  const absl::Status s = WriteAll(
      fd,
      absl::StrCat(
          "nextbest data directory\n"
          "This directory holds a nextbest RocksDB database. nextbest-server never creates a "
          "new database where this file is, so a lost CURRENT or MANIFEST is reported, not "
          "papered over with an empty database.\n"
          "marked_at_unix_seconds ",
          now_s, "\n"),
      file);
  close(fd);
  if (!s.ok()) return s;
  return SyncDir(path);
}

std::optional<AckWatermark::Value> AckWatermark::Read(const std::string& dir) {
  const std::string file = dir + "/" + kFileName;
  const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char bytes[kWatermarkBytes];
  const ssize_t n = pread(fd, bytes, sizeof bytes, 0);
  close(fd);
  if (n != static_cast<ssize_t>(sizeof bytes)) return std::nullopt;
  Value v;
  uint64_t checksum = 0;
  std::memcpy(&v.sequence, bytes, 8);
  std::memcpy(&v.events, bytes + 8, 8);
  std::memcpy(&checksum, bytes + 16, 8);
  if (checksum != WatermarkChecksum(v.sequence, v.events)) return std::nullopt;
  return v;
}

absl::StatusOr<std::unique_ptr<AckWatermark>> AckWatermark::Open(const std::string& dir) {
  const std::string file = dir + "/" + kFileName;
  const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return absl::UnavailableError(absl::StrCat("open ", file, ": ", std::strerror(errno)));
  return std::unique_ptr<AckWatermark>(new AckWatermark(fd));
}

AckWatermark::~AckWatermark() { close(fd_); }

void AckWatermark::Store(Value v) {
  char bytes[kWatermarkBytes];
  const uint64_t checksum = WatermarkChecksum(v.sequence, v.events);
  std::memcpy(bytes, &v.sequence, 8);
  std::memcpy(bytes + 8, &v.events, 8);
  std::memcpy(bytes + 16, &checksum, 8);
  (void)!pwrite(fd_, bytes, sizeof bytes, 0);
}

}  // namespace nextbest::storage
