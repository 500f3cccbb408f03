#include "engine/engine.h"

#include <bit>
#include <cassert>
#include <chrono>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "boost/asio/post.hpp"
#include "ccrouter/v1/snapshot.pb.h"
#include "codec/config_loader.h"
#include "codec/owner_redirect.h"
#include "codec/wire.h"
#include "engine/auth.h"
#include "engine/journal/snapshot_codec.h"
#include "engine/log.h"
#include "router/router_state.h"

namespace ccr {

// A reload loaded off the strand: the journal command, the config made of
// its yaml, and the auth policy its auth section loads (when auth is on).
struct Engine::PreparedReload {
  v1::Command cmd;
  std::string yaml;  // == cmd.apply_config().config_yaml(), to find the config at apply
  std::shared_ptr<const RouterConfig> config;
  std::optional<AuthPolicy> policy;
  bool auth_open_declared = false;  // `auth: {open: true}`
};

Engine::Engine(boost::asio::io_context& io, EngineOptions options)
    : io_(io),
      own_clock_(options.clock != nullptr ? nullptr : NewSystemClock(io)),
      clock_(options.clock != nullptr ? options.clock : own_clock_.get()),
      options_(std::move(options)),
      contact_watches_(options_.contact_watch, [this](std::function<void()> fn) {
        Post([fn = std::move(fn)](Engine&) { fn(); });
      }) {
  started_ = clock_->Now();
  metrics::MetricsRegistry* registry = options_.metrics;
  if (registry == nullptr) return;
  router_metrics_ = std::make_unique<metrics::RouterMetrics>(*registry);
  // One decision histogram per command kind, labelled by its field name.
  metrics::HistogramFamily& decisions =
      registry->Histograms(metrics::kRoutingDecision, metrics::MicrosecondBuckets());
  const google::protobuf::OneofDescriptor* kind =
      v1::Command::descriptor()->FindOneofByName("kind");
  for (int i = 0; i < kind->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = kind->field(i);
    if (decision_by_command_.size() <= static_cast<size_t>(f->number())) {
      decision_by_command_.resize(f->number() + 1, nullptr);
    }
    decision_by_command_[f->number()] = &decisions.Add({f->name()});
  }
  commit_wait_ =
      &registry->Histograms(metrics::kJournalCommitWait, metrics::MillisecondBuckets()).Add({});
  fsync_ = &registry->Histograms(metrics::kJournalFsync, metrics::MillisecondBuckets()).Add({});
  batch_records_ =
      &registry->Histograms(metrics::kJournalBatchRecords, metrics::CountBuckets()).Add({});
  journal_bytes_ = &registry->Counter(metrics::kJournalBytes);
  journal_write_errors_ = &registry->Counter(metrics::kJournalWriteErrors);
  snapshots_ok_ = &registry->Counter(metrics::kSnapshots, {"ok"});
  snapshots_failed_ = &registry->Counter(metrics::kSnapshots, {"error"});
  overload_rejections_ = &registry->Counter(metrics::kRejectedOverload);
  rate_limited_[static_cast<int>(LimitedStream::kSubmitStream)] =
      &registry->Counter(metrics::kRateLimited, {"submit_stream"});
  rate_limited_[static_cast<int>(LimitedStream::kAgentDesk)] =
      &registry->Counter(metrics::kRateLimited, {"agent_desk"});
  registry->AddStrandScrapeSource([this] { return ScrapeMetrics(); });
}

Engine::~Engine() = default;

absl::Time Engine::Now() const { return clock_->Now(); }

std::shared_ptr<const RouterConfig> Engine::config_snapshot() const {
  StdMutexLock lock(&config_mu_);
  return config_snapshot_;
}

absl::Status Engine::Start(Recovered recovered, std::string start_yaml) {
  const bool restarted = recovered.router != nullptr;
  if (restarted) {
    router_ = std::move(recovered.router);
    config_yaml_ = std::move(recovered.config_yaml);
  } else {
    CCR_ASSIGN_OR_RETURN(RouterConfig config, LoadRouterConfig(start_yaml));
    CCR_ASSIGN_OR_RETURN(router_, Router::Create(std::move(config)));
    config_yaml_ = start_yaml;
  }
  {
    StdMutexLock lock(&config_mu_);
    config_snapshot_ = std::make_shared<RouterConfig>(router_->config());
  }
  // Whichever thread runs the io_context from now on is the strand.
  boost::asio::post(io_, [this] { strand_thread_.BindToCurrentThread(); });
  sequence_ = router_->events_emitted();  // recovered: numbering goes on from there
  // A cluster standby's window: a watcher resumes across the takeover.
  recent_events_ = std::move(recovered.recent_events);
  while (recent_events_.size() > options_.event_window) recent_events_.pop_front();
  CCR_CHECK(recent_events_.empty() || recent_events_.back().sequence() <= sequence_)
      << "kept event " << recent_events_.back().sequence() << " after the router's " << sequence_;
  if (router_metrics_) {
    // Only now: the history recovery replayed is not counted again.
    router_metrics_->Configure(router_->config());
    router_->SetObserver(router_metrics_.get());
  }
  CommandLogFactory open_log = options_.command_log;
  if (!open_log && !options_.journal.dir.empty()) {
    open_log =
        [options = options_.journal](
            uint64_t next_index, std::optional<uint64_t> recovered_snapshot,
            CommandLog::BatchCallback on_batch) -> absl::StatusOr<std::unique_ptr<CommandLog>> {
      JournalOptions journal_options = options;
      journal_options.recovered_snapshot = recovered_snapshot;
      CCR_ASSIGN_OR_RETURN(std::unique_ptr<Journal> journal,
                           Journal::Open(journal_options, next_index, std::move(on_batch)));
      return std::unique_ptr<CommandLog>(std::move(journal));
    };
  }
  if (open_log) {
    std::optional<uint64_t> recovered_snapshot;
    if (!recovered.report.snapshot_file.empty()) {
      recovered_snapshot = recovered.report.snapshot_index;
    }
    CCR_ASSIGN_OR_RETURN(
        journal_,
        open_log(recovered.next_index, recovered_snapshot, [this](const BatchReport& report) {
          boost::asio::post(io_, [this, report] { OnBatch(report); });
        }));
    if (!restarted) {
      // Genesis: the config the router was created from, so a replay from
      // the first record builds the same router.
      v1::Command genesis;
      ToTimestamp(Now(), genesis.mutable_time());
      genesis.mutable_apply_config()->set_config_yaml(config_yaml_);
      journal_->Append(genesis);
      journal_->Flush();
    }
  }
  if (!restarted) return absl::OkStatus();

  v1::Command started;
  started.mutable_engine_started();
  Execute(std::move(started), [](Engine& e, const ApplyResult&) {
    // Desktops lost their streams with the old process: they get the
    // disconnect grace to come back before their agents are logged out.
    for (const AgentView& a : e.router_->Agents(e.Now())) {
      if (a.status != AgentStatus::kOffline && !e.AgentConnected(a.agent_id)) {
        e.ArmGrace(a.agent_id);
      }
    }
  });
  if (start_yaml != config_yaml_) {
    // Loaded here, before the strand runs, so applying it there does not
    // parse it again.
    if (absl::StatusOr<RouterConfig> config = LoadRouterConfig(start_yaml); config.ok()) {
      prepared_configs_.emplace_back(start_yaml,
                                     std::make_shared<const RouterConfig>(std::move(*config)));
    }
    v1::Command reconfigure;
    reconfigure.mutable_apply_config()->set_config_yaml(start_yaml);
    Execute(std::move(reconfigure), [](Engine&, const ApplyResult& a) {
      LogEvent(a.status.ok() ? LogLevel::kInfo : LogLevel::kError, "start_config_applied",
               {{"moved_contacts", absl::StrCat(a.moved.size())},
                {"error", std::string(a.status.message())}});
    });
  }
  return absl::OkStatus();
}

namespace {
size_t BacklogBound(const EngineOptions& options, Admission admission) {
  switch (admission) {
    case Admission::kInternal:
      return std::numeric_limits<size_t>::max();
    case Admission::kClient:
      return options.max_backlog;
    case Admission::kAgentDesk:
      return options.max_backlog + options.agent_backlog_reserve;
  }
  return options.max_backlog;
}
}  // namespace

bool Engine::Admits(Admission admission) const {
  return backlog() < BacklogBound(options_, admission);
}

bool Engine::Post(std::function<void(Engine&)> fn, Admission admission) {
  const size_t before = backlog_.fetch_add(1, std::memory_order_relaxed);
  if (before >= BacklogBound(options_, admission)) {
    backlog_.fetch_sub(1, std::memory_order_relaxed);
    if (overload_rejections_) overload_rejections_->Increment();
    return false;
  }
  boost::asio::post(io_, [this, fn = std::move(fn)] {
    backlog_.fetch_sub(1, std::memory_order_relaxed);
    fn(*this);
    Deliver();
    ScheduleFlush();
  });
  return true;
}

void Engine::ScheduleFlush() {
  // Behind the handlers already queued on the strand, so what they journal
  // joins the same batch: fewer, larger batches and fewer thread hand-offs.
  if (!journal_ || flush_scheduled_) return;
  flush_scheduled_ = true;
  boost::asio::post(io_, [this] {
    flush_scheduled_ = false;
    journal_->Flush();
  });
}

bool Engine::Execute(v1::Command cmd, CommandDone done, Admission admission) {
  return Post([cmd = std::move(cmd), done = std::move(done)](
                  Engine& e) mutable { e.JournalThenApply(std::move(cmd), std::move(done)); },
              admission);
}

void Engine::JournalThenApply(v1::Command cmd, CommandDone done) {
  CCR_CHECK_ON_THREAD(strand_thread_) << "Engine::JournalThenApply";
  // Never older than what the router has seen: replay must see the same time.
  const absl::Time now = std::max({Now(), last_stamp_, router_->now()});
  last_stamp_ = now;
  ToTimestamp(now, cmd.mutable_time());
  if (!journal_) {
    Apply(cmd, done);
    return;
  }
  journal_->Append(cmd);
  backlog_.fetch_add(1, std::memory_order_relaxed);  // admission counts what awaits the disk
  awaiting_.push_back({std::move(cmd), std::move(done), now});
}

void Engine::Apply(const v1::Command& cmd, const CommandDone& done) {
  CCR_CHECK_ON_THREAD(strand_thread_) << "Engine::Apply";
  const auto start = std::chrono::steady_clock::now();
  std::shared_ptr<const RouterConfig> prepared;
  if (cmd.kind_case() == v1::Command::kApplyConfig) {
    prepared = TakePreparedConfig(cmd.apply_config().config_yaml());
  }
  const ApplyResult applied = ApplyCommand(*router_, cmd, prepared.get());
  const size_t kind = cmd.kind_case();
  if (kind < decision_by_command_.size() && decision_by_command_[kind] != nullptr) {
    decision_by_command_[kind]->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  last_applied_index_ = cmd.index();
  ++applied_since_snapshot_;
  if (cmd.kind_case() == v1::Command::kApplyConfig && applied.status.ok()) {
    config_yaml_ = cmd.apply_config().config_yaml();
    if (router_metrics_) router_metrics_->Configure(router_->config());
    StdMutexLock lock(&config_mu_);
    config_snapshot_ = std::make_shared<RouterConfig>(router_->config());
  }
  if (done) done(*this, applied);
}

void Engine::OnBatch(const BatchReport& report) {
  if (report.status.ok()) {
    const uint64_t records = report.last - report.first + 1;
    ++batch_histogram_[std::min<size_t>(std::bit_width(records) - 1, batch_histogram_.size() - 1)];
    ++batches_;
    sync_time_ += report.sync;
    const absl::Time durable = Now();
    if (fsync_) {
      fsync_->Observe(absl::ToDoubleSeconds(report.sync));
      batch_records_->Observe(static_cast<double>(records));
      journal_bytes_->Increment(static_cast<double>(report.bytes));
    }
    while (!awaiting_.empty() && awaiting_.front().cmd.index() <= report.last) {
      Awaiting a = std::move(awaiting_.front());
      awaiting_.pop_front();
      backlog_.fetch_sub(1, std::memory_order_relaxed);
      if (commit_wait_) commit_wait_->Observe(absl::ToDoubleSeconds(durable - a.appended));
      Apply(a.cmd, a.done);
    }
    Deliver();
    MaybeSnapshot(/*force=*/false);
    ScheduleFlush();  // what the callbacks recorded
    return;
  }
  // Nothing in the batch is durable, and what was appended after it is
  // dropped with it: all of it is refused, none of it applied.
  LogAlways("journal_write_failed",
            {{"error", std::string(report.status.message())},
             {"first", absl::StrCat(report.first)},
             {"refused", absl::StrCat(awaiting_.size())}},
            LogLevel::kError);
  if (journal_write_errors_) journal_write_errors_->Increment();
  journal_->DiscardUnwritten();
  std::deque<Awaiting> refused;
  refused.swap(awaiting_);
  backlog_.fetch_sub(refused.size(), std::memory_order_relaxed);
  ApplyResult failed;
  failed.status = absl::UnavailableError(absl::StrCat(
      "journal: ", report.status.message(), "; the command was not accepted, retry later"));
  for (const Awaiting& a : refused) {
    if (a.done) a.done(*this, failed);
  }
  Deliver();
  ScheduleFlush();
}

void Engine::MaybeSnapshot(bool force) {
  if (!journal_ || snapshot_in_flight_ || applied_since_snapshot_ == 0) return;
  const absl::Time now = Now();
  if (!force && applied_since_snapshot_ < options_.snapshot_every_commands &&
      now - last_snapshot_ < options_.snapshot_interval) {
    return;
  }
  if (last_snapshot_ == absl::InfinitePast() && !force &&
      applied_since_snapshot_ < options_.snapshot_every_commands) {
    last_snapshot_ = now;  // the interval counts from start-up
    return;
  }
  auto state = std::make_shared<RouterState>(router_->Save());
  const uint64_t index = last_applied_index_;
  snapshot_in_flight_ = true;
  applied_since_snapshot_ = 0;
  last_snapshot_ = now;
  journal_->WriteSnapshot(
      SnapshotSource{index, now, config_yaml_, std::move(state)}, [this, index](absl::Status s) {
        boost::asio::post(io_, [this, index, s] {
          snapshot_in_flight_ = false;
          if (s.ok()) last_snapshot_written_ = Now();
          if (snapshots_ok_) (s.ok() ? snapshots_ok_ : snapshots_failed_)->Increment();
          LogEvent(s.ok() ? LogLevel::kInfo : LogLevel::kError, "snapshot_written",
                   {{"last_index", absl::StrCat(index)}, {"error", std::string(s.message())}});
        });
      });
}

namespace {
// An event's reason as a log line may show it. Cancel and reject reasons,
// not-ready reasons and supervisor notes come from clients and are personal
// data: masked, unless they are one of the engine's own words.
std::string LoggableReason(const Event& e) {
  switch (e.kind) {
    case EventKind::kCancelled:
    case EventKind::kOfferRejected:
    case EventKind::kOfferWithdrawn:
    case EventKind::kAgentState:
      break;
    default:
      return e.reason;
  }
  static constexpr absl::string_view kEngineWords[] = {
      "cancelled", "abandoned",        "agent_logged_out",     "missed_offers",
      "login",     "forced rest",      "logged_out",           "disconnected",
      "timeout",   "engine restarted", "cancelled by gateway", "supervisor"};
  for (absl::string_view word : kEngineWords) {
    if (e.reason == word) return e.reason;
  }
  return MaskFreeText(e.reason);
}
}  // namespace

void Engine::Deliver() {
  CCR_CHECK_ON_THREAD(strand_thread_) << "Engine::Deliver";
  std::vector<Event> events = router_->TakeEvents();
  for (const Event& e : events) {
    v1::LifecycleEvent wire;
    // The router numbers events over its whole history (replay included),
    // so a sequence number means the same event before and after a restart.
    CCR_CHECK(e.sequence > sequence_) << "event " << e.sequence << " after " << sequence_;
    sequence_ = e.sequence;
    EventToWire(e, sequence_, &wire);
    DeliverToAgent(e);
    contact_watches_.Observe(*router_, e);
    if (LogEnabled(LogLevel::kInfo)) {
      LogEvent(LogLevel::kInfo, EventKindName(e.kind),
               {{"seq", absl::StrCat(sequence_)},
                {"contact", e.contact ? ContactIdString(e.contact) : ""},
                {"agent", e.agent_id},
                {"queue", e.queue},
                {"tier", e.contact ? TierName(e.tier) : ""},
                {"wait_s", absl::StrCat(absl::ToDoubleSeconds(e.wait))},
                {"reason", LoggableReason(e)}});
    }
    recent_events_.push_back(std::move(wire));
    if (recent_events_.size() > options_.event_window) recent_events_.pop_front();
  }
  if (!events.empty()) {
    // Watchers read from the window: those keeping up get the new events
    // now; one waiting for room is checked only for having fallen out of it.
    const uint64_t oldest =
        recent_events_.empty() ? sequence_ + 1 : recent_events_.front().sequence();
    for (size_t i = 0; i < watchers_.size();) {
      const std::shared_ptr<EventWatcher>& w = watchers_[i];
      const bool alive =
          w->waiting_for_room && w->next_sequence >= oldest ? !w->outbox->closed() : FeedWatcher(w);
      if (alive) {
        ++i;
      } else {
        watchers_[i] = std::move(watchers_.back());
        watchers_.pop_back();
      }
    }
  }
  SendStateChanges();
  contact_watches_.SendChanged(*router_);
  ArmTimer();
}

absl::Status Engine::WatchContact(const v1::ContactRef& ref,
                                  std::shared_ptr<ContactStatusSink> sink) {
  CCR_CHECK_ON_THREAD(strand_thread_) << "Engine::WatchContact";
  absl::Status s = contact_watches_.Watch(*router_, ref, std::move(sink));
  if (s.ok()) ArmContactRefresh();
  return s;
}

void Engine::ArmContactRefresh() {
  if (contact_refresh_armed_ || contact_watches_.watch_count() == 0 || draining()) return;
  contact_refresh_armed_ = true;
  contact_refresh_timer_ = clock_->RunAfter(options_.contact_watch.refresh, [this] {
    contact_refresh_armed_ = false;
    contact_watches_.RefreshAll(*router_);
    ArmContactRefresh();
  });
}

bool Engine::FeedWatcher(const std::shared_ptr<EventWatcher>& w) {
  w->waiting_for_room = false;
  const uint64_t oldest =
      recent_events_.empty() ? sequence_ + 1 : recent_events_.front().sequence();
  while (w->next_sequence <= sequence_) {
    if (w->next_sequence < oldest) {
      w->outbox->Close(absl::ResourceExhaustedError(absl::StrCat(
          "watch fell behind the event window (", options_.event_window,
          " events): the oldest still held is ", oldest, "; resume with after_sequence >= ",
          oldest - 1, " or read the earlier ones from the journal export")));
      return false;
    }
    switch (w->outbox->TryWrite(recent_events_[w->next_sequence - oldest])) {
      case EventSink::WriteResult::kClosed:
        return false;
      case EventSink::WriteResult::kQueued:
        ++w->next_sequence;
        continue;
      case EventSink::WriteResult::kFull: {
        std::weak_ptr<EventWatcher> weak = w;
        w->waiting_for_room = true;
        const bool armed = w->outbox->NotifyWhenRoom([this, weak] {
          Post([weak](Engine& e) {
            std::shared_ptr<EventWatcher> watcher = weak.lock();
            if (watcher == nullptr || !watcher->waiting_for_room) return;
            if (!e.FeedWatcher(watcher)) std::erase(e.watchers_, watcher);
          });
        });
        if (armed) return true;
        w->waiting_for_room = false;  // room freed meanwhile: go on
        continue;
      }
    }
  }
  return true;
}

namespace {

// What an event for an agent would have changed its state by; empty: nothing.
std::string StateCause(const Event& e) {
  switch (e.kind) {
    case EventKind::kOffered:
      return "offer_received";
    case EventKind::kAssigned:
      return "offer_accepted";
    case EventKind::kCompleted:
      return "wrap_up_started";
    case EventKind::kWrapUpDone:
      return WrapUpEndReason(e);
    case EventKind::kOfferRejected:
      return "offer_rejected";
    case EventKind::kOfferTimedOut:
      return "offer_timed_out";
    case EventKind::kOfferWithdrawn:
      return "offer_withdrawn";
    case EventKind::kCancelled:
      return "contact_cancelled";
    case EventKind::kTransferred:
      return "contact_transferred";
    case EventKind::kAgentState:
      return e.reason.empty() ? "set_state" : e.reason;
    default:
      return "";
  }
}

template <typename T>
void KeepBounded(std::deque<T>& kept, T item, size_t bound) {
  kept.push_back(std::move(item));
  while (kept.size() > bound) kept.pop_front();
}

}  // namespace

void Engine::DeliverToAgent(const Event& e) {
  if (e.agent_id.empty()) return;
  auto it = agents_.find(e.agent_id);
  if (it != agents_.end() && it->second.outbox) {
    agents_touched_.push_back(e.agent_id);
    // A bare kAgentState follows the event that moved the agent (Complete's
    // wrap-up, a rest); that event names the cause.
    const bool bare = e.kind == EventKind::kAgentState && e.reason.empty();
    if (std::string cause = StateCause(e);
        !cause.empty() && !(bare && !it->second.state_cause.empty())) {
      it->second.state_cause = std::move(cause);
    }
  }
  switch (e.kind) {
    case EventKind::kOffered: {
      absl::StatusOr<ContactView> contact = router_->GetContact(e.contact, e.time);
      if (!contact.ok()) return;
      v1::ServerMessage msg;
      OfferToWire(e, *contact, msg.mutable_offer());
      AgentConnection& conn = agents_[e.agent_id];
      conn.outstanding_offers[e.offer_id] = msg;
      if (conn.outbox) conn.outbox->Send(std::move(msg));
      return;
    }
    case EventKind::kOfferWithdrawn:
    case EventKind::kOfferTimedOut: {
      // Kept for the next Resync when no desktop hears it (after a crash the
      // engine withdraws offers before any desktop is back).
      AgentConnection& conn = agents_[e.agent_id];
      v1::ServerMessage msg;
      v1::OfferWithdrawn* w = msg.mutable_offer_withdrawn();
      w->set_offer_id(OfferIdString(e.offer_id));
      w->set_contact_id(ContactIdString(e.contact));
      w->set_reason(e.kind == EventKind::kOfferTimedOut ? "timeout" : e.reason);
      conn.outstanding_offers.erase(e.offer_id);
      v1::OfferWithdrawn kept = *w;
      if (!conn.outbox || !conn.outbox->Send(std::move(msg))) {
        KeepBounded(conn.withdrawn_while_away, std::move(kept), kMaxMissedKept);
      }
      return;
    }
    case EventKind::kOfferRejected:
    case EventKind::kAssigned:
      if (it != agents_.end()) it->second.outstanding_offers.erase(e.offer_id);
      return;
    case EventKind::kUpdated:
    case EventKind::kEscalated: {
      if (it == agents_.end()) return;
      absl::StatusOr<ContactView> contact = router_->GetContact(e.contact, e.time);
      if (!contact.ok()) return;
      v1::Offer rendered;
      OfferToWire(e, *contact, &rendered);  // the same rendering of the contact
      v1::ServerMessage msg;
      v1::ContactUpdated* u = msg.mutable_contact_updated();
      u->set_contact_id(rendered.contact_id());
      u->set_tier(rendered.tier());
      *u->mutable_signals() = rendered.signals();
      u->set_urgency(rendered.urgency());
      u->set_reason(e.kind == EventKind::kEscalated ? absl::StrCat("escalated: ", e.reason)
                                                    : "signals_updated");
      // An open offer shows the contact as it is now in a later Resync.
      if (auto offer = it->second.outstanding_offers.find(e.offer_id);
          e.offer_id != 0 && offer != it->second.outstanding_offers.end()) {
        v1::Offer* o = offer->second.mutable_offer();
        o->set_tier(rendered.tier());
        *o->mutable_signals() = rendered.signals();
        o->set_urgency(rendered.urgency());
      }
      if (it->second.outbox) it->second.outbox->Send(std::move(msg));
      return;
    }
    case EventKind::kWrapUpDone:
    case EventKind::kCancelled:
    case EventKind::kAbandoned:
    case EventKind::kExpired:
    case EventKind::kTransferred: {
      // The router names the agent on these only when it held the contact.
      std::optional<v1::ContactEnded> ended = ContactEndedFor(e);
      if (!ended) return;
      AgentConnection& conn = agents_[e.agent_id];
      v1::ServerMessage msg;
      *msg.mutable_contact_ended() = *ended;
      if (!conn.outbox || !conn.outbox->Send(std::move(msg))) {
        KeepBounded(conn.ended_while_away, std::move(*ended), kMaxMissedKept);
      }
      return;
    }
    default:
      return;
  }
}

void Engine::SendStateChanges() {
  std::vector<std::string> touched;
  touched.swap(agents_touched_);
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (const std::string& agent_id : touched) {
    auto it = agents_.find(agent_id);
    if (it == agents_.end()) continue;
    AgentConnection& conn = it->second;
    std::string cause = std::move(conn.state_cause);
    conn.state_cause.clear();
    if (!conn.outbox) continue;
    absl::StatusOr<AgentView> view = router_->GetAgent(agent_id, Now());
    const v1::AgentState state =
        view.ok() ? AgentStatusToWire(view->status) : v1::AGENT_STATE_OFFLINE;
    // NOT_READY, OFFLINE (the logout reason) and RESTING show why the agent
    // is out; the other states say what moved it there.
    const bool out = state == v1::AGENT_STATE_NOT_READY || state == v1::AGENT_STATE_OFFLINE ||
                     state == v1::AGENT_STATE_RESTING;
    const std::string standing_reason =
        !out || !view.ok() ? "" : (state == v1::AGENT_STATE_RESTING ? "forced rest" : view->reason);
    if (state == conn.state_sent && standing_reason == conn.reason_sent) continue;
    conn.state_sent = state;
    conn.reason_sent = standing_reason;
    v1::ServerMessage msg;
    msg.mutable_state_changed()->set_state(state);
    msg.mutable_state_changed()->set_reason(out ? standing_reason : cause);
    conn.outbox->Send(std::move(msg));
  }
}

void Engine::ArmTimer() {
  std::optional<absl::Time> next = router_->NextDeadline();
  const absl::Time deadline = next.value_or(absl::InfiniteFuture());
  if (deadline == timer_deadline_) return;
  timer_deadline_ = deadline;
  if (!next) {
    timer_.reset();
    return;
  }
  const absl::Duration in =
      std::max({absl::ZeroDuration(), deadline - Now(), timers_retry_at_ - Now()});
  // Whole milliseconds, one past the deadline: the router's deadline has
  // surely passed when the timer fires.
  const absl::Duration wait = absl::Trunc(in, absl::Milliseconds(1)) + absl::Milliseconds(1);
  timer_ = clock_->RunAfter(wait, [this, deadline] {
    if (deadline != timer_deadline_) return;  // re-armed meanwhile
    timer_deadline_ = absl::InfiniteFuture();
    // Every command runs the timers due before it. With one awaiting the
    // disk, that one will: the timer is re-armed when it is applied.
    if (!awaiting_.empty()) return;
    // None: the timers run through the log (TimersDue), so what they do is
    // told only once durable, and replay re-creates it exactly. A failed
    // write (disk, no etcd quorum, deposed) is retried after a pause, not in
    // a loop.
    v1::Command due;
    due.mutable_timers_due();
    JournalThenApply(std::move(due), [](Engine& e, const ApplyResult& applied) {
      if (!applied.status.ok()) e.timers_retry_at_ = e.Now() + kTimersRetryDelay;
    });
    if (!journal_) Deliver();  // applied already: tell it, and re-arm
    ScheduleFlush();
  });
}

void Engine::AttachAgent(const std::string& agent_id, std::shared_ptr<AgentSink> outbox,
                         std::shared_ptr<const std::atomic<int64_t>> last_heard_ns) {
  CCR_CHECK_ON_THREAD(strand_thread_) << "Engine::AttachAgent";
  if (draining_.load()) {
    // A login that raced the drain: the session stays for after the restart.
    outbox->Close(absl::UnavailableError("server shutting down"));
    return;
  }
  // Events still pending from earlier commands first, so the Resync below is
  // the whole truth and nothing older follows it.
  Deliver();
  AgentConnection& conn = agents_[agent_id];
  if (conn.outbox && conn.outbox != outbox) {
    conn.outbox->Close(absl::AbortedError("replaced by a newer connection of the same agent"));
  }
  conn.outbox = std::move(outbox);
  conn.grace.reset();
  v1::ServerMessage msg;
  v1::Resync* resync = msg.mutable_resync();
  for (v1::OfferWithdrawn& w : conn.withdrawn_while_away) *resync->add_withdrawn() = std::move(w);
  for (v1::ContactEnded& c : conn.ended_while_away) *resync->add_ended() = std::move(c);
  conn.withdrawn_while_away.clear();
  conn.ended_while_away.clear();
  // Offers made while the desktop was away are still waiting for an answer.
  for (const auto& [offer_id, offer] : conn.outstanding_offers) {
    *resync->add_offers() = offer.offer();
  }
  std::sort(resync->mutable_offers()->begin(), resync->mutable_offers()->end(),
            [](const v1::Offer& a, const v1::Offer& b) {
              return ParseOfferId(a.offer_id()) < ParseOfferId(b.offer_id());
            });
  const absl::Time now = Now();
  absl::StatusOr<AgentView> view = router_->GetAgent(agent_id, now);
  if (view.ok()) {
    resync->set_state(AgentStatusToWire(view->status));
    if (view->status == AgentStatus::kNotReady || view->status == AgentStatus::kOffline) {
      resync->set_reason(view->reason);
    } else if (view->status == AgentStatus::kResting) {
      resync->set_reason("forced rest");
    }
    for (ContactId id : view->contacts) {
      absl::StatusOr<ContactView> c = router_->GetContact(id, now);
      if (!c.ok() || (c->state != ContactState::kConnected && c->state != ContactState::kWrapUp)) {
        continue;
      }
      HeldContactToWire(*c, resync->add_contacts());
    }
  } else {
    resync->set_state(v1::AGENT_STATE_OFFLINE);
  }
  conn.state_sent = resync->state();
  conn.reason_sent = resync->reason();
  conn.state_cause.clear();
  conn.outbox->Send(std::move(msg));
  conn.last_heard_ns = std::move(last_heard_ns);
  ArmHeartbeatCheck(agent_id);
}

void Engine::DetachAgent(const std::string& agent_id, const AgentSink* outbox, bool clean) {
  CCR_CHECK_ON_THREAD(strand_thread_) << "Engine::DetachAgent";
  auto it = agents_.find(agent_id);
  if (it == agents_.end() || it->second.outbox.get() != outbox) return;  // replaced already
  it->second.outbox.reset();
  it->second.heartbeat.reset();
  // A drain ends every stream; the sessions are kept for after the restart,
  // whose Start gives every logged-in agent the grace to come back.
  if (draining_.load()) return;
  if (clean) {
    Logout(agent_id, "logged_out");
    return;
  }
  LogEvent(LogLevel::kWarn, "agent_stream_lost",
           {{"agent", agent_id},
            {"grace_s", absl::StrCat(absl::ToDoubleSeconds(options_.disconnect_grace))}});
  ArmGrace(agent_id);
}

void Engine::ArmHeartbeatCheck(const std::string& agent_id) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end() || !it->second.outbox || !it->second.last_heard_ns) return;
  AgentConnection& conn = it->second;
  const std::chrono::nanoseconds limit = absl::ToChronoNanoseconds(
      options_.heartbeat_interval * static_cast<int64_t>(options_.heartbeat_missed_limit));
  const std::chrono::steady_clock::time_point heard{
      std::chrono::nanoseconds(conn.last_heard_ns->load(std::memory_order_relaxed))};
  // `heard` is on the steady clock the stream stamps it with; the wait is
  // the Clock's. Replacing the timer cancels the wait armed before.
  const std::chrono::nanoseconds wait = heard + limit - std::chrono::steady_clock::now();
  conn.heartbeat = clock_->RunAfter(
      absl::FromChrono(wait), [this, agent_id, identity = conn.outbox.get(), limit] {
        if (draining_.load()) return;
        auto it = agents_.find(agent_id);
        if (it == agents_.end() || it->second.outbox.get() != identity) return;
        AgentConnection& conn = it->second;
        const std::chrono::steady_clock::time_point heard{
            std::chrono::nanoseconds(conn.last_heard_ns->load(std::memory_order_relaxed))};
        if (std::chrono::steady_clock::now() - heard < limit) {
          ArmHeartbeatCheck(agent_id);  // heard from since: wait from then
          return;
        }
        const double interval_s = absl::ToDoubleSeconds(options_.heartbeat_interval);
        LogEvent(LogLevel::kWarn, "agent_heartbeat_missed",
                 {{"agent", agent_id},
                  {"silent_s", absl::StrCat(interval_s * options_.heartbeat_missed_limit)},
                  {"grace_s", absl::StrCat(absl::ToDoubleSeconds(options_.disconnect_grace))}});
        // As a dropped stream: the desktop may come back within the grace.
        // Its reactor's later DetachAgent finds the outbox gone and does nothing.
        conn.outbox->Close(absl::UnavailableError(absl::StrCat(
            "heartbeat: nothing received for ", options_.heartbeat_missed_limit, " intervals of ",
            interval_s, " s; reconnect within ", absl::ToDoubleSeconds(options_.disconnect_grace),
            " s to keep this agent's contacts")));
        conn.outbox.reset();
        ArmGrace(agent_id);
      });
}

