#pragma once
// Conversion between core's in-memory types and the record format
// (records.proto). In memory, products and categories are dense indices; on
// disk they are ids and paths, so indices may differ between runs.

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/bandit.h"
#include "core/catalog.h"
#include "core/features.h"
#include "core/trending.h"
#include "storage/commands.h"
#include "storage/records.pb.h"

namespace nextbest::storage::codec {

v1::EventRecord EventToRecord(const RawEvent& e);
// The stored event back as the domain event (types and channels as stored;
// a record no writer produced may carry values outside the enums).
RawEvent EventFromRecord(const std::string& customer_id, const v1::EventRecord& r);
// Stable across processes and versions (FNV-1a 64 of the record bytes).
uint64_t PayloadHash(const v1::EventRecord& record);

v1::CustomerRecord AttributesToRecord(const CustomerUpsert& c, int64_t now_ms);
core::CustomerAttributes AttributesFromRecord(const v1::CustomerRecord& r,
                                              const core::Catalog& catalog);

v1::FeaturesRecord FeaturesToRecord(const core::CustomerFeatures& f, const core::Catalog& catalog);
// Interns product ids through `catalog` (placeholders for unknown ones).
core::CustomerFeatures FeaturesFromRecord(const v1::FeaturesRecord& r,
                                          core::CatalogBuilder& catalog);

v1::ProductRecord ProductToRecord(const core::Product& p);
core::Product ProductFromRecord(const std::string& id, const v1::ProductRecord& r);

// A product's stored stock levels into `catalog` (markets it does not serve
// are ignored).
void ApplyStock(const v1::StockRecord& r, core::ProductIndex product,
                core::CatalogBuilder& catalog);

v1::PopularityRecord PopularityToRecord(const core::ProductPopularity& p,
                                        const core::Catalog& catalog);
core::ProductPopularity PopularityFromRecord(const v1::PopularityRecord& r,
                                             const core::Catalog& catalog);

v1::StorePopularityRecord StoreScoreToRecord(const core::StoreScore& s);

// An offer's click posterior (core/bandit.h).
v1::OfferPosteriorRecord PosteriorToRecord(
    const core::ClickCounts& overall,
    const std::array<core::ClickCounts, core::kPosteriorSegments>& segments);
void PosteriorFromRecord(const v1::OfferPosteriorRecord& r, core::OfferPosterior& out);
core::StoreScore StoreScoreFromRecord(const v1::StorePopularityRecord& r);

// Parses a record; DATA_LOSS naming `what` if the bytes are not one.
template <typename Record>
absl::StatusOr<Record> Parse(const std::string& bytes, const char* what) {
  Record r;
  if (!r.ParseFromString(bytes)) {
    return absl::DataLossError(std::string("undecodable ") + what + " record");
  }
  return r;
}

}  // namespace nextbest::storage::codec
