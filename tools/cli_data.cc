// nextbest profile | track | demo-data: customers' data in and out.

#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "nextbest/v1/admin.grpc.pb.h"
#include "nextbest/v1/catalog.grpc.pb.h"
#include "nextbest/v1/customers.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "tools/cli.h"
#include "tools/demo_retailer.h"

ABSL_FLAG(std::string, type, "",
          "track: view|add_to_cart|remove_from_cart|purchase|return|contact|complaint");
ABSL_FLAG(std::string, decision_id, "",
          "track: the decision the event answers (a contact: the decision id it carried)");
ABSL_FLAG(int, quantity, 1, "track: quantity");
ABSL_FLAG(std::string, size, "", "track: the size bought or returned (purchase/return), e.g. M");
ABSL_FLAG(int64_t, price_cents, -1, "track: unit price in cents (purchase/return)");
ABSL_FLAG(std::string, event_id, "", "track: event id (default: generated)");
ABSL_FLAG(int, customers, 2000, "demo-data: customers");
ABSL_FLAG(int, products, 800, "demo-data: products");
ABSL_FLAG(int, stores, 700, "demo-data: stores");
ABSL_FLAG(int, days, 365, "demo-data: days of history");
ABSL_FLAG(uint64_t, seed, 42, "demo-data: random seed");
ABSL_FLAG(std::string, now, "",
          "demo-data: end of the generated history, RFC 3339 (default today 00:00 UTC)");
ABSL_FLAG(std::string, what, "all",
          "demo-data: all | catalog (stores, products, stock) | customers (attributes and events)");
ABSL_FLAG(int, load_threads, 4, "demo-data: concurrent requests while loading events");