void Engine::ArmGrace(const std::string& agent_id) {
  if (draining_.load()) return;  // kept for after the restart
  std::unique_ptr<ClockTimer> timer = clock_->RunAfter(
      absl::Trunc(options_.disconnect_grace, absl::Milliseconds(1)), [this, agent_id] {
        if (draining_.load()) return;
        auto it = agents_.find(agent_id);
        if (it == agents_.end() || it->second.outbox) return;  // reconnected
        it->second.grace.reset();
        Logout(agent_id, "disconnected");
        Deliver();
        ScheduleFlush();
      });
  agents_[agent_id].grace = std::move(timer);
}

void Engine::Logout(const std::string& agent_id, const std::string& reason) {
  v1::Command cmd;
  cmd.set_agent_id(agent_id);
  cmd.mutable_logout()->set_agent_id(agent_id);
  cmd.mutable_logout()->set_reason(reason);
  JournalThenApply(std::move(cmd), nullptr);
}

void Engine::NoteAgentStateCause(const std::string& agent_id, std::string cause) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end() || !it->second.outbox) return;
  it->second.state_cause = std::move(cause);
  agents_touched_.push_back(agent_id);
}

bool Engine::AgentConnected(const std::string& agent_id) const {
  auto it = agents_.find(agent_id);
  return it != agents_.end() && it->second.outbox != nullptr;
}

