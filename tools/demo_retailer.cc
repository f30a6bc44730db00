#include "tools/demo_retailer.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace nextbest::tools {
namespace {

constexpr int64_t kDayMs = 86'400'000;

// `t` moved to a random minute of a shop's opening hours (09:00–19:59 local) that day.
int64_t ShopHour(int64_t t, absl::TimeZone local, std::mt19937_64& rng) {
  const absl::CivilDay day = absl::ToCivilDay(absl::FromUnixMillis(t), local);
  const absl::CivilSecond at(day.year(), day.month(), day.day(), 9 + static_cast<int>(rng() % 11),
                             static_cast<int>(rng() % 60), static_cast<int>(rng() % 60));
  return absl::ToUnixMillis(absl::FromCivil(at, local));
}

struct CountryInfo {
  const char* code;
  double store_share;
  double customer_share;
  const char* language;
  std::vector<const char*> cities;
};

const std::vector<CountryInfo>& Countries() {
  static const auto* c = new std::vector<CountryInfo>{
      {"NL",
       0.70,
       0.70,
       "nl",
       {"Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven", "Groningen", "Tilburg",
        "Almere", "Breda", "Nijmegen", "Haarlem", "Arnhem", "Zwolle", "Leiden", "Maastricht"}},
      {"BE",
       0.17,
       0.18,
       "nl",
       {"Antwerpen", "Gent", "Brussel", "Brugge", "Leuven", "Hasselt", "Mechelen"}},
      {"DE", 0.06, 0.05, "de", {"Köln", "Düsseldorf", "Aachen", "Münster", "Essen", "Duisburg"}},
      {"FR", 0.04, 0.04, "fr", {"Paris", "Lille", "Lyon", "Strasbourg", "Nantes"}},
      {"LU", 0.01, 0.01, "fr", {"Luxembourg", "Esch-sur-Alzette"}},
      {"AT", 0.02, 0.02, "de", {"Wien", "Graz", "Linz", "Salzburg"}},
  };
  return *c;
}

// Personas: the categories a customer likes, and habits (category, days).
struct Persona {
  const char* name;
  std::vector<int> tastes;                  // category indices
  std::vector<std::pair<int, int>> habits;  // (category, interval days)
  double sessions_per_year;
  // Share of the persona's customers who stop coming at some moment (the
  // churn-prone: occasion shoppers); their events end there.
  double lapse_share;
};

}  // namespace

