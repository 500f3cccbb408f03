// ccload's command line: the flags (absl flags, spelt with dashes), their
// defaults and the --help text.
//
//   absl::StatusOr<ccr::load::LoadOptions> options =
//       ccr::load::ParseArgs({"--rate", "5", "--agents=20"});
//   if (!options.ok()) { /* message starts with the flag: "--rate: ..." */ }
#ifndef CCR_TOOLS_CCLOAD_LOAD_OPTIONS_H_
#define CCR_TOOLS_CCLOAD_LOAD_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ccr::load {

// --desk-queues: the default (also the DeskClients' shared set), and the most.
inline constexpr int kDefaultDeskQueues = 4;
inline constexpr int kMaxDeskQueues = 64;

struct LoadOptions {
  // --server: ccrouterd's addresses; in cluster mode the nodes, of which the
  // preflight finds the owner (codec/owner_redirect.h).
  std::vector<std::string> servers = {"127.0.0.1:7700"};
  int agents = 12;
  double rate_per_second = 2;   // 0: no gateway traffic, agents only
  double duration_seconds = 0;  // 0: until SIGINT / SIGTERM
  uint64_t seed = 0;
  bool seed_given = false;  // false: the caller picks a random seed and prints it
  std::string mix_path;     // empty: the embedded default mix
  double stats_interval_seconds = 1;
  bool json = false;
  bool help = false;

  // Benchmark mode (--bench, or implied by --baseline): the demo's gateways
  // and agents, latency histograms, one summary at the end. The demo flags
  // above keep their meaning; --rate 0 there means closed loop.
  bool bench = false;
  bool baseline = false;       // the server is tools/bench/echo_server: no agents, no Admin
  int gateways = 4;            // ContactIngest channels (one connection each)
  bool stream_ingest = true;   // --ingest stream (SubmitStream) or unary (Submit)
  int window = 64;             // closed loop: submits in flight per gateway
  double warmup_seconds = 1;   // traffic runs but is not counted
  double accept_delay_ms = 0;  // simulated agent: offer -> Accept
  double handle_ms = 50;       // Accept -> Complete
  double wrap_up_ms = 0;       // Complete -> WrapUpDone

  // --desk-transport websocket: agents speak the browser's WebSocket at
  // --http-server instead of AgentDesk.Connect.
  bool websocket_desks = false;
  // gRPC agents: completion queues, each with a thread, their streams spread
  // over (--desk-queues).
  int desk_queues = kDefaultDeskQueues;
  std::string http_host = "127.0.0.1";
  uint16_t http_port = 7701;
};

// "127.0.0.1:7701" -> host and port; false unless the host is numeric.
bool SplitHttpServer(const std::string& value, std::string* host, uint16_t* port);

// The largest --agents, demo or --bench: one process drives them all (on
// --desk-queues completion queues). Ids are "agent-001"... ("bench-00001"... with --bench).
inline constexpr int kMaxAgents = 100000;
inline constexpr int kMaxGateways = 256;

// Sets ccload's absl flags from the arguments after argv[0], starting from
// their defaults, and returns them as LoadOptions. Accepts `--flag value` and
// `--flag=value`; a switch (--json, --bench, --baseline) takes no value.
// An error is INVALID_ARGUMENT and its message starts with the offending
// flag, e.g. "--rate: expected a number >= 0, got 'fast'". Flags that only
// make sense with --bench are refused without it, naming the flag.
absl::StatusOr<LoadOptions> ParseArgs(const std::vector<std::string>& args);

// The --help text.
const char* UsageText();

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_LOAD_OPTIONS_H_
