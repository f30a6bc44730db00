#include "tools/import_feed.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "tools/csv_reader.h"
#include "tools/import_merchant.h"

namespace nextbest::tools {
namespace {

bool HasExtension(const std::string& path, absl::string_view ext) {
  return absl::EndsWithIgnoreCase(path, ext);
}

// One JSON object per line, each a message of the protobuf JSON mapping.
template <typename M>
class JsonLinesReader final : public FeedReader<M> {
 public:
  static absl::StatusOr<std::unique_ptr<FeedReader<M>>> Open(const std::string& path) {
    auto r = std::make_unique<JsonLinesReader<M>>();
    r->in_.open(path, std::ios::binary);
    if (!r->in_) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
    return std::unique_ptr<FeedReader<M>>(std::move(r));
  }
  absl::StatusOr<bool> Next(FeedRecord<M>& out) override {
    std::string line;
    while (std::getline(in_, line)) {
      ++line_;
      bytes_ += static_cast<int64_t>(line.size()) + 1;
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      out = FeedRecord<M>();
      out.line = line_;
      if (auto s = google::protobuf::util::JsonStringToMessage(line, &out.message); !s.ok()) {
        out.rejected = s.message().ToString();
      }
      return true;
    }
    return false;
  }
  int64_t bytes_read() const override { return bytes_; }

 private:
  std::ifstream in_;
  int64_t line_ = 0;
  int64_t bytes_ = 0;
};

// A CSV file's columns by name, read per row.
class Columns {
 public:
  explicit Columns(const CsvReader& csv) : csv_(csv) {}
  int Find(std::initializer_list<absl::string_view> names) const { return csv_.Column(names); }
  static std::string Get(const std::vector<std::string>& row, int column) {
    return column >= 0 && column < static_cast<int>(row.size())
               ? std::string(absl::StripAsciiWhitespace(row[column]))
               : std::string();
  }

