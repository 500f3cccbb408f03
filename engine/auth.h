// Auth: who may call what. Every RPC names the roles it admits; a caller
// proves a role with a bearer token (`authorization: Bearer TOKEN`, checked
// against SHA-256 hashes from the token file) or with its TLS client
// certificate (common name mapped to a role in the config).
//
//   absl::StatusOr<AuthPolicy> policy = LoadAuthPolicy(config.auth(), tls_client_ca_set);
//   Authenticator auth(registry);            // counts denials in ccr_auth_denials_total
//   auth.SetPolicy(std::move(*policy));      // again on every reload
//   absl::StatusOr<Principal> who = auth.Authorize(ctx, kGatewayRoles, "ContactIngest.Submit");
//
// Roles:
//   gateway     ContactIngest
//   agent       AgentDesk, only as the agent its name says (* for a desktop
//               proxy that serves any agent)
//   supervisor  Admin reads: ListQueues, ListAgents, Explain, WatchEvents
//   admin       all of Admin, and anything a gateway may do
// Without tokens and certificate roles the policy is open: every caller is
// an admin named "anonymous" (loopback development). A reload may open an
// engine that requires credentials only when its config says `auth: {open:
// true}` (Engine::Reload); every change of policy is logged
// (event=auth_policy_changed, counts and flags only).
//
// Denials are UNAUTHENTICATED (no or unknown credential, expired token) or
// PERMISSION_DENIED (a known caller without the role), counted and logged
// with the caller's name and address, never the token.
//
// Thread-safe: Authorize runs on gRPC threads and never blocks (the policy
// is an immutable snapshot swapped under a short lock).
#ifndef CCROUTER_ENGINE_AUTH_H_
#define CCROUTER_ENGINE_AUTH_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ccrouter/v1/config.pb.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "metrics/registry.h"
#include "prometheus/counter.h"

namespace ccr {

namespace v1 = ::ccrouter::v1;

enum class Role : uint8_t { kGateway, kAgent, kSupervisor, kAdmin };
const char* RoleName(Role r);
std::optional<Role> ParseRole(absl::string_view name);

// A set of roles, as a bit mask.
using RoleSet = uint8_t;
constexpr RoleSet RoleBit(Role r) { return static_cast<RoleSet>(1u << static_cast<int>(r)); }
inline constexpr RoleSet kIngestRoles = RoleBit(Role::kGateway) | RoleBit(Role::kAdmin);
inline constexpr RoleSet kAgentRoles = RoleBit(Role::kAgent);
inline constexpr RoleSet kReadRoles = RoleBit(Role::kSupervisor) | RoleBit(Role::kAdmin);
inline constexpr RoleSet kAdminRoles = RoleBit(Role::kAdmin);

struct Principal {
  Role role = Role::kAdmin;
  std::string name;
  // An agent principal may act as the agent its name says ("*": any); the
  // anonymous admin of an open policy as anyone.
  bool MayActAsAgent(absl::string_view agent_id) const {
    return role == Role::kAdmin || (role == Role::kAgent && (name == "*" || name == agent_id));
  }
};

struct AuthPolicy {
  bool open = true;  // no credentials configured: everyone is admin
  struct Token {
    Principal principal;
    absl::Time expires = absl::InfiniteFuture();
  };
  absl::flat_hash_map<std::string, Token> tokens;                    // by SHA-256 hex
  absl::flat_hash_map<std::string, Principal> certificate_subjects;  // by common name
  bool metrics_require_token = false;
};

// The token file is read only if it is a regular file of at most this size
// (about 40,000 tokens).
inline constexpr size_t kMaxTokenFileBytes = 4 * 1024 * 1024;

// Parses the token file's text (see proto/ccrouter/v1/config.proto).
// InvalidArgument naming `path`, the line and the field otherwise; never the
// text itself (the path may name any file the engine can read).
absl::StatusOr<AuthPolicy> ParseTokenFile(absl::string_view text, absl::string_view path,
                                          AuthPolicy policy = {});
// Reads the token file and maps certificate roles. certificate_roles need
// mTLS (`client_ca_set`), or nobody could present them.
absl::StatusOr<AuthPolicy> LoadAuthPolicy(const v1::AuthConfig& config, bool client_ca_set);

// How `after` grants differently from `before`, for the log: each field
// "BEFORE->AFTER" (unchanged fields too), never a token, hash or name.
struct AuthPolicyChange {
  std::string open;                   // "false->true"
  std::string tokens;                 // "5->0"
  size_t tokens_added = 0;            // hashes in after only
  size_t tokens_removed = 0;          // hashes in before only
  size_t tokens_changed = 0;          // same hash, other role, name or expiry
  std::string roles;                  // tokens and certificates per role: "gateway:1,admin:1->none"
  std::string certificate_roles;      // "0->2"
  std::string metrics_require_token;  // "true->false"
};
// nullopt when both admit exactly the same callers.
std::optional<AuthPolicyChange> CompareAuthPolicies(const AuthPolicy& before,
                                                    const AuthPolicy& after);

// Server credentials for `tls`: cert_file and key_file required; with
// client_ca_file, clients must present a certificate it signed (mTLS).
// InvalidArgument naming the field whose file is missing or unreadable.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsCredentials(const v1::TlsConfig& tls);

// Lower-case hex SHA-256 of `text`.
std::string Sha256Hex(absl::string_view text);

class Authenticator {
 public:
  // `registry` may be null (no metrics).
  explicit Authenticator(metrics::MetricsRegistry* registry);

  void SetPolicy(AuthPolicy policy);
  std::shared_ptr<const AuthPolicy> policy() const;

  // The caller of `ctx` if it holds one of `allowed`. `method` names the RPC
  // in the denial message and log.
  absl::StatusOr<Principal> Authorize(const grpc::ServerContextBase& ctx, RoleSet allowed,
                                      absl::string_view method) const;
  // The same from an `authorization` header value and a certificate common
  // name (empty: none), for HTTP and tests.
  absl::StatusOr<Principal> AuthorizeCredentials(absl::string_view authorization,
                                                 absl::string_view certificate_cn, RoleSet allowed,
                                                 absl::string_view method,
                                                 absl::string_view peer) const;
  bool metrics_require_token() const { return policy()->metrics_require_token; }

  // Counts and logs a refusal and returns it as a status (also for checks
  // made after Authorize, such as an agent logging in as someone else).
  absl::Status Deny(absl::StatusCode code, std::string message, absl::string_view method,
                    absl::string_view caller, absl::string_view peer) const;

 private:
  // AuthorizeCredentials under a policy snapshot already taken.
  absl::StatusOr<Principal> AuthorizeWith(const AuthPolicy& policy, absl::string_view authorization,
                                          absl::string_view certificate_cn, RoleSet allowed,
                                          absl::string_view method, absl::string_view peer) const;

  mutable absl::Mutex mu_;
  // The snapshot itself is immutable; only the pointer is guarded.
  std::shared_ptr<const AuthPolicy> policy_ ABSL_GUARDED_BY(mu_);
  prometheus::Counter* unauthenticated_ = nullptr;
  prometheus::Counter* permission_denied_ = nullptr;
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_AUTH_H_
