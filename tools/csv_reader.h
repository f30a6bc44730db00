#pragma once
// A CSV file with a header row, read row by row (libcsv from Debian: quoted
// fields, embedded commas, quotes and newlines). For the interaction logs of
// `nextbest eval` and the item files next to them.

#include <cstdint>
#include <deque>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nextbest::tools {

class CsvReader {
 public:
  // Opens `path` and reads its header. NOT_FOUND if it cannot be opened,
  // INVALID_ARGUMENT if it has no header.
  static absl::StatusOr<std::unique_ptr<CsvReader>> Open(const std::string& path);
  ~CsvReader();

  const std::vector<std::string>& header() const { return header_; }
  // The index of the first of `names` the header has (compared without
  // case), or -1.
  int Column(std::initializer_list<absl::string_view> names) const;

  // The next row into `row`; false at the end. INVALID_ARGUMENT naming the
  // line on a malformed file.
  absl::StatusOr<bool> Next(std::vector<std::string>& row);
  // The record number of the row last returned (the header is 1).
  int64_t record() const { return record_; }
  // Bytes of the file parsed so far (for progress).
  int64_t bytes_read() const { return bytes_read_; }

 private:
  CsvReader() = default;
  absl::Status Fill();  // parses the next chunk into rows_

  struct Parser;
  std::unique_ptr<Parser> parser_;
  std::ifstream in_;
  std::string path_;
  std::vector<std::string> header_;
  std::deque<std::vector<std::string>> rows_;
  std::vector<std::string> current_;
  bool eof_ = false;
  int64_t record_ = 0;
  int64_t bytes_read_ = 0;
};

}  // namespace nextbest::tools
