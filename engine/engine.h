// Engine: the event-driven host of the router. One Asio io_context thread is
// the routing strand: it alone touches the Router. gRPC reactors Post()
// closures to it; after each closure the engine delivers the router's events
// (offers to agent sinks, lifecycle events to watchers and the log) and
// re-arms the one timer that feeds Router::Tick(). It meets the world only
// through interfaces it owns: CommandLog (engine/journal/command_log.h),
// AgentSink / EventSink (engine/sinks.h) and Clock (engine/clock.h); the
// gRPC edge (engine/grpc/) implements the sinks, and engine/testing/ has a
// fake of each.
#ifndef CCROUTER_ENGINE_ENGINE_H_
#define CCROUTER_ENGINE_ENGINE_H_

#include <array>
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "base/std_mutex.h"
#include "base/thread_checker.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/thread_pool.hpp"
#include "ccrouter/v1/agent_desk.pb.h"
#include "ccrouter/v1/config.pb.h"
#include "ccrouter/v1/events.pb.h"
#include "engine/apply.h"
#include "engine/clock.h"
#include "engine/contact_watch.h"
#include "engine/journal/journal.h"
#include "engine/journal/recovery.h"
#include "engine/sinks.h"
#include "metrics/histogram.h"
#include "metrics/registry.h"
#include "metrics/router_metrics.h"
#include "router/router.h"

namespace ccr {

namespace v1 = ::ccrouter::v1;

class Authenticator;
class Engine;

struct EngineOptions {
  // The config the daemon started with: a reload that changes one of its
  // restart-only keys (kRestartOnlyConfigKeys) is refused naming them.
  // Absent: no such check (engines made by tests).
  std::optional<v1::Config> start_config;
  std::string config_path;  // empty: the embedded default
  size_t max_backlog = 20000;
  size_t agent_backlog_reserve = 2000;  // desktop commands admitted beyond max_backlog
  absl::Duration disconnect_grace = absl::Seconds(10);
  // A desktop silent for heartbeat_missed_limit x heartbeat_interval is gone.
  absl::Duration heartbeat_interval = absl::Seconds(10);
  uint32_t heartbeat_missed_limit = 3;
  size_t event_window = 100000;     // events kept for WatchEvents resume
  size_t agent_outbox_limit = 256;  // messages queued to one agent desktop
  // Events queued to one WatchEvents stream: what one watcher can make the
  // engine hold beyond the shared window. A watcher behind reads on from the
  // window as it drains; once behind the window's oldest event it is ended.
  size_t watcher_outbox_limit = 256;
  size_t max_watchers = 64;  // concurrent WatchEvents streams
  // ContactIngest.GetContact / WatchContact: their bound, what is remembered
  // of ended contacts, how often watched positions are re-checked.
  ContactWatchOptions contact_watch;
  // The journal; an empty dir runs without one (nothing survives a restart).
  JournalOptions journal;
  // Set: the engine's command log comes from here instead of the file
  // journal in journal.dir (tests: engine/testing/fake_command_log.h).
  CommandLogFactory command_log;
  uint64_t snapshot_every_commands = 200000;
  absl::Duration snapshot_interval = absl::Minutes(5);
  // Not owned; must outlive the engine. Null: no metrics.
  metrics::MetricsRegistry* metrics = nullptr;
  // Per-stream message rates (config `limits`); <= 0: unlimited.
  double submit_stream_messages_per_second = 20000;
  double agent_stream_messages_per_second = 1000;
  // Not owned. Set: every reload also reloads the auth policy (the token
  // file), and refuses a config whose auth section does not load.
  Authenticator* auth = nullptr;
  bool tls_client_ca_set = false;  // mTLS is on (certificate roles need it)
  // Not owned; must outlive the engine. Null: the system clock, with timers
  // on the engine's io_context (tests: engine/testing/fake_clock.h).
  Clock* clock = nullptr;
};

enum class LimitedStream : uint8_t { kSubmitStream, kAgentDesk };

// Who a strand task comes from decides how long the backlog may be for it to
// be admitted. Client work is refused at the bound, so a flood sheds instead
// of growing the strand's queue; desktops keep a reserve above it, so agents
// still work through a submit flood.
enum class Admission : uint8_t {
  kInternal,   // the engine's own work (timers, grace logouts, stream teardown): never refused
  kClient,     // gateway and operator calls: refused at max_backlog
  kAgentDesk,  // desktop logins and commands: refused at max_backlog + agent_backlog_reserve
};

struct ReloadResult {
  uint32_t queues = 0;
  std::vector<ContactId> moved;
  std::string fallback_queue;
};

// Called on the strand once a command is applied (or has failed to become
// durable: then `applied.status` is UNAVAILABLE and nothing changed).
using CommandDone = std::function<void(Engine&, const ApplyResult& applied)>;

class Engine {
 public:
  Engine(boost::asio::io_context& io, EngineOptions options);
  ~Engine();

