// Tests of the auth policy (token file, certificate roles, role checks,
// expiry), the per-stream rate limiter and the retention bound of the config.
#include "engine/auth.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "codec/config_loader.h"
#include "engine/grpc/rate_limiter.h"
#include "engine/testing/temp_dir.h"
#include "gtest/gtest.h"
#include "metrics/registry.h"

namespace ccr {
namespace {

constexpr char kGatewayToken[] = "gw-secret-1";
constexpr char kAgentToken[] = "agent-7-secret";
constexpr char kSupervisorToken[] = "sup-secret";
constexpr char kAdminToken[] = "admin-secret";
constexpr char kExpiredToken[] = "old-secret";

std::string TokenFile() {
  return absl::StrCat("# role name sha256 [expires]\n",                        //
                      "gateway telephony-1 ", Sha256Hex(kGatewayToken), "\n",  //
                      "agent agent-007 ", Sha256Hex(kAgentToken), "\n",        //
                      "\n",                                                    //
                      "supervisor floor-lead ", Sha256Hex(kSupervisorToken), "\n", "admin ops ",
                      Sha256Hex(kAdminToken), " 2999-01-01T00:00:00Z\n", "admin retired ",
                      Sha256Hex(kExpiredToken), " 2020-01-01T00:00:00Z\n");
}

void UseTokens(Authenticator& auth) {
  absl::StatusOr<AuthPolicy> policy = ParseTokenFile(TokenFile(), "tokens.txt");
  ASSERT_TRUE(policy.ok()) << policy.status();
  auth.SetPolicy(*std::move(policy));
}

absl::StatusOr<Principal> Bearer(const Authenticator& auth, absl::string_view token,
                                 RoleSet allowed) {
  return auth.AuthorizeCredentials(absl::StrCat("Bearer ", token), "", allowed, "Test.Call",
                                   "ipv4:127.0.0.1:1");
}

TEST(Auth, Sha256MatchesTheStandardVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Auth, EachRoleReachesExactlyItsServices) {
  metrics::MetricsRegistry registry("test");
  Authenticator auth(&registry);
  UseTokens(auth);
  EXPECT_EQ(Bearer(auth, kGatewayToken, kIngestRoles)->name, "telephony-1");
  EXPECT_EQ(Bearer(auth, kAdminToken, kIngestRoles)->role, Role::kAdmin);
  EXPECT_EQ(Bearer(auth, kAgentToken, kAgentRoles)->name, "agent-007");
  EXPECT_EQ(Bearer(auth, kSupervisorToken, kReadRoles)->role, Role::kSupervisor);
  EXPECT_TRUE(Bearer(auth, kAdminToken, kAdminRoles).ok());

  // A gateway cannot open an agent stream or read Admin; an agent cannot
  // submit; a supervisor cannot reload.
  for (auto [token, roles] :
       {std::pair{kGatewayToken, kAgentRoles}, std::pair{kGatewayToken, kReadRoles},
        std::pair{kAgentToken, kIngestRoles}, std::pair{kSupervisorToken, kAdminRoles},
        std::pair{kSupervisorToken, kIngestRoles}}) {
    absl::StatusOr<Principal> who = Bearer(auth, token, roles);
    EXPECT_EQ(who.status().code(), absl::StatusCode::kPermissionDenied) << token;
    EXPECT_TRUE(absl::StrContains(who.status().message(), "Test.Call needs the")) << who.status();
    EXPECT_FALSE(absl::StrContains(who.status().message(), token)) << "the token leaked";
  }
  // Unknown, expired, malformed and missing credentials.
  EXPECT_EQ(Bearer(auth, "nope", kReadRoles).status().code(), absl::StatusCode::kUnauthenticated);
  absl::StatusOr<Principal> expired = Bearer(auth, kExpiredToken, kAdminRoles);
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(expired.status().message(), "'retired' expired"));
  EXPECT_EQ(auth.AuthorizeCredentials("Basic abc", "", kReadRoles, "T", "p").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.AuthorizeCredentials("", "", kReadRoles, "T", "p").status().code(),
            absl::StatusCode::kUnauthenticated);

