#include "engine/engine.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "boost/asio/post.hpp"
#include "engine/config_loader.h"
#include "engine/log.h"
#include "engine/wire.h"

namespace ccr {

Engine::Engine(boost::asio::io_context& io, std::unique_ptr<Router> router, v1::Config wire_config,
               EngineOptions options)
    : io_(io),
      router_(std::move(router)),
      wire_config_(std::move(wire_config)),
      options_(std::move(options)),
      config_snapshot_(std::make_shared<RouterConfig>(router_->config())),
      timer_(io) {}

Engine::~Engine() = default;

absl::Time Engine::Now() const { return absl::Now(); }

std::shared_ptr<const RouterConfig> Engine::config_snapshot() const {
  std::lock_guard lock(config_mu_);
  return config_snapshot_;
}

bool Engine::Post(std::function<void(Engine&)> fn, bool admission) {
  const size_t before = backlog_.fetch_add(1, std::memory_order_relaxed);
  if (admission && before >= options_.max_backlog) {
    backlog_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  boost::asio::post(io_, [this, fn = std::move(fn)] {
    backlog_.fetch_sub(1, std::memory_order_relaxed);
    fn(*this);
    Deliver();
  });
  return true;
}

void Engine::Deliver() {
  std::vector<Event> events = router_->TakeEvents();
  for (const Event& e : events) {
    v1::LifecycleEvent wire;
    EventToWire(e, ++sequence_, &wire);
    DeliverToAgent(e);
    if (LogEnabled(LogLevel::kInfo)) {
      LogEvent(LogLevel::kInfo, EventKindName(e.kind),
               {{"seq", absl::StrCat(sequence_)},
                {"contact", e.contact ? ContactIdString(e.contact) : ""},
                {"agent", e.agent_id},
                {"queue", e.queue},
                {"tier", e.contact ? TierName(e.tier) : ""},
                {"wait_s", absl::StrCat(absl::ToDoubleSeconds(e.wait))},
                {"reason", e.reason}});
    }
    for (size_t i = 0; i < watchers_.size();) {
      if (watchers_[i]->Send(wire)) {
        ++i;
      } else {
        watchers_[i] = std::move(watchers_.back());
        watchers_.pop_back();
      }
    }
    recent_events_.push_back(std::move(wire));
    if (recent_events_.size() > options_.event_window) recent_events_.pop_front();
  }
  ArmTimer();
}

void Engine::DeliverToAgent(const Event& e) {
  if (e.agent_id.empty()) return;
  auto it = agents_.find(e.agent_id);
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
      if (it == agents_.end()) return;
      v1::ServerMessage msg;
      v1::OfferWithdrawn* w = msg.mutable_offer_withdrawn();
      w->set_offer_id(OfferIdString(e.offer_id));
      w->set_contact_id(ContactIdString(e.contact));
      w->set_reason(e.kind == EventKind::kOfferTimedOut ? "timeout" : e.reason);
      it->second.outstanding_offers.erase(e.offer_id);
      if (it->second.outbox) it->second.outbox->Send(std::move(msg));
      return;
    }
    case EventKind::kOfferRejected:
    case EventKind::kAssigned:
      if (it != agents_.end()) it->second.outstanding_offers.erase(e.offer_id);
      return;
    case EventKind::kAgentState: {
      if (it == agents_.end() || !it->second.outbox) return;
      v1::ServerMessage msg;
      msg.mutable_state_changed()->set_state(AgentStatusToWire(e.agent_status));
      msg.mutable_state_changed()->set_reason(e.reason);
      it->second.outbox->Send(std::move(msg));
      return;
    }
    default:
      return;
  }
}

void Engine::ArmTimer() {
  std::optional<absl::Time> next = router_->NextDeadline();
  const absl::Time deadline = next.value_or(absl::InfiniteFuture());
  if (deadline == timer_deadline_) return;
  timer_deadline_ = deadline;
  if (!next) {
    timer_.cancel();
    return;
  }
  const absl::Duration in = std::max(absl::ZeroDuration(), deadline - Now());
  timer_.expires_after(absl::ToChronoMilliseconds(in) + std::chrono::milliseconds(1));
  timer_.async_wait([this, deadline](const boost::system::error_code& ec) {
    if (ec || deadline != timer_deadline_) return;  // re-armed or cancelled meanwhile
    timer_deadline_ = absl::InfiniteFuture();
    router_->Tick(Now());
    Deliver();
  });
}

