#pragma once
// LiveState: everything Recommend reads, published by the single writer.
//
// Readers: hold a ReadGuard on `epochs` for the whole decision, then read
// catalog.Get(), trending.Get(), placements.Get() and customers.Find(). Each
// pointer stays valid until the guard ends; nothing is locked or copied.
// Writer (storage/Ingestor, one thread): builds new immutable objects and
// publishes them; the old ones are retired and reclaimed later.

#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/catalog.h"
#include "core/customer_index.h"
#include "core/decision.h"
#include "core/epoch.h"
#include "core/features.h"
#include "core/trending.h"

namespace nextbest::core {

// The placements served, by id. Immutable once published.
struct PlacementTable {
  std::vector<PlacementSpec> placements;
  absl::flat_hash_map<std::string, size_t> by_id;

  static PlacementTable FromSpecs(std::vector<PlacementSpec> specs) {
    PlacementTable t;
    t.placements = std::move(specs);
    for (size_t i = 0; i < t.placements.size(); ++i) t.by_id[t.placements[i].id] = i;
    return t;
  }
  const PlacementSpec* Find(absl::string_view id) const {
    auto it = by_id.find(id);
    return it == by_id.end() ? nullptr : &placements[it->second];
  }
};

struct LiveState {
  // Declared first: destroyed last, after everything that retires into it.
  EpochDomain epochs;
  CustomerIndex customers{epochs};
  Published<Catalog> catalog;
  Published<TrendingSnapshot> trending;
  Published<PlacementTable> placements;
};

}  // namespace nextbest::core
