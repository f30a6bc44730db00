#include "core/neighbours.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"

namespace nextbest::core {
namespace {

constexpr double kSecondsPerDay = 86400;

template <typename Record>
uint32_t TimeOf(const Record& r);
template <>
uint32_t TimeOf(const PurchaseRecord& r) {
  return r.last_s;
}
template <>
uint32_t TimeOf(const ViewedProduct& v) {
  return v.time_s;
}

// `id_less(a, b)`: product a's id sorts before b's.
template <typename Record, typename IdLess>
void Collect(size_t products, const std::vector<Record>& list, size_t limit, IdLess id_less,
             std::vector<HistoryItem>& out) {
  out.clear();
  for (const Record& r : list) {
    if (r.product < products) out.push_back({r.product, TimeOf(r)});
  }
  // Newest first, ties by id: the first `limit` are the most recent in
  // every process.
  auto newer = [&](const HistoryItem& a, const HistoryItem& b) {
    if (a.time_s != b.time_s) return a.time_s > b.time_s;
    return id_less(a.product, b.product);
  };
  if (out.size() > limit) {
    std::nth_element(out.begin(), out.begin() + limit, out.end(), newer);
    out.resize(limit);
  }
  std::sort(out.begin(), out.end(), newer);
  std::reverse(out.begin(), out.end());
}

template <typename IdLess>
void History(size_t products, const CustomerFeatures& f, HistoryKind kind, size_t limit,
             IdLess id_less, std::vector<HistoryItem>& out) {
  if (kind == HistoryKind::kBought) {
    Collect(products, f.purchases, limit, id_less, out);
  } else {
    Collect(products, f.recently_viewed, limit, id_less, out);
  }
}

}  // namespace

void CustomerHistory(const Catalog& catalog, const CustomerFeatures& f, HistoryKind kind,
                     size_t limit, std::vector<HistoryItem>& out) {
  History(
      catalog.product_count(), f, kind, limit,
      [&](ProductIndex a, ProductIndex b) { return catalog.product(a).id < catalog.product(b).id; },
      out);
}

double NeighbourBuilder::PairWeight(absl::Span<const HistoryItem> h, size_t i, size_t j,
                                    double customer) const {
  const size_t d = i > j ? i - j : j - i;
  double w = customer / (1.0 + o_.distance_decay * static_cast<double>(d - 1));
  if (j < i) w *= o_.backward_weight;
  if (o_.pair_half_life_days > 0) {
    const double days = std::abs(static_cast<double>(h[i].time_s) - h[j].time_s) / kSecondsPerDay;
    w *= std::exp2(-days / o_.pair_half_life_days);
  }
  return w;
}

std::vector<uint32_t> NeighbourBuilder::IdRanks() const {
  // Each product's place in id order: ties compare two integers, not two
  // strings (the order, and so the tables, are the same).
  const size_t products = catalog_.product_count();
  std::vector<uint32_t> rank(products);
  std::vector<ProductIndex> by_id(products);
  for (size_t i = 0; i < products; ++i) by_id[i] = static_cast<ProductIndex>(i);
  std::sort(by_id.begin(), by_id.end(), [&](ProductIndex a, ProductIndex b) {
    return catalog_.product(a).id < catalog_.product(b).id;
  });
  for (size_t i = 0; i < products; ++i) rank[by_id[i]] = static_cast<uint32_t>(i);
  return rank;
}

NeighbourHistories NeighbourBuilder::Histories(
    absl::Span<const CustomerFeatures* const> customers) const {
  const size_t products = catalog_.product_count();
  const size_t limit = static_cast<size_t>(std::max(1, o_.history_per_customer));
  const std::vector<uint32_t> rank = IdRanks();
  auto id_less = [&rank](ProductIndex a, ProductIndex b) { return rank[a] < rank[b]; };
  NeighbourHistories out;
  out.holders.assign(products, 0);
  std::vector<HistoryItem> h;
  for (const CustomerFeatures* f : customers) {
    History(products, *f, kind_, limit, id_less, h);
    for (const HistoryItem& item : h) out.holders[item.product] += 1;
    if (h.size() < 2) continue;
    out.items.insert(out.items.end(), h.begin(), h.end());
    out.starts.push_back(out.items.size());
  }
  return out;
}

void NeighbourHistories::Merge(const NeighbourHistories& other) {
  if (holders.size() < other.holders.size()) holders.resize(other.holders.size(), 0);
  for (size_t p = 0; p < other.holders.size(); ++p) holders[p] += other.holders[p];
  const size_t base = items.size();
  items.insert(items.end(), other.items.begin(), other.items.end());
  for (size_t h = 1; h < other.starts.size(); ++h) starts.push_back(base + other.starts[h]);
}

NeighbourTable NeighbourBuilder::FromHistories(const NeighbourHistories& histories) {
  const size_t products = catalog_.product_count();
  const size_t window = static_cast<size_t>(std::max(1, o_.pair_window));
  const std::vector<uint32_t> rank = IdRanks();
  std::vector<int64_t> holders(products, 0);
  for (size_t p = 0; p < products && p < histories.holders.size(); ++p) {
    holders[p] = histories.holders[p];
  }
  // The pairs each product is in, for the pass budget.
  std::vector<int64_t> load(products, 0);
  const auto& all = histories.items;
  const auto& starts = histories.starts;
  for (size_t c = 0; c + 1 < starts.size(); ++c) {
    const size_t n = starts[c + 1] - starts[c];
    for (size_t i = 0; i < n; ++i) {
      const ProductIndex p = all[starts[c] + i].product;
      if (p < products) {
        load[p] += static_cast<int64_t>(std::min(window, i) + std::min(window, n - 1 - i));
      }
    }
  }
  passes_ = 1;

  NeighbourTable t;
  t.offsets_.reserve(products + 1);
  t.offsets_.push_back(0);
  std::vector<Row> rows;
  for (size_t lo = 0; lo < products;) {
    // The next block: as many products as fit the pass budget (at least one).
    size_t hi = lo;
    int64_t pairs = 0;
    while (hi < products && (hi == lo || pairs + load[hi] <= o_.build_pairs_per_pass)) {
      pairs += load[hi++];
    }
    rows.assign(hi - lo, {});
    if (pairs > 0) {
      ++passes_;
      absl::flat_hash_map<uint64_t, int64_t> counts;
      const auto blo = static_cast<ProductIndex>(lo), bhi = static_cast<ProductIndex>(hi);
      for (size_t c = 0; c + 1 < starts.size(); ++c) {
        const auto h = absl::MakeConstSpan(all.data() + starts[c], starts[c + 1] - starts[c]);
        const size_t n = h.size();
        const double customer = std::pow(1.0 + static_cast<double>(n), -o_.heavy_customer_damping);
        for (size_t i = 0; i < n; ++i) {
          const ProductIndex a = h[i].product;
          if (a < blo || a >= bhi) continue;
          const size_t from = i > window ? i - window : 0, to = std::min(n, i + window + 1);
          for (size_t j = from; j < to; ++j) {
            if (j == i || h[j].product == a || h[j].product >= products) continue;
            counts[(static_cast<uint64_t>(a - blo) << 32) | h[j].product] +=
                std::llround(PairWeight(h, i, j, customer) * kPairWeightUnit);
          }
        }
      }
      for (const auto& [key, c] : counts) {
        rows[key >> 32].push_back({static_cast<ProductIndex>(key & 0xffffffffu), c});
      }
    }
    for (size_t a = lo; a < hi; ++a) {
      AppendScored(rows[a - lo], holders, static_cast<ProductIndex>(a), rank, t);
    }
    lo = hi;
  }
  t.items_.shrink_to_fit();
  return t;
}

void NeighbourBuilder::AppendScored(const Row& counts, const std::vector<int64_t>& holders,
                                    ProductIndex a, const std::vector<uint32_t>& rank,
                                    NeighbourTable& t) const {
  const size_t keep = static_cast<size_t>(std::max(1, o_.neighbours_per_product));
  const double beta = o_.popularity_damping;
  std::vector<Neighbour> row;
  row.reserve(counts.size());
  const double na = std::pow(static_cast<double>(holders[a]), 1 - beta);
  for (const auto& [b, count] : counts) {
    const double c = static_cast<double>(count) / kPairWeightUnit;
    const double score =
        c / (na * std::pow(static_cast<double>(holders[b]), beta)) * c / (c + o_.shrink);
    row.push_back({b, static_cast<float>(score)});
  }
  auto better = [&](const Neighbour& x, const Neighbour& y) {
    return x.score != y.score ? x.score > y.score : rank[x.product] < rank[y.product];
  };
  const size_t n = std::min(keep, row.size());
  std::partial_sort(row.begin(), row.begin() + n, row.end(), better);
  t.items_.insert(t.items_.end(), row.begin(), row.begin() + n);
  t.offsets_.push_back(static_cast<uint32_t>(t.items_.size()));
}

NeighbourTable NeighbourBuilder::Build(absl::Span<const CustomerFeatures* const> customers) {
  return FromHistories(Histories(customers));
}

namespace {

// Visits every entry in product-id space: products by id, each product's
// neighbours in table order (score, then id).
template <typename Visit>
void ForEachById(const NeighbourTable& table, const Catalog& catalog, Visit visit) {
  std::vector<ProductIndex> order(catalog.product_count());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<ProductIndex>(i);
  std::sort(order.begin(), order.end(), [&](ProductIndex a, ProductIndex b) {
    return catalog.product(a).id < catalog.product(b).id;
  });
  for (ProductIndex a : order) {
    for (const Neighbour& n : table.For(a)) {
      visit(catalog.product(a).id, catalog.product(n.product).id, n.score);
    }
  }
}

}  // namespace

std::string NeighboursText(const NeighbourTable& table, const Catalog& catalog) {
  std::string out;
  ForEachById(table, catalog, [&](const std::string& a, const std::string& b, float score) {
    absl::StrAppendFormat(&out, "%s\t%s\t%.9g\n", a, b, score);
  });
  return out;
}

uint64_t NeighboursFingerprint(const NeighbourTable& table, const Catalog& catalog, uint64_t h) {
  auto mix = [&h](const void* data, size_t n) {  // FNV-1a, 64 bits
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  };
  ForEachById(table, catalog, [&](const std::string& a, const std::string& b, float score) {
    mix(a.data(), a.size() + 1);  // with the terminating NUL as separator
    mix(b.data(), b.size() + 1);
    mix(&score, sizeof score);
  });
  return h;
}

}  // namespace nextbest::core