  // Counted by code.
  const std::string text = registry.Exposition();
  EXPECT_TRUE(absl::StrContains(text, "ccr_auth_denials_total{code=\"PERMISSION_DENIED\"} 5"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "ccr_auth_denials_total{code=\"UNAUTHENTICATED\"} 4"))
      << text;
}

TEST(Auth, AnAgentCredentialActsOnlyAsItsOwnAgent) {
  Authenticator auth(nullptr);
  UseTokens(auth);
  const Principal agent = *Bearer(auth, kAgentToken, kAgentRoles);
  EXPECT_TRUE(agent.MayActAsAgent("agent-007"));
  EXPECT_FALSE(agent.MayActAsAgent("agent-008"));
  EXPECT_TRUE((Principal{Role::kAgent, "*"}).MayActAsAgent("agent-008"));  // a desktop proxy
  EXPECT_FALSE((Principal{Role::kGateway, "*"}).MayActAsAgent("agent-008"));
}

TEST(Auth, OpenPolicyAdmitsEveryoneAsAdminUntilTokensArrive) {
  Authenticator auth(nullptr);
  absl::StatusOr<Principal> anyone = auth.AuthorizeCredentials("", "", kAdminRoles, "T", "p");
  ASSERT_TRUE(anyone.ok());
  EXPECT_EQ(anyone->name, "anonymous");
  // A reload with a token file closes the door; a rotated token is refused.
  auth.SetPolicy(*ParseTokenFile(TokenFile(), "tokens.txt"));
  EXPECT_FALSE(auth.AuthorizeCredentials("", "", kAdminRoles, "T", "p").ok());
  auth.SetPolicy(*ParseTokenFile(
      absl::StrCat("admin ops ", Sha256Hex("rotated-admin-secret"), "\n"), "tokens.txt"));
  EXPECT_EQ(Bearer(auth, kAdminToken, kAdminRoles).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(Bearer(auth, "rotated-admin-secret", kAdminRoles).ok());
}

TEST(Auth, TokenFileErrorsNameTheLine) {
  struct Case {
    std::string text;
    std::string want;
  } cases[] = {
      {"gateway only-two-fields\n", "line 1: want ROLE NAME SHA256_HEX"},
      {absl::StrCat("\nwizard w ", Sha256Hex("x"), "\n"),
       "line 2: the role (field 1) is not gateway, agent, supervisor or admin"},
      {"admin a deadbeef\n", "line 1: the hash must be 64 hex digits"},
      {absl::StrCat("admin a ", Sha256Hex("x"), " tomorrow\n"),
       "line 1: the expiry (field 4) is not an RFC 3339 time"},
      {absl::StrCat("admin a ", Sha256Hex("x"), "\nadmin b ", Sha256Hex("x"), "\n"),
       "line 2: the same token hash appears twice"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<AuthPolicy> p = ParseTokenFile(c.text, "t.txt");
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_TRUE(absl::StrContains(p.status().message(), "auth.token_file: t.txt")) << p.status();
    EXPECT_TRUE(absl::StrContains(p.status().message(), c.want)) << p.status();
  }
}

TEST(Auth, ATokenFileThatIsNotOneIsRefusedWithoutEchoingIt) {
  TempDir dir("ccr-auth");
  // Any readable file may be named by a reload: its content must not come
  // back in the error.
  const std::string passwd = dir.Path("passwd");
  {
    std::ofstream out(passwd);
    out << "root:x:0:0:hunter2-secret:/root:/bin/bash\n"
        << "daemon x 1 1 other-secret /usr/sbin\n";
  }
  for (const std::string& text :
       {std::string("root:x:0:0:hunter2-secret:/root:/bin/bash\n"),
        std::string("rootword hunter2-secret 0123\n"),
        absl::StrCat("admin hunter2-secret ", Sha256Hex("x"), " hunter2-expiry\n")}) {
    absl::StatusOr<AuthPolicy> p = ParseTokenFile(text, "t.txt");
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_FALSE(absl::StrContains(p.status().message(), "hunter2")) << p.status();
    EXPECT_FALSE(absl::StrContains(p.status().message(), "root")) << p.status();
    EXPECT_TRUE(absl::StrContains(p.status().message(), "t.txt line 1")) << p.status();
  }
  v1::AuthConfig config;
  config.set_token_file(passwd);
  absl::StatusOr<AuthPolicy> p = LoadAuthPolicy(config, false);
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(absl::StrContains(p.status().message(), "line 1")) << p.status();
  EXPECT_FALSE(absl::StrContains(p.status().message(), "root:")) << p.status();
  EXPECT_FALSE(absl::StrContains(p.status().message(), "secret")) << p.status();
}

TEST(Auth, ATokenFileMustBeARegularFileOfBoundedSize) {
  TempDir dir("ccr-auth");
  const std::string fifo = dir.Path("tokens.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  v1::AuthConfig config;
  config.set_token_file(fifo);
  // Returns at once (an ordinary open would wait for a writer for ever).
  absl::StatusOr<AuthPolicy> p = LoadAuthPolicy(config, false);
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(absl::StrContains(p.status().message(), "auth.token_file: cannot read '" + fifo))
      << p.status();
  EXPECT_TRUE(absl::StrContains(p.status().message(), "not a regular file")) << p.status();

  const std::string big = dir.Path("tokens.txt");
  {
    std::ofstream out(big);
    out << std::string(kMaxTokenFileBytes + 1, '#');
  }
  config.set_token_file(big);
  p = LoadAuthPolicy(config, false);
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(absl::StrContains(p.status().message(), "over the limit of 4194304 bytes"))
      << p.status();
}

TEST(Auth, OpenMustBeSaidAloneAndChangesAreDescribedWithoutSecrets) {
  v1::AuthConfig config;
  config.set_open(true);
  absl::StatusOr<AuthPolicy> open = LoadAuthPolicy(config, false);
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_TRUE(open->open);
  config.set_token_file("/nonexistent/tokens.txt");
  absl::StatusOr<AuthPolicy> both = LoadAuthPolicy(config, false);
  ASSERT_FALSE(both.ok());
  EXPECT_TRUE(absl::StrContains(both.status().message(), "auth.open")) << both.status();

  absl::StatusOr<AuthPolicy> tokens = ParseTokenFile(TokenFile(), "tokens.txt");
  ASSERT_TRUE(tokens.ok());
  EXPECT_FALSE(CompareAuthPolicies(*tokens, *tokens).has_value());
  EXPECT_FALSE(CompareAuthPolicies(*open, AuthPolicy{}).has_value());

  std::optional<AuthPolicyChange> opened = CompareAuthPolicies(*tokens, *open);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->open, "false->true");
  EXPECT_EQ(opened->tokens, "5->0");
  EXPECT_EQ(opened->tokens_removed, 5u);
  EXPECT_EQ(opened->roles, "gateway:1,agent:1,supervisor:1,admin:2->none");

  // A rotated token: same count, one hash out, one in.
  AuthPolicy rotated = *tokens;
  rotated.tokens.erase(Sha256Hex(kGatewayToken));
  rotated.tokens[Sha256Hex("gw-secret-2")] = {{Role::kGateway, "telephony-1"}};
  std::optional<AuthPolicyChange> change = CompareAuthPolicies(*tokens, rotated);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->open, "false->false");
  EXPECT_EQ(change->tokens, "5->5");
  EXPECT_EQ(change->tokens_added, 1u);
  EXPECT_EQ(change->tokens_removed, 1u);
  for (const std::string& field : {change->open, change->tokens, change->roles,
                                   change->certificate_roles, change->metrics_require_token}) {
    EXPECT_FALSE(absl::StrContains(field, Sha256Hex("gw-secret-2"))) << field;
    EXPECT_FALSE(absl::StrContains(field, "telephony")) << field;
  }
}

TEST(Auth, CertificateRolesNeedMutualTlsAndAValidRole) {
  v1::AuthConfig config;
  v1::CertificateRole* r = config.add_certificate_roles();
  r->set_common_name("gw.example");
  r->set_role("gateway");
  EXPECT_TRUE(absl::StrContains(LoadAuthPolicy(config, /*client_ca_set=*/false).status().message(),
                                "auth.certificate_roles[0]: needs tls.client_ca_file"));
  absl::StatusOr<AuthPolicy> policy = LoadAuthPolicy(config, /*client_ca_set=*/true);
  ASSERT_TRUE(policy.ok()) << policy.status();
  Authenticator auth(nullptr);
  auth.SetPolicy(*std::move(policy));
  EXPECT_EQ(auth.AuthorizeCredentials("", "gw.example", kIngestRoles, "T", "p")->name,
            "gw.example");
  EXPECT_EQ(auth.AuthorizeCredentials("", "gw.example", kReadRoles, "T", "p").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(auth.AuthorizeCredentials("", "stranger", kIngestRoles, "T", "p").status().code(),
            absl::StatusCode::kUnauthenticated);
  r->set_role("root");
  EXPECT_TRUE(absl::StrContains(LoadAuthPolicy(config, true).status().message(),
                                "auth.certificate_roles[0].role: 'root'"));
  config.clear_certificate_roles();
  config.set_token_file("/nonexistent/tokens.txt");
  EXPECT_TRUE(absl::StrContains(LoadAuthPolicy(config, true).status().message(),
                                "auth.token_file: cannot read '/nonexistent/tokens.txt'"));
}

TEST(Auth, TlsCredentialsNameTheMissingFile) {
  v1::TlsConfig tls;
  tls.set_cert_file("/nonexistent/cert.pem");
  tls.set_key_file("/nonexistent/key.pem");
  EXPECT_TRUE(absl::StrContains(TlsCredentials(tls).status().message(), "tls.cert_file:"));
  const std::string not_pem =
      (std::filesystem::temp_directory_path() / "ccr_auth_test_not.pem").string();
  std::ofstream(not_pem) << "hello";
  tls.set_cert_file(not_pem);
  EXPECT_TRUE(absl::StrContains(TlsCredentials(tls).status().message(), "is not PEM"));
  tls.clear_key_file();
  std::ofstream(not_pem) << "-----BEGIN CERTIFICATE-----\n";
  EXPECT_TRUE(
      absl::StrContains(TlsCredentials(tls).status().message(), "tls.key_file: required for TLS"));
  std::remove(not_pem.c_str());
}

TEST(MessageRateLimiter, BurstThenTheSteadyRate) {
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  MessageRateLimiter limit(/*per_second=*/10, /*burst=*/5);
  int allowed = 0;
  for (int i = 0; i < 8; ++i) allowed += limit.Allow(t0);
  EXPECT_EQ(allowed, 5);                                   // the burst
  EXPECT_FALSE(limit.Allow(t0 + absl::Milliseconds(50)));  // half a token so far
  EXPECT_TRUE(limit.Allow(t0 + absl::Milliseconds(100)));  // one token
  EXPECT_FALSE(limit.Allow(t0 + absl::Milliseconds(100)));
  // A long pause refills only up to the burst.
  allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += limit.Allow(t0 + absl::Seconds(60));
  EXPECT_EQ(allowed, 5);
  MessageRateLimiter unlimited(0, 0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(unlimited.Allow(t0));
}

TEST(Retention, WindowsHoldingPersonalDataMayNotOutliveIt) {
  std::string yaml(DefaultConfigYaml());
  EXPECT_TRUE(LoadRouterConfig(yaml + "\npersonal_data_retention_seconds: 86400\n").ok());
  absl::StatusOr<RouterConfig> short_retention =
      LoadRouterConfig(yaml + "\npersonal_data_retention_seconds: 3600\n");
  ASSERT_FALSE(short_retention.ok());
  EXPECT_TRUE(absl::StrContains(short_retention.status().message(),
                                "config.sticky_window_seconds: 86400 exceeds "
                                "personal_data_retention_seconds 3600"))
      << short_retention.status();
}

}  // namespace
}  // namespace ccr
