// The browser agent token: bound to one agent, signed, expiring, bounded TTL.
#include "engine/web/ws_agent_token.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ccr {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

TEST(AgentTokenSigner, AMintedTokenGrantsTheAgentRoleForItsAgentUntilItExpires) {
  AgentTokenSigner signer(std::string(32, 'k'));
  absl::StatusOr<MintedAgentToken> minted = signer.Mint("a-7", absl::Minutes(10), kNow);
  ASSERT_TRUE(minted.ok()) << minted.status();
  EXPECT_EQ(minted->expires_at, kNow + absl::Minutes(10));
  absl::StatusOr<Principal> who = signer.Verify(minted->token, kNow + absl::Minutes(9));
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->role, Role::kAgent);
  EXPECT_EQ(who->name, "a-7");
  EXPECT_TRUE(who->MayActAsAgent("a-7"));
  EXPECT_FALSE(who->MayActAsAgent("a-8"));
  absl::StatusOr<Principal> late = signer.Verify(minted->token, kNow + absl::Minutes(10));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(late.status().message(), HasSubstr("expired"));
}

TEST(AgentTokenSigner, ATokenOfAnotherSecretOrAlteredIsRefusedWithoutEchoingIt) {
  AgentTokenSigner signer(std::string(32, 'k'));
  AgentTokenSigner other(std::string(32, 'x'));
  absl::StatusOr<MintedAgentToken> forged = other.Mint("a-7", absl::Hours(1), kNow);
  ASSERT_TRUE(forged.ok());
  absl::StatusOr<Principal> who = signer.Verify(forged->token, kNow);
  EXPECT_EQ(who.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(who.status().message(), HasSubstr("not signed by this engine"));
  EXPECT_THAT(std::string(who.status().message()), ::testing::Not(HasSubstr(forged->token)));
  // Another agent's id, or a later expiry, under the original MAC.
  absl::StatusOr<MintedAgentToken> real = signer.Mint("a-7", absl::Hours(1), kNow);
  ASSERT_TRUE(real.ok());
  const std::string mac = real->token.substr(real->token.rfind('.'));
  AgentTokenSigner helper(std::string(32, 'k'));
  absl::StatusOr<MintedAgentToken> for_a8 = helper.Mint("a-8", absl::Hours(1), kNow);
  ASSERT_TRUE(for_a8.ok());
  const std::string swapped = for_a8->token.substr(0, for_a8->token.rfind('.')) + mac;
  EXPECT_EQ(signer.Verify(swapped, kNow).status().code(), absl::StatusCode::kUnauthenticated);
  for (const char* junk : {"", "abc", "a.b", "a.b.c.d", "....", "YS03.1.!!!"}) {
    EXPECT_EQ(signer.Verify(junk, kNow).status().code(), absl::StatusCode::kUnauthenticated)
        << junk;
  }
}

TEST(AgentTokenSigner, MintRefusesOutOfBoundsNamingTheField) {
  AgentTokenSigner signer = AgentTokenSigner::WithRandomSecret();
  EXPECT_THAT(signer.Mint("", absl::Hours(1), kNow).status().message(), HasSubstr("agent_id"));
  EXPECT_THAT(signer.Mint(std::string(129, 'a'), absl::Hours(1), kNow).status().message(),
              HasSubstr("agent_id"));
  absl::StatusOr<MintedAgentToken> too_long =
      signer.Mint("a", absl::Hours(12) + absl::Seconds(1), kNow);
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_long.status().message(), HasSubstr("ttl_seconds"));
  absl::StatusOr<MintedAgentToken> by_default = signer.Mint("a", absl::ZeroDuration(), kNow);
  ASSERT_TRUE(by_default.ok());
  EXPECT_EQ(by_default->expires_at, kNow + kDefaultAgentTokenTtl);
  // Two engines with random secrets do not accept each other's tokens.
  EXPECT_FALSE(AgentTokenSigner::WithRandomSecret().Verify(by_default->token, kNow).ok());
}

}  // namespace
}  // namespace ccr