namespace nextbest::cli {
namespace {

void PrintProfile(const v1::GetProfileResponse& resp) {
  const auto& c = resp.customer();
  const auto& f = resp.features();
  std::cout << "customer " << c.customer_id() << "\n";
  if (resp.has_attributes()) {
    std::cout << absl::StrFormat("  country %s, home store %s, language %s, born %d, loyalty %s\n",
                                 c.country(), c.home_store_id(), c.language(), c.birth_year(),
                                 c.loyalty_member() ? "yes" : "no");
    std::cout << absl::StrFormat("  consent: personalization %s, marketing e-mail %s\n",
                                 c.consent().personalization() ? "yes" : "no",
                                 c.consent().marketing_email() ? "yes" : "no");
  } else {
    std::cout << "  (no attributes: known from events only)\n";
  }
  std::cout << absl::StrFormat(
      "  RFM: %s since last purchase, %d orders (%.2f/month), spend %s, average order %s\n",
      f.days_since_last_purchase() < 0 ? "never purchased"
                                       : absl::StrFormat("%.0f days", f.days_since_last_purchase()),
      f.orders(), f.orders_per_month(), Euro(f.total_spend()), Euro(f.average_order_value()));
  std::cout << absl::StrFormat("  tenure %.0f days, %d events\n", f.tenure_days(), f.events());
  if (!f.recently_viewed().empty()) {
    std::cout << "  recently viewed:";
    for (const auto& v : f.recently_viewed()) std::cout << " " << v.product_id();
    std::cout << "\n";
  }
  if (resp.has_segments()) {
    const auto& sg = resp.segments();
    std::cout << absl::StrFormat(
        "  segments: RFM %d-%d-%d %s%s%s\n", sg.recency(), sg.frequency(), sg.monetary(),
        sg.rfm_segment().empty() ? "(no purchase)" : sg.rfm_segment(),
        sg.rule_segments().empty() ? "" : "; ", absl::StrJoin(sg.rule_segments(), ", "));
    if (!sg.behaviour().empty()) {
      std::cout << absl::StrFormat("  behaviour: %s%s (last 90 days %s, the 90 before %s)\n",
                                   sg.behaviour(), sg.behaviour_priority() ? ", PRIORITY" : "",
                                   Euro(sg.current_spend()), Euro(sg.baseline_spend()));
    }
  }
  if (resp.has_future()) {
    const auto& fu = resp.future();
    std::cout << absl::StrFormat(
        "  future: P(alive) %.0f %% (churn risk %s); expected orders %.2f in 30 days, %.2f in 90, "
        "%.2f in 365\n",
        100 * fu.p_alive(), fu.churn_risk(), fu.expected_orders_30d(), fu.expected_orders_90d(),
        fu.expected_orders_365d());
    std::cout << absl::StrFormat(
        "  value: next order %s; CLV %s over %d months, %s of it at risk (%s model)\n",
        Euro(fu.expected_order_value()), Euro(fu.clv()), fu.clv_months(), Euro(fu.clv_at_risk()),
        fu.model_market().empty() ? "population" : fu.model_market());
  }
  if (resp.has_send_time()) {
    const auto& st = resp.send_time();
    std::cout << "  best send time:";
    for (const auto& h : st.best_hours()) {
      std::cout << absl::StrFormat(" %02d:00 (x%.1f)", h.hour(), h.relative_rate());
    }
    std::cout << absl::StrFormat("; best day %s; %s, %s\n", st.best_day(), st.time_zone(),
                                 st.activity() > 0
                                     ? absl::StrFormat("from %.0f activity units", st.activity())
                                     : std::string("the population's pattern (no activity yet)"));
  }
  if (!f.top_categories().empty()) {
    std::cout << "  top categories:";
    for (const auto& a : f.top_categories())
      std::cout << absl::StrFormat(" %s (%.1f)", a.category(), a.score());
    std::cout << "\n";
  }
  if (!f.top_brands().empty()) {
    std::cout << "  top brands:";
    for (const auto& b : f.top_brands())
      std::cout << absl::StrFormat(" %s (%.1f)", b.brand(), b.score());
    std::cout << "\n";
  }
  for (const auto& sp : resp.customer().sizes()) {
    std::cout << absl::StrFormat("  declared sizes in %s: %s\n", sp.category(),
                                 absl::StrJoin(sp.sizes(), ", "));
  }
  if (!f.known_sizes().empty()) {
    std::cout << "  sizes bought:";
    for (const auto& k : f.known_sizes()) {
      std::cout << absl::StrFormat(" %s %s (%d)", k.category(), k.size(), k.units());
    }
    std::cout << "\n";
  }
  for (const auto& p : f.purchase_history()) {
    if (p.purchases() < 2) continue;
    std::cout << absl::StrFormat("  buys %s: %d times, about every %.0f days, last %s\n",
                                 p.product_id(), p.purchases(), p.typical_interval_days(),
                                 Ts(p.last_purchase()));
  }
}

// Sends events in batches; returns the first error's code, or 0.
class EventSender {
 public:
  EventSender() = default;
  int Add(v1::Event e) {
    *batch_.add_events() = std::move(e);
    return batch_.events_size() >= 500 ? Flush() : 0;
  }
  int Flush() {
    if (batch_.events().empty()) return 0;
    v1::RecordEventsResponse resp;
    const int rc = Call("track", &v1::EventService::Stub::RecordEvents, batch_, &resp);
    batch_.clear_events();
    if (rc != 0) return rc;
    accepted_ += resp.accepted();
    duplicates_ += resp.duplicates();
    suppressed_ += resp.suppressed();
    return 0;
  }
  int64_t accepted() const { return accepted_; }
  int64_t duplicates() const { return duplicates_; }
  int64_t suppressed() const { return suppressed_; }

