#include "server/http_server.h"

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

#if defined(__SANITIZE_ADDRESS__)
// h2o 2.2 keeps recycled buffers in thread-local free lists (the socket
// and HTTP/2 write-buffer prototypes, the memory pools) with no call to
// drain them; when a loop thread ends they are reported as leaks. This
// tells LeakSanitizer (in sanitizer builds only) to leave h2o's own
// allocations alone; ours are still checked.
extern "C" const char* __lsan_default_suppressions() { return "leak:libh2o-evloop.so\n"; }
#endif

namespace nextbest::server {
namespace {

absl::string_view View(h2o_iovec_t v) { return absl::string_view(v.base, v.len); }

absl::string_view Header(const h2o_req_t* req, absl::string_view name) {
  const ssize_t i = h2o_find_header_by_str(&req->headers, name.data(), name.size(), -1);
  return i < 0 ? absl::string_view() : View(req->headers.entries[i].value);
}

h2o_iovec_t Copy(h2o_mem_pool_t* pool, absl::string_view s) {
  return h2o_strdup(pool, s.data(), s.size());
}

// host:port → a bound, listening socket (SO_REUSEPORT, so every loop can
// bind the same port); -1 with `error` set.
int Listen(const std::string& address, int port, std::string* error) {
  const size_t colon = address.rfind(':');
  int wanted = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &wanted) ||
      wanted < 0 || wanted > 65535) {
    *error = absl::StrCat("--http_address must be host:port, got '", address, "'");
    return -1;
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port > 0 ? port : wanted);
  if (const int rc =
          getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
      rc != 0) {
    *error = absl::StrCat("cannot resolve ", address, ": ", gai_strerror(rc));
    return -1;
  }
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      bind(fd, found->ai_addr, found->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
    *error = absl::StrCat("cannot listen on ", address, ": ", std::strerror(errno));
    if (fd >= 0) close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  return fd;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 429:
      return "Too Many Requests";
    case 499:
      return "Client Closed Request";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return status < 500 ? "Client Error" : "Server Error";
  }
}

int BoundPort(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
}

}  // namespace

// h2o's global configuration: one host, one handler for every path.
struct HttpServer::Config {
  h2o_globalconf_t global{};
  ~Config() { h2o_config_dispose(&global); }
};

struct HttpServer::Loop {
  HttpServer* server = nullptr;
  h2o_context_t ctx{};
  h2o_accept_ctx_t accept{};
  h2o_socket_t* listener = nullptr;
};

namespace {

struct Handler {
  h2o_handler_t super;
  HttpServer* server;
  const HttpHandler* handle;
};

int OnRequest(h2o_handler_t* self, h2o_req_t* req) {
  const Handler* h = reinterpret_cast<Handler*>(self);
  HttpRequest in;
  in.method = View(req->input.method);
  const absl::string_view target = View(req->input.path);
  if (req->input.query_at != SIZE_MAX && req->input.query_at < target.size()) {
    in.path = target.substr(0, req->input.query_at);
    in.query = target.substr(req->input.query_at + 1);
  } else {
    in.path = target;
  }
  in.body = req->entity.base == nullptr ? absl::string_view() : View(req->entity);
  in.authorization = Header(req, "authorization");
  in.origin = Header(req, "origin");
  in.content_type = Header(req, "content-type");
  in.access_control_request_headers = Header(req, "access-control-request-headers");
  in.http_version = req->version;

  HttpResponse out;
  (*h->handle)(in, out);

  static h2o_generator_t generator = {nullptr, nullptr};
  req->res.status = out.status;
  req->res.reason = Reason(out.status);
  if (!out.content_type.empty()) {
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, nullptr,
                   h2o_strdup(&req->pool, out.content_type.data(), out.content_type.size()).base,
                   out.content_type.size());
  }
  for (const auto& [name, value] : out.headers) {
    const h2o_iovec_t n = Copy(&req->pool, name);
    const h2o_iovec_t v = Copy(&req->pool, value);
    h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, nullptr, v.base, v.len);
  }
  h2o_iovec_t body = Copy(&req->pool, out.body);
  req->res.content_length = body.len;
  h2o_start_response(req, &generator);
  h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
  return 0;
}

