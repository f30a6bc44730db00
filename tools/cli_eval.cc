// nextbest eval: offline replay evaluation of the placements on an
// interaction log (tools/eval/evaluator.h). In process: needs no server.

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "absl/strings/str_split.h"
#include "tools/cli.h"
#include "tools/eval/evaluator.h"
#include "tools/eval/worlds.h"

ABSL_FLAG(std::string, events, "", "eval: the interaction log (CSV with a header row, or .jsonl)");
ABSL_FLAG(std::string, items, "",
          "eval: the item file (CSV or .jsonl): category path, brand, price, tags");
ABSL_FLAG(std::string, split, "leave_last_out", "eval: leave_last_out | time_cut");
ABSL_FLAG(std::string, cut, "",
          "eval: time_cut's cut (RFC 3339); default at --cut_fraction of the log");
ABSL_FLAG(double, cut_fraction, 0.9,
          "eval: time_cut without --cut: this share of the interactions trains");
ABSL_FLAG(std::string, decide_at, "",
          "eval: ask every question at this time (RFC 3339, or 'now') instead of at the held-out "
          "interaction's: a log replayed through the API and asked afterwards");
ABSL_FLAG(int, k, 10, "eval: the length of the lists scored (HR@K, NDCG@K, MRR@K)");
ABSL_FLAG(std::string, placements, "",
          "eval: comma-separated placements (default: the personal ones)");
ABSL_FLAG(std::string, config, "", "eval: the config file (default: the shipped config)");
ABSL_FLAG(std::string, event_as, "",
          "eval: replay every interaction as this type (purchase | view): rating logs");
ABSL_FLAG(double, min_rating, 0, "eval: leave out interactions rated below this (0: keep all)");
ABSL_FLAG(std::string, world, "hard", "world: demo | hard | media");
ABSL_DECLARE_FLAG(int, customers);
ABSL_DECLARE_FLAG(int, products);
ABSL_DECLARE_FLAG(int, days);
ABSL_DECLARE_FLAG(uint64_t, seed);

namespace nextbest::cli {

int Eval() {
  if (absl::GetFlag(FLAGS_events).empty()) return Usage("eval: --events required");
  tools::eval::LogOptions log_options;
  if (!absl::GetFlag(FLAGS_event_as).empty()) {
    log_options.event_as = tools::eval::ParseEventType(absl::GetFlag(FLAGS_event_as));
    if (!log_options.event_as.has_value())
      return Usage("eval: --event_as: purchase, view, add_to_cart or return");
  }
  log_options.min_rating = absl::GetFlag(FLAGS_min_rating);
  auto log = tools::eval::ReadInteractions(absl::GetFlag(FLAGS_events), log_options);
  if (!log.ok()) return Usage("eval: " + std::string(log.status().message()));
  std::vector<tools::eval::ItemInfo> items;
  if (!absl::GetFlag(FLAGS_items).empty()) {
    auto read = tools::eval::ReadItems(absl::GetFlag(FLAGS_items));
    if (!read.ok()) return Usage("eval: " + std::string(read.status().message()));
    items = std::move(*read);
  }
  tools::eval::EvalOptions options;
  options.k = absl::GetFlag(FLAGS_k);
  options.config_path = absl::GetFlag(FLAGS_config);
  for (absl::string_view p :
       absl::StrSplit(absl::GetFlag(FLAGS_placements), ',', absl::SkipEmpty())) {
    options.placements.emplace_back(p);
  }
  if (const std::string at = absl::GetFlag(FLAGS_decide_at); at == "now") {
    options.decide_at_ms = absl::ToUnixMillis(absl::Now());
  } else if (!at.empty()) {
    options.decide_at_ms = tools::eval::ParseTimestamp(at);
    if (!options.decide_at_ms.has_value())
      return Usage("eval: --decide_at: an RFC 3339 time or 'now'");
  }
  if (absl::GetFlag(FLAGS_split) == "time_cut") {
    options.split = tools::eval::Split::kTimeCut;
    options.cut_fraction = absl::GetFlag(FLAGS_cut_fraction);
    if (!absl::GetFlag(FLAGS_cut).empty()) {
      options.cut_ms = tools::eval::ParseTimestamp(absl::GetFlag(FLAGS_cut));
      if (!options.cut_ms.has_value()) return Usage("eval: --cut: an RFC 3339 time");
    }
  } else if (absl::GetFlag(FLAGS_split) != "leave_last_out") {
    return Usage("eval: --split: leave_last_out or time_cut");
  }
  if (isatty(STDERR_FILENO)) {
    options.progress = [](const char* stage, int64_t done, int64_t total) {
      const int width = 40;
      const int filled = total > 0 ? static_cast<int>(width * done / total) : width;
      std::fprintf(stderr, "\r%-10s [%s%s] %lld/%lld", stage, std::string(filled, '#').c_str(),
                   std::string(width - filled, ' ').c_str(), static_cast<long long>(done),
                   static_cast<long long>(total));
      std::fflush(stderr);
    };
  }
  auto report = tools::eval::Evaluate(std::move(*log), items, options);
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\r%80s\r", "");
  if (!report.ok()) {
    std::fprintf(stderr, "nextbest eval: %s\n", std::string(report.status().message()).c_str());
    return static_cast<int>(report.status().code());
  }
  std::cout << (absl::GetFlag(FLAGS_json) ? tools::eval::ReportJson(*report) + "\n"
                                          : tools::eval::FormatReport(*report, options.k));
  return 0;
}

int World() {
  if (absl::GetFlag(FLAGS_events).empty() || absl::GetFlag(FLAGS_items).empty()) {
    return Usage("world: --events and --items (the files to write) required");
  }
  tools::eval::WorldOptions o;
  o.world = absl::GetFlag(FLAGS_world);
  o.customers = absl::GetFlag(FLAGS_customers);
  o.items = absl::GetFlag(FLAGS_products);
  o.days = absl::GetFlag(FLAGS_days);
  o.seed = absl::GetFlag(FLAGS_seed);
  if (absl::Status s =
          tools::eval::WriteWorld(o, absl::GetFlag(FLAGS_events), absl::GetFlag(FLAGS_items));
      !s.ok()) {
    return Usage(std::string(s.message()));
  }
  std::cout << "world " << o.world << ": events in " << absl::GetFlag(FLAGS_events) << ", items in "
            << absl::GetFlag(FLAGS_items) << "\n";
  return 0;
}

}  // namespace nextbest::cli
