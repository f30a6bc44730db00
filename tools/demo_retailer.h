#pragma once
// A deterministic (seeded), HEMA-like demo retailer: a category tree with
// product names and prices that read like a real shop, stores in six
// countries, customers with tastes and repeat-purchase habits, and a year of
// sessions (views -> carts -> purchases) for each of them.
//
// Customer i's persona is fixed by i (c1 young parent, c2 coffee lover, c3
// fashion, c4 party planner, c5 home & household, c6 beauty, c7 snacks), so
// a demo can show each kind of customer by id.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nextbest/v1/catalog.pb.h"
#include "nextbest/v1/customers.pb.h"
#include "nextbest/v1/events.pb.h"

namespace nextbest::tools {

struct RetailerSize {
  int customers = 2000;
  int products = 800;
  int stores = 700;
  int days = 365;
  uint64_t seed = 42;
  int64_t now_ms = 0;  // history ends here; 0 = today's UTC midnight
};

class DemoRetailer {
 public:
  explicit DemoRetailer(const RetailerSize& size);

  const std::vector<v1::Store>& stores() const { return stores_; }
  const std::vector<v1::Product>& products() const { return products_; }
  // Online stock per market and store stock, for every product.
  void ForEachStockLevel(const std::function<void(const v1::StockLevel&)>& f) const;
  v1::Customer CustomerAttributes(int index) const;  // index 1..customers
  // Customer `index`'s events, time-ordered.
  std::vector<v1::Event> CustomerEvents(int index) const;
  static const char* PersonaName(int index);
  // The local hour (Europe/Amsterdam... all six markets share CET) at which
  // customer `index` mostly browses: two thirds of their sessions start in
  // it, the rest anywhere from 08:00 to 22:59 (the habit the send-time
  // model should find).
  int ActiveHour(int index) const;

 private:
  struct Category {
    std::vector<std::string> path;
    std::vector<std::string> names;
    int64_t min_price, max_price;
    int repeat_days;  // typical repeat interval, 0 = none
    std::vector<std::string> sizes;
  };
  // The customer's size in a sized category (deterministic per customer).
  std::string CustomerSize(int index, const std::vector<std::string>& sizes) const;
  RetailerSize size_;
  std::vector<Category> categories_;
  std::vector<v1::Store> stores_;
  std::vector<v1::Product> products_;
  std::vector<int> product_category_;
  std::vector<std::vector<int>> products_by_category_;
  std::vector<std::string> markets_;
};

}  // namespace nextbest::tools
