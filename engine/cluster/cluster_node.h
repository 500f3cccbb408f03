// ClusterNode: one ccrouterd in cluster mode (CLUSTER.md). It campaigns for
// the routing domain from the start; until it is elected it is a hot
// standby, loading the domain from etcd and following its log into a warm
// router; once elected it catches up to the log's end and hands the engine
// the router, the fence, and a command log in etcd that carries the fence.
//
//   ClusterNode node(options);
//   CCR_RETURN_IF_ERROR(node.Start());
//   node.OnOwnerChanged([&](auto owner) { standby.SetOwner(...); });
//   absl::StatusOr<std::optional<Takeover>> t = node.FollowUntilElected(stop);
//   engine_options.command_log = node.LogFactory(t->fence);
//   engine.Start(std::move(t->recovered), yaml);
//   node.OnDeposed([&](std::string why) { ... stop serving at once ... });
//
// Threads: the election and the follower run threads of their own;
// FollowUntilElected blocks its caller (main), never the routing strand.
#ifndef CCROUTER_ENGINE_CLUSTER_CLUSTER_NODE_H_
#define CCROUTER_ENGINE_CLUSTER_CLUSTER_NODE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/cluster/etcd_channel.h"
#include "engine/cluster/etcd_command_log.h"
#include "engine/cluster/etcd_metrics.h"
#include "engine/cluster/owner_election.h"
#include "engine/journal/command_log.h"
#include "engine/journal/recovery.h"
#include "metrics/registry.h"

namespace ccr::cluster {

struct ClusterNodeOptions {
  std::string etcd_endpoints;  // "host:port,host:port"
  std::string domain = "default";
  OwnerInfo self;  // what clients are redirected to while this node owns
  std::chrono::seconds lease_ttl{3};
  EtcdLogOptions log;
  // Events a standby keeps from what it follows, for WatchEvents resume
  // once it owns (the engine's event_window).
  size_t event_window = 100000;
  // Not owned; must outlive the node. Null: no metrics.
  metrics::MetricsRegistry* metrics = nullptr;
};

// What an elected standby hands the engine.
struct Takeover {
  OwnerFence fence;
  Recovered recovered;             // the warm router, caught up to the end of the log
  uint64_t commands_followed = 0;  // applied while standing by
  uint64_t tail_replayed = 0;      // read at takeover (what the standby had not seen)
};

class ClusterNode {
 public:
  explicit ClusterNode(ClusterNodeOptions options);
  ~ClusterNode();  // Stop()
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // Opens the etcd channel and starts campaigning. INVALID_ARGUMENT names
  // the option that cannot work.
  absl::Status Start();

  // Who owns the domain (every change, on the election's callback thread).
  void OnOwnerChanged(std::function<void(const std::optional<OwnerInfo>&)> fn);
  // This node must stop acting as owner (on the election's callback thread).
  void OnDeposed(std::function<void(const std::string& reason)> fn);

  // The standby phase: loads the domain and follows its log until this node
  // is elected (then catches up to the end and returns the takeover) or
  // `stop` turns true (returns nullopt; checked every 100 ms). Reloads from
  // the snapshot when the follower falls behind what etcd keeps. While etcd
  // is out of reach it keeps trying; only a damaged log is an error.
  absl::StatusOr<std::optional<Takeover>> FollowUntilElected(const std::atomic<bool>& stop);

  // The engine's command log: appends in etcd guarded by `fence`. (Once
  // the fence is gone every batch fails, so a deposed owner acknowledges and
  // offers nothing more, whatever its election thread has noticed yet.
  // While the election holds the owner suspended, batches fail too.)
  CommandLogFactory LogFactory(const OwnerFence& fence);

  // Planned handover: a standby takes over at once. Blocks up to ~2 s.
  absl::Status Resign();
  // The owner once it is another node than this one, as the election reads
  // it, waiting up to `timeout` for one (nullopt: none by then). For a
  // deposed or resigning owner, to send its clients on. Blocks: not for the
  // strand or an election callback.
  std::optional<OwnerInfo> AwaitOtherOwner(absl::Duration timeout) const;
  void Stop();

  const std::string& prefix() const { return prefix_; }

 private:
  // Loads the domain, trying again every second while etcd is out of reach;
  // nullopt when `stop` turns true first. A damaged log is an error.
  absl::StatusOr<std::optional<Recovered>> LoadRetrying(const std::atomic<bool>& stop);
  // Sleeps `pause`; false (at once) when `stop` turns true.
  static bool PauseUnlessStopped(const std::atomic<bool>& stop, absl::Duration pause);
  bool still_elected() const;

  const ClusterNodeOptions options_;
  const std::string prefix_;
  // From options_.metrics; null without it.
  prometheus::Gauge* owner_gauge_ = nullptr;
  prometheus::Gauge* epoch_gauge_ = nullptr;
  prometheus::Gauge* followed_index_gauge_ = nullptr;
  prometheus::Gauge* log_index_gauge_ = nullptr;
  prometheus::Gauge* lag_gauge_ = nullptr;
  prometheus::Counter* takeovers_ = nullptr;
  prometheus::Counter* suspensions_ = nullptr;
  // True while the election holds this owner suspended: its log writes
  // nothing (shared with every log LogFactory makes).
  const std::shared_ptr<std::atomic<bool>> suspended_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<EtcdCallMetrics> etcd_metrics_;  // held by the channel's interceptors too
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<OwnerElection> election_;

  mutable absl::Mutex mu_;
  std::function<void(const std::optional<OwnerInfo>&)> on_owner_changed_ ABSL_GUARDED_BY(mu_);
  std::function<void(const std::string&)> on_deposed_ ABSL_GUARDED_BY(mu_);
  std::optional<OwnerFence> elected_ ABSL_GUARDED_BY(mu_);  // since the last deposal
  absl::Status follower_error_ ABSL_GUARDED_BY(mu_);        // the follower stopped
};

}  // namespace ccr::cluster

#endif  // CCROUTER_ENGINE_CLUSTER_CLUSTER_NODE_H_
