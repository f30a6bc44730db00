// Decide(): gather (sources.cc) → merge → offers (offers.cc) → select
// under the hard rules (rules.cc) and caps → fill with trending.

#include "core/decision.h"

#include <algorithm>
#include <cmath>

#include "core/decision_internal.h"

namespace nextbest::core {
namespace internal {

void Scratch::PrepareSlots(size_t products) {
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

void Scratch::IndexOwn(const CustomerFeatures& f) {
  size_t want = 64;
  while (want < 2 * (f.purchases.size() + f.recently_viewed.size())) want *= 2;
  if (own.size() < want) {
    own.assign(want, Own{0, 0, -1, -1});
    own_generation = 0;
  }
  if (++own_generation == 0) {  // wrapped: really clear
    std::fill(own.begin(), own.end(), Own{0, 0, -1, -1});
    own_generation = 1;
  }
  const size_t mask = own.size() - 1;
  auto slot = [&](ProductIndex p) -> Own& {
    size_t i = (p * 0x9E3779B1u) & mask;
    while (own[i].generation == own_generation && own[i].product != p) i = (i + 1) & mask;
    if (own[i].generation != own_generation) own[i] = {p, own_generation, -1, -1};
    return own[i];
  };
  for (size_t i = 0; i < f.purchases.size(); ++i) {
    slot(f.purchases[i].product).purchase = static_cast<int32_t>(i);
  }
  for (size_t i = 0; i < f.recently_viewed.size(); ++i) {
    slot(f.recently_viewed[i].product).view = static_cast<int32_t>(i);
  }
}

void Scratch::PrepareAcc(size_t products) {
  size_t want = 256;
  while (want < 2 * products) want *= 2;
  if (acc.size() < want) {
    acc.assign(want, Acc{0, 0, 0, 0, 0});
    acc_generation = 0;
  }
  if (++acc_generation == 0) {
    std::fill(acc.begin(), acc.end(), Acc{0, 0, 0, 0, 0});
    acc_generation = 1;
  }
  acc_used.clear();
}

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

Pipeline::Pipeline(const Catalog& catalog, const TrendingSnapshot& trending,
                   const DecisionRequest& request, Decision& out)
    : catalog(catalog),
      trending(trending),
      request(request),
      spec(*request.placement),
      out(out),
      s(ThreadScratch()),
      explain(request.explain) {
  const CountryIndex customer_country =
      request.customer != nullptr ? request.customer->attributes.country : kNoCountry;
  const CountryIndex market = catalog.MarketOf(request.country, request.store, customer_country);
  out.country = market != kNoCountry ? market : 0;  // else the first configured market
  count = std::clamp(request.count > 0 ? request.count : spec.default_count, 0, spec.max_count);
  personal = request.personalize && MayPersonalize(request.require_consent, request.customer);
  if (personal) s.IndexOwn(request.customer->features);
}

void Pipeline::Drop(ProductIndex p, int32_t offer, DropRule rule, double score) {
  if (explain != nullptr && explain->dropped.size() < Explanation::kMaxDropped) {
    explain->dropped.push_back({p, offer, rule, score, DropDetail(*this, p, rule)});
  }
}

double Pipeline::RotationFactor(ProductIndex product, int64_t offer) const {
  auto mix = [](uint64_t x) { return Mix64(x + kGoldenGamma); };
  const uint64_t h = mix(mix(request.rotation_seed) ^ mix((static_cast<uint64_t>(product) << 32) ^
                                                          static_cast<uint64_t>(offer + 1)));
  const double u = static_cast<double>(h >> 11) / static_cast<double>(1ULL << 53);  // [0, 1)
  return 1 + spec.rotation * (u - 0.5);
}

namespace {

// Each source's scores divided by its best (0..1) and weighted.
void Normalise(std::vector<Proposal>& proposals, size_t begin, double weight) {
  float best = 0;
  for (size_t i = begin; i < proposals.size(); ++i) best = std::max(best, proposals[i].raw);
  if (best <= 0) return;
  for (size_t i = begin; i < proposals.size(); ++i) {
    proposals[i].value = static_cast<float>(weight * proposals[i].raw / best);
  }
}

// Every source of the placement proposes; true if any of them would use
// the customer's own data.
bool Gather(Pipeline& p) {
  bool wants_personal = false;
  for (const SourceSpec& src : p.spec.sources) {
    const SourceRow& row = RowFor(src.source);
    wants_personal |=
        row.personal || (src.seed != Seed::kContext &&
                         (src.source == Source::kCoPurchase || src.source == Source::kCoView));
    if (row.gather == nullptr) continue;
    const size_t begin = p.s.proposals.size();
    ProposalSink sink(p.catalog, p.s.proposals, src.source);
    row.gather(p, src, sink);
    Normalise(p.s.proposals, begin, src.weight);
  }
  return wants_personal;
}

// Proposals -> one candidate per product, relevance = sum of values, then
// the arbitration score.
void Merge(Pipeline& p) {
  Scratch& s = p.s;
  s.PrepareSlots(s.proposals.size());
  for (uint32_t i = 0; i < s.proposals.size(); ++i) {
    Proposal& prop = s.proposals[i];
    Candidate& c = s.candidates[s.CandidateFor(prop.product)];
    c.relevance += prop.value;
    prop.next = c.first;
    c.first = i;
    if (c.best == kEnd || prop.value > s.proposals[c.best].value) c.best = i;
  }
  const Arbitration& a = p.spec.arbitration;
  for (Candidate& c : s.candidates) {
    double score = a.use_relevance ? c.relevance : 1;
    if (a.use_value) score *= static_cast<double>(p.catalog.product(c.product).price_minor) / 100;
    if (a.use_context) score *= a.product_weight;
    c.score = c.base = score * p.Rotation(c.product, -1);
  }
}

bool HasReplenishment(const Scratch& s, const Candidate& c) {
  for (uint32_t i = c.first; i != kEnd; i = s.proposals[i].next) {
    if (s.proposals[i].source == Source::kReplenishment) return true;
  }
  return false;
}

// Appends the candidate, with its explanation if one is asked for.
void Add(Pipeline& p, const Candidate& c, Source source, const Proposal* best) {
  DecidedItem item;
  item.product = c.product;
  item.offer = c.offer;
  item.score = c.score;
  item.source = source;
  if (best != nullptr) RowFor(best->source).facts(*best, item);
  if (c.offer >= 0) OfferFacts(p, c.offer, item);
  p.out.items.push_back(item);
  if (p.explain == nullptr) return;
  ItemExplanation& e = p.explain->items.emplace_back();
  const Arbitration& a = p.spec.arbitration;
  e.relevance = a.use_relevance ? c.relevance : 1;
  if (c.offer >= 0) {
    const OfferSpec& o = p.request.config->offers[c.offer];
    e.value = p.OfferValue(o, e.value_basis);
    e.priority = a.use_priority ? o.priority : 1;
    e.context = a.use_context ? a.offer_type_weight[static_cast<int>(o.type)] : 1;
    e.context *= p.Rotation(c.product, c.offer);
  } else {
    e.value = a.use_value ? static_cast<double>(p.catalog.product(c.product).price_minor) / 100 : 1;
    e.value_basis = a.use_value ? ValueBasis::kPrice : ValueBasis::kNone;
    e.context = a.use_context ? a.product_weight : 1;
    e.context *= p.Rotation(c.product, -1);
  }
  for (uint32_t i = c.first; i != kEnd; i = p.s.proposals[i].next) {
    const Proposal& prop = p.s.proposals[i];
    e.contributions.push_back({prop.source, prop.raw, 0, prop.value});
  }
  for (Contribution& k : e.contributions) {
    for (const SourceSpec& src : p.spec.sources) {
      if (src.source == k.source) k.weight = static_cast<float>(src.weight);
    }
  }
}

// Best first, through the hard rules; an offer is reserved against its
// caps when chosen. With category spread (PlacementSpec::diversity) a
// product's score is discounted for the items of its category already in
// the answer; a discounted candidate goes back into the heap until it is
// still the best (lazy greedy: discounts only grow as the answer does).
void Select(Pipeline& p) {
  Scratch& s = p.s;
  auto worse = [&s](uint32_t a, uint32_t b) {
    const Candidate& x = s.candidates[a];
    const Candidate& y = s.candidates[b];
    if (x.score != y.score) return x.score < y.score;
    if (x.offer != y.offer) return x.offer > y.offer;
    return x.product > y.product;
  };
  const double keep = 1 - p.spec.diversity;
  std::vector<int>& seen_at = s.discounted;  // items in the answer when last discounted
  seen_at.assign(p.spec.diversity > 0 ? s.candidates.size() : 0, 0);
  for (uint32_t i = 0; i < s.candidates.size(); ++i) s.heap.push_back(i);
  std::make_heap(s.heap.begin(), s.heap.end(), worse);
  while (!s.heap.empty() && !p.Full()) {
    std::pop_heap(s.heap.begin(), s.heap.end(), worse);
    const uint32_t ci = s.heap.back();
    Candidate& c = s.candidates[ci];
    if (!seen_at.empty() && c.product != kNoProduct && c.offer < 0) {
      const int items = static_cast<int>(p.out.items.size());
      if (seen_at[ci] < items) {
        // Discount for what joined the answer since the last look.
        const int same = SameCategory(p, c.product);
        c.score = c.base * std::pow(keep, same);
        seen_at[ci] = items;
        std::push_heap(s.heap.begin(), s.heap.end(), worse);
        continue;
      }
    }
    s.heap.pop_back();
    if (c.product != kNoProduct) {
      if (auto rule = CheckProduct(p, c.product, c.first != kEnd && HasReplenishment(s, c))) {
        p.Drop(c.product, c.offer, *rule, c.score);
        continue;
      }
    }
    if (c.offer >= 0) {
      if (p.request.ledger != nullptr) {
        const OfferSpec& o = p.request.config->offers[c.offer];
        const auto res =
            p.request.preview
                ? p.request.ledger->Check(o, p.request.customer_id, p.request.now)
                : p.request.ledger->TryReserve(o, p.request.customer_id, p.request.now);
        if (res != OfferLedger::Reservation::kOk) {
          p.Drop(c.product, c.offer,
                 res == OfferLedger::Reservation::kCustomerCap ? DropRule::kOfferCustomerCap
                                                               : DropRule::kOfferTotalCap,
                 c.score);
          continue;
        }
      }
      Add(p, c, Source::kOffer, nullptr);
      continue;
    }
    Add(p, c, s.proposals[c.best].source, &s.proposals[c.best]);
  }
}

// What the sources could not fill: trending in the market, same rules.
void FillWithTrending(Pipeline& p) {
  const auto& list = p.trending.For(p.out.country);
  if (list.empty()) return;
  const double best = list.front().score;  // scores on the sources' 0..1 scale
  for (const TrendingEntry& e : list) {
    if (p.Full()) return;
    if (CheckProduct(p, e.product, false).has_value()) continue;
    DecidedItem item;
    item.product = e.product;
    item.score = best > 0 ? e.score / best : 0;
    item.source = Source::kTrending;
    p.out.items.push_back(item);
    ++p.filled;
    if (p.explain != nullptr) {
      ItemExplanation& x = p.explain->items.emplace_back();
      x.relevance = item.score;
      x.contributions.push_back(
          {Source::kTrending, static_cast<float>(item.score), 1, static_cast<float>(item.score)});
    }
  }
}

bool IsHistorySeed(const DecisionRequest& r, ProductIndex seed) {
  return seed != r.current_product && std::find(r.cart.begin(), r.cart.end(), seed) == r.cart.end();
}

}  // namespace
}  // namespace internal

Decision Decide(const Catalog& catalog, const TrendingSnapshot& trending,
                const DecisionRequest& r) {
  using namespace internal;  // NOLINT
  Decision out;
  Pipeline p(catalog, trending, r, out);
  p.s.Reset();
  const bool wants_personal = Gather(p);
  Merge(p);
  AddOfferCandidates(p);
  if (p.explain != nullptr) p.explain->candidates = p.s.candidates.size();
  Select(p);

  // Without consent (or customer) the non-personalized fill is the answer,
  // whatever the placement says.
  const bool may_fill = p.spec.fill_with_trending || (wants_personal && !p.personal);
  if (!p.Full() && may_fill) FillWithTrending(p);
  out.filled = p.filled;
  if (!r.personalize) NoteHeldBackOffers(p);
  for (const DecidedItem& item : out.items) {
    if (item.offer < 0 && RowFor(item.source).personal) out.personalized = true;
    if (item.offer >= 0 && r.config->offers[item.offer].eligibility.NeedsPersonalData())
      out.personalized = true;
    if (item.seed != kNoProduct && p.personal && IsHistorySeed(r, item.seed))
      out.personalized = true;
  }
  // The fallback says why a placement that wants personal items has none.
  if (wants_personal && !out.personalized) {
    out.fallback = r.customer == nullptr ? FallbackReason::kUnknownCustomer
                   : !p.personal         ? FallbackReason::kNoConsent
                                         : FallbackReason::kNoPersonalItems;
  }
  return out;
}

}  // namespace nextbest::core
