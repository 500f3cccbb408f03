// Simulator: a discrete-event simulation of a contact centre's day, driving
// a routing policy (the real ccr::Router, or a baseline) with a simulated
// clock.
//
//   std::vector<ContactPlan> plan = PlanContacts(scenario, config);  // once
//   for (Policy p : AllPolicies())
//     absl::StatusOr<SimulationReport> r = Simulate(scenario, config, p, plan);
//
// Every policy gets the same plan: the same arrival times, patience and
// handle times (common random numbers), so a difference between two reports
// is the policies' and not the dice's. Deterministic for a scenario seed.
#ifndef CCROUTER_TOOLS_CCSIM_SIMULATOR_H_
#define CCROUTER_TOOLS_CCSIM_SIMULATOR_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "router/types.h"
#include "tools/ccsim/queue_dispatcher.h"
#include "tools/ccsim/scenario.h"
#include "tools/ccsim/wait_accuracy.h"

namespace ccr::sim {

enum class Policy {
  kRouter,
  kFifoLinear,
  kFifoLongestIdle,
  kFifoRoundRobin,
  kFifoRingAll,
  kGcMu,             // generalized c-mu (queue_dispatcher.h)
  kFixedQueueRatio,  // fixed-queue-ratio
  kSkillPriority,    // longest-idle agent, static skill priorities
};
const char* PolicyName(Policy p);
absl::StatusOr<Policy> ParsePolicy(absl::string_view name);
std::vector<Policy> AllPolicies();

// One contact the scenario will bring, drawn before any policy runs.
struct ContactPlan {
  double arrival_seconds = 0;  // since the start of the simulated day
  uint32_t stream = 0;
  double patience_seconds = 0;  // infinity: never abandons
  double handle_seconds = 0;
  // Index into Scenario::recorded when the contact was recorded (its tier,
  // signals and language come from there), else -1.
  int32_t recorded = -1;
};

// Counts over the contacts that arrived in a window (after the warm-up).
struct ServiceTally {
  uint64_t arrived = 0;
  uint64_t answered = 0;
  uint64_t answered_within_target = 0;
  uint64_t abandoned = 0;
  uint64_t expired = 0;       // the policy gave up on them (queue expire_after)
  uint64_t unanswered = 0;    // still waiting when the simulation ended
  uint64_t sla_breaches = 0;  // not answered within their queue's target
  double total_answer_wait_seconds = 0;
  double longest_wait_seconds = 0;

  // answered within target / answered (1 when nothing was answered).
  double ServiceLevel() const;
  // mean wait of the answered contacts.
  double AsaSeconds() const;
  // abandoned / (answered + abandoned).
  double AbandonRatio() const;
  void Add(const ServiceTally& other);
};

struct GroupReport {
  std::string name;
  double target_seconds = 0;  // queues only
  double target_ratio = 0;    // queues only
  ServiceTally total;
  std::vector<ServiceTally> intervals;  // by arrival time
};

struct SimulationReport {
  std::string scenario;
  std::string policy;
  uint64_t seed = 0;
  double duration_hours = 0;
  double warmup_hours = 0;
  double interval_minutes = 0;
  ServiceTally overall;
  std::vector<GroupReport> queues;   // in config order, those with traffic
  std::vector<GroupReport> tiers;    // those with traffic
  std::vector<GroupReport> streams;  // in scenario order
  uint32_t agents = 0;
  // Agent time with at least one contact held (including wrap-up) over
  // time logged in and taking contacts or holding one.
  double occupancy = 0;
  // Fairness of agent load, over agents staffed at least an hour:
  // Jain's index of their occupancies (1: all equal) and the coefficient of
  // variation of contacts handled per staffed hour.
  double occupancy_jain_index = 0;
  double handled_per_hour_cv = 0;
  uint64_t contacts_planned = 0;
  uint64_t contacts_created_by_policy = 0;  // router follow-ups
  double wall_seconds = 0;
  std::map<std::string, uint64_t> policy_counters;
  // The router's wait estimates and the candidates against the waits
  // answered contacts got (router policy with check_wait_estimates only;
  // every contact of the run).
  std::optional<WaitAccuracyReport> wait_accuracy;
};

// Draws the day's contacts. Deterministic for scenario.seed.
std::vector<ContactPlan> PlanContacts(const Scenario& scenario, const RouterConfig& config);

// Each queue's planned traffic (config order), for the research baselines:
// arrivals per hour over the day as planned, and the mean of its streams'
// handle time distributions weighted by their contacts.
std::vector<QueueLoad> PlannedLoads(const Scenario& scenario, const RouterConfig& config,
                                    const std::vector<ContactPlan>& plan);

// The agents of every group, in group order ("<group>-<n>").
std::vector<AgentSpec> BuildRoster(const Scenario& scenario);

struct SimulationOptions {
  // Check the router's wait estimates (SimulationReport::wait_accuracy).
  // Off for long runs (validation): every estimate is kept until the end.
  bool check_wait_estimates = false;
};

// Runs the day under `policy`. REQUIRES: CheckScenario(scenario, config) ok.
absl::StatusOr<SimulationReport> Simulate(const Scenario& scenario, const RouterConfig& config,
                                          Policy policy, const std::vector<ContactPlan>& plan,
                                          SimulationOptions options = {});

}  // namespace ccr::sim

#endif  // CCROUTER_TOOLS_CCSIM_SIMULATOR_H_
