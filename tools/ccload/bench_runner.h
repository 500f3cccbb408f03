// `ccload --bench` / `--baseline`: the benchmark runner. N gateways
// (SubmitStream or unary Submit, gRPC callback API), M simulated agents on
// their AgentDesk streams (--desk-queues completion queues), open-loop
// Poisson arrivals or a closed loop, a warm-up, then one summary
// (bench_report.h).
//
// The clients are the demo's (GatewayClient, DeskClient with a
// FixedDelayDeskPolicy, one Scheduler, one RunCounters). Each contact
// carries its intended send time in the attribute kSentAtAttribute
// (desk_client.h), so submit->offer latency needs no shared map between
// gateway and agent.
#ifndef CCR_TOOLS_CCLOAD_BENCH_RUNNER_H_
#define CCR_TOOLS_CCLOAD_BENCH_RUNNER_H_

#include <chrono>
#include <functional>

#include "tools/ccload/load_options.h"
#include "tools/ccload/traffic_mix.h"

namespace ccr::load {

// Runs the benchmark and prints the summary on stdout. `wait_for_stop`
// waits up to its argument for Ctrl-C / SIGTERM and says whether one came.
// Returns the process exit status (0 done, 1 server unreachable or unusable).
int RunBench(const LoadOptions& options, TrafficMixConfig mix,
             const std::function<bool(std::chrono::steady_clock::duration)>& wait_for_stop);

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_BENCH_RUNNER_H_
