#pragma once
// core -> wire: profiles and decisions rendered as response messages.

#include <string>

#include "core/catalog.h"
#include "core/decision.h"
#include "core/features.h"
#include "nextbest/v1/customers.pb.h"
#include "nextbest/v1/decisions.pb.h"

namespace nextbest::server {

void FillProfile(const std::string& customer_id, const core::CustomerState& state,
                 const core::Catalog& catalog, const core::FeatureOptions& options,
                 core::TimeMs now, v1::GetProfileResponse& out);

void FillRecommendation(const core::Decision& decision, const core::Catalog& catalog,
                        core::TimeMs now, v1::RecommendResponse& out);

}  // namespace nextbest::server
