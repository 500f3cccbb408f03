#include "tools/ccload/load_options.h"

#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_DECLARE_FLAG(double, stats_interval);
ABSL_DECLARE_FLAG(bool, bench);

namespace ccr::load {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ParseArgsTest, Defaults) {
  absl::StatusOr<LoadOptions> options = ParseArgs({});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_THAT(options->servers, ElementsAre("127.0.0.1:7700"));
  EXPECT_EQ(options->agents, 12);
  EXPECT_EQ(options->rate_per_second, 2);
  EXPECT_EQ(options->duration_seconds, 0);
  EXPECT_EQ(options->stats_interval_seconds, 1);
  EXPECT_FALSE(options->seed_given);
  EXPECT_TRUE(options->mix_path.empty());
  EXPECT_FALSE(options->json);
  EXPECT_FALSE(options->help);
}

TEST(ParseArgsTest, EveryFlagInBothSpellings) {
  absl::StatusOr<LoadOptions> options =
      ParseArgs({"--server", "10.0.0.5:9000", "--agents=3", "--rate", "0.5", "--duration=20",
                 "--seed", "77", "--mix", "my mix.yaml", "--stats-interval=2.5", "--json"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_THAT(options->servers, ElementsAre("10.0.0.5:9000"));
  EXPECT_EQ(options->agents, 3);
  EXPECT_EQ(options->rate_per_second, 0.5);
  EXPECT_EQ(options->duration_seconds, 20);
  EXPECT_EQ(options->seed, 77u);
  EXPECT_TRUE(options->seed_given);
  EXPECT_EQ(options->mix_path, "my mix.yaml");
  EXPECT_EQ(options->stats_interval_seconds, 2.5);
  EXPECT_TRUE(options->json);
  EXPECT_TRUE(ParseArgs({"--help"})->help);
  EXPECT_TRUE(ParseArgs({"-h"})->help);
}

TEST(ParseArgsTest, ZeroRateAndZeroAgentsAreAllowed) {
  absl::StatusOr<LoadOptions> options = ParseArgs({"--rate", "0", "--agents", "0"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->rate_per_second, 0);
  EXPECT_EQ(options->agents, 0);
  // The demo drives as many agents as the benchmark (it was capped at 9,999).
  EXPECT_EQ(ParseArgs({"--agents", "100000"})->agents, kMaxAgents);
  EXPECT_THAT(ParseArgs({"--server", "[::1]:7700"})->servers, ElementsAre("[::1]:7700"));
  EXPECT_THAT(ParseArgs({"--server", "10.0.0.5:7700,10.0.0.6:7700"})->servers,
              ElementsAre("10.0.0.5:7700", "10.0.0.6:7700"));
  // A bad address in a list is named.
  EXPECT_THAT(std::string(ParseArgs({"--server", "10.0.0.5:7700,10.0.0.6"}).status().message()),
              AllOf(StartsWith("--server"), HasSubstr("\"10.0.0.6\"")));
}

TEST(ParseArgsTest, WebSocketDesktopsAtTheHttpPort) {
  absl::StatusOr<LoadOptions> options = ParseArgs({});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_FALSE(options->websocket_desks);
  options = ParseArgs({"--desk-transport", "websocket", "--http-server=10.0.0.5:8080"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->websocket_desks);
  EXPECT_EQ(options->http_host, "10.0.0.5");
  EXPECT_EQ(options->http_port, 8080);
  EXPECT_TRUE(ParseArgs({"--bench", "--desk-transport=websocket"})->websocket_desks);
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"--desk-transport", "sse"},
                                             {"--http-server", "localhost:7701"},
                                             {"--http-server", "127.0.0.1"},
                                             {"--http-server", "127.0.0.1:0"}}) {
    absl::StatusOr<LoadOptions> refused = ParseArgs(bad);
    ASSERT_FALSE(refused.ok()) << bad[1];
    EXPECT_THAT(std::string(refused.status().message()), StartsWith(bad[0] + ": ")) << bad[1];
  }
  // WebSocket desktops do not follow a cluster's owner.
  EXPECT_THAT(std::string(ParseArgs({"--desk-transport", "websocket", "--server",
                                     "10.0.0.5:7700,10.0.0.6:7700"})
                              .status()
                              .message()),
              StartsWith("--desk-transport: "));
}

TEST(ParseArgsTest, ErrorsNameTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string flag;
  };
  const std::vector<Case> cases = {
      {{"--bogus"}, "--bogus"},
      {{"--rate", "fast"}, "--rate"},
      {{"--rate", "-1"}, "--rate"},
      {{"--rate", "inf"}, "--rate"},
      {{"--agents", "-3"}, "--agents"},
      {{"--agents", "2.5"}, "--agents"},
      {{"--agents", "100001"}, "--agents"},
      {{"--duration", "x"}, "--duration"},
      {{"--seed", "-1"}, "--seed"},
      {{"--mix="}, "--mix"},
      {{"--stats-interval", "0"}, "--stats-interval"},
      {{"--server", "localhost"}, "--server"},
      {{"--server", ":7700"}, "--server"},
      {{"--server", "127.0.0.1:99999"}, "--server"},
      {{"--json=yes"}, "--json"},
      {{"--help=1"}, "--help"},
      {{"--agents"}, "--agents"},
      {{"--rate", "1", "positional"}, "positional"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<LoadOptions> options = ParseArgs(c.args);
    ASSERT_FALSE(options.ok()) << c.flag;
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(options.status().message()), StartsWith(c.flag + ": "));
  }
}

