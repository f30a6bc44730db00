#pragma once
// OfferLedger: the state behind offer caps and propensities, shared by every
// config version (a reload keeps the counts).
//
// Caps count served decisions: an offer counts against its caps when a
// decision returns it (as Adobe's "decision event" capping does), so two
// concurrent requests can never both take the last slot. The total cap is
// one atomic counter per offer (compare-and-swap); the per-customer cap is
// a rolling window of showing times per (customer, offer) in one of 64
// shards, each behind a mutex held for a few comparisons. This is the one
// lock on the Recommend path, taken only when a capped offer is about to be
// returned. Impressions and clicks recorded as events feed the propensity
// estimate (smoothed click-through rate).
//
// The ledger is saved by the server (Serialize) periodically and at
// shutdown and loaded at start; showings decided after the last save are
// lost on a crash (documented in the README).

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/decision_config.h"
#include "core/types.h"

namespace nextbest::core {

// 64-bit FNV-1a with a seed: stable across processes and restarts (the
// ledger is saved; rotation must not change with a restart), unlike
// absl::Hash.
uint64_t StableHash(absl::string_view s, uint64_t seed);

// SplitMix64's finalizer (a bijection that spreads every input bit): the
// one mixer behind rotation, assignment buckets and Thompson draws.
inline uint64_t Mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
inline constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ULL;

class OfferLedger {
 public:
  OfferLedger() = default;
  OfferLedger(const OfferLedger&) = delete;
  OfferLedger& operator=(const OfferLedger&) = delete;

  // The counters of offer `id`: the same object for every config version.
  std::shared_ptr<OfferCounters> Counters(absl::string_view offer_id);
  // Gives every offer of `config` its counters (before DecisionConfig::Build).
  void Attach(DecisionConfig& config);

  // Reserves one showing of `offer` for `customer_id` at `now` if neither
  // cap is reached. Exact under concurrent calls.
  enum class Reservation : uint8_t { kOk, kCustomerCap, kTotalCap };
  Reservation TryReserve(const OfferSpec& offer, absl::string_view customer_id, TimeMs now);
  // What TryReserve would answer, reserving nothing (previews).
  Reservation Check(const OfferSpec& offer, absl::string_view customer_id, TimeMs now);
  // Showings of `offer` to the customer within the rolling period before `now`.
  int ShownTo(const OfferSpec& offer, absl::string_view customer_id, TimeMs now);

  // Impression / click events (writer thread); unknown offers are counted
  // too, so an offer added later starts with its history.
  void RecordImpression(absl::string_view offer_id) {
    Counters(offer_id)->impressions.fetch_add(1);
  }
  void RecordClick(absl::string_view offer_id) { Counters(offer_id)->clicks.fetch_add(1); }

  // Erasure: drops every showing recorded for the customer; returns how
  // many (customer, offer) counters were dropped.
  int Forget(absl::string_view customer_id);

  // Drops showings older than `max_period_ms` before `now`.
  void Prune(TimeMs now, int64_t max_period_ms);
  std::string Serialize();
  absl::Status Load(absl::string_view data);

 private:
  struct Key {
    uint64_t customer;
    uint64_t offer;
    bool operator==(const Key& o) const { return customer == o.customer && offer == o.offer; }
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.customer, k.offer);
    }
  };
  using Times = absl::InlinedVector<TimeMs, 3>;
  // std::mutex rather than absl::Mutex: ThreadSanitizer sees through the
  // former (Debian's Abseil is not built with TSan annotations).
  struct Shard {
    std::mutex mu;
    absl::flat_hash_map<Key, Times> shown;  // guarded by mu
  };
  static Key MakeKey(absl::string_view customer_id, absl::string_view offer_id);
  Shard& ShardFor(const Key& k) { return shards_[k.customer % shards_.size()]; }

  std::array<Shard, 64> shards_;
  std::mutex counters_mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<OfferCounters>>
      counters_;  // guarded by counters_mu_
};

}  // namespace nextbest::core
