#pragma once
// Ranking metrics over the test cases of an offline evaluation: hit rate,
// NDCG and MRR at K, recall, catalog coverage, the share of already-bought
// items in the answers, and intra-list category diversity. Items are dense
// indices (the evaluator's item table). Pure and deterministic.

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace nextbest::tools::eval {

struct Summary {
  int64_t cases = 0;           // test cases (customers) answered
  double hit_rate = 0;         // share of cases with a relevant item in the top K
  double ndcg = 0;             // mean NDCG@K (binary relevance)
  double mrr = 0;              // mean reciprocal rank of the first hit within K
  double recall = 0;           // mean share of the relevant items in the top K
  double coverage = 0;         // distinct items recommended / catalog items
  double bought_share = 0;     // recommended items the customer had bought / all recommended
  double durable_share = 0;    // of them the bought durables (may not come back) / all recommended
  double diversity = 0;        // mean distinct leaf categories / list length
  double mean_length = 0;      // mean number of items per answer (<= K)
  int64_t repeat_cases = 0;    // cases whose relevant item was bought before
  double repeat_hit_rate = 0;  // hit rate over those (recall@K of due repeat purchases)
  int64_t novel_cases = 0;     // cases whose relevant item the customer never touched
  double novel_hit_rate = 0;   // hit rate over those: discovery
};

class RankingMetrics {
 public:
  explicit RankingMetrics(int k) : k_(k) {}

  // One test case. `recommended` in rank order (only the first K count);
  // `relevant` the held-out items; `bought` what the customer bought in
  // training, `durable` those of them that may not be offered again (the
  // repurchase profiles: a durable bought once), `touched` every item they
  // interacted with; `category_of` maps an item to its leaf category.
  void Add(const std::vector<uint32_t>& recommended, const absl::flat_hash_set<uint32_t>& relevant,
           const absl::flat_hash_set<uint32_t>& bought,
           const absl::flat_hash_set<uint32_t>& durable,
           const absl::flat_hash_set<uint32_t>& touched, const std::vector<uint32_t>& category_of);

  Summary Summarize(size_t catalog_items) const;

 private:
  const int k_;
  int64_t cases_ = 0, hits_ = 0, items_ = 0, bought_items_ = 0, durable_items_ = 0;
  double ndcg_ = 0, mrr_ = 0, recall_ = 0, diversity_ = 0;
  int64_t repeat_cases_ = 0, repeat_hits_ = 0, novel_cases_ = 0, novel_hits_ = 0;
  absl::flat_hash_set<uint32_t> seen_;
};

}  // namespace nextbest::tools::eval
