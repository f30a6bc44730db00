// nextbest recommend | newsletter | ping: the decision calls.

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "tools/cli.h"

ABSL_FLAG(std::string, cart, "", "recommend: comma-separated product ids in the cart");
ABSL_FLAG(std::string, exclude, "", "recommend: comma-separated product ids never to return");
ABSL_FLAG(bool, explain, false, "recommend: explain sources, scores and dropped candidates");
ABSL_FLAG(std::string, request_id, "",
          "recommend: the request's id (placements with rotation vary by it)");
ABSL_FLAG(bool, preview, false,
          "recommend: what the customer would see, counting nothing (no cap showing, no log)");
ABSL_FLAG(int64_t, max_customers, 0, "newsletter: stop after this many customers (0 = all)");
ABSL_FLAG(std::string, send_time, "",
          "newsletter: 'best' (each customer's best local hour in the window) or an RFC 3339 "
          "time for everyone; empty: no send_at");
ABSL_FLAG(std::string, send_from, "",
          "newsletter: the send window's start, RFC 3339 (default: now)");
ABSL_FLAG(int, send_window_hours, 24, "newsletter: the send window's length in hours");
ABSL_FLAG(std::string, send_hours, "",
          "newsletter: only these local hours each day, e.g. 7-20 (07:00 to 20:59)");
ABSL_FLAG(std::vector<std::string>, shard_targets, {},
          "newsletter in a cluster: one node of every shard, HOST:PORT,... (each runs over its "
          "own shard's customers; the outputs are merged). Empty: --target alone");
ABSL_FLAG(bool, all, false,
          "newsletter: also customers without marketing e-mail consent (measuring)");

