// Offers as candidates: the date window, eligibility (segments, consent),
// propensity, and the arbitration score. Caps are reserved when an offer
// is selected (decision.cc, through the OfferLedger).

#include "core/decision_internal.h"
#include "core/segments.h"

namespace nextbest::core::internal {
namespace {

// Smoothed click-through rate: (clicks + 1) / (impressions + 20).
double Propensity(const OfferSpec& o) {
  if (o.counters == nullptr) return 1.0 / 20;
  const double clicks = static_cast<double>(o.counters->clicks.load(std::memory_order_relaxed));
  const double imps = static_cast<double>(o.counters->impressions.load(std::memory_order_relaxed));
  return (clicks + 1) / (imps + 20);
}

}  // namespace

void AddOfferCandidates(Pipeline& p) {
  const PlacementSpec& spec = p.spec;
  if (spec.offers.empty() || !spec.HasSource(Source::kOffer)) return;
  const DecisionRequest& r = p.request;
  ConditionInput in;
  in.customer = r.customer;
  in.personal = p.personal;
  in.country = p.out.country;
  in.channel = r.channel;
  in.now = r.now;
  // Population figures only with consent: no RFM or behaviour otherwise.
  const bool scored = p.personal && r.models != nullptr;
  SegmentCustomer(scored ? &r.models->rfm : nullptr, scored ? &r.models->behaviour : nullptr,
                  r.config->segments, p.catalog, in);
  p.out.rfm = in.rfm;
  const Arbitration& a = spec.arbitration;
  for (uint32_t idx : spec.offers) {
    const OfferSpec& o = r.config->offers[idx];
    const auto offer = static_cast<int32_t>(idx);
    if ((o.start != 0 && r.now < o.start) || (o.end != 0 && r.now >= o.end)) {
      p.Drop(kNoProduct, offer, DropRule::kOfferOutsideWindow, 0);
      continue;
    }
    if (!Matches(o.eligibility, p.catalog, in)) {
      p.Drop(kNoProduct, offer, DropRule::kOfferNotEligible, 0);
      continue;
    }
    ProductIndex product = kNoProduct;
    if (!o.product_id.empty()) {
      product = p.catalog.FindProduct(o.product_id).value_or(kNoProduct);
      if (product == kNoProduct) {
        p.Drop(kNoProduct, offer, DropRule::kNotRecommendable, 0);
        continue;
      }
    }
    const double relevance = Propensity(o);
    double score = a.use_relevance ? relevance : 1;
    if (a.use_value) score *= o.value;
    if (a.use_priority) score *= o.priority;
    if (a.use_context) score *= a.offer_type_weight[static_cast<int>(o.type)];
    const double rotated = score * p.Rotation(product, idx);
    p.s.candidates.push_back({product, offer, rotated, rotated, relevance, kEnd, kEnd});
  }
}

}  // namespace nextbest::core::internal
