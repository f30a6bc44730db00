#include "core/experiments.h"

#include "core/caps.h"
#include "core/decision_config.h"

namespace nextbest::core {
namespace {

uint64_t Fnv1a(uint64_t h, absl::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

uint32_t AssignmentBucket(absl::string_view salt, absl::string_view customer_id) {
  uint64_t h = Fnv1a(0xcbf29ce484222325ULL, salt);
  h = Fnv1a(h, absl::string_view("\0", 1));
  h = Fnv1a(h, customer_id);
  return static_cast<uint32_t>(Mix64(h + kGoldenGamma) % kBuckets);
}

bool ExperimentSpec::IndexBuckets() {
  variant_of.fill(kNoVariant);
  for (size_t v = 0; v < variants.size(); ++v) {
    variants[v].buckets = 0;
    for (const BucketRange& r : variants[v].ranges) {
      for (uint32_t b = r.begin; b < r.end && b < kBuckets; ++b) {
        if (variant_of[b] != kNoVariant) return false;
        variant_of[b] = static_cast<uint8_t>(v);
        ++variants[v].buckets;
      }
    }
  }
  return true;
}

Assignment Assign(const DecisionConfig& config, const PlacementSpec& placement,
                  absl::string_view customer_id, TimeMs now) {
  Assignment a;
  if (customer_id.empty()) return a;
  if (config.holdout.buckets > 0) {
    if (AssignmentBucket(config.holdout.salt, customer_id) < config.holdout.buckets) {
      a.holdout = Assignment::Holdout::kHeldOut;
      a.control = true;
      return a;
    }
    a.holdout = Assignment::Holdout::kPersonalized;
  }
  for (uint16_t e : placement.experiments) {
    const ExperimentSpec& x = config.experiments[e];
    if (!x.Running(now)) continue;
    const uint8_t v = x.variant_of[AssignmentBucket(x.salt, customer_id)];
    if (v == kNoVariant) break;  // outside the experiment's traffic
    a.experiment = static_cast<int16_t>(e);
    a.variant = v;
    a.control = x.variants[v].control;
    break;  // windows on one placement never overlap (config check)
  }
  return a;
}

const PlacementSpec& PlacementFor(const DecisionConfig& config, const PlacementSpec& placement,
                                  const Assignment& a) {
  if (a.experiment >= 0 && !a.control) {
    return config.experiments[a.experiment].variants[a.variant].placement;
  }
  if (a.control) {
    const size_t i = static_cast<size_t>(&placement - config.placements.data());
    if (i < config.controls.size()) return config.controls[i];
  }
  return placement;
}

PlacementSpec ControlOf(const PlacementSpec& placement) {
  PlacementSpec c = placement;
  c.sources.clear();
  for (const SourceSpec& s : placement.sources) {
    if (s.source == Source::kTrending || s.source == Source::kOffer) c.sources.push_back(s);
  }
  if (!c.HasSource(Source::kTrending)) c.sources.push_back(SourceSpec{});  // popular in the market
  c.fill_with_trending = true;
  return c;
}

int ArmsOf(const DecisionConfig& config, const Assignment& a, Arm (&out)[2]) {
  int n = 0;
  if (a.experiment >= 0) {
    const ExperimentSpec& x = config.experiments[a.experiment];
    out[n++] = {x.id, x.variants[a.variant].id};
  }
  if (a.holdout != Assignment::Holdout::kNone) {
    out[n++] = {kHoldoutExperiment, a.holdout == Assignment::Holdout::kHeldOut
                                        ? kHoldoutVariant
                                        : kPersonalizedVariant};
  }
  return n;
}

void DecisionId::Hex(char (&out)[32]) const {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) {
    out[i] = kDigits[(hi >> (60 - 4 * i)) & 0xf];
    out[16 + i] = kDigits[(lo >> (60 - 4 * i)) & 0xf];
  }
}

std::string DecisionId::Hex() const {
  char buf[32];
  Hex(buf);
  return std::string(buf, 32);
}

std::optional<DecisionId> DecisionId::Parse(absl::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  DecisionId id;
  for (int i = 0; i < 32; ++i) {
    const char c = hex[i];
    uint64_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    uint64_t& part = i < 16 ? id.hi : id.lo;
    part = (part << 4) | d;
  }
  return id;
}

}  // namespace nextbest::core