namespace nextbest::cli {
namespace {

void PrintExplanation(const v1::RecommendResponse& resp) {
  const auto& x = resp.explanation();
  std::cout << absl::StrFormat("  explanation (config v%d, %d candidates%s):\n", x.config_version(),
                               x.candidates(),
                               x.rfm_segment().empty() ? "" : ", RFM segment " + x.rfm_segment());
  if (x.has_future()) {
    const auto& f = x.future();
    std::cout << absl::StrFormat(
        "  customer: P(alive) %.0f %% (churn risk %s), %.2f orders expected in 90 days, CLV %s, "
        "%s at risk\n",
        100 * f.p_alive(), f.churn_risk(), f.expected_orders_90d(), Euro(f.clv()),
        Euro(f.clv_at_risk()));
  }
  int i = 0;
  for (const auto& it : resp.items()) {
    ++i;
    const auto& e = it.explanation();
    std::cout << absl::StrFormat("   %2d. %s\n", i, e.formula());
    for (const auto& c : e.sources()) {
      std::cout << absl::StrFormat("         %-15s raw %.4g x weight %.3g -> %.4g\n",
                                   SourceName(c.source()), c.raw_score(), c.weight(),
                                   c.contribution());
    }
  }
  if (x.dropped().empty()) return;
  std::cout << "  dropped:\n";
  for (const auto& d : x.dropped()) {
    std::cout << absl::StrFormat("     %-22s %-24s score %.4g\n",
                                 d.offer_id().empty() ? d.product_id() : "offer " + d.offer_id(),
                                 d.rule(), d.score());
  }
}

void PrintRecommendation(const v1::RecommendRequest& req, const v1::RecommendResponse& resp) {
  std::cout << resp.placement() << " for "
            << (req.customer_id().empty() ? "an anonymous visitor" : req.customer_id()) << " ("
            << resp.country() << (resp.personalized() ? ", personalized" : ", not personalized")
            << ")\n";
  if (!resp.fallback_reason().empty()) std::cout << "  note: " << resp.fallback_reason() << "\n";
  if (!resp.contact_skip().empty()) {
    std::cout << "  held back by the contact policy: " << resp.contact_skip() << ": "
              << resp.contact_detail() << "\n";
  }
  if (!resp.decision_id().empty()) {
    std::cout << "  decision " << resp.decision_id();
    for (const auto& arm : resp.experiments()) {
      std::cout << "; " << arm.experiment() << ": " << arm.variant();
    }
    std::cout << "\n";
  }
  if (resp.items().empty()) std::cout << "  (nothing to show)\n";
  int i = 0;
  for (const auto& it : resp.items()) {
    if (it.has_offer()) {
      std::cout << absl::StrFormat(
          "  %2d. [%s] %-40s %s  [offer %s %.3g; accepted by %.1f %%]\n", ++i, it.offer().type(),
          it.offer().title(),
          it.product_id().empty() ? "" : "(" + it.name() + ", " + Euro(it.price()) + ")",
          it.offer().offer_id(), it.score(), 100 * it.acceptance_probability());
      // A retention offer valued by CLV at risk: the agent's why, in words and figures.
      if (it.reason() != it.offer().title() && it.reason() != it.offer().text()) {
        std::cout << "      why: " << it.reason() << "\n";
      }
      continue;
    }
    std::cout << absl::StrFormat("  %2d. %-34s %10s  %-26s %s  [%s %.3g]\n", ++i, it.name(),
                                 Euro(it.price()), absl::StrJoin(it.category_path(), "/"),
                                 it.reason(), SourceName(it.source()), it.score());
  }
  if (req.explain()) PrintExplanation(resp);
}

}  // namespace

int Recommend() {
  if (absl::GetFlag(FLAGS_placement).empty()) return Usage("recommend: --placement required");
  v1::RecommendRequest req;
  req.set_customer_id(absl::GetFlag(FLAGS_customer));
  auto* ctx = req.mutable_context();
  ctx->set_placement(absl::GetFlag(FLAGS_placement));
  ctx->set_product_id(absl::GetFlag(FLAGS_product));
  ctx->set_count(absl::GetFlag(FLAGS_count));
  ctx->set_country(absl::GetFlag(FLAGS_country));
  ctx->set_store_id(absl::GetFlag(FLAGS_store));
  for (absl::string_view p : absl::StrSplit(absl::GetFlag(FLAGS_cart), ',', absl::SkipEmpty())) {
    ctx->add_cart_product_ids(std::string(p));
  }
  for (absl::string_view p : absl::StrSplit(absl::GetFlag(FLAGS_exclude), ',', absl::SkipEmpty())) {
    ctx->add_exclude_product_ids(std::string(p));
  }
  ctx->set_channel(ParseChannel(absl::GetFlag(FLAGS_channel)));
  req.set_explain(absl::GetFlag(FLAGS_explain));
  req.set_request_id(absl::GetFlag(FLAGS_request_id));
  req.set_preview(absl::GetFlag(FLAGS_preview));
  auto time = TimeFlag();
  if (!time.ok()) return Usage("recommend: " + std::string(time.status().message()));
  if (time->has_value()) *ctx->mutable_time() = ToTimestamp(**time);
  return CallAndPrint("recommend", &v1::DecisionService::Stub::Recommend, req,
                      [&](const v1::RecommendResponse& resp) { PrintRecommendation(req, resp); });
}

int Ping() {
  const auto t0 = std::chrono::steady_clock::now();
  v1::PingResponse resp;
  if (int rc = Call("ping", &v1::DecisionService::Stub::Ping, v1::PingRequest(), &resp); rc != 0)
    return rc;
  std::cout << absl::StrFormat(
      "pong in %.3f ms\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

namespace {

// --send_time, --send_from, --send_window_hours, --send_hours.
absl::Status SetSendTime(v1::SendTimeRequest& st) {
  const std::string mode = absl::GetFlag(FLAGS_send_time);
  if (mode.empty()) return absl::OkStatus();
  if (mode == "best") {
    st.set_mode(v1::SendTimeRequest::BEST_HOUR);
  } else {
    st.set_mode(v1::SendTimeRequest::FIXED);
    if (!google::protobuf::util::TimeUtil::FromString(mode, st.mutable_at())) {
      return absl::InvalidArgumentError(
          absl::StrCat("--send_time: '", mode, "' is neither 'best' nor an RFC 3339 time"));
    }
    return absl::OkStatus();
  }
  google::protobuf::Timestamp from = google::protobuf::util::TimeUtil::GetCurrentTime();
  if (!absl::GetFlag(FLAGS_send_from).empty() &&
      !google::protobuf::util::TimeUtil::FromString(absl::GetFlag(FLAGS_send_from), &from)) {
    return absl::InvalidArgumentError("--send_from: not an RFC 3339 time");
  }
  *st.mutable_window_start() = from;
  *st.mutable_window_end() = from + google::protobuf::util::TimeUtil::HoursToDuration(
                                        absl::GetFlag(FLAGS_send_window_hours));
  const std::string hours = absl::GetFlag(FLAGS_send_hours);
  if (!hours.empty()) {
    int first = 0, last = 0;
    const std::vector<std::string> parts = absl::StrSplit(hours, '-');
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &first) ||
        !absl::SimpleAtoi(parts[1], &last)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--send_hours: '", hours, "' is not FIRST-LAST, e.g. 7-20"));
    }
    st.set_first_hour(first);
    st.set_last_hour(last);
  }
  return absl::OkStatus();
}

// The most common send times of a run, with their share.
void PrintSendTimes(const std::map<std::string, int64_t>& send_at, int64_t customers) {
  if (send_at.empty()) return;
  std::vector<std::pair<int64_t, std::string>> by_count;
  for (const auto& [at, n] : send_at) by_count.push_back({-n, at});
  std::sort(by_count.begin(), by_count.end());
  std::cout << absl::StrFormat("  send_at: %d distinct times; the most common:\n", send_at.size());
  for (size_t i = 0; i < by_count.size() && i < 5; ++i) {
    std::cout << absl::StrFormat("    %s %9d (%.1f %%)\n", by_count[i].second, -by_count[i].first,
                                 100.0 * -by_count[i].first / std::max<int64_t>(customers, 1));
  }
}

}  // namespace

// The newsletter run: one decision per customer, streamed (DecideForAll).
int Newsletter() {
  v1::DecideForAllRequest req;
  req.set_placement(absl::GetFlag(FLAGS_placement).empty() ? "newsletter.blocks"
                                                           : absl::GetFlag(FLAGS_placement));
  req.set_count(absl::GetFlag(FLAGS_count));
  req.set_max_customers(absl::GetFlag(FLAGS_max_customers));
  req.set_include_without_email_consent(absl::GetFlag(FLAGS_all));
  if (absl::Status s = SetSendTime(*req.mutable_send_time()); !s.ok()) {
    std::cerr << "newsletter: " << s.message() << "\n";
    return 2;
  }
  if (req.send_time().mode() == v1::SendTimeRequest::MODE_UNSPECIFIED) req.clear_send_time();
  std::ofstream out;
  if (!absl::GetFlag(FLAGS_out).empty()) out.open(absl::GetFlag(FLAGS_out));
  int64_t customers = 0, items = 0, personalized = 0, skipped = 0, over_cap = 0, quiet = 0;
  double seconds = 0;
  std::map<std::string, int64_t> offers, send_at;
  std::vector<std::string> targets = absl::GetFlag(FLAGS_shard_targets);
  if (targets.empty()) targets.push_back(absl::GetFlag(FLAGS_target));
  // A cluster: every shard's node in turn, each over its own customers
  // (every customer lives on exactly one shard).
  for (const std::string& target : targets) {
    auto stub = v1::DecisionService::NewStub(ChannelTo(target));
    grpc::ClientContext ctx;  // no deadline: a run over millions of customers
    AddCredential(ctx);
    auto reader = stub->DecideForAll(&ctx, req);
    v1::DecideForAllResponse msg, last;
    while (reader->Read(&msg)) {
      for (const auto& d : msg.decisions()) {
        ++customers;
        personalized += d.personalized();
        items += d.items_size();
        for (const auto& it : d.items()) {
          if (!it.offer_id().empty()) ++offers[it.offer_id()];
        }
        if (d.has_send_at()) ++send_at[google::protobuf::util::TimeUtil::ToString(d.send_at())];
        if (out.is_open()) {
          std::string line;
          (void)google::protobuf::util::MessageToJsonString(d, &line);
          out << line << "\n";
        }
      }
      if (msg.last()) last = msg;
    }
    grpc::Status s = reader->Finish();
    if (!s.ok()) return Fail(s, absl::StrCat("newsletter (", target, ")"));
    skipped += last.customers_skipped();
    over_cap += last.skipped_contact_cap();
    quiet += last.skipped_quiet_period();
    seconds += last.seconds();
  }
  std::cout << absl::StrFormat(
      "%s for %d customers (%d personalized, %d without e-mail consent left out) in %.2f s: "
      "%.0f customers/s, %d items%s\n",
      req.placement(), customers, personalized, skipped, seconds,
      seconds > 0 ? customers / seconds : 0.0, items,
      targets.size() > 1 ? absl::StrCat(" (", targets.size(), " shards)") : "");
  if (over_cap + quiet > 0) {
    std::cout << absl::StrFormat(
        "  held back by the contact policy: %d (contact_cap %d, quiet_period %d)\n",
        over_cap + quiet, over_cap, quiet);
  }
  for (const auto& [id, n] : offers) std::cout << absl::StrFormat("  offer %-24s %9d\n", id, n);
  PrintSendTimes(send_at, customers);
  return 0;
}

}  // namespace nextbest::cli
