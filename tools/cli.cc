#include "tools/cli.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/util/json_util.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "nextbest-server address");
ABSL_FLAG(int, timeout_ms, 30000, "Deadline per RPC");
ABSL_FLAG(bool, json, false, "Print the response in the protobuf JSON mapping");
ABSL_FLAG(std::string, customer, "", "Customer id");
ABSL_FLAG(std::string, placement, "", "Placement id, e.g. homepage.door_jou_bekeken");
ABSL_FLAG(std::string, product, "", "Product id (on screen for recommend; of the event for track)");
ABSL_FLAG(int, count, 0, "Items wanted (0: the placement's default)");
ABSL_FLAG(std::string, country, "", "Market, e.g. NL");
ABSL_FLAG(std::string, store, "", "Store id");
ABSL_FLAG(std::string, time, "",
          "Event time (track) or decision time (recommend), RFC 3339; default now");
ABSL_FLAG(std::string, channel, "web", "web|app|store|email|call_center|push|sms");
ABSL_FLAG(std::string, file, "",
          "track: JSON-lines events (- for stdin); import: the file (.csv, .jsonl, .xml)");
ABSL_FLAG(std::string, out, "", "newsletter, erasures: write to this file instead of stdout");
ABSL_FLAG(std::string, tls_ca_file, "", "Connect with TLS, trusting this CA (PEM)");
ABSL_FLAG(std::string, tls_cert_file, "", "Client certificate (PEM) for mutual TLS");
ABSL_FLAG(std::string, tls_key_file, "", "Client private key (PEM) for mutual TLS");
ABSL_FLAG(std::string, token_file, "",
          "File with the caller's bearer token, sent with every call (else $NEXTBEST_TOKEN, else "
          "the admin token)");
ABSL_FLAG(std::string, admin_token_file, "",
          "Admin token file (else $NEXTBEST_ADMIN_TOKEN, else DATA_DIR/admin_token with "
          "--data_dir); used when no --token_file or $NEXTBEST_TOKEN is given");
ABSL_FLAG(std::string, data_dir, "", "The server's data directory (to find its admin_token)");

namespace nextbest::cli {
namespace {

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

std::string EnvToken(const char* name) {
  const char* env = std::getenv(name);
  return env != nullptr ? std::string(absl::StripAsciiWhitespace(env)) : "";
}

}  // namespace

std::shared_ptr<grpc::Channel> Channel() { return ChannelTo(absl::GetFlag(FLAGS_target)); }

std::shared_ptr<grpc::Channel> ChannelTo(const std::string& target) {
  if (absl::GetFlag(FLAGS_tls_ca_file).empty()) {
    return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFileOrDie(absl::GetFlag(FLAGS_tls_ca_file));
  if (!absl::GetFlag(FLAGS_tls_cert_file).empty()) {
    ssl.pem_cert_chain = ReadFileOrDie(absl::GetFlag(FLAGS_tls_cert_file));
    ssl.pem_private_key = ReadFileOrDie(absl::GetFlag(FLAGS_tls_key_file));
  }
  return grpc::CreateChannel(target, grpc::SslCredentials(ssl));
}

std::string ReadToken(const std::string& path) {
  std::string t;
  std::ifstream in(path);
  if (!in || !std::getline(in, t))
    std::fprintf(stderr, "nextbest: cannot read token file %s\n", path.c_str());
  return std::string(absl::StripAsciiWhitespace(t));
}

const std::string& CallerToken() {
  static const std::string token = [] {
    if (!absl::GetFlag(FLAGS_token_file).empty()) return ReadToken(absl::GetFlag(FLAGS_token_file));
    if (std::string t = EnvToken("NEXTBEST_TOKEN"); !t.empty()) return t;
    if (!absl::GetFlag(FLAGS_admin_token_file).empty())
      return ReadToken(absl::GetFlag(FLAGS_admin_token_file));
    if (std::string t = EnvToken("NEXTBEST_ADMIN_TOKEN"); !t.empty()) return t;
    if (!absl::GetFlag(FLAGS_data_dir).empty())
      return ReadToken(absl::GetFlag(FLAGS_data_dir) + "/admin_token");
    return std::string();
  }();
  return token;
}

void AddCredential(grpc::ClientContext& ctx) {
  if (!CallerToken().empty()) ctx.AddMetadata("authorization", "Bearer " + CallerToken());
}

void AddRoutingHeader(grpc::ClientContext& ctx, const google::protobuf::Message& request) {
  const google::protobuf::FieldDescriptor* f =
      request.GetDescriptor()->FindFieldByName("customer_id");
  if (f == nullptr || f->is_repeated() ||
      f->type() != google::protobuf::FieldDescriptor::TYPE_STRING) {
    return;
  }
  const std::string id = request.GetReflection()->GetString(request, f);
  if (!id.empty()) ctx.AddMetadata("x-customer-id", id);
}

void SetDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::GetFlag(FLAGS_timeout_ms)));
  AddCredential(ctx);
}

int Fail(const grpc::Status& s, absl::string_view what) {
  std::fprintf(stderr, "nextbest %.*s: %s (code %d)\n", static_cast<int>(what.size()), what.data(),
               s.error_message().c_str(), static_cast<int>(s.error_code()));
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

std::string Ts(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

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

absl::StatusOr<std::optional<absl::Time>> TimeFlag() {
  if (absl::GetFlag(FLAGS_time).empty()) return std::optional<absl::Time>();
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, absl::GetFlag(FLAGS_time), &t, &err)) {
    return absl::InvalidArgumentError("--time: " + err);
  }
  return std::optional<absl::Time>(t);
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp out;
  const int64_t ms = absl::ToUnixMillis(t);
  out.set_seconds(ms / 1000);
  out.set_nanos(static_cast<int32_t>(ms % 1000) * 1000000);
  return out;
}

}  // namespace nextbest::cli
