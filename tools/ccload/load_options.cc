#include "tools/ccload/load_options.h"

#include <cmath>
#include <set>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "boost/asio/ip/address.hpp"
#include "codec/owner_redirect.h"

// ccload's flags. absl names them with underscores; the command line, --help
// and every document spell them with dashes (--stats-interval), which
// ParseArgs maps. Defaults are LoadOptions' (load_options.h).
ABSL_FLAG(std::string, server, "127.0.0.1:7700",
          "ccrouterd gRPC address, HOST:PORT; in cluster mode the nodes, comma-separated");
ABSL_FLAG(int, agents, 12, "simulated agents; 0 = none");
ABSL_FLAG(double, rate, 2,
          "contact arrivals per second (Poisson); 0 = none (--bench: closed loop)");
ABSL_FLAG(double, duration, 0, "stop after this many seconds; 0 = until Ctrl-C");
ABSL_FLAG(uint64_t, seed, 0, "random seed (default: random, printed)");
ABSL_FLAG(std::string, mix, "", "YAML traffic mix file (default: built in)");
ABSL_FLAG(double, stats_interval, 1, "seconds between live figures");
ABSL_FLAG(bool, json, false, "one JSON object per line instead of the table");
ABSL_FLAG(bool, bench, false, "benchmark mode: one summary at the end");
ABSL_FLAG(bool, baseline, false, "the server is tools/bench/echo_server; implies --bench");
ABSL_FLAG(int, gateways, 4, "--bench: gateway connections");
ABSL_FLAG(std::string, ingest, "stream", "--bench: stream (SubmitStream) or unary (Submit)");
ABSL_FLAG(int, window, 64, "--bench closed loop: submits in flight per gateway");
ABSL_FLAG(double, warmup, 1, "--bench: seconds run but not counted first");
ABSL_FLAG(double, accept_delay_ms, 0, "--bench agent: offer -> Accept");
ABSL_FLAG(double, handle_ms, 50, "--bench agent: Accept -> Complete");
ABSL_FLAG(double, wrap_up_ms, 0, "--bench agent: Complete -> WrapUpDone");
ABSL_FLAG(std::string, desk_transport, "grpc",
          "agents: grpc (AgentDesk.Connect) or websocket (/v1/agent-desk on --http-server)");
ABSL_FLAG(int, desk_queues, ccr::load::kDefaultDeskQueues,
          "gRPC agents: completion queues (a thread each) their streams spread over");
ABSL_FLAG(std::string, http_server, "127.0.0.1:7701",
          "ccrouterd HTTP address, HOST:PORT (numeric host), for --desk-transport websocket");

