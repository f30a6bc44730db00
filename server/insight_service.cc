// InsightService: the placements and offers as configured (with the
// offers' live cap usage and propensity) and the service's health figures,
// for the marketer console. Read-only; lock-free like every read.

#include "core/bandit.h"
#include "nextbest/config/v1/config.pb.h"
#include "server/service_util.h"
#include "server/services.h"

namespace nextbest::server {
namespace cfg = nextbest::config::v1;

InsightServiceImpl::InsightServiceImpl(const ServiceDeps& deps)
    : deps_(deps), started_at_(deps.clock->Now()) {}

namespace {

void Describe(const core::PlacementSpec& p, v1::PlacementInfo* out) {
  out->set_id(p.id);
  out->set_config_text(p.config_text);
  out->set_default_count(p.default_count);
  out->set_max_count(p.max_count);
  for (const core::SourceSpec& s : p.sources) {
    out->add_sources(cfg::SourceConfig::Kind_Name(static_cast<cfg::SourceConfig::Kind>(s.source)));
  }
}

void Describe(const core::OfferSpec& o, const core::LearningSpec& learning, core::TimeMs now,
              v1::OfferInfo* out) {
  out->set_id(o.id);
  out->set_type(core::OfferTypeName(o.type));
  out->set_title(o.title);
  out->set_text(o.text);
  if (o.start != 0) *out->mutable_start() = FromTimeMs(o.start);
  if (o.end != 0) *out->mutable_end() = FromTimeMs(o.end);
  out->set_active_now((o.start == 0 || now >= o.start) && (o.end == 0 || now < o.end));
  out->set_eligibility(o.eligibility_text);
  for (const std::string& p : o.placements) out->add_placements(p);
  out->set_per_customer_cap(o.per_customer_cap);
  out->set_cap_period_days(static_cast<double>(o.cap_period_ms) / core::kMsPerDay);
  out->set_total_cap(o.total_cap);
  out->set_priority(o.priority);
  out->set_value(o.value);
  if (o.counters != nullptr) {
    out->set_served(o.counters->served.load(std::memory_order_relaxed));
    out->set_impressions(o.counters->impressions.load(std::memory_order_relaxed));
    out->set_clicks(o.counters->clicks.load(std::memory_order_relaxed));
    out->set_propensity(core::PosteriorOf(o.counters->posterior, 0, learning, now).Mean());
  }
}

}  // namespace

grpc::ServerUnaryReactor* InsightServiceImpl::DescribeConfig(
    grpc::CallbackServerContext* ctx, const v1::DescribeConfigRequest* request,
    v1::DescribeConfigResponse* response) {
  const auto start = Clock::now();
  auto* reactor = ctx->DefaultReactor();
  absl::Status s = Authorize(deps_, *ctx, Rpc::kDescribeConfig);
  if (s.ok()) {
    core::ReadGuard guard(deps_.live->epochs);
    const core::DecisionConfig& config = *deps_.live->config.Get();
    const core::TimeMs now = deps_.clock->Now();
    response->set_version(config.version);
    for (const core::PlacementSpec& p : config.placements) Describe(p, response->add_placements());
    for (const core::OfferSpec& o : config.offers) {
      Describe(o, config.learning, now, response->add_offers());
    }
    for (const core::ExperimentSpec& e : config.experiments) response->add_experiments(e.id);
    const core::Catalog& catalog = *deps_.live->catalog.Get();
    for (size_t i = 0; i < catalog.market_count(); ++i) {
      response->add_markets(catalog.market_code(static_cast<core::CountryIndex>(i)));
    }
  }
  Finish(reactor, deps_.metrics, Rpc::kDescribeConfig, s, start);
  return reactor;
}

grpc::ServerUnaryReactor* InsightServiceImpl::GetStatus(grpc::CallbackServerContext* ctx,
                                                        const v1::GetStatusRequest* request,
                                                        v1::GetStatusResponse* response) {
  const auto start = Clock::now();
  auto* reactor = ctx->DefaultReactor();
  absl::Status s = Authorize(deps_, *ctx, Rpc::kGetStatus);
  if (s.ok()) {
    core::ReadGuard guard(deps_.live->epochs);
    response->set_config_version(deps_.live->config.Get()->version);
    response->set_customers_in_memory(static_cast<int64_t>(deps_.live->customers.size()));
    response->set_products(static_cast<int64_t>(deps_.live->catalog.Get()->product_count()));
    response->set_events_accepted(deps_.metrics->EventsAccepted());
    response->set_recommend_calls(deps_.metrics->CallsOk(Rpc::kRecommend));
    response->set_decision_p50_seconds(deps_.metrics->DecisionQuantile(0.5));
    response->set_decision_p99_seconds(deps_.metrics->DecisionQuantile(0.99));
    if (const core::Models* m = deps_.live->models.Get(); m != nullptr && m->built_at != 0) {
      *response->mutable_models_built_at() = FromTimeMs(m->built_at);
    }
    *response->mutable_started_at() = FromTimeMs(started_at_);
    *response->mutable_now() = FromTimeMs(deps_.clock->Now());
  }
  Finish(reactor, deps_.metrics, Rpc::kGetStatus, s, start);
  return reactor;
}

}  // namespace nextbest::server
