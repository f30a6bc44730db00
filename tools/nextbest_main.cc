// nextbest: command-line client of a running nextbest-server.
//
//   nextbest [--target=HOST:PORT] recommend --customer=C --placement=P [--cart=p1,p2]
//            [--product=P] [--count=N] [--country=NL] [--store=S] [--time=RFC3339] [--json]
//   nextbest profile --customer=C [--json]
//   nextbest track --file=events.jsonl      (one nextbest.v1.Event per line, JSON mapping; - =
//   stdin) nextbest track --customer=C --type=view --product=P [--quantity=N] [--price_cents=X]
//            [--time=RFC3339] [--event_id=ID] [--channel=web]
//   nextbest health
//   nextbest ping
//   nextbest demo-data [--customers=N --products=M --stores=S --days=D --seed=X --now=RFC3339]
//            [--what=all|catalog|customers]
//
// The exit code is the gRPC status code (0 OK, 3 INVALID_ARGUMENT, 5 NOT_FOUND, 14 UNAVAILABLE...).

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "openssl/evp.h"
#include "grpcpp/health_check_service_interface.h"
#include "nextbest/v1/admin.grpc.pb.h"
#include "nextbest/v1/catalog.grpc.pb.h"
#include "nextbest/v1/customers.grpc.pb.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "nextbest/v1/privacy.grpc.pb.h"
#include "tools/demo_retailer.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "nextbest-server address");
ABSL_FLAG(int, timeout_ms, 30000, "Deadline per RPC");
ABSL_FLAG(std::string, customer, "", "Customer id");
ABSL_FLAG(std::string, placement, "", "Placement id, e.g. homepage.door_jou_bekeken");
ABSL_FLAG(std::string, cart, "", "Comma-separated product ids in the cart");
ABSL_FLAG(std::string, product, "", "Product id (on screen for recommend; of the event for track)");
ABSL_FLAG(int, count, 0, "Items wanted (0: the placement's default)");
ABSL_FLAG(std::string, country, "", "Market, e.g. NL");
ABSL_FLAG(std::string, store, "", "Store id");
ABSL_FLAG(bool, json, false, "Print the response in the protobuf JSON mapping");
ABSL_FLAG(std::string, file, "", "track: JSON-lines file of events (- for stdin)");
ABSL_FLAG(std::string, type, "", "track: view|add_to_cart|remove_from_cart|purchase|return");
ABSL_FLAG(int, quantity, 1, "track: quantity");
ABSL_FLAG(std::string, size, "", "track: the size bought or returned (purchase/return), e.g. M");
ABSL_FLAG(int64_t, price_cents, -1, "track: unit price in cents (purchase/return)");
ABSL_FLAG(std::string, time, "",
          "Event time (track) or decision time (recommend), RFC 3339; default now");
ABSL_FLAG(std::string, event_id, "", "track: event id (default: generated)");
ABSL_FLAG(std::string, channel, "web", "track: web|app|store|email|call_center");
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
ABSL_FLAG(std::string, out, "", "newsletter: write one JSON line per customer to this file");
ABSL_FLAG(int64_t, max_customers, 0, "newsletter: stop after this many customers (0 = all)");
ABSL_FLAG(bool, all, false, "newsletter: also customers without marketing e-mail consent (measuring)");
ABSL_FLAG(bool, explain, false, "recommend: explain sources, scores and dropped candidates");
ABSL_FLAG(std::string, request_id, "", "recommend: the request's id (placements with rotation vary by it)");
ABSL_FLAG(std::string, tls_ca_file, "", "Connect with TLS, trusting this CA (PEM)");
ABSL_FLAG(std::string, tls_cert_file, "", "Client certificate (PEM) for mutual TLS");
ABSL_FLAG(std::string, tls_key_file, "", "Client private key (PEM) for mutual TLS");
ABSL_FLAG(std::string, token_file, "",
          "File with the caller's bearer token, sent with every call (else $NEXTBEST_TOKEN, else "
          "the admin token)");
ABSL_FLAG(std::string, admin_token_file, "",
          "Admin token file (else $NEXTBEST_ADMIN_TOKEN, else DATA_DIR/admin_token with "
          "--data_dir); used when no --token_file or $NEXTBEST_TOKEN is given");
