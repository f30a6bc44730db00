#include "core/decision.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"

namespace nextbest::core {
namespace {

// One proposal of one source.
struct Proposal {
  ProductIndex product;
  Source source;
  TrendingScope scope;  // trending: the list it came from
  float raw;
  float value;  // weight × raw / best raw of the source
  // replenishment: purchases; neighbours: seed; affinity and new arrivals:
  // category; brand affinity: brand; trending: store or category (scope)
  uint32_t aux;
  uint32_t next;  // the product's next proposal, kEnd for none
  TimeMs when;
  TimeMs interval;
};

// A product or offer after merging its proposals.
struct Candidate {
  ProductIndex product;
  int32_t offer;
  double score;
  double relevance;
  uint32_t first;  // first proposal (products), kEnd for offers
  uint32_t best;   // largest contribution
};

constexpr uint32_t kEnd = 0xffffffff;

// Brand affinity leaves out brands on this share of the range or more.
constexpr double kHouseBrandShare = 0.5;

// Per-thread scratch space, reused by every decision on the thread: after
// warm-up a decision allocates nothing here.
struct Scratch {
  std::vector<Proposal> proposals;
  std::vector<Candidate> candidates;
  std::vector<uint32_t> heap;
  // product -> candidate, open addressing, cleared by bumping `generation`.
  struct Slot {
    ProductIndex product;
    uint32_t candidate;
    uint32_t generation;
  };
  std::vector<Slot> slots;
  uint32_t generation = 0;