// The flags are absl flags (dashes on the command line, underscores in
// C++), and each parse starts from their defaults.
TEST(ParseArgsTest, SetsTheAbslFlagsFromTheirDefaults) {
  ASSERT_TRUE(ParseArgs({"--stats-interval", "2.5", "--bench"}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_stats_interval), 2.5);
  EXPECT_TRUE(absl::GetFlag(FLAGS_bench));
  ASSERT_TRUE(ParseArgs({}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_stats_interval), 1);
  EXPECT_FALSE(absl::GetFlag(FLAGS_bench));
}

TEST(UsageTextTest, ExplainsEveryFlag) {
  const std::string usage = UsageText();
  for (const char* flag : {"--server", "--agents", "--rate", "--duration", "--seed", "--mix",
                           "--stats-interval", "--json", "--help"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

TEST(ParseArgsTest, BenchDefaultsLeaveTheDemoAlone) {
  absl::StatusOr<LoadOptions> demo = ParseArgs({});
  ASSERT_TRUE(demo.ok()) << demo.status();
  EXPECT_FALSE(demo->bench);
  EXPECT_FALSE(demo->baseline);
  absl::StatusOr<LoadOptions> bench = ParseArgs({"--bench"});
  ASSERT_TRUE(bench.ok()) << bench.status();
  EXPECT_TRUE(bench->bench);
  EXPECT_EQ(bench->gateways, 4);
  EXPECT_TRUE(bench->stream_ingest);
  EXPECT_EQ(bench->window, 64);
  EXPECT_EQ(bench->warmup_seconds, 1);
  EXPECT_EQ(bench->handle_ms, 50);
}

TEST(ParseArgsTest, EveryBenchFlag) {
  absl::StatusOr<LoadOptions> options =
      ParseArgs({"--bench", "--agents", "10000", "--gateways=8", "--ingest", "unary", "--window",
                 "32", "--warmup=2.5", "--accept-delay-ms", "1.5", "--handle-ms=0", "--wrap-up-ms",
                 "20", "--rate", "0"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->agents, 10000);
  EXPECT_EQ(options->gateways, 8);
  EXPECT_FALSE(options->stream_ingest);
  EXPECT_EQ(options->window, 32);
  EXPECT_EQ(options->warmup_seconds, 2.5);
  EXPECT_EQ(options->accept_delay_ms, 1.5);
  EXPECT_EQ(options->handle_ms, 0);
  EXPECT_EQ(options->wrap_up_ms, 20);
  EXPECT_EQ(options->rate_per_second, 0);
}

TEST(ParseArgsTest, BaselineImpliesBenchAndNoAgents) {
  absl::StatusOr<LoadOptions> options = ParseArgs({"--baseline", "--ingest=stream"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->bench);
  EXPECT_TRUE(options->baseline);
  EXPECT_EQ(options->agents, 0);  // the demo default of 12 does not apply
}

TEST(ParseArgsTest, BenchErrorsNameTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string flag;
  };
  const std::vector<Case> cases = {
      {{"--gateways", "4"}, "--gateways"},  // without --bench
      {{"--window=8", "--rate", "1"}, "--window"},
      {{"--bench", "--gateways", "0"}, "--gateways"},
      {{"--bench", "--gateways", "257"}, "--gateways"},
      {{"--bench", "--ingest", "bidi"}, "--ingest"},
      {{"--bench", "--window", "-1"}, "--window"},
      {{"--bench", "--warmup", "soon"}, "--warmup"},
      {{"--bench", "--accept-delay-ms", "-2"}, "--accept-delay-ms"},
      {{"--bench", "--handle-ms", "nan"}, "--handle-ms"},
      {{"--bench", "--wrap-up-ms"}, "--wrap-up-ms"},
      {{"--bench", "--agents", "100001"}, "--agents"},
      {{"--baseline", "--agents", "5"}, "--agents"},
      {{"--bench=1"}, "--bench"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<LoadOptions> options = ParseArgs(c.args);
    ASSERT_FALSE(options.ok()) << c.flag;
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(options.status().message()), StartsWith(c.flag + ": "));
  }
}

TEST(ParseArgsTest, DeskQueuesForTheGrpcDesktops) {
  EXPECT_EQ(ParseArgs({})->desk_queues, kDefaultDeskQueues);
  EXPECT_EQ(ParseArgs({"--desk-queues", "1"})->desk_queues, 1);
  EXPECT_EQ(ParseArgs({"--bench", "--desk-queues=64"})->desk_queues, kMaxDeskQueues);
  for (const char* bad : {"0", "65", "-1", "four"}) {
    absl::StatusOr<LoadOptions> options = ParseArgs({"--desk-queues", bad});
    ASSERT_FALSE(options.ok()) << bad;
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(options.status().message()),
                AllOf(StartsWith("--desk-queues: "), HasSubstr("1..64")));
  }
  EXPECT_THAT(std::string(UsageText()), HasSubstr("--desk-queues"));
}

TEST(UsageTextTest, ExplainsEveryBenchFlag) {
  const std::string usage = UsageText();
  for (const char* flag : {"--bench", "--gateways", "--ingest", "--window", "--warmup",
                           "--accept-delay-ms", "--handle-ms", "--wrap-up-ms", "--baseline"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace ccr::load