ABSL_FLAG(bool, allow_removing_placements, false,
          "reload-config: confirm a reload that removes placements (refused otherwise)");
ABSL_FLAG(bool, new_token, false, "hash-token: make a new random token and print it with its hash");
ABSL_FLAG(std::string, data_dir, "", "The server's data directory (to find its admin_token)");
ABSL_FLAG(std::string, personalization, "", "consent: true|false");
ABSL_FLAG(std::string, marketing, "", "consent: true|false (marketing e-mail)");
ABSL_FLAG(std::string, dir, "", "checkpoint: directory on the server's machine (must not exist)");
ABSL_FLAG(std::string, exclude, "", "recommend: comma-separated product ids never to return");

namespace {

using namespace nextbest;  // NOLINT

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    std::fprintf(stderr, "nextbest: cannot read %s\n", path.c_str());
    std::exit(3);
  }
  return text.str();
}

// Plaintext, or TLS with --tls_ca_file (and a client certificate for
// mutual TLS with --tls_cert_file/--tls_key_file).
std::shared_ptr<grpc::Channel> Channel() {
  if (absl::GetFlag(FLAGS_tls_ca_file).empty()) {
    return grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials());
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFileOrDie(absl::GetFlag(FLAGS_tls_ca_file));
  if (!absl::GetFlag(FLAGS_tls_cert_file).empty()) {
    ssl.pem_cert_chain = ReadFileOrDie(absl::GetFlag(FLAGS_tls_cert_file));
    ssl.pem_private_key = ReadFileOrDie(absl::GetFlag(FLAGS_tls_key_file));
  }
  return grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::SslCredentials(ssl));
}

// The first line of `path`, trimmed; empty (with a message) if unreadable.
std::string ReadToken(const std::string& path) {
  std::string t;
  std::ifstream in(path);
  if (!in || !std::getline(in, t)) std::fprintf(stderr, "nextbest: cannot read token file %s\n", path.c_str());
  return std::string(absl::StripAsciiWhitespace(t));
}

std::string EnvToken(const char* name) {
  const char* env = std::getenv(name);
  return env != nullptr ? std::string(absl::StripAsciiWhitespace(env)) : "";
}

// The caller's token: --token_file, $NEXTBEST_TOKEN, else the admin token
// (--admin_token_file, $NEXTBEST_ADMIN_TOKEN, DATA_DIR/admin_token with
// --data_dir); empty if none is given (anonymous calls).
const std::string& CallerToken() {
  static const std::string token = [] {
    if (!absl::GetFlag(FLAGS_token_file).empty()) return ReadToken(absl::GetFlag(FLAGS_token_file));
    if (std::string t = EnvToken("NEXTBEST_TOKEN"); !t.empty()) return t;
    if (!absl::GetFlag(FLAGS_admin_token_file).empty()) return ReadToken(absl::GetFlag(FLAGS_admin_token_file));
    if (std::string t = EnvToken("NEXTBEST_ADMIN_TOKEN"); !t.empty()) return t;
    if (!absl::GetFlag(FLAGS_data_dir).empty()) return ReadToken(absl::GetFlag(FLAGS_data_dir) + "/admin_token");
    return std::string();
  }();
  return token;
}

// The caller's token, when there is one (RPCs open to anonymous callers
// ignore it).
void AddCredential(grpc::ClientContext& ctx) {
  if (!CallerToken().empty()) ctx.AddMetadata("authorization", "Bearer " + CallerToken());
}

// Deadline and credential.
void SetDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::GetFlag(FLAGS_timeout_ms)));
  AddCredential(ctx);
}

// One unary call with the --timeout_ms deadline.
template <typename Stub, typename Request, typename Response>
grpc::Status Invoke(Stub& stub,
                    grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response* response) {
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  return (stub.*method)(&ctx, request, response);
}

int Fail(const grpc::Status& s, const char* what) {
  std::fprintf(stderr, "nextbest %s: %s (code %d)\n", what, s.error_message().c_str(),
               static_cast<int>(s.error_code()));
  return static_cast<int>(s.error_code());
}

