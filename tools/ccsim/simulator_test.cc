// The simulator against simple models: a FIFO queue (which the router must
// reduce to on one queue), Erlang C and Erlang A (which a long enough M/M/n
// run must match), and hand-checkable shift and break situations.
#include "tools/ccsim/simulator.h"

#include <cmath>
#include <string>

#include "absl/strings/match.h"
#include "codec/config_loader.h"
#include "gtest/gtest.h"
#include "tools/ccsim/report.h"
#include "tools/ccsim/validation.h"

namespace ccr::sim {
namespace {

SimulationReport MustSimulate(const Scenario& s, const RouterConfig& config, Policy policy,
                              const std::vector<ContactPlan>& plan) {
  absl::StatusOr<SimulationReport> r = Simulate(s, config, policy, plan);
  EXPECT_TRUE(r.ok()) << PolicyName(policy) << ": " << r.status();
  return r.ok() ? *r : SimulationReport{};
}

Scenario LoadScenarioFile(const std::string& name) {
  absl::StatusOr<std::string> text = ReadFile(std::string(CCSIM_SCENARIO_DIR) + "/" + name);
  EXPECT_TRUE(text.ok()) << text.status();
  absl::StatusOr<Scenario> s = ParseScenarioYaml(text.ok() ? *text : "");
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : Scenario{};
}

RouterConfig DefaultConfig() {
  absl::StatusOr<RouterConfig> config = LoadRouterConfig(DefaultConfigYaml());
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

// On one queue with one tier, no signals and offers answered at once, the
// router under routing_policy fifo (MmcRouterConfig, what the Erlang
// validation runs) serves in arrival order; with handle times attached to
// contacts, every work-conserving FIFO system gives each contact the same
// wait whichever agent it picks. So the router must agree with the plain
// FIFO queues contact for contact. Under ranked (every rank is arrival +
// target here) a contact still in time goes before one past its target once
// less than 5 s before its rank: the same contacts, more of them answered
// within the target.
TEST(SimulatorTest, RouterOnOneQueueIsExactlyFifo) {
  ValidationCase c;
  c.agents = 20;
  c.load_per_agent = 0.95;
  c.patience_seconds = 120;
  const Scenario s = MmcScenario(c, 20000, 20, 7);
  const RouterConfig config = MmcRouterConfig(c.target_seconds);
  const std::vector<ContactPlan> plan = PlanContacts(s, config);
  const SimulationReport router = MustSimulate(s, config, Policy::kRouter, plan);
  ASSERT_GT(router.overall.answered, 15000u);
  ASSERT_GT(router.overall.abandoned, 100u);  // abandonment is exercised too
  // With one queue the research baselines have no queue to choose: FIFO too.
  for (Policy p :
       {Policy::kFifoLinear, Policy::kFifoLongestIdle, Policy::kFifoRoundRobin,
        Policy::kFifoRingAll, Policy::kGcMu, Policy::kFixedQueueRatio, Policy::kSkillPriority}) {
    const SimulationReport fifo = MustSimulate(s, config, p, plan);
    SCOPED_TRACE(PolicyName(p));
    EXPECT_EQ(router.overall.arrived, fifo.overall.arrived);
    EXPECT_EQ(router.overall.answered, fifo.overall.answered);
    EXPECT_EQ(router.overall.answered_within_target, fifo.overall.answered_within_target);
    EXPECT_EQ(router.overall.abandoned, fifo.overall.abandoned);
    EXPECT_NEAR(router.overall.total_answer_wait_seconds, fifo.overall.total_answer_wait_seconds,
                1e-6 * fifo.overall.total_answer_wait_seconds);
    EXPECT_NEAR(router.occupancy, fifo.occupancy, 1e-9);
  }
  RouterConfig ranked_config = config;
  ranked_config.queues[0].routing_policy = RoutingPolicy::kRanked;
  const SimulationReport ranked = MustSimulate(s, ranked_config, Policy::kRouter, plan);
  EXPECT_EQ(ranked.overall.arrived, router.overall.arrived);
  EXPECT_GT(ranked.overall.answered_within_target, router.overall.answered_within_target);
}

// routing_policy: fifo makes the router the classic ACD: on one queue whose
// VIPs the ranked policy would serve first, every tier waits exactly as under
// ccsim's FIFO / longest-idle baseline, and the agents share the work alike
// (the longest-idle choice), while ranked serves the VIPs first.
TEST(SimulatorTest, RouterUnderFifoPolicyMatchesTheFifoLongestIdleBaselinePerTier) {
  ValidationCase c;
  c.agents = 10;
  c.load_per_agent = 0.95;
  c.patience_seconds = 120;
  Scenario s = MmcScenario(c, 6000, 20, 7);
  s.streams[0].rate_per_hour /= 2;
  TrafficStream vip = s.streams[0];
  vip.name = "vip";
  vip.tier = Tier::kVip;
  s.streams.push_back(vip);
  RouterConfig config = MmcRouterConfig(c.target_seconds);
  config.scoring.tier = {0, 0, 0, 100};  // under ranked, a VIP passes 200 s of queue
  config.queues[0].routing_policy = RoutingPolicy::kFifo;
  const std::vector<ContactPlan> plan = PlanContacts(s, config);
  const SimulationReport fifo = MustSimulate(s, config, Policy::kRouter, plan);
  const SimulationReport baseline = MustSimulate(s, config, Policy::kFifoLongestIdle, plan);
  ASSERT_GT(fifo.overall.answered, 5000u);
  ASSERT_GT(fifo.overall.abandoned, 50u);
  ASSERT_EQ(fifo.tiers.size(), 2u);
  ASSERT_EQ(baseline.tiers.size(), 2u);
  for (size_t t = 0; t < 2; ++t) {
    SCOPED_TRACE(fifo.tiers[t].name);
    const ServiceTally& a = fifo.tiers[t].total;
    const ServiceTally& b = baseline.tiers[t].total;
    EXPECT_EQ(a.answered, b.answered);
    EXPECT_EQ(a.answered_within_target, b.answered_within_target);
    EXPECT_EQ(a.abandoned, b.abandoned);
    EXPECT_NEAR(a.total_answer_wait_seconds, b.total_answer_wait_seconds,
                1e-6 * b.total_answer_wait_seconds);
  }
  EXPECT_NEAR(fifo.occupancy_jain_index, baseline.occupancy_jain_index, 1e-6);
  EXPECT_NEAR(fifo.handled_per_hour_cv, baseline.handled_per_hour_cv, 1e-6);

  config.queues[0].routing_policy = RoutingPolicy::kRanked;
  const SimulationReport ranked = MustSimulate(s, config, Policy::kRouter, plan);
  const size_t vip_tier = fifo.tiers[0].name == "vip" ? 0 : 1;
  const size_t standard_tier = 1 - vip_tier;
  // Ranked serves the VIPs first: they wait less and leave less; the others wait longer.
  EXPECT_LT(ranked.tiers[vip_tier].total.AsaSeconds(),
            0.9 * fifo.tiers[vip_tier].total.AsaSeconds());
  EXPECT_LT(ranked.tiers[vip_tier].total.abandoned, fifo.tiers[vip_tier].total.abandoned);
  EXPECT_GT(ranked.tiers[standard_tier].total.AsaSeconds(),
            fifo.tiers[standard_tier].total.AsaSeconds());
}

// One agent holding 3 chats is, for the customers, 3 servers: the same
// contacts must wait exactly as long as with 3 single-slot agents.
TEST(SimulatorTest, ThreeChatSlotsServeLikeThreeAgents) {
  ValidationCase c;
  c.agents = 3;
  c.load_per_agent = 0.85;
  c.patience_seconds = 300;
  Scenario three_agents = MmcScenario(c, 5000, 20, 11);
  RouterConfig config = MmcRouterConfig(c.target_seconds);
  config.queues[0].channel = Channel::kChat;
  config.channels[static_cast<int>(Channel::kChat)].exclusive = false;
  config.channels[static_cast<int>(Channel::kChat)].agent_capacity = 3;
  three_agents.agents[0].capacities = {{Channel::kChat, 1}};
  Scenario one_agent = three_agents;
  one_agent.agents[0].count = 1;
  one_agent.agents[0].capacities = {{Channel::kChat, 3}};
  const std::vector<ContactPlan> plan = PlanContacts(three_agents, config);
  for (Policy p : {Policy::kRouter, Policy::kFifoLinear}) {
    SCOPED_TRACE(PolicyName(p));
    const SimulationReport a = MustSimulate(three_agents, config, p, plan);
    const SimulationReport b = MustSimulate(one_agent, config, p, plan);
    ASSERT_GT(a.overall.answered, 4000u);
    EXPECT_EQ(a.overall.answered, b.overall.answered);
    EXPECT_EQ(a.overall.abandoned, b.overall.abandoned);
    EXPECT_NEAR(a.overall.total_answer_wait_seconds, b.overall.total_answer_wait_seconds,
                1e-6 * a.overall.total_answer_wait_seconds);
    EXPECT_GT(a.overall.total_answer_wait_seconds, 0);
  }
}

// M/M/n through the real router against Erlang C (no patience) and Erlang A
// (exponential patience). Run lengths are chosen so the batch-means standard
// error of the service level is about 0.25 points; the test checks that it
// is at most 0.4 (so the 1-point window is at least 2.5 standard errors
// wide) and that the simulated service level is within 1 point of theory.
// ASA and abandonment must be within 4 of their own standard errors.
// tools/ccsim/validate runs the full table at full length.
TEST(SimulatorTest, MmnMatchesErlangCAndErlangA) {
  struct Row {
    int agents;
    double load;
    double patience_seconds;
    double contacts;
  };
  const Row rows[] = {
      {10, 0.70, 0, 560000},   {50, 0.80, 0, 470000},   {100, 0.80, 0, 150000},
      {200, 0.90, 0, 1200000}, {10, 0.95, 0, 2400000},  {10, 1.00, 180, 230000},
      {10, 1.10, 180, 340000}, {50, 0.90, 180, 300000}, {50, 1.00, 180, 1100000},
  };
  uint64_t seed = 0;
  for (const Row& row : rows) {
    ++seed;  // independent draws per row, so errors do not line up across the table
    ValidationCase c;
    c.agents = row.agents;
    c.load_per_agent = row.load;
    c.patience_seconds = row.patience_seconds;
    absl::StatusOr<ValidationResult> r = RunValidationCase(c, row.contacts, seed);
    ASSERT_TRUE(r.ok()) << r.status();
    SCOPED_TRACE(testing::Message() << row.agents << " agents at " << row.load << ", patience "
                                    << row.patience_seconds << ": " << r->contacts << " contacts");
    EXPECT_LE(r->service_level_se, 0.004);
    EXPECT_NEAR(r->service_level, r->predicted.service_level, 0.01);
    EXPECT_NEAR(r->asa_seconds, r->predicted.asa_seconds, 4 * r->asa_se + 1e-3);
    EXPECT_NEAR(r->abandon_ratio, r->predicted.abandon_ratio, 4 * r->abandon_se + 1e-4);
    if (row.patience_seconds > 0) {
      EXPECT_GT(r->abandon_ratio, 0.01);
    }
  }
}

TEST(SimulatorTest, SameSeedSameDayOtherSeedOtherDay) {
  Scenario s = LoadScenarioFile("centre_day.yaml");
  const RouterConfig config = DefaultConfig();
  ASSERT_TRUE(CheckScenario(s, config).ok());
  auto run = [&](uint64_t seed) {
    s.seed = seed;
    SimulationReport r = MustSimulate(s, config, Policy::kRouter, PlanContacts(s, config));
    r.wall_seconds = 0;
    return FormatJson({r});
  };
  const std::string first = run(5);
  EXPECT_EQ(first, run(5));
  EXPECT_NE(first, run(6));
}

// Under an overloaded afternoon the router's priorities show: VIPs and
// emergencies are answered within target far more often than in a plain
// FIFO queue fed the very same contacts.
TEST(SimulatorTest, RouterFavoursVipAndEmergencyOverFifo) {
  const Scenario s = LoadScenarioFile("overloaded_afternoon.yaml");
  const RouterConfig config = DefaultConfig();
  ASSERT_TRUE(CheckScenario(s, config).ok());
  const std::vector<ContactPlan> plan = PlanContacts(s, config);
  auto stream_level = [](const SimulationReport& r, const std::string& name) {
    for (const GroupReport& g : r.streams) {
      if (g.name == name) return g.total.ServiceLevel();
    }
    ADD_FAILURE() << "no stream " << name;
    return 0.0;
  };
  const SimulationReport router = MustSimulate(s, config, Policy::kRouter, plan);
  const SimulationReport fifo = MustSimulate(s, config, Policy::kFifoLongestIdle, plan);
  EXPECT_EQ(router.overall.arrived, fifo.overall.arrived);  // the same contacts
  EXPECT_GT(stream_level(router, "vip"), stream_level(fifo, "vip"));
  EXPECT_GT(stream_level(router, "emergency"), stream_level(fifo, "emergency"));
  EXPECT_GT(stream_level(router, "vip"), stream_level(router, "general"));
}

Scenario SmallScenario(int agents, double rate_per_hour, double hours) {
  Scenario s;
  s.name = "small";
  s.seed = 3;
  s.duration_hours = hours;
  s.interval_minutes = 60;
  TrafficStream stream;
  stream.name = "calls";
  stream.queue = "mmc";
  stream.rate_per_hour = rate_per_hour;
  stream.handle = Distribution{Distribution::Kind::kConstant, 1, 0};
  s.streams.push_back(stream);
  AgentGroup group;
  group.name = "a";
  group.count = agents;
  group.skills = {{"mmc", 1}};
  group.capacities = {{Channel::kVoice, 1}};
  s.agents.push_back(group);
  return s;
}

TEST(SimulatorTest, NobodyAnswersAfterTheShiftEnds) {
  Scenario s = SmallScenario(2, 30, 2);
  s.streams[0].patience = Distribution::Exponential(60);
  s.agents[0].shift_end_hour = 1;
  const RouterConfig config = MmcRouterConfig(20);
  const std::vector<ContactPlan> plan = PlanContacts(s, config);
  for (Policy p : {Policy::kRouter, Policy::kFifoLinear}) {
    SCOPED_TRACE(PolicyName(p));
    const SimulationReport r = MustSimulate(s, config, p, plan);
    ASSERT_EQ(r.queues.size(), 1u);
    ASSERT_EQ(r.queues[0].intervals.size(), 2u);
    const ServiceTally& first_hour = r.queues[0].intervals[0];
    const ServiceTally& second_hour = r.queues[0].intervals[1];
    EXPECT_GT(first_hour.answered, 10u);
    EXPECT_EQ(second_hour.answered, 0u);
    EXPECT_GT(second_hour.arrived, 10u);
    EXPECT_EQ(second_hour.abandoned, second_hour.arrived);
  }
}

TEST(SimulatorTest, ContactsWaitOutTheOnlyAgentsBreak) {
  // One agent, 1-second calls, a 30-minute break at 0:30: whoever arrives
  // just after the break starts waits almost the whole break.
  Scenario s = SmallScenario(1, 60, 2);
  s.agents[0].breaks = {{0.5, 30}};
  const RouterConfig config = MmcRouterConfig(20);
  const std::vector<ContactPlan> plan = PlanContacts(s, config);
  for (Policy p : {Policy::kRouter, Policy::kFifoLinear}) {
    SCOPED_TRACE(PolicyName(p));
    const SimulationReport r = MustSimulate(s, config, p, plan);
    EXPECT_GT(r.overall.longest_wait_seconds, 25 * 60);
    EXPECT_LE(r.overall.longest_wait_seconds, 30 * 60 + 60);
    EXPECT_EQ(r.overall.answered, r.overall.arrived);  // nobody gives up, all are served
    // Staffed time excludes the break: busy 1 s per call over 1.5 h staffed.
    EXPECT_NEAR(r.occupancy, r.overall.answered * 1.0 / 5400, 0.002);
  }
}

TEST(ReportTest, JsonAndSvgCarryTheFigures) {
  Scenario s = SmallScenario(2, 30, 2);
  const RouterConfig config = MmcRouterConfig(20);
  const SimulationReport r = MustSimulate(s, config, Policy::kRouter, PlanContacts(s, config));
  const std::string json = FormatJson({r});
  for (const char* key : {"\"service_level\"", "\"asa_seconds\"", "\"abandon_ratio\"",
                          "\"longest_wait_seconds\"", "\"sla_breaches\"", "\"occupancy\"",
                          "\"occupancy_jain_index\"", "\"service_level_by_interval\""}) {
    EXPECT_NE(json.find(key), std::string::npos) << key;
  }
  const std::string svg = RenderServiceLevelSvg({r});
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find(">mmc</text>"), std::string::npos);  // the queue's line is labelled
  EXPECT_NE(svg.find("<path d=\"M"), std::string::npos);

  // Several policies: the router against the best baseline on each figure.
  const std::vector<ContactPlan> plan = PlanContacts(s, config);
  const std::string text = FormatText({MustSimulate(s, config, Policy::kRouter, plan),
                                       MustSimulate(s, config, Policy::kGcMu, plan),
                                       MustSimulate(s, config, Policy::kFifoLinear, plan)});
  EXPECT_TRUE(absl::StrContains(text, "== router against the best baseline on each figure"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "  overall SL ")) << text;
  EXPECT_TRUE(absl::StrContains(text, "  SL mmc ")) << text;

  ErlangPrediction p;
  p.p_wait = 0.25;
  const std::string erlang = FormatErlangJson(p, 8);
  for (const char* key : {"\"p_wait\": 0.25", "\"service_level\"", "\"asa_seconds\"",
                          "\"abandon_ratio\"", "\"agents_needed\": 8"}) {
    EXPECT_NE(erlang.find(key), std::string::npos) << key;
  }
}

// Rows of runs past 2^32 contacts print the count itself (a uint64_t printed
// with %d showed its low 32 bits).
TEST(SimulatorTest, EveryPolicyIsNamedAndInAll) {
  const std::vector<Policy> all = AllPolicies();
  EXPECT_EQ(all.size(), 8u);
  for (Policy p : all) {
    absl::StatusOr<Policy> parsed = ParsePolicy(PolicyName(p));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, p);
  }
  absl::StatusOr<Policy> bad = ParsePolicy("cmu");
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "gcmu, fixed_queue_ratio, skill_priority"))
      << bad.status();
}

