// Reading the etcd command log (key layout: etcd_command_log.h): loading a
// router from it at start-up, and following it on a hot standby.
//
//   absl::StatusOr<Recovered> r = LoadFromEtcd(channel, DomainPrefix("main"));
//   LogFollower follower(channel, prefix, r->next_index, apply_on_strand, reload);
//   follower.Start();  ...  follower.Stop();
#ifndef CCROUTER_ENGINE_CLUSTER_ETCD_LOG_READER_H_
#define CCROUTER_ENGINE_CLUSTER_ETCD_LOG_READER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/std_mutex.h"
#include "ccrouter/v1/journal.pb.h"
#include "engine/journal/recovery.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace ccr::cluster {

namespace v1 = ::ccrouter::v1;

struct LogRead {
  int64_t revision = 0;  // the etcd revision everything was read at
  uint64_t chunks = 0;
  uint64_t bytes = 0;
};

// Visits the commands with indexes in [first_index, end_index) from the log
// under `prefix`, in index order, until `visit` returns false; every Range
// at one revision (`at_revision`, or the first reply's when 0), paged, each
// call within `request_timeout`. OUT_OF_RANGE when the log no longer holds
// `first_index` (a snapshot covers it and pruned it, or etcd compacted
// `at_revision`); DATA_LOSS naming the key when a chunk does not parse or
// indexes are missing between chunks.
absl::Status ReadLog(etcdserverpb::KV::Stub& kv, const std::string& prefix, uint64_t first_index,
                     uint64_t end_index, int64_t at_revision, absl::Duration request_timeout,
                     const std::function<bool(const v1::Command&)>& visit, LogRead* read);

// Builds the router from the domain's newest snapshot and the log after it
// (replayed through ApplyCommand with the recorded times, as recovery does
// with the local journal), everything read at one etcd revision. An empty
// domain gives a null router and next_index 1, like an empty data dir.
// OUT_OF_RANGE when the owner compacted etcd past that revision while this
// read: load again.
// Memory: the whole snapshot's bytes while it is decoded.
// `read_revision`, when given, gets that revision: a LogFollower started
// after it continues exactly where the load ended. `event_window` > 0 keeps
// the newest that many events the replay after the snapshot re-creates
// (Recovered::recent_events), so a watcher can resume on a node that had to
// load again; 0 replays with events off.
absl::StatusOr<Recovered> LoadFromEtcd(std::shared_ptr<grpc::Channel> channel,
                                       const std::string& prefix,
                                       absl::Duration request_timeout = absl::Seconds(10),
                                       int64_t* read_revision = nullptr, size_t event_window = 0);

// Moves the events the last replayed command re-created into
// `recovered.recent_events`, keeping the newest `window`, and turns the
// router's events on (a router the genesis command just created replays
// with them off).
void KeepReplayedEvents(Recovered& recovered, size_t window);

// For a hot standby: delivers each command from `from_index` on, in index
// order, as the owner makes it durable: a Range to catch up, then a Watch on
// the log prefix from the next revision (re-established from where it was
// when a member goes away). When it can no longer continue in order (the
// indexes it needs were pruned, etcd compacted the revision it watches from,
// indexes are missing, or a chunk was rewritten after a failed write) it
// calls `on_error` with OUT_OF_RANGE once and stops delivering: the caller
// reloads from the snapshot. Callbacks run on the follower's own thread.
class LogFollower {
 public:
  using CommandCallback = std::function<void(const v1::Command&)>;
  using ErrorCallback = std::function<void(const absl::Status&)>;

  // `after_revision`: when not 0, everything before `from_index` is known
  // as of that etcd revision (LoadFromEtcd's read_revision), so the
  // follower skips the catch-up Range and watches from the next revision.
  LogFollower(std::shared_ptr<grpc::Channel> channel, std::string prefix, uint64_t from_index,
              CommandCallback on_command, ErrorCallback on_error,
              absl::Duration request_timeout = absl::Seconds(2), int64_t after_revision = 0);
  ~LogFollower();  // Stop()
  LogFollower(const LogFollower&) = delete;
  LogFollower& operator=(const LogFollower&) = delete;

  void Start();
  // Cancels the watch and joins the thread. Not from a callback.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  // The index of the next command it will deliver.
  uint64_t next_index() const { return next_index_.load(); }

 private:
  void Run();
  // Until the stream ends; OUT_OF_RANGE when following must stop.
  absl::Status WatchOnce(int64_t* revision) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Deliver(const v1::Command& cmd);
  // Waits `pause` unless stopped first; false when stopped.
  bool PauseUnlessStopped(absl::Duration pause) ABSL_LOCKS_EXCLUDED(mu_);

  const std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch_;
  const std::string prefix_;
  const CommandCallback on_command_;
  const ErrorCallback on_error_;
  const absl::Duration request_timeout_;
  const int64_t after_revision_;
  std::atomic<uint64_t> next_index_;

  StdMutex mu_;
  std::condition_variable stopped_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* watch_context_ ABSL_GUARDED_BY(mu_) = nullptr;  // to cancel it
  std::thread thread_;
};

}  // namespace ccr::cluster

#endif  // CCROUTER_ENGINE_CLUSTER_ETCD_LOG_READER_H_
