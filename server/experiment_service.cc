// GetExperimentReport: the per-variant totals the writer keeps
// (core/attribution.h), the customers each variant holds, and the
// statistics (core/experiment_report.h), rendered.

#include "core/experiment_report.h"
#include "server/service_util.h"
#include "server/services.h"

namespace nextbest::server {
namespace {

void SetEstimate(const core::stats::Estimate& e, v1::Estimate* out) {
  out->set_value(e.value);
  out->set_low(e.low);
  out->set_high(e.high);
  out->set_defined(e.defined);
}

void SetUplift(const core::stats::Uplift& u, v1::Uplift* out) {
  SetEstimate(u.absolute, out->mutable_absolute());
  SetEstimate(u.relative, out->mutable_relative());
  out->set_p_value(u.p_value);
  out->set_defined(u.defined);
}

void Render(const core::ExperimentReport& r, v1::ExperimentReport* out) {
  out->set_experiment_id(r.id);
  out->set_placement(r.placement);
  if (r.start != 0) *out->mutable_start() = FromTimeMs(r.start);
  if (r.end != 0) *out->mutable_end() = FromTimeMs(r.end);
  out->set_running(r.running);
  out->set_srm_chi_square(r.srm.chi_square);
  out->set_srm_p_value(r.srm.p_value);
  out->set_srm_alarm(r.srm.alarm);
  for (const core::VariantReport& v : r.variants) {
    v1::VariantReport* o = out->add_variants();
    const core::VariantTotals& t = v.totals;
    o->set_variant(v.id);
    o->set_control(v.control);
    o->set_weight(v.weight);
    o->set_assigned_customers(v.assigned);
    o->set_exposed_customers(t.exposed);
    o->set_decisions(t.decisions);
    o->set_impressions(t.impressions);
    o->set_clicks(t.clicks);
    o->set_add_to_carts(t.add_to_carts);
    o->set_converting_customers(t.converters);
    o->set_orders(t.orders);
    o->set_revenue_minor(static_cast<int64_t>(t.revenue));
    o->set_attributed_lines(t.attributed_lines);
    o->set_attributed_revenue_minor(static_cast<int64_t>(t.attributed_revenue));
    SetEstimate(v.ctr, o->mutable_ctr());
    SetEstimate(v.conversion, o->mutable_conversion_rate());
    SetEstimate(v.revenue_per_exposed, o->mutable_revenue_per_exposed());
    SetUplift(v.conversion_uplift, o->mutable_conversion_uplift());
    SetUplift(v.revenue_uplift, o->mutable_revenue_uplift());
  }
}

}  // namespace

grpc::ServerUnaryReactor* ExperimentServiceImpl::GetExperimentReport(
    grpc::CallbackServerContext* ctx, const v1::GetExperimentReportRequest* request,
    v1::GetExperimentReportResponse* response) {
  const auto start = Clock::now();
  auto* reactor = ctx->DefaultReactor();
  absl::Status s = Authorize(deps_, *ctx, Rpc::kGetExperimentReport);
  if (s.ok()) {
    core::LiveState& live = *deps_.live;
    core::ReadGuard guard(live.epochs);
    const core::DecisionConfig& config = *live.config.Get();
    const std::string& only = request->experiment_id();
    const bool known = only.empty() || only == core::kHoldoutExperiment ||
                       std::any_of(config.experiments.begin(), config.experiments.end(),
                                   [&](const core::ExperimentSpec& x) { return x.id == only; });
    if (!known) {
      s = absl::NotFoundError(
          absl::StrCat("experiment_id: no experiment '", only, "' in the config"));
    } else {
      core::AssignedCounter assigned(config);
      live.customers.ForEach(
          [&](absl::string_view id, const core::CustomerState&) { assigned.Count(id); });
      for (const core::ExperimentReport& r : core::BuildReports(
               config, live.experiment_totals.Variants(), assigned, deps_.clock->Now(), only)) {
        Render(r, response->add_experiments());
      }
      const core::UnattributedCounts u = live.experiment_totals.Unattributed();
      response->set_unknown_decision_events(u.unknown_decision_events);
      response->set_unattributed_lines(u.unattributed_lines);
      response->set_decisions_dropped(live.decision_log.dropped());
      response->set_currency(live.catalog.Get()->currency());
      if (only.empty()) {
        for (const core::OfferUpliftReport& o :
             core::BuildOfferReports(config, live.experiment_totals.Variants())) {
          v1::OfferUplift* u = response->add_offers();
          u->set_offer_id(o.offer_id);
          u->set_segment(o.segment);
          u->set_shown_customers(o.shown);
          u->set_shown_converting(o.shown_converting);
          u->set_held_back_customers(o.held_back);
          u->set_held_back_converting(o.held_back_converting);
          SetEstimate(o.shown_rate, u->mutable_shown_rate());
          SetEstimate(o.held_back_rate, u->mutable_held_back_rate());
          SetUplift(o.uplift, u->mutable_uplift());
        }
      }
    }
  }
  Finish(reactor, deps_.metrics, Rpc::kGetExperimentReport, s, start);
  return reactor;
}

}  // namespace nextbest::server
