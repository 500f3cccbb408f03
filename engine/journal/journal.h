// Journal: the durable command log of one node. Commands are appended on the
// routing strand into an in-memory batch; one writer thread writes the batch
// to the current segment and fdatasyncs it, while the next batch gathers
// (group commit: everything appended during one fsync shares the next). The
// writer reports each batch through a callback; the engine applies commands
// only once they are durable, so nothing it acknowledges can be lost.
//
// Failures (disk full, I/O error): the batch is reported failed, the segment
// is cut back to its last durable byte, and the writer waits until the strand
// calls DiscardUnwritten(); the next batch tries again, so the journal
// recovers by itself when space returns.
//
// The local-file implementation of CommandLog (command_log.h). Recovery at
// start-up (recovery.h) reads the same files.
#ifndef CCROUTER_ENGINE_JOURNAL_JOURNAL_H_
#define CCROUTER_ENGINE_JOURNAL_JOURNAL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/std_mutex.h"
#include "ccrouter/v1/journal.pb.h"
#include "engine/journal/command_log.h"
#include "engine/journal/snapshot_file.h"

namespace ccr {

namespace v1 = ::ccrouter::v1;

struct JournalOptions {
  std::string dir;
  bool fsync = true;                     // false: tests and benchmarks only
  uint64_t segment_bytes = 64ull << 20;  // start a new segment beyond this
  uint32_t snapshots_kept = 2;           // older ones (and the segments they cover) go
  // The snapshot recovery loaded (it read the whole file back): it counts as
  // verified, like the ones this journal writes and reads back itself.
  std::optional<uint64_t> recovered_snapshot;
};

class Journal final : public CommandLog {
 public:
  // on_batch is called on the writer thread after each batch, in order.

  // Starts a new segment at `next_index` in `options.dir` (recovery has read
  // and trimmed what is there).
  static absl::StatusOr<std::unique_ptr<Journal>> Open(JournalOptions options, uint64_t next_index,
                                                       BatchCallback on_batch);
  // Writes what is still pending, then stops the writer.
  ~Journal() override;

  // ---- routing strand ----
  // Assigns the next index to `cmd`, frames it into the pending batch and
  // returns the index. Durable once a BatchReport with last >= index and an
  // OK status arrives.
  uint64_t Append(v1::Command& cmd) override;
  // Hands the pending batch to the writer unless one is being written (then
  // it goes when that one is done).
  void Flush() override;
  // After a failed batch: drops records appended but not yet written; the
  // next Append reuses their indexes, so the log never has a gap.
  void DiscardUnwritten() override;
  // Writes a snapshot of `source` (covering commands up to its last_index)
  // on the snapshot thread (encoding runs there too, so the strand only pays
  // for the state copy; batches keep flowing meanwhile), reads it back and
  // checks it, and only then renames it into place, starts a new segment and
  // deletes what verified snapshots cover (Prune). A snapshot that does not
  // read back is deleted and reported through `done`; nothing is pruned.
  void WriteSnapshot(SnapshotSource source, SnapshotDone done) override;
  // Index the next Append gets.
  uint64_t next_index() const override;
  // Reads the segments in the directory; only what a batch report has
  // called durable (written, with fsync off) is visited.
  absl::Status ReadFrom(uint64_t first_index, const CommandVisitor& visit) const override;
  const JournalOptions& options() const { return options_; }

 private:
  Journal(JournalOptions options, uint64_t next_index, BatchCallback on_batch);
  void RunWriter() ABSL_LOCKS_EXCLUDED(mu_);
  void RunSnapshots() ABSL_LOCKS_EXCLUDED(mu_);
  BatchReport WriteBatch(const std::string& bytes, uint64_t first, uint64_t last);
  absl::Status OpenSegment(uint64_t first_index);
  absl::Status SyncDir();
  absl::Status DoSnapshot(const SnapshotSource& source);
  void Prune();

  const JournalOptions options_;
  const BatchCallback on_batch_;

  // Append takes it on the strand for every command: a StdMutex, not an
  // absl::Mutex, for the cost base/std_mutex.h measures.
  mutable StdMutex mu_;
  std::condition_variable cv_;
  std::string pending_ ABSL_GUARDED_BY(mu_);
  uint64_t pending_first_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_index_ ABSL_GUARDED_BY(mu_) = 0;
  bool flush_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;  // waits for DiscardUnwritten
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::condition_variable snapshot_cv_;
  struct SnapshotJob {
    SnapshotSource source;
    std::function<void(absl::Status)> done;
  };
  std::unique_ptr<SnapshotJob> snapshot_ ABSL_GUARDED_BY(mu_);

  // Writer thread only.
  int fd_ = -1;
  int dir_fd_ = -1;
  uint64_t segment_first_ = 0;
  uint64_t segment_size_ = 0;  // bytes known durable (or written, with fsync off)
  bool needs_repair_ = false;  // the segment may hold bytes of a failed batch

  // Snapshot thread only (set before it starts): the snapshots known to read
  // back whole, by index. Prune deletes nothing that only unverified
  // snapshots cover.
  std::set<uint64_t> verified_snapshots_;

  std::atomic<bool> rotate_{false};  // set by the snapshot thread, taken by the writer

  std::thread writer_;
  std::thread snapshotter_;
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_JOURNAL_JOURNAL_H_