int Usage(const std::string& msg) {
  std::fprintf(stderr, "nextbest: %s\nRun nextbest --help for usage.\n", msg.c_str());
  return 3;  // INVALID_ARGUMENT
}

void PrintJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  std::cout << out;
}

std::string Euro(const v1::Money& m) {
  const int64_t a = m.amount_minor();
  return absl::StrFormat("%s %d,%02d", m.currency() == "EUR" ? "€" : m.currency(), a / 100,
                         a % 100);
}

// "SOURCE_CO_PURCHASE" -> "co purchase".
std::string SourceName(v1::Source s) {
  std::string name = absl::AsciiStrToLower(v1::Source_Name(s));
  if (absl::StartsWith(name, "source_")) name.erase(0, 7);
  absl::StrReplaceAll({{"_", " "}}, &name);
  return name;
}

v1::Channel ParseChannel(const std::string& c) {
  v1::Channel out = v1::CHANNEL_UNSPECIFIED;
  v1::Channel_Parse("CHANNEL_" + absl::AsciiStrToUpper(c), &out);
  return out;
}

void PrintExplanation(const v1::RecommendResponse& resp) {
  const auto& x = resp.explanation();
  std::cout << absl::StrFormat("  explanation (config v%d, %d candidates%s):\n", x.config_version(),
                               x.candidates(),
                               x.rfm_segment().empty() ? "" : ", RFM segment " + x.rfm_segment());
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

int Recommend() {
  auto stub = v1::DecisionService::NewStub(Channel());
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
  if (!absl::GetFlag(FLAGS_time).empty()) {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, absl::GetFlag(FLAGS_time), &t, &err)) {
      return Usage("recommend: --time: " + err);
    }
    ctx->mutable_time()->set_seconds(absl::ToUnixSeconds(t));
  }
  v1::RecommendResponse resp;
  grpc::Status s = Invoke(*stub, &v1::DecisionService::Stub::Recommend, req, &resp);
  if (!s.ok()) return Fail(s, "recommend");
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(resp);
    return 0;
  }
  std::cout << resp.placement() << " for "
            << (req.customer_id().empty() ? "an anonymous visitor" : req.customer_id()) << " ("
            << resp.country() << (resp.personalized() ? ", personalized" : ", not personalized")
            << ")\n";
  if (!resp.fallback_reason().empty()) std::cout << "  note: " << resp.fallback_reason() << "\n";
  if (resp.items().empty()) std::cout << "  (nothing to show)\n";
  int i = 0;
  for (const auto& it : resp.items()) {
    if (it.has_offer()) {
      std::cout << absl::StrFormat("  %2d. [%s] %-40s %s  [offer %s %.3g]\n", ++i,
                                   it.offer().type(), it.offer().title(),
                                   it.product_id().empty() ? "" : "(" + it.name() + ", " + Euro(it.price()) + ")",
                                   it.offer().offer_id(), it.score());
      continue;
    }
    std::cout << absl::StrFormat("  %2d. %-34s %10s  %-26s %s  [%s %.3g]\n", ++i, it.name(),
                                 Euro(it.price()), absl::StrJoin(it.category_path(), "/"),
                                 it.reason(), SourceName(it.source()), it.score());
  }
  if (req.explain()) PrintExplanation(resp);
  return 0;
}