void OnAccept(h2o_socket_t* listener, const char* err) {
  if (err != nullptr) return;
  auto* loop = static_cast<HttpServer::Loop*>(listener->data);
  if (h2o_socket_t* sock = h2o_evloop_socket_accept(listener); sock != nullptr) {
    h2o_accept(&loop->accept, sock);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              HttpHandler handler) {
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->handler_ = std::move(handler);
  server->max_body_bytes_ = options.max_body_bytes;
  server->config_ = std::make_unique<Config>();
  h2o_globalconf_t* global = &server->config_->global;
  h2o_config_init(global);
  global->max_request_entity_size = options.max_body_bytes;
  global->server_name = h2o_iovec_init(H2O_STRLIT("nextbest"));
  h2o_hostconf_t* host =
      h2o_config_register_host(global, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t* path = h2o_config_register_path(host, "/", 0);
  auto* h = reinterpret_cast<Handler*>(h2o_create_handler(path, sizeof(Handler)));
  h->super.on_req = OnRequest;
  h->server = server.get();
  h->handle = &server->handler_;

  const int threads = std::max(1, options.threads);
  for (int i = 0; i < threads; ++i) {
    std::string error;
    const int fd = Listen(options.address, server->port_, &error);
    if (fd < 0) {
      server->Stop(0);
      return absl::UnavailableError(error);
    }
    if (server->port_ == 0) server->port_ = BoundPort(fd);
    auto loop = std::make_unique<Loop>();
    loop->server = server.get();
    h2o_context_init(&loop->ctx, h2o_evloop_create(), global);
    loop->accept.ctx = &loop->ctx;
    loop->accept.hosts = global->hosts;
    loop->listener = h2o_evloop_socket_create(loop->ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    loop->listener->data = loop.get();
    h2o_socket_read_start(loop->listener, OnAccept);
    server->loops_.push_back(std::move(loop));
  }
  for (auto& loop : server->loops_) {
    server->threads_.emplace_back([s = server.get(), l = loop.get()] {
      while (!s->stopping_.load(std::memory_order_acquire)) h2o_evloop_run(l->ctx.loop, 100);
      // Stop accepting, ask connections to close, give them the drain time.
      h2o_socket_read_stop(l->listener);
      h2o_socket_close(l->listener);
      l->listener = nullptr;
      h2o_context_request_shutdown(&l->ctx);
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(s->drain_ms_);
      while ((!h2o_linklist_is_empty(&l->ctx.http1._conns) ||
              !h2o_linklist_is_empty(&l->ctx.http2._conns)) &&
             std::chrono::steady_clock::now() < deadline) {
        h2o_evloop_run(l->ctx.loop, 10);
      }
      // HTTP/2's graceful-shutdown timer stays armed without connections;
      // the context cannot be disposed with a timer linked.
      if (h2o_timeout_is_linked(&l->ctx.http2._graceful_shutdown_timeout)) {
        h2o_timeout_unlink(&l->ctx.http2._graceful_shutdown_timeout);
      }
      h2o_evloop_run(l->ctx.loop, 0);  // the listener's deferred close
    });
  }
  return server;
}

void HttpServer::Stop(int drain_ms) {
  if (stopping_.exchange(true)) return;
  drain_ms_ = drain_ms;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  for (auto& loop : loops_) {
    // Connections that outlived the drain time are left to the process's
    // exit: disposing their context under them is not safe.
    if (h2o_linklist_is_empty(&loop->ctx.http1._conns) &&
        h2o_linklist_is_empty(&loop->ctx.http2._conns)) {
      h2o_loop_t* l = loop->ctx.loop;
      h2o_context_dispose(&loop->ctx);
      h2o_evloop_destroy(l);
    } else {
      loop.release();  // NOLINT: deliberately leaked, see above
    }
  }
  loops_.clear();
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace nextbest::server
