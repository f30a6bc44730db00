#include "server/http_gateway.h"

#include <chrono>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "server/http_console.h"

namespace nextbest::server {
namespace pb = google::protobuf;

namespace {

grpc::Status Invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void AppendJsonString(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(out, "\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// Query parameters become a JSON object the standard parser reads (so
// enums, timestamps and numbers are read exactly as in a body): every
// leaf a string, except booleans; repeated fields arrays.
struct QueryNode {
  std::map<std::string, QueryNode> children;
  const pb::FieldDescriptor* field = nullptr;  // a leaf
  std::vector<std::string> values;

  void AppendJson(std::string* out) const {
    if (field == nullptr) {
      out->push_back('{');
      bool first = true;
      for (const auto& [name, child] : children) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(name, out);
        out->push_back(':');
        child.AppendJson(out);
      }
      out->push_back('}');
      return;
    }
    auto value = [&](const std::string& v) {
      if (field->type() == pb::FieldDescriptor::TYPE_BOOL && (v == "true" || v == "false")) {
        out->append(v);
      } else {
        AppendJsonString(v, out);
      }
    };
    if (!field->is_repeated()) return value(values.back());
    out->push_back('[');
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out->push_back(',');
      value(values[i]);
    }
    out->push_back(']');
  }
};

const pb::FieldDescriptor* FindField(const pb::Descriptor* d, const std::string& name) {
  const pb::FieldDescriptor* f = d->FindFieldByName(name);
  return f != nullptr ? f : d->FindFieldByCamelcaseName(name);
}

grpc::Status QueryToJson(absl::string_view query, const pb::Descriptor* root, std::string* json) {
  QueryNode tree;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    std::string key, value;
    if (!PercentDecode(pair.substr(0, eq), true, &key) ||
        !PercentDecode(eq == absl::string_view::npos ? "" : pair.substr(eq + 1), true, &value)) {
      return Invalid(absl::StrCat("query: bad %-escape in '", pair, "'"));
    }
    const pb::Descriptor* d = root;
    QueryNode* node = &tree;
    std::vector<std::string> parts = absl::StrSplit(key, '.');
    for (size_t i = 0; i < parts.size(); ++i) {
      const pb::FieldDescriptor* f = FindField(d, parts[i]);
      if (f == nullptr) {
        return Invalid(absl::StrCat("query parameter '", key, "': ", root->full_name(),
                                    " has no field '", parts[i], "'"));
      }
      node = &node->children[f->name()];
      const bool leaf = i + 1 == parts.size();
      const bool message = f->type() == pb::FieldDescriptor::TYPE_MESSAGE &&
                           f->message_type()->full_name() != "google.protobuf.Timestamp";
      if (leaf == message || (message && f->is_repeated())) {
        return Invalid(absl::StrCat("query parameter '", key, "': ",
                                    leaf ? "names a message, not a value" : "cannot go inside ",
                                    leaf ? "" : f->name()));
      }
      if (leaf) {
        node->field = f;
        node->values.push_back(value);
      } else {
        d = f->message_type();
      }
    }
  }
  json->clear();
  tree.AppendJson(json);
  return grpc::Status::OK;
}

}  // namespace

bool PercentDecode(absl::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = Hex(in[i + 1]), lo = Hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out->push_back(plus_is_space && in[i] == '+' ? ' ' : in[i]);
    }
  }
  return true;
}

HttpRoute HttpRoute::Parse(std::string method, std::string path, std::string rpc,
                           std::function<grpc::Status(HttpCall&)> invoke, bool stream_out) {
  HttpRoute r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.rpc = std::move(rpc);
  r.invoke = std::move(invoke);
  r.stream_out = stream_out;
  r.segments = absl::StrSplit(absl::string_view(r.path).substr(1), '/');
  std::string& last = r.segments.back();
  if (const size_t colon = last.rfind(':'); colon != std::string::npos && colon > 0) {
    r.verb = last.substr(colon + 1);
    last.resize(colon);
  }
  return r;
}

bool HttpRoute::Match(absl::string_view path,
                      std::vector<std::pair<std::string, std::string>>* bindings) const {
  if (path.empty() || path[0] != '/') return false;
  std::vector<absl::string_view> parts = absl::StrSplit(path.substr(1), '/');
  if (parts.size() != segments.size()) return false;
  absl::string_view& last = parts.back();
  if (!verb.empty()) {
    if (!absl::ConsumeSuffix(&last, absl::StrCat(":", verb))) return false;
  } else if (absl::StrContains(last, ':') && segments.back().front() != '{') {
    return false;
  }
  const size_t first_binding = bindings->size();
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& s = segments[i];
    if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
      std::string value;
      if (parts[i].empty() || !PercentDecode(parts[i], false, &value)) {
        bindings->resize(first_binding);
        return false;
      }
      bindings->emplace_back(s.substr(1, s.size() - 2), std::move(value));
    } else if (parts[i] != s) {
      bindings->resize(first_binding);
      return false;
    }
  }
  return true;
}