std::string Ts(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

int Profile() {
  auto stub = v1::CustomerService::NewStub(Channel());
  v1::GetProfileRequest req;
  req.set_customer_id(absl::GetFlag(FLAGS_customer));
  v1::GetProfileResponse resp;
  grpc::Status s = Invoke(*stub, &v1::CustomerService::Stub::GetProfile, req, &resp);
  if (!s.ok()) return Fail(s, "profile");
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(resp);
    return 0;
  }
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
    std::cout << absl::StrFormat("  segments: RFM %d-%d-%d %s%s%s\n", sg.recency(), sg.frequency(),
                                 sg.monetary(), sg.rfm_segment().empty() ? "(no purchase)" : sg.rfm_segment(),
                                 sg.rule_segments().empty() ? "" : "; ",
                                 absl::StrJoin(sg.rule_segments(), ", "));
    if (!sg.behaviour().empty()) {
      std::cout << absl::StrFormat("  behaviour: %s%s (last 90 days %s, the 90 before %s)\n", sg.behaviour(),
                                   sg.behaviour_priority() ? ", PRIORITY" : "", Euro(sg.current_spend()),
                                   Euro(sg.baseline_spend()));
    }
  }
  if (!f.top_categories().empty()) {
    std::cout << "  top categories:";
    for (const auto& a : f.top_categories())
      std::cout << absl::StrFormat(" %s (%.1f)", a.category(), a.score());
    std::cout << "\n";
  }
  if (!f.top_brands().empty()) {
    std::cout << "  top brands:";
    for (const auto& b : f.top_brands()) std::cout << absl::StrFormat(" %s (%.1f)", b.brand(), b.score());
    std::cout << "\n";
  }
  for (const auto& sp : resp.customer().sizes()) {
    std::cout << absl::StrFormat("  declared sizes in %s: %s\n", sp.category(), absl::StrJoin(sp.sizes(), ", "));
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
  return 0;
}

int Health() {
  auto stub = grpc::health::v1::Health::NewStub(Channel());
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status s = Invoke(*stub, &grpc::health::v1::Health::Stub::Check, req, &resp);
  if (!s.ok()) return Fail(s, "health");
  const bool serving = resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  std::cout << (serving ? "SERVING" : "NOT_SERVING") << "\n";
  return serving ? 0 : 14;  // UNAVAILABLE
}