DemoRetailer::DemoRetailer(const RetailerSize& size) : size_(size) {
  if (size_.now_ms == 0) {
    // Today's UTC midnight: the same data all day long, so a reload is a
    // no-op (every event a duplicate) rather than a conflict.
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    size_.now_ms = now - now % kDayMs;
  }
  const std::vector<std::string> kids_sizes = {"50/56", "62/68", "74/80", "86/92", "98/104"};
  const std::vector<std::string> adult_sizes = {"XS", "S", "M", "L", "XL"};
  categories_ = {
      {{"Bakkerij", "Tompouce"},
       {"Tompouce", "Tompoucen 2 stuks", "Oranje tompouce", "Mini tompoucen 6 stuks"},
       135,
       450,
       0,
       {}},
      {{"Bakkerij", "Rookworst"},
       {"Rookworst", "Rookworst 2 stuks", "Vegetarische rookworst", "Rookworst met mosterd"},
       299,
       599,
       10,
       {}},
      {{"Bakkerij", "Koek"},
       {"Stroopwafels 10 stuks", "Speculaas", "Ontbijtkoek", "Gevulde koeken 4 stuks"},
       149,
       399,
       0,
       {}},
      {{"Baby", "Luiers"},
       {"Luiers maat 3 (56 stuks)", "Luiers maat 4 (50 stuks)", "Luierbroekjes maat 5",
        "Zwemluiers"},
       699,
       1499,
       14,
       {}},
      {{"Baby", "Verzorging"},
       {"Billendoekjes 3 x 64", "Babyshampoo", "Zinkzalf", "Babyolie"},
       249,
       699,
       21,
       {}},
      {{"Baby", "Rompers"},
       {"Romper biologisch katoen", "Romper lange mouw 2 stuks", "Rompertje gestreept", "Boxpak"},
       599,
       1499,
       0,
       kids_sizes},
      {{"Kleding", "Dames"},
       {"T-shirt dames", "Jeans mom fit", "Trui gebreid", "Blouse viscose", "Legging"},
       999,
       3999,
       0,
       adult_sizes},
      {{"Kleding", "Heren"},
       {"T-shirt heren", "Chino slim fit", "Overhemd", "Sweater"},
       1299,
       3999,
       0,
       adult_sizes},
      {{"Kleding", "Ondergoed"},
       {"Sokken 5 paar", "Boxershorts 3 stuks", "Hipsters 3 stuks", "Enkelsokken 7 paar"},
       499,
       1499,
       60,
       adult_sizes},
      {{"Huishouden", "Schoonmaak"},
       {"Vaatwastabletten 40 stuks", "Allesreiniger", "Vaatdoekjes 5 stuks", "Afwasmiddel"},
       149,
       899,
       30,
       {}},
      {{"Huishouden", "Keuken"},
       {"Theedoek", "Snijplank bamboe", "Vershoudbakjes 3 stuks", "Pannenlap"},
       299,
       1499,
       0,
       {}},
      {{"Koffie & thee", "Koffie"},
       {"Koffiebonen 1 kg", "Koffiepads 36 stuks", "Filterkoffie 500 g", "Koffiecups 20 stuks"},
       399,
       1299,
       30,
       {}},
      {{"Koffie & thee", "Thee"},
       {"Groene thee 20 zakjes", "Rooibos thee", "Muntthee", "Theeglas 2 stuks"},
       149,
       699,
       45,
       {}},
      {{"Beauty", "Verzorging"},
       {"Handcrème", "Douchegel", "Bodylotion", "Shampoo", "Tandpasta"},
       199,
       899,
       40,
       {}},
      {{"Beauty", "Make-up"}, {"Mascara", "Lipbalsem", "Nagellak", "Foundation"}, 299, 1299, 0, {}},
      {{"Elektronica", "Audio"},
       {"Bluetooth speaker", "Oordopjes draadloos", "Koptelefoon", "Wekkerradio"},
       1499,
       4999,
       0,
       {}},
      {{"Elektronica", "Accessoires"},
       {"USB-C kabel 1 m", "Powerbank 10.000 mAh", "Oplader 20 W", "Batterijen AA 8 stuks"},
       399,
       2499,
       0,
       {}},
      {{"Feest", "Ballonnen"},
       {"Ballonnen 20 stuks", "Cijferballon", "Slinger", "Confetti"},
       199,
       799,
       0,
       {}},
      {{"Feest", "Verjaardag"},
       {"Verjaardagskaarsjes", "Feesthoedjes 8 stuks", "Taartversiering", "Uitdeelzakjes"},
       199,
       699,
       0,
       {}},
      {{"Foto", "Fotoservice"},
       {"Fotoboek A4 liggend", "Foto's afdrukken 10x15", "Fotokalender", "Canvas 30x40"},
       499,
       4999,
       0,
       {}},
      {{"Schrijfwaren", "Schriften"},
       {"Schrift A4 gelinieerd", "Notitieboek", "Pennen 10 stuks", "Markeerstiften"},
       149,
       799,
       0,
       {}},
      {{"Wonen", "Decoratie"},
       {"Geurkaars", "Fotolijst 13x18", "Vaas", "Kussenhoes"},
       399,
       2499,
       0,
       {}},
  };
  // Partner brands (fictional) next to HEMA's own label, by category.
  std::vector<std::vector<std::string>> partner(categories_.size());
  const std::vector<std::pair<int, std::vector<std::string>>> partner_brands = {
      {3, {"Kleine Beer"}},
      {5, {"Kleine Beer"}},
      {6, {"Denim & Co", "Basic Line"}},
      {7, {"Denim & Co", "Basic Line"}},
      {11, {"Bonenmeester", "Koffiebranderij Noord"}},
      {12, {"Theehuis"}},
      {13, {"Puur Natuur", "Glow Lab"}},
      {14, {"Glow Lab"}},
      {15, {"Soundwave", "Voltix"}},
      {16, {"Voltix"}},
      {17, {"Party Time"}},
      {18, {"Party Time"}},
  };
  for (const auto& [ci, brands] : partner_brands) partner[ci] = brands;
  const std::vector<std::string> variants = {"",     "wit",     "zwart", "roze", "blauw", "groen",
                                             "geel", "naturel", "grijs", "rood", "oker",  "lila"};

  // Stores, spread over the countries by share.
  const auto& countries = Countries();
  for (const auto& c : countries) markets_.push_back(c.code);
  std::mt19937_64 rng(size_.seed);
  for (int i = 0; i < size_.stores; ++i) {
    double x = std::uniform_real_distribution<double>(0, 1)(rng), acc = 0;
    size_t ci = 0;
    for (; ci + 1 < countries.size(); ++ci) {
      acc += countries[ci].store_share;
      if (x < acc) break;
    }
    const auto& c = countries[ci];
    const char* city = c.cities[rng() % c.cities.size()];
    v1::Store s;
    s.set_store_id(absl::StrCat("s", i + 1));
    s.set_country(c.code);
    s.set_city(city);
    s.set_name(absl::StrCat("HEMA ", city, " ", i + 1));
    stores_.push_back(std::move(s));
  }

  // Products, cycling through categories so every category has some.
  products_by_category_.resize(categories_.size());
  for (int i = 0; i < size_.products; ++i) {
    const int ci = i % static_cast<int>(categories_.size());
    const Category& cat = categories_[ci];
    const int round = i / static_cast<int>(categories_.size());
    const std::string& base = cat.names[round % cat.names.size()];
    const size_t vi = (round / cat.names.size()) % variants.size();
    const size_t generation = round / (cat.names.size() * variants.size());
    std::string name = variants[vi].empty() ? base : absl::StrCat(base, " ", variants[vi]);
    if (generation > 0) absl::StrAppend(&name, " (", generation + 1, ")");
    v1::Product p;
    p.set_product_id(absl::StrCat("p", i + 1));
    p.set_name(name);
    for (const auto& level : cat.path) p.add_category_path(level);
    // A separate generator per product, so brands and size ranges leave
    // every other generated figure (prices, stock, customers) as it was.
    std::mt19937_64 prng(size_.seed * 31 + static_cast<uint64_t>(i));
    const std::vector<std::string>& brands = partner[ci];
    p.set_brand(!brands.empty() && prng() % 10 < 3 ? brands[prng() % brands.size()] : "HEMA");
    const int64_t span = cat.max_price - cat.min_price;
    const int64_t price = cat.min_price + static_cast<int64_t>(rng() % (span + 1));
    p.mutable_price()->set_amount_minor(price / 10 * 10 + 9);  // x,x9 pricing
    p.mutable_price()->set_currency("EUR");
    // Clothing comes in a run of 2 to 4 consecutive sizes (a petite line
    // stops at S, a tall one starts at L).
    if (!cat.sizes.empty()) {
      const size_t n = cat.sizes.size();
      const size_t run = std::min<size_t>(n, 2 + prng() % 3);
      const size_t first = prng() % (n - run + 1);
      for (size_t k = first; k < first + run; ++k) p.add_sizes(cat.sizes[k]);
    }
    if (cat.repeat_days > 0) p.add_tags("repeat");
    // A few products are new arrivals announced for next week.
    if (rng() % 100 == 0) {
      p.mutable_available_from()->set_seconds((size_.now_ms + 7 * kDayMs) / 1000);
    } else if (i % 37 == 5) {  // and some arrived in the last three weeks
      p.mutable_available_from()->set_seconds((size_.now_ms - (1 + i % 20) * kDayMs) / 1000);
    }
    products_.push_back(std::move(p));
    product_category_.push_back(ci);
    products_by_category_[ci].push_back(i);
  }
}

