#pragma once
// core -> wire: profiles and decisions rendered as response messages.

#include <string>

#include "core/catalog.h"
#include "core/customer_value.h"
#include "core/decision.h"
#include "core/features.h"
#include "core/recommend.h"
#include "nextbest/v1/admin.pb.h"
#include "nextbest/v1/customers.pb.h"
#include "nextbest/v1/decisions.pb.h"
#include "nextbest/v1/events.pb.h"
#include "server/enums.h"
#include "storage/commands.h"

namespace nextbest::server {

// `models` may be null (no models built yet: no RFM scores).
void FillProfile(const std::string& customer_id, const core::CustomerState& state,
                 const core::Catalog& catalog, const core::FeatureOptions& options,
                 const core::DecisionConfig& config, const core::Models* models, core::TimeMs now,
                 v1::GetProfileResponse& out);

// A customer's send-time pattern (core/send_time.h) in `zone`.
void FillSendTime(const core::SendTimeProfile& p, const std::string& zone,
                  v1::SendTimeProfile& out);

// The purchase and value models of a build, the population's first.
void AddCustomerValueModels(const core::CustomerValueModels& models, const core::Catalog& catalog,
                            v1::ListSegmentsResponse& out);

// A stored event as the API's Event (export).
void FillEvent(const storage::RawEvent& event, const std::string& currency, v1::Event& out);

// What every rendered item says, in a Recommend response and in the
// newsletter batch alike: product id, source, score and reason.
template <typename Item>
void FillItem(const core::Catalog& catalog, const core::DecisionConfig& config,
              const core::DecidedItem& item, core::CountryIndex country, core::TimeMs now,
              Item& out) {
  if (item.product < catalog.product_count()) out.set_product_id(catalog.product(item.product).id);
  out.set_source(ToWire(item.source));
  out.set_score(item.score);
  core::DescribeReason(catalog, config, item, country, now, *out.mutable_reason());
}

// The customer's experiment arms; the assignment in words (explanation).
void FillAssignment(const core::Recommendation& r, const core::DecisionConfig& config,
                    google::protobuf::RepeatedPtrField<v1::ExperimentArm>* out);
std::string AssignmentText(const core::Recommendation& r, const core::DecisionConfig& config);

// The whole Recommend response (with the explanation if there is one).
void FillRecommendation(const core::Recommendation& r, const core::Catalog& catalog,
                        const core::DecisionConfig& config, v1::RecommendResponse& out);
// One customer's answer in the batch.
void FillCustomerDecision(absl::string_view customer_id, const core::Recommendation& r,
                          const core::Catalog& catalog, const core::DecisionConfig& config,
                          v1::CustomerDecision& out);

}  // namespace nextbest::server
