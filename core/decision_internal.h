#pragma once
// The decision pipeline's own parts, shared by its stages — sources.cc
// (gather), offers.cc (offer candidates), rules.cc (hard rules) and
// decision.cc (merge, select, fill). Not for callers of Decide().

#include <cstdint>
#include <string>
#include <vector>

#include "core/decision.h"

namespace nextbest::core::internal {

inline constexpr uint32_t kEnd = 0xffffffff;

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
  double base;  // the score before any category-spread discount
  double relevance;
  uint32_t first;  // first proposal (products), kEnd for offers
  uint32_t best;   // largest contribution
};

// Per-thread scratch space, reused by every decision on the thread: after
// warm-up a decision allocates nothing here.
struct Scratch {
  std::vector<Proposal> proposals;
  std::vector<Candidate> candidates;
  std::vector<uint32_t> heap;
  std::vector<int> discounted;  // Select with category spread
  // product -> candidate, open addressing, cleared by bumping `generation`.
  struct Slot {
    ProductIndex product;
    uint32_t candidate;
    uint32_t generation;
  };
  std::vector<Slot> slots;
  uint32_t generation = 0;

  // The customer's own products (bought, viewed) by product, open
  // addressing, cleared by bumping `own_generation`.
  struct Own {
    ProductIndex product;
    uint32_t generation;
    int32_t purchase;  // index into the features' purchases, -1: not bought
    int32_t view;      // index into recently_viewed, -1: not viewed
  };
  std::vector<Own> own;
  uint32_t own_generation = 0;
  void IndexOwn(const CustomerFeatures& f);
  const Own* FindOwn(ProductIndex p) const {
    if (own.empty()) return nullptr;
    const size_t mask = own.size() - 1;
    for (size_t i = (p * 0x9E3779B1u) & mask; own[i].generation == own_generation;
         i = (i + 1) & mask) {
      if (own[i].product == p) return &own[i];
    }
    return nullptr;
  }

  // Neighbour scores by product while a neighbour source gathers: open
  // addressing, cleared by bumping `acc_generation`; `acc_used` lists the
  // slots in use.
  struct Acc {
    ProductIndex product;
    uint32_t generation;
    float score;
    float best;         // the largest single contribution
    ProductIndex seed;  // ... and its seed
  };
  std::vector<Acc> acc;
  std::vector<uint32_t> acc_used;
  uint32_t acc_generation = 0;
  void PrepareAcc(size_t products);
  void Accumulate(ProductIndex p, float score, ProductIndex seed) {
    const size_t mask = acc.size() - 1;
    size_t i = (p * 0x9E3779B1u) & mask;
    while (acc[i].generation == acc_generation) {
      if (acc[i].product == p) {
        acc[i].score += score;
        if (score > acc[i].best) {
          acc[i].best = score;
          acc[i].seed = seed;
        }
        return;
      }
      i = (i + 1) & mask;
    }
    acc[i] = {p, acc_generation, score, score, seed};
    acc_used.push_back(static_cast<uint32_t>(i));
  }

  void Reset() {
    proposals.clear();
    candidates.clear();
    heap.clear();
  }
  // Readies the product table for up to `products` distinct products (at
  // most half full, so a probe always ends).
  void PrepareSlots(size_t products);
  // The candidate index for `p`, creating it (inline: once per proposal).
  uint32_t CandidateFor(ProductIndex p) {
    const size_t mask = slots.size() - 1;
    size_t i = (p * 0x9E3779B1u) & mask;
    while (slots[i].generation == generation) {
      if (slots[i].product == p) return slots[i].candidate;
      i = (i + 1) & mask;
    }
    const auto c = static_cast<uint32_t>(candidates.size());
    slots[i] = {p, c, generation};
    candidates.push_back({p, -1, 0, 0, 0, kEnd, kEnd});
    return c;
  }
};
Scratch& ThreadScratch();

// One decision in progress: what every stage reads (the snapshots, the
// request, what was settled first: market, consent, count) and writes (the
// scratch space, the answer, the explanation).
struct Pipeline {
  Pipeline(const Catalog& catalog, const TrendingSnapshot& trending, const DecisionRequest& request,
           Decision& out);

  const Catalog& catalog;
  const TrendingSnapshot& trending;
  const DecisionRequest& request;
  const PlacementSpec& spec;
  Decision& out;
  Scratch& s;
  Explanation* const explain;
  int count = 0;          // items wanted
  bool personal = false;  // the customer's personal data may be used
  int filled = 0;         // items the trending fill added

