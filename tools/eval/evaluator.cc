#include "tools/eval/evaluator.h"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/clock.h"
#include "core/recommend.h"
#include "core/repurchase.h"
#include "core/status_macros.h"
#include "server/config.h"
#include "storage/ingestor.h"
#include "storage/rocks_store.h"

namespace nextbest::tools::eval {
namespace {

// A scratch directory for the replay's database, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "nextbest-eval-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The log's items and customers as dense indices.
struct Universe {
  std::vector<ItemInfo> items;
  absl::flat_hash_map<std::string, uint32_t> item_index;
  std::vector<uint32_t> category_of;   // leaf category per item
  std::vector<std::string> customers;  // sorted: the test order
  absl::flat_hash_map<std::string, uint32_t> customer_index;

  uint32_t Item(const std::string& id) {
    auto [it, added] = item_index.try_emplace(id, static_cast<uint32_t>(items.size()));
    if (added) {
      ItemInfo info;
      info.id = id;
      items.push_back(std::move(info));
    }
    return it->second;
  }
};

// One test case: the customer, when to decide, the held-out items.
struct TestCase {
  uint32_t customer;
  core::TimeMs time;
  absl::flat_hash_set<uint32_t> relevant;
};

// Splits `log` (sorted by time, then file order) into training flags and
// test cases.
std::vector<TestCase> SplitLog(const std::vector<Interaction>& log, Universe& u,
                               const EvalOptions& o, std::vector<bool>& training,
                               std::string& description) {
  std::vector<TestCase> cases;
  training.assign(log.size(), true);
  const size_t customers = u.customers.size();
  if (o.split == Split::kLeaveLastOut) {
    std::vector<int64_t> last(customers, -1), count(customers, 0);
    for (size_t i = 0; i < log.size(); ++i) {
      const uint32_t c = u.customer_index[log[i].customer];
      last[c] = static_cast<int64_t>(i);
      ++count[c];
    }
    for (uint32_t c = 0; c < customers; ++c) {
      if (count[c] < 2) continue;
      const Interaction& held = log[last[c]];
      training[last[c]] = false;
      cases.push_back({c, held.time, {u.item_index[held.item]}});
    }
    description =
        "temporal leave-last-out: each customer's last interaction held out (ties in time: the "
        "later line of the file); customers with one interaction train only";
    return cases;
  }
  core::TimeMs cut = 0;
  if (o.cut_ms.has_value()) {
    cut = *o.cut_ms;
  } else {
    const size_t at = std::min(
        log.size() - 1, static_cast<size_t>(o.cut_fraction * static_cast<double>(log.size())));
    cut = log[at].time;
  }
  std::vector<absl::flat_hash_set<uint32_t>> before(customers), after(customers);
  for (size_t i = 0; i < log.size(); ++i) {
    const uint32_t c = u.customer_index[log[i].customer];
    const uint32_t item = u.item_index[log[i].item];
    if (log[i].time < cut) {
      before[c].insert(item);
    } else {
      training[i] = false;
      after[c].insert(item);
    }
  }
  for (uint32_t c = 0; c < customers; ++c) {
    if (before[c].empty()) continue;
    TestCase t{c, cut, {}};
    for (uint32_t item : after[c]) {
      if (!before[c].contains(item)) t.relevant.insert(item);
    }
    if (!t.relevant.empty()) cases.push_back(std::move(t));
  }
  description = absl::StrCat("global time cut at ", absl::FormatTime(absl::FromUnixMillis(cut)),
                             ": customers with history before it, tested on the items they first "
                             "touched after it");
  return cases;
}

// The placements to evaluate when none are named: the trending one and
// every placement with a personal source (placements that need a product
// on screen or a store are left out).
std::vector<std::string> DefaultPlacements(const core::DecisionConfig& config) {
  std::vector<std::string> out;
  for (const core::PlacementSpec& p : config.placements) {
    bool personal = false, context_only = false;
    for (const core::SourceSpec& s : p.sources) {
      personal |= core::IsPersonalSource(s.source) ||
                  ((s.source == core::Source::kCoPurchase || s.source == core::Source::kCoView) &&
                   s.seed != core::Seed::kContext);
      context_only |= s.seed == core::Seed::kContext || s.scope == core::TrendingScope::kStore;
    }
    const bool trending_only = p.sources.size() == 1 &&
                               p.sources[0].source == core::Source::kTrending &&
                               p.sources[0].scope == core::TrendingScope::kMarket;
    if ((personal && !context_only) || trending_only) out.push_back(p.id);
  }
  return out;
}

}  // namespace

absl::StatusOr<EvalReport> Evaluate(std::vector<Interaction> log,
                                    const std::vector<ItemInfo>& item_infos, const EvalOptions& o) {
  const auto started = std::chrono::steady_clock::now();
  if (log.empty()) return absl::InvalidArgumentError("events: the log is empty");
  if (o.k < 1 || o.k > 1000) return absl::InvalidArgumentError("k: must be 1..1000");
  ASSIGN_OR_RETURN(server::ServiceConfig cfg, o.config_path.empty()
                                                  ? server::ParseConfig("")
                                                  : server::LoadConfig(o.config_path));
  std::stable_sort(log.begin(), log.end(), [](const Interaction& a, const Interaction& b) {
    return a.time != b.time ? a.time < b.time : a.order < b.order;
  });

  Universe u;
  for (const ItemInfo& info : item_infos) u.items[u.Item(info.id)] = info;
  for (const Interaction& i : log) {
    u.Item(i.item);
    u.customer_index.try_emplace(i.customer, 0);
  }
  for (const auto& [id, unused] : u.customer_index) u.customers.push_back(id);
  std::sort(u.customers.begin(), u.customers.end());
  for (uint32_t c = 0; c < u.customers.size(); ++c) u.customer_index[u.customers[c]] = c;
  absl::flat_hash_map<std::string, uint32_t> category_ids;
  for (ItemInfo& item : u.items) {
    u.category_of.push_back(
        category_ids.try_emplace(absl::StrJoin(item.category_path, "/"), category_ids.size())
            .first->second);
  }

  EvalReport report;
  std::vector<bool> training;
  std::vector<TestCase> cases = SplitLog(log, u, o, training, report.split);
  report.customers = static_cast<int64_t>(u.customers.size());
  report.items = static_cast<int64_t>(u.items.size());
  report.interactions = static_cast<int64_t>(log.size());
  report.tested = static_cast<int64_t>(cases.size());
  if (cases.empty()) return absl::InvalidArgumentError("events: no customer to test on this split");

  // The world: a scratch database, the real writer, the config's decisions.
  ScratchDir dir;
  if (dir.path().empty()) return absl::UnavailableError("cannot create a scratch directory");
  storage::StoreOptions so = cfg.store;
  so.path = dir.path() + "/db";
  so.durability = storage::Durability::kNoSync;
  so.event_retention_ms = 0;
  ASSIGN_OR_RETURN(std::unique_ptr<storage::RocksStore> store, storage::RocksStore::Open(so));
  core::LiveState live;
  ASSIGN_OR_RETURN(auto empty, core::Catalog::Empty(cfg.markets, cfg.currency));
  live.catalog.Publish(std::move(empty), live.epochs);
  // What the placements rank, not whom the contact policy holds back (a
  // customer who bought yesterday gets no newsletter today: no answer to
  // score).
  cfg.decisions.contact = {};
  live.offers.Attach(cfg.decisions);
  ASSIGN_OR_RETURN(auto decisions, core::DecisionConfig::Build(cfg.decisions));
  live.config.Publish(std::move(decisions), live.epochs);
  core::ManualClock clock(log.front().time);
  storage::IngestOptions ingest = cfg.ingest;
  ingest.max_unlisted_products =
      std::max<int>(ingest.max_unlisted_products, static_cast<int>(u.items.size()) + 1);
  ASSIGN_OR_RETURN(std::unique_ptr<storage::Ingestor> writer,
                   storage::Ingestor::Start(store.get(), &live, ingest, &clock));
  auto submit = [&](storage::Command c) -> absl::Status {
    return writer->SubmitAndWait(std::move(c)).status();
  };

  for (size_t i = 0; i < u.items.size(); i += 1000) {
    storage::UpsertProducts products;
    storage::SetStock stock;
    for (size_t j = i; j < std::min(i + 1000, u.items.size()); ++j) {
      const ItemInfo& info = u.items[j];
      core::Product p;
      p.id = info.id;
      p.name = info.name.empty() ? info.id : info.name;
      p.brand = info.brand;
      p.category_path = info.category_path;
      p.price_minor = info.price_minor > 0 ? info.price_minor : 100;
      p.tags = info.tags;
      p.active = true;
      products.products.push_back(std::move(p));
      for (const std::string& market : cfg.markets)
        stock.levels.push_back({info.id, "", market, 1});
    }
    RETURN_IF_ERROR(submit(std::move(products)));
    RETURN_IF_ERROR(submit(std::move(stock)));
  }
  for (size_t i = 0; i < u.customers.size(); i += 1000) {
    storage::UpsertCustomers customers;
    for (size_t j = i; j < std::min(i + 1000, u.customers.size()); ++j) {
      storage::CustomerUpsert c;
      c.customer_id = u.customers[j];
      c.country = cfg.markets.front();
      c.consent_personalization = true;
      c.consent_marketing_email = true;
      customers.customers.push_back(std::move(c));
    }
    RETURN_IF_ERROR(submit(std::move(customers)));
  }

  // Training, in time order, through the writer.
  std::vector<absl::flat_hash_set<uint32_t>> bought(u.customers.size()),
      touched(u.customers.size());
  std::vector<int64_t> interactions_of(u.items.size(), 0);
  storage::RecordEvents batch;
  core::TimeMs trained_until = log.front().time;
  auto flush = [&]() -> absl::Status {
    if (batch.events.empty()) return absl::OkStatus();
    clock.Set(batch.events.back().time);
    absl::Status s = submit(std::move(batch));
    batch = storage::RecordEvents();
    return s;
  };
  for (size_t i = 0; i < log.size(); ++i) {
    if (!training[i]) continue;
    const Interaction& in = log[i];
    storage::RawEvent e;
    e.event_id = absl::StrCat("e", in.order);
    e.customer_id = in.customer;
    e.type = in.type;
    e.time = in.time;
    e.channel = core::Channel::kWeb;
    const uint32_t item = u.item_index[in.item];
    if (in.type == core::EventType::kPurchase || in.type == core::EventType::kReturn) {
      const int64_t price =
          in.price_minor > 0 ? in.price_minor : std::max<int64_t>(u.items[item].price_minor, 100);
      e.order_id = absl::StrCat("o", in.order);
      e.lines.emplace_back(in.item, in.quantity, price);
    } else {
      e.product_id = in.item;
      e.quantity = in.type == core::EventType::kView ? 0 : in.quantity;
    }
    batch.events.push_back(std::move(e));
    const uint32_t c = u.customer_index[in.customer];
    if (in.type == core::EventType::kPurchase) bought[c].insert(item);
    touched[c].insert(item);
    ++interactions_of[item];
    trained_until = std::max(trained_until, in.time);
    ++report.training;
    if (batch.events.size() >= 1000) RETURN_IF_ERROR(flush());
    if (o.progress && report.training % 5000 == 0)
      o.progress("replaying", report.training, report.interactions);
  }
  RETURN_IF_ERROR(flush());
  clock.Set(trained_until);
  writer->Stop();  // every write applied; the last trending lists published
  {
    core::ReadGuard guard(live.epochs);
    live.models.Publish(core::BuildModels(cfg.models, live.customers, *live.catalog.Get(),
                                          *live.config.Get(), trained_until),
                        live.epochs);
  }

  core::ReadGuard guard(live.epochs);
  core::Snapshot snapshot = core::Snapshot::Of(live);
  snapshot.log = nullptr;  // offline: no exposures to record
  report.model_fingerprint = snapshot.models->fingerprint;
  report.model_seconds = snapshot.models->build_seconds;
  // Per test customer, the bought products that may not come back (a
  // durable bought once), as the models' repurchase profiles judge them.
  std::vector<absl::flat_hash_set<uint32_t>> durable(u.customers.size());
  for (const TestCase& t : cases) {
    const core::CustomerState* state = live.customers.Find(u.customers[t.customer]);
    if (state == nullptr) continue;
    for (const core::PurchaseRecord& rec : state->features.purchases) {
      if (core::MayRebuy(snapshot.models ? &snapshot.models->repurchase : nullptr, snapshot.catalog,
                         rec)) {
        continue;
      }
      auto it = u.item_index.find(snapshot.catalog.product(rec.product).id);
      if (it != u.item_index.end()) durable[t.customer].insert(it->second);
    }
  }

  // The popularity baseline: the most interacted-with items of the
  // training part that the customer has not touched.
  std::vector<uint32_t> by_popularity(u.items.size());
  for (uint32_t i = 0; i < by_popularity.size(); ++i) by_popularity[i] = i;
  std::stable_sort(by_popularity.begin(), by_popularity.end(),
                   [&](uint32_t a, uint32_t b) { return interactions_of[a] > interactions_of[b]; });
  ReportRow popularity{"popularity (most interacted, not bought)", Summary{}, 0};
  {
    RankingMetrics m(o.k);
    std::vector<uint32_t> top;
    for (const TestCase& t : cases) {
      top.clear();
      for (uint32_t item : by_popularity) {
        if (static_cast<int>(top.size()) >= o.k) break;
        if (!bought[t.customer].contains(item)) top.push_back(item);
      }
      m.Add(top, t.relevant, bought[t.customer], durable[t.customer], touched[t.customer],
            u.category_of);
    }
    popularity.metrics = m.Summarize(u.items.size());
  }
  report.rows.push_back(popularity);

  const std::vector<std::string> placements =
      o.placements.empty() ? DefaultPlacements(snapshot.config) : o.placements;
  int64_t decided = 0;
  for (const std::string& placement : placements) {
    const core::PlacementSpec* spec = snapshot.config.Find(placement);
    if (spec == nullptr)
      return absl::NotFoundError(absl::StrCat("placements: unknown placement '", placement, "'"));
    RankingMetrics m(o.k);
    ReportRow row{placement, Summary{}, 0};
    // With experiments in the config: the same metrics per arm
    // ("placement [experiment: variant]"), each customer in their own arm.
    std::map<std::string, std::pair<RankingMetrics, int64_t>> arms;
    std::vector<uint32_t> top;
    for (const TestCase& t : cases) {
      core::RecommendQuery q;
      q.customer_id = u.customers[t.customer];
      q.placement = placement;
      q.count = std::min(o.k, spec->max_count);
      q.time = o.decide_at_ms.value_or(t.time);
      ASSIGN_OR_RETURN(core::Recommendation r,
                       core::Recommend(snapshot, q, std::max(trained_until, *q.time)));
      top.clear();
      for (const core::DecidedItem& item : r.decision.items) {
        if (item.product == core::kNoProduct || item.offer >= 0) {
          ++row.offer_slots;  // offers are not products: not counted
          if (item.product == core::kNoProduct) continue;
        }
        auto it = u.item_index.find(snapshot.catalog.product(item.product).id);
        if (it != u.item_index.end()) top.push_back(it->second);
      }
      m.Add(top, t.relevant, bought[t.customer], durable[t.customer], touched[t.customer],
            u.category_of);
      core::Arm arm[2];
      const int n = core::ArmsOf(snapshot.config, r, arm);
      for (int i = 0; i < n; ++i) {
        const std::string name =
            absl::StrCat(placement, " [", arm[i].experiment, ": ", arm[i].variant, "]");
        auto it = arms.try_emplace(name, RankingMetrics(o.k), 0).first;
        it->second.first.Add(top, t.relevant, bought[t.customer], durable[t.customer],
                             touched[t.customer], u.category_of);
      }
      if (o.progress && ++decided % 500 == 0) {
        o.progress("deciding", decided, static_cast<int64_t>(cases.size() * placements.size()));
      }
    }
    row.metrics = m.Summarize(u.items.size());
    report.rows.push_back(row);
    for (auto& [name, arm] : arms) {
      report.rows.push_back({name, arm.first.Summarize(u.items.size()), arm.second});
    }
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

std::string FormatReport(const EvalReport& r, int k) {
  std::string out = absl::StrFormat(
      "%d customers, %d items, %d interactions: %d trained on, %d customers tested (%.1f "
      "s)\nsplit: %s\n"
      "models: fingerprint %016x, built in %.2f s\n"
      "full ranking over every item; HR/NDCG/MRR at %d; x = multiple of the popularity "
      "baseline\n\n",
      r.customers, r.items, r.interactions, r.training, r.tested, r.seconds, r.split,
      r.model_fingerprint, r.model_seconds, k);
  int width = 40;  // the longest row name (experiment arms are long)
  for (const ReportRow& row : r.rows) width = std::max(width, static_cast<int>(row.name.size()));
  absl::StrAppendFormat(&out, "%-*s %7s %6s %7s %6s %6s %6s %6s %6s %6s %13s %13s %6s\n", width, "",
                        "HR", "xHR", "NDCG", "xNDCG", "MRR", "cover", "bought", "durabl", "divers",
                        "novelHR (n)", "repeatHR (n)", "offers");
  const Summary& base = r.rows.front().metrics;
  for (const ReportRow& row : r.rows) {
    const Summary& m = row.metrics;
    auto times = [](double a, double b) {
      return b > 0 ? absl::StrFormat("%.2f", a / b) : std::string("-");
    };
    auto share = [](double rate, int64_t n) {
      return n > 0 ? absl::StrFormat("%.4f (%d)", rate, n) : std::string("-");
    };
    absl::StrAppendFormat(&out,
                          "%-*s %7.4f %6s %7.4f %6s %6.4f %6.3f %6.3f %6.3f %6.3f %13s %13s %6d\n",
                          width, row.name, m.hit_rate, times(m.hit_rate, base.hit_rate), m.ndcg,
                          times(m.ndcg, base.ndcg), m.mrr, m.coverage, m.bought_share,
                          m.durable_share, m.diversity, share(m.novel_hit_rate, m.novel_cases),
                          share(m.repeat_hit_rate, m.repeat_cases), row.offer_slots);
  }
  absl::StrAppend(
      &out,
      "\nbought: share of answers the customer had bought; durabl: of them bought durables (must "
      "be 0); divers: distinct leaf categories per "
      "item; novelHR: hit rate where the held-out item was new to the customer (n); repeatHR: "
      "where "
      "it was bought before (recall of due repeat purchases); offers: answer slots taken by offers "
      "(not counted: products only)\n");
  return out;
}

std::string ReportJson(const EvalReport& r) {
  std::string out = absl::StrFormat(
      R"({"customers":%d,"items":%d,"interactions":%d,"training":%d,"tested":%d,"seconds":%.3f,)"
      R"("model_fingerprint":"%016x","model_seconds":%.3f,"rows":[)",
      r.customers, r.items, r.interactions, r.training, r.tested, r.seconds, r.model_fingerprint,
      r.model_seconds);
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const Summary& m = r.rows[i].metrics;
    absl::StrAppendFormat(
        &out,
        R"(%s{"name":"%s","length":%.3f,"hr":%.6f,"ndcg":%.6f,"mrr":%.6f,"recall":%.6f,)"
        R"("coverage":%.6f,"bought_share":%.6f,"durable_share":%.6f,"diversity":%.6f,)"
        R"("repeat_cases":%d,"repeat_hr":%.6f,"novel_cases":%d,"novel_hr":%.6f,"offer_slots":%d})",
        i == 0 ? "" : ",", r.rows[i].name, m.mean_length, m.hit_rate, m.ndcg, m.mrr, m.recall,
        m.coverage, m.bought_share, m.durable_share, m.diversity, m.repeat_cases, m.repeat_hit_rate,
        m.novel_cases, m.novel_hit_rate, r.rows[i].offer_slots);
  }
  return out + "]}";
}

}  // namespace nextbest::tools::eval
