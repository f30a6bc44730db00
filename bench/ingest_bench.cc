// nextbest-ingest-bench: the real writer (storage::Ingestor: idempotency
// check, feature update, one WriteBatch per group, publication) on a real
// RocksDB in a fresh directory, fed by in-process submitters. Compare with
// db_bench fillrandom under the same WAL settings (scripts/bench does).
//
//   nextbest-ingest-bench --events=1000000 --durability=no_sync --dir=/tmp/x

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/live_state.h"
#include "storage/ingestor.h"

ABSL_FLAG(int, events, 500000, "events to ingest");
ABSL_FLAG(int, batch, 100, "events per request");
ABSL_FLAG(int, submitters, 4, "threads submitting requests (requests in flight)");
ABSL_FLAG(int, customers, 100000, "distinct customers");
ABSL_FLAG(int, products, 32000, "distinct products");
ABSL_FLAG(std::string, durability, "no_sync", "no_sync | group_commit_sync | sync_each_write");
ABSL_FLAG(bool, feedback, false,
          "every customer is first served a decision under an experiment (stored, exposed); "
          "views become product clicks naming it and purchases are attributed (the ingest cost "
          "of attribution)");
ABSL_FLAG(std::string, dir, "", "database directory (default: a fresh temp dir, removed after)");

namespace nb = nextbest;

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::string dir = absl::GetFlag(FLAGS_dir);
  const bool temp = dir.empty();
  if (temp) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "nextbest-ingest-XXXXXX").string();
    dir = mkdtemp(tmpl.data());
  }
  nb::storage::StoreOptions so;
  so.path = dir;
  const std::string d = absl::GetFlag(FLAGS_durability);
  so.durability = d == "no_sync"           ? nb::storage::Durability::kNoSync
                  : d == "sync_each_write" ? nb::storage::Durability::kSyncEachWrite
                                           : nb::storage::Durability::kGroupCommitSync;
  auto store = nb::storage::RocksStore::Open(so);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  nb::core::LiveState live;
  live.catalog.Publish(*nb::core::Catalog::Empty({"NL", "BE", "LU", "FR", "DE", "AT"}, "EUR"),
                       live.epochs);
  nb::core::SystemClock clock;
  auto ingestor =
      nb::storage::Ingestor::Start(store->get(), &live, nb::storage::IngestOptions{}, &clock);
  if (!ingestor.ok()) return 1;

  // The catalog first, as in production.
  nb::storage::UpsertProducts products;
  for (int i = 1; i <= absl::GetFlag(FLAGS_products); ++i) {
    nb::core::Product p;
    p.id = absl::StrCat("p", i);
    p.name = p.id;
    p.category_path = {"C", absl::StrCat("S", i % 100)};
    p.active = true;
    products.products.push_back(std::move(p));
  }
  (void)(*ingestor)->SubmitAndWait(std::move(products));

  const int events = absl::GetFlag(FLAGS_events), batch = absl::GetFlag(FLAGS_batch);
  const int threads = absl::GetFlag(FLAGS_submitters);
  const int64_t now = clock.Now();
  // --feedback: one decision per customer, 30 days ago, 10 products.
  const bool feedback = absl::GetFlag(FLAGS_feedback);
  std::vector<std::string> decision_ids;
  if (feedback) {
    nb::core::DecisionIds ids(1, 1);
    const int customers = absl::GetFlag(FLAGS_customers);
    for (int c = 1; c <= customers; ++c) {
      nb::core::ServedDecision d;
      d.time = now - 31 * nb::core::kMsPerDay;
      d.id = ids.Next(d.time);
      d.customer_id = absl::StrCat("c", c);
      d.placement = "homepage";
      d.arms.emplace_back("bench_ab", c % 2 ? "a" : "b");
      for (int k = 0; k < 10; ++k) {
        d.products.push_back(static_cast<nb::core::ProductIndex>((c * 7 + k) % 32000));
      }
      decision_ids.push_back(d.id.Hex());
      live.decision_log.Append(std::move(d));
      if (c % 100000 == 0 || c == customers) {  // let the writer store them
        (void)(*ingestor)->SubmitAndWait(nb::storage::RecordEvents{});
      }
    }
  }
  std::atomic<int> next{0};
  std::atomic<int64_t> accepted{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      for (int first = next.fetch_add(batch); first < events; first = next.fetch_add(batch)) {
        nb::storage::RecordEvents cmd;
        for (int i = first; i < std::min(events, first + batch); ++i) {
          nb::storage::RawEvent e;
          e.event_id = absl::StrCat("e", i);
          e.time = now - static_cast<int64_t>(rng() % (30 * nb::core::kMsPerDay));
          e.channel = nb::core::Channel::kWeb;
          e.country = "NL";
          const int customer = 1 + static_cast<int>(rng() % absl::GetFlag(FLAGS_customers));
          e.customer_id = absl::StrCat("c", customer);
          const std::string product = absl::StrCat("p", 1 + rng() % absl::GetFlag(FLAGS_products));
          if (i % 10 == 0) {
            e.type = nb::core::EventType::kPurchase;
            e.lines = {{product, 1, 299}};
          } else {
            e.type = nb::core::EventType::kView;
            e.product_id = product;
            if (feedback) {
              e.type = nb::core::EventType::kProductClick;
              e.decision_id = decision_ids[customer - 1];
              e.position = 1;
              e.placement = "homepage";
            }
          }
          cmd.events.push_back(std::move(e));
        }
        auto r = (*ingestor)->SubmitAndWait(std::move(cmd));
        if (r.ok()) accepted += r->accepted;
      }
    });
  }
  for (auto& w : workers) w.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (feedback) std::printf("feedback: clicks name a stored decision; purchases attributed\n");
  std::printf("durability %s: %lld events in %.2f s = %.0f events/s (%lld write groups)\n",
              d.c_str(), static_cast<long long>(accepted.load()), secs, accepted / secs,
              static_cast<long long>((*ingestor)->counters().write_groups.load()));
  std::printf("ingest_inprocess_events_per_s %.0f\n", accepted / secs);
  ingestor->reset();
  store->reset();
  if (temp) std::filesystem::remove_all(dir);
  return accepted == events ? 0 : 1;
}
