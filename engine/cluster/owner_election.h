// OwnerElection: which engine owns a routing domain, decided by etcd alone.
//
// Each candidate grants itself a lease, keeps it alive, and puts one key
// under "<domain prefix>election/" bound to that lease (named after the lease
// id in hex, the layout etcd's v3election service and `etcdctl elect` use, so
// `etcdctl elect -l` and Election.Leader show the same owner). The key with
// the smallest create revision is the owner; its create revision is the
// fencing epoch the command log guards every append with. A dead owner's key
// goes with its lease (after the TTL); a resigning owner revokes its lease.
//
//   OwnerElectionOptions options;
//   options.etcd_channel = *OpenEtcdChannel("127.0.0.1:2379,127.0.0.1:22379");
//   options.domain_prefix = DomainPrefix("default");
//   options.self = {.grpc_address = "127.0.0.1:7100", .http_address = "127.0.0.1:7180",
//                   .node_name = "node-a"};
//   OwnerElection election(options, {.on_elected = ..., .on_deposed = ...,
//                                    .on_owner_changed = ...});
//   CCR_CHECK(election.Start().ok());
//   ...
//   election.Resign();  // SIGTERM: a standby takes over at once
//   election.Stop();
//
// Safety: the owner stops acting (on_suspended) before its lease can have
// expired in etcd. Its local deadline is the send time of the last
// keepalive etcd answered, plus the lease TTL, minus a safety margin; etcd
// starts the lease's TTL only when it receives that keepalive, later. A
// successor is elected only once the lease (and so the key) is gone, so the
// two never overlap while the margin covers this process's scheduling delay
// between the deadline and the callback. It does not cover a clock that runs
// slow, a process paused between its check and its write, or an etcd 3.4
// raft leader cut off from its quorum, which still renews leases until it
// steps down an election timeout later: that is what the fence in the log is
// for (a write needs the quorum, and fails once the key is gone).
//
// Suspended is not deposed: when the raft leader dies, etcd answers no
// keepalive until the two members left elect another, which takes one to
// two election timeouts, and longer after a split vote (3 s and more with
// etcd's default 1 s was seen here). That is longer than a short TTL leaves,
// but the lease survives it (a new raft leader extends every lease). So a
// suspended owner keeps its key and goes on sending keepalives; it resumes
// (on_resumed, same fence) once etcd renews the lease and a read made after
// that shows its key still first, and is deposed once etcd says the lease or
// the key is gone, or after suspend_limit without an answer.
//
// Threads: every etcd call runs on a thread of this class's own, with a
// deadline; callbacks run on one more thread of its own, one at a time and in
// order, never while an etcd call waits for them.
#ifndef CCROUTER_ENGINE_CLUSTER_OWNER_ELECTION_H_
#define CCROUTER_ENGINE_CLUSTER_OWNER_ELECTION_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/std_mutex.h"
#include "engine/cluster/etcd_channel.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace ccr::cluster {

// What the owner posts in its election key: where clients are redirected.
struct OwnerInfo {
  std::string grpc_address;  // "127.0.0.1:7100"
  std::string http_address;  // "127.0.0.1:7180"; may be empty
  std::string node_name;     // for logs and metrics

  bool operator==(const OwnerInfo& other) const = default;
};

// "grpc_address=...\nhttp_address=...\nnode_name=...\n": readable with
// etcdctl, and unknown lines are skipped so a later field can be added.
std::string EncodeOwnerInfo(const OwnerInfo& info);
// INVALID_ARGUMENT when grpc_address is missing or a line has no '='.
absl::StatusOr<OwnerInfo> DecodeOwnerInfo(absl::string_view encoded);

struct OwnerElectionOptions {
  std::shared_ptr<grpc::Channel> etcd_channel;  // from OpenEtcdChannel
  std::string domain_prefix;                    // from DomainPrefix(domain); ends in '/'
  OwnerInfo self;                               // what this node posts when it owns
  // etcd raises a TTL below its minimum (2 s with its default election
  // timeout); the TTL etcd grants is the one used for the local deadline.
  std::chrono::seconds lease_ttl{3};
  // Zero: a third of the granted TTL.
  std::chrono::milliseconds keepalive_interval{0};
  // How much earlier than the lease's earliest expiry the owner suspends itself.
  std::chrono::milliseconds safety_margin{500};
  // How long a suspended owner waits for etcd to renew its lease before it
  // gives up ownership. Zero: the granted TTL. An owner cut off from etcd
  // keeps its desktops this much longer before handing them over; an etcd
  // raft election shorter than TTL - margin - interval + this is a non-event.
  std::chrono::milliseconds suspend_limit{0};
  // Deadline of every etcd call (the watch stream excepted).
  std::chrono::milliseconds call_timeout{1000};
  // Pause before a failed call is tried again (etcd electing a raft leader).
  std::chrono::milliseconds retry_delay{200};
  // How often the election is read again although the watch said nothing
  // (a watch to a member cut off from the quorum hears nothing).
  std::chrono::milliseconds reread_interval{1000};
};

