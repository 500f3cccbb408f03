// The figures ccload prints every --stats-interval and at the end: the
// engine's queues (Admin.ListQueues) next to what ccload itself did, as a
// human table or as one JSON object per line. Pure formatting, no I/O.
//
//   LoadCounters counters = ...;  // a snapshot of ccload's own totals
//   absl::StatusOr<ccrouter::v1::ListQueuesReply> queues = ...;  // or the RPC's error
//   std::fputs(FormatTableReport(counters, queues, /*final=*/false).c_str(), stdout);
#ifndef CCR_TOOLS_CCLOAD_LOAD_REPORT_H_
#define CCR_TOOLS_CCLOAD_LOAD_REPORT_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ccrouter/v1/admin.pb.h"

namespace ccr::load {

// What ccload did since it started. No customer data: nothing here can
// identify a person.
struct LoadCounters {
  double elapsed_seconds = 0;
  uint64_t seed = 0;
  int agents = 0;            // simulated agents started
  int agents_logged_in = 0;  // logged in now (in the final summary: when ccload stopped)
  uint64_t submitted = 0;    // Submit calls made
  uint64_t acked = 0;        // answered OK
  uint64_t duplicates = 0;   // answered OK with duplicate = true
  uint64_t offers = 0;
  uint64_t accepts = 0;
  uint64_t rejects = 0;
  uint64_t withdrawn = 0;  // offers withdrawn before the agent answered
  uint64_t completes = 0;
  uint64_t wrap_ups = 0;
  uint64_t abandons = 0;  // customers who hung up (Update abandoned, answered OK)
  // Failures by "<what> <code>", e.g. "Submit UNAVAILABLE", "AgentDesk.Connect
  // UNAVAILABLE", "AgentDesk command FAILED_PRECONDITION" (a CommandResult).
  std::map<std::string, uint64_t> errors;
};

// Masks what looks like a customer id of ccload's making or a phone number
// in `text` (e.g. a server's error message, before it is printed):
// "cu3fa2-0000017" -> "cu***17", "+15550000017" -> "+1***17".
std::string MaskPersonalData(absl::string_view text);

// "20s", "3m", "24h": a queue's answer target.
std::string FormatTargetSeconds(double seconds);

// Two lines of ccload totals, then one line per queue (or the ListQueues
// error). `final`: the closing summary.
std::string FormatTableReport(const LoadCounters& counters,
                              const absl::StatusOr<ccrouter::v1::ListQueuesReply>& queues,
                              bool final);

// One line holding one JSON object: {"elapsed_seconds":..,"final":..,
// "ccload":{..},"queues":[..]} ("admin_error" instead of "queues" when
// ListQueues failed).
std::string FormatJsonReport(const LoadCounters& counters,
                             const absl::StatusOr<ccrouter::v1::ListQueuesReply>& queues,
                             bool final);

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_LOAD_REPORT_H_
