// nextbest: the command-line client of a running nextbest-server. One
// command per run; the exit code is the gRPC status code (0 OK,
// 3 INVALID_ARGUMENT, 5 NOT_FOUND, 14 UNAVAILABLE, 16 UNAUTHENTICATED ...).
// The commands live per group in cli_*.cc; README "The command-line client"
// lists their flags.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "tools/cli.h"

namespace {

struct Command {
  const char* name;
  int (*run)();
  const char* summary;
  int (*run_kind)(absl::string_view) = nullptr;  // commands with a kind: `import products`
};

constexpr Command kCommands[] = {
    {"recommend", nextbest::cli::Recommend,
     "a placement's answer for a customer (--placement, --customer, ...)"},
    {"newsletter", nextbest::cli::Newsletter,
     "one decision per customer, the newsletter run (DecideForAll)"},
    {"ping", nextbest::cli::Ping, "an empty round trip"},
    {"profile", nextbest::cli::Profile, "a customer's attributes, features and segments"},
    {"track", nextbest::cli::Track, "record events (--file=events.jsonl, or one from flags)"},
    {"demo-data", nextbest::cli::DemoData, "load the generated demo retailer through the API"},
    {"health", nextbest::cli::Health, "the standard health check"},
    {"reload-config", nextbest::cli::ReloadConfig, "re-read the server's config file"},
    {"rebuild-models", nextbest::cli::RebuildModels,
     "rebuild neighbours, cut points, segment sizes now"},
    {"segments", nextbest::cli::Segments, "segment sizes and RFM cut points"},
    {"experiments", nextbest::cli::Experiments,
     "experiment and holdout report: uplift with intervals (--id)"},
    {"simulate-ab", nextbest::cli::SimulateAb,
     "demo customers react to what they are shown, then the report"},
    {"checkpoint", nextbest::cli::Checkpoint, "a consistent copy of the database (--dir)"},
    {"consent", nextbest::cli::Consent, "change a customer's consents"},
    {"erase", nextbest::cli::Erase, "GDPR erasure; prints the receipt"},
    {"export", nextbest::cli::Export, "everything held about a customer, one JSON document"},
    {"erasures", nextbest::cli::Erasures,
     "every erasure on record (hashes and times), for backups"},
    {"hash-token", nextbest::cli::HashToken,
     "the token_sha256 of a caller's token (--new_token makes one)"},
    {"import", nullptr,
     "load products|stores|stock|events from a file (--file; CSV, JSON lines, Merchant XML)",
     nextbest::cli::Import},
    {"eval", nextbest::cli::Eval,
     "offline evaluation of the placements on an interaction log (--events)"},
    {"world", nextbest::cli::World, "write a generated world's log for eval (--world=demo|hard)"},
};

std::string UsageText() {
  std::string text = "nextbest [--target=HOST:PORT] COMMAND [flags]\n\ncommands:\n";
  for (const Command& c : kCommands)
    absl::StrAppend(&text, "  ", c.name, std::string(16 - std::string(c.name).size(), ' '),
                    c.summary, "\n");
  absl::StrAppend(
      &text,
      "\nCalls carry the caller's token: --token_file or $NEXTBEST_TOKEN, else the admin token\n"
      "(--admin_token_file, $NEXTBEST_ADMIN_TOKEN, or --data_dir: DATA_DIR/admin_token).\n"
      "Exit code = the gRPC status code.");
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(UsageText());
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) return nextbest::cli::Usage("expected a command");
  const std::string name = args[1];
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    if (c.run_kind != nullptr) {
      if (args.size() != 3) return nextbest::cli::Usage(name + ": expected a kind, e.g. products");
      return c.run_kind(args[2]);
    }
    if (args.size() != 2) return nextbest::cli::Usage("expected exactly one command");
    return c.run();
  }
  return nextbest::cli::Usage("unknown command '" + name + "'");
}
