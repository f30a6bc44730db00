// Privacy end to end, through the real server binary and the real CLI:
// erasure (incl. a forensic search of the raw database files), suppression
// of late events, export, consent changes, the admin token, checkpoints.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "nextbest/v1/admin.grpc.pb.h"
#include "nextbest/v1/catalog.grpc.pb.h"
#include "nextbest/v1/customers.grpc.pb.h"
#include "nextbest/v1/decisions.grpc.pb.h"
#include "nextbest/v1/events.grpc.pb.h"
#include "nextbest/v1/privacy.grpc.pb.h"
#include "tests/server/e2e_fixture.h"

namespace nextbest {
namespace {

using testing::RunCli;
using testing::ServerProcess;
using testing::TempDir;

constexpr char kSubject[] = "gdpr-subject-7e41c9";
constexpr char kPayload[] = "ORDER-UNIQUE-PAYLOAD-52b18f";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Every file under `dir` whose bytes contain `needle`.
std::vector<std::string> FilesContaining(const std::string& dir, const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (bytes.str().find(needle) != std::string::npos) found.push_back(entry.path().filename());
  }
  return found;
}

class PrivacyTest : public testing::ServerTest {
 protected:
  void SetUp() override {
    data_ = data_dir();
    StartServer({"--config=" NEXTBEST_DEPLOY_CONFIG});
    std::string out;
    ASSERT_EQ(RunCli(server_->target(),
                     "demo-data --customers=300 --products=120 --stores=20 --days=90", &out),
              0)
        << out;
  }
  void Restart() { RestartServer(); }

