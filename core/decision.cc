#include "core/decision.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace nextbest::core {
namespace {

class Selector {
 public:
  Selector(const Catalog& catalog, const DecisionRequest& r, CountryIndex country, int count,
           Decision& out)
      : catalog_(catalog), r_(r), country_(country), count_(count), out_(out) {}

  bool full() const { return static_cast<int>(out_.items.size()) >= count_; }

  // Adds the item if every hard rule allows it. Returns whether it was added.
  bool Offer(const DecidedItem& item) {
    if (full() || !Eligible(item.product)) return false;
    out_.items.push_back(item);
    return true;
  }

 private:
  bool Eligible(ProductIndex p) const {
    if (p >= catalog_.product_count()) return false;
    if (!catalog_.Recommendable(p, r_.now)) return false;
    if (!catalog_.InStock(p, country_, r_.store)) return false;
    if (p == r_.current_product) return false;
    for (ProductIndex c : r_.cart) {
      if (c == p) return false;
    }
    for (const DecidedItem& it : out_.items) {
      if (it.product == p) return false;
    }
    return true;
  }

  const Catalog& catalog_;
  const DecisionRequest& r_;
  const CountryIndex country_;
  const int count_;
  Decision& out_;
};

void AddRecentlyViewed(const CustomerFeatures& f, TimeMs now, Selector& sel) {
  for (const ViewedProduct& v : f.recently_viewed) {
    if (sel.full()) return;
    const double age_days = std::max<double>(0, now - v.time) / kMsPerDay;
    sel.Offer({v.product, 1.0 / (1.0 + age_days), Source::kRecentlyViewed, v.time});
  }
}

void AddTrending(const TrendingSnapshot& trending, CountryIndex country, TimeMs now,
                 Selector& sel) {
  for (const TrendingEntry& e : trending.For(country)) {
    if (sel.full()) return;
    sel.Offer({e.product, trending.ScoreAt(e, now), Source::kTrending});
  }
}

void AddReplenishment(const PlacementSpec& spec, const CustomerFeatures& f, TimeMs now,
                      Selector& sel) {
  // Bounded by the configured purchase-history size (64 by default).
  absl::InlinedVector<DecidedItem, 32> due;
  for (const PurchaseRecord& r : f.purchases) {
    if (static_cast<int>(r.count) < spec.min_purchases) continue;
    const TimeMs interval = r.TypicalInterval();
    if (interval <= 0) continue;
    const double overdue = static_cast<double>(now - r.last) / interval;
    if (overdue < spec.due_fraction) continue;
    due.push_back({r.product, overdue, Source::kReplenishment, r.last, interval, r.count});
  }
  std::sort(due.begin(), due.end(), [](const DecidedItem& a, const DecidedItem& b) {
    return a.score != b.score ? a.score > b.score : a.product < b.product;
  });
  for (const DecidedItem& item : due) {
    if (sel.full()) return;
    sel.Offer(item);
  }
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

}  // namespace

Decision Decide(const Catalog& catalog, const TrendingSnapshot& trending,
                const DecisionRequest& r) {
  Decision out;
  const PlacementSpec& spec = *r.placement;
  out.country = ResolveCountry(catalog, r);
  const int count = std::clamp(r.count > 0 ? r.count : spec.default_count, 0, spec.max_count);
  Selector sel(catalog, r, out.country, count, out);

  if (spec.kind != PlacementSpec::Kind::kTrending) {
    if (r.customer == nullptr) {
      out.fallback = FallbackReason::kUnknownCustomer;
    } else if (r.require_consent && !r.customer->attributes.consent_personalization) {
      out.fallback = FallbackReason::kNoConsent;
    } else if (spec.kind == PlacementSpec::Kind::kRecentlyViewed) {
      AddRecentlyViewed(r.customer->features, r.now, sel);
    } else {
      AddReplenishment(spec, r.customer->features, r.now, sel);
    }
    out.personalized = !out.items.empty();
    if (!sel.full() && out.fallback == FallbackReason::kNone) {
      out.fallback = FallbackReason::kTooFewPersonal;
    }
    // Without consent the trending fill is the answer, whatever the placement says.
    if ((!spec.fill_with_trending && out.fallback != FallbackReason::kNoConsent) || sel.full()) {
      if (sel.full()) out.fallback = FallbackReason::kNone;
      return out;
    }
  }
  AddTrending(trending, out.country, r.now, sel);
  return out;
}

void DescribeReason(const Catalog& catalog, const DecidedItem& item, CountryIndex country,
                    TimeMs now, std::string& out) {
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
  switch (item.source) {
    case Source::kRecentlyViewed:
      out.append("you viewed this ");
      append_ago(item.when);
      return;
    case Source::kTrending:
      absl::StrAppendFormat(&out, "popular in %s right now",
                            country < catalog.market_count() ? catalog.market_code(country) : "all markets");
      return;
    case Source::kReplenishment:
      absl::StrAppendFormat(&out, "bought %d times, about every %d days; last ", item.purchases,
                            std::max(1, days(item.interval)));
      append_ago(item.when);
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

}  // namespace nextbest::core
