#pragma once
// The one place where rocksdb::Status becomes absl::Status.
// I/O errors, a full disk and busy/timeouts map to UNAVAILABLE (retryable);
// corruption to DATA_LOSS; everything else to INTERNAL.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rocksdb/status.h"

namespace nextbest::storage {

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what);

}  // namespace nextbest::storage
