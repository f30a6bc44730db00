// `nextbest import products|stock|events --file=F`: a feed or a history
// file streamed over the API in acknowledged batches, with progress, a
// summary of what was created/updated/unchanged/rejected (line numbers and
// reasons), and for events a resumable checkpoint (--resume).
//
// A record the reader or the server refuses is reported and left out; the
// rest goes on (--strict: stop at the first). Exit code: 0, 3 when records
// were rejected, or the gRPC code of a call that failed for another reason
// (the checkpoint then says where to resume).

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <regex>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nextbest/v1/catalog.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "tools/cli.h"
#include "tools/import_feed.h"
#include "tools/progress.h"

ABSL_FLAG(int, batch, 500, "import: records per call (the server takes at most 1000 events)");
ABSL_FLAG(bool, strict, false, "import: stop at the first rejected record");
ABSL_FLAG(bool, resume, false, "import events: skip what the checkpoint says was loaded");
ABSL_FLAG(std::string, checkpoint, "", "import events: checkpoint file (default FILE.checkpoint)");
ABSL_FLAG(std::string, currency, "EUR", "import: currency of prices given without one");
ABSL_FLAG(int, in_stock_quantity, 1,
          "import products (Merchant feed) with --country: online stock of in_stock items");

namespace nextbest::cli {
namespace {

template <typename M>
using FeedRecordOf = tools::FeedRecord<M>;

struct Summary {
  int64_t read = 0, sent = 0, skipped = 0;
  int64_t created = 0, updated = 0, unchanged = 0;  // products
  int64_t accepted = 0, duplicates = 0;             // events, stock
  int64_t out_of_order = 0, first_out_of_order_line = 0;
  std::vector<std::pair<int64_t, std::string>> rejected;

