// CommandLog: the engine's durable, ordered log of commands (DESIGN.md). The
// engine appends each command on the routing strand, applies it only once the
// log reports it durable, and so acknowledges nothing that a crash could
// lose. Batches are reported in index order; a failed batch makes nothing in
// it durable, and the engine then discards what it appended after it (the
// indexes are reused, so the log never has a gap).
//
// Implementations: the local file journal (journal.h); a fake that fails on
// demand (engine/testing/fake_command_log.h); an etcd log for the cluster.
// Nothing here names a file: where the records live is the implementation's.
#ifndef CCROUTER_ENGINE_JOURNAL_COMMAND_LOG_H_
#define CCROUTER_ENGINE_JOURNAL_COMMAND_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ccrouter/v1/journal.pb.h"
#include "engine/journal/snapshot_file.h"

namespace ccr {

namespace v1 = ::ccrouter::v1;

// What became of one batch: the indexes it held and, when OK, that all of
// them are durable.
struct BatchReport {
  uint64_t first = 0;  // indexes in the batch
  uint64_t last = 0;
  size_t bytes = 0;
  absl::Duration write = absl::ZeroDuration();
  absl::Duration sync = absl::ZeroDuration();  // making it durable (fsync, quorum write)
  absl::Status status;                         // not OK: nothing in the batch is durable
};

class CommandLog {
 public:
  // Called after each batch, in index order, on a thread of the log's own
  // (or, for a fake, the caller's): the engine posts it to the strand.
  using BatchCallback = std::function<void(const BatchReport&)>;
  using SnapshotDone = std::function<void(absl::Status)>;
  // Returns false to stop reading.
  using CommandVisitor = std::function<bool(const v1::Command&)>;

  virtual ~CommandLog() = default;

  // ---- routing strand: none of these blocks ----
  // Assigns the next index to `cmd` and adds it to the pending batch;
  // returns the index. Durable once a BatchReport with last >= index and an
  // OK status arrives.
  virtual uint64_t Append(v1::Command& cmd) = 0;
  // Hands the pending batch over to be made durable (unless one is in
  // flight: then it goes when that one is done).
  virtual void Flush() = 0;
  // After a failed batch: drops what was appended but not made durable; the
  // next Append reuses those indexes. Until then no batch is written.
  virtual void DiscardUnwritten() = 0;
  // Stores a snapshot of `source` (covering commands up to its last_index)
  // off the strand, checks it reads back, and only then lets it cover (and
  // prune) the log before it. `done` gets the outcome, on any thread.
  virtual void WriteSnapshot(SnapshotSource source, SnapshotDone done) = 0;
  // The index the next Append gets.
  virtual uint64_t next_index() const = 0;

  // ---- any thread but the strand (it reads storage) ----
  // Calls `visit` with each durable command from `first_index` on, in index
  // order, until the durable end or until `visit` returns false.
  // OUT_OF_RANGE when the log no longer holds `first_index` (a snapshot
  // covers it and it was pruned).
  virtual absl::Status ReadFrom(uint64_t first_index, const CommandVisitor& visit) const = 0;
};

// Opens the log the engine writes: `next_index` is the index the next record
// gets (recovery has read what is there), `recovered_snapshot` the snapshot
// recovery loaded (it counts as verified), `on_batch` where batches go.
using CommandLogFactory = std::function<absl::StatusOr<std::unique_ptr<CommandLog>>(
    uint64_t next_index, std::optional<uint64_t> recovered_snapshot,
    CommandLog::BatchCallback on_batch)>;

}  // namespace ccr

#endif  // CCROUTER_ENGINE_JOURNAL_COMMAND_LOG_H_
