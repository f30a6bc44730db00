#include "tools/eval/worlds.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/types.h"
#include "tools/demo_retailer.h"

namespace nextbest::tools::eval {
namespace {

constexpr core::TimeMs kDayMs = core::kMsPerDay;

struct Row {
  std::string customer, item;
  core::TimeMs time;
  const char* type;
  int quantity;
  int64_t price_minor;
};

std::string Money(int64_t minor) { return absl::StrFormat("%d.%02d", minor / 100, minor % 100); }

absl::Status WriteRows(const std::string& events_path, const std::vector<Row>& rows) {
  std::ofstream out(events_path);
  if (!out) return absl::UnavailableError(absl::StrCat(events_path, ": cannot write"));
  out << "customer,item,timestamp,event_type,quantity,price\n";
  for (const Row& r : rows) {
    out << r.customer << ',' << r.item << ',' << r.time << ',' << r.type << ',' << r.quantity << ','
        << Money(r.price_minor) << '\n';
  }
  return out ? absl::OkStatus()
             : absl::UnavailableError(absl::StrCat(events_path, ": write failed"));
}

struct ItemRow {
  std::string id, name, category, brand;
  int64_t price_minor;
  std::string tags;
};

absl::Status WriteItems(const std::string& items_path, const std::vector<ItemRow>& items) {
  std::ofstream out(items_path);
  if (!out) return absl::UnavailableError(absl::StrCat(items_path, ": cannot write"));
  out << "item,name,category_path,brand,price,tags\n";
  for (const ItemRow& i : items) {
    out << i.id << ",\"" << i.name << "\"," << i.category << ',' << i.brand << ','
        << Money(i.price_minor) << ',' << i.tags << '\n';
  }
  return out ? absl::OkStatus()
             : absl::UnavailableError(absl::StrCat(items_path, ": write failed"));
}

// The items, then the events in time order (ties keep their order).
absl::Status WriteInTimeOrder(const std::string& items_path, const std::vector<ItemRow>& items,
                              const std::string& events_path, std::vector<Row> events) {
  if (absl::Status s = WriteItems(items_path, items); !s.ok()) return s;
  std::stable_sort(events.begin(), events.end(),
                   [](const Row& a, const Row& b) { return a.time < b.time; });
  return WriteRows(events_path, events);
}

const char* TypeName(v1::EventType t) {
  switch (t) {
    case v1::EVENT_TYPE_VIEW:
      return "view";
    case v1::EVENT_TYPE_ADD_TO_CART:
      return "add_to_cart";
    case v1::EVENT_TYPE_RETURN:
      return "return";
    default:
      return "purchase";
  }
}

absl::Status WriteDemo(const WorldOptions& o, const std::string& events_path,
                       const std::string& items_path) {
  RetailerSize size;
  size.customers = o.customers;
  size.days = o.days;
  size.seed = o.seed;
  size.now_ms = o.end_ms;
  const DemoRetailer retailer(size);
  std::vector<ItemRow> items;
  for (const v1::Product& p : retailer.products()) {
    items.push_back({p.product_id(), p.name(), absl::StrJoin(p.category_path(), "/"), p.brand(),
                     p.price().amount_minor(), absl::StrJoin(p.tags(), "|")});
  }
  std::vector<Row> rows;
  for (int c = 1; c <= o.customers; ++c) {
    for (const v1::Event& e : retailer.CustomerEvents(c)) {
      const core::TimeMs t = e.time().seconds() * 1000 + e.time().nanos() / 1'000'000;
      if (e.has_order()) {
        for (const v1::OrderLine& l : e.order().lines()) {
          rows.push_back({e.customer_id(), l.product_id(), t, TypeName(e.type()), l.quantity(),
                          l.unit_price().amount_minor()});
        }
      } else if (!e.product_id().empty()) {
        rows.push_back(
            {e.customer_id(), e.product_id(), t, TypeName(e.type()), std::max(1, e.quantity()), 0});
      }
    }
  }
  if (absl::Status s = WriteItems(items_path, items); !s.ok()) return s;
  return WriteRows(events_path, rows);
}

// --- the hard world ------------------------------------------------------

constexpr int kStyles = 8;
constexpr int kDepartments = 12;
constexpr int kPerDepartment = 5;
constexpr int kCategories = kDepartments * kPerDepartment;

const char* const kDepartmentNames[kDepartments] = {"Fashion", "Home",   "Toys",    "Books",
                                                    "Music",   "Garden", "Kitchen", "Beauty",
                                                    "Food",    "Drinks", "Pets",    "Office"};

struct HardCategory {
  std::string path;
  int style;
  int repeat_days;  // 0: durable, never bought twice
  int64_t min_price, max_price;
  double weight;
};

struct HardItem {
  int category;
  int style2;  // a second style the item also speaks to
  int release_day;
  int season_center = -1;  // -1: all year
  double popularity;
  int64_t price;
  std::string brand;
};

class HardWorld {
 public:
  explicit HardWorld(const WorldOptions& o) : o_(o), rng_(o.seed) {}

