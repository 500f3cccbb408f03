// Erlang C (M/M/n) and Erlang A (M/M/n+M, Palm's queue with exponential
// patience): what queueing theory predicts for one queue with Poisson
// arrivals, exponential handle times and n identical agents serving FIFO.
//
// The simulator is validated against these, and operators use them to size a
// queue before they simulate it:
//
//   ccr::sim::ErlangInputs in{.arrivals_per_hour = 100, .handle_seconds = 180,
//                             .agents = 7, .target_seconds = 20};
//   absl::StatusOr<ccr::sim::ErlangPrediction> p = ccr::sim::PredictErlang(in);
//
// Definitions (the same as the router's QueueStats and the simulator's):
//   p_wait         probability an arriving contact finds every agent busy.
//   service_level  answered within target / answered.
//   asa_seconds    mean wait of the answered contacts.
//   abandon_ratio  abandoned / arrived (0 without patience).
#ifndef CCROUTER_TOOLS_CCSIM_ERLANG_H_
#define CCROUTER_TOOLS_CCSIM_ERLANG_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace ccr::sim {

struct ErlangInputs {
  double arrivals_per_hour = 0;
  double handle_seconds = 0;  // mean
  int agents = 0;
  double target_seconds = 20;
  // Mean customer patience; 0 means customers never abandon (Erlang C).
  double patience_seconds = 0;
};

struct ErlangPrediction {
  // False when the queue grows without bound (Erlang C with load >= agents):
  // then p_wait is 1, service_level 0 and asa_seconds infinite.
  bool stable = true;
  double occupancy = 0;  // agent utilisation
  double p_wait = 0;
  double service_level = 0;
  double asa_seconds = 0;
  double abandon_ratio = 0;
};

// Erlang B blocking probability for `agents` servers and `offered_erlangs`,
// by the recursion B(k) = a B(k-1) / (k + a B(k-1)): no factorials, stable.
double ErlangB(int agents, double offered_erlangs);

// Erlang C when patience_seconds is 0, Erlang A otherwise. InvalidArgument
// names the bad field.
absl::StatusOr<ErlangPrediction> PredictErlang(const ErlangInputs& in);

// The fewest agents whose predicted service level reaches `target_ratio`
// (and, for Erlang C, whose queue is stable). Fails beyond 100000 agents.
absl::StatusOr<int> AgentsNeeded(ErlangInputs in, double target_ratio);

}  // namespace ccr::sim

#endif  // CCROUTER_TOOLS_CCSIM_ERLANG_H_
