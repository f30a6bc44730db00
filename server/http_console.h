#pragma once
// The marketer console: static files compiled into the server (no build
// step, no Node toolchain), served under /console/ on the HTTP port. The
// page calls the JSON API of the same origin with the caller's token.

#include "server/http_server.h"

namespace nextbest::server {

// True (and the response filled) when the request is for the console.
bool ServeConsole(const HttpRequest& request, HttpResponse& response);

}  // namespace nextbest::server