// The research baselines' view of the day: arrivals per hour by queue and
// the mean handle time of the queue's streams, weighted by their contacts.
TEST(SimulatorTest, PlannedLoadsAverageTheDaysStreams) {
  Scenario s = SmallScenario(2, 100, 10);
  TrafficStream longer = s.streams[0];
  longer.name = "longer";
  longer.rate_per_hour = 300;
  longer.handle = Distribution{Distribution::Kind::kConstant, 5, 0};
  s.streams.push_back(longer);
  const RouterConfig config = MmcRouterConfig(20);
  const std::vector<ContactPlan> plan = PlanContacts(s, config);
  const std::vector<QueueLoad> loads = PlannedLoads(s, config, plan);
  ASSERT_EQ(loads.size(), 1u);
  EXPECT_NEAR(loads[0].arrivals_per_hour, plan.size() / 10.0, 1e-9);
  EXPECT_NEAR(loads[0].arrivals_per_hour, 400, 40);
  double handle_sum = 0;
  for (const ContactPlan& c : plan) handle_sum += c.stream == 0 ? 1 : 5;
  EXPECT_NEAR(loads[0].handle_seconds, handle_sum / plan.size(), 1e-9);
}

TEST(ValidationTest, RowsPrintContactCountsPastFourBillion) {
  ValidationResult r;
  r.inputs.agents = 10;
  r.contacts = 5'000'000'000;
  EXPECT_TRUE(absl::StrContains(ValidationRowText(r), " 5000000000 ")) << ValidationRowText(r);
  EXPECT_TRUE(absl::StrContains(ValidationRowJson(r), "\"contacts\": 5000000000}"))
      << ValidationRowJson(r);
}

}  // namespace
}  // namespace ccr::sim
