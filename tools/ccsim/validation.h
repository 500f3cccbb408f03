// Validation against queueing theory: the real router, made to behave as a
// plain M/M/n queue (one queue, one tier, no signals, no overflow, offers
// answered at once, no wrap-up), simulated long enough that the measured
// service level, ASA and abandonment are tight, next to what Erlang C
// (no abandonment) or Erlang A (exponential patience) predicts.
//
// The statistical error is estimated by batch means: the measured window is
// cut into equal batches (each many times the queue's relaxation time), and
// the spread of the batch figures gives the standard error of the whole.
#ifndef CCROUTER_TOOLS_CCSIM_VALIDATION_H_
#define CCROUTER_TOOLS_CCSIM_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/ccsim/erlang.h"
#include "tools/ccsim/scenario.h"
#include "tools/ccsim/simulator.h"

namespace ccr::sim {

struct ValidationCase {
  int agents = 10;
  double load_per_agent = 0.8;  // offered load / agents (the occupancy without abandonment)
  double handle_seconds = 300;
  double target_seconds = 20;
  double patience_seconds = 0;  // 0: nobody abandons (Erlang C)
};

struct ValidationResult {
  ValidationCase inputs;
  ErlangPrediction predicted;
  double service_level = 0;
  double service_level_se = 0;  // standard error by batch means
  double asa_seconds = 0;
  double asa_se = 0;
  double abandon_ratio = 0;
  double abandon_se = 0;
  uint64_t contacts = 0;  // measured (after warm-up)
  double simulated_hours = 0;
  double wall_seconds = 0;
};

// One queue "mmc" (voice, exclusive, capacity 1) under routing_policy fifo
// (arrival order), no overflow, no wrap-up, no surveys or follow-ups, a
// short idempotency window.
RouterConfig MmcRouterConfig(double target_seconds);

// The scenario for `c`: one Poisson stream, exponential handle times (and
// patience), `c.agents` identical agents on shift for the whole run.
// `measured_contacts` sets the length (at least 200 relaxation times); the
// window is cut into `batches` batches after a warm-up of two batches.
Scenario MmcScenario(const ValidationCase& c, double measured_contacts, int batches, uint64_t seed);

// Runs `c` through `policy` (the router by default) and compares.
absl::StatusOr<ValidationResult> RunValidationCase(const ValidationCase& c,
                                                   double measured_contacts, uint64_t seed,
                                                   Policy policy = Policy::kRouter);

// The table `tools/ccsim/validate` prints: Erlang C at 70-95 % occupancy with
// 10-200 agents, then Erlang A with 180 s mean patience at 90-110 % load.
std::vector<ValidationCase> ValidationTable();

// One row of `ccsim validate`'s table, and the same figures as a JSON object.
std::string ValidationRowText(const ValidationResult& r);
std::string ValidationRowJson(const ValidationResult& r);

}  // namespace ccr::sim

#endif  // CCROUTER_TOOLS_CCSIM_VALIDATION_H_
