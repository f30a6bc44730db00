#pragma once
// The shop the end-to-end tests of the service run against: two stores,
// six products (one inactive), stock per market and store, customer c1,
// and helpers for events, recommendations and a background writer.

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/server/e2e_fixture.h"

namespace nextbest::testing {

inline constexpr int64_t kDaySec = 86400;

inline int64_t NowSec() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class E2eTest : public ServerTest {
 protected:
  void SetUp() override { StartServer(); }

  // Stores s1 (NL), s2 (BE); products p1..p6 (p6 inactive); all in stock
  // online in NL except p4; p1 out of stock in s2.
  void LoadCatalog() {
    v1::UpsertStoresRequest sr;
    auto* s1 = sr.add_stores();
    s1->set_store_id("s1");
    s1->set_country("NL");
    s1->set_name("HEMA Utrecht");
    auto* s2 = sr.add_stores();
    s2->set_store_id("s2");
    s2->set_country("BE");
    v1::UpsertStoresResponse sresp;
    ASSERT_TRUE(Call(&v1::CatalogService::Stub::UpsertStores, catalog_.get(), sr, &sresp).ok());

    v1::UpsertProductsRequest pr;
    for (int i = 1; i <= 6; ++i) {
      auto* p = pr.add_products();
      p->set_product_id(absl::StrCat("p", i));
      p->set_name(absl::StrCat("Product ", i));
      p->add_category_path("Baby");
      p->add_category_path(i <= 3 ? "Luiers" : "Rompers");
      p->mutable_price()->set_amount_minor(100 * i + 99);
      p->mutable_price()->set_currency("EUR");
      if (i == 6) p->set_active(false);
    }
    v1::UpsertProductsResponse presp;
    ASSERT_TRUE(Call(&v1::CatalogService::Stub::UpsertProducts, catalog_.get(), pr, &presp).ok());
    EXPECT_EQ(presp.upserted(), 6);

    v1::SetStockRequest st;
    for (int i = 1; i <= 6; ++i) {
      auto* l = st.add_levels();
      l->set_product_id(absl::StrCat("p", i));
      l->set_online_country("NL");
      l->set_quantity(i == 4 ? 0 : 10);
      auto* be = st.add_levels();
      be->set_product_id(absl::StrCat("p", i));
      be->set_store_id("s2");
      be->set_quantity(i == 1 ? 0 : 5);
    }
    v1::SetStockResponse stresp;
    grpc::Status s = Call(&v1::CatalogService::Stub::SetStock, catalog_.get(), st, &stresp);
    ASSERT_TRUE(s.ok()) << s.error_message();

    v1::UpsertCustomersRequest cr;
    auto* c = cr.add_customers();
    c->set_customer_id("c1");
    c->set_country("NL");
    c->set_home_store_id("s1");
    c->mutable_consent()->set_personalization(true);
    v1::UpsertCustomersResponse cresp;
    ASSERT_TRUE(
        Call(&v1::CustomerService::Stub::UpsertCustomers, customers_.get(), cr, &cresp).ok());
  }

  v1::Event View(const std::string& id, const std::string& customer, const std::string& product,
                 int64_t t) {
    v1::Event e;
    e.set_event_id(id);
    e.set_customer_id(customer);
    e.set_type(v1::EVENT_TYPE_VIEW);
    e.mutable_time()->set_seconds(t);
    e.set_channel(v1::CHANNEL_WEB);
    e.set_product_id(product);
    return e;
  }
  v1::Event Purchase(const std::string& id, const std::string& customer, const std::string& product,
                     int64_t t) {
    v1::Event e;
    e.set_event_id(id);
    e.set_customer_id(customer);
    e.set_type(v1::EVENT_TYPE_PURCHASE);
    e.mutable_time()->set_seconds(t);
    e.set_channel(v1::CHANNEL_STORE);
    e.set_store_id("s1");
    auto* line = e.mutable_order()->add_lines();
    line->set_product_id(product);
    line->set_quantity(1);
    line->mutable_unit_price()->set_amount_minor(299);
    line->mutable_unit_price()->set_currency("EUR");
    return e;
  }

  grpc::Status Recommend(const std::string& customer, const std::string& placement,
                         v1::RecommendResponse* resp, std::vector<std::string> cart = {},
                         int64_t at = 0, const std::string& store = "") {
    return ServerTest::Recommend(customer, placement, resp, [&](v1::RecommendRequest& req) {
      for (auto& c : cart) req.mutable_context()->add_cart_product_ids(c);
      if (at != 0) req.mutable_context()->mutable_time()->set_seconds(at);
      req.mutable_context()->set_store_id(store);
    });
  }

  // A client on its own channel writing batches of 20 events (`make(id)`
  // for ids "<prefix><batch>-<i>") as fast as the server takes them, until
  // `stop` or the first failed call (the server going away); `acked`
  // counts the events acknowledged.
  std::thread StartWriter(const std::string& prefix,
                          std::function<v1::Event(const std::string&)> make,
                          std::atomic<bool>& stop, std::atomic<int64_t>& acked) {
    return std::thread([this, prefix, make, &stop, &acked] {
      auto stub = v1::EventService::NewStub(server_->Channel());
      for (int batch = 0; !stop; ++batch) {
        v1::RecordEventsRequest req;
        for (int i = 0; i < 20; ++i) *req.add_events() = make(absl::StrCat(prefix, batch, "-", i));
        v1::RecordEventsResponse resp;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        if (!stub->RecordEvents(&ctx, req, &resp).ok()) return;
        acked += resp.accepted();
      }
    });
  }

  void WaitForTrending(int64_t at) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    v1::RecommendResponse r;
    while (std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE(Recommend("", "homepage.populair", &r, {}, at).ok());
      if (r.items_size() > 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL() << "trending list never published";
  }
};

}  // namespace nextbest::testing
