#include "tools/ccsim/scenario.h"

#include <cmath>
#include <random>
#include <string>

#include "codec/config_loader.h"
#include "gtest/gtest.h"

namespace ccr::sim {
namespace {

constexpr const char* kExample = R"(name: example
seed: 42
duration_hours: 8
interval_minutes: 15
profiles:
  morning: [0.5, 1, 1.5]
handle_times:
  voice: {distribution: lognormal, mean_seconds: 300, cv: 0.5}
streams:
  - name: vip
    queue: voice_general
    rate_per_hour: 120
    profile: morning
    tier: vip
    signals: {complaint: true, sentiment: -0.7, keywords: [cancel]}
    patience: {distribution: exponential, mean_seconds: 90}
  - {name: chat, queue: chat_general, rate_per_hour: 60, patience: never,
     handle: {distribution: constant, mean_seconds: 400}}
agents:
  - name: team
    count: 12
    skills: {general: 5, senior: 3}
    languages: [en, es]
    channels: {voice: 1, chat: 3}
    shift: {start_hour: 1, end_hour: 7}
    breaks: [{after_hours: 2, minutes: 15}]
    break_stagger_minutes: 30
)";

TEST(ScenarioTest, ParsesEveryPart) {
  absl::StatusOr<Scenario> s = ParseScenarioYaml(kExample);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "example");
  EXPECT_EQ(s->seed, 42u);
  EXPECT_EQ(s->duration_hours, 8);
  EXPECT_EQ(s->interval_minutes, 15);
  ASSERT_EQ(s->streams.size(), 2u);
  const TrafficStream& vip = s->streams[0];
  EXPECT_EQ(vip.queue, "voice_general");
  EXPECT_EQ(vip.tier, Tier::kVip);
  EXPECT_TRUE(vip.signals.complaint);
  EXPECT_DOUBLE_EQ(vip.signals.sentiment, -0.7);
  EXPECT_EQ(vip.signals.keywords, std::vector<std::string>{"cancel"});
  EXPECT_EQ(vip.patience.kind, Distribution::Kind::kExponential);
  EXPECT_EQ(vip.patience.mean_seconds, 90);
  EXPECT_FALSE(vip.handle.has_value());
  EXPECT_EQ(s->streams[1].patience.kind, Distribution::Kind::kNever);
  EXPECT_EQ(s->streams[1].handle->kind, Distribution::Kind::kConstant);
  const auto& voice = s->handle_by_channel[static_cast<int>(Channel::kVoice)];
  ASSERT_TRUE(voice.has_value());
  EXPECT_EQ(voice->kind, Distribution::Kind::kLognormal);
  EXPECT_EQ(voice->cv, 0.5);
  ASSERT_EQ(s->agents.size(), 1u);
  const AgentGroup& team = s->agents[0];
  EXPECT_EQ(team.count, 12);
  EXPECT_EQ(team.skills.size(), 2u);
  EXPECT_EQ(team.languages, (std::vector<std::string>{"en", "es"}));
  EXPECT_EQ(team.capacities.size(), 2u);
  EXPECT_EQ(team.shift_start_hour, 1);
  EXPECT_EQ(team.shift_end_hour, 7);
  ASSERT_EQ(team.breaks.size(), 1u);
  EXPECT_EQ(team.breaks[0].minutes, 15);
  EXPECT_EQ(team.break_stagger_minutes, 30);
  // Profile steps are an hour long by default; the last one repeats.
  EXPECT_EQ(s->ProfileMultiplier("morning", 0.5), 0.5);
  EXPECT_EQ(s->ProfileMultiplier("morning", 1.5), 1);
  EXPECT_EQ(s->ProfileMultiplier("morning", 7), 1.5);
  EXPECT_EQ(s->ProfileMultiplier("", 3), 1);
}

// `field` is the message's part naming the field, in the engine config's
// style: `scenario.streams[0].rate_per_hour: ...` for a bad value,
// `scenario: (streams[0]) patiense: Cannot find field.` for an unknown key.
void ExpectError(const std::string& yaml, const std::string& field) {
  absl::StatusOr<Scenario> s = ParseScenarioYaml(yaml);
  ASSERT_FALSE(s.ok()) << yaml;
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(s.status().message());
  EXPECT_NE(message.find(field), std::string::npos) << message;
}