  // Before io.run(): takes the recovered router (or creates one from
  // `start_yaml` when the data directory was empty), opens the journal after
  // the recovered records and, after a restart, records EngineStarted and a
  // config change to `start_yaml` if it differs from the recovered one.
  absl::Status Start(Recovered recovered, std::string start_yaml);

  // ---- any thread ----
  // Runs `fn` on the routing strand, then delivers what it caused. Client
  // work is refused (returns false) when the strand's backlog is at its
  // bound for that kind (Admission), so overload sheds new work instead of
  // growing memory; the engine's own work is never refused.
  bool Post(std::function<void(Engine&)> fn, Admission admission = Admission::kInternal);
  // Whether work of this kind would be admitted now (for callers that hand
  // the work over later; Post/Execute check again).
  bool Admits(Admission admission) const;
  // Journals `cmd` (stamped with the strand's time), applies it once durable
  // and then calls `done`. Same admission rule as Post.
  bool Execute(v1::Command cmd, CommandDone done, Admission admission = Admission::kInternal);
  size_t backlog() const { return backlog_.load(std::memory_order_relaxed); }
  const EngineOptions& options() const { return options_; }
  // Counts a stream message refused for its rate (ccr_rate_limited_messages_total).
  void CountRateLimited(LimitedStream stream);
  size_t max_backlog() const { return options_.max_backlog; }
  bool draining() const { return draining_.load(); }
  // The config that edge validation uses (swapped on reload).
  std::shared_ptr<const RouterConfig> config_snapshot() const;
  // Reloads the config from `yaml` (empty: re-reads the config file, or the
  // embedded default). Reading and validating (the config file, the YAML,
  // the auth section and its token file) run on the engine's reload worker,
  // never on the routing strand; only a config that loaded is posted to the
  // strand, journalled and applied. `done` gets the outcome, on the worker
  // thread when refused before the strand, on the strand otherwise. At most
  // kMaxReloadsInProgress reloads wait at once; more are RESOURCE_EXHAUSTED.
  void Reload(std::string yaml, std::function<void(absl::StatusOr<ReloadResult>)> done);
  static constexpr int kMaxReloadsInProgress = 4;

  // ---- routing strand only ----
  Router& router() {
    CCR_CHECK_ON_THREAD(strand_thread_) << "Engine::router";
    return *router_;
  }
  absl::Time Now() const;
  // The desktop's sink is the agent's now: sends it the Resync (state,
  // open offers, held contacts, what was withdrawn or ended while away).
  // `last_heard_ns` (steady clock, written by the stream on every message it
  // reads) drives the heartbeat check; null: none.
  void AttachAgent(const std::string& agent_id, std::shared_ptr<AgentSink> outbox,
                   std::shared_ptr<const std::atomic<int64_t>> last_heard_ns = nullptr);
  // The desktop's stream ended. A clean goodbye logs the agent out now; a
  // dropped stream gets the disconnect grace first; while draining, neither
  // (the agent keeps its session across the restart).
  void DetachAgent(const std::string& agent_id, const AgentSink* outbox, bool clean);
  bool AgentConnected(const std::string& agent_id) const;
  // Names what changed the agent's state in this strand turn (e.g. a
  // supervisor), for the desktop's StateChanged.reason; the not-ready reason
  // still wins for NOT_READY.
  void NoteAgentStateCause(const std::string& agent_id, std::string cause);
  // Closes the agent's desktop stream (after a supervisor forced a logout).
  void DisconnectAgent(const std::string& agent_id, const absl::Status& status);
  // Replays the events after `after_sequence` (0: from event 1), then
  // follows; absent: only new events. OUT_OF_RANGE naming the oldest event
  // held when `after_sequence` is older; RESOURCE_EXHAUSTED at max_watchers.
  absl::Status Subscribe(std::shared_ptr<EventSink> outbox, std::optional<uint64_t> after_sequence);
  // The gateways' view of their contacts (GetContact, WatchContact).
  const ContactWatches& contact_watches() const { return contact_watches_; }
  // Starts a WatchContact stream (ContactWatches::Watch) and keeps the
  // position re-check running while any stream is open.
  absl::Status WatchContact(const v1::ContactRef& ref, std::shared_ptr<ContactStatusSink> sink);
  // Journals `cmd` and applies it once the log says it is durable (the
  // strand-side Execute).
  void JournalThenApply(v1::Command cmd, CommandDone done);
  // Stops taking submits and logins, closes agent and watch streams.
  // `handover_owner` (cluster mode): this node no longer owns routing, so
  // streams end UNAVAILABLE naming the owner clients should reconnect to
  // (empty: none known yet; any node redirects them), and no snapshot is
  // taken (the log refuses this node now).
  void BeginDrain(std::optional<std::string> handover_owner = std::nullopt);
  uint64_t last_sequence() const { return sequence_; }
  // The windowed service level /metrics exports (nullopt: no metrics, or
  // nothing answered or abandoned in the window), and the window.
  std::optional<double> WindowServiceLevel(const std::string& queue) const;
  absl::Duration service_level_window() const;
  size_t connected_agent_count() const;
  size_t watcher_count() const { return watchers_.size(); }

