#include "tools/eval/interaction_log.h"

#include <cmath>
#include <fstream>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tools/csv_reader.h"

namespace nextbest::tools::eval {
namespace {

// The aliases of every column, canonical name first.
const std::map<std::string, std::vector<std::string>>& Aliases() {
  static const auto* aliases = new std::map<std::string, std::vector<std::string>>{
      {"customer",
       {"customer", "customer_id", "customerid", "user", "user_id", "userid", "visitor"}},
      {"item",
       {"item", "item_id", "itemid", "product", "product_id", "productid", "movieid", "sku"}},
      {"timestamp", {"timestamp", "time", "ts", "datetime", "date"}},
      {"event_type", {"event_type", "type", "event", "action"}},
      {"quantity", {"quantity", "qty"}},
      {"price", {"price", "unit_price"}},
      {"price_minor", {"price_minor", "price_cents"}},
      {"rating", {"rating", "score"}},
      {"name", {"name", "title"}},
      {"category_path", {"category_path", "category", "categories"}},
      {"brand", {"brand"}},
      {"tags", {"tags", "genres", "labels"}},
  };
  return *aliases;
}

// One record, whatever the file format: canonical column -> text.
using Record = std::map<std::string, std::string>;

// Reads every record of a CSV or JSON-lines file into `each`.
template <typename Each>
absl::Status ForEachRecord(const std::string& path, Each each) {
  if (absl::EndsWith(path, ".jsonl") || absl::EndsWith(path, ".json")) {
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
    std::string line;
    for (int64_t n = 1; std::getline(in, line); ++n) {
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      google::protobuf::Struct object;
      if (!google::protobuf::util::JsonStringToMessage(line, &object).ok()) {
        return absl::InvalidArgumentError(absl::StrCat(path, ":", n, ": not a JSON object"));
      }
      Record r;
      for (const auto& [canonical, names] : Aliases()) {
        for (const std::string& name : names) {
          for (const auto& [key, value] : object.fields()) {
            if (!absl::EqualsIgnoreCase(key, name) || r.count(canonical) > 0) continue;
            r[canonical] = value.has_number_value() ? absl::StrCat(value.number_value())
                                                    : value.string_value();
            if (value.has_number_value() &&
                std::floor(value.number_value()) == value.number_value()) {
              r[canonical] = absl::StrCat(static_cast<int64_t>(value.number_value()));
            }
          }
        }
      }
      if (absl::Status s = each(r, n); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  auto reader = CsvReader::Open(path);
  if (!reader.ok()) return reader.status();
  std::map<std::string, int> columns;
  for (const auto& [canonical, names] : Aliases()) {
    for (const std::string& name : names) {
      const int c = (*reader)->Column({name});
      if (c >= 0) {
        columns[canonical] = c;
        break;
      }
    }
  }
  std::vector<std::string> row;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Next(row);
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
    Record r;
    for (const auto& [canonical, c] : columns) {
      if (c < static_cast<int>(row.size()))
        r[canonical] = std::string(absl::StripAsciiWhitespace(row[c]));
    }
    if (absl::Status s = each(r, (*reader)->record()); !s.ok()) return s;
  }
}

absl::Status Bad(const std::string& path, int64_t line, absl::string_view column,
                 absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", column, ": ", why));
}

std::optional<int64_t> ParseMoney(const std::string& text) {
  double v = 0;
  if (!absl::SimpleAtod(text, &v) || !std::isfinite(v) || v < 0 || v > 1e7) return std::nullopt;
  return static_cast<int64_t>(std::llround(v * 100));
}

}  // namespace

std::optional<core::TimeMs> ParseTimestamp(const std::string& text) {
  int64_t n = 0;
  if (absl::SimpleAtoi(text, &n)) return n > 100'000'000'000 ? n : n * 1000;
  double d = 0;
  if (absl::SimpleAtod(text, &d) && std::isfinite(d)) return static_cast<core::TimeMs>(d * 1000);
  absl::Time t;
  std::string err;
  for (const char* format : {absl::RFC3339_full, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"}) {
    if (absl::ParseTime(format, text, absl::UTCTimeZone(), &t, &err)) return absl::ToUnixMillis(t);
  }
  return std::nullopt;
}

std::optional<core::EventType> ParseEventType(const std::string& text) {
  const std::string t = absl::AsciiStrToLower(text);
  if (t.empty() || t == "purchase" || t == "buy" || t == "order" || t == "transaction") {
    return core::EventType::kPurchase;
  }
  if (t == "view" || t == "click" || t == "detail") return core::EventType::kView;
  if (t == "add_to_cart" || t == "cart" || t == "addtocart") return core::EventType::kAddToCart;
  if (t == "return") return core::EventType::kReturn;
  return std::nullopt;
}

absl::StatusOr<std::vector<Interaction>> ReadInteractions(const std::string& path,
                                                          const LogOptions& options) {
  std::vector<Interaction> out;
  absl::Status s = ForEachRecord(path, [&](const Record& r, int64_t line) -> absl::Status {
    Interaction i;
    i.order = static_cast<int64_t>(out.size());
    auto get = [&](const char* column) -> std::string {
      auto it = r.find(column);
      return it == r.end() ? std::string() : it->second;
    };
    i.customer = get("customer");
    i.item = get("item");
    if (i.customer.empty()) return Bad(path, line, "customer", "required");
    if (i.item.empty()) return Bad(path, line, "item", "required");
    const std::optional<core::TimeMs> time = ParseTimestamp(get("timestamp"));
    if (!time.has_value())
      return Bad(path, line, "timestamp", "required: Unix seconds or milliseconds, or RFC 3339");
    i.time = *time;
    if (options.event_as.has_value()) {
      i.type = *options.event_as;
    } else {
      const std::optional<core::EventType> type = ParseEventType(get("event_type"));
      if (!type.has_value())
        return Bad(path, line, "event_type", "view, add_to_cart, purchase or return");
      i.type = *type;
    }
    if (const std::string q = get("quantity");
        !q.empty() &&
        (!absl::SimpleAtoi(q, &i.quantity) || i.quantity < 1 || i.quantity > 100000)) {
      return Bad(path, line, "quantity", "a whole number 1..100000");
    }
    if (const std::string p = get("price"); !p.empty()) {
      const std::optional<int64_t> minor = ParseMoney(p);
      if (!minor.has_value())
        return Bad(path, line, "price", "a non-negative amount in major units, e.g. 2.49");
      i.price_minor = *minor;
    } else if (const std::string pm = get("price_minor"); !pm.empty()) {
      if (!absl::SimpleAtoi(pm, &i.price_minor) || i.price_minor < 0)
        return Bad(path, line, "price_minor", "cents >= 0");
    }
    if (const std::string rating = get("rating");
        !rating.empty() && !absl::SimpleAtod(rating, &i.rating)) {
      return Bad(path, line, "rating", "a number");
    }
    if (options.min_rating > 0 && i.rating < options.min_rating) return absl::OkStatus();
    out.push_back(std::move(i));
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<ItemInfo>> ReadItems(const std::string& path) {
  std::vector<ItemInfo> out;
  absl::Status s = ForEachRecord(path, [&](const Record& r, int64_t line) -> absl::Status {
    auto get = [&](const char* column) -> std::string {
      auto it = r.find(column);
      return it == r.end() ? std::string() : it->second;
    };
    ItemInfo item;
    item.id = get("item");
    if (item.id.empty()) return Bad(path, line, "item", "required");
    item.name = get("name");
    for (absl::string_view level :
         absl::StrSplit(get("category_path"), absl::ByAnyChar("/>"), absl::SkipWhitespace())) {
      item.category_path.emplace_back(absl::StripAsciiWhitespace(level));
    }
    item.brand = get("brand");
    for (absl::string_view tag :
         absl::StrSplit(get("tags"), absl::ByAnyChar("|;"), absl::SkipWhitespace())) {
      item.tags.emplace_back(absl::StripAsciiWhitespace(tag));
    }
    if (const std::string p = get("price"); !p.empty()) {
      const std::optional<int64_t> minor = ParseMoney(p);
      if (!minor.has_value())
        return Bad(path, line, "price", "a non-negative amount in major units, e.g. 2.49");
      item.price_minor = *minor;
    }
    out.push_back(std::move(item));
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace nextbest::tools::eval
