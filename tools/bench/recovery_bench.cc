// recovery_bench: how long start-up recovery takes for a journal of N
// commands (issue #4's target: under 3 s for 1M).
//
//   recovery_bench [--commands N] [--snapshot-every N] [--runs R] [--dir DIR]
//   recovery_bench --recover-only DIR      (times Recover() alone, for profilers)
//
// Writes a genesis config plus N plausible commands (submits, logins,
// accepts, rejects, completes, wrap-ups, state changes, cancels, updates,
// restarts) through the real Journal, applying each to a live router so the
// offers and contacts they name exist, and snapshots every --snapshot-every
// commands as ccrouterd does (its default is 200000; 0, the default here:
// never, so the whole journal is replayed). Then times Recover() R times and checks that every
// recovery rebuilt the live router's state.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ccrouter/v1/snapshot.pb.h"
#include "codec/command_line.h"
#include "codec/config_loader.h"
#include "codec/wire.h"
#include "engine/apply.h"
#include "engine/journal/journal.h"
#include "engine/journal/recovery.h"
#include "engine/journal/snapshot_codec.h"
#include "engine/testing/random_commands.h"
#include "router/router_state.h"

ABSL_FLAG(uint64_t, commands, 1'000'000, "N: commands to journal.");
ABSL_FLAG(uint64_t, snapshot_every, 0, "N: snapshot every N commands; 0: never.");
ABSL_FLAG(int, runs, 3, "R: recoveries to time.");
ABSL_FLAG(std::string, dir, "",
          "DIR: an empty directory for the journal (default: a temporary one).");
ABSL_FLAG(std::string, recover_only, "",
          "DIR: an existing journal; time Recover() on it alone, for profilers.");

namespace {

constexpr char kUsage[] =
    "usage: recovery_bench [--commands N] [--snapshot-every N] [--runs R] [--dir DIR]\n"
    "       recovery_bench --recover-only DIR\n\nflags:\n";

int Fail(const std::string& message) {
  std::fprintf(stderr, "recovery_bench: %s\n", message.c_str());
  return 1;
}

std::string Encoded(const ccr::Router& r) {
  ccr::v1::RouterStateRecord out;
  ccr::RouterStateToProto(r.Save(), &out);
  return out.SerializeAsString();
}

}  // namespace

int main(int argc, char** argv) {
  ccr::ParseCommandLineOrExit(argc, argv, "recovery_bench", kUsage);
  const uint64_t commands = absl::GetFlag(FLAGS_commands);
  const uint64_t snapshot_every = absl::GetFlag(FLAGS_snapshot_every);
  const int runs = absl::GetFlag(FLAGS_runs);
  if (runs <= 0) return Fail("--runs needs a positive number");
  std::string dir = absl::GetFlag(FLAGS_dir);
  const std::string recover_only = absl::GetFlag(FLAGS_recover_only);
  if (!recover_only.empty()) {  // for profilers: only the part being measured
    const absl::Time start = absl::Now();
    absl::StatusOr<ccr::Recovered> recovered = ccr::Recover({recover_only});
    if (!recovered.ok()) return Fail(recovered.status().ToString());
    std::printf("replayed=%llu recovery_s=%.3f\n",
                static_cast<unsigned long long>(recovered->report.records_replayed),
                absl::ToDoubleSeconds(absl::Now() - start));
    return 0;
  }
  const bool own_dir = dir.empty();
  if (!own_dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Fail(absl::StrCat("--dir ", dir, ": ", ec.message()));
    if (!std::filesystem::is_empty(dir, ec))
      return Fail(absl::StrCat("--dir ", dir, " is not empty"));
  } else {
    std::string pattern = (std::filesystem::temp_directory_path() / "ccr-recovery-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return Fail("mkdtemp failed");
    dir = pattern;
  }

  const std::string yaml(ccr::DefaultConfigYaml());
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  std::unique_ptr<ccr::Router> live = *ccr::Router::Create(*ccr::LoadRouterConfig(yaml));
  ccr::testing::RandomCommandOptions gen_options;
  gen_options.agents = 200;
  gen_options.customers = 100000;
  gen_options.max_step = absl::Milliseconds(200);
  ccr::testing::RandomCommands gen(1, t0, gen_options);
  const absl::Time write_start = absl::Now();
  uint64_t last_index = 0;
  {
    ccr::JournalOptions options;
    options.dir = dir;
    options.fsync = false;  // building the input; fsync cost is measured elsewhere
    std::unique_ptr<ccr::Journal> journal =
        *ccr::Journal::Open(options, 1, [](const ccr::BatchReport& r) {
          if (!r.status.ok())
            std::fprintf(stderr, "write failed: %s\n", r.status.ToString().c_str());
        });
    ccr::v1::Command genesis;
    ccr::ToTimestamp(t0, genesis.mutable_time());
    genesis.mutable_apply_config()->set_config_yaml(yaml);
    last_index = journal->Append(genesis);
    for (uint64_t i = 0; i < commands; ++i) {
      ccr::v1::Command cmd = gen.Next();
      last_index = journal->Append(cmd);
      if (i % 256 == 0) journal->Flush();
      (void)ccr::ApplyCommand(*live, cmd);
      gen.Observe(live->TakeEvents());
      if (snapshot_every > 0 && (i + 1) % snapshot_every == 0) {
        journal->WriteSnapshot(
            ccr::SnapshotSource{last_index, t0, yaml,
                                std::make_shared<const ccr::RouterState>(live->Save())},
            [](absl::Status s) {
              if (!s.ok() && !absl::IsAlreadyExists(s)) {
                std::fprintf(stderr, "snapshot failed: %s\n", s.ToString().c_str());
              }
            });
      }
    }
  }  // the journal writes everything pending before it closes
  const absl::Duration write_time = absl::Now() - write_start;
  uint64_t bytes = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) bytes += e.file_size();

  const std::string expected = Encoded(*live);
  std::vector<double> seconds;
  ccr::RecoveryReport report;
  for (int r = 0; r < runs; ++r) {
    const absl::Time start = absl::Now();
    absl::StatusOr<ccr::Recovered> recovered = ccr::Recover({dir});
    seconds.push_back(absl::ToDoubleSeconds(absl::Now() - start));
    if (!recovered.ok()) return Fail(recovered.status().ToString());
    if (recovered->next_index != last_index + 1 || Encoded(*recovered->router) != expected) {
      return Fail("the recovered state differs from the live one");
    }
    report = recovered->report;
  }
  std::sort(seconds.begin(), seconds.end());
  std::printf(
      "commands=%llu journal_bytes=%llu live_contacts=%zu snapshot=%s replayed=%llu "
      "write_s=%.2f recovery_s_min=%.3f recovery_s_median=%.3f recovery_s_max=%.3f "
      "replay_per_s=%.0f\n",
      static_cast<unsigned long long>(commands), static_cast<unsigned long long>(bytes),
      live->live_contacts(), report.snapshot_file.empty() ? "none" : "yes",
      static_cast<unsigned long long>(report.records_replayed), absl::ToDoubleSeconds(write_time),
      seconds.front(), seconds[seconds.size() / 2], seconds.back(),
      report.records_replayed / seconds[seconds.size() / 2]);
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
