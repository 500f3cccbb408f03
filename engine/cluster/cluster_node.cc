#include "engine/cluster/cluster_node.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "codec/wire.h"
#include "engine/cluster/etcd_log_reader.h"
#include "engine/log.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "metrics/catalogue.h"

namespace ccr::cluster {
namespace {

constexpr absl::Duration kLoadTimeout = absl::Seconds(10);

// The warm router, rebuilt from etcd (at start, or after the follower fell
// behind what etcd keeps).
absl::StatusOr<Recovered> Load(const std::shared_ptr<grpc::Channel>& channel,
                               const std::string& prefix, size_t event_window) {
  absl::StatusOr<Recovered> loaded =
      LoadFromEtcd(channel, prefix, kLoadTimeout, /*read_revision=*/nullptr, event_window);
  if (!loaded.ok()) {
    return absl::Status(
        loaded.status().code(),
        absl::StrCat("loading ", prefix, " from etcd: ", loaded.status().message()));
  }
  // The window holds what the replay after the snapshot re-created: a
  // watcher that saw only events since then resumes here with no gap.
  LogAlways(
      "cluster_loaded",
      {{"prefix", prefix},
       {"next_index", absl::StrCat(loaded->next_index)},
       {"live_contacts", absl::StrCat(loaded->router ? loaded->router->live_contacts() : 0)}});
  return loaded;
}

}  // namespace

ClusterNode::ClusterNode(ClusterNodeOptions options)
    : options_(std::move(options)), prefix_(DomainPrefix(options_.domain)) {
  if (options_.metrics != nullptr) {
    owner_gauge_ = &options_.metrics->Gauge(metrics::kClusterOwner);
    epoch_gauge_ = &options_.metrics->Gauge(metrics::kClusterEpoch);
    followed_index_gauge_ = &options_.metrics->Gauge(metrics::kClusterFollowedIndex);
    log_index_gauge_ = &options_.metrics->Gauge(metrics::kClusterLogIndex);
    lag_gauge_ = &options_.metrics->Gauge(metrics::kClusterStandbyLag);
    takeovers_ = &options_.metrics->Counter(metrics::kClusterTakeovers);
    suspensions_ = &options_.metrics->Counter(metrics::kClusterOwnerSuspensions);
    etcd_metrics_ = std::make_shared<EtcdCallMetrics>(*options_.metrics);
  }
}

ClusterNode::~ClusterNode() { Stop(); }

absl::Status ClusterNode::Start() {
  if (options_.domain.empty() || options_.domain.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cluster-domain \"", options_.domain, "\": want a name without '/'"));
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      OpenEtcdChannel(options_.etcd_endpoints, etcd_metrics_);
  if (!channel.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--etcd-endpoints: ", channel.status().message()));
  }
  channel_ = *std::move(channel);
  OwnerElectionOptions election;
  election.etcd_channel = channel_;
  election.domain_prefix = prefix_;
  election.self = options_.self;
  election.lease_ttl = options_.lease_ttl;
  OwnerElection::Callbacks callbacks;
  callbacks.on_elected = [this](const OwnerFence& fence) {
    suspended_->store(false);
    absl::MutexLock lock(&mu_);
    elected_ = fence;
  };
  // Suspended: the log writes nothing until etcd renews the lease (then the
  // fence holds again) or the node is deposed.
  callbacks.on_suspended = [this](const std::string& /*reason*/) {
    suspended_->store(true);
    if (suspensions_ != nullptr) suspensions_->Increment();
  };
  callbacks.on_resumed = [this] { suspended_->store(false); };
  callbacks.on_deposed = [this](const std::string& reason) {
    std::function<void(const std::string&)> fn;
    {
      absl::MutexLock lock(&mu_);
      elected_.reset();
      fn = on_deposed_;
    }
    if (owner_gauge_ != nullptr) {
      owner_gauge_->Set(0);
      epoch_gauge_->Set(0);
    }
    if (fn) fn(reason);
  };
  callbacks.on_owner_changed = [this](const std::optional<OwnerInfo>& owner) {
    std::function<void(const std::optional<OwnerInfo>&)> fn;
    {
      absl::MutexLock lock(&mu_);
      fn = on_owner_changed_;
    }
    if (fn) fn(owner);
  };
  election_ = std::make_unique<OwnerElection>(std::move(election), std::move(callbacks));
  if (absl::Status s = election_->Start(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("cluster election: ", s.message()));
  }
  return absl::OkStatus();
}