class OwnerElection {
 public:
  struct Callbacks {
    // This node owns the domain; the log guards its appends with `fence`.
    std::function<void(const OwnerFence& fence)> on_elected;
    // This node must stop acting as owner at once (it may be elected again
    // later, with a new fence).
    std::function<void(const std::string& reason)> on_deposed;
    // The lease was not renewed in time: write nothing until on_resumed
    // (the fence holds again) or on_deposed.
    std::function<void(const std::string& reason)> on_suspended;
    // etcd renewed the lease of a suspended owner, and its key is still
    // first: it may act again, with the fence of its on_elected.
    std::function<void()> on_resumed;
    // Who owns the domain now, or nobody; on every node, the owner included.
    std::function<void(const std::optional<OwnerInfo>& owner)> on_owner_changed;
  };

  // Any callback may be empty. None may call Stop or the destructor.
  OwnerElection(OwnerElectionOptions options, Callbacks callbacks);
  // Stop(): leaves the lease to expire in etcd, as a crash would.
  ~OwnerElection();
  OwnerElection(const OwnerElection&) = delete;
  OwnerElection& operator=(const OwnerElection&) = delete;

  // Checks the options and starts campaigning in the background; returns at
  // once. INVALID_ARGUMENT names the option that cannot work. Once only.
  absl::Status Start();

  // Planned handover: stops acting as owner (on_deposed has returned when
  // this does, unless called from a callback), then revokes the lease, which
  // deletes the key so the next candidate is elected at once. The node stays
  // out of the election from then on but keeps following who owns. Blocks
  // for up to about two call timeouts: not for the routing strand. UNAVAILABLE
  // when etcd could not be told; the lease then expires after its TTL.
  absl::Status Resign();

  // Joins every thread; no callback runs after it returns, and callbacks not
  // yet delivered are dropped. Revokes nothing. Idempotent.
  void Stop();

  // The owner as last read from etcd (nullopt: nobody, or not read yet).
  std::optional<OwnerInfo> CurrentOwner() const;
  // This node's fence while it considers itself owner (not while suspended).
  std::optional<OwnerFence> CurrentFence() const;
  // "<domain prefix>election/": the keys of the candidates.
  const std::string& election_prefix() const { return election_prefix_; }

  // Test hook: stops sending keepalives (what a paused process does), so the
  // local deadline passes; etcd sees nothing until the lease's TTL ends.
  void PauseKeepalivesForTesting(bool paused);

 private:
  enum class Role { kCandidate, kOwner };
  using SteadyTime = std::chrono::steady_clock::time_point;

  struct ElectionView {
    std::optional<std::string> owner_key;  // the key with the smallest create revision
    int64_t owner_create_revision = 0;
    std::string owner_value;
    bool own_key_exists = false;
  };
  struct Grant {
    int64_t lease_id = 0;
    std::chrono::seconds ttl{0};
  };
  struct Event {
    enum class Kind { kElected, kDeposed, kSuspended, kResumed, kOwnerChanged };
    Kind kind = Kind::kOwnerChanged;
    OwnerFence fence;
    std::string reason;
    std::optional<OwnerInfo> owner;
  };

  // The three background loops, and the callback loop.
  void SessionLoop();
  void KeepaliveLoop();
  void WatchLoop();
  void CallbackLoop();

  // Blocking etcd calls, each within call_timeout (cancelled by Stop).
  absl::StatusOr<Grant> GrantLease();
  absl::StatusOr<int64_t> PutOwnKey(int64_t lease_id, const std::string& key);
  absl::StatusOr<ElectionView> ReadElection(const std::string& own_key);
  // TTL etcd answered (<= 0: the lease is gone).
  absl::StatusOr<int64_t> KeepAliveOnce(int64_t lease_id,
                                        std::chrono::system_clock::time_point deadline);
  absl::Status RevokeLease(int64_t lease_id, std::chrono::system_clock::time_point deadline);
  void RevokeAbandonedLeases();