void DemoRetailer::ForEachStockLevel(const std::function<void(const v1::StockLevel&)>& f) const {
  std::mt19937_64 rng(size_.seed ^ 0x5eed5eedull);
  v1::StockLevel level;
  for (const auto& p : products_) {
    level.set_product_id(p.product_id());
    for (const auto& m : markets_) {
      level.set_online_country(m);
      level.set_quantity(rng() % 100 < 93 ? static_cast<int32_t>(rng() % 200 + 1) : 0);
      f(level);
    }
    for (const auto& s : stores_) {
      level.set_store_id(s.store_id());
      level.set_quantity(rng() % 100 < 80 ? static_cast<int32_t>(rng() % 40 + 1) : 0);
      f(level);
    }
  }
}

const char* DemoRetailer::PersonaName(int index) {
  static const char* kNames[] = {"young parent",     "coffee lover", "fashion fan", "party planner",
                                 "home & household", "beauty fan",   "snack lover"};
  return kNames[(index - 1) % 7];
}

int DemoRetailer::ActiveHour(int index) const {
  // Evenings most often, then the lunch break and the early morning.
  static constexpr int kHours[] = {7, 8, 12, 12, 13, 19, 20, 20, 21, 21, 21, 22};
  std::mt19937_64 rng(size_.seed * 2654435761ull + static_cast<uint64_t>(index));
  return kHours[rng() % std::size(kHours)];
}