 private:
  v1::RecordEventsRequest batch_;
  int64_t accepted_ = 0, duplicates_ = 0, suppressed_ = 0;
};

int TrackFromFlags() {
  static const std::map<std::string, v1::EventType> kTypes = {
      {"view", v1::EVENT_TYPE_VIEW},
      {"add_to_cart", v1::EVENT_TYPE_ADD_TO_CART},
      {"remove_from_cart", v1::EVENT_TYPE_REMOVE_FROM_CART},
      {"purchase", v1::EVENT_TYPE_PURCHASE},
      {"return", v1::EVENT_TYPE_RETURN},
      {"contact", v1::EVENT_TYPE_CONTACT},
      {"complaint", v1::EVENT_TYPE_COMPLAINT}};
  auto type = kTypes.find(absl::GetFlag(FLAGS_type));
  if (type == kTypes.end()) {
    return Usage(
        "track: --type must be view|add_to_cart|remove_from_cart|purchase|return|contact|"
        "complaint");
  }
  const v1::Channel channel = ParseChannel(absl::GetFlag(FLAGS_channel));
  if (channel == v1::CHANNEL_UNSPECIFIED)
    return Usage("track: --channel must be web|app|store|email|call_center|push|sms");
  auto time = TimeFlag();
  if (!time.ok()) return Usage("track: " + std::string(time.status().message()));
  v1::Event e;
  e.set_event_id(absl::GetFlag(FLAGS_event_id).empty()
                     ? absl::StrCat("cli-", absl::ToUnixNanos(absl::Now()))
                     : absl::GetFlag(FLAGS_event_id));
  e.set_customer_id(absl::GetFlag(FLAGS_customer));
  e.set_type(type->second);
  *e.mutable_time() = ToTimestamp(time->value_or(absl::Now()));
  e.set_channel(channel);
  e.set_decision_id(absl::GetFlag(FLAGS_decision_id));
  e.set_store_id(absl::GetFlag(FLAGS_store));
  e.set_country(absl::GetFlag(FLAGS_country));
  if (type->second == v1::EVENT_TYPE_PURCHASE || type->second == v1::EVENT_TYPE_RETURN) {
    auto* line = e.mutable_order()->add_lines();
    line->set_product_id(absl::GetFlag(FLAGS_product));
    line->set_quantity(absl::GetFlag(FLAGS_quantity));
    line->mutable_unit_price()->set_amount_minor(absl::GetFlag(FLAGS_price_cents));
    line->mutable_unit_price()->set_currency("EUR");
    line->set_size(absl::GetFlag(FLAGS_size));
  } else if (type->second == v1::EVENT_TYPE_CONTACT) {
    e.set_placement(absl::GetFlag(FLAGS_placement));
  } else if (type->second != v1::EVENT_TYPE_COMPLAINT) {
    e.set_product_id(absl::GetFlag(FLAGS_product));
    if (type->second != v1::EVENT_TYPE_VIEW) e.set_quantity(absl::GetFlag(FLAGS_quantity));
  }
  EventSender sender;
  if (int rc = sender.Add(std::move(e)); rc != 0) return rc;
  if (int rc = sender.Flush(); rc != 0) return rc;
  std::cout << (sender.accepted() == 1 ? "recorded\n"
                : sender.suppressed() == 1
                    ? "suppressed: the customer was erased after this event's time\n"
                    : "duplicate: already recorded\n");
  return 0;
}

}  // namespace

int Track() {
  const std::string path = absl::GetFlag(FLAGS_file);
  if (path.empty()) return TrackFromFlags();
  std::ifstream file;
  if (path != "-") {
    file.open(path);
    if (!file) return Usage("track: cannot open " + path);
  }
  std::istream& in = path == "-" ? std::cin : file;
  EventSender sender;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    v1::Event e;
    auto st = google::protobuf::util::JsonStringToMessage(line, &e);
    if (!st.ok()) return Usage(absl::StrCat(path, ":", line_no, ": ", st.ToString()));
    if (int rc = sender.Add(std::move(e)); rc != 0) return rc;
  }
  if (int rc = sender.Flush(); rc != 0) return rc;
  std::cout << absl::StrFormat(
      "%d events recorded, %d duplicates, %d suppressed (erased customers)\n", sender.accepted(),
      sender.duplicates(), sender.suppressed());
  return 0;
}

int Profile() {
  if (absl::GetFlag(FLAGS_customer).empty()) return Usage("profile: --customer required");
  v1::GetProfileRequest req;
  req.set_customer_id(absl::GetFlag(FLAGS_customer));
  return CallAndPrint("profile", &v1::CustomerService::Stub::GetProfile, req, PrintProfile);
}

absl::StatusOr<tools::RetailerSize> RetailerSizeFromFlags() {
  tools::RetailerSize size;
  size.customers = absl::GetFlag(FLAGS_customers);
  size.products = absl::GetFlag(FLAGS_products);
  size.stores = absl::GetFlag(FLAGS_stores);
  size.days = absl::GetFlag(FLAGS_days);
  size.seed = absl::GetFlag(FLAGS_seed);
  if (!absl::GetFlag(FLAGS_now).empty()) {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, absl::GetFlag(FLAGS_now), &t, &err)) {
      return absl::InvalidArgumentError("--now: " + err);
    }
    size.now_ms = absl::ToUnixMillis(t);
  }
  if (size.customers < 1 || size.products < 1 || size.stores < 1 || size.days < 1) {
    return absl::InvalidArgumentError("--customers, --products, --stores and --days must be >= 1");
  }
  return size;
}

