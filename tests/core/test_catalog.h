#pragma once
// A small catalog for core tests: products p1..pN in categories, stock set
// online in every market unless told otherwise.

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/catalog.h"

namespace nextbest::core::testing {

inline std::unique_ptr<const Catalog> MakeCatalog(int products, int stores = 2,
                                                  bool all_in_stock = true) {
  auto empty = Catalog::Empty({"NL", "BE"}, "EUR");
  CatalogBuilder b(**empty);
  for (int s = 0; s < stores; ++s) b.UpsertStore({absl::StrCat("s", s + 1), static_cast<CountryIndex>(s % 2), "", ""});
  for (int i = 1; i <= products; ++i) {
    Product p;
    p.id = absl::StrCat("p", i);
    p.name = absl::StrCat("Product ", i);
    p.category_path = {"Cat", absl::StrCat("Sub", i % 3)};
    p.price_minor = 100 * i;
    p.active = true;
    const ProductIndex idx = b.UpsertProduct(std::move(p));
    if (all_in_stock) {
      b.SetOnlineStock(idx, 0, true);
      b.SetOnlineStock(idx, 1, true);
      for (int s = 0; s < stores; ++s) b.SetStoreStock(idx, s, true);
    }
  }
  return b.Build();
}

}  // namespace nextbest::core::testing
