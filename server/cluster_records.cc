// The cluster log's records: what each write becomes (topic, key, value,
// kind), and the --peers list.
#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nextbest/v1/catalog.pb.h"
#include "nextbest/v1/customers.pb.h"
#include "nextbest/v1/events.pb.h"
#include "nextbest/v1/privacy.pb.h"
#include "server/cluster_internal.h"

namespace nextbest::server {
namespace {

// Catalog requests are split into records of at most this many items (a
// Kafka record stays well below the brokers' 1 MB default).
constexpr int kCatalogItemsPerRecord = 500;

template <typename Request, typename Item>
void Chunked(const google::protobuf::RepeatedPtrField<Item>& items,
             google::protobuf::RepeatedPtrField<Item>* (Request::*mut)(), const char* type,
             std::vector<LogRecord>& out) {
  for (int i = 0; i < items.size(); i += kCatalogItemsPerRecord) {
    Request chunk;
    for (int j = i; j < std::min(items.size(), i + kCatalogItemsPerRecord); ++j) {
      *(chunk.*mut)()->Add() = items[j];
    }
    out.push_back({storage::LogTopic::kCatalog, "catalog", chunk.SerializeAsString(), type});
  }
}

}  // namespace

absl::StatusOr<std::vector<LogRecord>> RecordsOf(Rpc rpc, const google::protobuf::Message& m) {
  std::vector<LogRecord> out;
  auto events = [&](const google::protobuf::RepeatedPtrField<v1::Event>& list) {
    for (const v1::Event& e : list) {
      out.push_back({storage::LogTopic::kEvents, e.customer_id(), e.SerializeAsString(), ""});
    }
  };
  switch (rpc) {
    case Rpc::kRecordEvents:
      events(static_cast<const v1::RecordEventsRequest&>(m).events());
      break;
    case Rpc::kStreamEvents:
      events(static_cast<const v1::StreamEventsRequest&>(m).events());
      break;
    case Rpc::kUpsertCustomers:
      for (const v1::Customer& c : static_cast<const v1::UpsertCustomersRequest&>(m).customers()) {
        v1::UpsertCustomersRequest one;
        *one.add_customers() = c;
        out.push_back({storage::LogTopic::kEvents, c.customer_id(), one.SerializeAsString(),
                       kCustomersRecord});
      }
      break;
    case Rpc::kSetConsent: {
      const auto& r = static_cast<const v1::SetConsentRequest&>(m);
      out.push_back(
          {storage::LogTopic::kEvents, r.customer_id(), r.SerializeAsString(), kConsentRecord});
      break;
    }
    case Rpc::kEraseCustomer: {
      const auto& r = static_cast<const v1::EraseCustomerRequest&>(m);
      out.push_back(
          {storage::LogTopic::kEvents, r.customer_id(), r.SerializeAsString(), kEraseRecord});
      break;
    }
    case Rpc::kUpsertProducts:
      Chunked(static_cast<const v1::UpsertProductsRequest&>(m).products(),
              &v1::UpsertProductsRequest::mutable_products, kProductsRecord, out);
      break;
    case Rpc::kUpsertStores:
      Chunked(static_cast<const v1::UpsertStoresRequest&>(m).stores(),
              &v1::UpsertStoresRequest::mutable_stores, kStoresRecord, out);
      break;
    case Rpc::kSetStock:
      Chunked(static_cast<const v1::SetStockRequest&>(m).levels(),
              &v1::SetStockRequest::mutable_levels, kStockRecord, out);
      break;
    default:
      return absl::FailedPreconditionError(
          absl::StrCat(RpcName(rpc), " does not write to the cluster log"));
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<int32_t, std::string>>> ParsePeers(
    const std::vector<std::string>& peers, int32_t shards) {
  std::vector<std::pair<int32_t, std::string>> out;
  for (const std::string& p : peers) {
    std::vector<std::string> parts = absl::StrSplit(p, absl::MaxSplits('@', 1));
    int32_t shard = -1;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &shard) || parts[1].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--peers: '", p, "' is not SHARD@HOST:PORT"));
    }
    if (shard < 0 || shard >= shards) {
      return absl::InvalidArgumentError(
          absl::StrCat("--peers: '", p, "' names shard ", shard, " of ", shards));
    }
    out.emplace_back(shard, parts[1]);
  }
  return out;
}

}  // namespace nextbest::server
