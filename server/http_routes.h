#pragma once
// A route of the HTTP/JSON API: method, path template, the RPC it reaches.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace nextbest::server {

class HttpCall;

struct HttpRoute {
  std::string method;
  std::string path;  // the template, as documented
  std::string rpc;   // the gRPC method's name
  // Template segments after "/": literals, or "{field}" variables (one
  // path segment each, percent-decoded); the last may end in ":verb".
  std::vector<std::string> segments;
  std::string verb;
  std::function<grpc::Status(HttpCall&)> invoke;
  bool stream_out = false;  // answers JSON lines

  static HttpRoute Parse(std::string method, std::string path, std::string rpc,
                         std::function<grpc::Status(HttpCall&)> invoke, bool stream_out);
  // True when `path` fits the template; the variables' values (decoded)
  // are appended to `bindings`.
  bool Match(absl::string_view path,
             std::vector<std::pair<std::string, std::string>>* bindings) const;
};

// %XX (and, in a query, '+') decoded; false on a malformed escape.
bool PercentDecode(absl::string_view in, bool plus_is_space, std::string* out);

}  // namespace nextbest::server
