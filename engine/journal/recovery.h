// Recovery: rebuilds the router from the data directory at start-up. Loads
// the newest snapshot that reads back intact, then replays the journal after
// it through ApplyCommand with the recorded times. A second thread reads,
// checks and decodes the segments (and decides what is a torn tail, damage
// or covered by the snapshot, which depends on record indexes alone) at most
// a few batches ahead; the calling thread replays the records and carries
// out those decisions in journal order, so a replay that fails leaves
// everything after the failure (files included) as it was.
//
// A torn tail (the last records of the last segment, cut short or garbled
// by a crash mid-write) can only hold commands that were never acknowledged:
// it is cut off and logged. Damage anywhere else stops start-up with the file
// and offset named, unless skip_corrupt is set (then the damaged records are
// skipped and each skip is reported).
#ifndef CCROUTER_ENGINE_JOURNAL_RECOVERY_H_
#define CCROUTER_ENGINE_JOURNAL_RECOVERY_H_

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ccrouter/v1/events.pb.h"
#include "ccrouter/v1/journal.pb.h"
#include "router/router.h"

namespace ccr {

struct RecoveryOptions {
  std::string dir;
  bool skip_corrupt = false;
};

struct RecoveryReport {
  std::string snapshot_file;  // empty: replayed from the beginning
  uint64_t snapshot_index = 0;
  uint64_t records_replayed = 0;
  uint64_t segments_read = 0;
  uint64_t bytes_read = 0;
  std::vector<std::string> dropped;  // torn tails cut off and corrupt records skipped
  absl::Duration elapsed = absl::ZeroDuration();
};

struct Recovered {
  std::unique_ptr<Router> router;  // null: the data directory held no journal
  std::string config_yaml;         // the config the router runs with
  uint64_t next_index = 1;         // what the next journal record gets
  RecoveryReport report;
  // The newest events the replay re-created, oldest first, numbered as the
  // owner numbered them: a cluster standby keeps them (ClusterNode), so a
  // watcher resumes on it after a takeover with no gap. Empty after a
  // replay with events off (a single node's recovery).
  std::deque<::ccrouter::v1::LifecycleEvent> recent_events;
};

absl::StatusOr<Recovered> Recover(const RecoveryOptions& options);

// Replays one command, the next after what `out` holds (cmd.index() ==
// out->next_index, checked by the caller): the first command of a log with no
// snapshot before it must be the genesis config, which creates the router.
// Shared by Recover and the etcd log's loader; `source` names where the
// command came from in errors.
absl::Status ReplayCommand(const ::ccrouter::v1::Command& cmd, absl::string_view source,
                           Recovered* out);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_JOURNAL_RECOVERY_H_
