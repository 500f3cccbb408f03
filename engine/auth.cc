#include "engine/auth.h"

#include <openssl/sha.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "codec/config_loader.h"
#include "engine/log.h"
#include "grpcpp/server_context.h"
#include "metrics/catalogue.h"

namespace ccr {

const char* RoleName(Role r) {
  static constexpr const char* kNames[] = {"gateway", "agent", "supervisor", "admin"};
  return kNames[static_cast<int>(r)];
}

std::optional<Role> ParseRole(absl::string_view name) {
  for (Role r : {Role::kGateway, Role::kAgent, Role::kSupervisor, Role::kAdmin}) {
    if (name == RoleName(r)) return r;
  }
  return std::nullopt;
}

std::string Sha256Hex(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA256_DIGEST_LENGTH);
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

absl::StatusOr<AuthPolicy> ParseTokenFile(absl::string_view text, absl::string_view path,
                                          AuthPolicy policy) {
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    auto error = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat("auth.token_file: ", path, " line ", line_no, ": ", what));
    };
    if (fields.size() < 3 || fields.size() > 4) {
      return error("want ROLE NAME SHA256_HEX [EXPIRES]");
    }
    // Errors describe the line, never quote it: the path may name any file
    // the engine can read, and the caller of a reload sees the error.
    std::optional<Role> role = ParseRole(fields[0]);
    if (!role) return error("the role (field 1) is not gateway, agent, supervisor or admin");
    const std::string hash = absl::AsciiStrToLower(fields[2]);
    if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return error("the hash must be 64 hex digits (printf %s TOKEN | sha256sum)");
    }
    AuthPolicy::Token token{{*role, std::string(fields[1])}};
    if (fields.size() == 4) {
      std::string parse_error;
      if (!absl::ParseTime(absl::RFC3339_full, fields[3], &token.expires, &parse_error)) {
        return error("the expiry (field 4) is not an RFC 3339 time");
      }
    }
    if (!policy.tokens.emplace(hash, std::move(token)).second) {
      return error("the same token hash appears twice");
    }
    policy.open = false;
  }
  return policy;
}

absl::StatusOr<AuthPolicy> LoadAuthPolicy(const v1::AuthConfig& config, bool client_ca_set) {
  if (config.open() && (!config.token_file().empty() || config.certificate_roles_size() > 0)) {
    return absl::InvalidArgumentError(
        "auth.open: true admits every caller as admin, but auth.token_file or "
        "auth.certificate_roles asks for credentials; keep one or the other");
  }
  AuthPolicy policy;
  policy.metrics_require_token = config.metrics_require_token();
  for (int i = 0; i < config.certificate_roles_size(); ++i) {
    const v1::CertificateRole& c = config.certificate_roles(i);
    const std::string field = absl::StrCat("auth.certificate_roles[", i, "]");
    if (!client_ca_set) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": needs tls.client_ca_file (mTLS), or no client could present it"));
    }
    if (c.common_name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".common_name: required"));
    }
    std::optional<Role> role = ParseRole(c.role());
    if (!role) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".role: '", c.role(), "' is not gateway, agent, supervisor or admin"));
    }
    policy.certificate_subjects[c.common_name()] =
        Principal{*role, c.name().empty() ? c.common_name() : c.name()};
    policy.open = false;
  }
  if (!config.token_file().empty()) {
    // Regular files only, bounded: a FIFO or device would block the reload.
    absl::StatusOr<std::string> text = ReadFile(config.token_file(), kMaxTokenFileBytes);
    if (!text.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("auth.token_file: ", text.status().message()));
    }
    CCR_ASSIGN_OR_RETURN(AuthPolicy parsed,
                         ParseTokenFile(*text, config.token_file(), std::move(policy)));
    policy = std::move(parsed);
    policy.open = false;  // an empty token file still closes the door
  }
  if (policy.metrics_require_token && policy.tokens.empty()) {
    return absl::InvalidArgumentError(
        "auth.metrics_require_token: needs auth.token_file with a supervisor or admin token");
  }
  return policy;
}

