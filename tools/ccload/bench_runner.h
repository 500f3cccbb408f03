// `ccload --bench` / `--baseline`: the benchmark runner. Every call uses the
// gRPC callback API: N gateways (SubmitStream or unary Submit), M simulated
// agents on their AgentDesk streams, open-loop Poisson arrivals or a closed
// loop, a warm-up, then one summary (bench_report.h).
//
// Each contact carries its intended send time (steady clock, ns) in the
// attribute kSentAtAttribute; the engine hands attributes to the agent with
// the offer, so submit->offer latency needs no shared map between gateway
// and agent.
#ifndef CCR_TOOLS_CCLOAD_BENCH_RUNNER_H_
#define CCR_TOOLS_CCLOAD_BENCH_RUNNER_H_

#include <chrono>
#include <functional>

#include "tools/ccload/load_options.h"
#include "tools/ccload/traffic_mix.h"

namespace ccr::load {

inline constexpr char kSentAtAttribute[] = "ccload_sent_ns";

// Runs the benchmark and prints the summary on stdout. `wait_for_stop`
// waits up to its argument for Ctrl-C / SIGTERM and says whether one came.
// Returns the process exit status (0 done, 1 server unreachable or unusable).
int RunBench(const LoadOptions& options, TrafficMixConfig mix,
             const std::function<bool(std::chrono::steady_clock::duration)>& wait_for_stop);

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_BENCH_RUNNER_H_
