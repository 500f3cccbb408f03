#include "tools/ccload/load_options.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ccr::load {

namespace {

absl::Status FlagError(const std::string& flag, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", what));
}

// A finite number >= min_value (> min_value when min_exclusive).
absl::Status ParseSeconds(const std::string& flag, const std::string& text, double min_value,
                          bool min_exclusive, double* out) {
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !std::isfinite(value) ||
      (min_exclusive ? value <= min_value : value < min_value)) {
    return FlagError(flag, absl::StrCat("expected a number ", min_exclusive ? "> " : ">= ",
                                        min_value, ", got '", text, "'"));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status ParseServer(const std::string& flag, const std::string& text, std::string* out) {
  const size_t colon = text.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(text.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return FlagError(flag, absl::StrCat("expected HOST:PORT, got '", text, "'"));
  }
  *out = text;
  return absl::OkStatus();
}

absl::Status ParseCount(const std::string& flag, const std::string& text, int min_value,
                        int max_value, int* out) {
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < min_value || value > max_value) {
    return FlagError(flag, absl::StrCat("expected an integer ", min_value, "..", max_value,
                                        ", got '", text, "'"));
  }
  *out = value;
  return absl::OkStatus();
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

  --server HOST:PORT        ccrouterd gRPC address (default 127.0.0.1:7700)
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
  --help                    this text

Benchmark mode (--bench): every call uses the gRPC callback API; one summary
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
  LoadOptions options;
  std::vector<std::string> bench_flags;  // given; valid only with --bench
  std::string agents_text;               // checked once --baseline is known
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool has_inline_value = false;
    if (size_t eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_inline_value = true;
    }
    if (flag == "--help" || flag == "-h" || flag == "--json" || flag == "--bench" ||
        flag == "--baseline") {
      if (has_inline_value) return FlagError(flag, "takes no value");
      if (flag == "--json") {
        options.json = true;
      } else if (flag == "--bench") {
        options.bench = true;
      } else if (flag == "--baseline") {
        options.baseline = options.bench = true;
      } else {
        options.help = true;
      }
      continue;
    }
    const bool bench_flag = flag == "--gateways" || flag == "--ingest" || flag == "--window" ||
                            flag == "--warmup" || flag == "--accept-delay-ms" ||
                            flag == "--handle-ms" || flag == "--wrap-up-ms";
    if (bench_flag) bench_flags.push_back(flag);
    const bool takes_value = flag == "--server" || flag == "--agents" || flag == "--rate" ||
                             flag == "--duration" || flag == "--seed" || flag == "--mix" ||
                             flag == "--stats-interval" || bench_flag;
    if (!takes_value) {
      return FlagError(flag, flag.rfind("-", 0) == 0 ? "unknown flag (see --help)"
                                                     : "unexpected argument (see --help)");
    }
    if (!has_inline_value) {
      if (i + 1 >= args.size()) return FlagError(flag, "missing value");
      value = args[++i];
    }
    absl::Status status;
    if (flag == "--server") {
      status = ParseServer(flag, value, &options.server);
    } else if (flag == "--agents") {
      agents_text = value;
    } else if (flag == "--rate") {
      status = ParseSeconds(flag, value, 0, /*min_exclusive=*/false, &options.rate_per_second);
    } else if (flag == "--duration") {
      status = ParseSeconds(flag, value, 0, /*min_exclusive=*/false, &options.duration_seconds);
    } else if (flag == "--seed") {
      if (!absl::SimpleAtoi(value, &options.seed)) {
        status = FlagError(flag, absl::StrCat("expected an unsigned integer, got '", value, "'"));
      }
      options.seed_given = true;
    } else if (flag == "--mix") {
      if (value.empty()) status = FlagError(flag, "expected a file name");
      options.mix_path = value;
    } else if (flag == "--stats-interval") {
      status =
          ParseSeconds(flag, value, 0, /*min_exclusive=*/true, &options.stats_interval_seconds);
    } else if (flag == "--gateways") {
      status = ParseCount(flag, value, 1, kMaxGateways, &options.gateways);
    } else if (flag == "--window") {
      status = ParseCount(flag, value, 1, 100000, &options.window);
    } else if (flag == "--ingest") {
      if (value != "stream" && value != "unary") {
        status = FlagError(flag, absl::StrCat("expected stream or unary, got '", value, "'"));
      }
      options.stream_ingest = value == "stream";
    } else if (flag == "--warmup") {
      status = ParseSeconds(flag, value, 0, /*min_exclusive=*/false, &options.warmup_seconds);
    } else if (flag == "--accept-delay-ms") {
      status = ParseSeconds(flag, value, 0, /*min_exclusive=*/false, &options.accept_delay_ms);
    } else if (flag == "--handle-ms") {
      status = ParseSeconds(flag, value, 0, /*min_exclusive=*/false, &options.handle_ms);
    } else if (flag == "--wrap-up-ms") {
      status = ParseSeconds(flag, value, 0, /*min_exclusive=*/false, &options.wrap_up_ms);
    }
    if (!status.ok()) return status;
  }
  if (!options.bench && !bench_flags.empty()) {
    return FlagError(bench_flags.front(), "only with --bench (or --baseline)");
  }
  if (!agents_text.empty()) {
    if (absl::Status s = ParseCount("--agents", agents_text, 0, kMaxAgents, &options.agents);
        !s.ok()) {
      return s;
    }
  }
  if (options.baseline && options.agents > 0 && !agents_text.empty()) {
    return FlagError("--agents", "the echo server has no agents; drop it with --baseline");
  }
  if (options.baseline) options.agents = 0;
  return options;
}

}  // namespace ccr::load