size_t Engine::connected_agent_count() const {
  size_t n = 0;
  for (const auto& [id, conn] : agents_) n += conn.outbox != nullptr;
  return n;
}

void Engine::DisconnectAgent(const std::string& agent_id, const absl::Status& status) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end() || !it->second.outbox) return;
  it->second.outbox->Close(status);
  it->second.outbox.reset();  // its later DetachAgent finds nothing to do
  it->second.heartbeat.reset();
}

absl::Status Engine::Subscribe(std::shared_ptr<EventSink> outbox,
                               std::optional<uint64_t> after_sequence) {
  CCR_CHECK_ON_THREAD(strand_thread_) << "Engine::Subscribe";
  std::erase_if(watchers_, [](const auto& w) { return w->outbox->closed(); });
  if (watchers_.size() >= options_.max_watchers) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "WatchEvents: ", watchers_.size(),
        " streams are open, the limit (config.limits.max_watch_streams = ", options_.max_watchers,
        "); close one or retry later"));
  }
  if (after_sequence) {
    const uint64_t oldest =
        recent_events_.empty() ? sequence_ + 1 : recent_events_.front().sequence();
    if (*after_sequence > sequence_) {
      return absl::OutOfRangeError(absl::StrCat("after_sequence: ", *after_sequence,
                                                " is ahead of the newest event ", sequence_));
    }
    if (*after_sequence + 1 < oldest) {
      return absl::OutOfRangeError(absl::StrCat("after_sequence: events before ", oldest,
                                                " have left the in-memory window; resume from ",
                                                oldest - 1, " or read the journal export"));
    }
  }
  auto watcher = std::make_shared<EventWatcher>();
  watcher->outbox = std::move(outbox);
  watcher->next_sequence = after_sequence ? *after_sequence + 1 : sequence_ + 1;
  if (FeedWatcher(watcher)) watchers_.push_back(std::move(watcher));
  return absl::OkStatus();
}

