#include "tools/eval/metrics.h"

#include <algorithm>
#include <cmath>

namespace nextbest::tools::eval {

void RankingMetrics::Add(const std::vector<uint32_t>& recommended,
                         const absl::flat_hash_set<uint32_t>& relevant,
                         const absl::flat_hash_set<uint32_t>& bought,
                         const absl::flat_hash_set<uint32_t>& durable,
                         const absl::flat_hash_set<uint32_t>& touched,
                         const std::vector<uint32_t>& category_of) {
  ++cases_;
  const size_t n = std::min(recommended.size(), static_cast<size_t>(k_));
  double dcg = 0, first = 0;
  int found = 0;
  absl::flat_hash_set<uint32_t> categories;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t item = recommended[i];
    seen_.insert(item);
    ++items_;
    bought_items_ += bought.contains(item);
    durable_items_ += durable.contains(item);
    if (item < category_of.size()) categories.insert(category_of[item]);
    if (relevant.contains(item)) {
      dcg += 1.0 / std::log2(static_cast<double>(i) + 2);
      if (found++ == 0) first = 1.0 / static_cast<double>(i + 1);
    }
  }
  double ideal = 0;
  for (size_t i = 0; i < std::min(relevant.size(), static_cast<size_t>(k_)); ++i) {
    ideal += 1.0 / std::log2(static_cast<double>(i) + 2);
  }
  hits_ += found > 0;
  ndcg_ += ideal > 0 ? dcg / ideal : 0;
  mrr_ += first;
  recall_ +=
      relevant.empty() ? 0 : static_cast<double>(found) / static_cast<double>(relevant.size());
  diversity_ += n > 0 ? static_cast<double>(categories.size()) / static_cast<double>(n) : 0;
  bool repeat = false, novel = true;
  for (uint32_t item : relevant) {
    repeat |= bought.contains(item);
    novel &= !touched.contains(item);
  }
  if (repeat) {
    ++repeat_cases_;
    repeat_hits_ += found > 0;
  }
  if (novel) {
    ++novel_cases_;
    novel_hits_ += found > 0;
  }
}

Summary RankingMetrics::Summarize(size_t catalog_items) const {
  Summary s;
  s.cases = cases_;
  if (cases_ == 0) return s;
  const double c = static_cast<double>(cases_);
  s.hit_rate = static_cast<double>(hits_) / c;
  s.ndcg = ndcg_ / c;
  s.mrr = mrr_ / c;
  s.recall = recall_ / c;
  s.diversity = diversity_ / c;
  s.mean_length = static_cast<double>(items_) / c;
  s.coverage = catalog_items > 0
                   ? static_cast<double>(seen_.size()) / static_cast<double>(catalog_items)
                   : 0;
  s.bought_share =
      items_ > 0 ? static_cast<double>(bought_items_) / static_cast<double>(items_) : 0;
  s.durable_share =
      items_ > 0 ? static_cast<double>(durable_items_) / static_cast<double>(items_) : 0;
  s.repeat_cases = repeat_cases_;
  s.repeat_hit_rate = repeat_cases_ > 0
                          ? static_cast<double>(repeat_hits_) / static_cast<double>(repeat_cases_)
                          : 0;
  s.novel_cases = novel_cases_;
  s.novel_hit_rate =
      novel_cases_ > 0 ? static_cast<double>(novel_hits_) / static_cast<double>(novel_cases_) : 0;
  return s;
}

}  // namespace nextbest::tools::eval