namespace ccr::load {

bool SplitHttpServer(const std::string& value, std::string* host, uint16_t* port) {
  const size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  boost::system::error_code ec;
  boost::asio::ip::make_address(value.substr(0, colon), ec);
  int p = 0;
  if (ec || !absl::SimpleAtoi(value.substr(colon + 1), &p) || p <= 0 || p > 65535) return false;
  *host = value.substr(0, colon);
  *port = static_cast<uint16_t>(p);
  return true;
}

namespace {

absl::Status FlagError(const std::string& flag, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", what));
}

// The flags as written (dashed), those valid only with --bench marked.
struct FlagSpelling {
  const char* dashed;
  bool bench_only;
};
constexpr FlagSpelling kFlags[] = {
    {"server", false},         {"agents", false},      {"rate", false},
    {"duration", false},       {"seed", false},        {"mix", false},
    {"stats-interval", false}, {"json", false},        {"bench", false},
    {"baseline", false},       {"gateways", true},     {"ingest", true},
    {"window", true},          {"warmup", true},       {"accept-delay-ms", true},
    {"handle-ms", true},       {"wrap-up-ms", true},   {"desk-transport", false},
    {"http-server", false},    {"desk-queues", false},
};

absl::CommandLineFlag* FindFlag(absl::string_view dashed) {
  return absl::FindCommandLineFlag(absl::StrReplaceAll(dashed, {{"-", "_"}}));
}

// What a flag's value must be, for its error message.
std::string Expected(absl::string_view dashed) {
  if (dashed == "agents") return absl::StrCat("expected an integer 0..", kMaxAgents);
  if (dashed == "seed") return "expected an unsigned integer";
  if (dashed == "mix") return "expected a file name";
  if (dashed == "stats-interval") return "expected a number > 0";
  if (dashed == "gateways") return absl::StrCat("expected an integer 1..", kMaxGateways);
  if (dashed == "window") return "expected an integer 1..100000";
  if (dashed == "ingest") return "expected stream or unary";
  if (dashed == "desk-transport") return "expected grpc or websocket";
  if (dashed == "http-server") return "expected HOST:PORT with a numeric host";
  if (dashed == "desk-queues") return absl::StrCat("expected an integer 1..", kMaxDeskQueues);
  return "expected a number >= 0";
}

bool FiniteAtLeastZero(double value) { return std::isfinite(value) && value >= 0; }

// Whether the (already parsed) value of `dashed` is in range.
bool InRange(absl::string_view dashed) {
  if (dashed == "server") return ParseServerList("--server", absl::GetFlag(FLAGS_server)).ok();
  if (dashed == "agents") {
    const int n = absl::GetFlag(FLAGS_agents);
    return n >= 0 && n <= kMaxAgents;
  }
  if (dashed == "rate") return FiniteAtLeastZero(absl::GetFlag(FLAGS_rate));
  if (dashed == "duration") return FiniteAtLeastZero(absl::GetFlag(FLAGS_duration));
  if (dashed == "mix") return !absl::GetFlag(FLAGS_mix).empty();
  if (dashed == "stats-interval") {
    const double s = absl::GetFlag(FLAGS_stats_interval);
    return std::isfinite(s) && s > 0;
  }
  if (dashed == "gateways") {
    const int n = absl::GetFlag(FLAGS_gateways);
    return n >= 1 && n <= kMaxGateways;
  }
  if (dashed == "window") {
    const int n = absl::GetFlag(FLAGS_window);
    return n >= 1 && n <= 100000;
  }
  if (dashed == "ingest") {
    const std::string ingest = absl::GetFlag(FLAGS_ingest);
    return ingest == "stream" || ingest == "unary";
  }
  if (dashed == "warmup") return FiniteAtLeastZero(absl::GetFlag(FLAGS_warmup));
  if (dashed == "desk-transport") {
    const std::string transport = absl::GetFlag(FLAGS_desk_transport);
    return transport == "grpc" || transport == "websocket";
  }
  if (dashed == "http-server") {
    std::string host;
    uint16_t port = 0;
    return SplitHttpServer(absl::GetFlag(FLAGS_http_server), &host, &port);
  }
  if (dashed == "desk-queues") {
    const int n = absl::GetFlag(FLAGS_desk_queues);
    return n >= 1 && n <= kMaxDeskQueues;
  }
  if (dashed == "accept-delay-ms") return FiniteAtLeastZero(absl::GetFlag(FLAGS_accept_delay_ms));
  if (dashed == "handle-ms") return FiniteAtLeastZero(absl::GetFlag(FLAGS_handle_ms));
  if (dashed == "wrap-up-ms") return FiniteAtLeastZero(absl::GetFlag(FLAGS_wrap_up_ms));
  return true;  // seed (any uint64) and the switches
}

}  // namespace

const char* UsageText() {
  return R"(usage: ccload [flags]

Demo traffic (and load) for ccrouterd. Simulated gateways submit contacts with
Poisson arrivals over ContactIngest.Submit; simulated agents each hold one
AgentDesk stream, accept offers, handle them, complete and wrap up. Every
--stats-interval it prints each queue's live figures (Admin.ListQueues) and
what ccload itself did. Ctrl-C (or SIGTERM) logs the agents out, prints a
summary and exits 0.

  --server HOST:PORT[,HOST:PORT...]
                            ccrouterd gRPC address (default 127.0.0.1:7700); in
                            cluster mode list the nodes: the preflight follows a
                            standby's redirect to the owner; agents (and
                            --bench's SubmitStreams) follow it again when
                            ownership moves
  --agents N                simulated agents "agent-001"...; 0 = none, at most
                            100000 (default 12)
  --rate PER_SECOND         mean contact arrivals per second, Poisson; 0 = no
                            contacts, agents only (default 2)
  --duration SECONDS        stop after this long; 0 = until Ctrl-C (default 0)
  --seed N                  random seed: the same seed gives the same contacts,
                            agents and agent behaviour (default: random, printed)
  --mix FILE                YAML traffic mix: tier, language and queue shares,
                            topics, patience, handle times (default: built in,
                            matching ccrouterd's embedded queues; see
                            tools/ccload/mix.example.yaml)
  --stats-interval SECONDS  how often to print live figures (default 1)
  --json                    one JSON object per line per interval (and a final
                            one with "final":true) instead of the table
  --desk-transport grpc|websocket
                            how agents connect: AgentDesk.Connect on --server
                            (default), or the browser's WebSocket /v1/agent-desk
                            on --http-server (protobuf JSON frames; auth open)
  --http-server HOST:PORT   ccrouterd HTTP address, numeric host (default
                            127.0.0.1:7701)
  --desk-queues N           gRPC agents: completion queues, a thread each, the
                            streams spread over (default 4, at most 64)
  --help                    this text

An engine with auth on wants a token: set CCROUTER_TOKEN, as for ccctl. One
token serves every call, and ccload submits, reads the queues and (with
--agents) logs agents in: give it an admin token.

Benchmark mode (--bench): the same clients (gateways on the gRPC callback API,
agents on completion queues, see --desk-queues); one summary
at the end (a table, or one JSON object with --json) and a progress line on
stderr every --stats-interval. Latency is submit->ack and submit->offer
(delivered to a simulated agent), in an HDR-style histogram; in open loop it
is measured from each contact's intended send time (no coordinated omission).
  --bench                   benchmark mode
  --rate PER_SECOND         open loop: Poisson arrivals at this total rate;
                            0 = closed loop, --window submits in flight per
                            gateway, as fast as acks come back
  --gateways N              gateway connections (default 4)
  --ingest stream|unary     SubmitStream (default) or unary Submit
  --window N                closed loop: in flight per gateway (default 64)
  --warmup SECONDS          run, but do not count, this long first (default 1)
  --accept-delay-ms MS      agent: offer -> Accept (default 0)
  --handle-ms MS            agent: Accept -> Complete (default 50)
  --wrap-up-ms MS           agent: Complete -> WrapUpDone (default 0)
  --baseline                the server is tools/bench/echo_server (a bare gRPC
                            ContactIngest): same traffic, no agents, no Admin;
                            implies --bench

Exit status: 0 stopped as asked; 1 the engine could not be reached, is not
ccrouterd, or has none of the mix's queues; 2 bad command line or mix file.
)";
}

