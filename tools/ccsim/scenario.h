// Scenario: what a simulated day looks like: traffic streams (Poisson
// arrivals with a time-of-day rate profile, customer patience, handle
// times, the contact's tier and signals) and agent groups (skills,
// languages, channel capacities, a shift and breaks). Parsed from YAML into
// ccrouter.v1.Scenario (proto/ccrouter/v1/scenario.proto) by the engine's
// YAML loader, then checked; tools/ccsim/README.md documents it with an example.
//
//   absl::StatusOr<Scenario> s = ParseScenarioYaml(text);  // errors name the field
#ifndef CCROUTER_TOOLS_CCSIM_SCENARIO_H_
#define CCROUTER_TOOLS_CCSIM_SCENARIO_H_

#include <array>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "router/types.h"

namespace ccr::sim {

// A non-negative random duration in seconds.
struct Distribution {
  enum class Kind { kExponential, kLognormal, kConstant, kNever };
  Kind kind = Kind::kExponential;
  double mean_seconds = 0;
  double cv = 1;  // lognormal: standard deviation / mean

  static Distribution Exponential(double mean_seconds) {
    return {Kind::kExponential, mean_seconds, 1};
  }
  static Distribution Never() { return {Kind::kNever, 0, 0}; }
  // kNever gives +infinity.
  double Sample(std::mt19937_64& rng) const;
};

struct TrafficStream {
  std::string name;
  std::string queue;         // a queue of the router config
  double rate_per_hour = 0;  // multiplied by the profile, when one is named
  std::string profile;       // empty: flat
  Tier tier = Tier::kStandard;
  Signals signals;
  std::string language;  // empty: the queue's default
  Distribution patience = Distribution::Never();
  std::optional<Distribution> handle;  // empty: the scenario's handle time for the channel
};

struct ShiftBreak {
  double after_hours = 0;  // from the shift's start
  double minutes = 0;
};

struct AgentGroup {
  std::string name;
  int count = 0;
  std::vector<SkillLevel> skills;
  std::vector<std::string> languages;  // empty: the config's default language
  std::vector<std::pair<Channel, uint32_t>> capacities;
  double shift_start_hour = 0;
  double shift_end_hour = 24;
  std::vector<ShiftBreak> breaks;
  // Agents of the group start each break spread evenly over this window,
  // so a whole team is never away at once.
  double break_stagger_minutes = 0;
};

// One contact of a recorded day (journal_arrivals.h).
struct RecordedContact {
  double arrival_seconds = 0;  // since the start of the simulated day
  uint32_t queue = 0;          // index into RouterConfig::queues
  Tier tier = Tier::kStandard;
  Signals signals;
  std::string language;
};

struct Scenario {
  std::string name;
  std::string description;
  uint64_t seed = 1;
  double duration_hours = 24;
  // Contacts arriving before this are simulated but not counted (the
  // centre starts empty; steady-state figures skip the start).
  double warmup_hours = 0;
  double interval_minutes = 30;  // service level over the day, per interval
  double profile_step_minutes = 60;
  std::map<std::string, std::vector<double>> profiles;
  // By channel; unset: exponential with the config's default_handle.
  std::array<std::optional<Distribution>, kChannelCount> handle_by_channel;
  std::vector<TrafficStream> streams;
  std::vector<AgentGroup> agents;
  // When set, these are the day's arrivals instead of the streams' Poisson
  // processes; each names its stream through `recorded_stream`.
  std::vector<RecordedContact> recorded;
  std::vector<uint32_t> recorded_stream;  // by recorded contact

  // The rate multiplier of `profile` at `hours` after the start (1 when
  // the profile is empty; the last step repeats past its end).
  double ProfileMultiplier(const std::string& profile, double hours) const;
};

// InvalidArgument naming the field for an unknown key, a missing required
// key or a bad value, worded as the engine's config errors are.
absl::StatusOr<Scenario> ParseScenarioYaml(absl::string_view yaml);

// Checks the scenario against the router config: every stream's queue exists.
absl::Status CheckScenario(const Scenario& scenario, const RouterConfig& config);

}  // namespace ccr::sim

#endif  // CCROUTER_TOOLS_CCSIM_SCENARIO_H_
