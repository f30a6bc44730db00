#pragma once
// Caller identities and scopes: who may call which RPC.
//
// Every RPC needs one scope (RpcScope below). A call is allowed when its
// scope is among the anonymous scopes (config `auth.anonymous_scopes`;
// default decide and track, the webshop path), or when it presents a
// credential of a configured caller that holds the scope:
//   - a bearer token, metadata `authorization: Bearer TOKEN`; the config
//     holds only its SHA-256 (`callers { token_sha256: ... }`);
//   - a client certificate (mutual TLS) whose common name or a subject
//     alternative name is the caller's `tls_identity`.
// The admin token (--admin_token_file, DATA_DIR/admin_token) is the
// built-in caller "admin" with every scope.
// Personal data (GetProfile, DecideForAll, export) is denied by default:
// UNAUTHENTICATED without a credential (or with an unknown one),
// PERMISSION_DENIED for a known caller without the scope.
//
// The check on an anonymously allowed RPC is one bit test; a token costs a
// SHA-256 of the token and one hash lookup (bench/auth_bench.cc).
//
// Thread-safety: an Authorizer is immutable; it is published by pointer
// swap on config reload.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "grpcpp/server_context.h"
#include "nextbest/config/v1/config.pb.h"

namespace nextbest::server {

enum class Scope : uint8_t {
  kDecide = 0,   // Recommend, Ping
  kTrack,        // events, customers, catalog and stock writes
  kReadProfile,  // GetProfile (the call centre)
  kBatch,        // DecideForAll (the newsletter run)
  kAdmin,        // reload, models, segments, checkpoint
  kPrivacy,      // consent, erasure, export, erasure list
  kReport,       // experiment reports
  kCount
};
using ScopeSet = uint32_t;
constexpr ScopeSet ScopeBit(Scope s) { return ScopeSet{1} << static_cast<int>(s); }
constexpr ScopeSet kAllScopes = (ScopeSet{1} << static_cast<int>(Scope::kCount)) - 1;
// "decide", "track", "read_profile", "batch", "admin", "privacy", "report".
const char* ScopeName(Scope s);

struct CallerSpec {
  std::string name;
  std::string token_sha256;  // 32 raw bytes; empty: no token
  std::string tls_identity;  // certificate CN or SAN; empty: none
  ScopeSet scopes = 0;
};

struct AuthConfig {
  ScopeSet anonymous = ScopeBit(Scope::kDecide) | ScopeBit(Scope::kTrack);
  std::vector<CallerSpec> callers;
};

namespace config_proto = ::nextbest::config::v1;
// The config's `auth` section, validated: INVALID_ARGUMENT naming the field.
absl::StatusOr<AuthConfig> ParseAuthConfig(const config_proto::AuthConfig& c);

// SHA-256 of `data` (32 raw bytes).
std::string Sha256(absl::string_view data);

class Authorizer {
 public:
  // The config's callers plus "admin" (every scope) for `admin_token` if
  // not empty. INVALID_ARGUMENT if two callers share a token or identity.
  static absl::StatusOr<std::unique_ptr<const Authorizer>> Build(const AuthConfig& config,
                                                                 const std::string& admin_token);

  // `authorization`: the metadata value, or null if none was sent;
  // `tls_identities`: the peer certificate's CN and SANs (empty without
  // mutual TLS). `rpc` names the call in errors.
  absl::Status Authorize(Scope needed, const absl::string_view* authorization,
                         absl::Span<const std::string> tls_identities, absl::string_view rpc) const;
  // Reads both from a call.
  absl::Status Check(const grpc::ServerContextBase& ctx, Scope needed, absl::string_view rpc) const;

  bool anonymous_allows(Scope s) const { return (anonymous_ & ScopeBit(s)) != 0; }

 private:
  Authorizer() = default;
  absl::Status Allow(size_t caller, Scope needed, absl::string_view rpc) const;

  ScopeSet anonymous_ = 0;
  std::vector<CallerSpec> callers_;
  absl::flat_hash_map<std::string, size_t> by_token_;  // SHA-256 -> caller
  absl::flat_hash_map<std::string, size_t> by_identity_;
};

}  // namespace nextbest::server
