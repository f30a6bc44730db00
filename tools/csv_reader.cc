#include "tools/csv_reader.h"

#include <csv.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace nextbest::tools {

struct CsvReader::Parser {
  csv_parser p;
};

namespace {

struct Sink {
  std::vector<std::string>* current;
  std::deque<std::vector<std::string>>* rows;
};

void OnField(void* data, size_t len, void* sink) {
  auto* s = static_cast<Sink*>(sink);
  s->current->emplace_back(static_cast<const char*>(data), len);
}

void OnRecord(int, void* sink) {
  auto* s = static_cast<Sink*>(sink);
  s->rows->push_back(std::move(*s->current));
  s->current->clear();
}

}  // namespace

absl::StatusOr<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path) {
  std::unique_ptr<CsvReader> r(new CsvReader());
  r->path_ = path;
  r->in_.open(path, std::ios::binary);
  if (!r->in_) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  r->parser_ = std::make_unique<Parser>();
  if (csv_init(&r->parser_->p, 0) != 0) return absl::InternalError("csv_init failed");
  std::vector<std::string> header;
  absl::StatusOr<bool> got = r->Next(header);
  if (!got.ok()) return got.status();
  if (!*got || header.empty())
    return absl::InvalidArgumentError(absl::StrCat(path, ": no header row"));
  for (std::string& h : header) h = std::string(absl::StripAsciiWhitespace(h));
  r->header_ = std::move(header);
  return r;
}

CsvReader::~CsvReader() {
  if (parser_ != nullptr) csv_free(&parser_->p);
}

int CsvReader::Column(std::initializer_list<absl::string_view> names) const {
  for (absl::string_view name : names) {
    for (size_t i = 0; i < header_.size(); ++i) {
      if (absl::EqualsIgnoreCase(header_[i], name)) return static_cast<int>(i);
    }
  }
  return -1;
}

absl::Status CsvReader::Fill() {
  Sink sink{&current_, &rows_};
  char buf[1 << 16];
  while (rows_.empty() && !eof_) {
    in_.read(buf, sizeof buf);
    const size_t n = static_cast<size_t>(in_.gcount());
    bytes_read_ += static_cast<int64_t>(n);
    if (n > 0 && csv_parse(&parser_->p, buf, n, OnField, OnRecord, &sink) != n) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ": malformed CSV near record ",
                                                     record_ + 1, ": ",
                                                     csv_strerror(csv_error(&parser_->p))));
    }
    if (!in_) {
      eof_ = true;
      csv_fini(&parser_->p, OnField, OnRecord, &sink);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> CsvReader::Next(std::vector<std::string>& row) {
  if (rows_.empty()) {
    if (absl::Status s = Fill(); !s.ok()) return s;
    if (rows_.empty()) return false;
  }
  row = std::move(rows_.front());
  rows_.pop_front();
  ++record_;
  return true;
}

}  // namespace nextbest::tools
