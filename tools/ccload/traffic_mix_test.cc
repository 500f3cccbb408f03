#include "tools/ccload/traffic_mix.h"

#include <map>
#include <set>

#include "gtest/gtest.h"

namespace ccr::load {
namespace {

namespace v1 = ::ccrouter::v1;

TEST(TrafficMixTest, TierProportionsOver100kDraws) {
  TrafficMix mix(42);
  std::map<v1::Tier, int> counts;
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) ++counts[mix.NextArrival().spec.customer().tier()];
  EXPECT_NEAR(counts[v1::TIER_STANDARD] / double(kDraws), 0.70, 0.01);
  EXPECT_NEAR(counts[v1::TIER_SILVER] / double(kDraws), 0.18, 0.01);
  EXPECT_NEAR(counts[v1::TIER_GOLD] / double(kDraws), 0.09, 0.01);
  EXPECT_NEAR(counts[v1::TIER_VIP] / double(kDraws), 0.03, 0.005);
}

TEST(TrafficMixTest, SignalsAndQueuesFollowTheMix) {
  TrafficMix mix(7);
  constexpr int kDraws = 100000;
  int complaints = 0, emergencies = 0, spanish = 0;
  std::set<std::string> queues;
  std::map<std::string, v1::Tier> tier_of_customer;
  for (int i = 0; i < kDraws; ++i) {
    Arrival a = mix.NextArrival();
    const v1::ContactSpec& spec = a.spec;
    queues.insert(spec.queue());
    EXPECT_FALSE(spec.customer().id().empty());
    EXPECT_TRUE(spec.idempotency_key().empty());
    if (spec.signals().complaint()) {
      ++complaints;
      EXPECT_LT(spec.signals().sentiment(), 0);
    }
    if (spec.signals().emergency()) {
      ++emergencies;
      EXPECT_EQ(spec.queue(), "voice_emergency");
      EXPECT_NE(spec.signals().incident_severity(), v1::SEVERITY_UNSPECIFIED);
    } else {
      EXPECT_NE(spec.queue(), "voice_emergency");
    }
    if (spec.customer().language() == "es") ++spanish;
    // A returning customer keeps their tier.
    auto [it, inserted] = tier_of_customer.emplace(spec.customer().id(), spec.customer().tier());
    EXPECT_EQ(it->second, spec.customer().tier());
  }
  EXPECT_NEAR(complaints / double(kDraws), 0.08 * 0.99, 0.01);
  EXPECT_NEAR(emergencies / double(kDraws), 0.01, 0.003);
  EXPECT_GT(spanish, kDraws / 20);
  EXPECT_LT(spanish, kDraws / 3);
  EXPECT_EQ(queues, (std::set<std::string>{"voice_general", "voice_billing", "voice_emergency",
                                           "chat_general", "email_general", "messaging_general"}));
  // Customers come from a pool: most of them return.
  EXPECT_LE(tier_of_customer.size(), size_t{TrafficMix::kCustomerPoolSize});
}

TEST(TrafficMixTest, MeanInterArrivalIsOneOverRate) {
  TrafficMix mix(1);
  for (double rate : {0.5, 2.0, 50.0}) {
    double sum = 0;
    constexpr int kDraws = 100000;
    for (int i = 0; i < kDraws; ++i) {
      double gap = mix.NextInterArrivalSeconds(rate);
      ASSERT_GE(gap, 0);
      sum += gap;
    }
    EXPECT_NEAR(sum / kDraws, 1 / rate, 0.02 / rate) << "rate " << rate;
  }
}

TEST(TrafficMixTest, SameSeedSameSequence) {
  TrafficMix a(123), b(123), c(124);
  bool any_difference = false;
  for (int i = 0; i < 1000; ++i) {
    Arrival x = a.NextArrival(), y = b.NextArrival(), z = c.NextArrival();
    EXPECT_EQ(x.spec.SerializeAsString(), y.spec.SerializeAsString());
    EXPECT_EQ(x.patience_seconds, y.patience_seconds);
    EXPECT_EQ(a.NextInterArrivalSeconds(2), b.NextInterArrivalSeconds(2));
    any_difference = any_difference || x.spec.SerializeAsString() != z.spec.SerializeAsString();
    c.NextInterArrivalSeconds(2);
  }
  EXPECT_TRUE(any_difference);

  std::vector<AgentProfile> r1 = MakeAgentRoster(12, 9), r2 = MakeAgentRoster(12, 9);
  ASSERT_EQ(r1.size(), r2.size());
  for (size_t i = 0; i < r1.size(); ++i) {
    EXPECT_EQ(r1[i].login.SerializeAsString(), r2[i].login.SerializeAsString());
  }
}

TEST(AgentRosterTest, EveryQueueHasSomeoneAndEveryoneIsGeneral) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    std::vector<AgentProfile> roster = MakeAgentRoster(12, seed);
    ASSERT_EQ(roster.size(), 12u);
    EXPECT_EQ(roster[0].login.agent_id(), "agent-001");
    EXPECT_EQ(roster[11].login.agent_id(), "agent-012");
    std::set<std::string> skills, languages;
    std::set<int> channels;
    for (const AgentProfile& a : roster) {
      EXPECT_TRUE(a.login.start_available());
      ASSERT_GE(a.login.skills_size(), 1);
      EXPECT_EQ(a.login.skills(0).name(), "general");
      EXPECT_GE(a.login.skills(0).level(), 5u);
      EXPECT_LE(a.login.skills(0).level(), 9u);
      EXPECT_GE(a.login.capacities_size(), 1);
      for (const v1::Skill& s : a.login.skills()) skills.insert(s.name());
      for (const std::string& l : a.login.languages()) languages.insert(l);
      for (const v1::ChannelCapacity& c : a.login.capacities()) channels.insert(c.channel());
    }
    EXPECT_TRUE(skills.count("billing")) << "seed " << seed;
    EXPECT_TRUE(skills.count("emergency")) << "seed " << seed;
    EXPECT_TRUE(languages.count("es")) << "seed " << seed;
    EXPECT_EQ(channels.size(), 4u) << "seed " << seed;
  }
}