 private:
  const CsvReader& csv_;
};

absl::StatusOr<std::unique_ptr<CsvReader>> OpenCsv(const std::string& path) {
  return CsvReader::Open(path);
}

std::vector<std::string> SplitList(const std::string& s) {
  return absl::StrSplit(s, '|', absl::SkipWhitespace());
}

absl::StatusOr<absl::Time> ParseTimeText(const std::string& s) {
  absl::Time t;
  std::string err;
  for (const char* format : {absl::RFC3339_full, "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                             "%Y-%m-%d %H:%M", "%Y-%m-%d"}) {
    if (absl::ParseTime(format, s, absl::UTCTimeZone(), &t, &err)) return t;
  }
  int64_t seconds = 0;
  if (absl::SimpleAtoi(s, &seconds)) return absl::FromUnixSeconds(seconds);
  return absl::InvalidArgumentError(
      absl::StrCat("'", s, "' is not RFC 3339, 'YYYY-MM-DD HH:MM:SS' (UTC) or Unix seconds"));
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t ns = absl::ToUnixNanos(t);
  out->set_seconds(ns / 1'000'000'000);
  out->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
}

class CsvProducts final : public FeedReader<v1::Product> {
 public:
  CsvProducts(std::unique_ptr<CsvReader> csv, FeedOptions options)
      : csv_(std::move(csv)), options_(std::move(options)) {
    Columns c(*csv_);
    id_ = c.Find({"product_id", "id"});
    name_ = c.Find({"name", "title"});
    category_ = c.Find({"category", "category_path", "product_type"});
    brand_ = c.Find({"brand"});
    price_ = c.Find({"price"});
    currency_ = c.Find({"currency"});
    sizes_ = c.Find({"sizes", "size"});
    tags_ = c.Find({"tags"});
    active_ = c.Find({"active"});
    available_from_ = c.Find({"available_from"});
  }
  absl::Status Check() const {
    if (id_ < 0) return absl::InvalidArgumentError("the CSV header has no product_id (or id)");
    return absl::OkStatus();
  }
  absl::StatusOr<bool> Next(FeedRecord<v1::Product>& out) override {
    std::vector<std::string> row;
    absl::StatusOr<bool> more = csv_->Next(row);
    if (!more.ok() || !*more) return more;
    out = FeedRecord<v1::Product>();
    out.line = csv_->record();
    v1::Product& p = out.message;
    p.set_product_id(Columns::Get(row, id_));
    p.set_name(Columns::Get(row, name_));
    const std::string category = Columns::Get(row, category_);
    const char sep = absl::StrContains(category, '>') ? '>' : '/';
    for (absl::string_view level : absl::StrSplit(category, sep, absl::SkipWhitespace())) {
      p.add_category_path(std::string(absl::StripAsciiWhitespace(level)));
    }
    p.set_brand(Columns::Get(row, brand_));
    const std::string currency = Columns::Get(row, currency_);
    if (const std::string price = Columns::Get(row, price_); !price.empty()) {
      if (absl::Status s =
              ParsePrice(price, currency.empty() ? options_.currency : currency, p.mutable_price());
          !s.ok()) {
        out.rejected = absl::StrCat("price: ", s.message());
      }
    }
    for (const std::string& s : SplitList(Columns::Get(row, sizes_))) p.add_sizes(s);
    for (const std::string& t : SplitList(Columns::Get(row, tags_))) p.add_tags(t);
    if (const std::string a = absl::AsciiStrToLower(Columns::Get(row, active_)); !a.empty()) {
      if (a != "true" && a != "false" && a != "1" && a != "0") {
        out.rejected = absl::StrCat("active: '", a, "' is not true or false");
      }
      p.set_active(a == "true" || a == "1");
    }
    if (const std::string from = Columns::Get(row, available_from_); !from.empty()) {
      absl::StatusOr<absl::Time> t = ParseTimeText(from);
      if (t.ok()) {
        SetTime(*t, p.mutable_available_from());
      } else {
        out.rejected = absl::StrCat("available_from: ", t.status().message());
      }
    }
    return true;
  }
  int64_t bytes_read() const override { return csv_->bytes_read(); }

 private:
  std::unique_ptr<CsvReader> csv_;
  FeedOptions options_;
  int id_, name_, category_, brand_, price_, currency_, sizes_, tags_, active_, available_from_;
};

class CsvStores final : public FeedReader<v1::Store> {
 public:
  explicit CsvStores(std::unique_ptr<CsvReader> csv) : csv_(std::move(csv)) {
    Columns c(*csv_);
    id_ = c.Find({"store_id", "id"});
    country_ = c.Find({"country"});
    name_ = c.Find({"name"});
    city_ = c.Find({"city"});
  }
  absl::Status Check() const {
    if (id_ < 0 || country_ < 0) {
      return absl::InvalidArgumentError("the CSV header needs store_id and country");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<bool> Next(FeedRecord<v1::Store>& out) override {
    std::vector<std::string> row;
    absl::StatusOr<bool> more = csv_->Next(row);
    if (!more.ok() || !*more) return more;
    out = FeedRecord<v1::Store>();
    out.line = csv_->record();
    out.message.set_store_id(Columns::Get(row, id_));
    out.message.set_country(absl::AsciiStrToUpper(Columns::Get(row, country_)));
    out.message.set_name(Columns::Get(row, name_));
    out.message.set_city(Columns::Get(row, city_));
    return true;
  }
  int64_t bytes_read() const override { return csv_->bytes_read(); }

 private:
  std::unique_ptr<CsvReader> csv_;
  int id_, country_, name_, city_;
};

class CsvStock final : public FeedReader<v1::StockLevel> {
 public:
  explicit CsvStock(std::unique_ptr<CsvReader> csv) : csv_(std::move(csv)) {
    Columns c(*csv_);
    id_ = c.Find({"product_id", "id"});
    store_ = c.Find({"store_id", "store"});
    online_ = c.Find({"online_country", "country"});
    quantity_ = c.Find({"quantity", "stock"});
  }
  absl::Status Check() const {
    if (id_ < 0 || quantity_ < 0 || (store_ < 0 && online_ < 0)) {
      return absl::InvalidArgumentError(
          "the CSV header needs product_id, quantity and store_id or online_country");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<bool> Next(FeedRecord<v1::StockLevel>& out) override {
    std::vector<std::string> row;
    absl::StatusOr<bool> more = csv_->Next(row);
    if (!more.ok() || !*more) return more;
    out = FeedRecord<v1::StockLevel>();
    out.line = csv_->record();
    out.message.set_product_id(Columns::Get(row, id_));
    const std::string store = Columns::Get(row, store_), online = Columns::Get(row, online_);
    if (!store.empty() == !online.empty()) {
      out.rejected = "give store_id or online_country (one of them)";
    } else if (!store.empty()) {
      out.message.set_store_id(store);
    } else {
      out.message.set_online_country(online);
    }
    int32_t q = 0;
    if (!absl::SimpleAtoi(Columns::Get(row, quantity_), &q) || q < 0) {
      out.rejected =
          absl::StrCat("quantity: '", Columns::Get(row, quantity_), "' is not a whole number >= 0");
    }
    out.message.set_quantity(q);
    return true;
  }
  int64_t bytes_read() const override { return csv_->bytes_read(); }

 private:
  std::unique_ptr<CsvReader> csv_;
  int id_, store_, online_, quantity_;
};

// Order lines → one event per order (adjacent rows with the same order id).
class CsvOrders final : public FeedReader<v1::Event> {
 public:
  CsvOrders(std::unique_ptr<CsvReader> csv, FeedOptions options)
      : csv_(std::move(csv)), options_(std::move(options)) {
    Columns c(*csv_);
    order_ = c.Find({"order_id", "order"});
    customer_ = c.Find({"customer_id", "customer"});
    time_ = c.Find({"time", "timestamp", "order_time", "date"});
    product_ = c.Find({"product_id", "product"});
    quantity_ = c.Find({"quantity", "qty"});
    price_ = c.Find({"unit_price", "price"});
    currency_ = c.Find({"currency"});
    store_ = c.Find({"store_id", "store"});
    channel_ = c.Find({"channel"});
    type_ = c.Find({"type"});
    size_ = c.Find({"size"});
  }
  absl::Status Check() const {
    if (order_ < 0 || customer_ < 0 || time_ < 0 || product_ < 0 || price_ < 0) {
      return absl::InvalidArgumentError(
          "the CSV header needs order_id, customer_id, time, product_id and unit_price");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<bool> Next(FeedRecord<v1::Event>& out) override {
    if (!have_pending_) {
      absl::StatusOr<bool> more = csv_->Next(pending_);
      if (!more.ok() || !*more) return more;
      pending_line_ = csv_->record();
    }
    have_pending_ = false;
    out = FeedRecord<v1::Event>();
    out.line = pending_line_;
    const std::string order = Columns::Get(pending_, order_);
    v1::Event& e = out.message;
    e.set_event_id(absl::StrCat("order:", order));
    e.set_customer_id(Columns::Get(pending_, customer_));
    const std::string type = absl::AsciiStrToLower(Columns::Get(pending_, type_));
    e.set_type(type == "return" ? v1::EVENT_TYPE_RETURN : v1::EVENT_TYPE_PURCHASE);
    if (!type.empty() && type != "purchase" && type != "return") {
      out.rejected = absl::StrCat("type: '", type, "' is not purchase or return");
    }
    if (absl::StatusOr<absl::Time> t = ParseTimeText(Columns::Get(pending_, time_)); t.ok()) {
      SetTime(*t, e.mutable_time());
    } else if (out.rejected.empty()) {
      out.rejected = absl::StrCat("time: ", t.status().message());
    }
    e.set_store_id(Columns::Get(pending_, store_));
    const std::string channel = absl::AsciiStrToUpper(Columns::Get(pending_, channel_));
    v1::Channel ch = e.store_id().empty() ? v1::CHANNEL_WEB : v1::CHANNEL_STORE;
    if (!channel.empty() && !v1::Channel_Parse("CHANNEL_" + channel, &ch) && out.rejected.empty()) {
      out.rejected = absl::StrCat("channel: '", channel,
                                  "' is not web, app, store, email, call_center, push or sms");
    }
    e.set_channel(ch);
    e.mutable_order()->set_order_id(order);
    // This row and the adjacent rows of the same order.
    while (true) {
      if (std::string err = AddLine(pending_, e); !err.empty() && out.rejected.empty()) {
        out.rejected = pending_line_ == out.line
                           ? err
                           : absl::StrCat("(order line at ", pending_line_, ") ", err);
      }
      absl::StatusOr<bool> more = csv_->Next(pending_);
      if (!more.ok()) return more.status();
      if (!*more) break;
      pending_line_ = csv_->record();
      if (Columns::Get(pending_, order_) != order || order.empty()) {
        have_pending_ = true;
        break;
      }
    }
    return true;
  }
  int64_t bytes_read() const override { return csv_->bytes_read(); }

 private:
  std::string AddLine(const std::vector<std::string>& row, v1::Event& e) const {
    v1::OrderLine* line = e.mutable_order()->add_lines();
    line->set_product_id(Columns::Get(row, product_));
    int32_t q = 1;
    if (const std::string qty = Columns::Get(row, quantity_); !qty.empty()) {
      if (!absl::SimpleAtoi(qty, &q) || q <= 0) {
        return absl::StrCat("quantity: '", qty, "' is not a whole number > 0");
      }
    }
    line->set_quantity(q);
    line->set_size(Columns::Get(row, size_));
    const std::string currency = Columns::Get(row, currency_);
    if (absl::Status s =
            ParsePrice(Columns::Get(row, price_), currency.empty() ? options_.currency : currency,
                       line->mutable_unit_price());
        !s.ok()) {
      return absl::StrCat("unit_price: ", s.message());
    }
    return "";
  }

  std::unique_ptr<CsvReader> csv_;
  FeedOptions options_;
  std::vector<std::string> pending_;
  int64_t pending_line_ = 0;
  bool have_pending_ = false;
  int order_, customer_, time_, product_, quantity_, price_, currency_, store_, channel_, type_,
      size_;
};

template <typename M, typename Reader>
absl::StatusOr<std::unique_ptr<FeedReader<M>>> CheckedCsv(std::unique_ptr<Reader> r) {
  if (absl::Status s = r->Check(); !s.ok()) return s;
  return std::unique_ptr<FeedReader<M>>(std::move(r));
}

}  // namespace

absl::Status ParsePrice(const std::string& text, const std::string& default_currency,
                        v1::Money* out) {
  std::vector<std::string> parts = absl::StrSplit(text, ' ', absl::SkipWhitespace());
  std::string amount, currency = default_currency;
  if (parts.size() == 1) {
    amount = parts[0];
  } else if (parts.size() == 2) {
    const bool code_first = !parts[0].empty() && absl::ascii_isalpha(parts[0][0]);
    amount = code_first ? parts[1] : parts[0];
    currency = code_first ? parts[0] : parts[1];
  } else {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not 'AMOUNT [CURRENCY]'"));
  }
  std::replace(amount.begin(), amount.end(), ',', '.');
  double value = 0;
  if (!absl::SimpleAtod(amount, &value) || value < 0 || value > 1e10) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not an amount >= 0"));
  }
  if (currency.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat("'", currency, "' is not an ISO 4217 code"));
  }
  out->set_amount_minor(static_cast<int64_t>(std::llround(value * 100)));
  out->set_currency(absl::AsciiStrToUpper(currency));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FeedReader<v1::Product>>> OpenProductFeed(
    const std::string& path, const FeedOptions& options) {
  if (HasExtension(path, ".jsonl") || HasExtension(path, ".ndjson")) {
    return JsonLinesReader<v1::Product>::Open(path);
  }
  if (HasExtension(path, ".xml")) return OpenMerchantFeed(path, options);
  if (!HasExtension(path, ".csv")) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": products come as .csv, .jsonl or .xml (Merchant Center feed)"));
  }
  absl::StatusOr<std::unique_ptr<CsvReader>> csv = OpenCsv(path);
  if (!csv.ok()) return csv.status();
  return CheckedCsv<v1::Product>(std::make_unique<CsvProducts>(std::move(*csv), options));
}

absl::StatusOr<std::unique_ptr<FeedReader<v1::Store>>> OpenStoreFeed(const std::string& path) {
  if (HasExtension(path, ".jsonl") || HasExtension(path, ".ndjson")) {
    return JsonLinesReader<v1::Store>::Open(path);
  }
  if (!HasExtension(path, ".csv")) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": stores come as .csv or .jsonl"));
  }
  absl::StatusOr<std::unique_ptr<CsvReader>> csv = OpenCsv(path);
  if (!csv.ok()) return csv.status();
  return CheckedCsv<v1::Store>(std::make_unique<CsvStores>(std::move(*csv)));
}

absl::StatusOr<std::unique_ptr<FeedReader<v1::StockLevel>>> OpenStockFeed(
    const std::string& path, const FeedOptions& options) {
  if (HasExtension(path, ".jsonl") || HasExtension(path, ".ndjson")) {
    return JsonLinesReader<v1::StockLevel>::Open(path);
  }
  if (!HasExtension(path, ".csv")) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": stock comes as .csv or .jsonl"));
  }
  absl::StatusOr<std::unique_ptr<CsvReader>> csv = OpenCsv(path);
  if (!csv.ok()) return csv.status();
  return CheckedCsv<v1::StockLevel>(std::make_unique<CsvStock>(std::move(*csv)));
}

absl::StatusOr<std::unique_ptr<FeedReader<v1::Event>>> OpenEventFeed(const std::string& path,
                                                                     const FeedOptions& options) {
  if (HasExtension(path, ".jsonl") || HasExtension(path, ".ndjson")) {
    return JsonLinesReader<v1::Event>::Open(path);
  }
  if (!HasExtension(path, ".csv")) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": events come as .csv or .jsonl"));
  }
  absl::StatusOr<std::unique_ptr<CsvReader>> csv = OpenCsv(path);
  if (!csv.ok()) return csv.status();
  return CheckedCsv<v1::Event>(std::make_unique<CsvOrders>(std::move(*csv), options));
}

}  // namespace nextbest::tools
