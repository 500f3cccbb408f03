#include "engine/web/ws_agent_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/check.h"
#include "codec/read_file.h"
#include "codec/wire.h"

namespace ccr {

namespace {

// Domain separation: a MAC made for anything else with the same secret is
// never a valid token.
constexpr absl::string_view kMacContext = "ccrouter agent-desk token v1\n";

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("access_token: ", why));
}

}  // namespace

AgentTokenSigner AgentTokenSigner::WithRandomSecret() {
  std::string secret(32, '\0');
  CCR_CHECK(RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()),
                       static_cast<int>(secret.size())) == 1)
      << "no randomness for the agent token secret";
  return AgentTokenSigner(std::move(secret));
}

absl::StatusOr<AgentTokenSigner> AgentTokenSigner::FromSecretFile(const std::string& path,
                                                                  absl::string_view field) {
  absl::StatusOr<std::string> secret = ReadFile(path, kMaxAgentTokenSecretBytes);
  if (!secret.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", secret.status().message()));
  }
  if (secret->size() < kMinAgentTokenSecretBytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": '", path, "' holds ", secret->size(),
                                                   " bytes; a secret needs at least ",
                                                   kMinAgentTokenSecretBytes));
  }
  return AgentTokenSigner(*std::move(secret));
}

std::string AgentTokenSigner::Mac(absl::string_view signed_part) const {
  const std::string input = absl::StrCat(kMacContext, signed_part);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_bytes = 0;
  CCR_CHECK(HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
                 reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                 &mac_bytes) != nullptr)
      << "HMAC-SHA256 failed";
  return std::string(reinterpret_cast<const char*>(mac), mac_bytes);
}

absl::StatusOr<MintedAgentToken> AgentTokenSigner::Mint(absl::string_view agent_id,
                                                        absl::Duration ttl, absl::Time now) const {
  if (agent_id.empty() || agent_id.size() > InputLimits::kMaxIdBytes) {
    return absl::InvalidArgumentError("agent_id: 1..128 bytes");
  }
  if (ttl == absl::ZeroDuration()) ttl = kDefaultAgentTokenTtl;
  if (ttl < absl::Seconds(1) || ttl > kMaxAgentTokenTtl) {
    return absl::InvalidArgumentError(
        absl::StrCat("ttl_seconds: ", absl::ToInt64Seconds(ttl), " is out of range (1 to ",
                     absl::ToInt64Seconds(kMaxAgentTokenTtl), ", 0 for ",
                     absl::ToInt64Seconds(kDefaultAgentTokenTtl), ")"));
  }
  const int64_t expires_unix = absl::ToUnixSeconds(now + ttl);
  const std::string signed_part =
      absl::StrCat(absl::WebSafeBase64Escape(agent_id), ".", expires_unix);
  return MintedAgentToken{
      absl::StrCat(signed_part, ".", absl::WebSafeBase64Escape(Mac(signed_part))),
      absl::FromUnixSeconds(expires_unix)};
}

absl::StatusOr<Principal> AgentTokenSigner::Verify(absl::string_view token, absl::Time now) const {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return Unauthenticated("not an agent token");
  const absl::string_view signed_part = token.substr(0, parts[0].size() + 1 + parts[1].size());
  std::string mac;
  if (!absl::WebSafeBase64Unescape(parts[2], &mac)) return Unauthenticated("not an agent token");
  const std::string expected = Mac(signed_part);
  // Constant time: the comparison must not tell a forger how close it came.
  if (mac.size() != expected.size() ||
      CRYPTO_memcmp(mac.data(), expected.data(), expected.size()) != 0) {
    return Unauthenticated("not signed by this engine (forged, or minted before a restart)");
  }
  int64_t expires_unix = 0;
  std::string agent_id;
  if (!absl::SimpleAtoi(parts[1], &expires_unix) ||
      !absl::WebSafeBase64Unescape(parts[0], &agent_id) || agent_id.empty()) {
    return Unauthenticated("not an agent token");
  }
  if (absl::FromUnixSeconds(expires_unix) <= now) {
    return Unauthenticated(absl::StrCat("expired at ",
                                        absl::FormatTime(absl::FromUnixSeconds(expires_unix)),
                                        "; ask for a new one"));
  }
  return Principal{Role::kAgent, std::move(agent_id)};
}

}  // namespace ccr
