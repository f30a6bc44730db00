#include "core/value_counts.h"

#include <algorithm>
#include <cmath>

namespace nextbest::core {

ValueCounts ValueCounts::Of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  ValueCounts out;
  for (double v : values) {
    if (!out.items_.empty() && out.items_.back().first == v) {
      ++out.items_.back().second;
    } else {
      out.items_.push_back({v, 1});
    }
  }
  out.total_ = static_cast<int64_t>(values.size());
  return out;
}

ValueCounts ValueCounts::FromSorted(std::vector<std::pair<double, int64_t>> items) {
  ValueCounts out;
  for (const auto& [v, n] : items) {
    if (n <= 0 || !std::isfinite(v)) continue;
    if (!out.items_.empty() && !(out.items_.back().first < v)) {
      if (out.items_.back().first != v) continue;  // out of order: left out
      out.items_.back().second += n;
    } else {
      out.items_.push_back({v, n});
    }
    out.total_ += n;
  }
  return out;
}

void ValueCounts::Merge(const ValueCounts& other) {
  MergeAdding(items_, other.items_);
  total_ += other.total_;
}

double ValueCounts::AtRank(int64_t k) const {
  if (items_.empty()) return 0;
  for (const auto& [v, n] : items_) {
    if (k < n) return v;
    k -= n;
  }
  return items_.back().first;
}

double ValueCounts::Quantile(double q) const {
  if (total_ == 0) return 0;
  const auto n = static_cast<double>(total_);
  const auto k = std::min<int64_t>(total_ - 1, static_cast<int64_t>(n * q));
  return AtRank(k);
}

}  // namespace nextbest::core
