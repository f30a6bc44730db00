// The candidate sources, one row each: names, consent, gather, reason.

#include "core/sources.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_format.h"
#include "core/decision_internal.h"

namespace nextbest::core {
namespace internal {
namespace {

// Brand affinity leaves out brands on this share of the range or more.
constexpr double kHouseBrandShare = 0.5;

// The customer's strongest categories or brands (all scores share one
// reference time, so the order needs no decay), with their share of the
// total. Entries for which `counts` is false are left out, of the total too.
template <typename Entry>
struct TopScores {
  int n = 0;
  std::array<Entry, 3> top;
};
template <typename List, typename Counts, typename Entry = typename List::value_type>
TopScores<Entry> Favourites(const List& list, Counts counts) {
  TopScores<Entry> t;
  double total = 0;
  for (const Entry& a : list) {
    if (a.score <= 0 || !counts(a)) continue;
    total += a.score;
    int i = t.n < 3 ? t.n++ : 3;
    if (i == 3) {
      if (a.score <= t.top[2].score) continue;
      i = 2;
    }
    t.top[i] = a;
    while (i > 0 && t.top[i].score > t.top[i - 1].score) {
      std::swap(t.top[i], t.top[i - 1]);
      --i;
    }
  }
  for (int i = 0; i < t.n; ++i) t.top[i].score /= total;
  return t;
}

absl::string_view ProductName(const Catalog& catalog, ProductIndex p) {
  return p < catalog.product_count() ? absl::string_view(catalog.product(p).name) : "";
}
absl::string_view CategoryName(const Catalog& catalog, CategoryIndex c) {
  return c < catalog.category_count() ? CategoryLeaf(catalog.category_name(c)) : "";
}

// --- recently viewed: 1 / (1 + age in days), most recent first -----------

void GatherRecentlyViewed(const Pipeline& p, const SourceSpec& src, ProposalSink& sink) {
  const CustomerFeatures* f = p.features();
  if (f == nullptr) return;
  int n = 0;
  for (const ViewedProduct& v : f->recently_viewed) {
    if (n++ >= src.limit) break;
    const double age_days = std::max<double>(0, p.request.now - v.time()) / kMsPerDay;
    // Ties (views at the same time) keep the list's order.
    sink.Propose(v.product, (1.0 - n * 1e-4) / (1.0 + age_days), 0, v.time());
  }
}
void WhenFacts(const Proposal& best, DecidedItem& item) { item.when = best.when; }
void DescribeRecentlyViewed(const Catalog&, const DecisionConfig&, const DecidedItem& item,
                            CountryIndex, TimeMs now, std::string& out) {
  out.append("you viewed this ");
  AppendAgo(item.when, now, out);
}

// --- trending: the decayed popularity list of the source's scope ---------

// The list a source of `scope` reads, and the store or category it is for
// (kNoStore / kNoCategory for a market list).
struct TrendingList {
  absl::Span<const TrendingEntry> entries;
  TrendingScope scope;
  uint32_t aux;
};
TrendingList TrendingFor(const Pipeline& p, TrendingScope scope) {
  switch (scope) {
    case TrendingScope::kOverall:
      return {p.trending.For(kNoCountry), scope, 0};
    case TrendingScope::kStore: {
      StoreIndex store = p.request.store;
      if (store == kNoStore && p.personal) store = p.request.customer->attributes.home_store;
      const auto list = p.trending.ForStore(store);
      if (!list.empty()) return {list, scope, store};
      break;
    }
    case TrendingScope::kCategory: {
      if (p.request.current_product < p.catalog.product_count()) {
        const CategoryIndex c = p.catalog.product(p.request.current_product).category;
        const auto list = p.trending.ForCategory(c);
        if (!list.empty()) return {list, scope, c};
      }
      break;
    }
    case TrendingScope::kMarket:
      break;
  }
  return {p.trending.For(p.out.country), TrendingScope::kMarket, 0};
}
void GatherTrending(const Pipeline& p, const SourceSpec& src, ProposalSink& sink) {
  const TrendingList list = TrendingFor(p, src.scope);
  int n = 0;
  for (const TrendingEntry& e : list.entries) {
    if (n++ >= src.limit) break;
    sink.Propose(e.product, p.trending.ScoreAt(e, p.request.now), list.aux, 0, 0, list.scope);
  }
}
void TrendingFacts(const Proposal& best, DecidedItem& item) {
  if (best.scope == TrendingScope::kStore) item.store = best.aux;
  if (best.scope == TrendingScope::kCategory) item.category = best.aux;
  item.all_markets = best.scope == TrendingScope::kOverall;
}
void DescribeTrending(const Catalog& catalog, const DecisionConfig&, const DecidedItem& item,
                      CountryIndex country, TimeMs, std::string& out) {
  if (item.store < catalog.store_count()) {
    absl::StrAppendFormat(&out, "popular in %s right now", catalog.store(item.store).name);
  } else if (item.category < catalog.category_count()) {
    absl::StrAppendFormat(&out, "popular in %s right now", CategoryName(catalog, item.category));
  } else {
    const CountryIndex c = item.all_markets ? kNoCountry : country;
    absl::StrAppendFormat(&out, "popular in %s right now",
                          c < catalog.market_count() ? catalog.market_code(c) : "all markets");
  }
}

// --- replenishment: repeat purchases that are due, most due first --------

void GatherReplenishment(const Pipeline& p, const SourceSpec&, ProposalSink& sink) {
  const CustomerFeatures* f = p.features();
  if (f == nullptr) return;
  for (const PurchaseRecord& rec : f->purchases) {
    if (static_cast<int>(rec.count) < p.spec.min_purchases) continue;
    const TimeMs interval = rec.TypicalInterval();
    if (interval <= 0) continue;
    const double overdue = static_cast<double>(p.request.now - rec.last()) / interval;
    if (overdue < p.spec.due_fraction) continue;
    if (p.spec.max_overdue > 0 && overdue > p.spec.max_overdue) continue;
    // Just due scores 1, each interval late less.
    sink.Propose(rec.product, 1.0 / (1.0 + std::max(0.0, overdue - 1.0)), rec.count, rec.last(),
                 interval);
  }
}
void ReplenishmentFacts(const Proposal& best, DecidedItem& item) {
  item.when = best.when;
  item.interval = best.interval;
  item.purchases = best.aux;
}
void DescribeReplenishment(const Catalog&, const DecisionConfig&, const DecidedItem& item,
                           CountryIndex, TimeMs now, std::string& out) {
  absl::StrAppendFormat(&out, "bought %d times, about every %d days; last ", item.purchases,
                        std::max(1, Days(item.interval)));
  AppendAgo(item.when, now, out);
}

// --- neighbours: co-purchase and co-view of the seed products ------------

// Seeds: the product on screen and the cart (weight 1), and the
// customer's most recent products, viewed and bought merged by time (the
// k-th most recent weighing seed_decay^k). Each neighbour's score is the
// sum over the seeds of weight × similarity (a seed of weight w reads its
// strongest w × N neighbours); the customer's own products
// that a rule keeps out are skipped here, so `limit` counts products that
// can be shown.
void GatherNeighbours(const Pipeline& p, const SourceSpec& src, ProposalSink& sink) {
  const Models* models = p.request.models;
  if (models == nullptr) return;
  const NeighbourTable& table =
      src.source == Source::kCoPurchase ? models->co_purchase : models->co_view;
  struct SeedProduct {
    ProductIndex product;
    float weight;
  };
  absl::InlinedVector<SeedProduct, 32> seeds;
  size_t expected = 0;
  auto add = [&](ProductIndex product, double weight) {
    for (const SeedProduct& s : seeds) {
      if (s.product == product) return false;
    }
    seeds.push_back({product, static_cast<float>(weight)});
    expected += table.For(product).size();
    return true;
  };
  if (src.seed != Seed::kHistory) {
    if (p.request.current_product != kNoProduct) add(p.request.current_product, 1.0);
    for (ProductIndex c : p.request.cart) add(c, 1.0);
  }
  const CustomerFeatures* f = p.features();
  if (src.seed != Seed::kContext && f != nullptr) {
    // Both lists are ordered latest first: merge them.
    const auto& views = f->recently_viewed;
    const auto& bought = f->purchases;
    size_t v = 0, b = 0;
    double weight = 1;
    for (int taken = 0; taken < src.seeds && (v < views.size() || b < bought.size());) {
      const bool view =
          b >= bought.size() || (v < views.size() && views[v].time_s >= bought[b].last_s);
      const ProductIndex product = view ? views[v++].product : bought[b++].product;
      if (add(product, weight)) {
        weight *= src.seed_decay;
        ++taken;
      }
    }
  }
  if (seeds.empty()) return;
  Scratch& s = p.s;
  s.PrepareAcc(expected);
  // A seed weighing w reads its strongest max(w x N, 5) neighbours of N,
  // and never more than the source's `limit`: a weak seed's weak
  // neighbours cannot reach the top `limit` (2.5x fewer reads at the
  // default 8 seeds and decay 0.7; the same eval figures).
  const size_t cap = static_cast<size_t>(std::max(src.limit, 5));
  for (const SeedProduct& seed : seeds) {
    const auto all = table.For(seed.product);
    const size_t take =
        std::min({all.size(), cap,
                  std::max<size_t>(5, static_cast<size_t>(std::ceil(seed.weight * all.size())))});
    for (const Neighbour& n : all.first(take)) {
      s.Accumulate(n.product, n.score * seed.weight, seed.product);
    }
  }
  // The strongest `limit` that no rule about the customer's own products
  // keeps out: the strongest still wanted are picked, then checked, until
  // `limit` pass (few of a customer's neighbours are their own, so the
  // rules look at about `limit` products, not at every one gathered).
  std::vector<uint32_t>& used = s.acc_used;
  auto stronger = [&s](uint32_t a, uint32_t b) {
    return s.acc[a].score != s.acc[b].score ? s.acc[a].score > s.acc[b].score
                                            : s.acc[a].product < s.acc[b].product;
  };
  const size_t limit = static_cast<size_t>(std::max(0, src.limit));
  size_t kept = 0;
  for (auto next = used.begin(); kept < limit && next != used.end();) {
    const auto end =
        next + static_cast<std::ptrdiff_t>(std::min<size_t>(limit - kept, used.end() - next));
    std::nth_element(next, end, used.end(), stronger);
    for (; next != end; ++next) {
      const Scratch::Acc& a = s.acc[*next];
      if (CheckOwn(p, a.product, false).has_value()) continue;
      sink.Propose(a.product, a.score, a.seed);
      ++kept;
    }
  }
}
void SeedFacts(const Proposal& best, DecidedItem& item) { item.seed = best.aux; }
void DescribeCoPurchase(const Catalog& catalog, const DecisionConfig&, const DecidedItem& item,
                        CountryIndex, TimeMs, std::string& out) {
  absl::StrAppendFormat(&out, "often bought together with %s", ProductName(catalog, item.seed));
}
void DescribeCoView(const Catalog& catalog, const DecisionConfig&, const DecidedItem& item,
                    CountryIndex, TimeMs, std::string& out) {
  absl::StrAppendFormat(&out, "viewed by others who viewed %s", ProductName(catalog, item.seed));
}

// --- affinity and new arrivals: the customer's favourite categories ------

// The customer's taste for a category: their share of interest in it,
// lifted by how much more that is than the population's mean share (the
// square root of the lift, so a stray view in a rare category does not
// outrank a real interest): a category everybody likes ranks below a
// customer's distinctive ones. Without models, the share alone.
double Taste(const Models* models, const CategoryScore& c) {
  if (models == nullptr || c.category >= models->category_interest.size()) return c.score;
  const double mean = std::max<double>(models->category_interest[c.category], 1e-3);
  return c.score * std::sqrt(c.score / mean);
}

// Within a category, popularity counts by its square root: the category's
// best-seller does not drown its next ones.
void GatherCategories(const Pipeline& p, const SourceSpec& src, ProposalSink& sink) {
  const CustomerFeatures* f = p.features();
  if (f == nullptr) return;
  const Models* models = p.request.models;
  double total = 0;
  for (const CategoryScore& a : f->affinities) total += std::max(0.0, a.score);
  if (total <= 0) return;
  absl::InlinedVector<CategoryScore, 16> tastes;
  for (const CategoryScore& a : f->affinities) {
    if (a.score > 0) tastes.push_back({a.category, Taste(models, {a.category, a.score / total})});
  }
  const auto top = Favourites(tastes, [](const CategoryScore&) { return true; });
  for (int i = 0; i < top.n; ++i) {
    const CategoryScore& c = top.top[i];
    const int per = std::max(1, src.limit / top.n);
    int n = 0;
    if (src.source == Source::kAffinity) {
      const auto list = p.trending.ForCategory(c.category);
      if (list.empty()) continue;
      const double best = list.front().score;
      for (const TrendingEntry& e : list) {
        if (n >= per) break;
        if (CheckOwn(p, e.product, false).has_value()) continue;
        ++n;
        sink.Propose(e.product, c.score * std::sqrt(e.score / best), c.category);
      }
    } else if (models != nullptr && c.category < models->new_arrivals.size()) {
      for (ProductIndex product : models->new_arrivals[c.category]) {
        if (n++ >= per) break;
        sink.Propose(product, c.score / (1 + n), c.category,
                     p.catalog.product(product).available_from);
      }
    }
  }
}
void CategoryFacts(const Proposal& best, DecidedItem& item) {
  item.category = best.aux;
  item.when = best.when;
}
void DescribeAffinity(const Catalog& catalog, const DecisionConfig&, const DecidedItem& item,
                      CountryIndex, TimeMs, std::string& out) {
  absl::StrAppendFormat(&out, "popular in %s, one of your favourite categories",
                        CategoryName(catalog, item.category));
}
void DescribeNewArrival(const Catalog& catalog, const DecisionConfig&, const DecidedItem& item,
                        CountryIndex, TimeMs, std::string& out) {
  absl::StrAppendFormat(&out, "new in %s", CategoryName(catalog, item.category));
}

// --- brand affinity: popular from the customer's favourite brands --------

void GatherBrands(const Pipeline& p, const SourceSpec& src, ProposalSink& sink) {
  const CustomerFeatures* f = p.features();
  if (f == nullptr) return;
  // A brand on half the range or more (HEMA's own label at HEMA) is what
  // everybody buys: no taste in it, and its popular products are the
  // trending list. The customer's other brands share it out.
  const auto top = Favourites(f->brand_affinities, [&](const BrandScore& b) {
    return p.catalog.BrandShare(b.brand) < kHouseBrandShare;
  });
  for (int i = 0; i < top.n; ++i) {
    const BrandScore& b = top.top[i];
    const auto list = p.trending.ForBrand(b.brand);
    if (list.empty()) continue;
    const int per = std::max(1, src.limit / top.n);
    const double best = list.front().score;
    int n = 0;
    for (const TrendingEntry& e : list) {
      if (n >= per) break;
      if (CheckOwn(p, e.product, false).has_value()) continue;
      ++n;
      sink.Propose(e.product, b.score * e.score / best, b.brand);
    }
  }
}
void BrandFacts(const Proposal& best, DecidedItem& item) { item.brand = best.aux; }
void DescribeBrand(const Catalog& catalog, const DecisionConfig&, const DecidedItem& item,
                   CountryIndex, TimeMs, std::string& out) {
  absl::StrAppendFormat(&out, "popular from %s, one of your favourite brands",
                        item.brand < catalog.brand_count() ? catalog.brand_name(item.brand) : "");
}

// --- offers: candidates come from offers.cc; the reason is the offer's ---

void NoFacts(const Proposal&, DecidedItem&) {}
void DescribeOffer(const Catalog& catalog, const DecisionConfig& config, const DecidedItem& item,
                   CountryIndex, TimeMs, std::string& out) {
  if (item.offer >= 0 && static_cast<size_t>(item.offer) < config.offers.size()) {
    const OfferSpec& o = config.offers[item.offer];
    DescribeCustomerValue(catalog, item, out);
    out.append(o.text.empty() ? o.title : o.text);
  }
}

void DescribeNothing(const Catalog&, const DecisionConfig&, const DecidedItem&, CountryIndex,
                     TimeMs, std::string&) {}

// Indexed by the enum value; row 0 (no source) proposes and says nothing.
constexpr std::array<SourceRow, kSourceCount> kRows = {{
    {Source{}, "", "", false, nullptr, NoFacts, DescribeNothing},
    {Source::kRecentlyViewed, "recently_viewed", "RECENTLY_VIEWED", true, GatherRecentlyViewed,
     WhenFacts, DescribeRecentlyViewed},
    {Source::kTrending, "trending", "TRENDING", false, GatherTrending, TrendingFacts,
     DescribeTrending},
    {Source::kReplenishment, "replenishment", "REPLENISHMENT", true, GatherReplenishment,
     ReplenishmentFacts, DescribeReplenishment},
    {Source::kCoPurchase, "co_purchase", "CO_PURCHASE", false, GatherNeighbours, SeedFacts,
     DescribeCoPurchase},
    {Source::kCoView, "co_view", "CO_VIEW", false, GatherNeighbours, SeedFacts, DescribeCoView},
    {Source::kAffinity, "affinity", "AFFINITY", true, GatherCategories, CategoryFacts,
     DescribeAffinity},
    {Source::kNewArrivals, "new_arrivals", "NEW_ARRIVALS", true, GatherCategories, CategoryFacts,
     DescribeNewArrival},
    {Source::kOffer, "offer", "OFFERS", false, nullptr, NoFacts, DescribeOffer},
    {Source::kBrandAffinity, "brand_affinity", "BRAND_AFFINITY", true, GatherBrands, BrandFacts,
     DescribeBrand},
}};
// Every value has its row, in order: a new Source without one does not compile.
constexpr bool RowsComplete() {
  for (int i = 1; i < kSourceCount; ++i) {
    if (static_cast<int>(kRows[i].source) != i || kRows[i].name == nullptr ||
        kRows[i].describe == nullptr) {
      return false;
    }
  }
  return true;
}
static_assert(RowsComplete(), "every core::Source needs its row in kRows, at its value");

}  // namespace

const SourceRow* const kSourceRows = kRows.data();

int Days(TimeMs ms) { return static_cast<int>(std::lround(static_cast<double>(ms) / kMsPerDay)); }

void AppendAgo(TimeMs then, TimeMs now, std::string& out) {
  const int d = Days(std::max<TimeMs>(0, now - then));
  if (d == 0) {
    out.append("today");
  } else if (d == 1) {
    out.append("yesterday");
  } else {
    absl::StrAppendFormat(&out, "%d days ago", d);
  }
}

}  // namespace internal

bool IsPersonalSource(Source s) { return internal::RowFor(s).personal; }

const char* SourceName(Source s) { return internal::RowFor(s).name; }

std::optional<Source> SourceFromConfigName(absl::string_view name) {
  for (int i = 1; i < kSourceCount; ++i) {
    if (name == internal::kRows[i].config_name) return internal::kRows[i].source;
  }
  return std::nullopt;
}

}  // namespace nextbest::core
