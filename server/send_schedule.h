#pragma once
// When to send each customer's message in a DecideForAll run
// (DecideForAllRequest.send_time): one fixed time, or each customer's best
// local whole hour within the window (core/send_time.h), from the slots of
// each market computed once per run.

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "core/features.h"
#include "core/models.h"
#include "core/send_time.h"
#include "nextbest/v1/decisions.pb.h"

namespace nextbest::server {

class SendSchedule {
 public:
  // INVALID_ARGUMENT naming the field for a bad window, hours or mode, or a
  // window without any allowed local hour. `now`: the run's decision time.
  static absl::StatusOr<SendSchedule> Make(const v1::SendTimeRequest& request,
                                           const core::FeatureOptions& features, core::TimeMs now);
  // Absent without a mode. `personal`: the customer's own pattern may be
  // used (else the population's).
  std::optional<core::TimeMs> SendAt(const core::CustomerFeatures& f, core::CountryIndex market,
                                     const core::Models* models, bool personal) const;

 private:
  v1::SendTimeRequest::Mode mode_ = v1::SendTimeRequest::MODE_UNSPECIFIED;
  core::TimeMs fixed_ = 0;
  std::vector<std::vector<core::SendSlot>> slots_;  // by market
};

}  // namespace nextbest::server
