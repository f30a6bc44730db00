// nextbest consent | erase | export | erasures | hash-token: the privacy back
// office and caller credentials.

#include <fstream>
#include <iostream>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/json_util.h"
#include "nextbest/v1/privacy.grpc.pb.h"
#include "openssl/evp.h"
#include "tools/cli.h"

ABSL_FLAG(std::string, personalization, "", "consent: true|false");
ABSL_FLAG(std::string, marketing, "", "consent: true|false (marketing e-mail)");
ABSL_FLAG(bool, new_token, false, "hash-token: make a new random token and print it with its hash");

namespace nextbest::cli {
namespace {

std::optional<bool> ParseBoolFlag(const std::string& v, bool* bad) {
  if (v.empty()) return std::nullopt;
  if (v == "true") return true;
  if (v == "false") return false;
  *bad = true;
  return std::nullopt;
}

}  // namespace

int Consent() {
  if (absl::GetFlag(FLAGS_customer).empty()) return Usage("consent: --customer required");
  bool bad = false;
  const auto personalization = ParseBoolFlag(absl::GetFlag(FLAGS_personalization), &bad);
  const auto marketing = ParseBoolFlag(absl::GetFlag(FLAGS_marketing), &bad);
  if (bad) return Usage("consent: --personalization and --marketing take true or false");
  v1::SetConsentRequest req;
  req.set_customer_id(absl::GetFlag(FLAGS_customer));
  if (personalization) req.set_personalization(*personalization);
  if (marketing) req.set_marketing_email(*marketing);
  return CallAndPrint("consent", &v1::PrivacyService::Stub::SetConsent, req,
                      [&](const v1::SetConsentResponse& resp) {
                        std::cout << absl::StrFormat(
                            "%s: personalization %s, marketing e-mail %s\n", req.customer_id(),
                            resp.consent().personalization() ? "yes" : "no",
                            resp.consent().marketing_email() ? "yes" : "no");
                      });
}

// The receipt, always as JSON (it is the record the privacy office keeps).
int Erase() {
  if (absl::GetFlag(FLAGS_customer).empty()) return Usage("erase: --customer required");
  v1::EraseCustomerRequest req;
  req.set_customer_id(absl::GetFlag(FLAGS_customer));
  v1::EraseCustomerResponse resp;
  if (int rc = Call("erase", &v1::PrivacyService::Stub::EraseCustomer, req, &resp); rc != 0)
    return rc;
  PrintJson(resp.receipt());
  std::cout << "\n";
  return 0;
}

// One JSON document: the profile, exported_at and every event.
int Export() {
  if (absl::GetFlag(FLAGS_customer).empty()) return Usage("export: --customer required");
  v1::ExportCustomerRequest req;
  req.set_customer_id(absl::GetFlag(FLAGS_customer));
  auto stub = v1::PrivacyService::NewStub(Channel());
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  auto reader = stub->ExportCustomer(&ctx, req);
  v1::ExportCustomerResponse all, msg;
  while (reader->Read(&msg)) all.MergeFrom(msg);
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(s, "export");
  PrintJson(all);
  std::cout << "\n";
  return 0;
}

// Every erasure on record, one JSON line each (to keep with the backups and
// re-apply with nextbest-server --reapply_erasures=FILE).
int Erasures() {
  auto stub = v1::PrivacyService::NewStub(Channel());
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  auto reader = stub->ListErasures(&ctx, v1::ListErasuresRequest());
  std::ofstream file;
  if (!absl::GetFlag(FLAGS_out).empty()) file.open(absl::GetFlag(FLAGS_out));
  std::ostream& out = file.is_open() ? file : std::cout;
  v1::ListErasuresResponse msg;
  int64_t n = 0;
  while (reader->Read(&msg)) {
    for (const v1::Erasure& e : msg.erasures()) {
      std::string line;
      (void)google::protobuf::util::MessageToJsonString(e, &line);
      out << line << "\n";
      ++n;
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(s, "erasures");
  if (file.is_open()) std::cerr << n << " erasures written to " << absl::GetFlag(FLAGS_out) << "\n";
  return 0;
}

// The SHA-256 of a token for the config's `auth.callers`; with
// --new_token, a new random token first.
int HashToken() {
  std::string token;
  if (absl::GetFlag(FLAGS_new_token)) {
    std::ifstream random("/dev/urandom", std::ios::binary);
    unsigned char bytes[24];
    random.read(reinterpret_cast<char*>(bytes), sizeof bytes);
    if (!random) return Usage("hash-token: cannot read /dev/urandom");
    for (unsigned char b : bytes) token += absl::StrFormat("%02x", b);
    std::cout << "token: " << token << "\n";
  } else if (!absl::GetFlag(FLAGS_token_file).empty()) {
    token = ReadToken(absl::GetFlag(FLAGS_token_file));
  } else {
    std::getline(std::cin, token);
    token = std::string(absl::StripAsciiWhitespace(token));
  }
  if (token.size() < 16) return Usage("hash-token: a token needs at least 16 characters");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += absl::StrFormat("%02x", digest[i]);
  std::cout << "token_sha256: \"" << hex << "\"\n";
  return 0;
}

}  // namespace nextbest::cli