  // The customer's features when personal data may be used, else null.
  const CustomerFeatures* features() const {
    return personal ? &request.customer->features : nullptr;
  }
  bool Full() const { return static_cast<int>(out.items.size()) >= count; }
  // Rotation among near-equal candidates (PlacementSpec::rotation): a
  // factor in [1 - r/2, 1 + r/2] from a hash of the request's rotation
  // seed and the candidate; 1 without rotation or seed.
  double Rotation(ProductIndex product, int64_t offer) const {
    return spec.rotation <= 0 || request.rotation_seed == 0 ? 1 : RotationFactor(product, offer);
  }
  double RotationFactor(ProductIndex product, int64_t offer) const;
  // Records a left-out candidate in the explanation, if there is one.
  void Drop(ProductIndex p, int32_t offer, DropRule rule, double score);
  // The customer's future (core/customer_value.h), valued at most once per
  // decision and only when asked; unknown without personal data or models.
  const CustomerValue& Future();
  // A retention offer's value under Arbitration::clv_at_risk: the CLV at
  // risk in major units (0: nothing at risk).
  double ClvAtRiskValue() { return Future().known ? Future().clv_at_risk_minor / 100 : 0; }
  // The value factor of offer `o` on this placement, and what it is.
  double OfferValue(const OfferSpec& o, ValueBasis& basis);

 private:
  CustomerValue future_;
  bool future_valued_ = false;
};

// Where one source's gather appends its proposals.
class ProposalSink {
 public:
  ProposalSink(const Catalog& catalog, std::vector<Proposal>& out, Source source)
      : catalog_(catalog), out_(out), source_(source) {}
  // Products the catalog does not hold and non-positive scores are ignored.
  void Propose(ProductIndex p, double raw, uint32_t aux = 0, TimeMs when = 0, TimeMs interval = 0,
               TrendingScope scope = TrendingScope::kMarket) {
    if (p >= catalog_.product_count() || !(raw > 0)) return;
    out_.push_back({p, source_, scope, static_cast<float>(raw), 0, aux, kEnd, when, interval});
  }
  size_t size() const { return out_.size(); }
  std::vector<Proposal>& proposals() { return out_; }

 private:
  const Catalog& catalog_;
  std::vector<Proposal>& out_;
  const Source source_;
};

// A source's row (sources.cc).
struct SourceRow {
  Source source;
  const char* name;         // "co_purchase"
  const char* config_name;  // "CO_PURCHASE" (SourceConfig.Kind)
  bool personal;            // reads the customer's own behaviour
  // Appends the source's proposals; null for offers (offers.cc).
  void (*gather)(const Pipeline& p, const SourceSpec& spec, ProposalSink& sink);
  // Copies the facts its reason needs from the winning proposal.
  void (*facts)(const Proposal& best, DecidedItem& item);
  // Appends the reason text ("often bought together with Tompouce").
  void (*describe)(const Catalog& catalog, const DecisionConfig& config, const DecidedItem& item,
                   CountryIndex country, TimeMs now, std::string& out);
};
// The rows, indexed by the Source value (sources.cc).
extern const SourceRow* const kSourceRows;
inline const SourceRow& RowFor(Source s) {
  const int i = static_cast<int>(s);
  return kSourceRows[i < kSourceCount ? i : 0];
}

// The first hard rule product `product` breaks (rules.cc), or nullopt;
// duplicates and the per-category limit count the answer built so far.
std::optional<DropRule> CheckProduct(const Pipeline& p, ProductIndex product, bool replenishment);
// How many items of the answer share `product`'s leaf category (0 for a
// product without one): max_per_category and the category spread.
int SameCategory(const Pipeline& p, ProductIndex product);
// The rule that keeps one of the customer's own products out (bought
// durable, bought recently, viewed), or nullopt: CheckProduct's personal
// part, also used by sources to skip such products before they propose.
std::optional<DropRule> CheckOwn(const Pipeline& p, ProductIndex product, bool replenishment);
// The facts behind a personal rule, for the explanation ("bought once, 12
// days ago; Films: 2 % of buyers buy the same product again").
std::string DropDetail(const Pipeline& p, ProductIndex product, DropRule rule);

// The placement's offers that are in their window and eligible become
// candidates, scored by the arbitration formula; the others are dropped
// with their rule (offers.cc). Also settles the answer's RFM segment.
void AddOfferCandidates(Pipeline& p);
// A selected retention offer valued by CLV at risk: the customer's figures
// behind its reason (DecidedItem::p_alive...); other offers: nothing.
void OfferFacts(Pipeline& p, int32_t offer, DecidedItem& item);
// After selection, on the control path: the offers held back (Decision::held_back_offers).
void NoteHeldBackOffers(Pipeline& p);

// Text helpers shared by the sources' reasons.
void AppendAgo(TimeMs then, TimeMs now, std::string& out);  // "today", "yesterday", "3 days ago"
int Days(TimeMs ms);                                        // rounded

}  // namespace nextbest::core::internal
