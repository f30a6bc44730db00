// Fuzz target: the config parser and the eligibility conditions it compiles
// (server/config.cc: protobuf text format of nextbest.config.v1.ServerConfig
// -> placements, offers, rule segments, conditions).
//
// Input: config text, as a marketer would edit deploy/nextbest.textproto.
// Whatever the text, the parser answers: OK, or INVALID_ARGUMENT naming the
// field or the line and column. A config it accepts must build and publish
// as a reload would, and then decide every placement for known, consenting,
// non-consenting and anonymous customers, with the explanation on, without
// breaking a hard rule: at most the placement's maximum count of items,
// no product that is inactive, not yet available or out of stock where
// the answer is for.

#include <cstdint>
#include <string>

#include "core/decision.h"
#include "server/config.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_world.h"

namespace {

using nextbest::fuzz::kNow;
namespace core = nextbest::core;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<nextbest::server::ServiceConfig> config = nextbest::server::ParseConfig(text);
  if (!config.ok()) {
    FUZZ_CHECK(config.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!config.status().message().empty());
    return 0;
  }
  core::LiveState live;
  nextbest::fuzz::BuildWorld(live, config->markets);
  const absl::Status published = nextbest::fuzz::PublishConfig(live, std::move(config->decisions));
  if (!published.ok()) {
    FUZZ_CHECK(published.code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  core::ReadGuard guard(live.epochs);
  const core::DecisionConfig& decisions = *live.config.Get();
  const core::Catalog& catalog = *live.catalog.Get();
  const core::TrendingSnapshot& trending = *live.trending.Get();
  const char* customers[] = {"c0", "c1", "c3", ""};
  for (const core::PlacementSpec& spec : decisions.placements) {
    for (const char* id : customers) {
      core::DecisionRequest r;
      r.config = &decisions;
      r.placement = &spec;
      r.ledger = &live.offers;
      r.customer_id = id;
      r.customer = *id ? live.customers.Find(id) : nullptr;
      r.channel = core::Channel::kWeb;
      r.now = kNow;
      r.require_consent = decisions.require_consent;
      std::optional<core::Explanation> explain;
      if (*id == 'c' && id[1] == '1') r.explain = &explain.emplace();
      const core::Decision d = core::Decide(catalog, trending, r);
      FUZZ_CHECK(static_cast<int>(d.items.size()) <= spec.max_count);
      for (const core::DecidedItem& item : d.items) {
        FUZZ_CHECK(item.offer >= -1 && item.offer < static_cast<int>(decisions.offers.size()));
        if (item.product == core::kNoProduct) continue;
        FUZZ_CHECK(item.product < catalog.product_count());
        FUZZ_CHECK(catalog.Recommendable(item.product, kNow));
        FUZZ_CHECK(catalog.InStock(item.product, d.country, core::kNoStore));
        std::string reason;
        core::DescribeReason(catalog, decisions, item, d.country, kNow, reason);
      }
    }
  }
  return 0;
}
