// Offers as candidates: the date window, eligibility (segments, consent),
// propensity, and the arbitration score. Caps are reserved when an offer
// is selected (decision.cc, through the OfferLedger).

#include <cmath>

#include "core/bandit.h"
#include "core/caps.h"
#include "core/decision_internal.h"
#include "core/segments.h"

namespace nextbest::core::internal {
namespace {

// The offer's click posterior for the customer's segment (core/bandit.h):
// its mean, or a Thompson draw seeded by the request (the rotation seed)
// and the offer.
double Propensity(const Pipeline& p, const OfferSpec& o, uint32_t index, RfmSegment segment) {
  const LearningSpec& spec = p.request.config->learning;
  if (o.counters == nullptr) return spec.prior_clicks / spec.prior_impressions;
  const Beta b = PosteriorOf(o.counters->posterior, static_cast<int>(segment), spec, p.request.now);
  if (p.spec.propensity == PlacementSpec::Propensity::kMean) return b.Mean();
  uint64_t seed = p.request.rotation_seed;
  if (seed == 0) seed = StableHash(p.request.customer_id, static_cast<uint64_t>(p.request.now));
  return SampleBeta(b, seed ^ (kGoldenGamma * (index + 1)));
}

}  // namespace

const CustomerValue& Pipeline::Future() {
  if (!future_valued_) {
    future_valued_ = true;
    const CustomerFeatures* f = features();
    if (f != nullptr && request.models != nullptr) {
      future_ = ValueCustomer(request.models->customer_value, *f, out.country, request.now,
                              /*with_expected_orders=*/false);
    }
  }
  return future_;
}

double Pipeline::OfferValue(const OfferSpec& o, ValueBasis& basis) {
  const Arbitration& a = spec.arbitration;
  if (a.clv_at_risk && o.retention) {
    basis = ValueBasis::kClvAtRisk;
    return ClvAtRiskValue();
  }
  basis = a.use_value || a.clv_at_risk ? ValueBasis::kOfferValue : ValueBasis::kNone;
  return basis == ValueBasis::kOfferValue ? o.value : 1;
}

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
  in.future = scored ? &r.models->customer_value : nullptr;
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
    ValueBasis basis;
    const double value = p.OfferValue(o, basis);
    if (basis == ValueBasis::kClvAtRisk && !(value > 0)) {
      p.Drop(product, offer, DropRule::kOfferNothingAtRisk, 0);
      continue;
    }
    const double relevance = Propensity(p, o, idx, in.rfm);
    double score = (a.use_relevance ? relevance : 1) * value;
    if (a.use_priority) score *= o.priority;
    if (a.use_context) score *= a.offer_type_weight[static_cast<int>(o.type)];
    const double rotated = score * p.Rotation(product, idx);
    p.s.candidates.push_back({product, offer, rotated, rotated, relevance, kEnd, kEnd});
  }
}

void OfferFacts(Pipeline& p, int32_t offer, DecidedItem& item) {
  if (!p.spec.arbitration.clv_at_risk || !p.request.config->offers[offer].retention) return;
  const CustomerValue& v = p.Future();
  if (!v.known) return;
  item.p_alive = static_cast<float>(v.p_alive);
  item.clv_minor = std::llround(v.clv_minor);
  item.clv_months = v.clv_months;
  item.rfm = p.out.rfm;
}

void NoteHeldBackOffers(Pipeline& p) {
  const DecisionRequest& r = p.request;
  const PlacementSpec& spec = p.spec;
  if (spec.offers.empty() || !spec.HasSource(Source::kOffer) ||
      !MayPersonalize(r.require_consent, r.customer)) {
    return;
  }
  ConditionInput in;
  in.customer = r.customer;
  in.personal = true;  // what the customer's own data would have made eligible
  in.country = p.out.country;
  in.channel = r.channel;
  in.now = r.now;
  in.future = r.models ? &r.models->customer_value : nullptr;
  SegmentCustomer(r.models ? &r.models->rfm : nullptr, r.models ? &r.models->behaviour : nullptr,
                  r.config->segments, p.catalog, in);
  p.out.held_back_rfm = in.rfm;
  for (uint32_t idx : spec.offers) {
    const OfferSpec& o = r.config->offers[idx];
    if ((o.start != 0 && r.now < o.start) || (o.end != 0 && r.now >= o.end)) continue;
    if (!Matches(o.eligibility, p.catalog, in)) continue;
    const auto offer = static_cast<int32_t>(idx);
    bool shown = false;
    for (const DecidedItem& item : p.out.items) shown |= item.offer == offer;
    if (!shown) p.out.held_back_offers.push_back(offer);
  }
}

}  // namespace nextbest::core::internal