void Engine::AttachAgent(const std::string& agent_id, std::shared_ptr<AgentOutbox> outbox) {
  AgentConnection& conn = agents_[agent_id];
  if (conn.outbox && conn.outbox != outbox) {
    conn.outbox->Finish(grpc::Status(grpc::StatusCode::ABORTED,
                                     "replaced by a newer connection of the same agent"));
  }
  conn.outbox = std::move(outbox);
  if (conn.grace) conn.grace->cancel();
  conn.grace.reset();
  // Offers made while the desktop was away are still waiting for an answer.
  for (const auto& [offer_id, msg] : conn.outstanding_offers) conn.outbox->Send(msg);
}

void Engine::DetachAgent(const std::string& agent_id, const AgentOutbox* outbox, bool clean) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end() || it->second.outbox.get() != outbox) return;  // replaced already
  it->second.outbox.reset();
  if (clean) {
    (void)router_->Logout(agent_id, "logged_out", Now());
    return;
  }
  LogEvent(LogLevel::kWarn, "agent_stream_lost",
           {{"agent", agent_id},
            {"grace_s", absl::StrCat(absl::ToDoubleSeconds(options_.disconnect_grace))}});
  auto timer = std::make_unique<boost::asio::steady_timer>(io_);
  timer->expires_after(absl::ToChronoMilliseconds(options_.disconnect_grace));
  timer->async_wait([this, agent_id](const boost::system::error_code& ec) {
    if (ec) return;
    auto it = agents_.find(agent_id);
    if (it == agents_.end() || it->second.outbox) return;  // reconnected
    it->second.grace.reset();
    (void)router_->Logout(agent_id, "disconnected", Now());
    Deliver();
  });
  it->second.grace = std::move(timer);
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

void Engine::DisconnectAgent(const std::string& agent_id, const grpc::Status& status) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end() || !it->second.outbox) return;
  it->second.outbox->Finish(status);
  it->second.outbox.reset();  // its later DetachAgent finds nothing to do
}

absl::Status Engine::Subscribe(std::shared_ptr<EventOutbox> outbox, uint64_t after_sequence) {
  if (after_sequence > 0) {
    const uint64_t oldest =
        recent_events_.empty() ? sequence_ + 1 : recent_events_.front().sequence();
    if (after_sequence > sequence_) {
      return absl::OutOfRangeError(absl::StrCat("after_sequence: ", after_sequence,
                                                " is ahead of the newest event ", sequence_));
    }
    if (after_sequence + 1 < oldest) {
      return absl::OutOfRangeError(absl::StrCat("after_sequence: events before ", oldest,
                                                " have left the in-memory window; resume from ",
                                                oldest - 1, " or read the journal export"));
    }
    for (const v1::LifecycleEvent& e : recent_events_) {
      if (e.sequence() > after_sequence && !outbox->Send(e)) return absl::OkStatus();
    }
  }
  watchers_.push_back(std::move(outbox));
  return absl::OkStatus();
}

absl::StatusOr<ReloadResult> Engine::Reload(const std::string& yaml_or_empty) {
  std::string yaml = yaml_or_empty;
  if (yaml.empty()) {
    if (options_.config_path.empty()) {
      yaml = std::string(DefaultConfigYaml());
    } else {
      absl::StatusOr<std::string> text = ReadFile(options_.config_path);
      if (!text.ok()) return text.status();
      yaml = std::move(*text);
    }
  }
  v1::Config wire;
  absl::StatusOr<RouterConfig> config = LoadRouterConfig(yaml, &wire);
  if (!config.ok()) return config.status();
  absl::StatusOr<std::vector<ContactId>> moved = router_->Reconfigure(*config, Now());
  if (!moved.ok()) return moved.status();
  wire_config_ = std::move(wire);
  {
    std::lock_guard lock(config_mu_);
    config_snapshot_ = std::make_shared<RouterConfig>(router_->config());
  }
  ReloadResult result;
  result.queues = router_->config().queues.size();
  result.moved = std::move(*moved);
  result.fallback_queue = router_->config().fallback_queue;
  LogEvent(LogLevel::kInfo, "config_reloaded",
           {{"queues", absl::StrCat(result.queues)},
            {"moved_contacts", absl::StrCat(result.moved.size())},
            {"fallback_queue", result.fallback_queue}});
  return result;
}

void Engine::BeginDrain() {
  draining_.store(true);
  for (auto& [id, conn] : agents_) {
    if (conn.outbox) {
      conn.outbox->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
    }
    if (conn.grace) conn.grace->cancel();
  }
  for (auto& w : watchers_) w->Finish(grpc::Status::OK);
  watchers_.clear();
  timer_.cancel();
  timer_deadline_ = absl::InfiniteFuture();
}

}  // namespace ccr
