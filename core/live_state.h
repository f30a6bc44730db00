#pragma once
// LiveState: everything Recommend reads, published by the single writer.
//
// Readers: hold a ReadGuard on `epochs` for the whole decision, then read
// catalog.Get(), trending.Get(), config.Get(), models.Get() and
// customers.Find(). Each
// pointer stays valid until the guard ends; nothing is locked or copied.
// Writer (storage/Ingestor, one thread): builds new immutable objects and
// publishes them; the old ones are retired and reclaimed later.

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "core/attribution.h"
#include "core/caps.h"
#include "core/catalog.h"
#include "core/customer_index.h"
#include "core/decision.h"
#include "core/decision_config.h"
#include "core/decision_log.h"
#include "core/epoch.h"
#include "core/features.h"
#include "core/models.h"
#include "core/trending.h"

namespace nextbest::core {

struct LiveState {
  // Declared first: destroyed last, after everything that retires into it.
  EpochDomain epochs;
  CustomerIndex customers{epochs};
  Published<Catalog> catalog;
  Published<TrendingSnapshot> trending;
  Published<DecisionConfig> config;
  Published<Models> models;
  OfferLedger offers;
  // Decision ids (seeded at random by the server) and the log of assigned
  // decisions the writer drains.
  DecisionIds decision_ids{0, 0};
  DecisionLog decision_log;
  // Per experiment and variant: the sums the report reads (the writer
  // keeps them equal to the stored exposure entries).
  ExperimentTotals experiment_totals;
};

}  // namespace nextbest::core