std::string DemoRetailer::CustomerSize(int index, const std::vector<std::string>& sizes) const {
  if (sizes.empty()) return "";
  std::mt19937_64 rng(size_.seed * 104723 + static_cast<uint64_t>(index) * 7 +
                      sizes.front().size());
  // The middle size or one either side (S, M or L of XS..XL).
  const size_t n = sizes.size();
  const size_t mid = n / 2;
  const int step = static_cast<int>(rng() % 3) - 1;
  return sizes[std::clamp<int>(static_cast<int>(mid) + step, 0, static_cast<int>(n) - 1)];
}

v1::Customer DemoRetailer::CustomerAttributes(int index) const {
  std::mt19937_64 rng(size_.seed * 1000003 + index);
  const auto& countries = Countries();
  double x = std::uniform_real_distribution<double>(0, 1)(rng), acc = 0;
  size_t ci = 0;
  for (; ci + 1 < countries.size(); ++ci) {
    acc += countries[ci].customer_share;
    if (x < acc) break;
  }
  v1::Customer c;
  c.set_customer_id(absl::StrCat("c", index));
  c.set_country(countries[ci].code);
  c.set_language(countries[ci].language);
  std::vector<const v1::Store*> local;
  for (const auto& s : stores_) {
    if (s.country() == countries[ci].code) local.push_back(&s);
  }
  if (!local.empty()) c.set_home_store_id(local[rng() % local.size()]->store_id());
  c.set_birth_year(1950 + static_cast<int>(rng() % 55));
  c.set_loyalty_member(rng() % 100 < 60);
  c.mutable_consent()->set_personalization(rng() % 100 < 90);
  c.mutable_consent()->set_marketing_email(rng() % 100 < 65);
  // Fashion fans (persona 3) declared their size for women's clothing in
  // their account ("mijn maten"); everyone else's sizes are learned from
  // what they buy.
  if ((index - 1) % 7 == 2) {
    auto* sp = c.add_sizes();
    sp->set_category("Kleding/Dames");
    sp->add_sizes(CustomerSize(index, categories_[6].sizes));
  }
  return c;
}