void Engine::Reload(std::string yaml, std::function<void(absl::StatusOr<ReloadResult>)> done) {
  // Each waiting reload holds up to 1 MiB of YAML and its loaded config.
  if (reloads_in_progress_.fetch_add(1) >= kMaxReloadsInProgress) {
    reloads_in_progress_.fetch_sub(1);
    return done(absl::ResourceExhaustedError(
        absl::StrCat("reload: ", kMaxReloadsInProgress,
                     " reloads are already in progress; retry when they have finished")));
  }
  // Off the strand: reading a file and parsing YAML take time that input
  // decides (bounded, but not to the few microseconds a strand turn has).
  boost::asio::post(reload_worker_, [this, yaml = std::move(yaml), done = std::move(done)]() {
    absl::StatusOr<PreparedReload> prepared = PrepareReload(std::move(yaml));
    if (!prepared.ok()) {
      reloads_in_progress_.fetch_sub(1);
      return done(prepared.status());
    }
    auto reload = std::make_shared<PreparedReload>(std::move(*prepared));
    const bool posted = Post(
        [reload, done](Engine& e) {
          e.reloads_in_progress_.fetch_sub(1);
          e.JournalThenApplyReload(std::move(*reload), done);
        },
        Admission::kClient);
    if (!posted) {
      reloads_in_progress_.fetch_sub(1);
      done(absl::ResourceExhaustedError(
          "reload: the routing strand's backlog is full; the config was not applied, retry later"));
    }
  });
}

