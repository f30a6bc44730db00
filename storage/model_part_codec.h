#pragma once
// A shard's model part (core/model_parts.h) to and from its record
// (records.proto ModelPartRecord), in id space: a part written by one node
// is read onto another node's catalog, whose indices may differ. What the
// reading node's catalog does not know (a product it has not received yet)
// is left out and counted; the next build carries it.

#include <cstdint>
#include <string>
#include <vector>

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

// How a part travels as log records (server/cluster_models.cc): encoded,
// then cut into pieces of at most `chunk_bytes`, each a ModelChunkRecord.
struct ModelChunk {
  int32_t shard = 0;
  int32_t replica = 0;
  int64_t generation = 0;  // the part's build time: newer replaces older
  int32_t index = 0;
  int32_t count = 0;
  std::string data;
};
std::vector<std::string> EncodeModelPartChunks(const core::ModelPart& part,
                                               const core::Catalog& catalog, int32_t shard,
                                               int32_t replica, size_t chunk_bytes);
// INVALID_ARGUMENT if `value` is not a chunk or its fields are out of range.
absl::StatusOr<ModelChunk> ParseModelChunk(const std::string& value, int32_t shards);
// The chunks' data joined, decoded onto `catalog`.
absl::StatusOr<DecodedPart> DecodeModelPart(const std::string& bytes, const core::Catalog& catalog);

}  // namespace nextbest::storage
