#include "server/protobuf_log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

#include "google/protobuf/stubs/logging.h"
#include "server/log.h"

namespace nextbest::server {
namespace {

std::atomic<int64_t> invalid_utf8{0};
std::atomic<int64_t> next_line_ns{0};
std::atomic<int64_t> left_out{0};

const char* LevelName(google::protobuf::LogLevel level) {
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      return "INFO";
    case google::protobuf::LOGLEVEL_WARNING:
      return "WARNING";
    case google::protobuf::LOGLEVEL_ERROR:
      return "ERROR";
    case google::protobuf::LOGLEVEL_FATAL:
      return "FATAL";
  }
  return "?";
}

void Handler(google::protobuf::LogLevel level, const char* file, int line,
             const std::string& message) {
  if (message.find("invalid UTF-8") != std::string::npos)
    invalid_utf8.fetch_add(1, std::memory_order_relaxed);
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t next = next_line_ns.load(std::memory_order_relaxed);
  // One line per second; the thread that wins the exchange writes it.
  if (level != google::protobuf::LOGLEVEL_FATAL &&
      (now < next || !next_line_ns.compare_exchange_strong(next, now + 1'000'000'000))) {
    left_out.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const int64_t skipped = left_out.exchange(0, std::memory_order_relaxed);
  // The message names the field, never its value (no customer id).
  Log("protobuf %s %s:%d: %s%s", LevelName(level), file, line, message,
      skipped > 0
          ? " (" + std::to_string(skipped) + " more protobuf lines left out in the last second)"
          : "");
}

}  // namespace

void InstallRateLimitedProtobufLog() { google::protobuf::SetLogHandler(&Handler); }

int64_t InvalidUtf8Requests() { return invalid_utf8.load(std::memory_order_relaxed); }

}  // namespace nextbest::server