int Ping() {
  auto stub = v1::DecisionService::NewStub(Channel());
  v1::PingResponse resp;
  const auto t0 = std::chrono::steady_clock::now();
  grpc::Status s = Invoke(*stub, &v1::DecisionService::Stub::Ping, v1::PingRequest(), &resp);
  if (!s.ok()) return Fail(s, "ping");
  std::cout << absl::StrFormat(
      "pong in %.3f ms\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

// Sends events in batches; returns the first error's code, or 0.
class EventSender {
 public:
  EventSender() : stub_(v1::EventService::NewStub(Channel())) {}
  int Add(v1::Event e) {
    *batch_.add_events() = std::move(e);
    return batch_.events_size() >= 500 ? Flush() : 0;
  }
  int Flush() {
    if (batch_.events().empty()) return 0;
    v1::RecordEventsResponse resp;
    grpc::Status s = Invoke(*stub_, &v1::EventService::Stub::RecordEvents, batch_, &resp);
    batch_.clear_events();
    if (!s.ok()) return Fail(s, "track");
    accepted_ += resp.accepted();
    duplicates_ += resp.duplicates();
    suppressed_ += resp.suppressed();
    return 0;
  }
  int64_t accepted() const { return accepted_; }
  int64_t duplicates() const { return duplicates_; }
  int64_t suppressed() const { return suppressed_; }

 private:
  std::unique_ptr<v1::EventService::Stub> stub_;
  v1::RecordEventsRequest batch_;
  int64_t accepted_ = 0, duplicates_ = 0, suppressed_ = 0;
};

int TrackFromFlags() {
  static const std::map<std::string, v1::EventType> kTypes = {
      {"view", v1::EVENT_TYPE_VIEW},
      {"add_to_cart", v1::EVENT_TYPE_ADD_TO_CART},
      {"remove_from_cart", v1::EVENT_TYPE_REMOVE_FROM_CART},
      {"purchase", v1::EVENT_TYPE_PURCHASE},
      {"return", v1::EVENT_TYPE_RETURN}};
  static const std::map<std::string, v1::Channel> kChannels = {
      {"web", v1::CHANNEL_WEB},
      {"app", v1::CHANNEL_APP},
      {"store", v1::CHANNEL_STORE},
      {"email", v1::CHANNEL_EMAIL},
      {"call_center", v1::CHANNEL_CALL_CENTER}};
  auto type = kTypes.find(absl::GetFlag(FLAGS_type));
  if (type == kTypes.end())
    return Usage("track: --type must be view|add_to_cart|remove_from_cart|purchase|return");
  auto channel = kChannels.find(absl::GetFlag(FLAGS_channel));
  if (channel == kChannels.end())
    return Usage("track: --channel must be web|app|store|email|call_center");
  absl::Time t = absl::Now();
  std::string err;
  if (!absl::GetFlag(FLAGS_time).empty() &&
      !absl::ParseTime(absl::RFC3339_full, absl::GetFlag(FLAGS_time), &t, &err)) {
    return Usage("track: --time: " + err);
  }
  v1::Event e;
  e.set_event_id(absl::GetFlag(FLAGS_event_id).empty()
                     ? absl::StrCat("cli-", absl::ToUnixNanos(absl::Now()))
                     : absl::GetFlag(FLAGS_event_id));
  e.set_customer_id(absl::GetFlag(FLAGS_customer));
  e.set_type(type->second);
  const int64_t ms = absl::ToUnixMillis(t);
  e.mutable_time()->set_seconds(ms / 1000);
  e.mutable_time()->set_nanos(static_cast<int32_t>(ms % 1000) * 1000000);
  e.set_channel(channel->second);
  e.set_store_id(absl::GetFlag(FLAGS_store));
  e.set_country(absl::GetFlag(FLAGS_country));
  if (type->second == v1::EVENT_TYPE_PURCHASE || type->second == v1::EVENT_TYPE_RETURN) {
    auto* line = e.mutable_order()->add_lines();
    line->set_product_id(absl::GetFlag(FLAGS_product));
    line->set_quantity(absl::GetFlag(FLAGS_quantity));
    line->mutable_unit_price()->set_amount_minor(absl::GetFlag(FLAGS_price_cents));
    line->mutable_unit_price()->set_currency("EUR");
    line->set_size(absl::GetFlag(FLAGS_size));
  } else {
    e.set_product_id(absl::GetFlag(FLAGS_product));
    if (type->second != v1::EVENT_TYPE_VIEW) e.set_quantity(absl::GetFlag(FLAGS_quantity));
  }
  EventSender sender;
  if (int rc = sender.Add(std::move(e)); rc != 0) return rc;
  if (int rc = sender.Flush(); rc != 0) return rc;
  std::cout << (sender.accepted() == 1     ? "recorded\n"
                : sender.suppressed() == 1 ? "suppressed: the customer was erased after this event's time\n"
                                           : "duplicate: already recorded\n");
  return 0;
}

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
  std::cout << absl::StrFormat("%d events recorded, %d duplicates, %d suppressed (erased customers)\n",
                               sender.accepted(), sender.duplicates(), sender.suppressed());
  return 0;
}

int DemoData() {
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
      return Usage("demo-data: --now: " + err);
    }
    size.now_ms = absl::ToUnixMillis(t);
  }
  if (size.customers < 1 || size.products < 1 || size.stores < 1 || size.days < 1) {
    return Usage("demo-data: --customers, --products, --stores and --days must be >= 1");
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  tools::DemoRetailer retailer(size);
  auto channel = Channel();
  auto catalog = v1::CatalogService::NewStub(channel);
  auto customers = v1::CustomerService::NewStub(channel);

  const std::string what = absl::GetFlag(FLAGS_what);
  if (what != "all" && what != "catalog" && what != "customers") {
    return Usage("demo-data: --what must be all, catalog or customers");
  }
  if (what != "customers") {
    v1::UpsertStoresRequest req;
    for (const auto& s : retailer.stores()) *req.add_stores() = s;
    v1::UpsertStoresResponse resp;
    if (auto s = Invoke(*catalog, &v1::CatalogService::Stub::UpsertStores, req, &resp); !s.ok())
      return Fail(s, "demo-data stores");
  }
  for (size_t i = 0; what != "customers" && i < retailer.products().size(); i += 1000) {
    v1::UpsertProductsRequest req;
    for (size_t j = i; j < std::min(i + 1000, retailer.products().size()); ++j) {
      *req.add_products() = retailer.products()[j];
    }
    v1::UpsertProductsResponse resp;
    if (auto s = Invoke(*catalog, &v1::CatalogService::Stub::UpsertProducts, req, &resp); !s.ok())
      return Fail(s, "demo-data products");
  }
  if (what != "customers") {
    v1::SetStockRequest req;
    int rc = 0;
    auto flush = [&] {
      if (req.levels().empty() || rc != 0) return;
      v1::SetStockResponse resp;
      if (auto s = Invoke(*catalog, &v1::CatalogService::Stub::SetStock, req, &resp); !s.ok())
        rc = Fail(s, "demo-data stock");
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
    if (auto s = Invoke(*customers, &v1::CustomerService::Stub::UpsertCustomers, req, &resp);
        !s.ok())
      return Fail(s, "demo-data customers");
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
  auto admin = v1::AdminService::NewStub(Channel());
  v1::RebuildModelsResponse models;
  if (auto s = Invoke(*admin, &v1::AdminService::Stub::RebuildModels, v1::RebuildModelsRequest(), &models);
      !s.ok()) {
    return Fail(s, "demo-data rebuild-models");
  }
  std::cout << absl::StrFormat("models rebuilt in %.2f s: %d co-purchase and %d co-view neighbours\n",
                               models.build_seconds(), models.co_purchase_pairs(), models.co_view_pairs());
  return 0;
}

int ReloadConfig() {
  auto stub = v1::AdminService::NewStub(Channel());
  v1::ReloadConfigRequest req;
  req.set_allow_removing_placements(absl::GetFlag(FLAGS_allow_removing_placements));
  v1::ReloadConfigResponse resp;
  grpc::Status s = Invoke(*stub, &v1::AdminService::Stub::ReloadConfig, req, &resp);
  if (!s.ok()) return Fail(s, "reload-config");
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(resp);
    return 0;
  }
  std::cout << absl::StrFormat("config version %d: %d placements, %d offers, %d segments\n",
                               resp.version(), resp.placements(), resp.offers(), resp.segments());
  return 0;
}

int RebuildModels() {
  auto stub = v1::AdminService::NewStub(Channel());
  v1::RebuildModelsResponse resp;
  grpc::Status s = Invoke(*stub, &v1::AdminService::Stub::RebuildModels, v1::RebuildModelsRequest(), &resp);
  if (!s.ok()) return Fail(s, "rebuild-models");
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(resp);
    return 0;
  }
  std::cout << absl::StrFormat(
      "models rebuilt over %d customers in %.2f s: %d co-purchase and %d co-view neighbours\n",
      resp.customers(), resp.build_seconds(), resp.co_purchase_pairs(), resp.co_view_pairs());
  return 0;
}