void ClusterNode::OnOwnerChanged(std::function<void(const std::optional<OwnerInfo>&)> fn) {
  absl::MutexLock lock(&mu_);
  on_owner_changed_ = std::move(fn);
}

void ClusterNode::OnDeposed(std::function<void(const std::string&)> fn) {
  absl::MutexLock lock(&mu_);
  on_deposed_ = std::move(fn);
}

absl::StatusOr<std::optional<Takeover>> ClusterNode::FollowUntilElected(
    const std::atomic<bool>& stop) {
  Takeover takeover;
  // `recovered` is the follower thread's while it runs, and this thread's
  // once it is stopped.
  CCR_ASSIGN_OR_RETURN(std::optional<Recovered> loaded, LoadRetrying(stop));
  if (!loaded) return std::nullopt;
  takeover.recovered = *std::move(loaded);
  for (;;) {
    absl::Status replay_error;
    {
      absl::MutexLock lock(&mu_);
      follower_error_ = absl::OkStatus();
    }
    LogFollower follower(
        channel_, prefix_, takeover.recovered.next_index,
        [&](const v1::Command& cmd) {
          if (!replay_error.ok()) return;
          replay_error = ReplayCommand(cmd, "etcd log", &takeover.recovered);
          if (replay_error.ok()) {
            KeepReplayedEvents(takeover.recovered, options_.event_window);
            ++takeover.commands_followed;
            if (followed_index_gauge_ != nullptr) {
              followed_index_gauge_->Set(static_cast<double>(cmd.index()));
              const absl::Time stamped = absl::FromUnixSeconds(cmd.time().seconds()) +
                                         absl::Nanoseconds(cmd.time().nanos());
              lag_gauge_->Set(std::max(0.0, absl::ToDoubleSeconds(absl::Now() - stamped)));
            }
          } else {
            absl::MutexLock lock(&mu_);
            follower_error_ = replay_error;
          }
        },
        [this](const absl::Status& error) {
          absl::MutexLock lock(&mu_);
          follower_error_ = error;
        },
        options_.log.request_timeout);
    follower.Start();
    bool elected = false;
    absl::Status follow_error;
    while (!stop.load()) {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](ClusterNode* node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(node->mu_) {
                                 return node->elected_.has_value() || !node->follower_error_.ok();
                               },
                               this),
                           absl::Milliseconds(100));
      if (!follower_error_.ok()) {
        follow_error = follower_error_;
        break;
      }
      if (elected_) {
        takeover.fence = *elected_;
        elected = true;
        break;
      }
    }
    follower.Stop();
    if (!replay_error.ok()) return replay_error;  // the log itself is damaged
    if (stop.load() && !elected) return std::nullopt;
    if (!elected) {
      // Behind what etcd keeps (pruned by a snapshot, or compacted): start
      // over from the newest snapshot.
      LogAlways("cluster_follower_reload", {{"why", std::string(follow_error.message())}},
                LogLevel::kWarn);
      CCR_ASSIGN_OR_RETURN(std::optional<Recovered> again, LoadRetrying(stop));
      if (!again) return std::nullopt;
      takeover.recovered = *std::move(again);
      continue;
    }
    // Elected: the old owner's key is gone, so its appends can no longer
    // commit; what the log holds now is all there is. Read the tail, trying
    // again while etcd is out of reach, for as long as this node is owner.
    auto kv = etcdserverpb::KV::NewStub(channel_);
    bool caught_up = false;
    while (!caught_up && !stop.load() && still_elected()) {
      absl::Status tail_error;
      LogRead read;
      const absl::Status s = ReadLog(
          *kv, prefix_, takeover.recovered.next_index, UINT64_MAX, /*at_revision=*/0,
          options_.log.request_timeout,
          [&](const v1::Command& cmd) {
            tail_error = ReplayCommand(cmd, "etcd log", &takeover.recovered);
            if (tail_error.ok()) {
              KeepReplayedEvents(takeover.recovered, options_.event_window);
              ++takeover.tail_replayed;
            }
            return tail_error.ok();
          },
          &read);
      if (!tail_error.ok()) return tail_error;  // the log itself is damaged
      if (s.ok()) {
        caught_up = true;
      } else if (s.code() == absl::StatusCode::kOutOfRange) {
        // A snapshot the old owner wrote at the end pruned what this
        // standby had not seen: load it whole.
        CCR_ASSIGN_OR_RETURN(std::optional<Recovered> again, LoadRetrying(stop));
        if (!again) return std::nullopt;
        takeover.recovered = *std::move(again);
      } else {
        LogAlways("cluster_tail_read_failed", {{"error", std::string(s.message())}},
                  LogLevel::kWarn);
        PauseUnlessStopped(stop, absl::Milliseconds(200));
      }
    }
    if (!caught_up) {
      if (stop.load()) return std::nullopt;
      continue;  // deposed before it could serve: a standby again
    }
    if (owner_gauge_ != nullptr) {
      owner_gauge_->Set(1);
      epoch_gauge_->Set(static_cast<double>(takeover.fence.epoch));
      followed_index_gauge_->Set(0);
      lag_gauge_->Set(0);
      takeovers_->Increment();
    }
    LogAlways("cluster_elected", {{"prefix", prefix_},
                                  {"epoch", absl::StrCat(takeover.fence.epoch)},
                                  {"next_index", absl::StrCat(takeover.recovered.next_index)},
                                  {"followed", absl::StrCat(takeover.commands_followed)},
                                  {"tail_replayed", absl::StrCat(takeover.tail_replayed)}});
    return std::optional<Takeover>(std::move(takeover));
  }
}