absl::StatusOr<LoadOptions> ParseArgs(const std::vector<std::string>& args) {
  // Every call starts from the defaults (tests parse many command lines).
  for (const FlagSpelling& spelling : kFlags) {
    absl::CommandLineFlag* flag = FindFlag(spelling.dashed);
    std::string ignored;
    flag->ParseFrom(flag->DefaultValue(), &ignored);
  }
  LoadOptions options;
  std::set<std::string> given;           // dashed names
  std::vector<std::string> bench_flags;  // given; valid only with --bench
  for (size_t i = 0; i < args.size(); ++i) {
    std::string written = args[i];
    std::string value;
    bool has_inline_value = false;
    if (size_t eq = written.find('='); written.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = written.substr(eq + 1);
      written = written.substr(0, eq);
      has_inline_value = true;
    }
    if (written == "--help" || written == "-h") {
      if (has_inline_value) return FlagError(written, "takes no value");
      options.help = true;
      continue;
    }
    const FlagSpelling* spelling = nullptr;
    if (written.rfind("--", 0) == 0) {
      for (const FlagSpelling& s : kFlags) {
        if (written.substr(2) == s.dashed) spelling = &s;
      }
    }
    if (spelling == nullptr) {
      return FlagError(written, written.rfind("-", 0) == 0 ? "unknown flag (see --help)"
                                                           : "unexpected argument (see --help)");
    }
    absl::CommandLineFlag* flag = FindFlag(spelling->dashed);
    if (spelling->bench_only) bench_flags.push_back(written);
    std::string error;
    if (flag->IsOfType<bool>()) {
      // A switch: present means on.
      if (has_inline_value) return FlagError(written, "takes no value");
      flag->ParseFrom("true", &error);
    } else {
      if (!has_inline_value) {
        if (i + 1 >= args.size()) return FlagError(written, "missing value");
        value = args[++i];
      }
      if (!flag->ParseFrom(value, &error) || !InRange(spelling->dashed)) {
        // The list's own error names the bad address.
        if (spelling->dashed == absl::string_view("server")) {
          return ParseServerList("--server", value).status();
        }
        return FlagError(written, absl::StrCat(Expected(spelling->dashed), ", got '", value, "'"));
      }
    }
    given.insert(spelling->dashed);
  }
  if (absl::GetFlag(FLAGS_baseline)) absl::SetFlag(&FLAGS_bench, true);
  options.bench = absl::GetFlag(FLAGS_bench);
  options.baseline = absl::GetFlag(FLAGS_baseline);
  if (!options.bench && !bench_flags.empty()) {
    return FlagError(bench_flags.front(), "only with --bench (or --baseline)");
  }
  options.servers = *ParseServerList("--server", absl::GetFlag(FLAGS_server));
  options.agents = absl::GetFlag(FLAGS_agents);
  options.rate_per_second = absl::GetFlag(FLAGS_rate);
  options.duration_seconds = absl::GetFlag(FLAGS_duration);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.seed_given = given.count("seed") > 0;
  options.mix_path = absl::GetFlag(FLAGS_mix);
  options.stats_interval_seconds = absl::GetFlag(FLAGS_stats_interval);
  options.json = absl::GetFlag(FLAGS_json);
  options.gateways = absl::GetFlag(FLAGS_gateways);
  options.stream_ingest = absl::GetFlag(FLAGS_ingest) == "stream";
  options.window = absl::GetFlag(FLAGS_window);
  options.warmup_seconds = absl::GetFlag(FLAGS_warmup);
  options.accept_delay_ms = absl::GetFlag(FLAGS_accept_delay_ms);
  options.handle_ms = absl::GetFlag(FLAGS_handle_ms);
  options.wrap_up_ms = absl::GetFlag(FLAGS_wrap_up_ms);
  options.websocket_desks = absl::GetFlag(FLAGS_desk_transport) == "websocket";
  options.desk_queues = absl::GetFlag(FLAGS_desk_queues);
  SplitHttpServer(absl::GetFlag(FLAGS_http_server), &options.http_host, &options.http_port);
  if (options.websocket_desks && options.servers.size() > 1) {
    return FlagError("--desk-transport",
                     "websocket desktops do not follow a cluster's owner; "
                     "list one --server");
  }
  if (options.baseline && options.agents > 0 && given.count("agents") > 0) {
    return FlagError("--agents", "the echo server has no agents; drop it with --baseline");
  }
  if (options.baseline) options.agents = 0;
  return options;
}

}  // namespace ccr::load