  void Reject(int64_t line, std::string reason) { rejected.emplace_back(line, std::move(reason)); }
};

int64_t FileSize(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// "products[12].price: ..." → 12 (the record the server refused), or -1.
int RefusedIndex(const grpc::Status& s) {
  static const std::regex index(R"(^\w+\[(\d+)\])");
  std::smatch m;
  const std::string msg = s.error_message();
  if (!std::regex_search(msg, m, index)) return -1;
  return std::stoi(m[1]);
}

// The checkpoint of an events import: the file's size and how many of its
// records were acknowledged.
struct Checkpoint {
  std::string path;
  int64_t file_size = 0;
  int64_t records = 0;

  absl::Status Load() {
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(absl::StrCat(path, ": no checkpoint to resume from"));
    std::string line;
    while (std::getline(in, line)) {
      std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
      if (kv.first == "file_size") (void)absl::SimpleAtoi(kv.second, &file_size);
      if (kv.first == "records") (void)absl::SimpleAtoi(kv.second, &records);
    }
    return absl::OkStatus();
  }
  void Save() const {
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << "file_size=" << file_size << "\nrecords=" << records << "\n";
    }
    std::rename(tmp.c_str(), path.c_str());
  }
};

// Sends one batch; records the server refuses are rejected and the rest
// sent again. Returns OK, or the status of a call that failed otherwise.
template <typename M, typename Send>
grpc::Status SendBatch(std::vector<FeedRecordOf<M>>& batch, Summary& sum, Send send) {
  while (!batch.empty()) {
    const grpc::Status s = send(batch);
    if (s.ok()) {
      sum.sent += static_cast<int64_t>(batch.size());
      batch.clear();
      return s;
    }
    const int i = RefusedIndex(s);
    const bool refused = s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
                         s.error_code() == grpc::StatusCode::NOT_FOUND;
    if (!refused || i < 0 || i >= static_cast<int>(batch.size())) return s;
    sum.Reject(batch[i].line, s.error_message());
    if (absl::GetFlag(FLAGS_strict)) return s;
    batch.erase(batch.begin() + i);
  }
  return grpc::Status::OK;
}

void PrintSummary(absl::string_view what, const Summary& s) {
  std::printf("%s: %lld read, %lld sent", std::string(what).c_str(), static_cast<long long>(s.read),
              static_cast<long long>(s.sent));
  if (s.skipped > 0)
    std::printf(", %lld skipped (loaded before)", static_cast<long long>(s.skipped));
  if (what == "products") {
    std::printf(" (created %lld, updated %lld, unchanged %lld)", static_cast<long long>(s.created),
                static_cast<long long>(s.updated), static_cast<long long>(s.unchanged));
  } else if (what == "events") {
    std::printf(" (accepted %lld, duplicates %lld)", static_cast<long long>(s.accepted),
                static_cast<long long>(s.duplicates));
  } else {
    std::printf(" (updated %lld)", static_cast<long long>(s.accepted));
  }
  std::printf(", %zu rejected\n", s.rejected.size());
  if (s.out_of_order > 0) {
    std::printf(
        "  %lld events earlier than one before them (first at line %lld): loaded; sort "
        "the file by time for the exact order\n",
        static_cast<long long>(s.out_of_order), static_cast<long long>(s.first_out_of_order_line));
  }
  for (const auto& [line, reason] : s.rejected) {
    std::printf("  line %lld: %s\n", static_cast<long long>(line), reason.c_str());
  }
}

// Reads all records, batches them and sends each batch with `send`;
// `acknowledged` runs after each batch the server took.
template <typename M, typename Send>
int Run(absl::string_view what, tools::FeedReader<M>& reader, int64_t skip, Summary& sum, Send send,
        const std::function<void(int64_t records)>& acknowledged = nullptr) {
  const std::string file = absl::GetFlag(FLAGS_file);
  tools::Progress progress(std::string(what), FileSize(file));
  const size_t batch_size = static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_batch)));
  std::vector<FeedRecordOf<M>> batch;
  int64_t records = 0;
  auto flush = [&]() -> int {
    const grpc::Status s = SendBatch<M>(batch, sum, send);
    if (!s.ok()) {
      progress.Finish(sum.sent, reader.bytes_read());
      PrintSummary(what, sum);
      return Fail(s, absl::StrCat("import ", what));
    }
    if (acknowledged) acknowledged(records);
    progress.Update(sum.sent, reader.bytes_read());
    return 0;
  };
  FeedRecordOf<M> r;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(r);
    if (!more.ok()) {
      progress.Finish(sum.sent, reader.bytes_read());
      PrintSummary(what, sum);
      return Usage(std::string(more.status().message()));
    }
    if (!*more) break;
    ++records;
    if (records <= skip) {
      ++sum.skipped;
      continue;
    }
    ++sum.read;
    if (!r.rejected.empty()) {
      sum.Reject(r.line, r.rejected);
      if (absl::GetFlag(FLAGS_strict)) break;
      continue;
    }
    batch.push_back(std::move(r));
    if (batch.size() >= batch_size) {
      if (int rc = flush(); rc != 0) return rc;
    }
  }
  if (!(absl::GetFlag(FLAGS_strict) && !sum.rejected.empty())) {
    if (int rc = flush(); rc != 0) return rc;
  }
  progress.Finish(sum.sent, reader.bytes_read());
  PrintSummary(what, sum);
  return sum.rejected.empty() ? 0 : 3;
}

tools::FeedOptions FeedOptionsFromFlags() {
  tools::FeedOptions o;
  o.currency = absl::GetFlag(FLAGS_currency);
  o.country = absl::GetFlag(FLAGS_country);
  o.in_stock_quantity = absl::GetFlag(FLAGS_in_stock_quantity);
  return o;
}

int ImportProducts() {
  auto reader = tools::OpenProductFeed(absl::GetFlag(FLAGS_file), FeedOptionsFromFlags());
  if (!reader.ok()) return Usage(std::string(reader.status().message()));
  Summary sum;
  v1::CatalogService::Stub stub(Channel());
  return Run<v1::Product>("products", **reader, 0, sum,
                          [&](std::vector<FeedRecordOf<v1::Product>>& batch) {
                            v1::UpsertProductsRequest req;
                            v1::SetStockRequest stock;
                            for (const auto& r : batch) {
                              *req.add_products() = r.message;
                              if (r.stock.has_value()) *stock.add_levels() = *r.stock;
                            }
                            grpc::ClientContext ctx;
                            SetDeadline(ctx);
                            v1::UpsertProductsResponse resp;
                            grpc::Status s = stub.UpsertProducts(&ctx, req, &resp);
                            if (!s.ok()) return s;
                            sum.created += resp.created();
                            sum.updated += resp.updated();
                            sum.unchanged += resp.unchanged();
                            if (stock.levels_size() == 0) return s;
                            grpc::ClientContext stock_ctx;
                            SetDeadline(stock_ctx);
                            v1::SetStockResponse stock_resp;
                            return stub.SetStock(&stock_ctx, stock, &stock_resp);
                          });
}