absl::StatusOr<Engine::PreparedReload> Engine::PrepareReload(std::string yaml) const {
  if (yaml.empty()) {
    if (options_.config_path.empty()) {
      yaml = std::string(DefaultConfigYaml());
    } else {
      CCR_ASSIGN_OR_RETURN(yaml, ReadFile(options_.config_path, kMaxConfigYamlBytes));
    }
  }
  // A config that does not load is refused before it reaches the journal.
  v1::Config wire;
  CCR_ASSIGN_OR_RETURN(RouterConfig config, LoadRouterConfig(yaml, &wire));
  // Refused, not half-applied: the keys the engine reads only at start
  // would otherwise change in the file and silently not in the engine.
  if (options_.start_config) {
    if (std::vector<std::string> changed = ChangedRestartOnlyKeys(*options_.start_config, wire);
        !changed.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          absl::StrJoin(changed, ", "),
          ": read at start only, so a reload cannot change them; restart ccrouterd to apply "
          "(nothing of this config was applied)"));
    }
  }
  PreparedReload reload;
  // So is one whose auth section (or token file) does not; the policy takes
  // effect with the config.
  if (options_.auth != nullptr) {
    CCR_ASSIGN_OR_RETURN(reload.policy, LoadAuthPolicy(wire.auth(), options_.tls_client_ca_set));
    reload.auth_open_declared = wire.auth().open();
  }
  reload.config = std::make_shared<const RouterConfig>(std::move(config));
  reload.cmd.mutable_apply_config()->set_config_yaml(yaml);
  reload.yaml = std::move(yaml);
  return reload;
}

