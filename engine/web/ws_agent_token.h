// AgentTokenSigner: short-lived, per-agent tokens for browser desktops, which
// cannot set an authorization header on a WebSocket. Admin.MintAgentToken
// mints one for an agent a CRM or SSO backend has authenticated; the browser
// presents it at the /v1/agent-desk upgrade, where Verify turns it into an
// agent principal for that one agent id, until it expires.
//
//   AgentTokenSigner signer = AgentTokenSigner::WithRandomSecret();
//   absl::StatusOr<MintedAgentToken> t = signer.Mint("a-7", absl::Hours(1), absl::Now());
//   absl::StatusOr<Principal> who = signer.Verify(t->token, absl::Now());  // agent "a-7"
//
// A token is "AGENT.EXPIRES.MAC": the agent id (web-safe base64), the expiry
// (Unix seconds) and HMAC-SHA256 over both with the engine's secret (web-safe
// base64). Nothing is stored: a token cannot be revoked before it expires
// except by changing the secret (a restart with another secret file, or with
// none: the random secret is made anew at every start). Hence the bounded TTL.
//
// Thread-safe: constant after construction.
#ifndef CCROUTER_ENGINE_WEB_WS_AGENT_TOKEN_H_
#define CCROUTER_ENGINE_WEB_WS_AGENT_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/auth.h"

namespace ccr {

inline constexpr absl::Duration kMaxAgentTokenTtl = absl::Hours(12);
inline constexpr absl::Duration kDefaultAgentTokenTtl = absl::Hours(1);
// Bounds on a secret file's size.
inline constexpr size_t kMinAgentTokenSecretBytes = 32;
inline constexpr size_t kMaxAgentTokenSecretBytes = 4096;

struct MintedAgentToken {
  std::string token;
  absl::Time expires_at;
};

class AgentTokenSigner {
 public:
  // 32 random bytes from the OS: tokens die with the process.
  static AgentTokenSigner WithRandomSecret();
  // The secret in the file at `path` (config field `field`): InvalidArgument
  // naming the field when unreadable or outside the size bounds.
  static absl::StatusOr<AgentTokenSigner> FromSecretFile(const std::string& path,
                                                         absl::string_view field);
  explicit AgentTokenSigner(std::string secret) : secret_(std::move(secret)) {}

  // A token for `agent_id`, good until now + ttl (ttl zero: the default).
  // InvalidArgument naming agent_id or ttl_seconds when out of bounds.
  absl::StatusOr<MintedAgentToken> Mint(absl::string_view agent_id, absl::Duration ttl,
                                        absl::Time now) const;
  // The agent principal the token grants: UNAUTHENTICATED when malformed,
  // forged (signed with another secret) or expired. Never echoes the token.
  absl::StatusOr<Principal> Verify(absl::string_view token, absl::Time now) const;

 private:
  std::string Mac(absl::string_view signed_part) const;
  std::string secret_;
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_WEB_WS_AGENT_TOKEN_H_