 private:
  void Deliver();
  void ArmTimer();
  // Re-checks watched contacts every contact_watch.refresh while any is watched.
  void ArmContactRefresh();
  void DeliverToAgent(const Event& e);
  struct EventWatcher;
  // Sends `w` what it has not had yet from the window, up to its outbox's
  // bound (then asks to be called back when there is room). False: ended.
  bool FeedWatcher(const std::shared_ptr<EventWatcher>& w);
  // After DeliverToAgent's events: a StateChanged to each desktop whose
  // agent's state (or not-ready reason) differs from what it was last told.
  void SendStateChanges();
  // Ends a desktop's stream that has been silent past the heartbeat limit
  // (then the disconnect grace runs), or re-arms the check.
  void ArmHeartbeatCheck(const std::string& agent_id);
  // A desktop is gone: logs the agent out unless it reconnects in time.
  void ArmGrace(const std::string& agent_id);
  void Logout(const std::string& agent_id, const std::string& reason);
  void Apply(const v1::Command& cmd, const CommandDone& done);
  // A reload loaded off the strand: the journal command, the config made of
  // its yaml, and the auth policy its auth section loads (when auth is on).
  struct PreparedReload;  // engine.cc
  // Reload worker: reads and validates; touches nothing the strand owns.
  absl::StatusOr<PreparedReload> PrepareReload(std::string yaml) const;
  // Strand: journals and applies a prepared reload.
  void JournalThenApplyReload(PreparedReload reload,
                              std::function<void(absl::StatusOr<ReloadResult>)> done);
  // The config loaded off the strand for an apply_config of `yaml`, if any;
  // replay and a config not loaded that way parse the yaml instead.
  std::shared_ptr<const RouterConfig> TakePreparedConfig(const std::string& yaml);
  void OnBatch(const BatchReport& report);
  void MaybeSnapshot(bool force);
  void ScheduleFlush();
  // Engine gauges and the router's live figures, copied when Prometheus
  // scrapes; the source returned builds their families off the strand.
  metrics::ScrapeSource ScrapeMetrics() const;

  boost::asio::io_context& io_;
  std::unique_ptr<Clock> own_clock_;  // when options.clock is null
  Clock* const clock_;
  std::unique_ptr<Router> router_;
  std::string config_yaml_;  // what router_->config() was loaded from
  EngineOptions options_;
  std::atomic<size_t> backlog_{0};
  std::atomic<bool> draining_{false};
  // Read by the edge on every submit: a StdMutex (base/std_mutex.h).
  mutable StdMutex config_mu_;
  std::shared_ptr<const RouterConfig> config_snapshot_ ABSL_GUARDED_BY(config_mu_);
  // The routing strand's thread, bound by the first task it runs (Start):
  // the strand-only methods check it.
  ThreadChecker strand_thread_;