  absl::Status Write(const std::string& events_path, const std::string& items_path) {
    BuildCatalog();
    std::vector<ItemRow> rows;
    for (size_t i = 0; i < items_.size(); ++i) {
      const HardItem& it = items_[i];
      rows.push_back({Id(i), absl::StrCat("Item ", i + 1), categories_[it.category].path, it.brand,
                      it.price,
                      absl::StrCat("style", categories_[it.category].style, "|style", it.style2,
                                   it.season_center >= 0 ? "|seasonal" : "")});
    }
    std::vector<Row> events;
    for (int c = 0; c < o_.customers; ++c) Customer(c, events);
    return WriteInTimeOrder(items_path, rows, events_path, std::move(events));
  }

 private:
  static std::string Id(size_t item) { return absl::StrCat("i", item + 1); }
  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  int Below(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }

  void BuildCatalog() {
    for (int c = 0; c < kCategories; ++c) {
      const int department = c / kPerDepartment;
      HardCategory cat;
      cat.path = absl::StrCat(kDepartmentNames[department], "/", kDepartmentNames[department], " ",
                              c % kPerDepartment + 1);
      cat.style = (c * 3 + department) % kStyles;
      // Food, Drinks, Pets and Beauty are consumables; the rest durable.
      const bool consumable =
          department == 7 || department == 8 || department == 9 || department == 10;
      cat.repeat_days = consumable ? 10 + Below(50) : 0;
      cat.min_price = consumable ? 150 : 500;
      cat.max_price = consumable ? 1500 : 8000;
      cat.weight = 1.0 / std::pow(1.0 + Below(kCategories), 0.8);  // some categories are big
      categories_.push_back(cat);
    }
    std::vector<double> category_weights;
    for (const HardCategory& c : categories_) category_weights.push_back(c.weight);
    std::discrete_distribution<int> pick_category(category_weights.begin(), category_weights.end());
    std::vector<int> rank(o_.items);
    for (int i = 0; i < o_.items; ++i) rank[i] = i;
    std::shuffle(rank.begin(), rank.end(), rng_);
    for (int i = 0; i < o_.items; ++i) {
      HardItem it;
      it.category = pick_category(rng_);
      it.style2 = Below(kStyles);
      it.release_day = Uniform() < 0.8 ? 0 : Below(o_.days);
      if (Uniform() < 0.1) it.season_center = Below(o_.days);
      it.popularity = 1.0 / std::pow(rank[i] + 10.0, 1.1);  // a heavy tail
      const HardCategory& cat = categories_[it.category];
      it.price =
          cat.min_price +
          static_cast<int64_t>(Uniform() * static_cast<double>(cat.max_price - cat.min_price));
      // A third of the range is the house brand; the rest follow styles.
      it.brand = Uniform() < 0.33
                     ? "HEMA"
                     : absl::StrCat("Brand", (Uniform() < 0.8 ? cat.style : Below(kStyles)) * 20 +
                                                 Below(20));
      by_category_[it.category].push_back(static_cast<int>(items_.size()));
      items_.push_back(it);
    }
    for (int c = 0; c < kCategories; ++c) {
      if (categories_[c].style >= 0) by_style_[categories_[c].style].push_back(c);
    }
    std::vector<double> all;
    for (const HardItem& it : items_) all.push_back(it.popularity);
    any_item_ = std::discrete_distribution<int>(all.begin(), all.end());
  }

