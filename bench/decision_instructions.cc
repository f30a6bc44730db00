// Runs a fixed number of decisions of one placement on a fixed small
// dataset, for `valgrind --tool=callgrind --toggle-collect=...Decide...`:
// instruction counts are exact and repeatable on a noisy machine, so the
// test bench/instructions_test.sh can hold every placement to its recorded
// budget (bench/decision_instructions.txt).
//   decision_instructions PLACEMENT_INDEX DECISIONS
//   decision_instructions --count      (prints the number of placements)

#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/bench_world.h"

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--count") {
    auto config = nextbest::server::ParseConfig("");
    if (!config.ok()) return 1;
    std::printf("%zu\n", config->decisions.placements.size());
    return 0;
  }
  if (argc != 3) {
    std::fprintf(stderr, "usage: decision_instructions PLACEMENT_INDEX DECISIONS\n");
    return 2;
  }
  nextbest::bench::World world(/*products=*/2000, /*stores=*/70, /*customers=*/1000);
  const auto& spec = world.placement(std::atoi(argv[1]));
  const int n = std::atoi(argv[2]);
  size_t items = 0;
  for (int i = 0; i < n; ++i) {
    items += world.Decide(spec, absl::StrCat("c", 1 + (i * 7919) % world.customers)).items.size();
  }
  std::printf("%s %d decisions, %zu items\n", spec.id.c_str(), n, items);
  return 0;
}