std::shared_ptr<const RouterConfig> Engine::TakePreparedConfig(const std::string& yaml) {
  for (auto it = prepared_configs_.begin(); it != prepared_configs_.end(); ++it) {
    if (it->first != yaml) continue;
    std::shared_ptr<const RouterConfig> config = std::move(it->second);
    // Reloads apply in the order they were recorded: older entries are of
    // reloads whose journal write failed.
    prepared_configs_.erase(prepared_configs_.begin(), it + 1);
    return config;
  }
  return nullptr;
}

void Engine::JournalThenApplyReload(PreparedReload reload,
                                    std::function<void(absl::StatusOr<ReloadResult>)> done) {
  // A config without credentials would open an engine that requires them:
  // every caller would become admin. That takes saying so (`auth: {open:
  // true}`), not leaving the section out. Checked here, against the policy
  // in force now, not when the reload was loaded.
  if (reload.policy && reload.policy->open && !reload.auth_open_declared &&
      !options_.auth->policy()->open) {
    return done(absl::InvalidArgumentError(
        "auth: this config has no auth.token_file or auth.certificate_roles, so it would let "
        "every caller act as admin, and the running engine requires credentials; set "
        "`auth: {open: true}` to open it on purpose, or keep the auth section"));
  }
  prepared_configs_.emplace_back(std::move(reload.yaml), std::move(reload.config));
  while (prepared_configs_.size() > static_cast<size_t>(kMaxReloadsInProgress)) {
    prepared_configs_.pop_front();
  }
  JournalThenApply(
      std::move(reload.cmd), [done = std::move(done), policy = std::move(reload.policy)](
                                 Engine& e, const ApplyResult& applied) mutable {
        if (!applied.status.ok()) return done(applied.status);
        if (policy) {
          const std::shared_ptr<const AuthPolicy> before = e.options_.auth->policy();
          if (std::optional<AuthPolicyChange> change = CompareAuthPolicies(*before, *policy)) {
            LogAlways("auth_policy_changed",
                      {{"open", change->open},
                       {"tokens", change->tokens},
                       {"tokens_added", absl::StrCat(change->tokens_added)},
                       {"tokens_removed", absl::StrCat(change->tokens_removed)},
                       {"tokens_changed", absl::StrCat(change->tokens_changed)},
                       {"roles", change->roles},
                       {"certificate_roles", change->certificate_roles},
                       {"metrics_require_token", change->metrics_require_token}});
          }
          e.options_.auth->SetPolicy(std::move(*policy));
        }
        ReloadResult result;
        result.queues = e.router_->config().queues.size();
        result.moved = applied.moved;
        result.fallback_queue = e.router_->config().fallback_queue;
        LogEvent(LogLevel::kInfo, "config_reloaded",
                 {{"queues", absl::StrCat(result.queues)},
                  {"moved_contacts", absl::StrCat(result.moved.size())},
                  {"fallback_queue", result.fallback_queue}});
        done(std::move(result));
      });
}

