#include "codec/owner_redirect.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ccr {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseServerListTest, AcceptsOneOrSeveralAddresses) {
  EXPECT_THAT(*ParseServerList("--server", "127.0.0.1:7700"), ElementsAre("127.0.0.1:7700"));
  EXPECT_THAT(*ParseServerList("--server", "a.example:7700, b-2.example:7701,[::1]:7702"),
              ElementsAre("a.example:7700", "b-2.example:7701", "[::1]:7702"));
}

TEST(ParseServerListTest, ErrorNamesTheFlagAndTheBadAddress) {
  const struct {
    const char* text;
    const char* named;
  } kBad[] = {
      {"", "empty address"},          {"a:1,", "empty address"},      {"a:1,b", "\"b\""},
      {"a:1,b:0", "\"b:0\""},         {"a:1,b:65536", "\"b:65536\""}, {"a:1,b:+5", "\"b:+5\""},
      {"a:1,:7700", "\":7700\""},     {"a b:7700", "\"a b:7700\""},   {"::1:7700", "\"::1:7700\""},
      {"[::1:7700", "\"[::1:7700\""}, {"a:1,a:1", "listed twice"},
  };
  for (const auto& bad : kBad) {
    const absl::StatusOr<std::vector<std::string>> parsed = ParseServerList("--server", bad.text);
    ASSERT_FALSE(parsed.ok()) << bad.text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr("--server")) << bad.text;
    EXPECT_THAT(parsed.status().message(), HasSubstr(bad.named)) << bad.text;
  }
}

TEST(ParseServerListTest, AtMostSixteenAddresses) {
  std::vector<std::string> addresses;
  for (int i = 0; i < 16; ++i) addresses.push_back(absl::StrCat("10.0.0.", i, ":7700"));
  EXPECT_EQ(ParseServerList("--server", absl::StrJoin(addresses, ","))->size(), 16u);
  addresses.push_back("10.0.1.1:7700");
  const auto parsed = ParseServerList("--server", absl::StrJoin(addresses, ","));
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("\"10.0.1.1:7700\" is one too many"));
}

// What a client iterates over: key -> value pairs whose values have data()
// and size(), like gRPC's trailing metadata.
TEST(OwnerFromTrailersTest, FindsAValidOwnerOnly) {
  std::multimap<std::string, std::string> trailers;
  EXPECT_EQ(OwnerFromTrailers(trailers), std::nullopt);
  trailers.emplace("other", "10.0.0.1:7700");
  EXPECT_EQ(OwnerFromTrailers(trailers), std::nullopt);
  trailers.emplace(kOwnerMetadataKey, "10.0.0.2:7700");
  EXPECT_EQ(OwnerFromTrailers(trailers), "10.0.0.2:7700");
  std::multimap<std::string, std::string> garbled{{kOwnerMetadataKey, "no port here"}};
  EXPECT_EQ(OwnerFromTrailers(garbled), std::nullopt);
}

TEST(ServerListTest, UnreachableMovesRoundRobinAndSaysWhenARoundIsDone) {
  ServerList servers({"a:1", "b:1", "c:1"});
  EXPECT_EQ(servers.current(), "a:1");
  EXPECT_TRUE(servers.OnUnreachable());
  EXPECT_EQ(servers.current(), "b:1");
  EXPECT_TRUE(servers.OnUnreachable());
  EXPECT_EQ(servers.current(), "c:1");
  EXPECT_FALSE(servers.OnUnreachable());  // all three failed
  EXPECT_EQ(servers.current(), "a:1");    // but it still moved on, for the next round
  servers.OnConnected();
  EXPECT_TRUE(servers.OnUnreachable());
  EXPECT_EQ(servers.current(), "b:1");
}

TEST(ServerListTest, FollowsAtMostTwoRedirectsUntilConnected) {
  ServerList servers({"a:1", "b:1"});
  EXPECT_TRUE(servers.OnRedirect("owner:1"));  // the owner need not be listed
  EXPECT_EQ(servers.current(), "owner:1");
  EXPECT_TRUE(servers.OnRedirect("newer-owner:1"));
  EXPECT_EQ(servers.current(), "newer-owner:1");
  EXPECT_FALSE(servers.OnRedirect("a:1"));  // a third: two nodes naming each other
  EXPECT_EQ(servers.current(), "newer-owner:1");
  servers.OnConnected();
  EXPECT_TRUE(servers.OnRedirect("a:1"));
  EXPECT_EQ(servers.current(), "a:1");
}

TEST(ServerListTest, ANodeNamingItselfIsNoRedirect) {
  ServerList servers({"a:1", "b:1"});
  EXPECT_FALSE(servers.OnRedirect("a:1"));
  EXPECT_EQ(servers.current(), "a:1");
}

TEST(ServerListTest, AnUnreachableOwnerSendsTheClientBackToTheNextListedAddress) {
  ServerList servers({"a:1", "b:1", "c:1"});
  ASSERT_TRUE(servers.OnRedirect("owner:1"));
  EXPECT_TRUE(servers.OnUnreachable());
  // Not a:1 again: it is the standby that named the dead owner.
  EXPECT_EQ(servers.current(), "b:1");
}

TEST(WithOwnerTest, AStatusCarriesTheOwnerItNames) {
  const absl::Status moved = WithOwner(absl::UnavailableError("ownership moved"), "127.0.0.1:7100");
  EXPECT_EQ(moved.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(moved.message(), "ownership moved");
  EXPECT_EQ(OwnerOf(moved), "127.0.0.1:7100");
  // No owner known: the status stays as it was.
  EXPECT_EQ(OwnerOf(WithOwner(absl::UnavailableError("x"), "")), std::nullopt);
  EXPECT_EQ(OwnerOf(absl::UnavailableError("x")), std::nullopt);
  // An OK status carries nothing (absl drops payloads on OK).
  EXPECT_EQ(OwnerOf(WithOwner(absl::OkStatus(), "127.0.0.1:7100")), std::nullopt);
}

}  // namespace
}  // namespace ccr
