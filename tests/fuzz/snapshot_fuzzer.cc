// Fuzz target: snapshot decoding. The input is the payload of a snapshot
// file (a serialized ccrouter.v1.Snapshot): its config is loaded, its state
// decoded (RouterStateFromProto) and restored (Router::Restore), as
// recovery does. A restored router must save a state that decodes and
// restores again, and survive a day of timers and the queries operators run.
#include "absl/strings/str_cat.h"
#include "ccrouter/v1/snapshot.pb.h"
#include "codec/config_loader.h"
#include "engine/journal/snapshot_codec.h"
#include "tests/fuzz/fuzz_support.h"

namespace ccr::fuzz {

namespace {

// Loading YAML is slow next to the rest; snapshots mostly carry the default.
absl::StatusOr<RouterConfig> ConfigOf(const std::string& yaml) {
  static std::string* last_yaml = new std::string(DefaultConfigYaml());
  static absl::StatusOr<RouterConfig>* last =
      new absl::StatusOr<RouterConfig>(DefaultRouterConfig());
  if (yaml != *last_yaml) {
    *last = LoadRouterConfig(yaml);
    *last_yaml = yaml;
  }
  return *last;
}

}  // namespace

int FuzzSnapshot(const uint8_t* data, size_t size) {
  QuietLogs();
  if (size > 4 * 1024 * 1024) return 0;
  v1::Snapshot snapshot;
  if (!snapshot.ParseFromArray(data, static_cast<int>(size))) return 0;
  absl::StatusOr<RouterConfig> config = ConfigOf(snapshot.config_yaml());
  if (!config.ok()) return 0;
  absl::StatusOr<RouterState> state = RouterStateFromProto(snapshot.state());
  if (!state.ok()) return 0;
  absl::StatusOr<std::unique_ptr<Router>> router = Router::Restore(*config, *state);
  if (!router.ok()) return 0;
  Router& r = **router;

  // What it saves must come back.
  v1::RouterStateRecord saved;
  RouterStateToProto(r.Save(), &saved);
  absl::StatusOr<RouterState> again = RouterStateFromProto(saved);
  CCR_FUZZ_CHECK(again.ok(), absl::StrCat("a restored router's own state does not decode: ",
                                          again.status().ToString()));
  absl::StatusOr<std::unique_ptr<Router>> copy = Router::Restore(*config, *again);
  CCR_FUZZ_CHECK(copy.ok(), absl::StrCat("a restored router's own state does not restore: ",
                                         copy.status().ToString()));

  const absl::Time now = r.now();
  r.Queues(now);
  r.Agents(now);
  r.CountAgents(now);
  r.NextDeadline();
  r.Tick(now + absl::Hours(25));
  r.Queues(r.now());
  r.Agents(r.now());
  return 0;
}

}  // namespace ccr::fuzz

#ifndef CCR_FUZZ_NO_MAIN
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ccr::fuzz::FuzzSnapshot(data, size);
}
#endif
