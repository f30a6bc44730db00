#pragma once
// Generated worlds to evaluate against (`nextbest world`), written as an
// interaction log and an item file in the format `nextbest eval` reads.
//
//   demo  the demo retailer (tools/demo_retailer.h): seven planted personas,
//         easy to learn from.
//   hard  a harder shop: heavy-tailed popularity within and across 60
//         categories; customers with one to three tastes over eight latent
//         styles and heavy-tailed activity; sessions that browse within a
//         style; durable categories (never bought twice) next to
//         consumables bought again on a cycle; seasonal products, new
//         arrivals over the year, brands that follow styles and a house
//         brand on a third of the range; and noise (a tenth of all views at
//         random by popularity).
//   media a ratings log like a public film-ratings set: distinct items per
//         customer, rated in bursts genre by genre, tastes over 18 genres,
//         small franchises rated together; replay it with --event_as.
//
// Deterministic for a seed.

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace nextbest::tools::eval {

struct WorldOptions {
  std::string world = "hard";  // demo | hard | media
  int customers = 3000;
  int items = 4000;  // hard only; demo: its own range
  int days = 365;
  uint64_t seed = 7;
  int64_t end_ms = 1'790'000'000'000;  // the history ends here
};

// Writes the world's events (CSV: customer,item,timestamp,event_type,
// quantity,price) and items (CSV: item,name,category_path,brand,price,tags).
absl::Status WriteWorld(const WorldOptions& options, const std::string& events_path,
                        const std::string& items_path);

}  // namespace nextbest::tools::eval
