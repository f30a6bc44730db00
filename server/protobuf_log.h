#pragma once
// Protobuf's own log lines, rate-limited. gRPC parses every request with
// protobuf, which logs one ERROR line per string field with invalid UTF-8
// (the request is then refused before a handler runs): a client sending
// such requests in a loop could fill the disk with log lines. At most one
// line per second goes to stderr, with the number of lines left out since
// the last one; invalid-UTF-8 refusals are counted for the metrics.
//
// Thread-safety: the handler runs on any thread.

#include <cstdint>

namespace nextbest::server {

// Installs the handler (once, at start-up).
void InstallRateLimitedProtobufLog();

// Requests refused by the parser for invalid UTF-8 since start.
int64_t InvalidUtf8Requests();

}  // namespace nextbest::server