int Segments() {
  auto stub = v1::AdminService::NewStub(Channel());
  v1::ListSegmentsResponse resp;
  grpc::Status s = Invoke(*stub, &v1::AdminService::Stub::ListSegments, v1::ListSegmentsRequest(), &resp);
  if (!s.ok()) return Fail(s, "segments");
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(resp);
    return 0;
  }
  std::cout << absl::StrFormat("segments (models of %s; %d customers with a purchase)\n",
                               Ts(resp.built_at()), resp.rfm_population());
  for (const auto& seg : resp.segments()) {
    std::cout << absl::StrFormat("  %-4s %-22s %9d\n", seg.kind(), seg.segment(), seg.customers());
  }
  std::cout << "  RFM cut points: recency days " << absl::StrJoin(resp.recency_days_cuts(), " / ")
            << "; orders " << absl::StrJoin(resp.frequency_cuts(), " / ") << "; spend (cents) "
            << absl::StrJoin(resp.monetary_cuts(), " / ") << "\n";
  std::cout << absl::StrFormat("  behaviour: %d flagged for attention; top = current spend >= %.0f cents\n",
                               resp.behaviour_priority(), resp.top_current_spend_cut());
  return 0;
}

std::optional<bool> ParseBoolFlag(const std::string& v, bool* bad) {
  if (v.empty()) return std::nullopt;
  if (v == "true") return true;
  if (v == "false") return false;
  *bad = true;
  return std::nullopt;
}