namespace {

// "gateway:1,admin:2", or "none": tokens and certificate subjects per role.
std::string RoleCounts(const AuthPolicy& policy) {
  int counts[4] = {};
  for (const auto& [hash, token] : policy.tokens) ++counts[static_cast<int>(token.principal.role)];
  for (const auto& [cn, principal] : policy.certificate_subjects) {
    ++counts[static_cast<int>(principal.role)];
  }
  std::string out;
  for (Role r : {Role::kGateway, Role::kAgent, Role::kSupervisor, Role::kAdmin}) {
    if (counts[static_cast<int>(r)] == 0) continue;
    absl::StrAppend(&out, out.empty() ? "" : ",", RoleName(r), ":", counts[static_cast<int>(r)]);
  }
  return out.empty() ? "none" : out;
}

bool SamePrincipal(const Principal& a, const Principal& b) {
  return a.role == b.role && a.name == b.name;
}

}  // namespace

std::optional<AuthPolicyChange> CompareAuthPolicies(const AuthPolicy& before,
                                                    const AuthPolicy& after) {
  AuthPolicyChange change;
  for (const auto& [hash, token] : after.tokens) {
    auto it = before.tokens.find(hash);
    if (it == before.tokens.end()) {
      ++change.tokens_added;
    } else if (!SamePrincipal(it->second.principal, token.principal) ||
               it->second.expires != token.expires) {
      ++change.tokens_changed;
    }
  }
  for (const auto& [hash, token] : before.tokens) {
    if (!after.tokens.contains(hash)) ++change.tokens_removed;
  }
  bool same_certificates = before.certificate_subjects.size() == after.certificate_subjects.size();
  for (const auto& [cn, principal] : after.certificate_subjects) {
    auto it = before.certificate_subjects.find(cn);
    if (it == before.certificate_subjects.end() || !SamePrincipal(it->second, principal)) {
      same_certificates = false;
    }
  }
  if (before.open == after.open && before.metrics_require_token == after.metrics_require_token &&
      change.tokens_added == 0 && change.tokens_removed == 0 && change.tokens_changed == 0 &&
      same_certificates) {
    return std::nullopt;
  }
  auto flag = [](bool b) { return b ? "true" : "false"; };
  change.open = absl::StrCat(flag(before.open), "->", flag(after.open));
  change.tokens = absl::StrCat(before.tokens.size(), "->", after.tokens.size());
  change.roles = absl::StrCat(RoleCounts(before), "->", RoleCounts(after));
  change.certificate_roles =
      absl::StrCat(before.certificate_subjects.size(), "->", after.certificate_subjects.size());
  change.metrics_require_token =
      absl::StrCat(flag(before.metrics_require_token), "->", flag(after.metrics_require_token));
  return change;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsCredentials(const v1::TlsConfig& tls) {
  auto read = [](absl::string_view field, const std::string& path) -> absl::StatusOr<std::string> {
    if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required for TLS"));
    absl::StatusOr<std::string> text = ReadFile(path);
    if (!text.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": ", text.status().message()));
    }
    if (text->find("-----BEGIN") == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": '", path, "' is not PEM"));
    }
    return text;
  };
  CCR_ASSIGN_OR_RETURN(std::string cert, read("tls.cert_file", tls.cert_file()));
  CCR_ASSIGN_OR_RETURN(std::string key, read("tls.key_file", tls.key_file()));
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({key, cert});
  if (!tls.client_ca_file().empty()) {
    CCR_ASSIGN_OR_RETURN(std::string ca, read("tls.client_ca_file", tls.client_ca_file()));
    options.pem_root_certs = ca;
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

Authenticator::Authenticator(metrics::MetricsRegistry* registry)
    : policy_(std::make_shared<const AuthPolicy>()) {
  if (registry != nullptr) {
    unauthenticated_ = &registry->Counter(metrics::kAuthDenials, {"UNAUTHENTICATED"});
    permission_denied_ = &registry->Counter(metrics::kAuthDenials, {"PERMISSION_DENIED"});
  }
}

void Authenticator::SetPolicy(AuthPolicy policy) {
  auto next = std::make_shared<const AuthPolicy>(std::move(policy));
  absl::MutexLock lock(&mu_);
  policy_ = std::move(next);
}

std::shared_ptr<const AuthPolicy> Authenticator::policy() const {
  absl::MutexLock lock(&mu_);
  return policy_;
}

absl::Status Authenticator::Deny(absl::StatusCode code, std::string message,
                                 absl::string_view method, absl::string_view caller,
                                 absl::string_view peer) const {
  prometheus::Counter* counter =
      code == absl::StatusCode::kUnauthenticated ? unauthenticated_ : permission_denied_;
  if (counter != nullptr) counter->Increment();
  LogEvent(LogLevel::kWarn, "auth_denied",
           {{"method", std::string(method)},
            {"code",
             code == absl::StatusCode::kUnauthenticated ? "UNAUTHENTICATED" : "PERMISSION_DENIED"},
            {"caller", std::string(caller)},
            {"peer", std::string(peer)}});
  return absl::Status(code, message);
}

absl::StatusOr<Principal> Authenticator::AuthorizeCredentials(absl::string_view authorization,
                                                              absl::string_view certificate_cn,
                                                              RoleSet allowed,
                                                              absl::string_view method,
                                                              absl::string_view peer) const {
  return AuthorizeWith(*policy(), authorization, certificate_cn, allowed, method, peer);
}

absl::StatusOr<Principal> Authenticator::AuthorizeWith(const AuthPolicy& policy,
                                                       absl::string_view authorization,
                                                       absl::string_view certificate_cn,
                                                       RoleSet allowed, absl::string_view method,
                                                       absl::string_view peer) const {
  if (policy.open) return Principal{Role::kAdmin, "anonymous"};
  std::optional<Principal> who;
  if (!authorization.empty()) {
    absl::string_view token = authorization;
    if (!absl::ConsumePrefix(&token, "Bearer ") && !absl::ConsumePrefix(&token, "bearer ")) {
      return Deny(absl::StatusCode::kUnauthenticated, "authorization: want 'Bearer TOKEN'", method,
                  "", peer);
    }
    auto it = policy.tokens.find(Sha256Hex(absl::StripAsciiWhitespace(token)));
    if (it == policy.tokens.end()) {
      return Deny(absl::StatusCode::kUnauthenticated, "authorization: unknown token", method, "",
                  peer);
    }
    if (it->second.expires <= absl::Now()) {
      return Deny(
          absl::StatusCode::kUnauthenticated,
          absl::StrCat("authorization: the token of '", it->second.principal.name, "' expired"),
          method, it->second.principal.name, peer);
    }
    who = it->second.principal;
  } else if (!certificate_cn.empty()) {
    auto it = policy.certificate_subjects.find(certificate_cn);
    if (it == policy.certificate_subjects.end()) {
      return Deny(absl::StatusCode::kUnauthenticated,
                  absl::StrCat("client certificate '", certificate_cn, "' has no role"), method,
                  certificate_cn, peer);
    }
    who = it->second;
  } else {
    return Deny(absl::StatusCode::kUnauthenticated,
                "no credentials: send 'authorization: Bearer TOKEN' or a client certificate",
                method, "", peer);
  }
  if ((allowed & RoleBit(who->role)) == 0) {
    std::string roles;
    for (Role r : {Role::kGateway, Role::kAgent, Role::kSupervisor, Role::kAdmin}) {
      if (allowed & RoleBit(r)) absl::StrAppend(&roles, roles.empty() ? "" : " or ", RoleName(r));
    }
    return Deny(absl::StatusCode::kPermissionDenied,
                absl::StrCat(method, " needs the ", roles, " role; '", who->name, "' is ",
                             RoleName(who->role)),
                method, who->name, peer);
  }
  return *who;
}

absl::StatusOr<Principal> Authenticator::Authorize(const grpc::ServerContextBase& ctx,
                                                   RoleSet allowed,
                                                   absl::string_view method) const {
  const std::shared_ptr<const AuthPolicy> policy = this->policy();
  if (policy->open) return Principal{Role::kAdmin, "anonymous"};
  absl::string_view authorization;
  const auto& metadata = ctx.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    authorization = absl::string_view(it->second.data(), it->second.size());
  }
  std::string cn;
  if (std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
      auth && auth->IsPeerAuthenticated()) {
    for (const grpc::string_ref& v : auth->FindPropertyValues("x509_common_name")) {
      cn.assign(v.data(), v.size());
    }
  }
  return AuthorizeWith(*policy, authorization, cn, allowed, method, ctx.peer());
}

}  // namespace ccr
