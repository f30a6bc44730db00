// The words of an answer: reason texts (each source's own, sources.cc),
// fallback texts and the names of the rules that drop candidates.

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
  }
  return "";
}

}  // namespace nextbest::core
