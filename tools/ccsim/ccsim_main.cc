// ccsim: the routing-quality simulator and an Erlang C / Erlang A calculator.
//
//   ccsim run --scenario FILE [--config FILE] [--policy NAME|all] [--seed N]
//             [--json] [--svg FILE] [--replay-journal DIR]
//   ccsim erlang --rate PER_HOUR --aht SECONDS --agents N --target SECONDS
//                [--patience SECONDS] [--json]
//   ccsim validate [--contacts N] [--target-se RATIO] [--max-contacts N] [--seed N] [--json]
//
// Exit status: 0 ok, 1 the simulation failed, 2 bad command line or input.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "codec/config_loader.h"
#include "tools/ccsim/erlang.h"
#include "tools/ccsim/journal_arrivals.h"
#include "tools/ccsim/report.h"
#include "tools/ccsim/scenario.h"
#include "tools/ccsim/simulator.h"
#include "tools/ccsim/validation.h"

namespace ccr::sim {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage = R"(usage:
  ccsim run --scenario FILE [--config FILE] [--policy NAME|all] [--seed N] [--json] [--svg FILE]
            [--replay-journal DIR]
      Simulates the scenario's day with the engine's config (default: the
      embedded one) under a policy: router (default), fifo_linear,
      fifo_longest_idle, fifo_round_robin, fifo_ring_all, or all of them on
      the same contacts. Prints service level, ASA, abandonment, longest
      wait and SLA breaches per queue, tier and stream, occupancy and agent
      load fairness; --svg writes the service level over the day.
      --replay-journal takes the arrivals from a ccrouterd journal
      (--data-dir) instead of the scenario's streams, which then only give
      patience and handle times per queue; the scenario's agents serve them.
  ccsim erlang --rate PER_HOUR --aht SECONDS --agents N --target SECONDS
               [--patience SECONDS] [--json]
      Erlang C (Erlang A with --patience): P(wait), service level, ASA,
      abandonment and the agents needed for an 80 % service level.
  ccsim validate [--contacts N] [--target-se RATIO] [--max-contacts N] [--seed N] [--json]
      Simulates M/M/n (and M/M/n+M) queues through the real router and
      prints simulated vs Erlang C / Erlang A figures. Each row starts with
      N measured contacts (default 400000) and is lengthened until the
      service level's standard error is at most RATIO (default 0.0025) or
      it reaches --max-contacts (default 40000000).
)";

struct Flags {
  std::map<std::string, std::string> values;
  std::vector<std::string> switches;
};

absl::StatusOr<Flags> ParseFlags(int argc, char** argv, int first,
                                 const std::vector<std::string>& with_value,
                                 const std::vector<std::string>& without_value) {
  Flags flags;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) return absl::InvalidArgumentError("unexpected argument " + arg);
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (std::find(without_value.begin(), without_value.end(), name) != without_value.end()) {
      if (inline_value) return absl::InvalidArgumentError("--" + name + " takes no value");
      flags.switches.push_back(name);
      continue;
    }
    if (std::find(with_value.begin(), with_value.end(), name) == with_value.end()) {
      return absl::InvalidArgumentError("unknown flag --" + name);
    }
    if (!inline_value) {
      if (i + 1 >= argc) return absl::InvalidArgumentError("--" + name + " needs a value");
      value = argv[++i];
    }
    flags.values[name] = value;
  }
  return flags;
}

bool Has(const Flags& f, const std::string& name) {
  return std::find(f.switches.begin(), f.switches.end(), name) != f.switches.end();
}

absl::Status Number(const Flags& f, const std::string& name, bool required, double* out) {
  auto it = f.values.find(name);
  if (it == f.values.end()) {
    return required ? absl::InvalidArgumentError("--" + name + " is required") : absl::OkStatus();
  }
  if (!absl::SimpleAtod(it->second, out)) {
    return absl::InvalidArgumentError("--" + name + ": not a number: " + it->second);
  }
  return absl::OkStatus();
}

// `code` kExitUsage also prints the usage, for mistakes on the command line.
int Fail(const absl::Status& s, int code) {
  std::fprintf(stderr, "ccsim: %s\n", std::string(s.message()).c_str());
  if (code == kExitUsage) std::fputs(kUsage, stderr);
  return code;
}

// A bad scenario or config file: exit 2, without the usage.
int FailInput(const absl::Status& s) {
  Fail(s, kExitFailed);
  return kExitUsage;
}