  void Reset() {
    proposals.clear();
    candidates.clear();
    heap.clear();
  }
  // Readies the product table for up to `products` distinct products (at
  // most half full, so a probe always ends).
  void PrepareSlots(size_t products) {
    size_t want = 256;
    while (want < 2 * products) want *= 2;
    if (slots.size() < want) {
      slots.assign(want, Slot{0, 0, 0});
      generation = 0;
    }
    if (++generation == 0) {  // wrapped: really clear
      std::fill(slots.begin(), slots.end(), Slot{0, 0, 0});
      generation = 1;
    }
  }
  // The candidate index for `p`, creating it.
  uint32_t CandidateFor(ProductIndex p) {
    const size_t mask = slots.size() - 1;
    size_t i = (p * 0x9E3779B1u) & mask;
    while (slots[i].generation == generation) {
      if (slots[i].product == p) return slots[i].candidate;
      i = (i + 1) & mask;
    }
    const auto c = static_cast<uint32_t>(candidates.size());
    slots[i] = {p, c, generation};
    candidates.push_back({p, -1, 0, 0, kEnd, kEnd});
    return c;
  }
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

CountryIndex ResolveCountry(const Catalog& catalog, const DecisionRequest& r) {
  if (r.country != kNoCountry) return r.country;
  if (r.store != kNoStore && r.store < catalog.store_count()) {
    const CountryIndex c = catalog.store(r.store).country;
    if (c != kNoCountry) return c;
  }
  if (r.customer != nullptr && r.customer->attributes.country != kNoCountry) {
    return r.customer->attributes.country;
  }
  return 0;  // the first configured market
}

// The customer's strongest categories or brands (all scores share one
// reference time, so the order needs no decay), with their share of the
// total.
template <typename Entry>
struct TopScores {
  int n = 0;
  std::array<Entry, 3> top;
};
// Entries for which `counts` is false are left out, of the total too.
template <typename Entry, typename Counts>
TopScores<Entry> Favourites(const std::vector<Entry>& list, Counts counts) {
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

class Decider {
 public:
  Decider(const Catalog& catalog, const TrendingSnapshot& trending, const DecisionRequest& r,
          Decision& out)
      : catalog_(catalog),
        trending_(trending),
        r_(r),
        spec_(*r.placement),
        out_(out),
        s_(ThreadScratch()),
        explain_(r.explain) {
    out_.country = ResolveCountry(catalog, r);
    count_ = std::clamp(r.count > 0 ? r.count : spec_.default_count, 0, spec_.max_count);
    personal_ = r.customer != nullptr &&
                (!r.require_consent || r.customer->attributes.consent_personalization);
  }

  void Run() {
    s_.Reset();
    bool wants_personal = false;
    for (const SourceSpec& src : spec_.sources) {
      wants_personal |= IsPersonalSource(src.source) ||
                        (src.seed != Seed::kContext &&
                         (src.source == Source::kCoPurchase || src.source == Source::kCoView));
      const size_t begin = s_.proposals.size();
      Gather(src);
      Normalise(begin, src.weight);
    }
    Merge();
    AddOffers();
    if (explain_ != nullptr) explain_->candidates = s_.candidates.size();
    Select();

    if (wants_personal) {
      if (r_.customer == nullptr) {
        out_.fallback = FallbackReason::kUnknownCustomer;
      } else if (!personal_) {
        out_.fallback = FallbackReason::kNoConsent;
      }
    }
    // Without consent (or customer) the non-personalized fill is the answer,
    // whatever the placement says.
    if (!Full() && (spec_.fill_with_trending || out_.fallback != FallbackReason::kNone)) {
      const size_t before = out_.items.size();
      FillWithTrending();
      if (out_.items.size() > before && wants_personal && out_.fallback == FallbackReason::kNone) {
        out_.fallback = FallbackReason::kTooFewPersonal;
      }
    }
    for (const DecidedItem& item : out_.items) {
      if (item.offer < 0 && IsPersonalSource(item.source)) out_.personalized = true;
      if (item.offer >= 0 && r_.config->offers[item.offer].eligibility.NeedsPersonalData()) {
        out_.personalized = true;
      }
      if (item.seed != kNoProduct && personal_ && IsHistorySeed(item.seed)) out_.personalized = true;
    }
  }

 private:
  bool Full() const { return static_cast<int>(out_.items.size()) >= count_; }

  void Propose(ProductIndex p, Source src, double raw, uint32_t aux = 0, TimeMs when = 0,
               TimeMs interval = 0, TrendingScope scope = TrendingScope::kMarket) {
    if (p >= catalog_.product_count() || !(raw > 0)) return;
    s_.proposals.push_back({p, src, scope, static_cast<float>(raw), 0, aux, kEnd, when, interval});
  }

  // The trending list a source of `scope` reads, and the store or
  // category it is for (kNoStore / kNoCategory for a market list).
  struct TrendingList {
    absl::Span<const TrendingEntry> entries;
    TrendingScope scope;
    uint32_t aux;
  };
  TrendingList TrendingFor(TrendingScope scope) const {
    switch (scope) {
      case TrendingScope::kOverall:
        return {trending_.For(kNoCountry), scope, 0};
      case TrendingScope::kStore: {
        StoreIndex store = r_.store;
        if (store == kNoStore && personal_) store = r_.customer->attributes.home_store;
        const auto list = trending_.ForStore(store);
        if (!list.empty()) return {list, scope, store};
        break;
      }
      case TrendingScope::kCategory: {
        if (r_.current_product < catalog_.product_count()) {
          const CategoryIndex c = catalog_.product(r_.current_product).category;
          const auto list = trending_.ForCategory(c);
          if (!list.empty()) return {list, scope, c};
        }
        break;
      }
      case TrendingScope::kMarket:
        break;
    }
    return {trending_.For(out_.country), TrendingScope::kMarket, 0};
  }

  void Normalise(size_t begin, double weight) {
    float best = 0;
    for (size_t i = begin; i < s_.proposals.size(); ++i) best = std::max(best, s_.proposals[i].raw);
    if (best <= 0) return;
    for (size_t i = begin; i < s_.proposals.size(); ++i) {
      s_.proposals[i].value = static_cast<float>(weight * s_.proposals[i].raw / best);
    }
  }

  bool IsHistorySeed(ProductIndex seed) const {
    return seed != r_.current_product &&
           std::find(r_.cart.begin(), r_.cart.end(), seed) == r_.cart.end();
  }

  void Gather(const SourceSpec& src) {
    const int limit = src.limit;
    const CustomerFeatures* f = personal_ ? &r_.customer->features : nullptr;
    switch (src.source) {
      case Source::kRecentlyViewed: {
        if (f == nullptr) return;
        int n = 0;
        for (const ViewedProduct& v : f->recently_viewed) {
          if (n++ >= limit) break;
          const double age_days = std::max<double>(0, r_.now - v.time()) / kMsPerDay;
          // Ties (views at the same time) keep the list's order.
          Propose(v.product, src.source, (1.0 - n * 1e-4) / (1.0 + age_days), 0, v.time());
        }
        return;
      }
      case Source::kTrending: {
        const TrendingList list = TrendingFor(src.scope);
        int n = 0;
        for (const TrendingEntry& e : list.entries) {
          if (n++ >= limit) break;
          Propose(e.product, src.source, trending_.ScoreAt(e, r_.now), list.aux, 0, 0, list.scope);
        }
        return;
      }
      case Source::kReplenishment: {
        if (f == nullptr) return;
        for (const PurchaseRecord& rec : f->purchases) {
          if (static_cast<int>(rec.count) < spec_.min_purchases) continue;
          const TimeMs interval = rec.TypicalInterval();
          if (interval <= 0) continue;
          const double overdue = static_cast<double>(r_.now - rec.last()) / interval;
          if (overdue < spec_.due_fraction) continue;
          if (spec_.max_overdue > 0 && overdue > spec_.max_overdue) continue;
          // Most due first: just due scores 1, each interval late less.
          Propose(rec.product, src.source, 1.0 / (1.0 + std::max(0.0, overdue - 1.0)), rec.count,
                  rec.last(), interval);
        }
        return;
      }
      case Source::kCoPurchase:
      case Source::kCoView: {
        if (r_.models == nullptr) return;
        const NeighbourTable& table =
            src.source == Source::kCoPurchase ? r_.models->co_purchase : r_.models->co_view;
        const size_t begin = s_.proposals.size();
        auto from = [&](ProductIndex seed, double weight) {
          for (const Neighbour& n : table.For(seed)) {
            Propose(n.product, src.source, n.score * weight, seed);
          }
        };
        if (src.seed != Seed::kHistory) {
          if (r_.current_product != kNoProduct) from(r_.current_product, 1.0);
          for (ProductIndex c : r_.cart) from(c, 1.0);
        }
        if (src.seed != Seed::kContext && f != nullptr) {
          // The most recent views and purchases, more recent weighing more.
          int n = 0;
          for (const ViewedProduct& v : f->recently_viewed) {
            if (n >= 5) break;
            from(v.product, 1.0 / (1 + n++));
          }
          absl::InlinedVector<const PurchaseRecord*, 8> last;
          for (const PurchaseRecord& p : f->purchases) {
            last.push_back(&p);
            std::sort(last.begin(), last.end(), [](auto* a, auto* b) { return a->last_s > b->last_s; });
            if (last.size() > 5) last.pop_back();
          }
          for (size_t i = 0; i < last.size(); ++i) from(last[i]->product, 1.0 / (1 + i));
        }
        if (s_.proposals.size() - begin > static_cast<size_t>(limit) * 4) {
          // Keep the strongest: bounded work downstream.
          std::nth_element(s_.proposals.begin() + begin, s_.proposals.begin() + begin + limit * 4,
                           s_.proposals.end(),
                           [](const Proposal& a, const Proposal& b) { return a.raw > b.raw; });
          s_.proposals.resize(begin + limit * 4);
        }
        return;
      }
      case Source::kBrandAffinity: {
        if (f == nullptr) return;
        // A brand on half the range or more (HEMA's own label at HEMA) is
        // what everybody buys: no taste in it, and its popular products
        // are the trending list. The customer's other brands share it out.
        const auto top = Favourites(f->brand_affinities, [&](const BrandScore& b) {
          return catalog_.BrandShare(b.brand) < kHouseBrandShare;
        });
        for (int i = 0; i < top.n; ++i) {
          const BrandScore& b = top.top[i];
          const auto list = trending_.ForBrand(b.brand);
          if (list.empty()) continue;
          const int per = std::max(1, limit / top.n);
          const double best = list.front().score;
          int n = 0;
          for (const TrendingEntry& e : list) {
            if (n++ >= per) break;
            Propose(e.product, src.source, b.score * e.score / best, b.brand);
          }
        }
        return;
      }
      case Source::kAffinity:
      case Source::kNewArrivals: {
        if (f == nullptr) return;
        const auto top = Favourites(f->affinities, [](const CategoryScore&) { return true; });
        for (int i = 0; i < top.n; ++i) {
          const CategoryScore& c = top.top[i];
          const int per = std::max(1, limit / top.n);
          int n = 0;
          if (src.source == Source::kAffinity) {
            const auto list = trending_.ForCategory(c.category);
            if (list.empty()) continue;
            const double best = list.front().score;
            for (const TrendingEntry& e : list) {
              if (n++ >= per) break;
              Propose(e.product, src.source, c.score * e.score / best, c.category);
            }
          } else if (r_.models != nullptr && c.category < r_.models->new_arrivals.size()) {
            for (ProductIndex p : r_.models->new_arrivals[c.category]) {
              if (n++ >= per) break;
              Propose(p, src.source, c.score / (1 + n), c.category, catalog_.product(p).available_from);
            }
          }
        }
        return;
      }
      case Source::kOffer:
        return;  // AddOffers
    }
  }

  // Proposals -> one candidate per product, relevance = sum of values.
  void Merge() {
    s_.PrepareSlots(s_.proposals.size());
    for (uint32_t i = 0; i < s_.proposals.size(); ++i) {
      Proposal& p = s_.proposals[i];
      Candidate& c = s_.candidates[s_.CandidateFor(p.product)];
      c.relevance += p.value;
      p.next = c.first;
      c.first = i;
      if (c.best == kEnd || p.value > s_.proposals[c.best].value) c.best = i;
    }
    const Arbitration& a = spec_.arbitration;
    for (Candidate& c : s_.candidates) {
      double score = a.use_relevance ? c.relevance : 1;
      if (a.use_value) score *= static_cast<double>(catalog_.product(c.product).price_minor) / 100;
      if (a.use_context) score *= a.product_weight;
      c.score = score * Rotation(c.product, -1);
    }
  }

  // Smoothed click-through rate: (clicks + 1) / (impressions + 20).
  static double Propensity(const OfferSpec& o) {
    if (o.counters == nullptr) return 1.0 / 20;
    const double clicks = static_cast<double>(o.counters->clicks.load(std::memory_order_relaxed));
    const double imps = static_cast<double>(o.counters->impressions.load(std::memory_order_relaxed));
    return (clicks + 1) / (imps + 20);
  }

  void AddOffers() {
    if (spec_.offers.empty()) return;
    bool wanted = false;
    for (const SourceSpec& src : spec_.sources) wanted |= src.source == Source::kOffer;
    if (!wanted) return;
    ConditionInput in;
    in.customer = r_.customer;
    in.personal = personal_;
    in.country = out_.country;
    in.channel = r_.channel;
    in.now = r_.now;
    // Population figures only with consent: no RFM or behaviour otherwise.
    const bool scored = personal_ && r_.models != nullptr;
    SegmentCustomer(scored ? &r_.models->rfm : nullptr, scored ? &r_.models->behaviour : nullptr,
                    r_.config->segments, catalog_, in);
    out_.rfm = in.rfm;
    const Arbitration& a = spec_.arbitration;
    for (uint32_t idx : spec_.offers) {
      const OfferSpec& o = r_.config->offers[idx];
      if ((o.start != 0 && r_.now < o.start) || (o.end != 0 && r_.now >= o.end)) {
        Drop(kNoProduct, static_cast<int32_t>(idx), DropRule::kOfferOutsideWindow, 0);
        continue;
      }
      if (!Matches(o.eligibility, catalog_, in)) {
        Drop(kNoProduct, static_cast<int32_t>(idx), DropRule::kOfferNotEligible, 0);
        continue;
      }
      ProductIndex product = kNoProduct;
      if (!o.product_id.empty()) {
        product = catalog_.FindProduct(o.product_id).value_or(kNoProduct);
        if (product == kNoProduct) {
          Drop(kNoProduct, static_cast<int32_t>(idx), DropRule::kNotRecommendable, 0);
          continue;
        }
      }
      const double relevance = Propensity(o);
      double score = a.use_relevance ? relevance : 1;
      if (a.use_value) score *= o.value;
      if (a.use_priority) score *= o.priority;
      if (a.use_context) score *= a.offer_type_weight[static_cast<int>(o.type)];
      s_.candidates.push_back({product, static_cast<int32_t>(idx), score * Rotation(product, idx),
                               relevance, kEnd, kEnd});
    }
  }

  // Rotation among near-equal candidates: a factor in [1 - r/2, 1 + r/2]
  // from a hash of the request's rotation seed and the candidate, so
  // candidates within about r of each other swap places from request to
  // request, and the same request id always gives the same answer. 1 when
  // the placement has no rotation or the request no seed.
  double Rotation(ProductIndex product, int64_t offer) const {
    if (spec_.rotation <= 0 || r_.rotation_seed == 0) return 1;
    auto mix = [](uint64_t x) {  // splitmix64's finalizer
      x += 0x9E3779B97F4A7C15ULL;
      x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
      x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
      return x ^ (x >> 31);
    };
    const uint64_t h =
        mix(mix(r_.rotation_seed) ^ mix((static_cast<uint64_t>(product) << 32) ^ static_cast<uint64_t>(offer + 1)));
    const double u = static_cast<double>(h >> 11) / static_cast<double>(1ULL << 53);  // [0, 1)
    return 1 + spec_.rotation * (u - 0.5);
  }

  void Drop(ProductIndex p, int32_t offer, DropRule rule, double score) {
    if (explain_ != nullptr && explain_->dropped.size() < Explanation::kMaxDropped) {
      explain_->dropped.push_back({p, offer, rule, score});
    }
  }

  bool HasReplenishment(const Candidate& c) const {
    for (uint32_t i = c.first; i != kEnd; i = s_.proposals[i].next) {
      if (s_.proposals[i].source == Source::kReplenishment) return true;
    }
    return false;
  }

  static bool PrefixOfAny(absl::string_view path, const std::vector<std::string>& prefixes) {
    for (const std::string& p : prefixes) {
      if (absl::StartsWith(path, p)) return true;
    }
    return false;
  }

  // The first hard rule `p` breaks, or nullopt.
  std::optional<DropRule> CheckProduct(ProductIndex p, bool replenishment) const {
    if (p >= catalog_.product_count() || !catalog_.Recommendable(p, r_.now)) {
      return DropRule::kNotRecommendable;
    }
    if (!catalog_.InStock(p, out_.country, r_.store)) return DropRule::kOutOfStock;
    if (p == r_.current_product) return DropRule::kOnScreen;
    for (ProductIndex c : r_.cart) {
      if (c == p) return DropRule::kInCart;
    }
    for (ProductIndex c : r_.exclude) {
      if (c == p) return DropRule::kExcludedByCaller;
    }
    for (const DecidedItem& it : out_.items) {
      if (it.product == p) return DropRule::kDuplicate;
    }
    const Product& prod = catalog_.product(p);
    const ProductFilter& fl = spec_.filter;
    if (!fl.Empty()) {
      const absl::string_view path = prod.category < catalog_.category_count()
                                         ? absl::string_view(catalog_.category_name(prod.category))
                                         : absl::string_view();
      if (!fl.include_categories.empty() && !PrefixOfAny(path, fl.include_categories)) {
        return DropRule::kCategoryFilter;
      }
      if (PrefixOfAny(path, fl.exclude_categories)) return DropRule::kCategoryFilter;
      auto has = [](const std::vector<std::string>& list, absl::string_view v) {
        return std::find(list.begin(), list.end(), v) != list.end();
      };
      if (!fl.include_brands.empty() && !has(fl.include_brands, prod.brand)) return DropRule::kBrandFilter;
      if (has(fl.exclude_brands, prod.brand)) return DropRule::kBrandFilter;
      if (!fl.include_tags.empty() || !fl.exclude_tags.empty()) {
        bool included = fl.include_tags.empty();
        for (const std::string& t : prod.tags) {
          if (has(fl.exclude_tags, t)) return DropRule::kTagFilter;
          included |= has(fl.include_tags, t);
        }
        if (!included) return DropRule::kTagFilter;
      }
      if (fl.min_price_minor > 0 && prod.price_minor < fl.min_price_minor) return DropRule::kPriceRange;
      if (fl.max_price_minor > 0 && prod.price_minor > fl.max_price_minor) return DropRule::kPriceRange;
    }
    if (spec_.exclude_bought_within_days > 0 && personal_ && !replenishment) {
      const TimeMs since = r_.now - static_cast<TimeMs>(spec_.exclude_bought_within_days) * kMsPerDay;
      for (const PurchaseRecord& rec : r_.customer->features.purchases) {
        if (rec.product == p && rec.last() > since) return DropRule::kBoughtRecently;
      }
    }
    if (spec_.size_fit && personal_ && !FitsKnownSizes(catalog_, *r_.customer, p)) {
      return DropRule::kSizeNotFitting;
    }
    if (spec_.max_per_category > 0) {
      int same = 0;
      for (const DecidedItem& it : out_.items) {
        if (it.product != kNoProduct && catalog_.product(it.product).category == prod.category) ++same;
      }
      if (same >= spec_.max_per_category) return DropRule::kCategoryLimit;
    }
    return std::nullopt;
  }

  void Select() {
    auto worse = [this](uint32_t a, uint32_t b) {
      const Candidate& x = s_.candidates[a];
      const Candidate& y = s_.candidates[b];
      if (x.score != y.score) return x.score < y.score;
      if (x.offer != y.offer) return x.offer > y.offer;
      return x.product > y.product;
    };
    for (uint32_t i = 0; i < s_.candidates.size(); ++i) s_.heap.push_back(i);
    std::make_heap(s_.heap.begin(), s_.heap.end(), worse);
    while (!s_.heap.empty() && !Full()) {
      std::pop_heap(s_.heap.begin(), s_.heap.end(), worse);
      const Candidate& c = s_.candidates[s_.heap.back()];
      s_.heap.pop_back();
      if (c.product != kNoProduct) {
        if (auto rule = CheckProduct(c.product, c.first != kEnd && HasReplenishment(c))) {
          Drop(c.product, c.offer, *rule, c.score);
          continue;
        }
      }
      if (c.offer >= 0) {
        const OfferSpec& o = r_.config->offers[c.offer];
        if (r_.ledger != nullptr) {
          const auto res = r_.ledger->TryReserve(o, r_.customer_id, r_.now);
          if (res != OfferLedger::Reservation::kOk) {
            Drop(c.product, c.offer,
                 res == OfferLedger::Reservation::kCustomerCap ? DropRule::kOfferCustomerCap
                                                               : DropRule::kOfferTotalCap,
                 c.score);
            continue;
          }
        }
        Add(c, Source::kOffer, nullptr);
        continue;
      }
      Add(c, s_.proposals[c.best].source, &s_.proposals[c.best]);
    }
  }

  void Add(const Candidate& c, Source source, const Proposal* best) {
    DecidedItem item;
    item.product = c.product;
    item.offer = c.offer;
    item.score = c.score;
    item.source = source;
    if (best != nullptr) {
      switch (best->source) {
        case Source::kRecentlyViewed:
          item.when = best->when;
          break;
        case Source::kReplenishment:
          item.when = best->when;
          item.interval = best->interval;
          item.purchases = best->aux;
          break;
        case Source::kCoPurchase:
        case Source::kCoView:
          item.seed = best->aux;
          break;
        case Source::kAffinity:
        case Source::kNewArrivals:
          item.category = best->aux;
          item.when = best->when;
          break;
        case Source::kBrandAffinity:
          item.brand = best->aux;
          break;
        case Source::kTrending:
          if (best->scope == TrendingScope::kStore) item.store = best->aux;
          if (best->scope == TrendingScope::kCategory) item.category = best->aux;
          item.all_markets = best->scope == TrendingScope::kOverall;
          break;
        default:
          break;
      }
    }
    out_.items.push_back(item);
    if (explain_ == nullptr) return;
    ItemExplanation& e = explain_->items.emplace_back();
    const Arbitration& a = spec_.arbitration;
    e.relevance = a.use_relevance ? c.relevance : 1;
    if (c.offer >= 0) {
      const OfferSpec& o = r_.config->offers[c.offer];
      e.value = a.use_value ? o.value : 1;
      e.priority = a.use_priority ? o.priority : 1;
      e.context = a.use_context ? a.offer_type_weight[static_cast<int>(o.type)] : 1;
      e.context *= Rotation(c.product, c.offer);
    } else {
      e.value = a.use_value ? static_cast<double>(catalog_.product(c.product).price_minor) / 100 : 1;
      e.context = a.use_context ? a.product_weight : 1;
      e.context *= Rotation(c.product, -1);
    }
    for (uint32_t i = c.first; i != kEnd; i = s_.proposals[i].next) {
      const Proposal& p = s_.proposals[i];
      e.contributions.push_back({p.source, p.raw, 0, p.value});
    }
    for (Contribution& k : e.contributions) {
      for (const SourceSpec& src : spec_.sources) {
        if (src.source == k.source) k.weight = static_cast<float>(src.weight);
      }
    }
  }

  void FillWithTrending() {
    const auto& list = trending_.For(out_.country);
    if (list.empty()) return;
    const double best = list.front().score;  // scores on the sources' 0..1 scale
    for (const TrendingEntry& e : list) {
      if (Full()) return;
      if (CheckProduct(e.product, false).has_value()) continue;
      DecidedItem item;
      item.product = e.product;
      item.score = best > 0 ? e.score / best : 0;
      item.source = Source::kTrending;
      out_.items.push_back(item);
      if (explain_ != nullptr) {
        ItemExplanation& x = explain_->items.emplace_back();
        x.relevance = item.score;
        x.contributions.push_back({Source::kTrending, static_cast<float>(item.score), 1,
                                   static_cast<float>(item.score)});
      }
    }
  }

  const Catalog& catalog_;
  const TrendingSnapshot& trending_;
  const DecisionRequest& r_;
  const PlacementSpec& spec_;
  Decision& out_;
  Scratch& s_;
  Explanation* const explain_;
  int count_ = 0;
  bool personal_ = false;
};

}  // namespace

Decision Decide(const Catalog& catalog, const TrendingSnapshot& trending,
                const DecisionRequest& r) {
  Decision out;
  Decider(catalog, trending, r, out).Run();
  return out;
}

absl::string_view CategoryLeaf(absl::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

void DescribeReason(const Catalog& catalog, const DecisionConfig& config, const DecidedItem& item,
                    CountryIndex country, TimeMs now, std::string& out) {
  auto days = [](TimeMs ms) {
    return static_cast<int>(std::lround(static_cast<double>(ms) / kMsPerDay));
  };
  auto append_ago = [&](TimeMs t) {
    const int d = days(std::max<TimeMs>(0, now - t));
    if (d == 0) {
      out.append("today");
    } else if (d == 1) {
      out.append("yesterday");
    } else {
      absl::StrAppendFormat(&out, "%d days ago", d);
    }
  };
  auto product_name = [&](ProductIndex p) -> absl::string_view {
    return p < catalog.product_count() ? absl::string_view(catalog.product(p).name) : "";
  };
  auto category = [&](CategoryIndex c) -> absl::string_view {
    return c < catalog.category_count() ? CategoryLeaf(catalog.category_name(c)) : "";
  };
  switch (item.source) {
    case Source::kRecentlyViewed:
      out.append("you viewed this ");
      append_ago(item.when);
      return;
    case Source::kTrending:
      if (item.store < catalog.store_count()) {
        absl::StrAppendFormat(&out, "popular in %s right now", catalog.store(item.store).name);
      } else if (item.category < catalog.category_count()) {
        absl::StrAppendFormat(&out, "popular in %s right now", category(item.category));
      } else {
        const CountryIndex c = item.all_markets ? kNoCountry : country;
        absl::StrAppendFormat(&out, "popular in %s right now",
                              c < catalog.market_count() ? catalog.market_code(c) : "all markets");
      }
      return;
    case Source::kReplenishment:
      absl::StrAppendFormat(&out, "bought %d times, about every %d days; last ", item.purchases,
                            std::max(1, days(item.interval)));
      append_ago(item.when);
      return;
    case Source::kCoPurchase:
      absl::StrAppendFormat(&out, "often bought together with %s", product_name(item.seed));
      return;
    case Source::kCoView:
      absl::StrAppendFormat(&out, "viewed by others who viewed %s", product_name(item.seed));
      return;
    case Source::kAffinity:
      absl::StrAppendFormat(&out, "popular in %s, one of your favourite categories",
                            category(item.category));
      return;
    case Source::kNewArrivals:
      absl::StrAppendFormat(&out, "new in %s", category(item.category));
      return;
    case Source::kBrandAffinity:
      absl::StrAppendFormat(&out, "popular from %s, one of your favourite brands",
                            item.brand < catalog.brand_count() ? catalog.brand_name(item.brand) : "");
      return;
    case Source::kOffer:
      if (item.offer >= 0 && static_cast<size_t>(item.offer) < config.offers.size()) {
        const OfferSpec& o = config.offers[item.offer];
        out.append(o.text.empty() ? o.title : o.text);
      }
      return;
  }
}

const char* FallbackReasonText(FallbackReason reason) {
  switch (reason) {
    case FallbackReason::kNone:
      return "";
    case FallbackReason::kUnknownCustomer:
      return "unknown customer: popular products instead";
    case FallbackReason::kTooFewPersonal:
      return "too few personal items: filled with popular products";
    case FallbackReason::kNoConsent:
      return "no personalization consent: popular products instead";
  }
  return "";
}

const char* DropRuleName(DropRule r) {
  switch (r) {
    case DropRule::kNotRecommendable: return "not_recommendable";
    case DropRule::kOutOfStock: return "out_of_stock";
    case DropRule::kInCart: return "in_cart";
    case DropRule::kOnScreen: return "on_screen";
    case DropRule::kExcludedByCaller: return "excluded_by_caller";
    case DropRule::kDuplicate: return "duplicate";
    case DropRule::kCategoryFilter: return "category_filter";
    case DropRule::kBrandFilter: return "brand_filter";
    case DropRule::kTagFilter: return "tag_filter";
    case DropRule::kPriceRange: return "price_range";
    case DropRule::kBoughtRecently: return "bought_recently";
    case DropRule::kCategoryLimit: return "category_limit";
    case DropRule::kOfferNotEligible: return "offer_not_eligible";
    case DropRule::kOfferOutsideWindow: return "offer_outside_date_window";
    case DropRule::kOfferCustomerCap: return "offer_customer_cap";
    case DropRule::kOfferTotalCap: return "offer_total_cap";
    case DropRule::kSizeNotFitting: return "size_not_fitting";
  }
  return "";
}

}  // namespace nextbest::core
