#include "tools/import_merchant.h"

#include <libxml/xmlreader.h>

#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace nextbest::tools {
namespace {

constexpr char kGoogleNs[] = "http://base.google.com/ns/1.0";

std::string Str(const xmlChar* s) { return s == nullptr ? "" : reinterpret_cast<const char*>(s); }

class MerchantFeed final : public FeedReader<v1::Product> {
 public:
  MerchantFeed(xmlTextReaderPtr reader, std::string path, FeedOptions options)
      : reader_(reader), path_(std::move(path)), options_(std::move(options)) {}
  ~MerchantFeed() override { xmlFreeTextReader(reader_); }

  absl::StatusOr<bool> Next(FeedRecord<v1::Product>& out) override {
    int rc;
    while ((rc = xmlTextReaderRead(reader_)) == 1) {
      if (xmlTextReaderNodeType(reader_) != XML_READER_TYPE_ELEMENT) continue;
      const std::string name = Str(xmlTextReaderConstLocalName(reader_));
      if (name != "item" && name != "entry") continue;
      out = FeedRecord<v1::Product>();
      out.line = xmlGetLineNo(xmlTextReaderCurrentNode(reader_));
      std::map<std::string, std::vector<std::string>> fields;
      if (absl::Status s = ReadItem(fields); !s.ok()) return s;
      Build(fields, out);
      return true;
    }
    if (rc < 0) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ": malformed XML near line ",
                                                     xmlTextReaderGetParserLineNumber(reader_)));
    }
    return false;
  }
  int64_t bytes_read() const override { return xmlTextReaderByteConsumed(reader_); }

 private:
  // The item's child elements: "g:price" → texts (non-Google ones by name).
  absl::Status ReadItem(std::map<std::string, std::vector<std::string>>& fields) {
    if (xmlTextReaderIsEmptyElement(reader_)) return absl::OkStatus();
    const int depth = xmlTextReaderDepth(reader_);
    int rc;
    while ((rc = xmlTextReaderRead(reader_)) == 1) {
      const int type = xmlTextReaderNodeType(reader_);
      if (type == XML_READER_TYPE_END_ELEMENT && xmlTextReaderDepth(reader_) == depth) {
        return absl::OkStatus();
      }
      if (type != XML_READER_TYPE_ELEMENT || xmlTextReaderDepth(reader_) != depth + 1) continue;
      const bool google = Str(xmlTextReaderConstNamespaceUri(reader_)) == kGoogleNs;
      const std::string key =
          absl::StrCat(google ? "g:" : "", Str(xmlTextReaderConstLocalName(reader_)));
      xmlChar* text = xmlTextReaderReadString(reader_);
      fields[key].push_back(std::string(absl::StripAsciiWhitespace(Str(text))));
      xmlFree(text);
    }
    return absl::InvalidArgumentError(absl::StrCat(path_, ": malformed XML near line ",
                                                   xmlTextReaderGetParserLineNumber(reader_)));
  }

  void Build(const std::map<std::string, std::vector<std::string>>& fields,
             FeedRecord<v1::Product>& out) const {
    auto first = [&](std::initializer_list<const char*> keys) -> std::string {
      for (const char* k : keys) {
        auto it = fields.find(k);
        if (it != fields.end() && !it->second.empty() && !it->second[0].empty()) {
          return it->second[0];
        }
      }
      return "";
    };
    v1::Product& p = out.message;
    p.set_product_id(first({"g:id", "id"}));
    if (p.product_id().empty()) out.rejected = "g:id: required";
    p.set_name(first({"g:title", "title"}));
    p.set_brand(first({"g:brand"}));
    const std::string type = first({"g:product_type", "g:google_product_category"});
    for (absl::string_view level : absl::StrSplit(type, '>', absl::SkipWhitespace())) {
      p.add_category_path(std::string(absl::StripAsciiWhitespace(level)));
    }
    if (const std::string price = first({"g:price"}); !price.empty()) {
      if (absl::Status s = ParsePrice(price, options_.currency, p.mutable_price());
          !s.ok() && out.rejected.empty()) {
        out.rejected = absl::StrCat("g:price: ", s.message());
      }
    }
    if (auto it = fields.find("g:size"); it != fields.end()) {
      for (const std::string& sizes : it->second) {
        for (absl::string_view s : absl::StrSplit(sizes, ',', absl::SkipWhitespace())) {
          p.add_sizes(std::string(absl::StripAsciiWhitespace(s)));
        }
      }
    }
    if (const std::string group = first({"g:item_group_id"}); !group.empty()) {
      p.add_tags(absl::StrCat("item_group:", group));
    }
    const std::string availability = absl::AsciiStrToLower(first({"g:availability"}));
    if (!options_.country.empty() && !availability.empty()) {
      const bool in_stock =
          availability == "in_stock" || availability == "in stock" || availability == "backorder";
      v1::StockLevel& level = out.stock.emplace();
      level.set_product_id(p.product_id());
      level.set_online_country(options_.country);
      level.set_quantity(in_stock ? options_.in_stock_quantity : 0);
    }
  }

  xmlTextReaderPtr reader_;
  std::string path_;
  FeedOptions options_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<FeedReader<v1::Product>>> OpenMerchantFeed(
    const std::string& path, const FeedOptions& options) {
  // No network access and no entity substitution (XXE); DTDs are not loaded.
  xmlTextReaderPtr reader = xmlReaderForFile(path.c_str(), nullptr, XML_PARSE_NONET);
  if (reader == nullptr) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  return std::unique_ptr<FeedReader<v1::Product>>(
      std::make_unique<MerchantFeed>(reader, path, options));
}

}  // namespace nextbest::tools
