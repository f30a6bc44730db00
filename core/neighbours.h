#pragma once
// Item-to-item neighbours: "customers who bought (viewed) this also bought
// (viewed)", learned from every customer's history.
//
// A customer's history is their distinct products in time order (bought:
// the purchase list; viewed: the recently viewed list), at most
// `history_per_customer` of the most recent. Every pair of products at most
// `pair_window` positions apart counts, weighted by
//
//   1 / (1 + distance_decay × (positions apart - 1))   closer pairs count more
//   × backward_weight                                  if the neighbour came first
//   × 2^(-days apart / pair_half_life_days)            (0 = off)
//   × (1 + history length)^-heavy_customer_damping     a long history speaks
//                                                      less per pair
//
// and the score of neighbour b for product a is
//
//   C(a→b) / (N(a)^(1-β) × N(b)^β) × C(a→b) / (C(a→b) + shrink)
//
// with C the summed pair weights, N the customers with the product and β
// the popularity damping (0: P(b|a), follows popularity; 0.5: cosine).
// The strongest `neighbours_per_product` are kept.
//
// Counting is exact: products are taken in blocks small enough that the
// block's pairs fit `build_pairs_per_pass` (a pass over the customers per
// block), so memory is bounded whatever the population. Deterministic:
// customers are read in id order, ties in time and in score are broken by
// product id, so the same events give the same neighbours in any process,
// whatever order products were interned in, after any restart.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "core/catalog.h"
#include "core/features.h"

namespace nextbest::core {

struct Neighbour {
  ProductIndex product;
  float score;
};

// Neighbours per product, highest score first (one flat array).
class NeighbourTable {
 public:
  absl::Span<const Neighbour> For(ProductIndex p) const {
    if (p + 1 >= offsets_.size()) return {};
    return absl::MakeConstSpan(items_.data() + offsets_[p], offsets_[p + 1] - offsets_[p]);
  }
  size_t entries() const { return items_.size(); }
  size_t bytes() const {
    return offsets_.capacity() * sizeof(uint32_t) + items_.capacity() * sizeof(Neighbour);
  }

 private:
  friend class NeighbourBuilder;
  std::vector<uint32_t> offsets_;  // product_count + 1
  std::vector<Neighbour> items_;
};

struct NeighbourOptions {
  int neighbours_per_product = 30;
  int history_per_customer = 200;
  int pair_window = 10;
  double distance_decay = 0.3;
  double backward_weight = 0.6;
  double pair_half_life_days = 0;
  double heavy_customer_damping = 0.3;
  double popularity_damping = 0.5;
  double shrink = 2;
  int64_t build_pairs_per_pass = 4'000'000;
};

enum class HistoryKind : uint8_t { kBought, kViewed };

struct HistoryItem {
  ProductIndex product;
  uint32_t time_s;
};

// The customer's products of `kind` in time order, oldest first, at most
// the `limit` most recent; ties in time by product id.
void CustomerHistory(const Catalog& catalog, const CustomerFeatures& f, HistoryKind kind,
                     size_t limit, std::vector<HistoryItem>& out);

// A pair weight as counted: in units of 2^-32, so that sums are integers
// and come out the same in any order of the customers.
inline constexpr double kPairWeightUnit = 4294967296.0;

// What a table is built from: every customer's history (their distinct
// products in time order, at most history_per_customer), without the
// customer. A shard's histories merged with the others' give the whole
// population's, from which every node builds exactly the table one node
// builds over all customers (core/model_parts.h). Histories are in no
// particular customer order: the counts are integers, their sums do not
// depend on it.
struct NeighbourHistories {
  std::vector<int64_t> holders;  // by product: customers with it in their history
  // Histories of two products or more, one after another: history h is
  // items[starts[h] .. starts[h + 1]).
  std::vector<HistoryItem> items;
  std::vector<size_t> starts = {0};
  void Merge(const NeighbourHistories& other);
  size_t histories() const { return starts.size() - 1; }
};

// Builds one table over `customers` (in id order). Single-threaded; the
// states are only read.
class NeighbourBuilder {
 public:
  NeighbourBuilder(const NeighbourOptions& options, const Catalog& catalog, HistoryKind kind)
      : o_(options), catalog_(catalog), kind_(kind) {}
  NeighbourTable Build(absl::Span<const CustomerFeatures* const> customers);
  // Build is FromHistories(Histories(customers)).
  NeighbourHistories Histories(absl::Span<const CustomerFeatures* const> customers) const;
  NeighbourTable FromHistories(const NeighbourHistories& histories);
  // Passes over the customers the last Build needed (1 + blocks).
  int passes() const { return passes_; }

 private:
  using Row = std::vector<std::pair<ProductIndex, int64_t>>;
  // The weight of the pair (i, j) of one history, i != j, from i's side.
  double PairWeight(absl::Span<const HistoryItem> h, size_t i, size_t j, double customer) const;
  // Scores one product's row and appends its strongest neighbours to `t`.
  void AppendScored(const Row& row, const std::vector<int64_t>& holders, ProductIndex a,
                    const std::vector<uint32_t>& rank, NeighbourTable& t) const;
  std::vector<uint32_t> IdRanks() const;

  const NeighbourOptions o_;
  const Catalog& catalog_;
  const HistoryKind kind_;
  int passes_ = 0;
};

// The table as text in product-id space ("a b score" per line, ids sorted),
// the same in every process for the same events: for tests and dumps.
std::string NeighboursText(const NeighbourTable& table, const Catalog& catalog);
// A 64-bit hash of the same (FNV-1a from `seed`): equal for equal tables in
// any process.
uint64_t NeighboursFingerprint(const NeighbourTable& table, const Catalog& catalog,
                               uint64_t seed = 0xcbf29ce484222325ULL);

}  // namespace nextbest::core
