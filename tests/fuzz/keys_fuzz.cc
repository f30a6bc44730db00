// Fuzz target: the key encoding (storage/keys.h).
//
// Input, first: an arbitrary key as read back from the events column family.
// Decoding must never read out of bounds, and whatever decodes re-encodes to
// the same bytes. Then the input is split into two customers' ids, times and
// event ids: encoding round-trips, event keys of one customer sort by time,
// and a customer's erasure range holds all of its event and idempotency keys
// and none of the other customer's (erasure must never touch a neighbour).

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/string_view.h"
#include "storage/keys.h"
#include "tests/fuzz/fuzz_check.h"

namespace keys = nextbest::storage::keys;

namespace {

// Ids as the API admits them: no control characters (0x00-0x1f, 0x7f).
bool ApiId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool InRange(const std::string& key, const keys::Range& r) { return key >= r.begin && key < r.end; }

// Consumes up to `n` bytes of `in` as a field ending at the first 0xff.
std::string Take(absl::string_view& in, size_t n) {
  size_t end = in.find('\xff');
  if (end == absl::string_view::npos || end > n) end = std::min(n, in.size());
  std::string out(in.substr(0, end));
  in.remove_prefix(std::min(in.size(), end + 1));
  return out;
}

int64_t TakeTime(absl::string_view& in) {
  uint64_t u = 0;
  const size_t n = std::min<size_t>(8, in.size());
  for (size_t i = 0; i < n; ++i) u = (u << 8) | static_cast<uint8_t>(in[i]);
  in.remove_prefix(n);
  int64_t t;
  std::memcpy(&t, &u, sizeof t);
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view raw(reinterpret_cast<const char*>(data), size);

  // 1. Arbitrary stored bytes.
  const auto parsed = keys::ParseEvent(raw);
  const auto time = keys::EventTime(raw);
  FUZZ_CHECK(parsed.has_value() == time.has_value());
  if (parsed) {
    FUZZ_CHECK(parsed->time_ms == *time);
    FUZZ_CHECK(keys::Event(parsed->customer_id, parsed->time_ms, parsed->event_id) == raw);
  }

  // 2. Two customers' keys built from the input.
  absl::string_view in = raw;
  const std::string a = Take(in, 40), b = Take(in, 40);
  const int64_t ta = TakeTime(in), tb = TakeTime(in);
  const std::string ea = Take(in, 40), eb = Take(in, 40);
  if (!ApiId(a) || !ApiId(b)) return 0;

  const std::string ka = keys::Event(a, ta, ea);
  const auto back = keys::ParseEvent(ka);
  FUZZ_CHECK(back && back->customer_id == a && back->time_ms == ta && back->event_id == ea);

  // Same customer: time order is key order (events read back oldest first).
  const std::string ka2 = keys::Event(a, tb, eb);
  if (ta < tb) FUZZ_CHECK(ka < ka2);
  if (ta > tb) FUZZ_CHECK(ka > ka2);

  const keys::Range ra = keys::CustomerRange(a);
  FUZZ_CHECK(InRange(ka, ra) && InRange(ka2, ra));
  FUZZ_CHECK(InRange(keys::Idempotency(a, ea), ra));
  if (a != b) {
    const keys::Range rb = keys::CustomerRange(b);
    FUZZ_CHECK(!InRange(keys::Event(b, tb, eb), ra));
    FUZZ_CHECK(!InRange(keys::Idempotency(b, eb), ra));
    FUZZ_CHECK(!InRange(ka, rb));
    // The keyed hash tells customers apart.
    const std::string secret(32, 's');
    FUZZ_CHECK(keys::Suppression(secret, a) != keys::Suppression(secret, b));
  }
  const std::string sa = keys::Suppression(std::string(32, 's'), a);
  FUZZ_CHECK(sa.size() == 32);
  FUZZ_CHECK(sa == keys::Suppression(std::string(32, 's'), a));
  return 0;
}