int DemoData() {
  absl::StatusOr<tools::RetailerSize> parsed = RetailerSizeFromFlags();
  if (!parsed.ok()) return Usage(absl::StrCat("demo-data: ", parsed.status().message()));
  const tools::RetailerSize size = *parsed;
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  tools::DemoRetailer retailer(size);

  const std::string what = absl::GetFlag(FLAGS_what);
  if (what != "all" && what != "catalog" && what != "customers") {
    return Usage("demo-data: --what must be all, catalog or customers");
  }
  if (what != "customers") {
    v1::UpsertStoresRequest req;
    for (const auto& s : retailer.stores()) *req.add_stores() = s;
    v1::UpsertStoresResponse resp;
    if (int rc = Call("demo-data stores", &v1::CatalogService::Stub::UpsertStores, req, &resp);
        rc != 0)
      return rc;
  }
  for (size_t i = 0; what != "customers" && i < retailer.products().size(); i += 1000) {
    v1::UpsertProductsRequest req;
    for (size_t j = i; j < std::min(i + 1000, retailer.products().size()); ++j) {
      *req.add_products() = retailer.products()[j];
    }
    v1::UpsertProductsResponse resp;
    if (int rc = Call("demo-data products", &v1::CatalogService::Stub::UpsertProducts, req, &resp);
        rc != 0) {
      return rc;
    }
  }
  if (what != "customers") {
    v1::SetStockRequest req;
    int rc = 0;
    auto flush = [&] {
      if (req.levels().empty() || rc != 0) return;
      v1::SetStockResponse resp;
      rc = Call("demo-data stock", &v1::CatalogService::Stub::SetStock, req, &resp);
      req.clear_levels();
    };
    retailer.ForEachStockLevel([&](const v1::StockLevel& l) {
      *req.add_levels() = l;
      if (req.levels_size() >= 10000) flush();
    });
    flush();
    if (rc != 0) return rc;
  }
  if (what == "catalog") {
    std::cout << absl::StrFormat("demo catalog loaded: %d products, %d stores in %.1f s\n",
                                 size.products, size.stores, elapsed());
    return 0;
  }
  for (int i = 1; i <= size.customers; i += 1000) {
    v1::UpsertCustomersRequest req;
    for (int j = i; j < std::min(i + 1000, size.customers + 1); ++j) {
      *req.add_customers() = retailer.CustomerAttributes(j);
    }
    v1::UpsertCustomersResponse resp;
    if (int rc =
            Call("demo-data customers", &v1::CustomerService::Stub::UpsertCustomers, req, &resp);
        rc != 0) {
      return rc;
    }
  }
  std::fprintf(stderr,
               "demo-data: %zu stores, %zu products with stock, %d customers loaded in %.1f s\n",
               retailer.stores().size(), retailer.products().size(), size.customers, elapsed());

  // Events: several senders in parallel, so the server can group-commit.
  const int threads = std::max(1, absl::GetFlag(FLAGS_load_threads));
  std::atomic<int> next{1};
  std::atomic<int> failed{0};
  std::atomic<int64_t> accepted{0}, duplicates{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      EventSender sender;
      for (int i = next.fetch_add(1); i <= size.customers && failed == 0; i = next.fetch_add(1)) {
        for (auto& e : retailer.CustomerEvents(i)) {
          if (int rc = sender.Add(std::move(e)); rc != 0) failed = rc;
        }
        if (i % 10000 == 0) {
          std::fprintf(stderr, "demo-data: %d/%d customers' events sent (%.0f s)\n", i,
                       size.customers, elapsed());
        }
      }
      if (failed == 0) {
        if (int rc = sender.Flush(); rc != 0) failed = rc;
      }
      accepted += sender.accepted();
      duplicates += sender.duplicates();
    });
  }
  for (auto& w : workers) w.join();
  if (failed != 0) return failed;
  const double secs = elapsed();
  std::cout << absl::StrFormat(
      "demo retailer loaded: %d customers (c1..c%d), %d products (p1..p%d), %d stores; "
      "%d events recorded (%d duplicates) in %.1f s\n",
      size.customers, size.customers, size.products, size.products, size.stores, accepted.load(),
      duplicates.load(), secs);
  // Neighbours and segments are learned from the population in the
  // background; after a bulk load, learn them now.
  v1::RebuildModelsResponse models;
  if (int rc = Call("demo-data rebuild-models", &v1::AdminService::Stub::RebuildModels,
                    v1::RebuildModelsRequest(), &models);
      rc != 0) {
    return rc;
  }
  std::cout << absl::StrFormat(
      "models rebuilt in %.2f s: %d co-purchase and %d co-view neighbours\n",
      models.build_seconds(), models.co_purchase_pairs(), models.co_view_pairs());
  return 0;
}

}  // namespace nextbest::cli