  v1::Event Purchase(const std::string& id, const std::string& customer, int64_t time_ms,
                     const std::string& order_id = "") {
    v1::Event e;
    e.set_event_id(id);
    e.set_customer_id(customer);
    e.set_type(v1::EVENT_TYPE_PURCHASE);
    e.mutable_time()->set_seconds(time_ms / 1000);
    e.mutable_time()->set_nanos(static_cast<int>(time_ms % 1000) * 1000000);
    e.set_channel(v1::CHANNEL_WEB);
    e.mutable_order()->set_order_id(order_id.empty() ? "o-" + id : order_id);
    auto* l = e.mutable_order()->add_lines();
    l->set_product_id("p3");
    l->set_quantity(1);
    l->mutable_unit_price()->set_amount_minor(1250);
    l->mutable_unit_price()->set_currency("EUR");
    return e;
  }
  v1::Event View(const std::string& id, const std::string& customer, int64_t time_ms) {
    v1::Event e;
    e.set_event_id(id);
    e.set_customer_id(customer);
    e.set_type(v1::EVENT_TYPE_VIEW);
    e.set_channel(v1::CHANNEL_APP);
    e.mutable_time()->set_seconds(time_ms / 1000);
    e.set_product_id("p5");
    return e;
  }
  // Records `events` (expecting success) and returns the counts.
  v1::RecordEventsResponse Record(std::vector<v1::Event> events) {
    v1::RecordEventsResponse resp;
    grpc::Status s = ServerTest::Record(events, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  // The subject: attributes, 30 events (one with the unique payload), some
  // flushed to SST files by a restart, the rest in the WAL and memtable.
  void CreateSubject(int64_t base_ms) {
    v1::UpsertCustomersRequest cr;
    auto* c = cr.add_customers();
    c->set_customer_id(kSubject);
    c->set_country("NL");
    c->set_birth_year(1980);
    c->mutable_consent()->set_personalization(true);
    c->mutable_consent()->set_marketing_email(true);
    v1::UpsertCustomersResponse cresp;
    ASSERT_TRUE(
        Call(&v1::CustomerService::Stub::UpsertCustomers, customers_.get(), cr, &cresp).ok());
    std::vector<v1::Event> batch;
    for (int i = 0; i < 15; ++i)
      batch.push_back(Purchase(absl::StrCat("s", i), kSubject, base_ms + i * 1000));
    batch.push_back(Purchase("payload", kSubject, base_ms + 20000, kPayload));
    EXPECT_EQ(Record(std::move(batch)).accepted(), 16);
    Restart();  // a clean close flushes: the subject is in SST files now
    batch.clear();
    for (int i = 15; i < 30; ++i)
      batch.push_back(View(absl::StrCat("s", i), kSubject, base_ms + i * 1000));
    EXPECT_EQ(Record(std::move(batch)).accepted(), 15);
  }

  std::string data_;
};

// The erasure-forensics test: after the erasure RPC, neither the id (raw or
// hex) nor the unique payload is anywhere in the database directory - SST
// files, WAL, MANIFEST, logs - also not after a restart; late events (and
// retries from clocks up to 24 h ahead) do not resurrect the profile;
// nobody else is hurt.
TEST_F(PrivacyTest, EraseRemovesEveryByteAndSuppressesLateEvents) {
  const int64_t base = NowMs() - 10 * 86400000LL;
  CreateSubject(base);
  ASSERT_FALSE(FilesContaining(data_, kSubject).empty())
      << "the test must see the id on disk first";
  ASSERT_FALSE(FilesContaining(data_, kPayload).empty());
  v1::GetProfileResponse before_other;
  ASSERT_TRUE(Profile("c1", &before_other).ok());

  v1::EraseCustomerRequest req;
  req.set_customer_id(kSubject);
  v1::EraseCustomerResponse resp;
  grpc::Status s = Call(&v1::PrivacyService::Stub::EraseCustomer, privacy_.get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const v1::ErasureReceipt& r = resp.receipt();
  EXPECT_TRUE(r.attributes_erased());
  EXPECT_TRUE(r.features_erased());
  EXPECT_TRUE(r.erased_from_memory());
  EXPECT_EQ(r.events_erased(), 31);
  EXPECT_EQ(r.idempotency_keys_erased(), 31);
  EXPECT_TRUE(r.purged_from_files()) << r.purge_error();
  EXPECT_EQ(r.subject_hash().size(), 64u);
  EXPECT_EQ(r.subject_hash().find(kSubject), std::string::npos);
  const int64_t erased_at = r.erased_at().seconds() * 1000 + r.erased_at().nanos() / 1000000;

  const std::string hex_id = absl::BytesToHexString(kSubject);
  EXPECT_EQ(FilesContaining(data_, kSubject), std::vector<std::string>{});
  EXPECT_EQ(FilesContaining(data_, hex_id), std::vector<std::string>{});
  EXPECT_EQ(FilesContaining(data_, kPayload), std::vector<std::string>{});

  v1::GetProfileResponse profile;
  EXPECT_EQ(Profile(kSubject, &profile).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Call(&v1::PrivacyService::Stub::EraseCustomer, privacy_.get(), req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // A replay of old events (also ones never seen before, timestamped before
  // the erasure) is dropped and counted, in unary and streaming ingest.
  v1::RecordEventsResponse late =
      Record({Purchase("s3", kSubject, base + 3000), View("new-old", kSubject, erased_at - 1)});
  EXPECT_EQ(late.accepted(), 0);
  EXPECT_EQ(late.suppressed(), 2);
  {
    grpc::ClientContext ctx;
    v1::StreamEventsResponse sresp;
    auto writer = events_->StreamEvents(&ctx, &sresp);
    v1::StreamEventsRequest chunk;
    *chunk.add_events() = Purchase("s4", kSubject, base + 4000);
    ASSERT_TRUE(writer->Write(chunk));
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
    EXPECT_EQ(sresp.suppressed(), 1);
    EXPECT_EQ(sresp.accepted(), 0);
  }
  EXPECT_EQ(Profile(kSubject, &profile).error_code(), grpc::StatusCode::NOT_FOUND);

  // Suppression survives a restart; still nothing on disk.
  Restart();
  EXPECT_EQ(Record({Purchase("s5", kSubject, base + 5000)}).suppressed(), 1);
  EXPECT_EQ(Profile(kSubject, &profile).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(FilesContaining(data_, kSubject), std::vector<std::string>{});
  EXPECT_EQ(FilesContaining(data_, kPayload), std::vector<std::string>{});

  // Events dated up to 24 h after the erasure (the clock skew the server
  // accepts) are dropped too: a retry from a client whose clock runs ahead
  // must not re-create the profile. (Later ones start a new, empty profile:
  // tests/storage/ingestor_test.cc, with a clock of its own.)
  const int64_t through =
      r.events_dropped_through().seconds() * 1000 + r.events_dropped_through().nanos() / 1000000;
  EXPECT_EQ(through, erased_at + 24 * 3600 * 1000LL);
  EXPECT_EQ(Record({View("fresh", kSubject, NowMs()),
                    View("skewed", kSubject, NowMs() + 23 * 3600 * 1000LL)})
                .suppressed(),
            2);
  EXPECT_EQ(Profile(kSubject, &profile).error_code(), grpc::StatusCode::NOT_FOUND);

  // Others are untouched.
  v1::GetProfileResponse other;
  ASSERT_TRUE(Profile("c1", &other).ok());
  EXPECT_EQ(other.features().events(), before_other.features().events());
}

TEST_F(PrivacyTest, EraseThroughTheCliPrintsTheReceipt) {
  std::string out;
  ASSERT_EQ(RunCli(server_->target(), "erase --customer=c9", &out), 0) << out;
  google::protobuf::util::JsonParseOptions lenient;
  v1::ErasureReceipt receipt;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &receipt, lenient).ok()) << out;
  EXPECT_TRUE(receipt.erased_from_memory());
  EXPECT_GT(receipt.events_erased(), 0);
  EXPECT_TRUE(receipt.purged_from_files());
  EXPECT_EQ(RunCli(server_->target(), "erase --customer=c9", &out), 5) << out;
  EXPECT_EQ(RunCli(server_->target(), "profile --customer=c9", &out), 5) << out;
  EXPECT_EQ(RunCli(server_->target(), "erase --customer=", &out), 3) << out;
  // The newsletter run no longer knows the customer.
  v1::DecideForAllRequest all;
  all.set_placement("newsletter.blocks");
  all.set_include_without_email_consent(true);
  grpc::ClientContext ctx;
  auto reader = decisions_->DecideForAll(&ctx, all);
  v1::DecideForAllResponse msg;
  int64_t decided = 0;
  while (reader->Read(&msg)) {
    for (const auto& d : msg.decisions()) {
      EXPECT_NE(d.customer_id(), "c9");
      ++decided;
    }
    // Customers the shipped contact policy holds back are counted, not decided.
    if (msg.last()) decided += msg.skipped_contact_cap() + msg.skipped_quiet_period();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(decided, 299);
}

TEST_F(PrivacyTest, ExportReturnsEverythingHeld) {
  const int64_t base = NowMs() - 5 * 86400000LL;
  std::vector<v1::Event> batch;
  for (int i = 0; i < 1200; ++i)
    batch.push_back(View(absl::StrCat("x", i), "exported", base + i * 1000));
  for (int i = 0; i < 1200; i += 600) {
    std::vector<v1::Event> part(batch.begin() + i, batch.begin() + i + 600);
    EXPECT_EQ(Record(std::move(part)).accepted(), 600);
  }
  EXPECT_EQ(Record({Purchase("buy", "exported", base + 2000000, kPayload)}).accepted(), 1);

  v1::ExportCustomerRequest req;
  req.set_customer_id("exported");
  grpc::ClientContext ctx;
  testing::AddAdminToken(ctx);
  auto reader = privacy_->ExportCustomer(&ctx, req);
  v1::ExportCustomerResponse msg;
  int messages = 0;
  std::vector<v1::Event> events;
  v1::GetProfileResponse profile;
  while (reader->Read(&msg)) {
    if (messages++ == 0) profile = msg.profile();
    for (const auto& e : msg.events()) events.push_back(e);
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(messages, 3);  // 1201 events, 500 per message
  ASSERT_EQ(events.size(), 1201u);
  EXPECT_EQ(profile.customer().customer_id(), "exported");
  EXPECT_EQ(profile.features().events(), 1201);
  EXPECT_EQ(events.front().event_id(), "x0");  // oldest first
  EXPECT_EQ(events.back().order().order_id(), kPayload);
  EXPECT_EQ(events.back().order().lines(0).unit_price().amount_minor(), 1250);
  for (const auto& e : events) EXPECT_EQ(e.customer_id(), "exported");

  // The CLI: one JSON document (protobuf JSON mapping).
  std::string out;
  ASSERT_EQ(RunCli(server_->target(), "export --customer=c2", &out), 0) << out.substr(0, 500);
  v1::ExportCustomerResponse doc;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &doc).ok()) << out.substr(0, 500);
  EXPECT_EQ(doc.profile().customer().customer_id(), "c2");
  EXPECT_EQ(doc.events_size(), doc.profile().features().events());
  EXPECT_EQ(RunCli(server_->target(), "export --customer=nobody", &out), 5) << out;
}

TEST_F(PrivacyTest, ConsentChangesTakeEffectOnTheNextRequestAndPersist) {
  // c1 has personalization consent in the demo data.
  v1::RecommendRequest rec;
  rec.set_customer_id("c1");
  rec.mutable_context()->set_placement("homepage.speciaal_voor_jou");
  v1::RecommendResponse r;
  ASSERT_TRUE(Call(&v1::DecisionService::Stub::Recommend, decisions_.get(), rec, &r).ok());
  const bool had = r.personalized();

  v1::SetConsentRequest off;
  off.set_customer_id("c1");
  off.set_personalization(false);
  off.set_marketing_email(false);
  v1::SetConsentResponse cresp;
  grpc::Status set = Call(&v1::PrivacyService::Stub::SetConsent, privacy_.get(), off, &cresp);
  ASSERT_TRUE(set.ok()) << set.error_message();
  EXPECT_FALSE(cresp.consent().personalization());
  ASSERT_TRUE(Call(&v1::DecisionService::Stub::Recommend, decisions_.get(), rec, &r).ok());
  EXPECT_FALSE(r.personalized());
  EXPECT_FALSE(r.fallback_reason().empty());

  v1::GetProfileResponse p;
  ASSERT_TRUE(Profile("c1", &p).ok());
  EXPECT_FALSE(p.customer().consent().marketing_email());
  const std::string country = p.customer().country();
  Restart();
  ASSERT_TRUE(Profile("c1", &p).ok());
  EXPECT_FALSE(p.customer().consent().personalization());
  EXPECT_EQ(p.customer().country(), country) << "consent changes keep the other attributes";

  std::string out;
  ASSERT_EQ(RunCli(server_->target(), "consent --customer=c1 --personalization=true", &out), 0)
      << out;
  EXPECT_NE(out.find("personalization yes, marketing e-mail no"), std::string::npos) << out;
  rec.set_request_id("again");
  ASSERT_TRUE(Call(&v1::DecisionService::Stub::Recommend, decisions_.get(), rec, &r).ok());
  EXPECT_EQ(r.personalized(), had);
  EXPECT_EQ(RunCli(server_->target(), "consent --customer=c1 --personalization=maybe", &out), 3)
      << out;
  EXPECT_EQ(RunCli(server_->target(), "consent --customer=nobody --marketing=true", &out), 5)
      << out;
  EXPECT_EQ(RunCli(server_->target(), "consent --customer=c1", &out), 3) << out;
}

TEST_F(PrivacyTest, AdminAndPrivacyRpcsNeedTheToken) {
  // Stubs whose calls carry no credential (the fixture's carry the token).
  auto anonymous = server_->AnonymousChannel();
  auto privacy = v1::PrivacyService::NewStub(anonymous);
  auto admin = v1::AdminService::NewStub(anonymous);
  v1::EraseCustomerRequest erase;
  erase.set_customer_id("c1");
  v1::EraseCustomerResponse eresp;
  EXPECT_EQ(
      Call(&v1::PrivacyService::Stub::EraseCustomer, privacy.get(), erase, &eresp).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext wrong;
  wrong.AddMetadata("authorization", "Bearer not-the-token-at-all");
  EXPECT_EQ(privacy->EraseCustomer(&wrong, erase, &eresp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::ReloadConfigResponse rr;
  EXPECT_EQ(Call(&v1::AdminService::Stub::ReloadConfig, admin.get(), v1::ReloadConfigRequest(), &rr)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::CheckpointRequest cp;
  cp.set_dir(dir_.path() + "/never");
  v1::CheckpointResponse cpr;
  EXPECT_EQ(Call(&v1::AdminService::Stub::Checkpoint, admin.get(), cp, &cpr).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::ExportCustomerRequest ex;
  ex.set_customer_id("c1");
  grpc::ClientContext ctx;
  auto reader = privacy->ExportCustomer(&ctx, ex);
  v1::ExportCustomerResponse msg;
  EXPECT_FALSE(reader->Read(&msg));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // Nothing happened: the profile (which itself needs a credential) is there.
  v1::GetProfileResponse p;
  EXPECT_TRUE(Profile("c1", &p).ok());
  std::string out;
  EXPECT_EQ(RunCli(server_->target(), "erase --customer=c1 --admin_token_file=/dev/null", &out), 16)
      << out;
}

TEST(PrivacyStartupTest, WithoutATokenFileTheServerCreatesOneOnlyItsUserCanRead) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ServerProcess server;
  ASSERT_TRUE(server.Start(data, {}, /*test_token=*/false)) << server.log();
  struct stat st {};
  ASSERT_EQ(stat((data + "/admin_token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  // The data directory the server created, and every file in it (RocksDB's
  // included), are its user's alone.
  ASSERT_EQ(stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(data)) {
    ASSERT_EQ(stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0077, 0)
        << e.path() << " is readable by others: " << std::oct << (st.st_mode & 0777);
    ++files;
  }
  EXPECT_GT(files, 5);
  std::string token;
  std::ifstream(data + "/admin_token") >> token;
  EXPECT_GE(token.size(), 32u);
  std::string out;
  // The CLI finds it with --data_dir; the environment's test token is wrong.
  EXPECT_EQ(RunCli(server.target(), "segments --data_dir=/nonexistent", &out), 16) << out;
  unsetenv("NEXTBEST_ADMIN_TOKEN");
  EXPECT_EQ(RunCli(server.target(), "rebuild-models --data_dir=" + data, &out), 0) << out;
  // The same token after a restart.
  ASSERT_EQ(server.Stop(SIGTERM), 0);
  ServerProcess again;
  ASSERT_TRUE(again.Start(data, {}, false)) << again.log();
  EXPECT_EQ(RunCli(again.target(), "rebuild-models --data_dir=" + data, &out), 0) << out;
}

// Backups: a checkpoint taken under the API, restored by starting a server
// on it, holds exactly what was acknowledged before it.
TEST_F(PrivacyTest, CheckpointRestoresTheStateAtItsTime) {
  const int64_t base = NowMs() - 86400000LL;
  EXPECT_EQ(Record({Purchase("before", "backup-cust", base)}).accepted(), 1);
  const std::string backup = dir_.path() + "/backup";
  std::string out;
  ASSERT_EQ(RunCli(server_->target(), "checkpoint --dir=" + backup, &out), 0) << out;
  EXPECT_EQ(RunCli(server_->target(), "checkpoint --dir=" + backup, &out), 6) << out;
  EXPECT_EQ(Record({Purchase("after", "backup-cust", base + 1000)}).accepted(), 1);
  v1::GetProfileResponse live;
  ASSERT_TRUE(Profile("backup-cust", &live).ok());
  EXPECT_EQ(live.features().orders(), 2);

  ServerProcess restored;
  ASSERT_TRUE(restored.Start(backup)) << restored.log();
  auto stub = v1::CustomerService::NewStub(restored.Channel());
  v1::GetProfileRequest req;
  req.set_customer_id("backup-cust");
  v1::GetProfileResponse p;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub->GetProfile(&ctx, req, &p).ok());
  EXPECT_EQ(p.features().orders(), 1);
  grpc::ClientContext ctx2;
  req.set_customer_id("c1");
  v1::GetProfileResponse c1;
  EXPECT_TRUE(stub->GetProfile(&ctx2, req, &c1).ok());
}

// Backups are outside erasure: a checkpoint taken before an erasure still
// holds the customer. The erasure list (`nextbest erasures`, hashes and
// times only) re-applied at the restore (--reapply_erasures) erases them
// again, purges their bytes, and keeps suppressing late events of
// customers the backup never held.
TEST_F(PrivacyTest, ErasuresAfterACheckpointAreReappliedWhenItIsRestored) {
  const int64_t base = NowMs() - 86400000LL;
  ASSERT_EQ(Record({Purchase("o1", "gone-later", base), View("v1", "kept-cust", base)}).accepted(),
            2);
  std::string out;
  // Refused: a relative path, and a path inside the data directory.
  EXPECT_EQ(RunCli(server_->target(), "checkpoint --dir=relative/backup", &out), 3) << out;
  EXPECT_NE(out.find("must be an absolute path"), std::string::npos) << out;
  EXPECT_EQ(RunCli(server_->target(), "checkpoint --dir=" + data_ + "/inner", &out), 3) << out;
  EXPECT_NE(out.find("inside the data directory"), std::string::npos) << out;
  EXPECT_EQ(RunCli(server_->target(), "checkpoint --dir=" + data_ + "/../data/x/..", &out), 3)
      << out;
  const std::string backup = dir_.path() + "/backup";
  ASSERT_EQ(RunCli(server_->target(), "checkpoint --dir=" + backup, &out), 0) << out;

  ASSERT_EQ(Record({View("v2", "after-cust", base + 1000)}).accepted(), 1);
  for (const char* id : {"gone-later", "after-cust"}) {
    ASSERT_EQ(RunCli(server_->target(), std::string("erase --customer=") + id, &out), 0) << out;
  }
  const std::string list = dir_.path() + "/erasures.jsonl";
  ASSERT_EQ(RunCli(server_->target(), "erasures --out=" + list, &out), 0) << out;
  std::ifstream in(list);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  EXPECT_EQ(text.find("gone-later"), std::string::npos) << "hashes only, never an id";

  auto profile_code = [](ServerProcess& server, const std::string& id) {
    auto stub = v1::CustomerService::NewStub(server.Channel());
    v1::GetProfileRequest req;
    req.set_customer_id(id);
    v1::GetProfileResponse p;
    grpc::ClientContext ctx;
    return stub->GetProfile(&ctx, req, &p).error_code();
  };
  const std::string restored_dir = dir_.path() + "/restored";
  std::filesystem::copy(backup, restored_dir, std::filesystem::copy_options::recursive);
  {  // The backup as taken still holds the erased customer.
    ServerProcess plain;
    ASSERT_TRUE(plain.Start(backup)) << plain.log();
    EXPECT_EQ(profile_code(plain, "gone-later"), grpc::StatusCode::OK);
  }
  ServerProcess restored;
  ASSERT_TRUE(restored.Start(restored_dir, {"--reapply_erasures=" + list})) << restored.log();
  EXPECT_NE(restored.log().find(
                "2 listed, 0 already on record, 1 customers erased, 1 suppressions added"),
            std::string::npos)
      << restored.log();
  EXPECT_EQ(profile_code(restored, "gone-later"), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(profile_code(restored, "kept-cust"), grpc::StatusCode::OK);
  EXPECT_EQ(FilesContaining(restored_dir, "gone-later"), std::vector<std::string>{});
  // Late events of both stay dropped.
  auto events = v1::EventService::NewStub(restored.Channel());
  v1::RecordEventsRequest late;
  *late.add_events() = View("late-1", "gone-later", base + 2000);
  *late.add_events() = View("late-2", "after-cust", base + 2000);
  v1::RecordEventsResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(events->RecordEvents(&ctx, late, &resp).ok());
  EXPECT_EQ(resp.suppressed(), 2);
  EXPECT_EQ(profile_code(restored, "after-cust"), grpc::StatusCode::NOT_FOUND);
  // Re-applying again changes nothing.
  ASSERT_EQ(restored.Stop(), 0);
  ServerProcess again;
  ASSERT_TRUE(again.Start(restored_dir, {"--reapply_erasures=" + list})) << again.log();
  EXPECT_NE(again.log().find("2 listed, 2 already on record, 0 customers erased"),
            std::string::npos)
      << again.log();
}

// Profile retention: a customer inactive for longer than the configured
// age is erased by the periodic sweep; an active one stays.
TEST(RetentionTest, InactiveProfilesAreErased) {
  TempDir dir;
  const std::string config = dir.path() + "/retention.textproto";
  std::ofstream(config) << "privacy { profile_retention_days: 30 event_retention_days: 60 "
                           "retention_sweep_seconds: 1 }"
                        << testing::kConfigEnd;
  ServerProcess server;
  ASSERT_TRUE(server.Start(dir.path() + "/data", {"--config=" + config})) << server.log();
  auto events = v1::EventService::NewStub(server.Channel());
  auto customers = v1::CustomerService::NewStub(server.Channel());
  v1::RecordEventsRequest req;
  const int64_t now_s = NowMs() / 1000;
  for (auto [customer, age_days] : {std::pair{"dormant", 45}, {"active", 1}}) {
    v1::Event* e = req.add_events();
    e->set_event_id(absl::StrCat("ev-", customer));
    e->set_customer_id(customer);
    e->set_type(v1::EVENT_TYPE_VIEW);
    e->set_channel(v1::CHANNEL_WEB);
    e->set_product_id("p1");
    e->mutable_time()->set_seconds(now_s - age_days * 86400);
  }
  v1::RecordEventsResponse resp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(events->RecordEvents(&ctx, req, &resp).ok());
  }
  auto status = [&](const std::string& id) {
    grpc::ClientContext ctx;
    v1::GetProfileRequest pr;
    pr.set_customer_id(id);
    v1::GetProfileResponse p;
    return customers->GetProfile(&ctx, pr, &p).error_code();
  };
  for (int i = 0; i < 100 && status("dormant") == grpc::StatusCode::OK; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status("dormant"), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status("active"), grpc::StatusCode::OK);
  EXPECT_NE(server.log().find("retention: erased 1 profiles"), std::string::npos) << server.log();

  // A backfill of the dormant customer's history after the sweep: what is
  // older than the retention horizon stays dropped, recent activity (even
  // from minutes before the sweep) counts and starts a new profile.
  v1::RecordEventsRequest backfill;
  for (auto [id, age_minutes] : {std::pair{"old", 40 * 24 * 60}, {"recent", 15}}) {
    v1::Event* e = backfill.add_events();
    e->set_event_id(absl::StrCat("backfill-", id));
    e->set_customer_id("dormant");
    e->set_type(v1::EVENT_TYPE_VIEW);
    e->set_channel(v1::CHANNEL_WEB);
    e->set_product_id("p1");
    e->mutable_time()->set_seconds(now_s - age_minutes * 60);
  }
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(events->RecordEvents(&ctx, backfill, &resp).ok());
  }
  EXPECT_EQ(resp.suppressed(), 1);
  EXPECT_EQ(resp.accepted(), 1);
  EXPECT_EQ(status("dormant"), grpc::StatusCode::OK);
}

}  // namespace
}  // namespace nextbest
