#include "server/auth.h"

#include <openssl/evp.h>

#include <memory>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace nextbest::server {

const char* ScopeName(Scope s) {
  switch (s) {
    case Scope::kDecide:
      return "decide";
    case Scope::kTrack:
      return "track";
    case Scope::kReadProfile:
      return "read_profile";
    case Scope::kBatch:
      return "batch";
    case Scope::kAdmin:
      return "admin";
    case Scope::kPrivacy:
      return "privacy";
    case Scope::kReport:
      return "report";
    case Scope::kCount:
      break;
  }
  return "?";
}

absl::StatusOr<AuthConfig> ParseAuthConfig(const config_proto::AuthConfig& c) {
  auto invalid = [](const std::string& field, absl::string_view rule) {
    return absl::InvalidArgumentError(absl::StrCat("config: auth.", field, ": ", rule));
  };
  auto scope_of = [](int value) -> std::optional<Scope> {
    if (value < config_proto::AuthConfig::DECIDE || value > config_proto::AuthConfig::REPORT) {
      return std::nullopt;
    }
    return static_cast<Scope>(value - 1);
  };
  static_assert(config_proto::AuthConfig::DECIDE - 1 == static_cast<int>(Scope::kDecide));
  static_assert(config_proto::AuthConfig::PRIVACY - 1 == static_cast<int>(Scope::kPrivacy));
  static_assert(config_proto::AuthConfig::REPORT - 1 == static_cast<int>(Scope::kReport));
  AuthConfig out;
  if (c.require_credentials() || c.anonymous_scopes_size() > 0) out.anonymous = 0;
  if (c.require_credentials() && c.anonymous_scopes_size() > 0) {
    return invalid("anonymous_scopes", "not with require_credentials");
  }
  for (int i = 0; i < c.anonymous_scopes_size(); ++i) {
    const std::string field = absl::StrCat("anonymous_scopes[", i, "]");
    std::optional<Scope> s = scope_of(c.anonymous_scopes(i));
    if (!s) return invalid(field, "DECIDE, TRACK, READ_PROFILE, BATCH or REPORT");
    if (*s == Scope::kAdmin || *s == Scope::kPrivacy) {
      return invalid(field, "ADMIN and PRIVACY always need a credential");
    }
    out.anonymous |= ScopeBit(*s);
  }
  for (int i = 0; i < c.callers_size(); ++i) {
    const config_proto::AuthConfig::Caller& cc = c.callers(i);
    const std::string field = absl::StrCat("callers[", i, "]");
    CallerSpec spec;
    spec.name = cc.name();
    if (spec.name.empty() || spec.name.size() > 64)
      return invalid(field + ".name", "must be 1..64 bytes");
    for (const CallerSpec& earlier : out.callers) {
      if (earlier.name == spec.name)
        return invalid(field + ".name", absl::StrCat("duplicate '", spec.name, "'"));
    }
    if (spec.name == "admin")
      return invalid(field + ".name", "'admin' is the admin token's caller");
    if (!cc.token_sha256().empty()) {
      std::string hex = absl::AsciiStrToLower(cc.token_sha256());
      if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return invalid(field + ".token_sha256", "must be 64 hex digits (nextbest hash-token)");
      }
      spec.token_sha256 = absl::HexStringToBytes(hex);
    }
    spec.tls_identity = cc.tls_identity();
    if (spec.token_sha256.empty() && spec.tls_identity.empty()) {
      return invalid(field, "needs token_sha256 or tls_identity");
    }
    for (int j = 0; j < cc.scopes_size(); ++j) {
      std::optional<Scope> s = scope_of(cc.scopes(j));
      if (!s) return invalid(absl::StrCat(field, ".scopes[", j, "]"), "unknown scope");
      spec.scopes |= ScopeBit(*s);
    }
    if (spec.scopes == 0) return invalid(field + ".scopes", "at least one scope");
    out.callers.push_back(std::move(spec));
  }
  return out;
}