HttpCall::HttpCall(const HttpRequest& request, const HttpGatewayOptions& options)
    : request_(request), max_stream_bytes_(options.max_stream_bytes) {
  if (!request.authorization.empty()) {
    context_.AddMetadata("authorization", std::string(request.authorization));
  }
  context_.set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(options.deadline_ms));
}

grpc::Status HttpCall::Fill(pb::Message& message, bool from_body) const {
  pb::util::JsonParseOptions options;  // unknown fields are errors, named
  std::string query_json;
  absl::string_view json;
  if (from_body) {
    json = absl::StripAsciiWhitespace(request_.body);
    if (json.empty()) json = "{}";
  } else {
    if (grpc::Status s = QueryToJson(request_.query, message.GetDescriptor(), &query_json);
        !s.ok()) {
      return s;
    }
    json = query_json;
  }
  if (auto s = pb::util::JsonStringToMessage(std::string(json), &message, options); !s.ok()) {
    return Invalid(absl::StrCat(from_body ? "body: " : "query: ", s.message().ToString()));
  }
  const pb::Reflection* reflection = message.GetReflection();
  for (const auto& [name, value] : bindings_) {
    const pb::FieldDescriptor* f = message.GetDescriptor()->FindFieldByName(name);
    if (f == nullptr || f->type() != pb::FieldDescriptor::TYPE_STRING) continue;
    const std::string given = reflection->GetString(message, f);
    if (!given.empty() && given != value) {
      return Invalid(absl::StrCat(name, ": the path says '", value, "', the body '", given, "'"));
    }
    reflection->SetString(&message, f, value);
  }
  return grpc::Status::OK;
}

void HttpCall::Append(const pb::Message& message) {
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;  // a JavaScript caller sees every field
  std::string line;
  (void)pb::util::MessageToJsonString(message, &line, options);
  out_.append(line);
  out_.push_back('\n');
}

int HttpStatusFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    default:
      return 500;  // UNKNOWN, INTERNAL, DATA_LOSS
  }
}

std::string JsonError(const grpc::Status& status) {
  std::string out =
      absl::StrCat("{\"code\":", static_cast<int>(status.error_code()), ",\"message\":");
  AppendJsonString(status.error_message(), &out);
  out.append(",\"details\":[]}\n");
  return out;
}

bool HttpGateway::AllowOrigin(absl::string_view origin, HttpResponse& response) const {
  if (origin.empty()) return true;  // not a cross-origin browser call
  for (const std::string& allowed : options_.cors_origins) {
    if (allowed == "*" || allowed == origin) {
      response.headers.emplace_back("access-control-allow-origin", std::string(origin));
      response.headers.emplace_back("vary", "origin");
      return true;
    }
  }
  return false;
}

void HttpGateway::Handle(const HttpRequest& request, HttpResponse& response) const {
  auto fail = [&](const grpc::Status& s) {
    response.status = HttpStatusFor(s.error_code());
    response.content_type = "application/json";
    response.body = JsonError(s);
    if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      response.headers.emplace_back("www-authenticate", "Bearer");
    }
  };
  const bool origin_ok = AllowOrigin(request.origin, response);
  if (options_.console && ServeConsole(request, response)) return;

  std::vector<std::pair<std::string, std::string>> bindings;
  const HttpRoute* route = nullptr;
  std::vector<std::string> allowed_methods;
  for (const HttpRoute& r : table()) {
    if (!r.Match(request.path, &bindings)) continue;
    allowed_methods.push_back(r.method);
    if (r.method == request.method) {
      route = &r;
      break;
    }
    bindings.clear();
  }
  if (request.method == "OPTIONS") {  // CORS preflight
    if (!origin_ok || allowed_methods.empty()) {
      return fail(grpc::Status(
          grpc::StatusCode::PERMISSION_DENIED,
          absl::StrCat("origin '", request.origin, "' is not allowed (--http_cors_origins)")));
    }
    response.status = 204;
    response.content_type.clear();
    response.headers.emplace_back("access-control-allow-methods",
                                  absl::StrJoin(allowed_methods, ", "));
    response.headers.emplace_back("access-control-allow-headers", "authorization, content-type");
    response.headers.emplace_back("access-control-max-age", "600");
    return;
  }
  if (route == nullptr) {
    if (!allowed_methods.empty()) {
      response.headers.emplace_back("allow", absl::StrJoin(allowed_methods, ", "));
      fail(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        absl::StrCat(request.path, " takes ", absl::StrJoin(allowed_methods, ", "),
                                     ", not ", request.method)));
      response.status = 405;
      return;
    }
    return fail(grpc::Status(grpc::StatusCode::NOT_FOUND,
                             absl::StrCat("no API route for ", request.method, " ", request.path,
                                          " (see README, 'HTTP/JSON API')")));
  }
  HttpCall call(request, options_);
  call.bindings() = std::move(bindings);
  const grpc::Status s = route->invoke(call);
  if (!s.ok()) return fail(s);
  response.status = 200;
  response.content_type = route->stream_out ? "application/x-ndjson" : "application/json";
  response.body = std::move(call.out());
}

}  // namespace nextbest::server
