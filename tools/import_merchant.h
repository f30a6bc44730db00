#pragma once
// The Google Merchant Center product feed (RSS 2.0 <item> or Atom <entry>
// elements with the g: namespace http://base.google.com/ns/1.0), read as a
// stream with libxml2's reader (Debian's libxml2; no network, no entity
// expansion). Fields: g:id, g:title (or title), g:price, g:product_type
// ("A > B > C"; else g:google_product_category), g:brand, g:size (may
// repeat; "S, M" splits), g:item_group_id (kept as the tag
// "item_group:ID"), g:availability (online stock with FeedOptions::country).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tools/import_feed.h"

namespace nextbest::tools {

absl::StatusOr<std::unique_ptr<FeedReader<v1::Product>>> OpenMerchantFeed(
    const std::string& path, const FeedOptions& options);

}  // namespace nextbest::tools