TEST(ScenarioTest, ErrorsNameTheField) {
  const std::string agents =
      "agents: [{name: a, count: 1, skills: {x: 1}, channels: {voice: 1}}]\n";
  ExpectError("name: x\nstreems: []\n", "scenario: streems: Cannot find field.");
  ExpectError(
      "streams:\n  - name: s\n    queue: q\n    rate_per_hour: 5\n    patiense: 3\n" + agents,
      "scenario: (streams[0]) patiense: Cannot find field.");
  ExpectError("streams:\n  - name: s\n    queue: q\n    rate_per_hour: -1\n" + agents,
              "scenario.streams[0].rate_per_hour: expected a number in [0, 1e+07], got -1");
  ExpectError("streams:\n  - name: s\n    queue: q\n    rate_per_hour: many\n" + agents,
              "scenario: (streams[0].rate_per_hour): invalid value \"many\"");
  ExpectError("streams:\n  - {name: s, queue: q, rate_per_hour: 1, profile: nope}\n" + agents,
              "scenario.streams[0].profile: unknown profile 'nope'");
  ExpectError("streams:\n  - {name: s, queue: q, rate_per_hour: 1, tier: platinum}\n" + agents,
              "scenario: (streams[0].tier): invalid value \"TIER_PLATINUM\"");
  ExpectError(
      "streams:\n  - {name: s, queue: q, rate_per_hour: 1,\n"
      "     patience: {distribution: gamma, mean_seconds: 3}}\n" +
          agents,
      "scenario.streams[0].patience.distribution: expected exponential, lognormal or constant");
  ExpectError(
      "streams:\n  - {name: s, queue: q, rate_per_hour: 1,\n"
      "     patience: {distribution: constant, mean: 3}}\n" +
          agents,
      "scenario.streams[0].patience: mean: Cannot find field.");
  ExpectError("streams:\n  - {name: s, queue: q, rate_per_hour: 1, handle: never}\n" + agents,
              "scenario.streams[0].handle: must end");
  ExpectError(
      "streams:\n  - {name: s, queue: q, rate_per_hour: 1}\n"
      "agents:\n  - {name: a, count: 1, skills: {x: 11}, channels: {voice: 1}}\n",
      "scenario.agents[0].skills.x: expected a number in [1, 10], got 11");
  ExpectError(
      "streams:\n  - {name: s, queue: q, rate_per_hour: 1}\n"
      "agents:\n  - {name: a, count: 1, skills: {x: 1}, channels: {fax: 1}}\n",
      "scenario.agents[0].channels: expected voice, chat");
  ExpectError("duration_hours: 8\nstreams:\n  - {name: s, queue: q}\n" + agents,
              "scenario.streams[0].rate_per_hour: required");
  ExpectError("streams: [{name: s, queue: q, rate_per_hour: 1}]\nagents: [\n",
              "scenario: YAML error at line 3");
}

// The scenario is read by the engine's YAML loader: an unknown key or a
// mistyped value reads as it does in the engine's config.
TEST(ScenarioTest, ErrorsReadAsTheEngineConfigsDo) {
  absl::StatusOr<v1::Config> config =
      ParseConfigYaml("queues:\n  - {name: q, channel: voice, chanel: voice}\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), "config: (queues[0]) chanel: Cannot find field.");
  absl::StatusOr<Scenario> scenario =
      ParseScenarioYaml("streams:\n  - {name: s, queue: q, rate_per_hour: 1, qeue: q}\n");
  ASSERT_FALSE(scenario.ok());
  EXPECT_EQ(scenario.status().message(), "scenario: (streams[0]) qeue: Cannot find field.");
}

TEST(ScenarioTest, QueuesMustExistInTheConfig) {
  absl::StatusOr<RouterConfig> config = LoadRouterConfig(DefaultConfigYaml());
  ASSERT_TRUE(config.ok());
  absl::StatusOr<Scenario> s = ParseScenarioYaml(
      "streams: [{name: s, queue: voice_nowhere, rate_per_hour: 1}]\n"
      "agents: [{name: a, count: 1, skills: {x: 1}, channels: {voice: 1}}]\n");
  ASSERT_TRUE(s.ok()) << s.status();
  const absl::Status status = CheckScenario(*s, *config);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(status.message().find("streams[0].queue"), std::string::npos) << status;
}

TEST(ScenarioTest, ShippedScenariosParseAndFitTheDefaultConfig) {
  absl::StatusOr<RouterConfig> config = LoadRouterConfig(DefaultConfigYaml());
  ASSERT_TRUE(config.ok());
  const std::pair<const char*, int> shipped[] = {
      {"centre_day.yaml", 500},           {"emergency_burst.yaml", 500},
      {"overloaded_afternoon.yaml", 500}, {"scarce_experts.yaml", 138},
      {"blended_bursts.yaml", 115},
  };
  for (const auto& [name, staff] : shipped) {
    absl::StatusOr<std::string> text = ReadFile(std::string(CCSIM_SCENARIO_DIR) + "/" + name);
    ASSERT_TRUE(text.ok()) << text.status();
    absl::StatusOr<Scenario> s = ParseScenarioYaml(*text);
    ASSERT_TRUE(s.ok()) << name << ": " << s.status();
    EXPECT_TRUE(CheckScenario(*s, *config).ok()) << name;
    int agents = 0;
    for (const AgentGroup& g : s->agents) agents += g.count;
    EXPECT_EQ(agents, staff) << name;
  }
}

TEST(DistributionTest, SamplesHaveTheConfiguredMean) {
  std::mt19937_64 rng(1);
  constexpr int kSamples = 200000;
  // Mean within 1 % (the standard error of the mean is 0.22 % for the
  // exponential and about 0.18 % for a lognormal with cv 0.8).
  for (const Distribution d :
       {Distribution::Exponential(300), Distribution{Distribution::Kind::kLognormal, 300, 0.8}}) {
    double sum = 0, sum_squares = 0;
    for (int i = 0; i < kSamples; ++i) {
      const double x = d.Sample(rng);
      sum += x;
      sum_squares += x * x;
    }
    const double mean = sum / kSamples;
    const double cv = std::sqrt(sum_squares / kSamples - mean * mean) / mean;
    EXPECT_NEAR(mean, 300, 3);
    EXPECT_NEAR(cv, d.kind == Distribution::Kind::kExponential ? 1.0 : 0.8, 0.03);
  }
  EXPECT_EQ((Distribution{Distribution::Kind::kConstant, 7, 0}.Sample(rng)), 7);
  EXPECT_TRUE(std::isinf(Distribution::Never().Sample(rng)));
}

}  // namespace
}  // namespace ccr::sim
