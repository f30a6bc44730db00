#pragma once
// Experiments: sticky A/B tests of placement designs, and the global
// holdout — who gets which answer, decided inside every decision.
//
// Assignment is a pure function of (salt, customer id): the customer's
// bucket is
//
//   bucket = SplitMix64(FNV-1a-64(salt || 0x00 || customer_id)) mod 10,000
//
// (FNV-1a 64 with offset basis 0xcbf29ce484222325 and prime 0x100000001b3;
// SplitMix64's finalizer spreads FNV's weak low bits; the modulo bias of
// 2^64 mod 10,000 is below 10^-15). No state, no I/O, no allocation: the
// same customer lands in the same bucket on every channel, in the live path
// and the newsletter batch, after restarts and reloads, on any node.
//
// Each variant of an experiment owns a set of bucket ranges. By default the
// ranges are contiguous in the listed order (variant 0 holds
// [0, w0), variant 1 [w0, w0 + w1), ...; weights in basis points). With
// two variants that is the least movement any weight change allows: moving
// the boundary moves only the customers between the old and the new
// boundary. With three or more, no layout computed from the weights alone
// can move only the customers a change requires (A/B/C from 50/50/0 to
// 50/0/50 and to 0/50/50 force contradicting sets); so a variant may list
// its ranges explicitly (`buckets: "0-2999,5000-5999"`), and a change that
// must keep everyone else in place hands over just the ranges it moves.
//
// The global holdout takes the customers whose bucket under its own salt is
// below its share: they get the control answer in every placement (and no
// personalized offer) and are in no experiment. Everyone else with a
// customer id is in its "personalized" arm, so the report compares the
// two like variants. Anonymous callers are never assigned.
//
// A control variant (and the holdout) answers like a customer without
// personalization consent in a trending placement: the placement's trending
// sources (or popular in the market), its filters and hard rules, offers
// only where their eligibility needs no personal data.

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/placement.h"
#include "core/types.h"

namespace nextbest::core {

inline constexpr uint32_t kBuckets = 10'000;
inline constexpr uint8_t kNoVariant = 0xff;

// The customer's bucket under `salt`, 0..9,999 (see the formula above).
uint32_t AssignmentBucket(absl::string_view salt, absl::string_view customer_id);

struct BucketRange {
  uint32_t begin = 0, end = 0;  // [begin, end)
};

struct VariantSpec {
  std::string id;
  bool control = false;
  std::vector<BucketRange> ranges;  // the buckets it owns
  uint32_t buckets = 0;             // their count (its share × 10,000)
  // What the variant answers (not control): a complete placement whose id
  // is the experiment's placement.
  PlacementSpec placement;
};

struct ExperimentSpec {
  std::string id;
  std::string placement;      // the placement it runs on
  TimeMs start = 0, end = 0;  // [start, end); 0 = open
  std::string salt;           // defaults to the id
  std::vector<VariantSpec> variants;
  // Bucket -> variant index, kNoVariant where no variant holds it.
  std::array<uint8_t, kBuckets> variant_of{};
  bool Running(TimeMs now) const { return (start == 0 || now >= start) && (end == 0 || now < end); }
  // Fills variant_of from the variants' ranges; false if two overlap.
  bool IndexBuckets();
};

struct HoldoutSpec {
  uint32_t buckets = 0;  // its share × 10,000; 0 = no holdout
  std::string salt = "global_holdout";
};

// The global holdout as reported: an experiment with these ids.
inline constexpr char kHoldoutExperiment[] = "global_holdout";
inline constexpr char kHoldoutVariant[] = "holdout";
inline constexpr char kPersonalizedVariant[] = "personalized";

struct DecisionConfig;

// Who a decision is for, before it is made. Holdout and experiment are
// exclusive: holdout customers are in no experiment.
struct Assignment {
  enum class Holdout : uint8_t { kNone, kHeldOut, kPersonalized };
  Holdout holdout = Holdout::kNone;  // kNone: no holdout, or anonymous
  int16_t experiment = -1;           // into DecisionConfig::experiments
  int16_t variant = -1;              // into its variants
  bool Any() const { return holdout != Holdout::kNone || experiment >= 0; }
  // The control answer (holdout, or a control variant).
  bool control = false;
};

// The assignment of `customer_id` for a decision in `placement` at `now`:
// the global holdout first, then the one experiment running on the
// placement. No allocation.
Assignment Assign(const DecisionConfig& config, const PlacementSpec& placement,
                  absl::string_view customer_id, TimeMs now);

// The placement the decision runs: the variant's, the placement's control,
// or the placement itself.
const PlacementSpec& PlacementFor(const DecisionConfig& config, const PlacementSpec& placement,
                                  const Assignment& a);

// The control answer of a placement: its trending sources (popular in the
// market when it has none), its OFFERS source, filters and hard rules, and
// the trending fill.
PlacementSpec ControlOf(const PlacementSpec& placement);

// (experiment id, variant id) for reporting, at most two per decision: the
// experiment's, then the holdout's.
struct Arm {
  absl::string_view experiment;
  absl::string_view variant;
};
int ArmsOf(const DecisionConfig& config, const Assignment& a, Arm (&out)[2]);

// A decision id: 128 bits, shown as 32 hex digits. The high 48 bits are the
// decision time in ms (ids sort by time; the time is readable from the id),
// then 16 bits and 64 bits drawn at random when the process starts, the
// latter advanced by one per decision: no two decisions of one process
// share an id, and two processes collide only if, in the same millisecond,
// they drew the same 16-bit node and their 64-bit sequences meet (odds
// about n² / 2^81 for n decisions in that millisecond).
struct DecisionId {
  uint64_t hi = 0, lo = 0;
  TimeMs time() const { return static_cast<TimeMs>(hi >> 16); }
  bool operator==(const DecisionId& o) const { return hi == o.hi && lo == o.lo; }
  bool empty() const { return hi == 0 && lo == 0; }
  // 32 lowercase hex digits into `out` (no allocation for the caller's buffer).
  void Hex(char (&out)[32]) const;
  std::string Hex() const;
  static std::optional<DecisionId> Parse(absl::string_view hex);
};

class DecisionIds {
 public:
  // `seed_node` and `seed_sequence`: random numbers the server draws at start.
  DecisionIds(uint16_t seed_node, uint64_t seed_sequence)
      : node_(seed_node), sequence_(seed_sequence) {}
  // At start, before any decision.
  void Reseed(uint16_t seed_node, uint64_t seed_sequence) {
    node_ = seed_node;
    sequence_.store(seed_sequence);
  }
  DecisionId Next(TimeMs now) {
    const uint64_t lo = sequence_.fetch_add(1, std::memory_order_relaxed);
    return {(static_cast<uint64_t>(now) << 16) | node_, lo};
  }

 private:
  uint16_t node_;
  std::atomic<uint64_t> sequence_;
};

}  // namespace nextbest::core
