#include "tools/ccsim/router_dispatcher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace ccr::sim {

absl::StatusOr<std::unique_ptr<RouterDispatcher>> RouterDispatcher::Create(
    RouterConfig config, std::vector<AgentSpec> agents) {
  CCR_ASSIGN_OR_RETURN(std::unique_ptr<Router> router, Router::Create(std::move(config)));
  return std::unique_ptr<RouterDispatcher>(
      new RouterDispatcher(std::move(router), std::move(agents)));
}

RouterDispatcher::RouterDispatcher(std::unique_ptr<Router> router, std::vector<AgentSpec> agents)
    : router_(std::move(router)), agents_(std::move(agents)) {
  for (uint32_t i = 0; i < agents_.size(); ++i) agent_index_[agents_[i].agent_id] = i;
  const RouterConfig& config = router_->config();
  for (uint32_t i = 0; i < config.queues.size(); ++i) queue_index_[config.queues[i].name] = i;
  router_->SetObserver(this);
}

void RouterDispatcher::OnEvent(const Event& e) { ++event_counts_[EventKindName(e.kind)]; }

std::map<std::string, uint64_t> RouterDispatcher::Counters() const { return event_counts_; }

absl::Status RouterDispatcher::Drain() {
  for (;;) {
    std::vector<Event> events = router_->TakeEvents();
    if (events.empty()) return absl::OkStatus();
    for (const Event& e : events) {
      switch (e.kind) {
        case EventKind::kOffered: {
          // The simulated desktop answers at once, so the offer never times out.
          CCR_RETURN_IF_ERROR(router_->Accept(e.agent_id, e.offer_id, router_->now()));
          Dispatch d;
          d.kind = Dispatch::Kind::kAssigned;
          d.time = e.time;
          d.agent = agent_index_.at(e.agent_id);
          d.queue = queue_index_.at(e.queue);
          auto it = sim_id_.find(e.contact);
          if (it == sim_id_.end()) {
            d.created_by_policy = true;
            it = sim_id_.emplace(e.contact, next_created_id_++).first;
            router_id_[it->second] = e.contact;
          }
          d.contact = it->second;
          dispatches_.push_back(d);
          break;
        }
        case EventKind::kWrapUpDone: {
          if (e.agent_id.empty()) break;
          auto it = sim_id_.find(e.contact);
          if (it == sim_id_.end()) break;
          Dispatch d;
          d.kind = Dispatch::Kind::kReleased;
          d.time = e.time;
          d.agent = agent_index_.at(e.agent_id);
          d.contact = it->second;
          d.queue = queue_index_.at(e.queue);
          dispatches_.push_back(d);
          router_id_.erase(it->second);
          sim_id_.erase(it);
          break;
        }
        case EventKind::kExpired: {
          auto it = sim_id_.find(e.contact);
          if (it == sim_id_.end()) break;
          Dispatch d;
          d.kind = Dispatch::Kind::kExpired;
          d.time = e.time;
          d.contact = it->second;
          d.queue = queue_index_.at(e.queue);
          dispatches_.push_back(d);
          router_id_.erase(it->second);
          sim_id_.erase(it);
          break;
        }
        case EventKind::kAbandoned:
        case EventKind::kCancelled: {
          auto it = sim_id_.find(e.contact);
          if (it == sim_id_.end()) break;
          router_id_.erase(it->second);
          sim_id_.erase(it);
          break;
        }
        default:
          break;
      }
    }
  }
}

absl::Status RouterDispatcher::Arrive(const ArrivingContact& contact, absl::Time now) {
  const QueueConfig& queue = router_->config().queues[contact.queue];
  ContactSpec spec;
  spec.idempotency_key = absl::StrCat("sim-", contact.id);
  spec.queue = queue.name;
  spec.channel = queue.channel;
  spec.tier = contact.tier;
  spec.signals = contact.signals;
  spec.language = contact.language;
  CCR_ASSIGN_OR_RETURN(const SubmitResult submitted, router_->Submit(spec, now));
  sim_id_[submitted.contact] = contact.id;
  router_id_[contact.id] = submitted.contact;
  return Drain();
}

absl::Status RouterDispatcher::Abandon(uint64_t contact, absl::Time now) {
  auto it = router_id_.find(contact);
  if (it == router_id_.end()) {
    return absl::NotFoundError(absl::StrCat("abandon: contact ", contact, " is not live"));
  }
  CCR_RETURN_IF_ERROR(router_->Abandon(it->second, now));
  return Drain();
}

absl::Status RouterDispatcher::Finish(uint32_t agent, uint64_t contact, absl::Time now) {
  auto it = router_id_.find(contact);
  if (it == router_id_.end()) {
    return absl::NotFoundError(absl::StrCat("finish: contact ", contact, " is not live"));
  }
  Outcome outcome;
  outcome.resolved = true;  // a resolution follow-up would be traffic the scenario did not ask for
  CCR_RETURN_IF_ERROR(router_->Complete(agents_[agent].agent_id, it->second, outcome, now));
  return Drain();
}

absl::Status RouterDispatcher::LogIn(uint32_t agent, absl::Time now) {
  CCR_RETURN_IF_ERROR(router_->Login(agents_[agent], now));
  return Drain();
}

absl::Status RouterDispatcher::StopTaking(uint32_t agent, absl::Time now) {
  CCR_RETURN_IF_ERROR(router_->SetNotReady(agents_[agent].agent_id, "break", now));
  return Drain();
}

absl::Status RouterDispatcher::ResumeTaking(uint32_t agent, absl::Time now) {
  CCR_RETURN_IF_ERROR(router_->SetAvailable(agents_[agent].agent_id, now));
  return Drain();
}

absl::Status RouterDispatcher::LogOut(uint32_t agent, absl::Time now) {
  CCR_RETURN_IF_ERROR(router_->Logout(agents_[agent].agent_id, "end of shift", now));
  return Drain();
}

absl::Status RouterDispatcher::Advance(absl::Time now) {
  router_->Tick(now);
  return Drain();
}

std::optional<absl::Time> RouterDispatcher::NextDeadline() const { return router_->NextDeadline(); }

std::vector<Dispatch> RouterDispatcher::TakeDispatches() {
  std::vector<Dispatch> out;
  out.swap(dispatches_);
  return out;
}

}  // namespace ccr::sim