std::vector<v1::Event> DemoRetailer::CustomerEvents(int index) const {
  // Category indices as in the constructor's table.
  static const std::vector<Persona> kPersonas = {
      {"young parent", {3, 4, 5, 0}, {{3, 14}, {4, 21}}, 40, 0},
      {"coffee lover", {11, 12, 2, 10}, {{11, 30}, {12, 45}}, 25, 0},
      {"fashion fan", {6, 7, 8, 14}, {{8, 60}}, 30, 0},
      {"party planner", {17, 18, 19, 2}, {}, 20, 0.6},
      {"home & household", {9, 10, 21, 20}, {{9, 30}}, 25, 0.25},
      {"beauty fan", {13, 14, 6}, {{13, 40}}, 30, 0},
      {"snack lover", {0, 1, 2, 11}, {{1, 10}}, 35, 0},
  };
  const Persona& persona = kPersonas[(index - 1) % kPersonas.size()];
  std::mt19937_64 rng(size_.seed * 7919 + index * 104729ull);
  auto uniform = [&](double a, double b) {
    return std::uniform_real_distribution<double>(a, b)(rng);
  };
  const v1::Customer attrs = CustomerAttributes(index);
  const std::string customer_id = attrs.customer_id();
  const int64_t start = size_.now_ms - static_cast<int64_t>(size_.days) * kDayMs;
  const int64_t end = size_.now_ms - 3600 * 1000;

  auto pick = [&](int category) -> int {
    const auto& ps = products_by_category_[category];
    if (ps.empty()) return static_cast<int>(rng() % products_.size());
    // Popular products first: skew towards the low indices.
    const double u = uniform(0, 1);
    return ps[static_cast<size_t>(u * u * ps.size())];
  };
  auto taste = [&]() -> int {
    if (uniform(0, 1) < 0.8) return pick(persona.tastes[rng() % persona.tastes.size()]);
    return pick(static_cast<int>(rng() % categories_.size()));
  };

  std::vector<v1::Event> events;
  int seq = 0;
  auto add = [&](v1::EventType type, int64_t t, v1::Channel channel) -> v1::Event& {
    v1::Event& e = events.emplace_back();
    e.set_event_id(absl::StrCat(customer_id, "-", ++seq));
    e.set_customer_id(customer_id);
    e.set_type(type);
    e.mutable_time()->set_seconds(t / 1000);
    e.set_channel(channel);
    e.set_country(attrs.country());
    return e;
  };
  // The customer's size for a product: "" if it has no sizes, nullopt if
  // it does not come in the customer's size (then it is not bought).
  auto size_for = [&](int product) -> std::optional<std::string> {
    const auto& offered = products_[product].sizes();
    if (offered.empty()) return std::string();
    const std::string mine = CustomerSize(index, categories_[product_category_[product]].sizes);
    if (std::find(offered.begin(), offered.end(), mine) == offered.end()) return std::nullopt;
    return mine;
  };
  auto add_line = [&](v1::Event& e, int product, int qty) {
    auto* line = e.mutable_order()->add_lines();
    line->set_product_id(products_[product].product_id());
    line->set_quantity(qty);
    *line->mutable_unit_price() = products_[product].price();
    line->set_size(size_for(product).value_or(""));
  };

  // Sessions start at the customer's active hour or anywhere from 08:00 to
  // 22:59, local time (a random stream of its own: what is bought stays).
  absl::TimeZone local;
  if (!absl::LoadTimeZone("Europe/Amsterdam", &local)) local = absl::FixedTimeZone(3600);
  std::mt19937_64 hour_rng(size_.seed * 40503 + static_cast<uint64_t>(index));
  const int active_hour = ActiveHour(index);
  auto at_local_hour = [&](int64_t t) {
    const int hour = hour_rng() % 3 != 0 ? active_hour : 8 + static_cast<int>(hour_rng() % 15);
    const absl::CivilDay day = absl::ToCivilDay(absl::FromUnixMillis(t), local);
    const absl::CivilSecond at(day.year(), day.month(), day.day(), hour,
                               static_cast<int>(hour_rng() % 50),
                               static_cast<int>(hour_rng() % 60));
    return std::min(absl::ToUnixMillis(absl::FromCivil(at, local)), end - 600'000);
  };

  // Browsing sessions: views, some carts, some purchases.
  const double activity = uniform(0.3, 1.7);
  const int sessions =
      std::max(1, static_cast<int>(persona.sessions_per_year * activity * size_.days / 365.0));
  for (int s = 0; s < sessions; ++s) {
    int64_t t = at_local_hour(start + static_cast<int64_t>(uniform(0, 1) * (end - start)));
    const v1::Channel channel = rng() % 3 == 0 ? v1::CHANNEL_APP : v1::CHANNEL_WEB;
    std::vector<int> viewed;
    const int views = 1 + static_cast<int>(rng() % 6);
    for (int v = 0; v < views; ++v) {
      const int p = taste();
      add(v1::EVENT_TYPE_VIEW, t, channel).set_product_id(products_[p].product_id());
      viewed.push_back(p);
      t += 20'000 + static_cast<int64_t>(rng() % 90'000);
    }
    std::vector<int> cart;
    for (int p : viewed) {
      if (uniform(0, 1) < 0.25 && size_for(p).has_value()) {
        auto& e = add(v1::EVENT_TYPE_ADD_TO_CART, t, channel);
        e.set_product_id(products_[p].product_id());
        e.set_quantity(1);
        cart.push_back(p);
        t += 10'000;
      }
    }
    if (!cart.empty() && uniform(0, 1) < 0.6) {
      auto& e = add(v1::EVENT_TYPE_PURCHASE, t + 60'000, channel);
      e.mutable_order()->set_order_id(absl::StrCat(customer_id, "-o", seq));
      for (int p : cart) add_line(e, p, 1);
    }
  }

  // Habits: the same product bought again about every N days, in store or
  // online, until a moment in the last cycle (so some are due now).
  for (const auto& [category, interval] : persona.habits) {
    if (uniform(0, 1) < 0.15) continue;  // not every customer has every habit
    int p = pick(category);
    for (int k = 0; k < 10 && !size_for(p).has_value(); ++k) p = pick(category);  // in their size
    const int64_t step = static_cast<int64_t>(interval) * kDayMs;
    int64_t t = start + static_cast<int64_t>(uniform(0, 1) * step);
    const int64_t stop = end - static_cast<int64_t>(uniform(0, 1.6) * step);
    while (t < stop) {
      const bool in_store = !attrs.home_store_id().empty() && rng() % 2 == 0;
      // Shops are open from 09:00 to 19:59; online, the customer's own hours.
      const int64_t when = in_store ? ShopHour(t, local, hour_rng) : at_local_hour(t);
      auto& e = add(v1::EVENT_TYPE_PURCHASE, when, in_store ? v1::CHANNEL_STORE : v1::CHANNEL_WEB);
      if (in_store) e.set_store_id(attrs.home_store_id());
      e.mutable_order()->set_order_id(absl::StrCat(customer_id, "-h", seq));
      add_line(e, p, 1 + static_cast<int>(rng() % 2));
      t += static_cast<int64_t>(step * uniform(0.85, 1.15));
    }
  }
  std::sort(events.begin(), events.end(), [](const v1::Event& a, const v1::Event& b) {
    return a.time().seconds() < b.time().seconds();
  });
  // The churn-prone stop between 30 % into the history and 90 days before
  // its end (a random stream of its own: the others' events stay as they are).
  std::mt19937_64 lapse_rng(size_.seed * 15485863 + static_cast<uint64_t>(index));
  std::uniform_real_distribution<double> unit(0, 1);
  if (size_.days >= 180 && unit(lapse_rng) < persona.lapse_share) {
    const int64_t from = start + (end - start) * 3 / 10, to = end - 90 * kDayMs;
    const int64_t lapse_at = from + static_cast<int64_t>(unit(lapse_rng) * (to - from));
    while (!events.empty() && events.back().time().seconds() * 1000 > lapse_at) events.pop_back();
  }
  return events;
}

}  // namespace nextbest::tools