int ImportStores() {
  auto reader = tools::OpenStoreFeed(absl::GetFlag(FLAGS_file));
  if (!reader.ok()) return Usage(std::string(reader.status().message()));
  Summary sum;
  v1::CatalogService::Stub stub(Channel());
  return Run<v1::Store>("stores", **reader, 0, sum,
                        [&](std::vector<FeedRecordOf<v1::Store>>& batch) {
                          v1::UpsertStoresRequest req;
                          for (const auto& r : batch) *req.add_stores() = r.message;
                          grpc::ClientContext ctx;
                          SetDeadline(ctx);
                          v1::UpsertStoresResponse resp;
                          grpc::Status s = stub.UpsertStores(&ctx, req, &resp);
                          if (s.ok()) sum.accepted += resp.upserted();
                          return s;
                        });
}

int ImportStock() {
  auto reader = tools::OpenStockFeed(absl::GetFlag(FLAGS_file), FeedOptionsFromFlags());
  if (!reader.ok()) return Usage(std::string(reader.status().message()));
  Summary sum;
  v1::CatalogService::Stub stub(Channel());
  return Run<v1::StockLevel>("stock", **reader, 0, sum,
                             [&](std::vector<FeedRecordOf<v1::StockLevel>>& batch) {
                               v1::SetStockRequest req;
                               for (const auto& r : batch) *req.add_levels() = r.message;
                               grpc::ClientContext ctx;
                               SetDeadline(ctx);
                               v1::SetStockResponse resp;
                               grpc::Status s = stub.SetStock(&ctx, req, &resp);
                               if (s.ok()) sum.accepted += resp.updated();
                               return s;
                             });
}

int ImportEvents() {
  const std::string file = absl::GetFlag(FLAGS_file);
  auto reader = tools::OpenEventFeed(file, FeedOptionsFromFlags());
  if (!reader.ok()) return Usage(std::string(reader.status().message()));
  Checkpoint checkpoint;
  checkpoint.path = absl::GetFlag(FLAGS_checkpoint).empty() ? file + ".checkpoint"
                                                            : absl::GetFlag(FLAGS_checkpoint);
  if (absl::GetFlag(FLAGS_resume)) {
    if (absl::Status s = checkpoint.Load(); !s.ok()) return Usage(std::string(s.message()));
    if (checkpoint.file_size > FileSize(file)) {
      return Usage(absl::StrCat(checkpoint.path, ": made for a larger file than ", file,
                                " (a different file?); remove it to start over"));
    }
    std::fprintf(stderr, "resuming after %lld records (%s)\n",
                 static_cast<long long>(checkpoint.records), checkpoint.path.c_str());
  }
  checkpoint.file_size = FileSize(file);
  Summary sum;
  v1::EventService::Stub stub(Channel());
  int64_t latest_ms = 0;
  const int rc = Run<v1::Event>(
      "events", **reader, absl::GetFlag(FLAGS_resume) ? checkpoint.records : 0, sum,
      [&](std::vector<FeedRecordOf<v1::Event>>& batch) {
        v1::RecordEventsRequest req;
        for (const auto& r : batch) {
          const int64_t ms = r.message.time().seconds() * 1000 + r.message.time().nanos() / 1000000;
          if (ms < latest_ms && sum.out_of_order++ == 0) sum.first_out_of_order_line = r.line;
          latest_ms = std::max(latest_ms, ms);
          *req.add_events() = r.message;
        }
        grpc::ClientContext ctx;
        SetDeadline(ctx);
        v1::RecordEventsResponse resp;
        grpc::Status s = stub.RecordEvents(&ctx, req, &resp);
        if (s.ok()) {
          sum.accepted += resp.accepted();
          sum.duplicates += resp.duplicates();
        }
        return s;
      },
      [&](int64_t records) {
        checkpoint.records = records;
        checkpoint.Save();
      });
  if (rc == 0 || rc == 3) std::remove(checkpoint.path.c_str());  // done: nothing to resume
  return rc;
}

}  // namespace

int Import(absl::string_view kind) {
  if (absl::GetFlag(FLAGS_file).empty()) return Usage("import: --file is required");
  if (kind == "products") return ImportProducts();
  if (kind == "stores") return ImportStores();
  if (kind == "stock") return ImportStock();
  if (kind == "events") return ImportEvents();
  return Usage(absl::StrCat("import: products, stores, stock or events, not '", kind, "'"));
}

}  // namespace nextbest::cli