int RunErlang(int argc, char** argv) {
  absl::StatusOr<Flags> flags =
      ParseFlags(argc, argv, 2, {"rate", "aht", "agents", "target", "patience"}, {"json"});
  if (!flags.ok()) return Fail(flags.status(), kExitUsage);
  ErlangInputs in;
  double agents = 0;
  for (absl::Status s :
       {Number(*flags, "rate", true, &in.arrivals_per_hour),
        Number(*flags, "aht", true, &in.handle_seconds), Number(*flags, "agents", true, &agents),
        Number(*flags, "target", true, &in.target_seconds),
        Number(*flags, "patience", false, &in.patience_seconds)}) {
    if (!s.ok()) return Fail(s, kExitUsage);
  }
  if (agents != static_cast<int>(agents)) {
    return Fail(absl::InvalidArgumentError("agents: must be a whole number"), kExitUsage);
  }
  in.agents = static_cast<int>(agents);
  absl::StatusOr<ErlangPrediction> p = PredictErlang(in);
  if (!p.ok()) return Fail(p.status(), kExitUsage);
  absl::StatusOr<int> needed = AgentsNeeded(in, 0.8);
  if (!needed.ok()) return Fail(needed.status(), kExitFailed);
  const std::string out =
      Has(*flags, "json") ? FormatErlangJson(*p, *needed) : FormatErlangText(in, *p, *needed);
  std::fputs(out.c_str(), stdout);
  return kExitOk;
}

int RunScenario(int argc, char** argv) {
  absl::StatusOr<Flags> flags = ParseFlags(
      argc, argv, 2, {"scenario", "config", "policy", "seed", "svg", "replay-journal"}, {"json"});
  if (!flags.ok()) return Fail(flags.status(), kExitUsage);
  if (!flags->values.contains("scenario")) {
    return Fail(absl::InvalidArgumentError("--scenario is required"), kExitUsage);
  }
  absl::StatusOr<std::string> scenario_text = ReadFile(flags->values["scenario"]);
  if (!scenario_text.ok()) return FailInput(scenario_text.status());
  absl::StatusOr<Scenario> scenario = ParseScenarioYaml(*scenario_text);
  if (!scenario.ok()) {
    return FailInput(absl::InvalidArgumentError(
        absl::StrCat(flags->values["scenario"], ": ", scenario.status().message())));
  }
  std::string config_text(DefaultConfigYaml());
  if (flags->values.contains("config")) {
    absl::StatusOr<std::string> text = ReadFile(flags->values["config"]);
    if (!text.ok()) return FailInput(text.status());
    config_text = *text;
  }
  absl::StatusOr<RouterConfig> config = LoadRouterConfig(config_text);
  if (!config.ok()) return FailInput(config.status());
  if (flags->values.contains("replay-journal")) {
    absl::StatusOr<std::vector<RecordedContact>> recorded =
        ReadJournalArrivals(flags->values["replay-journal"], *config);
    if (!recorded.ok()) return FailInput(recorded.status());
    if (recorded->empty()) {
      return FailInput(absl::NotFoundError("--replay-journal: the journal has no submits"));
    }
    UseRecordedArrivals(std::move(*recorded), *config, &*scenario);
  }
  if (absl::Status s = CheckScenario(*scenario, *config); !s.ok()) return FailInput(s);
  double seed = 0;
  if (absl::Status s = Number(*flags, "seed", false, &seed); !s.ok()) return Fail(s, kExitUsage);
  if (flags->values.contains("seed")) scenario->seed = static_cast<uint64_t>(seed);

  std::vector<Policy> policies = {Policy::kRouter};
  if (flags->values.contains("policy")) {
    if (flags->values["policy"] == "all") {
      policies = AllPolicies();
    } else {
      absl::StatusOr<Policy> p = ParsePolicy(flags->values["policy"]);
      if (!p.ok()) return Fail(p.status(), kExitUsage);
      policies = {*p};
    }
  }
  const std::vector<ContactPlan> plan = PlanContacts(*scenario, *config);
  std::vector<SimulationReport> reports;
  for (Policy policy : policies) {
    absl::StatusOr<SimulationReport> r = Simulate(*scenario, *config, policy, plan);
    if (!r.ok()) return Fail(r.status(), kExitFailed);
    reports.push_back(std::move(*r));
  }
  const std::string out = Has(*flags, "json") ? FormatJson(reports) : FormatText(reports);
  std::fputs(out.c_str(), stdout);
  if (flags->values.contains("svg")) {
    std::ofstream svg(flags->values["svg"]);
    svg << RenderServiceLevelSvg(reports);
    if (!svg) {
      return Fail(absl::UnavailableError("--svg: cannot write " + flags->values["svg"]),
                  kExitFailed);
    }
  }
  return kExitOk;
}

