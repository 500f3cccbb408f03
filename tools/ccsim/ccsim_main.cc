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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "codec/command_line.h"
#include "codec/config_loader.h"
#include "tools/ccsim/erlang.h"
#include "tools/ccsim/journal_arrivals.h"
#include "tools/ccsim/report.h"
#include "tools/ccsim/scenario.h"
#include "tools/ccsim/simulator.h"
#include "tools/ccsim/validation.h"

ABSL_FLAG(std::string, scenario, "", "run: FILE, the scenario YAML (required).");
ABSL_FLAG(std::string, config, "",
          "run: FILE, the engine config YAML (default: the embedded one).");
ABSL_FLAG(std::string, policy, "router",
          "run: router, fifo_linear, fifo_longest_idle, fifo_round_robin, fifo_ring_all, gcmu, "
          "fixed_queue_ratio, skill_priority, or all.");
ABSL_FLAG(std::optional<uint64_t>, seed, std::nullopt,
          "run: the random seed (default: the scenario's); validate: the first row's (default 1).");
ABSL_FLAG(bool, json, false, "print JSON instead of text.");
ABSL_FLAG(std::string, svg, "", "run: FILE to write the service level over the day to.");
ABSL_FLAG(std::string, replay_journal, "",
          "run: DIR, a ccrouterd --data-dir whose submits are the arrivals.");
ABSL_FLAG(std::optional<double>, rate, std::nullopt, "erlang: arrivals per hour (required).");
ABSL_FLAG(std::optional<double>, aht, std::nullopt, "erlang: average handle seconds (required).");
ABSL_FLAG(std::optional<int>, agents, std::nullopt, "erlang: agents (required).");
ABSL_FLAG(std::optional<double>, target, std::nullopt,
          "erlang: the service level's answer target in seconds (required).");
ABSL_FLAG(double, patience, 0, "erlang: mean patience in seconds (Erlang A); 0: Erlang C.");
ABSL_FLAG(double, contacts, 400000, "validate: measured contacts a row starts with.");
ABSL_FLAG(double, max_contacts, 40e6, "validate: the longest a row is lengthened to.");
ABSL_FLAG(double, target_se, 0.0025,
          "validate: lengthen a row until the service level's standard error is this small.");

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
      fifo_longest_idle, fifo_round_robin, fifo_ring_all, gcmu,
      fixed_queue_ratio, skill_priority, or all of them on the same
      contacts. Prints service level, ASA, abandonment, longest wait and SLA
      breaches per queue, tier and stream, occupancy and agent load
      fairness, and with several policies the router against the best
      baseline on each figure; --svg writes the service level over the day.
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

flags (`--name value` or `--name=value`):
)";

// The flags each command takes (the others are refused).
constexpr std::string_view kRunFlags[] = {"scenario", "config", "policy",        "seed",
                                          "json",     "svg",    "replay-journal"};
constexpr std::string_view kErlangFlags[] = {"rate", "aht", "agents", "target", "patience", "json"};
constexpr std::string_view kValidateFlags[] = {"contacts", "max-contacts", "target-se", "seed",
                                               "json"};

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

int RunErlang() {
  ErlangInputs in;
  for (const auto& [name, value] : {std::pair("--rate", absl::GetFlag(FLAGS_rate)),
                                    std::pair("--aht", absl::GetFlag(FLAGS_aht)),
                                    std::pair("--target", absl::GetFlag(FLAGS_target))}) {
    if (!value.has_value()) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(name, " is required")), kExitUsage);
    }
  }
  if (!absl::GetFlag(FLAGS_agents).has_value()) {
    return Fail(absl::InvalidArgumentError("--agents is required"), kExitUsage);
  }
  in.arrivals_per_hour = *absl::GetFlag(FLAGS_rate);
  in.handle_seconds = *absl::GetFlag(FLAGS_aht);
  in.target_seconds = *absl::GetFlag(FLAGS_target);
  in.agents = *absl::GetFlag(FLAGS_agents);
  in.patience_seconds = absl::GetFlag(FLAGS_patience);
  absl::StatusOr<ErlangPrediction> p = PredictErlang(in);
  if (!p.ok()) return Fail(p.status(), kExitUsage);
  absl::StatusOr<int> needed = AgentsNeeded(in, 0.8);
  if (!needed.ok()) return Fail(needed.status(), kExitFailed);
  const std::string out =
      absl::GetFlag(FLAGS_json) ? FormatErlangJson(*p, *needed) : FormatErlangText(in, *p, *needed);
  std::fputs(out.c_str(), stdout);
  return kExitOk;
}