void Engine::BeginDrain(std::optional<std::string> handover_owner) {
  draining_.store(true);
  const std::string grace = absl::StrCat(absl::ToDoubleSeconds(options_.disconnect_grace), " s");
  // Where clients go next, in their words and in the status (WithOwner).
  const std::string next = !handover_owner           ? ""
                           : handover_owner->empty() ? "any node (it names the owner)"
                                                     : "the owner at " + *handover_owner;
  // Streams end, sessions stay: no logout is recorded, so agents keep their
  // state and connected contacts, and after the restart (or on the new
  // owner) they get the disconnect grace to reconnect (Start). Open offers
  // are withdrawn by the restart or the takeover ("engine restarted"), as
  // after a crash, and reported in Resync.
  const absl::Status agent_end = WithOwner(
      absl::UnavailableError(
          handover_owner ? absl::StrCat("this node no longer owns routing; reconnect to ", next,
                                        " within ", grace, " to keep this agent's contacts")
                         : absl::StrCat("server shutting down for a restart; reconnect within ",
                                        grace, " to keep this agent's contacts")),
      handover_owner.value_or(""));
  for (auto& [id, conn] : agents_) {
    if (conn.outbox) {
      conn.outbox->Close(agent_end);
      conn.outbox.reset();
    }
    conn.grace.reset();
    conn.heartbeat.reset();
  }
  // A watcher resumes from its last sequence on the owner, which numbers
  // events the same way (it replays the same log).
  const absl::Status watch_end =
      handover_owner ? WithOwner(absl::UnavailableError(absl::StrCat(
                                     "this node no longer owns routing; watch again at ", next)),
                                 *handover_owner)
                     : absl::OkStatus();
  for (auto& w : watchers_) w->outbox->Close(watch_end);
  watchers_.clear();
  contact_watches_.CloseAll(WithOwner(
      absl::UnavailableError(handover_owner
                                 ? absl::StrCat("this node no longer owns routing; watch the "
                                                "contact again at ",
                                                next)
                                 : "engine is shutting down for a restart; watch the contact "
                                   "again"),
      handover_owner.value_or("")));
  contact_refresh_timer_.reset();
  contact_refresh_armed_ = false;
  timer_.reset();
  timer_deadline_ = absl::InfiniteFuture();
  if (!handover_owner) MaybeSnapshot(/*force=*/true);  // a quick restart replays little
  if (batches_ > 0) {
    std::string histogram;
    for (size_t i = 0; i < batch_histogram_.size(); ++i) {
      if (batch_histogram_[i] == 0) continue;
      absl::StrAppend(&histogram, histogram.empty() ? "" : ",", uint64_t{1} << i, ":",
                      batch_histogram_[i]);
    }
    LogAlways("journal_summary",
              {{"batches", absl::StrCat(batches_)},
               {"last_index", absl::StrCat(last_applied_index_)},
               {"mean_sync_us", absl::StrCat(absl::ToDoubleMicroseconds(sync_time_) / batches_)},
               {"batch_records_histogram", histogram}});
  }
}