  // Registers `context` so Stop can cancel the call; cancels it at once when
  // stopping already.
  void TrackCall(grpc::ClientContext* context) ABSL_LOCKS_EXCLUDED(mu_);
  void UntrackCall(grpc::ClientContext* context) ABSL_LOCKS_EXCLUDED(mu_);
  std::chrono::system_clock::time_point CallDeadline() const;

  // The lease (and the key on it) is no longer this node's to use: the
  // session starts over with a new one and revokes this one when it can.
  void AbandonLeaseLocked(bool revoke) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RememberForRevocationLocked(int64_t lease_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DeposeLocked(const std::string& reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SuspendLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `read_sent`: when the read behind `view` was sent.
  void ApplyViewLocked(const ElectionView& view, int64_t lease_id, SteadyTime read_sent)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint64_t EnqueueLocked(Event event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sleeps up to `delay` or until Stop; false when stopping.
  bool SleepFor(std::chrono::milliseconds delay) ABSL_LOCKS_EXCLUDED(mu_);
  std::string OwnKeyFor(int64_t lease_id) const;

  // Constant after construction.
  const OwnerElectionOptions options_;
  const Callbacks callbacks_;
  const std::string election_prefix_;
  const std::string own_value_;
  const std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  const std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  const std::unique_ptr<etcdserverpb::Watch::Stub> watch_;

  mutable StdMutex mu_;
  // Every loop waits on this; whoever changes the state below notifies all.
  std::condition_variable state_changed_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool withdrawn_ ABSL_GUARDED_BY(mu_) = false;  // Resign: campaigns no more
  bool keepalives_paused_ ABSL_GUARDED_BY(mu_) = false;
  Role role_ ABSL_GUARDED_BY(mu_) = Role::kCandidate;
  // An owner past its local deadline, waiting for etcd (see the top).
  bool suspended_ ABSL_GUARDED_BY(mu_) = false;
  SteadyTime suspended_until_ ABSL_GUARDED_BY(mu_);  // then deposed
  std::chrono::milliseconds suspend_limit_ ABSL_GUARDED_BY(mu_){0};
  // Send time of the keepalive that last renewed the lease of a suspended
  // owner: a read sent after it may resume it.
  std::optional<SteadyTime> renewed_while_suspended_ ABSL_GUARDED_BY(mu_);
  // The lease in use (0: none yet, or abandoned) and its key.
  int64_t lease_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::chrono::milliseconds keepalive_interval_ ABSL_GUARDED_BY(mu_){0};
  SteadyTime next_keepalive_at_ ABSL_GUARDED_BY(mu_);
  // The last moment this node may act on the lease: the send time of the
  // grant or last answered keepalive + granted TTL - safety margin.
  SteadyTime lease_valid_until_ ABSL_GUARDED_BY(mu_);
  std::string own_key_ ABSL_GUARDED_BY(mu_);
  int64_t own_create_revision_ ABSL_GUARDED_BY(mu_) = 0;  // 0: key not put yet
  // Leases given up whose keys may still stand in etcd in front of the new
  // one; revoked when etcd answers, at most kMaxAbandonedLeases (older ones
  // expire by themselves).
  std::deque<int64_t> abandoned_leases_ ABSL_GUARDED_BY(mu_);
  // Bumped by every watch event (and watch restart): the election changed;
  // and when a suspended owner's lease is renewed: the session reads again.
  uint64_t watch_generation_ ABSL_GUARDED_BY(mu_) = 0;
  // The owner as last published: key and create revision identify it.
  std::string published_owner_key_ ABSL_GUARDED_BY(mu_);
  int64_t published_owner_revision_ ABSL_GUARDED_BY(mu_) = -1;
  std::optional<OwnerInfo> current_owner_ ABSL_GUARDED_BY(mu_);
  std::optional<OwnerFence> fence_ ABSL_GUARDED_BY(mu_);
  // Callbacks not yet run. Elected and deposed alternate (each needs etcd
  // round trips), and an owner change replaces one not yet delivered, so
  // the queue stays a few entries long.
  std::deque<Event> events_ ABSL_GUARDED_BY(mu_);
  uint64_t events_enqueued_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t events_delivered_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<grpc::ClientContext*> calls_in_flight_ ABSL_GUARDED_BY(mu_);

  std::thread::id callback_thread_id_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;  // touched by Start and Stop only (not concurrently)
};

}  // namespace ccr::cluster

#endif  // CCROUTER_ENGINE_CLUSTER_OWNER_ELECTION_H_
