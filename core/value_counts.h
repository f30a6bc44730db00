#pragma once
// ValueCounts: an exact multiset of numbers as sorted (value, count) pairs.
// Two shards' multisets merge into the multiset of both, so a rank (a
// quantile, a median) over the merged counts is the very value one node
// would find over all the values: what makes the population's cut points
// global in a cluster (core/model_parts.h). At most one entry per distinct
// value, so never larger than the values themselves.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace nextbest::core {

// Merges `from` into `into`, both sorted by key with distinct keys; equal
// keys add their values.
template <typename K, typename V>
void MergeAdding(std::vector<std::pair<K, V>>& into, const std::vector<std::pair<K, V>>& from) {
  if (from.empty()) return;
  std::vector<std::pair<K, V>> merged;
  merged.reserve(into.size() + from.size());
  size_t i = 0, j = 0;
  while (i < into.size() || j < from.size()) {
    if (j == from.size() || (i < into.size() && into[i].first < from[j].first)) {
      merged.push_back(into[i++]);
    } else if (i == into.size() || from[j].first < into[i].first) {
      merged.push_back(from[j++]);
    } else {
      merged.push_back({into[i].first, into[i].second + from[j].second});
      ++i, ++j;
    }
  }
  into.swap(merged);
}

class ValueCounts {
 public:
  ValueCounts() = default;
  // Takes the values (any order).
  static ValueCounts Of(std::vector<double> values);
  // From pairs as a decoder reads them: sorted by value, counts > 0
  // (anything else is left out).
  static ValueCounts FromSorted(std::vector<std::pair<double, int64_t>> items);

  void Merge(const ValueCounts& other);
  int64_t total() const { return total_; }
  bool empty() const { return total_ == 0; }
  // The k-th smallest value, 0-based (clamped to the largest); 0 if empty.
  double AtRank(int64_t k) const;
  // The value at rank min(n - 1, floor(n × q)), as std::nth_element finds it.
  double Quantile(double q) const;
  const std::vector<std::pair<double, int64_t>>& items() const { return items_; }

  friend bool operator==(const ValueCounts& a, const ValueCounts& b) {
    return a.items_ == b.items_;
  }

 private:
  std::vector<std::pair<double, int64_t>> items_;
  int64_t total_ = 0;
};

}  // namespace nextbest::core
