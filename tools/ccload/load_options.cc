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
  --agents N                simulated agents "agent-001"...; 0 = none (default 12)
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

Exit status: 0 stopped as asked; 1 the engine could not be reached, is not
ccrouterd, or has none of the mix's queues; 2 bad command line or mix file.
)";
}

absl::StatusOr<LoadOptions> ParseArgs(const std::vector<std::string>& args) {
  LoadOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool has_inline_value = false;
    if (size_t eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_inline_value = true;
    }
    if (flag == "--help" || flag == "-h" || flag == "--json") {
      if (has_inline_value) return FlagError(flag, "takes no value");
      (flag == "--json" ? options.json : options.help) = true;
      continue;
    }
    const bool takes_value = flag == "--server" || flag == "--agents" || flag == "--rate" ||
                             flag == "--duration" || flag == "--seed" || flag == "--mix" ||
                             flag == "--stats-interval";
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
      if (!absl::SimpleAtoi(value, &options.agents) || options.agents < 0 ||
          options.agents > kMaxAgents) {
        status = FlagError(
            flag, absl::StrCat("expected an integer 0..", kMaxAgents, ", got '", value, "'"));
      }
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
    }
    if (!status.ok()) return status;
  }
  return options;
}

}  // namespace ccr::load
