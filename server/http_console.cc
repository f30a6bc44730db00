#include "server/http_console.h"

#include "absl/strings/string_view.h"

namespace nextbest::server {
namespace {

struct Asset {
  absl::string_view path;
  absl::string_view content_type;
  absl::string_view body;
};

constexpr Asset kAssets[] = {
    {
        "/console/",
        "text/html; charset=utf-8",
#include "server/console_index.inc"
    },
    {
        "/console/console.js",
        "text/javascript; charset=utf-8",
#include "server/console_js.inc"
    },
    {
        "/console/console.css",
        "text/css; charset=utf-8",
#include "server/console_css.inc"
    },
};

}  // namespace

bool ServeConsole(const HttpRequest& request, HttpResponse& response) {
  if (request.path == "/" || request.path == "/console") {
    response.status = 302;
    response.content_type.clear();
    response.headers.emplace_back("location", "/console/");
    return true;
  }
  for (const Asset& a : kAssets) {
    if (request.path != a.path) continue;
    if (request.method != "GET" && request.method != "HEAD") return false;
    response.status = 200;
    response.content_type = std::string(a.content_type);
    response.body = std::string(a.body);
    // Everything the page loads or calls is this server: the browser
    // refuses anything else.
    response.headers.emplace_back("content-security-policy",
                                  "default-src 'self'; img-src 'self' data:; "
                                  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    response.headers.emplace_back("x-content-type-options", "nosniff");
    response.headers.emplace_back("cache-control", "no-cache");
    return true;
  }
  return false;
}

}  // namespace nextbest::server
