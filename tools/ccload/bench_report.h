// What `ccload --bench` measured, and how it is printed: a human table, one
// JSON object (--json, for tools/bench/run and the CI smoke test), and the
// progress line on stderr. Pure formatting; no I/O.
//
//   BenchSummary s = ...;
//   std::printf("%s", FormatBenchTable(s).c_str());
#ifndef CCR_TOOLS_CCLOAD_BENCH_REPORT_H_
#define CCR_TOOLS_CCLOAD_BENCH_REPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tools/ccload/hdr_histogram.h"

namespace ccr::load {

// One queue at the end of the run, from Admin.ListQueues.
struct BenchQueueFigures {
  std::string name;
  uint64_t answered = 0;
  uint64_t answered_within_target = 0;
  double service_level = 0;  // answered within target / answered, since the engine started
  double target_ratio = 0;
  double target_seconds = 0;
  uint32_t queued = 0;
};

struct BenchSummary {
  std::string server;
  bool baseline = false;  // the server was the echo server
  bool stream_ingest = true;
  bool open_loop = true;
  double target_rate_per_second = 0;  // open loop only
  int gateways = 0;
  int window = 0;  // closed loop only
  int agents = 0;
  int agents_logged_in = 0;
  double warmup_seconds = 0;
  double measured_seconds = 0;  // the counted window, after the warm-up
  // Counted in the measured window (by intended send time in open loop).
  uint64_t submitted = 0;
  uint64_t acked = 0;
  uint64_t offers = 0;
  uint64_t not_sent = 0;                   // open loop: dropped because too many were in flight
  uint64_t acked_all = 0;                  // including the warm-up and the drain: for CPU per ack
  uint64_t unanswered = 0;                 // still unanswered when the drain ended (any time)
  std::map<std::string, uint64_t> errors;  // "Submit DEADLINE_EXCEEDED" -> count
  HdrHistogram submit_to_ack;
  HdrHistogram submit_to_offer;
  std::vector<BenchQueueFigures> queues;  // empty with --baseline
  std::string engine_figures_error;       // set when ListQueues failed

  double acks_per_second() const {
    return measured_seconds > 0 ? static_cast<double>(acked) / measured_seconds : 0;
  }
};

// Percentiles reported everywhere, in this order.
inline constexpr double kReportedPercentiles[] = {50, 90, 99, 99.9};

std::string FormatBenchTable(const BenchSummary& s);
std::string FormatBenchJson(const BenchSummary& s);  // one line, no trailing newline

// One line: elapsed, phase, acks/s over the last interval, p99 so far.
std::string FormatBenchProgress(double elapsed_seconds, bool warming_up, double acks_per_second,
                                uint64_t acked, uint64_t offers, uint64_t errors,
                                uint64_t in_flight, const HdrHistogram& ack_so_far);

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_BENCH_REPORT_H_
