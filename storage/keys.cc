#include "storage/keys.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/str_cat.h"

namespace nextbest::storage::keys {
namespace {
constexpr char kSep = '\0';

// Order-preserving for signed times: flip the sign bit, big-endian.
void AppendTime(std::string& out, int64_t t) {
  const uint64_t u = static_cast<uint64_t>(t) ^ (uint64_t{1} << 63);
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((u >> shift) & 0xff));
}

int64_t ReadTime(absl::string_view s) {
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<uint8_t>(s[i]);
  return static_cast<int64_t>(u ^ (uint64_t{1} << 63));
}
}  // namespace

std::string Customer(absl::string_view customer_id) { return std::string(customer_id); }

std::string Event(absl::string_view customer_id, int64_t time_ms, absl::string_view event_id) {
  std::string k;
  k.reserve(customer_id.size() + 9 + event_id.size());
  k.append(customer_id.data(), customer_id.size());
  k.push_back(kSep);
  AppendTime(k, time_ms);
  k.append(event_id.data(), event_id.size());
  return k;
}

std::string Idempotency(absl::string_view customer_id, absl::string_view event_id) {
  return absl::StrCat(customer_id, absl::string_view(&kSep, 1), event_id);
}

std::string Decision(absl::string_view customer_id, uint64_t id_hi, uint64_t id_lo) {
  std::string k = DecisionPrefix(customer_id);
  for (uint64_t part : {id_hi, id_lo}) {
    for (int shift = 56; shift >= 0; shift -= 8)
      k.push_back(static_cast<char>((part >> shift) & 0xff));
  }
  return k;
}

std::string DecisionPrefix(absl::string_view customer_id) {
  return absl::StrCat(customer_id, absl::string_view(&kSep, 1), "d");
}

std::string Exposure(absl::string_view customer_id, absl::string_view experiment_id) {
  return absl::StrCat(ExposurePrefix(customer_id), experiment_id);
}

std::string ExposurePrefix(absl::string_view customer_id) {
  return absl::StrCat(customer_id, absl::string_view(&kSep, 1), "x");
}

std::optional<ExperimentsKey> ParseExperimentsKey(absl::string_view key) {
  const size_t sep = key.find(kSep);
  if (sep == absl::string_view::npos || sep == 0 || sep + 1 >= key.size()) return std::nullopt;
  ExperimentsKey k{std::string(key.substr(0, sep)), key[sep + 1], key.substr(sep + 2)};
  if (k.kind == 'd' && k.rest.size() != 16) return std::nullopt;
  if (k.kind != 'd' && k.kind != 'x') return std::nullopt;
  return k;
}

std::string OfferPosterior(absl::string_view offer_id) {
  return absl::StrCat(kOfferPosteriorPrefix, absl::string_view(&kSep, 1), offer_id);
}

std::string StoreProduct(absl::string_view store_id, absl::string_view product_id) {
  return absl::StrCat(store_id, absl::string_view(&kSep, 1), product_id);
}

std::optional<std::pair<std::string, std::string>> ParseStoreProduct(absl::string_view key) {
  const size_t sep = key.find(kSep);
  if (sep == absl::string_view::npos || sep == 0 || sep + 1 == key.size()) return std::nullopt;
  return std::pair<std::string, std::string>(key.substr(0, sep), key.substr(sep + 1));
}

std::string Suppression(absl::string_view secret, absl::string_view customer_id) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(customer_id.data()), customer_id.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

Range CustomerRange(absl::string_view customer_id) {
  Range r{std::string(customer_id), std::string(customer_id)};
  r.begin.push_back('\0');
  r.end.push_back('\1');
  return r;
}

std::optional<int64_t> EventTime(absl::string_view key) {
  const size_t sep = key.find(kSep);
  if (sep == absl::string_view::npos || key.size() < sep + 1 + 8) return std::nullopt;
  return ReadTime(key.substr(sep + 1, 8));
}

std::optional<EventKey> ParseEvent(absl::string_view key) {
  const size_t sep = key.find(kSep);
  if (sep == absl::string_view::npos || key.size() < sep + 1 + 8) return std::nullopt;
  return EventKey{std::string(key.substr(0, sep)), ReadTime(key.substr(sep + 1, 8)),
                  std::string(key.substr(sep + 9))};
}

}  // namespace nextbest::storage::keys
