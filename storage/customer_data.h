#pragma once
// Reading one customer's raw events back, as domain events (RawEvent), for
// the GDPR export: the key layout and the record format stay inside
// storage/.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/commands.h"
#include "storage/rocks_store.h"

namespace nextbest::storage {

// The customer's raw events, oldest first, read in chunks from one
// consistent view of the database (taken at construction).
//
// Thread-compatible: one reader at a time.
class CustomerEvents {
 public:
  CustomerEvents(RocksStore& store, const std::string& customer_id);
  ~CustomerEvents();

  // True while events are left to read (also: the customer has any).
  bool HasMore() const;
  // Appends up to `max` events to `out`. DATA_LOSS on an undecodable
  // record, UNAVAILABLE on a read error.
  absl::Status Next(int max, std::vector<RawEvent>& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nextbest::storage
