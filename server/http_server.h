#pragma once
// A small HTTP/1.1 + HTTP/2 server on h2o (Debian's libh2o-evloop): the
// transport under the JSON API and the marketer console (http_gateway.h).
//
// Why h2o: it is the one HTTP server library in Debian that speaks both
// HTTP/1.1 and HTTP/2 (cleartext h2c, by prior knowledge or Upgrade) with a
// production pedigree (it is a web server in its own right), and its
// event loop is a plain C library we can run on our own threads.
// libmicrohttpd, cpp-httplib and Boost.Beast are HTTP/1.1 only.
//
// `threads` event loops share one port (SO_REUSEPORT; the kernel spreads
// connections). A handler runs on its loop's thread and may block it (a
// write waits for its group commit): requests on other loops go on.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nextbest::server {

struct HttpRequest {
  absl::string_view method;  // "GET", "POST", "OPTIONS", ...
  absl::string_view path;    // without the query string, not decoded
  absl::string_view query;   // after '?', not decoded
  absl::string_view body;
  // The headers the gateway reads (empty when absent).
  absl::string_view authorization;
  absl::string_view origin;
  absl::string_view content_type;
  absl::string_view access_control_request_headers;
  int http_version = 0x101;  // 0x100, 0x101, 0x200
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse&)>;

struct HttpServerOptions {
  std::string address = "127.0.0.1:8080";  // host:port; port 0 picks one
  int threads = 2;
  size_t max_body_bytes = 16 << 20;  // larger bodies: 413
};

class HttpServer {
 public:
  // Listens and starts the loops; UNAVAILABLE when the address is taken
  // or invalid.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           HttpHandler handler);
  ~HttpServer();  // Stop()

  int port() const { return port_; }
  // Stops accepting, asks open connections to close (HTTP/2 GOAWAY, HTTP/1
  // after the request in flight) and waits at most `drain_ms` for them.
  void Stop(int drain_ms = 1000);

  struct Loop;  // one event loop thread (http_server.cc)

 private:
  HttpServer() = default;

  HttpHandler handler_;
  size_t max_body_bytes_ = 0;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  int drain_ms_ = 1000;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
  struct Config;
  std::unique_ptr<Config> config_;
};

}  // namespace nextbest::server