std::string Sha256(absl::string_view data) {
  // Fetched once: OpenSSL 3 looks the implementation up on every call
  // through EVP_sha256() (most of a microsecond), an explicit fetch not.
  // And one context per thread, reset per digest (no allocation per call).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(),
                                                                            EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestInit_ex(ctx.get(), sha256, nullptr);
  EVP_DigestUpdate(ctx.get(), data.data(), data.size());
  EVP_DigestFinal_ex(ctx.get(), digest, &size);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

absl::StatusOr<std::unique_ptr<const Authorizer>> Authorizer::Build(
    const AuthConfig& config, const std::string& admin_token) {
  std::unique_ptr<Authorizer> a(new Authorizer());
  a->anonymous_ = config.anonymous;
  a->callers_ = config.callers;
  if (!admin_token.empty()) a->callers_.push_back({"admin", Sha256(admin_token), "", kAllScopes});
  for (size_t i = 0; i < a->callers_.size(); ++i) {
    const CallerSpec& c = a->callers_[i];
    if (!c.token_sha256.empty() && !a->by_token_.emplace(c.token_sha256, i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("auth: caller '", c.name, "' has the token of caller '",
                       a->callers_[a->by_token_[c.token_sha256]].name, "'"));
    }
    if (!c.tls_identity.empty() && !a->by_identity_.emplace(c.tls_identity, i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("auth: caller '", c.name, "' has the tls_identity of caller '",
                       a->callers_[a->by_identity_[c.tls_identity]].name, "'"));
    }
  }
  return std::unique_ptr<const Authorizer>(std::move(a));
}

absl::Status Authorizer::Allow(size_t caller, Scope needed, absl::string_view rpc) const {
  const CallerSpec& c = callers_[caller];
  if ((c.scopes & ScopeBit(needed)) != 0) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat(rpc, ": caller '", c.name, "' lacks the scope ", ScopeName(needed)));
}

absl::Status Authorizer::Authorize(Scope needed, const absl::string_view* authorization,
                                   absl::Span<const std::string> tls_identities,
                                   absl::string_view rpc) const {
  if ((anonymous_ & ScopeBit(needed)) != 0) return absl::OkStatus();
  if (authorization != nullptr) {
    absl::string_view token = *authorization;
    if (!absl::ConsumePrefix(&token, "Bearer ") || token.empty()) {
      return absl::UnauthenticatedError(
          absl::StrCat(rpc, ": the authorization metadata must be 'Bearer TOKEN'"));
    }
    // Looked up by the token's hash: the time taken says nothing about how
    // much of a token matched.
    auto it = by_token_.find(Sha256(token));
    if (it == by_token_.end())
      return absl::UnauthenticatedError(absl::StrCat(rpc, ": unknown token"));
    return Allow(it->second, needed, rpc);
  }
  for (const std::string& identity : tls_identities) {
    if (auto it = by_identity_.find(identity); it != by_identity_.end())
      return Allow(it->second, needed, rpc);
  }
  return absl::UnauthenticatedError(absl::StrCat(
      rpc, ": needs a caller with the scope ", ScopeName(needed),
      " (send 'authorization: Bearer TOKEN', or a client certificate of a configured caller)"));
}

absl::Status Authorizer::Check(const grpc::ServerContextBase& ctx, Scope needed,
                               absl::string_view rpc) const {
  if ((anonymous_ & ScopeBit(needed)) != 0) return absl::OkStatus();  // no metadata read
  const auto& metadata = ctx.client_metadata();
  auto it = metadata.find("authorization");
  absl::string_view header;
  if (it != metadata.end()) header = absl::string_view(it->second.data(), it->second.size());
  std::vector<std::string> identities;
  if (it == metadata.end() && !by_identity_.empty()) {
    if (std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context(); auth != nullptr) {
      for (const char* property : {"x509_common_name", "x509_subject_alternative_name"}) {
        for (const grpc::string_ref& v : auth->FindPropertyValues(property)) {
          identities.emplace_back(v.data(), v.size());
        }
      }
    }
  }
  return Authorize(needed, it != metadata.end() ? &header : nullptr, identities, rpc);
}

}  // namespace nextbest::server