  // Strand-only state.
  struct AgentConnection {
    std::shared_ptr<AgentSink> outbox;
    std::unique_ptr<ClockTimer> grace;
    absl::flat_hash_map<uint64_t, v1::ServerMessage> outstanding_offers;  // resent on reconnect
    // What the desktop missed while none was connected (bounded, oldest
    // dropped first); sent in the next Resync and then cleared.
    std::deque<v1::OfferWithdrawn> withdrawn_while_away;
    std::deque<v1::ContactEnded> ended_while_away;
    // The state and reason the desktop was last told (Resync or StateChanged).
    v1::AgentState state_sent = v1::AGENT_STATE_UNSPECIFIED;
    std::string reason_sent;
    // What last changed the agent's state in this strand turn (StateChanged.reason).
    std::string state_cause;
    std::shared_ptr<const std::atomic<int64_t>> last_heard_ns;  // steady clock; null: unchecked
    std::unique_ptr<ClockTimer> heartbeat;
  };
  static constexpr size_t kMaxMissedKept = 64;  // per agent, per list
  absl::flat_hash_map<std::string, AgentConnection> agents_;
  // A WatchEvents stream: a cursor into recent_events_, so a watcher far
  // behind (or resuming from far back) costs its cursor, not a copy of the
  // window; its outbox holds at most watcher_outbox_limit events.
  struct EventWatcher {
    std::shared_ptr<EventSink> outbox;
    uint64_t next_sequence = 0;  // the next event it is sent
    bool waiting_for_room = false;
  };
  std::vector<std::shared_ptr<EventWatcher>> watchers_;
  std::vector<std::string> agents_touched_;  // by the events of the current Deliver
  std::deque<v1::LifecycleEvent> recent_events_;
  ContactWatches contact_watches_;
  std::unique_ptr<ClockTimer> contact_refresh_timer_;
  bool contact_refresh_armed_ = false;
  uint64_t sequence_ = 0;
  std::unique_ptr<ClockTimer> timer_;
  absl::Time timer_deadline_ = absl::InfiniteFuture();
  // After a TimersDue the log refused: the timers wait until then, so a
  // failing disk or etcd is not asked again in a loop.
  static constexpr absl::Duration kTimersRetryDelay = absl::Milliseconds(200);
  absl::Time timers_retry_at_ = absl::InfinitePast();

  // Durability (strand-only, but for the journal's own locking).
  std::unique_ptr<CommandLog> journal_;
  struct Awaiting {
    v1::Command cmd;
    CommandDone done;
    absl::Time appended;
  };
  std::deque<Awaiting> awaiting_;  // journalled, not yet durable, in index order
  absl::Time last_stamp_ = absl::InfinitePast();
  uint64_t applied_since_snapshot_ = 0;
  uint64_t last_applied_index_ = 0;
  absl::Time last_snapshot_ = absl::InfinitePast();
  bool snapshot_in_flight_ = false;
  bool flush_scheduled_ = false;
  // Records per fsync batch: bucket i counts batches of [2^i, 2^(i+1)).
  std::array<uint64_t, 16> batch_histogram_{};
  uint64_t batches_ = 0;
  absl::Duration sync_time_ = absl::ZeroDuration();
  absl::Time started_ = absl::Now();
  absl::Time last_snapshot_written_ = absl::InfinitePast();

  // Metrics (all null without a registry). The instruments' own updates are
  // lock-free; these pointers are constant after construction.
  std::unique_ptr<metrics::RouterMetrics> router_metrics_;
  std::vector<metrics::LatencyHistogram*> decision_by_command_;  // by Command oneof field number
  metrics::LatencyHistogram* commit_wait_ = nullptr;
  metrics::LatencyHistogram* fsync_ = nullptr;
  metrics::LatencyHistogram* batch_records_ = nullptr;
  prometheus::Counter* journal_bytes_ = nullptr;
  prometheus::Counter* journal_write_errors_ = nullptr;
  prometheus::Counter* snapshots_ok_ = nullptr;
  prometheus::Counter* snapshots_failed_ = nullptr;
  prometheus::Counter* overload_rejections_ = nullptr;
  std::array<prometheus::Counter*, 2> rate_limited_{};  // by LimitedStream

  // Reloads: configs loaded off the strand, waiting for their apply_config
  // (strand-only; a few at most: a journal failure may leave one behind).
  std::deque<std::pair<std::string, std::shared_ptr<const RouterConfig>>> prepared_configs_;
  std::atomic<int> reloads_in_progress_{0};  // Reload() calls not yet on the strand
  // Last member: destroyed (joined) first, while what its work touches lives.
  boost::asio::thread_pool reload_worker_{1};
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_ENGINE_H_
