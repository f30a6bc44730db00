#pragma once
// core -> wire: profiles and decisions rendered as response messages.

#include <string>

#include "core/catalog.h"
#include "core/decision.h"
#include "core/features.h"
#include "nextbest/v1/customers.pb.h"
#include "nextbest/v1/decisions.pb.h"
#include "nextbest/v1/events.pb.h"
#include "storage/records.pb.h"

namespace nextbest::server {

// `models` may be null (no models built yet: no RFM scores).
void FillProfile(const std::string& customer_id, const core::CustomerState& state,
                 const core::Catalog& catalog, const core::FeatureOptions& options,
                 const core::DecisionConfig& config, const core::Models* models,
                 core::TimeMs now, v1::GetProfileResponse& out);

// A stored event as the API's Event (export).
void FillEvent(const std::string& customer_id, const storage::v1::EventRecord& record,
               const std::string& currency, v1::Event& out);

// `explain` null: no explanation in the response.
void FillRecommendation(const core::Decision& decision, const core::Catalog& catalog,
                        const core::DecisionConfig& config, const core::Explanation* explain,
                        core::TimeMs now, v1::RecommendResponse& out);

}  // namespace nextbest::server