int RunScenario() {
  const std::string scenario_file = absl::GetFlag(FLAGS_scenario);
  if (scenario_file.empty()) {
    return Fail(absl::InvalidArgumentError("--scenario is required"), kExitUsage);
  }
  absl::StatusOr<std::string> scenario_text = ReadFile(scenario_file);
  if (!scenario_text.ok()) return FailInput(scenario_text.status());
  absl::StatusOr<Scenario> scenario = ParseScenarioYaml(*scenario_text);
  if (!scenario.ok()) {
    return FailInput(
        absl::InvalidArgumentError(absl::StrCat(scenario_file, ": ", scenario.status().message())));
  }
  std::string config_text(DefaultConfigYaml());
  if (const std::string config_file = absl::GetFlag(FLAGS_config); !config_file.empty()) {
    absl::StatusOr<std::string> text = ReadFile(config_file);
    if (!text.ok()) return FailInput(text.status());
    config_text = *text;
  }
  absl::StatusOr<RouterConfig> config = LoadRouterConfig(config_text);
  if (!config.ok()) return FailInput(config.status());
  if (const std::string journal_dir = absl::GetFlag(FLAGS_replay_journal); !journal_dir.empty()) {
    absl::StatusOr<std::vector<RecordedContact>> recorded =
        ReadJournalArrivals(journal_dir, *config);
    if (!recorded.ok()) return FailInput(recorded.status());
    if (recorded->empty()) {
      return FailInput(absl::NotFoundError("--replay-journal: the journal has no submits"));
    }
    UseRecordedArrivals(std::move(*recorded), *config, &*scenario);
  }
  if (absl::Status s = CheckScenario(*scenario, *config); !s.ok()) return FailInput(s);
  if (absl::GetFlag(FLAGS_seed).has_value()) scenario->seed = *absl::GetFlag(FLAGS_seed);

  std::vector<Policy> policies = {Policy::kRouter};
  if (absl::GetFlag(FLAGS_policy) == "all") {
    policies = AllPolicies();
  } else {
    absl::StatusOr<Policy> p = ParsePolicy(absl::GetFlag(FLAGS_policy));
    if (!p.ok()) return Fail(p.status(), kExitUsage);
    policies = {*p};
  }
  const std::vector<ContactPlan> plan = PlanContacts(*scenario, *config);
  std::vector<SimulationReport> reports;
  for (Policy policy : policies) {
    absl::StatusOr<SimulationReport> r =
        Simulate(*scenario, *config, policy, plan, {.check_wait_estimates = true});
    if (!r.ok()) return Fail(r.status(), kExitFailed);
    reports.push_back(std::move(*r));
  }
  const std::string out = absl::GetFlag(FLAGS_json) ? FormatJson(reports) : FormatText(reports);
  std::fputs(out.c_str(), stdout);
  if (const std::string svg_file = absl::GetFlag(FLAGS_svg); !svg_file.empty()) {
    std::ofstream svg(svg_file);
    svg << RenderServiceLevelSvg(reports);
    if (!svg) {
      return Fail(absl::UnavailableError("--svg: cannot write " + svg_file), kExitFailed);
    }
  }
  return kExitOk;
}

int RunValidate() {
  const double contacts = absl::GetFlag(FLAGS_contacts);
  const double max_contacts = absl::GetFlag(FLAGS_max_contacts);
  const double target_se = absl::GetFlag(FLAGS_target_se);
  const uint64_t seed = absl::GetFlag(FLAGS_seed).value_or(1);
  const bool json = absl::GetFlag(FLAGS_json);
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
      r = RunValidationCase(c, n, seed + i);
      if (!r.ok()) return Fail(r.status(), kExitFailed);
      if (r->service_level_se <= target_se || n >= max_contacts) break;
      n = std::min(max_contacts, n * 1.3 * std::pow(r->service_level_se / target_se, 2));
    }
    if (std::abs(r->service_level - r->predicted.service_level) > 0.01) ++outside;
    if (json) {
      rows.push_back(ValidationRowJson(*r));
    } else {
      std::fputs(ValidationRowText(*r).c_str(), stdout);
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
    std::fputs(FlagsHelp().c_str(), stderr);
    return kExitUsage;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    std::fputs(FlagsHelp().c_str(), stdout);
    return kExitOk;
  }
  absl::Span<const std::string_view> accepted;
  int (*run)() = nullptr;
  if (command == "run") {
    accepted = kRunFlags;
    run = RunScenario;
  } else if (command == "erlang") {
    accepted = kErlangFlags;
    run = RunErlang;
  } else if (command == "validate") {
    accepted = kValidateFlags;
    run = RunValidate;
  } else {
    std::fprintf(stderr, "ccsim: unknown command '%s'\n", command.c_str());
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  absl::StatusOr<CommandLine> line = ParseCommandLine(argc, argv, 2, accepted);
  if (!line.ok()) return Fail(line.status(), kExitUsage);
  if (line->help) {
    std::fputs(kUsage, stdout);
    std::fputs(FlagsHelp(accepted).c_str(), stdout);
    return kExitOk;
  }
  if (!line->positional.empty()) {
    return Fail(absl::InvalidArgumentError("unexpected argument " + line->positional[0]),
                kExitUsage);
  }
  return run();
}

}  // namespace ccr::sim

int main(int argc, char** argv) { return ccr::sim::Main(argc, argv); }
