// The words of an answer: reason texts (each source's own, sources.cc),
// fallback texts and the names of the rules that drop candidates.

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/decision_internal.h"

namespace nextbest::core {

absl::string_view CategoryLeaf(absl::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

void DescribeReason(const Catalog& catalog, const DecisionConfig& config, const DecidedItem& item,
                    CountryIndex country, TimeMs now, std::string& out) {
  internal::RowFor(item.source).describe(catalog, config, item, country, now, out);
}

const char* FallbackReasonText(FallbackReason reason) {
  switch (reason) {
    case FallbackReason::kNone:
      return "";
    case FallbackReason::kUnknownCustomer:
      return "unknown customer: popular products instead";
    case FallbackReason::kNoPersonalItems:
      return "no personal items yet: popular products instead";
    case FallbackReason::kNoConsent:
      return "no personalization consent: popular products instead";
    case FallbackReason::kControl:
      return "control group of an experiment: popular products instead";
    case FallbackReason::kHoldout:
      return "global holdout: popular products instead";
  }
  return "";
}

const char* DropRuleName(DropRule r) {
  switch (r) {
    case DropRule::kNotRecommendable:
      return "not_recommendable";
    case DropRule::kOutOfStock:
      return "out_of_stock";
    case DropRule::kInCart:
      return "in_cart";
    case DropRule::kOnScreen:
      return "on_screen";
    case DropRule::kExcludedByCaller:
      return "excluded_by_caller";
    case DropRule::kDuplicate:
      return "duplicate";
    case DropRule::kCategoryFilter:
      return "category_filter";
    case DropRule::kBrandFilter:
      return "brand_filter";
    case DropRule::kTagFilter:
      return "tag_filter";
    case DropRule::kPriceRange:
      return "price_range";
    case DropRule::kBoughtRecently:
      return "bought_recently";
    case DropRule::kCategoryLimit:
      return "category_limit";
    case DropRule::kOfferNotEligible:
      return "offer_not_eligible";
    case DropRule::kOfferOutsideWindow:
      return "offer_outside_date_window";
    case DropRule::kOfferCustomerCap:
      return "offer_customer_cap";
    case DropRule::kOfferTotalCap:
      return "offer_total_cap";
    case DropRule::kSizeNotFitting:
      return "size_not_fitting";
    case DropRule::kBoughtDurable:
      return "bought_durable";
    case DropRule::kViewed:
      return "viewed";
    case DropRule::kOfferNothingAtRisk:
      return "offer_nothing_at_risk";
  }
  return "";
}

const char* ValueBasisName(ValueBasis b) {
  switch (b) {
    case ValueBasis::kNone:
      return "";
    case ValueBasis::kPrice:
      return "price";
    case ValueBasis::kOfferValue:
      return "offer_value";
    case ValueBasis::kClvAtRisk:
      return "clv_at_risk";
  }
  return "";
}

namespace {

// The customer in the words of a call-centre agent, from their RFM segment.
const char* CustomerWords(RfmSegment s) {
  switch (s) {
    case RfmSegment::kChampions:
      return "top customer";
    case RfmSegment::kLoyal:
      return "loyal customer";
    case RfmSegment::kPotentialLoyalist:
    case RfmSegment::kPromising:
      return "promising customer";
    case RfmSegment::kNew:
      return "new customer";
    case RfmSegment::kNeedAttention:
      return "regular customer, needs attention";
    case RfmSegment::kAboutToSleep:
      return "customer falling asleep";
    case RfmSegment::kAtRisk:
      return "valuable customer at risk";
    case RfmSegment::kCantLose:
      return "big customer slipping away";
    case RfmSegment::kHibernating:
      return "hibernating customer";
    case RfmSegment::kLost:
      return "lapsed customer";
    case RfmSegment::kNone:
      break;
  }
  return "customer";
}

}  // namespace

void DescribeCustomerValue(const Catalog& catalog, const DecidedItem& item, std::string& out) {
  if (item.p_alive < 0) return;
  const std::string& currency = catalog.currency();
  const std::string symbol = currency == "EUR" ? "€" : currency;
  const int64_t units = (item.clv_minor + 50) / 100;
  absl::StrAppend(&out, CustomerWords(item.rfm), ", value ", symbol, " ", units);
  if (item.clv_months == 12) {
    out.append(" per year");
  } else {
    absl::StrAppend(&out, " over ", item.clv_months, " months");
  }
  absl::StrAppendFormat(
      &out, ", %d %% chance still active: ", static_cast<int>(std::lround(item.p_alive * 100)));
}

}  // namespace nextbest::core
