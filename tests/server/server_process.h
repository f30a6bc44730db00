#pragma once
// Starts the real nextbest-server binary on loopback port 0 with a data
// directory of the test's, reads the chosen ports from its log, and stops it
// with SIGTERM (or SIGKILL). Never a fixed port, never a shared directory.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "grpcpp/support/client_interceptor.h"
#include "tests/temp_dir.h"

namespace nextbest::testing {

// The last line every config file needs (server/config.h kConfigEndMarker).
inline constexpr char kConfigEnd[] = "\n# end of nextbest config\n";

// The admin token of every test server (written to a file next to its data
// directory and passed with --admin_token_file, unless the test passes its
// own --admin_token_file or asks for none). The CLI finds it through
// NEXTBEST_ADMIN_TOKEN, which Start() sets for the children.
inline constexpr char kTestAdminToken[] = "test-admin-token-5f0c2a9e71d4";

// Adds the test admin token to a call.
inline void AddAdminToken(grpc::ClientContext& ctx) {
  ctx.AddMetadata("authorization", std::string("Bearer ") + kTestAdminToken);
}

// Sends `authorization: Bearer TOKEN` on every call of a channel (gRPC
// refuses call credentials on plaintext channels; an interceptor does not).
class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(std::string token) : token_(std::move(token)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      auto* metadata = methods->GetSendInitialMetadata();
      if (metadata->find("authorization") == metadata->end()) {
        metadata->insert({"authorization", "Bearer " + token_});
      }
    }
    methods->Proceed();
  }

 private:
  std::string token_;
};
class BearerInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerInterceptorFactory(std::string token) : token_(std::move(token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(token_);
  }

 private:
  std::string token_;
};

// A plaintext channel to `target` whose calls carry `token` (none if empty).
inline std::shared_ptr<grpc::Channel> ChannelWithToken(const std::string& target,
                                                       const std::string& token,
                                                       const grpc::ChannelArguments& args = {}) {
  if (token.empty())
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<BearerInterceptorFactory>(token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      target, grpc::InsecureChannelCredentials(), args, std::move(interceptors));
}

class ServerProcess {
 public:
  // Returns false (and the log) if the server did not report serving.
  // `test_token` false: no --admin_token_file (the server's default).
  bool Start(const std::string& data_dir, const std::vector<std::string>& extra_flags = {},
             bool test_token = true) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return false;
    std::vector<std::string> args = {NEXTBEST_SERVER_BIN, "--grpc_address=127.0.0.1:0",
                                     "--metrics_address=127.0.0.1:0", "--http_address=127.0.0.1:0",
                                     "--data_dir=" + data_dir};
    if (test_token) {
      std::filesystem::create_directories(data_dir);
      const std::string token_file = data_dir + "/test_admin_token";
      FILE* f = std::fopen(token_file.c_str(), "w");
      if (f == nullptr) return false;
      std::fputs(kTestAdminToken, f);
      std::fclose(f);
      args.push_back("--admin_token_file=" + token_file);
      setenv("NEXTBEST_ADMIN_TOKEN", kTestAdminToken, 1);
    }
    args.insert(args.end(), extra_flags.begin(), extra_flags.end());
    pid_ = fork();
    if (pid_ == 0) {
      dup2(pipe_fds[1], STDERR_FILENO);
      close(pipe_fds[0]);
      close(pipe_fds[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(pipe_fds[1]);
    reader_ = std::thread([this, fd = pipe_fds[0]] { ReadLog(fd); });
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(60), [&] { return grpc_port_ != 0 || eof_; });
    return grpc_port_ != 0;
  }

  // SIGTERM (graceful) or SIGKILL; returns the exit status (or -signal).
  int Stop(int signal = SIGTERM) {
    if (pid_ <= 0) return 0;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
    if (reader_.joinable()) reader_.join();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  // Waits for an exit the server does on its own (e.g. failed start).
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
    if (reader_.joinable()) reader_.join();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  ~ServerProcess() { Stop(SIGKILL); }

  void Signal(int sig) { kill(pid_, sig); }
  int grpc_port() const { return grpc_port_; }
  pid_t pid() const { return pid_; }
  int metrics_port() const { return metrics_port_; }
  int http_port() const { return http_port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  // Calls carry the test admin token (every scope).
  std::shared_ptr<grpc::Channel> Channel() const {
    return ChannelWithToken(target(), kTestAdminToken);
  }
  // Calls carry no credential.
  std::shared_ptr<grpc::Channel> AnonymousChannel() const { return ChannelWithToken(target(), ""); }
  std::string log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }

 private:
  void ReadLog(int fd) {
    FILE* f = fdopen(fd, "r");
    char buf[4096];
    static const std::regex serving("serving gRPC on port ([0-9]+), metrics on port ([0-9]+)");
    while (fgets(buf, sizeof(buf), f) != nullptr) {
      std::lock_guard<std::mutex> lock(mu_);
      log_ += buf;
      std::cmatch m;
      if (std::regex_search(buf, m, serving)) {
        grpc_port_ = std::stoi(m[1]);
        metrics_port_ = std::stoi(m[2]);
        std::cmatch h;
        static const std::regex http("HTTP on port ([0-9]+)");
        if (std::regex_search(buf, h, http)) http_port_ = std::stoi(h[1]);
        cv_.notify_all();
      }
    }
    fclose(f);
    std::lock_guard<std::mutex> lock(mu_);
    eof_ = true;
    cv_.notify_all();
  }

  pid_t pid_ = 0;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string log_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  int http_port_ = 0;
  bool eof_ = false;
};

// A plain HTTP/1.0 GET on loopback (the metrics endpoint); the whole
// response, headers included; empty if nothing listens.
inline std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  (void)!write(fd, req.data(), req.size());
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  close(fd);
  return out;
}

#ifdef NEXTBEST_CLI_BIN
// Runs the real `nextbest` CLI against `target`; returns its exit code and
// its output (stdout and stderr) in `out`.
inline int RunCli(const std::string& target, const std::string& args, std::string* out) {
  const std::string cmd =
      std::string(NEXTBEST_CLI_BIN) + " --target=" + target + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  out->clear();
  while (fgets(buf, sizeof(buf), p) != nullptr) *out += buf;
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
#endif

}  // namespace nextbest::testing