  // How attractive `item` is on `day` (0 before its release).
  double Weight(int item, int day) const {
    const HardItem& it = items_[item];
    if (day < it.release_day) return 0;
    double w = std::pow(it.popularity, 0.7);
    if (it.season_center >= 0 && std::abs(day - it.season_center) > 30) w *= 0.05;
    if (day - it.release_day < 30 && it.release_day > 0) w *= 2;  // new arrivals get attention
    return w;
  }

  int PickInCategory(int category, int day, const std::vector<bool>& owned) {
    const std::vector<int>& list = by_category_[category];
    double total = 0;
    for (int item : list) total += owned[item] ? 0 : Weight(item, day);
    if (total <= 0) return -1;
    double x = Uniform() * total;
    for (int item : list) {
      const double w = owned[item] ? 0 : Weight(item, day);
      if (x < w) return item;
      x -= w;
    }
    return -1;
  }

  void Customer(int c, std::vector<Row>& out) {
    const std::string id = absl::StrCat("u", c + 1);
    // One to three tastes over the styles.
    const int tastes = Uniform() < 0.4 ? 1 : Uniform() < 0.67 ? 2 : 3;
    std::vector<int> style;
    std::vector<double> style_weight;
    for (int t = 0; t < tastes; ++t) {
      style.push_back(Below(kStyles));
      style_weight.push_back(0.2 + Uniform());
    }
    std::discrete_distribution<int> pick_taste(style_weight.begin(), style_weight.end());
    const int sessions = std::clamp(
        static_cast<int>(std::lround(std::exp(std::normal_distribution<double>(2.0, 0.9)(rng_)))),
        1, 150);
    const int join = Below(std::max(1, o_.days * 4 / 5));
    std::vector<int> days;
    for (int s = 0; s < sessions; ++s) days.push_back(join + Below(std::max(1, o_.days - join)));
    std::sort(days.begin(), days.end());
    std::vector<bool> owned(items_.size(), false);  // durables bought
    const core::TimeMs start = o_.end_ms - static_cast<core::TimeMs>(o_.days) * kDayMs;
    auto at = [&](int day, int minute) {
      return start + static_cast<core::TimeMs>(day) * kDayMs +
             (9 * 60 + c % 600 + minute) * 60'000LL;
    };
    auto emit = [&](int item, core::TimeMs t, const char* type) {
      out.push_back({id, Id(item), t, type, 1, items_[item].price});
    };
    // Staples: consumables in the customer's styles, bought on a cycle.
    for (int k = 0; k < 3; ++k) {
      if (Uniform() < 0.6) continue;
      const int s = style[pick_taste(rng_)];
      std::vector<int> consumables;
      for (int cat : by_style_[s]) {
        if (categories_[cat].repeat_days > 0) consumables.push_back(cat);
      }
      if (consumables.empty()) continue;
      const int cat = consumables[Below(static_cast<int>(consumables.size()))];
      const int item = PickInCategory(cat, join, owned);
      if (item < 0) continue;
      const double interval = categories_[cat].repeat_days * (0.8 + 0.4 * Uniform());
      for (double d = join + Uniform() * interval; d < o_.days;
           d += interval * (0.85 + 0.3 * Uniform())) {
        emit(item, at(static_cast<int>(d), Below(600)), "purchase");
      }
    }
    // Browsing sessions within one style, buying now and then.
    for (int day : days) {
      const int s = Uniform() < 0.9 ? style[pick_taste(rng_)] : Below(kStyles);
      const std::vector<int>& cats = by_style_[s];
      if (cats.empty()) continue;
      int cat = cats[Below(static_cast<int>(cats.size()))];
      const int views =
          1 + std::min(7, static_cast<int>(std::geometric_distribution<int>(0.35)(rng_)));
      for (int v = 0; v < views; ++v) {
        if (v > 0 && Uniform() < 0.3) cat = cats[Below(static_cast<int>(cats.size()))];
        int item = Uniform() < 0.1 ? any_item_(rng_) : PickInCategory(cat, day, owned);
        if (item < 0 || owned[item] || Weight(item, day) <= 0) continue;
        const core::TimeMs t = at(day, v * 2);
        emit(item, t, "view");
        const double roll = Uniform();
        if (roll < 0.12) {
          emit(item, t + 30'000, "purchase");
          if (categories_[items_[item].category].repeat_days == 0) owned[item] = true;
        } else if (roll < 0.25) {
          emit(item, t + 30'000, "add_to_cart");
        }
      }
    }
  }

  const WorldOptions o_;
  std::mt19937_64 rng_;
  std::vector<HardCategory> categories_;
  std::vector<HardItem> items_;
  std::vector<int> by_category_[kCategories];
  std::vector<int> by_style_[kStyles];
  std::discrete_distribution<int> any_item_;
};

// --- the media world: a ratings log -------------------------------------

// Like a public film-ratings log: every customer rates (buys) distinct
// items, 20 to a few thousand of them, most in bursts (a new customer rates
// dozens at once, genre by genre), the rest over later months; taste is a
// mix of two to four of 18 genres plus how much the customer follows the
// crowd; items belong to small "franchises" (sequels, one director) that
// the same people rate together. Items carry their genres as tags and the
// first as their category.
class MediaWorld {
 public:
  explicit MediaWorld(const WorldOptions& o) : o_(o), rng_(o.seed) {}

  absl::Status Write(const std::string& events_path, const std::string& items_path) {
    static const char* const kGenres[kGenres_] = {
        "Action",      "Adventure", "Animation", "Children", "Comedy",  "Crime",
        "Documentary", "Drama",     "Fantasy",   "Horror",   "Musical", "Mystery",
        "Romance",     "SciFi",     "Thriller",  "War",      "Western", "Noir"};
    std::vector<int> rank(o_.items);
    for (int i = 0; i < o_.items; ++i) rank[i] = i;
    std::shuffle(rank.begin(), rank.end(), rng_);
    std::vector<ItemRow> rows;
    for (int i = 0; i < o_.items; ++i) {
      Item it;
      const int n = 1 + Below(3);
      for (int g = 0; g < n; ++g) it.genres.push_back(Below(kGenres_));
      it.popularity = 1.0 / std::pow(rank[i] + 3.0, 1.05);
      it.franchise = i / 4 + Below(3) * 0;  // four items per franchise, in id order
      it.release_day = Uniform() < 0.85 ? 0 : Below(o_.days);
      items_.push_back(it);
      std::vector<std::string> names;
      for (int g : it.genres) names.push_back(kGenres[g]);
      rows.push_back({Id(i), absl::StrCat("Title ", i + 1), kGenres[it.genres[0]], "", 500,
                      absl::StrJoin(names, "|")});
      by_genre_[it.genres[0]].push_back(i);
      for (int g = 1; g < static_cast<int>(it.genres.size()); ++g)
        by_genre_[it.genres[g]].push_back(i);
      by_franchise_[it.franchise].push_back(i);
    }
    std::vector<Row> events;
    for (int c = 0; c < o_.customers; ++c) Customer(c, events);
    return WriteInTimeOrder(items_path, rows, events_path, std::move(events));
  }

 private:
  static constexpr int kGenres_ = 18;
  struct Item {
    std::vector<int> genres;
    double popularity;
    int franchise;
    int release_day;
  };
  static std::string Id(int item) { return absl::StrCat("m", item + 1); }
  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  int Below(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }

  void Customer(int c, std::vector<Row>& out) {
    const std::string id = absl::StrCat("u", c + 1);
    std::vector<double> taste(kGenres_, 0.05);
    const int liked = 2 + Below(3);
    for (int g = 0; g < liked; ++g) taste[Below(kGenres_)] += 0.5 + Uniform();
    const double crowd = 0.4 + 0.6 * Uniform();  // how much popularity drives the choice
    const int count = std::clamp(
        static_cast<int>(20 + std::exp(std::normal_distribution<double>(3.6, 1.0)(rng_))), 20,
        std::max(20, o_.items / 3));
    const int join = Below(std::max(1, o_.days * 3 / 4));
    std::vector<bool> seen(items_.size(), false);
    const core::TimeMs start = o_.end_ms - static_cast<core::TimeMs>(o_.days) * kDayMs;
    core::TimeMs t = start + static_cast<core::TimeMs>(join) * kDayMs + Below(86'400) * 1000LL;
    const int burst = std::max(10, static_cast<int>(count * (0.3 + 0.5 * Uniform())));
    int genre = -1, last = -1;
    for (int k = 0; k < count; ++k) {
      // The burst rates within seconds, genre by genre; later, days apart.
      if (k < burst) {
        t += 1000LL * (3 + Below(40));
      } else {
        t += static_cast<core::TimeMs>(Uniform() < 0.3 ? 1 + Below(30) : Below(3)) * kDayMs +
             Below(3600) * 1000LL;
      }
      const int day = static_cast<int>((t - start) / kDayMs);
      int item = -1;
      if (last >= 0 && Uniform() < 0.35) {  // the rest of a franchise
        const std::vector<int>& f = by_franchise_[items_[last].franchise];
        item = f[Below(static_cast<int>(f.size()))];
      }
      if (item < 0 || seen[item]) {
        if (genre < 0 || Uniform() < 0.25)
          genre = std::discrete_distribution<int>(taste.begin(), taste.end())(rng_);
        item = Pick(Uniform() < 0.1 ? -1 : genre, crowd, day, seen);
      }
      if (item < 0 || seen[item]) continue;
      seen[item] = true;
      last = item;
      if (t > o_.end_ms) break;
      out.push_back({id, Id(item), t, "purchase", 1, 500});
    }
  }

  // An item of `genre` (-1: any), by popularity^crowd, not yet seen.
  int Pick(int genre, double crowd, int day, const std::vector<bool>& seen) {
    static const std::vector<int> kNone;
    std::vector<int> all;
    const std::vector<int>* list = &kNone;
    if (genre >= 0) {
      list = &by_genre_[genre];
    } else {
      all.resize(items_.size());
      for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
      list = &all;
    }
    double total = 0;
    for (int i : *list)
      total += seen[i] || items_[i].release_day > day ? 0 : std::pow(items_[i].popularity, crowd);
    if (total <= 0) return -1;
    double x = Uniform() * total;
    for (int i : *list) {
      const double w =
          seen[i] || items_[i].release_day > day ? 0 : std::pow(items_[i].popularity, crowd);
      if (x < w) return i;
      x -= w;
    }
    return -1;
  }

  const WorldOptions o_;
  std::mt19937_64 rng_;
  std::vector<Item> items_;
  std::vector<int> by_genre_[kGenres_];
  absl::flat_hash_map<int, std::vector<int>> by_franchise_;
};

}  // namespace

absl::Status WriteWorld(const WorldOptions& options, const std::string& events_path,
                        const std::string& items_path) {
  if (options.customers < 1 || options.items < 10 || options.days < 7) {
    return absl::InvalidArgumentError("world: --customers >= 1, --products >= 10, --days >= 7");
  }
  if (options.world == "demo") return WriteDemo(options, events_path, items_path);
  if (options.world == "hard") return HardWorld(options).Write(events_path, items_path);
  if (options.world == "media") return MediaWorld(options).Write(events_path, items_path);
  return absl::InvalidArgumentError(
      absl::StrCat("world: '", options.world, "': demo, hard or media"));
}

}  // namespace nextbest::tools::eval