void Engine::CountRateLimited(LimitedStream stream) {
  if (prometheus::Counter* c = rate_limited_[static_cast<int>(stream)]) c->Increment();
}

std::optional<double> Engine::WindowServiceLevel(const std::string& queue) const {
  if (!router_metrics_) return std::nullopt;
  return router_metrics_->ServiceLevel(queue, Now());
}

absl::Duration Engine::service_level_window() const {
  return router_metrics_ ? router_metrics_->service_level_window() : absl::ZeroDuration();
}

metrics::ScrapeSource Engine::ScrapeMetrics() const {
  const absl::Time now = Now();
  metrics::ScrapeSource router_figures;
  if (router_) router_figures = router_metrics_->CopyFigures(*router_, now);
  std::vector<std::pair<const metrics::MetricDef*, double>> gauges = {
      {&metrics::kStrandBacklog, static_cast<double>(backlog())},
      {&metrics::kStrandBacklogLimit, static_cast<double>(options_.max_backlog)},
      {&metrics::kAgentStreams, static_cast<double>(connected_agent_count())},
      {&metrics::kWatchStreams, static_cast<double>(watchers_.size())},
      {&metrics::kJournalEnabled, journal_ ? 1 : 0}};
  if (journal_) {
    const absl::Time since =
        last_snapshot_written_ == absl::InfinitePast() ? started_ : last_snapshot_written_;
    gauges.emplace_back(&metrics::kSnapshotAge, absl::ToDoubleSeconds(now - since));
  }
  return [router_figures = std::move(router_figures), gauges = std::move(gauges)] {
    std::vector<prometheus::MetricFamily> out;
    if (router_figures) out = router_figures();
    for (const auto& [def, value] : gauges) {
      metrics::ScrapedGauges g(*def);
      g.Add({}, value);
      out.push_back(g.Take());
    }
    return out;
  };
}

}  // namespace ccr
