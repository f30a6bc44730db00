// The hard rules every product of every answer passes (the fill included):
// what is left out, and by which rule (DropRule, in explanations).

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/decision_internal.h"

namespace nextbest::core::internal {
namespace {

bool PrefixOfAny(absl::string_view path, const std::vector<std::string>& prefixes) {
  for (const std::string& p : prefixes) {
    if (absl::StartsWith(path, p)) return true;
  }
  return false;
}

bool Has(const std::vector<std::string>& list, absl::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// The placement's category, brand, tag and price filters.
std::optional<DropRule> CheckFilter(const Catalog& catalog, const ProductFilter& fl,
                                    const Product& prod) {
  if (fl.Empty()) return std::nullopt;
  const absl::string_view path = prod.category < catalog.category_count()
                                     ? absl::string_view(catalog.category_name(prod.category))
                                     : absl::string_view();
  if (!fl.include_categories.empty() && !PrefixOfAny(path, fl.include_categories))
    return DropRule::kCategoryFilter;
  if (PrefixOfAny(path, fl.exclude_categories)) return DropRule::kCategoryFilter;
  if (!fl.include_brands.empty() && !Has(fl.include_brands, prod.brand))
    return DropRule::kBrandFilter;
  if (Has(fl.exclude_brands, prod.brand)) return DropRule::kBrandFilter;
  if (!fl.include_tags.empty() || !fl.exclude_tags.empty()) {
    bool included = fl.include_tags.empty();
    for (const std::string& t : prod.tags) {
      if (Has(fl.exclude_tags, t)) return DropRule::kTagFilter;
      included |= Has(fl.include_tags, t);
    }
    if (!included) return DropRule::kTagFilter;
  }
  if (fl.min_price_minor > 0 && prod.price_minor < fl.min_price_minor) return DropRule::kPriceRange;
  if (fl.max_price_minor > 0 && prod.price_minor > fl.max_price_minor) return DropRule::kPriceRange;
  return std::nullopt;
}

}  // namespace

std::optional<DropRule> CheckOwn(const Pipeline& p, ProductIndex product, bool replenishment) {
  if (!p.personal || replenishment) return std::nullopt;
  const Scratch::Own* own = p.s.FindOwn(product);
  if (own == nullptr) return std::nullopt;
  const CustomerFeatures& f = p.request.customer->features;
  if (own->purchase >= 0) {
    const PurchaseRecord& rec = f.purchases[own->purchase];
    if (p.spec.exclude_bought_durables &&
        !MayRebuy(p.request.models ? &p.request.models->repurchase : nullptr, p.catalog, rec)) {
      return DropRule::kBoughtDurable;
    }
    const TimeMs since =
        p.request.now - static_cast<TimeMs>(p.spec.exclude_bought_within_days) * kMsPerDay;
    if (p.spec.exclude_bought_within_days > 0 && rec.last() > since) {
      return DropRule::kBoughtRecently;
    }
  }
  if (p.spec.exclude_viewed && own->view >= 0) return DropRule::kViewed;
  return std::nullopt;
}

std::string DropDetail(const Pipeline& p, ProductIndex product, DropRule rule) {
  std::string out;
  const Scratch::Own* own = p.personal ? p.s.FindOwn(product) : nullptr;
  if (own == nullptr) return out;
  const CustomerFeatures& f = p.request.customer->features;
  if ((rule == DropRule::kBoughtDurable || rule == DropRule::kBoughtRecently) &&
      own->purchase >= 0) {
    const PurchaseRecord& rec = f.purchases[own->purchase];
    absl::StrAppendFormat(&out, "bought %s, last ",
                          rec.count == 1 ? "once" : absl::StrCat(rec.count, " times"));
    AppendAgo(rec.last(), p.request.now, out);
    if (rule == DropRule::kBoughtDurable && p.request.models != nullptr) {
      const CategoryIndex c = p.catalog.product(product).category;
      const RepurchaseProfile& prof = p.request.models->repurchase.For(c);
      absl::StrAppendFormat(&out, "; %s: %.0f %% of buyers buy the same product again",
                            prof.own && c < p.catalog.category_count()
                                ? std::string(CategoryLeaf(p.catalog.category_name(c)))
                                : std::string("the shop"),
                            100 * prof.RepeatShare());
    }
  } else if (rule == DropRule::kViewed && own->view >= 0) {
    out.append("viewed ");
    AppendAgo(f.recently_viewed[own->view].time(), p.request.now, out);
  }
  return out;
}

int SameCategory(const Pipeline& p, ProductIndex product) {
  const CategoryIndex c = p.catalog.product(product).category;
  if (c == kNoCategory) return 0;  // no known category: shares none
  int same = 0;
  for (const DecidedItem& it : p.out.items) {
    if (it.product != kNoProduct && p.catalog.product(it.product).category == c) ++same;
  }
  return same;
}

std::optional<DropRule> CheckProduct(const Pipeline& p, ProductIndex product, bool replenishment) {
  const DecisionRequest& r = p.request;
  const Catalog& catalog = p.catalog;
  if (product >= catalog.product_count() || !catalog.Recommendable(product, r.now)) {
    return DropRule::kNotRecommendable;
  }
  if (!catalog.InStock(product, p.out.country, r.store)) return DropRule::kOutOfStock;
  if (product == r.current_product) return DropRule::kOnScreen;
  if (std::find(r.cart.begin(), r.cart.end(), product) != r.cart.end()) return DropRule::kInCart;
  if (std::find(r.exclude.begin(), r.exclude.end(), product) != r.exclude.end()) {
    return DropRule::kExcludedByCaller;
  }
  for (const DecidedItem& it : p.out.items) {
    if (it.product == product) return DropRule::kDuplicate;
  }
  const Product& prod = catalog.product(product);
  if (auto rule = CheckFilter(catalog, p.spec.filter, prod)) return rule;
  if (auto rule = CheckOwn(p, product, replenishment)) return rule;
  if (p.spec.size_fit && p.personal && !FitsKnownSizes(catalog, *r.customer, product)) {
    return DropRule::kSizeNotFitting;
  }
  if (p.spec.max_per_category > 0 && SameCategory(p, product) >= p.spec.max_per_category) {
    return DropRule::kCategoryLimit;
  }
  return std::nullopt;
}

}  // namespace nextbest::core::internal
