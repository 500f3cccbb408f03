// Issue #18's goals, checked on every shipped scenario against the best of
// all baselines (each figure's best may be a different baseline), on the
// scenario's own day and seed. One day of all eight policies on the five
// scenarios takes about 4 s.
//
// Every test here holds today and guards it. EveryQueueKeepsUpWithTheBestBaseline
// holds since a queue short of its service objective serves its contacts in
// time first; on other seeds and days some of the goals are still
// missed (SIMULATION.md has the figures).
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "codec/config_loader.h"
#include "codec/read_file.h"
#include "gtest/gtest.h"
#include "tools/ccsim/simulator.h"

namespace ccr::sim {
namespace {

constexpr const char* kScenarios[] = {"centre_day.yaml", "emergency_burst.yaml",
                                      "overloaded_afternoon.yaml", "scarce_experts.yaml",
                                      "blended_bursts.yaml"};

struct Day {
  std::string scenario;
  SimulationReport router;
  std::vector<SimulationReport> baselines;
};

// Every scenario under every policy, computed once for all tests here.
const std::vector<Day>& Days() {
  static const std::vector<Day>* days = [] {
    auto* out = new std::vector<Day>;
    absl::StatusOr<RouterConfig> config = LoadRouterConfig(DefaultConfigYaml());
    EXPECT_TRUE(config.ok()) << config.status();
    if (!config.ok()) return out;
    for (const char* name : kScenarios) {
      absl::StatusOr<std::string> text = ReadFile(std::string(CCSIM_SCENARIO_DIR) + "/" + name);
      EXPECT_TRUE(text.ok()) << text.status();
      if (!text.ok()) continue;
      absl::StatusOr<Scenario> s = ParseScenarioYaml(*text);
      EXPECT_TRUE(s.ok()) << name << ": " << s.status();
      if (!s.ok()) continue;
      const std::vector<ContactPlan> plan = PlanContacts(*s, *config);
      Day day;
      day.scenario = name;
      for (Policy p : AllPolicies()) {
        absl::StatusOr<SimulationReport> r =
            Simulate(*s, *config, p, plan, {.check_wait_estimates = true});
        EXPECT_TRUE(r.ok()) << name << " " << PolicyName(p) << ": " << r.status();
        if (!r.ok()) continue;
        if (p == Policy::kRouter) {
          day.router = std::move(*r);
        } else {
          day.baselines.push_back(std::move(*r));
        }
      }
      out->push_back(std::move(day));
    }
    return out;
  }();
  return *days;
}

const GroupReport* Find(const std::vector<GroupReport>& groups, const std::string& name) {
  for (const GroupReport& g : groups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

// The best baseline service level of a group (queue, tier or stream).
double BestLevel(const Day& day, const std::vector<GroupReport> SimulationReport::*groups,
                 const std::string& name) {
  double best = 0;
  for (const SimulationReport& b : day.baselines) {
    if (const GroupReport* g = Find(b.*groups, name)) {
      best = std::max(best, g->total.ServiceLevel());
    }
  }
  return best;
}

// The best baseline overall service level (all contacts of the day).
double BestOverallLevel(const Day& day) {
  double best = 0;
  for (const SimulationReport& b : day.baselines) best = std::max(best, b.overall.ServiceLevel());
  return best;
}

TEST(GoalsTest, RouterKeepsItsPrioritiesAheadOfEveryBaseline) {
  ASSERT_EQ(Days().size(), std::size(kScenarios));
  for (const Day& day : Days()) {
    SCOPED_TRACE(day.scenario);
    ASSERT_EQ(day.baselines.size(), AllPolicies().size() - 1);
    const GroupReport* emergency = Find(day.router.queues, "voice_emergency");
    ASSERT_NE(emergency, nullptr);
    EXPECT_GE(emergency->total.ServiceLevel(), 0.95);
    EXPECT_GT(emergency->total.ServiceLevel(),
              BestLevel(day, &SimulationReport::queues, "voice_emergency"));
    const GroupReport* vip = Find(day.router.tiers, "vip");
    ASSERT_NE(vip, nullptr);
    EXPECT_GE(vip->total.ServiceLevel(), 0.95);
    EXPECT_GT(vip->total.ServiceLevel(), BestLevel(day, &SimulationReport::tiers, "vip"));
    // No starvation: nobody waits much longer than under the baseline whose
    // longest wait is shortest.
    double shortest_longest_wait = 1e18;
    for (const SimulationReport& b : day.baselines) {
      shortest_longest_wait = std::min(shortest_longest_wait, b.overall.longest_wait_seconds);
    }
    EXPECT_LE(day.router.overall.longest_wait_seconds, 1.5 * shortest_longest_wait);
    // Abandonment no higher than the lowest baseline's plus 0.5 points.
    double lowest_abandonment = 1;
    for (const SimulationReport& b : day.baselines) {
      lowest_abandonment = std::min(lowest_abandonment, b.overall.AbandonRatio());
    }
    EXPECT_LE(day.router.overall.AbandonRatio(), lowest_abandonment + 0.005);
  }
}

// Issue #18: overall service level ahead of the best baseline, here by at
// least 1 point on every shipped day (a ratchet: tightened from "within 1.5
// points behind" when a contact still in time went ahead of those past their
// target; measured 1.3 points ahead at least, centre_day).
TEST(GoalsTest, RouterIsAheadOfTheBestBaselineOverall) {
  ASSERT_EQ(Days().size(), std::size(kScenarios));
  for (const Day& day : Days()) {
    SCOPED_TRACE(day.scenario);
    EXPECT_GE(day.router.overall.ServiceLevel(), BestOverallLevel(day) + 0.01);
  }
}

// Issue #18's wait estimates: the router's estimate in the Submit reply is
// checked against the waits answered contacts got. On every shipped day its
// median absolute error is at least 5 % below the previous estimator's
// (position x smoothed time between answers; measured 20-29 % below before
// the senior wait changed routing, blended_bursts 8.7 % below after: 12.06 s
// against 13.20 s; since contacts still in time go first, blended_bursts
// 6.3 % below: 16.10 s against 17.18 s), and on
// the centre's ordinary day a contact first in line is told its wait within
// 8 s at the median (measured 3.9 s, now 2.8 s) and at least 45 % of all
// estimates are within +-20 % (measured 58 %, now 64 %). SIMULATION.md
// "Wait estimates".
TEST(GoalsTest, WaitEstimatesBeatThePreviousEstimatorAndStayAccurate) {
  ASSERT_EQ(Days().size(), std::size(kScenarios));
  for (const Day& day : Days()) {
    SCOPED_TRACE(day.scenario);
    ASSERT_TRUE(day.router.wait_accuracy.has_value());
    const WaitAccuracyReport& w = *day.router.wait_accuracy;
    const size_t all = w.AllQueues();
    const EstimateErrors& router =
        w.Cell(EstimateMoment::kSubmit, WaitEstimator::kRouter, all, kPositionBandCount);
    const EstimateErrors& previous =
        w.Cell(EstimateMoment::kSubmit, WaitEstimator::kAnswerInterval, all, kPositionBandCount);
    ASSERT_GE(router.count, 1000u);
    EXPECT_EQ(router.count, previous.count);
    EXPECT_LT(router.median_abs_error_seconds, 0.95 * previous.median_abs_error_seconds);
    if (day.scenario == "centre_day.yaml") {
      EXPECT_LT(
          w.Cell(EstimateMoment::kSubmit, WaitEstimator::kRouter, all, 0).median_abs_error_seconds,
          8.0);
      EXPECT_GE(router.within_20_percent, 0.45);
    }
  }
}

// Issue #18: every queue no worse than the best baseline minus 1 point. Before
// the service objective missed by blended_bursts' chat (98.1 % against
// fifo_linear's 100.0 %); now at worst 0.4 points behind (the same chat
// queue, 99.6 % against 100.0 %; centre_day's billing 0.03 ahead).
TEST(GoalsTest, EveryQueueKeepsUpWithTheBestBaseline) {
  ASSERT_EQ(Days().size(), std::size(kScenarios));
  for (const Day& day : Days()) {
    SCOPED_TRACE(day.scenario);
    for (const GroupReport& q : day.router.queues) {
      EXPECT_GE(q.total.ServiceLevel(), BestLevel(day, &SimulationReport::queues, q.name) - 0.01)
          << q.name;
    }
  }
}

// Issue #18: senior-routed complaints no worse than the best baseline minus 5
// points. Held since a contact waits for a senior only escalation.senior_wait_share
// of its target (before: 18.6 to 49.6 points behind on four of the five days).
TEST(GoalsTest, SeniorRoutedComplaintsKeepUpWithTheBestBaseline) {
  ASSERT_EQ(Days().size(), std::size(kScenarios));
  for (const Day& day : Days()) {
    SCOPED_TRACE(day.scenario);
    const GroupReport* complaint = Find(day.router.streams, "complaint");
    ASSERT_NE(complaint, nullptr);
    EXPECT_GE(complaint->total.ServiceLevel(),
              BestLevel(day, &SimulationReport::streams, "complaint") - 0.05);
  }
}

}  // namespace
}  // namespace ccr::sim