int RunValidate(int argc, char** argv) {
  absl::StatusOr<Flags> flags =
      ParseFlags(argc, argv, 2, {"contacts", "max-contacts", "target-se", "seed"}, {"json"});
  if (!flags.ok()) return Fail(flags.status(), kExitUsage);
  double contacts = 400000, max_contacts = 40e6, target_se = 0.0025, seed = 1;
  for (absl::Status s :
       {Number(*flags, "contacts", false, &contacts),
        Number(*flags, "max-contacts", false, &max_contacts),
        Number(*flags, "target-se", false, &target_se), Number(*flags, "seed", false, &seed)}) {
    if (!s.ok()) return Fail(s, kExitUsage);
  }
  const bool json = Has(*flags, "json");
  if (!json) {
    std::printf(
        "M/M/n through ccr::Router, simulated vs Erlang C (no patience) / Erlang A (exponential "
        "patience).\nAHT 300 s (exponential), target 20 s, SL = answered within target / "
        "answered; se = batch-means standard error.\n");
    std::printf("%6s %5s %8s | %8s %8s %6s %5s | %8s %8s %6s | %7s %7s | %9s %6s\n", "agents",
                "load", "patience", "SL sim", "SL pred", "diff", "se", "ASA sim", "ASA pred", "se",
                "ab sim", "ab pred", "contacts", "wall");
  }
  std::vector<std::string> rows;
  int outside = 0;
  const std::vector<ValidationCase> table = ValidationTable();
  for (size_t i = 0; i < table.size(); ++i) {
    const ValidationCase& c = table[i];
    // Rows of heavy load need far longer runs for the same precision: start
    // at --contacts and lengthen until the standard error is small enough.
    double n = contacts;
    absl::StatusOr<ValidationResult> r;
    for (;;) {
      r = RunValidationCase(c, n, static_cast<uint64_t>(seed) + i);
      if (!r.ok()) return Fail(r.status(), kExitFailed);
      if (r->service_level_se <= target_se || n >= max_contacts) break;
      n = std::min(max_contacts, n * 1.3 * std::pow(r->service_level_se / target_se, 2));
    }
    const double diff = r->service_level - r->predicted.service_level;
    if (std::abs(diff) > 0.01) ++outside;
    if (json) {
      rows.push_back(absl::StrFormat(
          "{\"agents\": %d, \"load_per_agent\": %.2f, \"patience_seconds\": %.0f, "
          "\"service_level\": %.5f, \"service_level_se\": %.5f, \"predicted_service_level\": "
          "%.5f, \"asa_seconds\": %.4f, \"asa_se\": %.4f, \"predicted_asa_seconds\": %.4f, "
          "\"abandon_ratio\": %.5f, \"predicted_abandon_ratio\": %.5f, \"contacts\": %d}",
          c.agents, c.load_per_agent, c.patience_seconds, r->service_level, r->service_level_se,
          r->predicted.service_level, r->asa_seconds, r->asa_se, r->predicted.asa_seconds,
          r->abandon_ratio, r->predicted.abandon_ratio, r->contacts));
    } else {
      std::printf(
          "%6d %4.0f%% %8s | %7.2f%% %7.2f%% %+6.2f %5.2f | %8.2f %8.2f %6.2f | %6.2f%% %6.2f%% | "
          "%9d %5.1fs\n",
          c.agents, 100 * c.load_per_agent,
          c.patience_seconds > 0 ? absl::StrFormat("%.0fs", c.patience_seconds).c_str() : "-",
          100 * r->service_level, 100 * r->predicted.service_level, 100 * diff,
          100 * r->service_level_se, r->asa_seconds, r->predicted.asa_seconds, r->asa_se,
          100 * r->abandon_ratio, 100 * r->predicted.abandon_ratio, r->contacts, r->wall_seconds);
      std::fflush(stdout);
    }
  }
  if (json) {
    std::printf("[%s]\n", absl::StrJoin(rows, ",\n ").c_str());
  } else {
    std::printf("%d of %d rows differ from theory by more than 1 percentage point\n", outside,
                static_cast<int>(table.size()));
  }
  return outside == 0 ? kExitOk : kExitFailed;
}

}  // namespace

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  const std::string command = argv[1];
  if (command == "run") return RunScenario(argc, argv);
  if (command == "erlang") return RunErlang(argc, argv);
  if (command == "validate") return RunValidate(argc, argv);
  if (command == "--help" || command == "help") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  std::fprintf(stderr, "ccsim: unknown command '%s'\n", command.c_str());
  std::fputs(kUsage, stderr);
  return kExitUsage;
}

}  // namespace ccr::sim

int main(int argc, char** argv) { return ccr::sim::Main(argc, argv); }