int Consent() {
  bool bad = false;
  const auto personalization = ParseBoolFlag(absl::GetFlag(FLAGS_personalization), &bad);
  const auto marketing = ParseBoolFlag(absl::GetFlag(FLAGS_marketing), &bad);
  if (bad) return Usage("consent: --personalization and --marketing take true or false");
  v1::SetConsentRequest req;
  req.set_customer_id(absl::GetFlag(FLAGS_customer));
  if (personalization) req.set_personalization(*personalization);
  if (marketing) req.set_marketing_email(*marketing);
  auto stub = v1::PrivacyService::NewStub(Channel());
  v1::SetConsentResponse resp;
  grpc::Status s = Invoke(*stub, &v1::PrivacyService::Stub::SetConsent, req, &resp);
  if (!s.ok()) return Fail(s, "consent");
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(resp);
    return 0;
  }
  std::cout << absl::StrFormat("%s: personalization %s, marketing e-mail %s\n", req.customer_id(),
                               resp.consent().personalization() ? "yes" : "no",
                               resp.consent().marketing_email() ? "yes" : "no");
  return 0;
}

// The receipt, always as JSON (it is the record the privacy office keeps).
int Erase() {
  v1::EraseCustomerRequest req;
  req.set_customer_id(absl::GetFlag(FLAGS_customer));
  auto stub = v1::PrivacyService::NewStub(Channel());
  v1::EraseCustomerResponse resp;
  grpc::Status s = Invoke(*stub, &v1::PrivacyService::Stub::EraseCustomer, req, &resp);
  if (!s.ok()) return Fail(s, "erase");
  PrintJson(resp.receipt());
  std::cout << "\n";
  return 0;
}

// One JSON document: the profile, exported_at and every event.
int Export() {
  v1::ExportCustomerRequest req;
  req.set_customer_id(absl::GetFlag(FLAGS_customer));
  auto stub = v1::PrivacyService::NewStub(Channel());
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  auto reader = stub->ExportCustomer(&ctx, req);
  v1::ExportCustomerResponse all, msg;
  while (reader->Read(&msg)) all.MergeFrom(msg);
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(s, "export");
  PrintJson(all);
  std::cout << "\n";
  return 0;
}

int Checkpoint() {
  v1::CheckpointRequest req;
  req.set_dir(absl::GetFlag(FLAGS_dir));
  auto stub = v1::AdminService::NewStub(Channel());
  v1::CheckpointResponse resp;
  grpc::Status s = Invoke(*stub, &v1::AdminService::Stub::Checkpoint, req, &resp);
  if (!s.ok()) return Fail(s, "checkpoint");
  std::cout << absl::StrFormat("checkpoint in %s (%.2f s); restore: start nextbest-server --data_dir=%s\n",
                               resp.dir(), resp.seconds(), resp.dir());
  return 0;
}

