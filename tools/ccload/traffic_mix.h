// The pure half of ccload: command-line flags, the contact mix the simulated
// gateways submit, Poisson inter-arrival times, the agent roster and how the
// simulated agents behave. No I/O and no clocks: everything is drawn from a
// seeded std::mt19937_64, so one seed gives one sequence.
//
//   absl::StatusOr<ccr::load::LoadOptions> opts = ccr::load::ParseArgs({"--rate", "5"});
//   ccr::load::TrafficMix mix(opts->seed);
//   double gap_seconds = mix.NextInterArrivalSeconds(opts->rate_per_second);
//   ccr::load::Arrival arrival = mix.NextArrival();  // spec has no idempotency key yet
#ifndef CCR_TOOLS_CCLOAD_TRAFFIC_MIX_H_
#define CCR_TOOLS_CCLOAD_TRAFFIC_MIX_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ccrouter/v1/agent_desk.pb.h"
#include "ccrouter/v1/types.pb.h"

namespace ccr::load {

struct LoadOptions {
  std::string server = "127.0.0.1:7700";
  int agents = 12;
  double rate_per_second = 2;
  double duration_seconds = 0;  // 0: until SIGINT / SIGTERM
  uint64_t seed = 0;
  bool seed_given = false;  // false: the caller picks a random seed and prints it
  double stats_interval_seconds = 1;
  bool json = false;
  bool help = false;
};

// Parses the flags after argv[0]. Accepts `--flag value` and `--flag=value`.
// An error's message starts with the offending flag, e.g. "--rate: ...".
absl::StatusOr<LoadOptions> ParseArgs(const std::vector<std::string>& args);

// The --help text.
const char* UsageText();

// One contact as a gateway would submit it, plus how long the customer waits
// before giving up if no agent has been offered the contact by then.
struct Arrival {
  ccrouter::v1::ContactSpec spec;  // idempotency_key left empty
  double patience_seconds = 0;     // 0: never abandons
};

// Customer ids come from fixed pools, one per tier, sized by the tier mix, so
// a returning customer always has the same tier (and can be routed sticky).
class TrafficMix {
 public:
  explicit TrafficMix(uint64_t seed);

  // Exponentially distributed: the gaps of a Poisson process of `rate_per_second`.
  // REQUIRES: rate_per_second > 0
  double NextInterArrivalSeconds(double rate_per_second);

  Arrival NextArrival();

  // Shares of each tier among arrivals (standard, silver, gold, VIP).
  static constexpr double kTierShare[4] = {0.70, 0.18, 0.09, 0.03};
  static constexpr double kComplaintShare = 0.08;
  static constexpr double kEmergencyShare = 0.01;
  static constexpr double kSpanishShare = 0.15;
  static constexpr int kCustomerPoolSize = 400;

 private:
  double Uniform01() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  bool Chance(double p) { return Uniform01() < p; }
  double Exponential(double mean) { return std::exponential_distribution<double>(1 / mean)(rng_); }

  std::mt19937_64 rng_;
};

// A simulated agent's login.
struct AgentProfile {
  ccrouter::v1::Login login;
};

// `count` agents "agent-001" ...: general 5-9 for all, billing 4-8 on ~40 %,
// emergency 6 on ~20 %, senior on ~25 %, Spanish on ~30 %; some voice-only,
// some digital-only. At least one agent of a large enough roster has each of
// billing, emergency and Spanish so every queue can be served.
std::vector<AgentProfile> MakeAgentRoster(int count, uint64_t seed);

// How a simulated agent paces its work. Times are scaled down for a demo.
class DeskBehaviour {
 public:
  explicit DeskBehaviour(uint64_t seed) : rng_(seed) {}

  double AcceptDelaySeconds() { return Uniform(0.5, 3.0); }
  bool Rejects() { return Uniform(0, 1) < 0.05; }
  // Exponential with a per-channel mean (voice 20 s, chat 30 s, email 15 s,
  // messaging 25 s), at least 1 s.
  double HandleSeconds(ccrouter::v1::Channel channel);
  double WrapUpSeconds() { return Uniform(1.0, 3.0); }
  bool Resolved() { return Uniform(0, 1) < 0.90; }

 private:
  double Uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng_);
  }

  std::mt19937_64 rng_;
};

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_TRAFFIC_MIX_H_
