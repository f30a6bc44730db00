// nextbest simulate-ab: the demo retailer's customers react to what a
// placement shows them, so an experiment has something to measure.
//
// Each customer's taste is planted by the generator: the leaf categories of
// what they bought and viewed in their generated year (the same seed as
// demo-data). For customers 1..--customers the command asks the placement
// once (--rounds times), records an impression per item (with the decision
// id and position), a click with probability 2 % + 18 % when the item is in
// the customer's taste, and a purchase of a clicked item with probability
// 35 % (without a decision id: attributed last touch by the server). Then
// it prints the experiment report. Deterministic for a seed.

#include <iostream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "tools/cli.h"

ABSL_FLAG(int, rounds, 3, "simulate-ab: visits per customer");
ABSL_FLAG(int, simulate_customers, 0, "simulate-ab: customers to simulate (0 = --customers)");

namespace nextbest::cli {
namespace {

struct Rng {
  uint64_t s;
  double Uniform() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(s >> 11) / static_cast<double>(1ULL << 53);
  }
};

std::string Leaf(const v1::Product& p) {
  return p.category_path().empty() ? "" : p.category_path(p.category_path_size() - 1);
}

}  // namespace

int SimulateAb() {
  absl::StatusOr<tools::RetailerSize> size = RetailerSizeFromFlags();
  if (!size.ok()) return Usage(absl::StrCat("simulate-ab: ", size.status().message()));
  const std::string placement = absl::GetFlag(FLAGS_placement);
  if (placement.empty()) return Usage("simulate-ab: --placement is required");
  const int rounds = absl::GetFlag(FLAGS_rounds);
  int customers = absl::GetFlag(FLAGS_simulate_customers);
  if (customers <= 0 || customers > size->customers) customers = size->customers;
  tools::DemoRetailer retailer(*size);
  std::map<std::string, const v1::Product*> products;
  for (const v1::Product& p : retailer.products()) products[p.product_id()] = &p;

  auto decisions = v1::DecisionService::NewStub(Channel());
  auto events = v1::EventService::NewStub(Channel());
  v1::RecordEventsRequest batch;
  int64_t impressions = 0, clicks = 0, purchases = 0, decided = 0;
  auto flush = [&]() -> int {
    if (batch.events().empty()) return 0;
    v1::RecordEventsResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    const grpc::Status s = events->RecordEvents(&ctx, batch, &resp);
    batch.clear_events();
    return s.ok() ? 0 : Fail(s, "simulate-ab: record events");
  };
  for (int i = 1; i <= customers; ++i) {
    const std::string customer = absl::StrCat("c", i);
    std::set<std::string> taste;
    for (const v1::Event& e : retailer.CustomerEvents(i)) {
      auto add = [&](const std::string& id) {
        if (auto it = products.find(id); it != products.end()) taste.insert(Leaf(*it->second));
      };
      add(e.product_id());
      for (const auto& l : e.order().lines()) add(l.product_id());
    }
    Rng rng{size->seed * 1000003 + static_cast<uint64_t>(i)};
    for (int round = 0; round < rounds; ++round) {
      v1::RecommendRequest req;
      req.set_customer_id(customer);
      req.set_request_id(absl::StrCat("sim-", i, "-", round));
      req.mutable_context()->set_placement(placement);
      req.mutable_context()->set_channel(v1::CHANNEL_WEB);
      v1::RecommendResponse resp;
      grpc::ClientContext ctx;
      SetDeadline(ctx);
      if (grpc::Status s = decisions->Recommend(&ctx, req, &resp); !s.ok()) {
        return Fail(s, "simulate-ab: recommend");
      }
      ++decided;
      int position = 0;
      for (const v1::RecommendedItem& item : resp.items()) {
        ++position;
        if (item.product_id().empty()) continue;  // a content offer
        const std::string base = absl::StrCat("sim-", resp.decision_id(), "-", position);
        // Feedback happens after the decision (its time is in the id).
        const int64_t at_ms = absl::ToUnixMillis(absl::Now()) + 1;
        auto event = [&](v1::EventType type, const std::string& suffix) {
          v1::Event* e = batch.add_events();
          e->set_event_id(base + suffix);
          e->set_customer_id(customer);
          e->set_type(type);
          e->mutable_time()->set_seconds(at_ms / 1000);
          e->mutable_time()->set_nanos(static_cast<int32_t>(at_ms % 1000) * 1'000'000);
          e->set_channel(v1::CHANNEL_WEB);
          e->set_product_id(item.product_id());
          e->set_placement(placement);
          e->set_decision_id(resp.decision_id());
          e->set_position(position);
          return e;
        };
        event(v1::EVENT_TYPE_PRODUCT_IMPRESSION, "-i");
        ++impressions;
        auto it = products.find(item.product_id());
        const bool liked = it != products.end() && taste.contains(Leaf(*it->second));
        if (rng.Uniform() >= 0.02 + (liked ? 0.18 : 0)) continue;
        event(v1::EVENT_TYPE_PRODUCT_CLICK, "-c");
        ++clicks;
        if (rng.Uniform() >= 0.35) continue;
        v1::Event* buy = event(v1::EVENT_TYPE_PURCHASE, "-p");
        buy->clear_product_id();
        buy->clear_decision_id();  // last touch finds the decision
        buy->clear_position();
        auto* line = buy->mutable_order()->add_lines();
        line->set_product_id(item.product_id());
        line->set_quantity(1);
        *line->mutable_unit_price() = item.price();
        ++purchases;
      }
      if (batch.events_size() >= 400) {
        if (int rc = flush(); rc != 0) return rc;
      }
    }
  }
  if (int rc = flush(); rc != 0) return rc;
  std::cout << absl::StrFormat(
      "simulated %d customers x %d visits to %s: %d decisions, %d impressions, %d clicks, %d "
      "purchases\n\n",
      customers, rounds, placement, decided, impressions, clicks, purchases);
  return Experiments();
}

}  // namespace nextbest::cli