absl::StatusOr<std::optional<Recovered>> ClusterNode::LoadRetrying(const std::atomic<bool>& stop) {
  for (;;) {
    absl::StatusOr<Recovered> loaded = Load(channel_, prefix_, options_.event_window);
    if (loaded.ok()) return std::optional<Recovered>(*std::move(loaded));
    // A damaged log or snapshot stays damaged: say so and stop. Anything
    // else (no quorum, no member reachable) may pass: a standby waits.
    if (loaded.status().code() == absl::StatusCode::kDataLoss ||
        loaded.status().code() == absl::StatusCode::kInvalidArgument) {
      return loaded.status();
    }
    LogAlways("cluster_load_failed",
              {{"error", std::string(loaded.status().message())}, {"next", "retrying in 1 s"}},
              LogLevel::kWarn);
    if (!PauseUnlessStopped(stop, absl::Seconds(1))) return std::nullopt;
  }
}

bool ClusterNode::PauseUnlessStopped(const std::atomic<bool>& stop, absl::Duration pause) {
  const absl::Time until = absl::Now() + pause;
  while (absl::Now() < until) {
    if (stop.load()) return false;
    absl::SleepFor(std::min(absl::Milliseconds(100), until - absl::Now()));
  }
  return !stop.load();
}

bool ClusterNode::still_elected() const {
  absl::MutexLock lock(&mu_);
  return elected_.has_value();
}

CommandLogFactory ClusterNode::LogFactory(const OwnerFence& fence) {
  EtcdLogOptions log_options = options_.log;
  log_options.suspended = suspended_;
  return [channel = channel_, prefix = prefix_, fence, options = std::move(log_options),
          log_index = log_index_gauge_](
             uint64_t next_index, std::optional<uint64_t> /*recovered_snapshot*/,
             CommandLog::BatchCallback on_batch) -> absl::StatusOr<std::unique_ptr<CommandLog>> {
    if (log_index != nullptr) {
      log_index->Set(static_cast<double>(next_index - 1));
      on_batch = [log_index, on_batch = std::move(on_batch)](const BatchReport& report) {
        if (report.status.ok()) log_index->Set(static_cast<double>(report.last));
        on_batch(report);
      };
    }
    return std::unique_ptr<CommandLog>(std::make_unique<EtcdCommandLog>(
        channel, prefix, fence, next_index, std::move(on_batch), options));
  };
}

absl::Status ClusterNode::Resign() {
  if (election_ == nullptr) return absl::OkStatus();
  return election_->Resign();
}

std::optional<OwnerInfo> ClusterNode::AwaitOtherOwner(absl::Duration timeout) const {
  if (election_ == nullptr) return std::nullopt;
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    std::optional<OwnerInfo> owner = election_->CurrentOwner();
    if (owner && owner->grpc_address != options_.self.grpc_address) return owner;
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

void ClusterNode::Stop() {
  if (election_ != nullptr) election_->Stop();
}

}  // namespace ccr::cluster
