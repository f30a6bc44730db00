// nextbest experiments [--id=X] [--json]: the experiment report as a table.

#include <iostream>

#include "absl/strings/str_format.h"
#include "nextbest/v1/experiments.grpc.pb.h"
#include "tools/cli.h"

ABSL_FLAG(std::string, id, "", "experiments: one experiment id (or global_holdout)");

namespace nextbest::cli {
namespace {

std::string Interval(const v1::Estimate& e, double scale, const char* unit) {
  if (!e.defined()) return absl::StrFormat("%.3g%s", e.value() * scale, unit);
  return absl::StrFormat("%.3g%s [%.3g, %.3g]", e.value() * scale, unit, e.low() * scale,
                         e.high() * scale);
}

std::string UpliftText(const v1::Uplift& u, double scale, const char* unit) {
  if (!u.defined()) return "-";
  std::string out = absl::StrFormat("%+.3g%s [%+.3g, %+.3g]", u.absolute().value() * scale, unit,
                                    u.absolute().low() * scale, u.absolute().high() * scale);
  if (u.relative().defined()) {
    absl::StrAppend(&out, absl::StrFormat(" = %+.1f %% [%+.1f, %+.1f]", 100 * u.relative().value(),
                                          100 * u.relative().low(), 100 * u.relative().high()));
  }
  absl::StrAppend(&out, absl::StrFormat(" p=%.3g", u.p_value()));
  return out;
}

void Print(const v1::GetExperimentReportResponse& r) {
  const std::string cur = r.currency();
  for (const v1::ExperimentReport& x : r.experiments()) {
    std::cout << absl::StrFormat(
        "experiment %s%s%s\n", x.experiment_id(),
        x.placement().empty() ? " (every placement)" : " on " + x.placement(),
        x.running() ? "" : " (not running)");
    std::cout << absl::StrFormat("  %-14s %6s %9s %9s %9s %8s %8s %10s\n", "variant", "weight",
                                 "assigned", "exposed", "impress.", "clicks", "convert.",
                                 "revenue");
    for (const v1::VariantReport& v : x.variants()) {
      std::cout << absl::StrFormat("  %-14s %5.1f%% %9d %9d %9d %8d %8d %10.2f\n",
                                   v.variant() + (v.control() ? "*" : ""), 100 * v.weight(),
                                   v.assigned_customers(), v.exposed_customers(), v.impressions(),
                                   v.clicks(), v.converting_customers(), v.revenue_minor() / 100.0);
    }
    for (const v1::VariantReport& v : x.variants()) {
      std::cout << absl::StrFormat("  %s%s\n", v.variant(), v.control() ? " (control)" : "");
      std::cout << "    CTR                  " << Interval(v.ctr(), 100, " %") << "\n";
      std::cout << "    conversion           " << Interval(v.conversion_rate(), 100, " %") << "\n";
      std::cout << "    revenue per exposed  "
                << Interval(v.revenue_per_exposed(), 0.01, (" " + cur).c_str()) << "\n";
      std::cout << absl::StrFormat("    attributed           %d lines, %.2f %s\n",
                                   v.attributed_lines(), v.attributed_revenue_minor() / 100.0, cur);
      if (!v.control() && v.conversion_uplift().defined()) {
        std::cout << "    uplift conversion    " << UpliftText(v.conversion_uplift(), 100, " pp")
                  << "\n";
        std::cout << "    uplift revenue       "
                  << UpliftText(v.revenue_uplift(), 0.01, (" " + cur).c_str()) << "\n";
      }
    }
    std::cout << absl::StrFormat("  sample ratio: chi-square %.2f, p = %.3g%s\n\n",
                                 x.srm_chi_square(), x.srm_p_value(),
                                 x.srm_alarm() ? "  ALARM: the split is broken, do not trust "
                                                 "the uplift"
                                               : "");
  }
  if (!r.offers().empty()) {
    std::cout << "offers: conversion when shown vs eligible but held back by the control\n";
    std::cout << absl::StrFormat("  %-22s %-20s %16s %16s  %s\n", "offer", "segment", "shown",
                                 "held back", "uplift");
    for (const v1::OfferUplift& o : r.offers()) {
      std::cout << absl::StrFormat("  %-22s %-20s %7d %7.1f%% %7d %7.1f%%  %s\n", o.offer_id(),
                                   o.segment().empty() ? "(all)" : o.segment(), o.shown_customers(),
                                   100 * o.shown_rate().value(), o.held_back_customers(),
                                   100 * o.held_back_rate().value(),
                                   UpliftText(o.uplift(), 100, " pp"));
    }
    std::cout << "\n";
  }
  std::cout << absl::StrFormat(
      "feedback naming an unknown decision: %d events; purchase lines no decision showed: %d; "
      "decisions not recorded (log full): %d\n",
      r.unknown_decision_events(), r.unattributed_lines(), r.decisions_dropped());
  std::cout << "95 % intervals; * = control. Uplift: Welch's t (absolute), delta method "
               "(relative).\n";
}

}  // namespace

int Experiments() {
  v1::GetExperimentReportRequest req;
  req.set_experiment_id(absl::GetFlag(FLAGS_id));
  return CallAndPrint("experiments", &v1::ExperimentService::Stub::GetExperimentReport, req, Print);
}

}  // namespace nextbest::cli