TEST(ParseArgsTest, Defaults) {
  absl::StatusOr<LoadOptions> opts = ParseArgs({});
  ASSERT_TRUE(opts.ok());
  EXPECT_EQ(opts->server, "127.0.0.1:7700");
  EXPECT_EQ(opts->agents, 12);
  EXPECT_EQ(opts->rate_per_second, 2);
  EXPECT_EQ(opts->duration_seconds, 0);
  EXPECT_EQ(opts->stats_interval_seconds, 1);
  EXPECT_FALSE(opts->seed_given);
  EXPECT_FALSE(opts->json);
  EXPECT_FALSE(opts->help);
}

TEST(ParseArgsTest, AllFlags) {
  absl::StatusOr<LoadOptions> opts =
      ParseArgs({"--server", "127.0.0.1:9000", "--agents=3", "--rate", "0.5", "--duration", "20",
                 "--seed", "77", "--stats-interval=2.5", "--json"});
  ASSERT_TRUE(opts.ok()) << opts.status();
  EXPECT_EQ(opts->server, "127.0.0.1:9000");
  EXPECT_EQ(opts->agents, 3);
  EXPECT_EQ(opts->rate_per_second, 0.5);
  EXPECT_EQ(opts->duration_seconds, 20);
  EXPECT_EQ(opts->seed, 77u);
  EXPECT_TRUE(opts->seed_given);
  EXPECT_EQ(opts->stats_interval_seconds, 2.5);
  EXPECT_TRUE(opts->json);
  EXPECT_TRUE(ParseArgs({"--help"})->help);
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
      {{"--agents", "-3"}, "--agents"},
      {{"--agents", "2.5"}, "--agents"},
      {{"--duration", "x"}, "--duration"},
      {{"--seed", "-1"}, "--seed"},
      {{"--stats-interval", "0"}, "--stats-interval"},
      {{"--server", "localhost"}, "--server"},
      {{"--server", "127.0.0.1:99999"}, "--server"},
      {{"--json=yes"}, "--json"},
      {{"--agents"}, "--agents"},
      {{"positional"}, "positional"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<LoadOptions> opts = ParseArgs(c.args);
    ASSERT_FALSE(opts.ok()) << c.flag;
    EXPECT_EQ(opts.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(opts.status().message()).rfind(c.flag + ":", 0), 0u)
        << opts.status().message();
  }
}

}  // namespace
}  // namespace ccr::load