// The newsletter run: one decision per customer, streamed (DecideForAll).
int Newsletter() {
  auto stub = v1::DecisionService::NewStub(Channel());
  v1::DecideForAllRequest req;
  req.set_placement(absl::GetFlag(FLAGS_placement).empty() ? "newsletter.blocks"
                                                           : absl::GetFlag(FLAGS_placement));
  req.set_count(absl::GetFlag(FLAGS_count));
  req.set_max_customers(absl::GetFlag(FLAGS_max_customers));
  req.set_include_without_email_consent(absl::GetFlag(FLAGS_all));
  grpc::ClientContext ctx;  // no deadline: a run over millions of customers
  AddCredential(ctx);
  auto reader = stub->DecideForAll(&ctx, req);
  std::ofstream out;
  if (!absl::GetFlag(FLAGS_out).empty()) out.open(absl::GetFlag(FLAGS_out));
  v1::DecideForAllResponse msg;
  int64_t customers = 0, items = 0, personalized = 0;
  std::map<std::string, int64_t> offers;
  v1::DecideForAllResponse last;
  while (reader->Read(&msg)) {
    for (const auto& d : msg.decisions()) {
      ++customers;
      personalized += d.personalized();
      items += d.items_size();
      for (const auto& it : d.items()) {
        if (!it.offer_id().empty()) ++offers[it.offer_id()];
      }
      if (out.is_open()) {
        std::string line;
        (void)google::protobuf::util::MessageToJsonString(d, &line);
        out << line << "\n";
      }
    }
    if (msg.last()) last = msg;
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(s, "newsletter");
  std::cout << absl::StrFormat(
      "%s for %d customers (%d personalized, %d without e-mail consent left out) in %.2f s: "
      "%.0f customers/s, %d items\n",
      req.placement(), customers, personalized, last.customers_skipped(), last.seconds(),
      last.seconds() > 0 ? customers / last.seconds() : 0.0, items);
  for (const auto& [id, n] : offers) std::cout << absl::StrFormat("  offer %-24s %9d\n", id, n);
  return 0;
}

// Every erasure on record, one JSON line each (to keep with the backups and
// re-apply with nextbest-server --reapply_erasures=FILE).
int Erasures() {
  auto stub = v1::PrivacyService::NewStub(Channel());
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  auto reader = stub->ListErasures(&ctx, v1::ListErasuresRequest());
  std::ofstream file;
  if (!absl::GetFlag(FLAGS_out).empty()) file.open(absl::GetFlag(FLAGS_out));
  std::ostream& out = file.is_open() ? file : std::cout;
  v1::ListErasuresResponse msg;
  int64_t n = 0;
  while (reader->Read(&msg)) {
    for (const v1::Erasure& e : msg.erasures()) {
      std::string line;
      (void)google::protobuf::util::MessageToJsonString(e, &line);
      out << line << "\n";
      ++n;
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(s, "erasures");
  if (file.is_open()) std::cerr << n << " erasures written to " << absl::GetFlag(FLAGS_out) << "\n";
  return 0;
}

// The SHA-256 of a token for the config's `auth.callers`; with
// --new_token, a new random token first.
int HashToken() {
  std::string token;
  if (absl::GetFlag(FLAGS_new_token)) {
    std::ifstream random("/dev/urandom", std::ios::binary);
    unsigned char bytes[24];
    random.read(reinterpret_cast<char*>(bytes), sizeof bytes);
    if (!random) return Usage("hash-token: cannot read /dev/urandom");
    for (unsigned char b : bytes) token += absl::StrFormat("%02x", b);
    std::cout << "token: " << token << "\n";
  } else if (!absl::GetFlag(FLAGS_token_file).empty()) {
    token = ReadToken(absl::GetFlag(FLAGS_token_file));
  } else {
    std::getline(std::cin, token);
    token = std::string(absl::StripAsciiWhitespace(token));
  }
  if (token.size() < 16) return Usage("hash-token: a token needs at least 16 characters");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += absl::StrFormat("%02x", digest[i]);
  std::cout << "token_sha256: \"" << hex << "\"\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "nextbest [--target=HOST:PORT] recommend|profile|track|health|ping|demo-data|\n"
      "    reload-config|rebuild-models|segments|newsletter|consent|erase|export|checkpoint|\n"
      "    erasures|hash-token [flags]\n"
      "Calls carry the caller's token: --token_file or $NEXTBEST_TOKEN, else the admin token\n"
      "(--admin_token_file, $NEXTBEST_ADMIN_TOKEN, or --data_dir: DATA_DIR/admin_token).\n"
      "Exit code = the gRPC status code.");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) return Usage("expected exactly one command");
  const std::string cmd = args[1];
  if (cmd == "recommend") {
    if (absl::GetFlag(FLAGS_placement).empty()) return Usage("recommend: --placement required");
    return Recommend();
  }
  if (cmd == "profile") {
    if (absl::GetFlag(FLAGS_customer).empty()) return Usage("profile: --customer required");
    return Profile();
  }
  if (cmd == "track") return Track();
  if (cmd == "health") return Health();
  if (cmd == "hash-token") return HashToken();
  if (cmd == "erasures") return Erasures();
  if (cmd == "ping") return Ping();
  if (cmd == "demo-data") return DemoData();
  if (cmd == "reload-config") return ReloadConfig();
  if (cmd == "rebuild-models") return RebuildModels();
  if (cmd == "segments") return Segments();
  if (cmd == "newsletter") return Newsletter();
  if (cmd == "consent" || cmd == "erase" || cmd == "export") {
    if (absl::GetFlag(FLAGS_customer).empty()) return Usage(cmd + ": --customer required");
    return cmd == "consent" ? Consent() : cmd == "erase" ? Erase() : Export();
  }
  if (cmd == "checkpoint") {
    if (absl::GetFlag(FLAGS_dir).empty()) return Usage("checkpoint: --dir required");
    return Checkpoint();
  }
  return Usage("unknown command '" + cmd + "'");
}
