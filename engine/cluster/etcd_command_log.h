// EtcdCommandLog: the command log of cluster mode (DESIGN.md, "Durability and
// scale"), the second CommandLog (engine/journal/command_log.h) beside the
// local journal. The owner appends on the routing strand; a writer thread of
// the log's own makes each group-commit batch durable with one etcd txn
// guarded by the owner's fence, so a deposed owner's append fails and it
// stops serving at once.
//
// Key layout under P = DomainPrefix(domain), "/ccrouter/<domain>/":
//   P log/<20-digit zero-padded first index>  -> ccrouter.v1.LogChunk: the
//       fencing epoch of the writer, and commands with consecutive indexes
//       from the key's index. Chunks are contiguous: the next key starts one
//       past the last command of the previous one.
//   P snapshot/<20-digit index>/<6-digit part> -> raw bytes of the snapshot
//       file format (engine/journal/snapshot_file.h), cut into parts of at
//       most Options::snapshot_part_bytes; concatenated in key order they are
//       one snapshot covering commands up to <index>.
//   P snapshot/latest -> decimal text of the newest complete snapshot's
//       index; written (in the same fenced txn that prunes the log chunks it
//       covers and older snapshots) only after all its parts are in and read
//       back.
//
// etcd's limits shape the writes: a request is at most 1.5 MiB
// (--max-request-bytes) and a txn at most 128 ops (--max-txn-ops), so a
// batch larger than Options::chunk_bytes goes as several chunks, each its own
// txn of one put and its own BatchReport; a snapshot part is its own txn.
//
//   EtcdCommandLog log(channel, DomainPrefix("main"), fence, recovered.next_index,
//                      [&](const BatchReport& r) { post to strand });
//   log.Append(cmd); log.Flush();   // strand; never blocks
#ifndef CCROUTER_ENGINE_CLUSTER_ETCD_COMMAND_LOG_H_
#define CCROUTER_ENGINE_CLUSTER_ETCD_COMMAND_LOG_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/std_mutex.h"
#include "ccrouter/v1/journal.pb.h"
#include "engine/cluster/etcd_channel.h"
#include "engine/journal/command_log.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace ccr::cluster {

namespace v1 = ::ccrouter::v1;

struct EtcdLogOptions {
  // Every etcd call gives up after this (retrying while etcd elects a
  // leader or a member is unreachable); a batch that cannot be made durable
  // by then fails UNAVAILABLE.
  absl::Duration request_timeout = absl::Seconds(2);
  // Most bytes of commands in one log chunk (one txn). Far below etcd's
  // 1.5 MiB request limit; one command larger than this goes alone.
  size_t chunk_bytes = 512u << 10;
  // Most bytes of one snapshot part (one txn).
  size_t snapshot_part_bytes = 1u << 20;
  // After a snapshot, compact etcd's history up to the pruning txn, so it
  // does not grow without bound. Followers behind it reload from the
  // snapshot.
  bool compact_after_snapshot = true;
  // While this holds true the owner is suspended (its lease was not renewed
  // in time; see OwnerElection): a batch waits, up to request_timeout, for
  // it to turn false, then is written, or fails UNAVAILABLE without asking
  // etcd. Null: never.
  std::shared_ptr<const std::atomic<bool>> suspended = nullptr;
};

// Keys of the layout above.
std::string LogKey(const std::string& prefix, uint64_t first_index);
std::string SnapshotPartKey(const std::string& prefix, uint64_t index, uint32_t part);
std::string SnapshotLatestKey(const std::string& prefix);

class EtcdCommandLog final : public CommandLog {
 public:
  // `next_index`: what loading found (LoadFromEtcd). `fence`: the owner's
  // election key and epoch; every write carries it.
  EtcdCommandLog(std::shared_ptr<grpc::Channel> channel, std::string prefix, OwnerFence fence,
                 uint64_t next_index, BatchCallback on_batch, EtcdLogOptions options = {});
  // Writes what is pending, then stops: with etcd unreachable that takes up
  // to two request timeouts (a repair, then the put), plus the snapshot
  // being written, if any (a few calls, each within the request timeout).
  ~EtcdCommandLog() override;

  // ---- routing strand: none of these blocks ----
  uint64_t Append(v1::Command& cmd) override;
  void Flush() override;
  void DiscardUnwritten() override;
  // Writes the parts on the snapshot thread, reads them back, then puts
  // snapshot/latest and prunes in one fenced txn, and compacts.
  void WriteSnapshot(SnapshotSource source, SnapshotDone done) override;
  uint64_t next_index() const override;

  // ---- any thread but the strand ----
  // Visits durable commands from `first_index` (only what a batch report
  // has called durable). OUT_OF_RANGE when a snapshot pruned it.
  absl::Status ReadFrom(uint64_t first_index, const CommandVisitor& visit) const override;

  // True once a write found the fence gone: every later batch fails.
  bool deposed() const;

 private:
  struct Part {
    uint64_t first = 0;
    uint64_t last = 0;
    size_t bytes = 0;
    v1::LogChunk chunk;
  };
  void RunWriter() ABSL_LOCKS_EXCLUDED(mu_);
  void RunSnapshots() ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<Part> SplitBatch(std::vector<v1::Command> batch, uint64_t first) const;
  BatchReport WritePart(const Part& part);
  // Deletes the chunk a failed write may have left (outcome unknown), so the
  // indexes can be written again. The local journal's ftruncate.
  absl::Status Repair();
  absl::Status DoSnapshot(const SnapshotSource& source);
  absl::Status DeposedError() const;

  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  const std::string prefix_;
  const OwnerFence fence_;
  const BatchCallback on_batch_;
  const EtcdLogOptions options_;

  // Taken on the strand for every Append: a StdMutex (base/std_mutex.h).
  mutable StdMutex mu_;
  std::condition_variable cv_;
  std::vector<v1::Command> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t pending_first_ ABSL_GUARDED_BY(mu_) = 0;  // also: one past the durable end
  uint64_t next_index_ ABSL_GUARDED_BY(mu_) = 0;
  bool flush_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;  // waits for DiscardUnwritten
  bool deposed_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::condition_variable snapshot_cv_;
  struct SnapshotJob {
    SnapshotSource source;
    SnapshotDone done;
  };
  std::unique_ptr<SnapshotJob> snapshot_ ABSL_GUARDED_BY(mu_);

  // Writer thread only: a chunk whose put failed with an unknown outcome
  // (it may have committed), to delete before its indexes are written again.
  std::optional<std::pair<std::string, std::string>> unknown_chunk_;  // key, value

  std::thread writer_;
  std::thread snapshotter_;
};

}  // namespace ccr::cluster

#endif  // CCROUTER_ENGINE_CLUSTER_ETCD_COMMAND_LOG_H_
