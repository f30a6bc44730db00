#pragma once
// A shard's model part (core/model_parts.h) to and from its record
// (records.proto ModelPartRecord), in id space: a part written by one node
// is read onto another node's catalog, whose indices may differ. What the
// reading node's catalog does not know (a product it has not received yet)
// is left out and counted; the next build carries it.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "core/model_parts.h"
#include "storage/records.pb.h"

namespace nextbest::storage {

v1::ModelPartRecord ModelPartToRecord(const core::ModelPart& part, const core::Catalog& catalog);

struct DecodedPart {
  core::ModelPart part;
  int64_t unknown = 0;  // entries naming products, categories or stores the catalog lacks
};
// INVALID_ARGUMENT on a record whose indices point outside its own tables.
absl::StatusOr<DecodedPart> ModelPartFromRecord(const v1::ModelPartRecord& record,
                                                const core::Catalog& catalog);

}  // namespace nextbest::storage
