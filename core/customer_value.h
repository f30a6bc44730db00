#pragma once
// Each customer's future, from the population's purchase and value models
// (core/purchase_model.h: BG/NBD; core/value_model.h: Gamma-Gamma):
// P(alive), expected orders in the next 30/90/365 days, expected order
// value, lifetime value over a horizon, and a churn-risk band.
//
// Nothing is stored per customer for this: BG/NBD's x, t_x and T and the
// mean order value come from the RFM state every customer already has
// (orders, first and last purchase, net spend). The models' parameters
// are fitted at each models build (core/models.h), per market when the
// market has enough customers, else over the whole population; a
// customer's figures are computed when asked, from the state of that
// moment, so they follow each purchase at once.
//
// A part of the population (a cluster shard's customers) keeps its fit
// data as counts per cell that add up exactly (CustomerValueCounts), so
// the merged parts fit the same models one node fits over everyone.

#include <cstdint>
#include <map>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/features.h"
#include "core/purchase_model.h"
#include "core/types.h"
#include "core/value_model.h"

namespace nextbest::core {

struct CustomerValueOptions {
  // A market gets its own parameters from this many customers with a
  // purchase (and a converged fit); below it, the population's.
  int64_t min_market_customers = 5000;
  int clv_months = 12;
  double monthly_discount = 0.01;  // 1 % a month: about 12.7 % a year
  // Churn-risk bands by P(alive): high below the first, medium below the
  // second, low otherwise.
  double high_risk_below = 0.3;
  double medium_risk_below = 0.6;
};

enum class ChurnRisk : uint8_t { kNone = 0, kLow = 1, kMedium = 2, kHigh = 3 };
inline constexpr int kChurnRiskCount = 4;
const char* ChurnRiskName(ChurnRisk r);  // "low", "medium", "high"; "" for kNone
bool ParseChurnRisk(absl::string_view name, ChurnRisk& out);

// One customer's BG/NBD summary in days: x repeat orders, t_x days from the
// first to the last order, T days from the first order to `now`; false
// without an order.
struct PurchaseSummary {
  double x = 0, t_x = 0, T = 0;
};
bool SummarizePurchases(const CustomerFeatures& f, TimeMs now, PurchaseSummary& out);

// The fit data of one market, in counts that add up exactly.
struct CustomerValueCounts {
  struct Purchase {
    int32_t x, t_x, T;  // days, at the middle of 7-day cells
    int64_t count;
  };
  struct Value {
    int32_t orders;
    int64_t spend_minor;  // net, > 0
    int64_t count;
  };
  std::vector<Purchase> purchases;
  std::vector<Value> values;  // customers with two or more orders
  // Sorts and merges equal cells (the order of Add/Merge then does not matter).
  void Compact();
};

// Per market (kNoCountry: customers without one).
using CustomerValueData = std::map<CountryIndex, CustomerValueCounts>;
void AddCustomerValue(const CustomerFeatures& f, CountryIndex country, TimeMs now,
                      CustomerValueData& data);
void MergeCustomerValue(CustomerValueData& into, const CustomerValueData& from);

// One fitted pair of models.
struct CustomerValueModel {
  BgNbdParams purchases;   // days
  GammaGammaParams value;  // minor units
  int64_t purchase_customers = 0;
  int64_t value_customers = 0;
  bool purchases_fitted = false;
  bool value_fitted = false;
};

struct CustomerValueModels {
  CustomerValueOptions options;  // those of the fit: horizon, discount, bands
  CustomerValueModel population;
  std::map<CountryIndex, CustomerValueModel> markets;  // those with their own fit
  double fit_seconds = 0;
  int evaluations = 0;
  // The market's model where it has one, else the population's.
  const CustomerValueModel& For(CountryIndex country) const;
};

CustomerValueModels FitCustomerValue(const CustomerValueOptions& options,
                                     const CustomerValueData& data);

// One customer's future at `now`. `known` is false without an order or
// without a fitted purchase model; value figures are 0 without a fitted
// value model.
struct CustomerValue {
  bool known = false;
  double p_alive = 0;
  double expected_orders_30 = 0, expected_orders_90 = 0, expected_orders_365 = 0;
  double expected_order_minor = 0;
  double clv_minor = 0;          // discounted, over options.clv_months
  double clv_at_risk_minor = 0;  // clv × (1 − p_alive)
  ChurnRisk risk = ChurnRisk::kNone;
  int clv_months = 0;
  CountryIndex model_market = kNoCountry;  // whose own models; kNoCountry: the population's
};
// Without `with_expected_orders` the three expected_orders_* stay 0 (the
// decision path's CLV at risk needs only P(alive) and CLV).
CustomerValue ValueCustomer(const CustomerValueModels& models, const CustomerFeatures& f,
                            CountryIndex country, TimeMs now, bool with_expected_orders = true);

// The figures one at a time, for conditions: P(alive) (closed form: tens
// of nanoseconds; -1 for an unknown future: no order, or no fitted model), expected orders in the
// next `days` (one series: ~0.15 µs), CLV (four: ~0.5 µs).
double CustomerPAlive(const CustomerValueModels& models, const CustomerFeatures& f,
                      CountryIndex country, TimeMs now);
double CustomerExpectedOrders(const CustomerValueModels& models, const CustomerFeatures& f,
                              CountryIndex country, TimeMs now, int days);
double CustomerClv(const CustomerValueModels& models, const CustomerFeatures& f,
                   CountryIndex country, TimeMs now);
ChurnRisk RiskOf(const CustomerValueOptions& options, double p_alive);

}  // namespace nextbest::core
