#include "core/caps.h"

#include <algorithm>
#include <cstring>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace nextbest::core {
// Two 64-bit hashes per ledger key make collisions negligible.
uint64_t StableHash(absl::string_view s, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h ^ (h >> 29);
}

namespace {

void PutU64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
bool GetU64(absl::string_view& in, uint64_t& v) {
  if (in.size() < 8) return false;
  std::memcpy(&v, in.data(), 8);
  in.remove_prefix(8);
  return true;
}

}  // namespace

OfferLedger::Key OfferLedger::MakeKey(absl::string_view customer_id, absl::string_view offer_id) {
  return {StableHash(customer_id, 1), StableHash(offer_id, 2)};
}

std::shared_ptr<OfferCounters> OfferLedger::Counters(absl::string_view offer_id) {
  std::lock_guard<std::mutex> lock(counters_mu_);
  auto& c = counters_[std::string(offer_id)];
  if (c == nullptr) c = std::make_shared<OfferCounters>();
  return c;
}

void OfferLedger::Attach(DecisionConfig& config) {
  for (OfferSpec& o : config.offers) o.counters = Counters(o.id);
}

OfferLedger::Reservation OfferLedger::TryReserve(const OfferSpec& offer,
                                                 absl::string_view customer_id, TimeMs now) {
  // A cluster node whose share of the total cap is nothing (core::CapShare).
  if (offer.total_cap < 0) return Reservation::kTotalCap;
  const bool per_customer = offer.per_customer_cap > 0 && !customer_id.empty();
  const Key key = per_customer ? MakeKey(customer_id, offer.id) : Key{0, 0};
  if (per_customer) {
    Shard& shard = ShardFor(key);
    std::lock_guard<std::mutex> lock(shard.mu);
    Times& times = shard.shown[key];
    const TimeMs since = now - offer.cap_period_ms;
    times.erase(std::remove_if(times.begin(), times.end(), [&](TimeMs t) { return t <= since; }),
                times.end());
    if (static_cast<int>(times.size()) >= offer.per_customer_cap) return Reservation::kCustomerCap;
    times.push_back(now);
  }
  if (offer.total_cap > 0 && offer.counters != nullptr) {
    int64_t served = offer.counters->served.load(std::memory_order_relaxed);
    do {
      if (served >= offer.total_cap) {
        if (per_customer) {  // give the customer's slot back
          Shard& shard = ShardFor(key);
          std::lock_guard<std::mutex> lock(shard.mu);
          Times& times = shard.shown[key];
          auto it = std::find(times.begin(), times.end(), now);
          if (it != times.end()) times.erase(it);
        }
        return Reservation::kTotalCap;
      }
    } while (!offer.counters->served.compare_exchange_weak(served, served + 1,
                                                           std::memory_order_acq_rel));
  } else if (offer.counters != nullptr) {
    offer.counters->served.fetch_add(1, std::memory_order_relaxed);
  }
  return Reservation::kOk;
}

OfferLedger::Reservation OfferLedger::Check(const OfferSpec& offer, absl::string_view customer_id,
                                            TimeMs now) {
  if (offer.total_cap < 0) return Reservation::kTotalCap;
  if (offer.per_customer_cap > 0 && !customer_id.empty() &&
      ShownTo(offer, customer_id, now) >= offer.per_customer_cap) {
    return Reservation::kCustomerCap;
  }
  if (offer.total_cap > 0 && offer.counters != nullptr &&
      offer.counters->served.load(std::memory_order_relaxed) >= offer.total_cap) {
    return Reservation::kTotalCap;
  }
  return Reservation::kOk;
}

int OfferLedger::ShownTo(const OfferSpec& offer, absl::string_view customer_id, TimeMs now) {
  const Key key = MakeKey(customer_id, offer.id);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.shown.find(key);
  if (it == shard.shown.end()) return 0;
  const TimeMs since = now - offer.cap_period_ms;
  return static_cast<int>(
      std::count_if(it->second.begin(), it->second.end(), [&](TimeMs t) { return t > since; }));
}

int OfferLedger::Forget(absl::string_view customer_id) {
  const uint64_t customer = MakeKey(customer_id, "").customer;
  Shard& shard = ShardFor(Key{customer, 0});
  std::lock_guard<std::mutex> lock(shard.mu);
  return static_cast<int>(
      absl::erase_if(shard.shown, [&](const auto& kv) { return kv.first.customer == customer; }));
}

void OfferLedger::Prune(TimeMs now, int64_t max_period_ms) {
  const TimeMs since = now - max_period_ms;
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    absl::erase_if(shard.shown, [&](auto& kv) {
      Times& t = kv.second;
      t.erase(std::remove_if(t.begin(), t.end(), [&](TimeMs x) { return x <= since; }), t.end());
      return t.empty();
    });
  }
}

// Format: "nbl1", offer count, per offer (id length, id, served,
// impressions, clicks), then per entry (customer hash, offer hash, n, times).
std::string OfferLedger::Serialize() {
  std::string out = "nbl1";
  {
    std::lock_guard<std::mutex> lock(counters_mu_);
    PutU64(out, counters_.size());
    for (const auto& [id, c] : counters_) {
      PutU64(out, id.size());
      out.append(id);
      PutU64(out, static_cast<uint64_t>(c->served.load()));
      PutU64(out, static_cast<uint64_t>(c->impressions.load()));
      PutU64(out, static_cast<uint64_t>(c->clicks.load()));
    }
  }
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    for (const auto& [k, times] : shard.shown) {
      if (times.empty()) continue;
      PutU64(out, k.customer);
      PutU64(out, k.offer);
      PutU64(out, times.size());
      for (TimeMs t : times) PutU64(out, static_cast<uint64_t>(t));
    }
  }
  return out;
}

absl::Status OfferLedger::Load(absl::string_view in) {
  const auto bad = [] { return absl::DataLossError("offer ledger: damaged record"); };
  if (!absl::ConsumePrefix(&in, "nbl1")) return bad();
  uint64_t offers = 0;
  if (!GetU64(in, offers)) return bad();
  for (uint64_t i = 0; i < offers; ++i) {
    uint64_t len = 0, served = 0, impressions = 0, clicks = 0;
    if (!GetU64(in, len) || in.size() < len) return bad();
    auto c = Counters(in.substr(0, len));
    in.remove_prefix(len);
    if (!GetU64(in, served) || !GetU64(in, impressions) || !GetU64(in, clicks)) return bad();
    c->served = static_cast<int64_t>(served);
    c->impressions = static_cast<int64_t>(impressions);
    c->clicks = static_cast<int64_t>(clicks);
  }
  while (!in.empty()) {
    Key k{};
    uint64_t n = 0;
    if (!GetU64(in, k.customer) || !GetU64(in, k.offer) || !GetU64(in, n) || n > 1'000'000) {
      return bad();
    }
    Shard& shard = ShardFor(k);
    std::lock_guard<std::mutex> lock(shard.mu);
    Times& times = shard.shown[k];
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t t = 0;
      if (!GetU64(in, t)) return bad();
      times.push_back(static_cast<TimeMs>(t));
    }
  }
  return absl::OkStatus();
}

}  // namespace nextbest::core
