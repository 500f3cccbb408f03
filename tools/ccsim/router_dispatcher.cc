#include "tools/ccsim/router_dispatcher.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace ccr::sim {

namespace {
double SecondsOf(absl::Time t) { return absl::ToDoubleSeconds(t - absl::UnixEpoch()); }

std::vector<std::string> QueueNames(const RouterConfig& config) {
  std::vector<std::string> names;
  for (const QueueConfig& q : config.queues) names.push_back(q.name);
  return names;
}

// Handle time plus wrap-up from the config: a queue's service before any is measured.
std::vector<double> DefaultService(const RouterConfig& config) {
  std::vector<double> out;
  for (const QueueConfig& q : config.queues) {
    const ChannelConfig& ch = config.channels[static_cast<int>(q.channel)];
    out.push_back(absl::ToDoubleSeconds(ch.default_handle + ch.wrap_up));
  }
  return out;
}
}  // namespace

absl::StatusOr<std::unique_ptr<RouterDispatcher>> RouterDispatcher::Create(
    RouterConfig config, std::vector<AgentSpec> agents, bool check_wait_estimates) {
  CCR_ASSIGN_OR_RETURN(std::unique_ptr<Router> router, Router::Create(std::move(config)));
  return std::unique_ptr<RouterDispatcher>(
      new RouterDispatcher(std::move(router), std::move(agents), check_wait_estimates));
}

RouterDispatcher::RouterDispatcher(std::unique_ptr<Router> router, std::vector<AgentSpec> agents,
                                   bool check_wait_estimates)
    : router_(std::move(router)),
      agents_(std::move(agents)),
      check_wait_estimates_(check_wait_estimates),
      accuracy_(QueueNames(router_->config())),
      history_(DefaultService(router_->config())) {
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
          const double now_seconds = SecondsOf(e.time);
          if (auto w = waiting_.find(d.contact); w != waiting_.end()) {
            history_.Answered(w->second.queue, now_seconds - w->second.arrival_seconds,
                              now_seconds);
            accuracy_.Answered(d.contact, now_seconds);
            waiting_.erase(w);
          }
          if (check_wait_estimates_) serving_[d.contact] = {now_seconds, d.queue};
          break;
        }
        case EventKind::kWrapUpDone: {
          if (e.agent_id.empty()) break;
          auto it = sim_id_.find(e.contact);
          if (it == sim_id_.end()) break;
          if (auto s = serving_.find(it->second); s != serving_.end()) {
            history_.Served(s->second.second, SecondsOf(e.time) - s->second.first);
            serving_.erase(s);
          }
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
          accuracy_.Left(it->second);
          waiting_.erase(it->second);
          router_id_.erase(it->second);
          sim_id_.erase(it);
          break;
        }
        case EventKind::kAbandoned:
        case EventKind::kCancelled: {
          auto it = sim_id_.find(e.contact);
          if (it == sim_id_.end()) break;
          if (auto w = waiting_.find(it->second); w != waiting_.end()) {
            history_.Abandoned(w->second.queue, SecondsOf(e.time) - w->second.arrival_seconds);
            waiting_.erase(w);
          }
          accuracy_.Left(it->second);
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
  if (!check_wait_estimates_) return Drain();
  waiting_[contact.id] = {SecondsOf(now), contact.queue};
  if (submitted.state == ContactState::kQueued && submitted.position > 0) {
    RecordEstimate(contact.id, submitted.position, submitted.estimated_wait,
                   EstimateMoment::kSubmit, now);
    reads_.emplace(now + absl::Seconds(kReestimateEverySeconds), contact.id);
  } else {
    accuracy_.AnsweredAtOnce();
  }
  return Drain();
}

void RouterDispatcher::RecordEstimate(uint64_t sim_contact, uint32_t position,
                                      absl::Duration router_estimate, EstimateMoment moment,
                                      absl::Time now) {
  const Waiting& w = waiting_.at(sim_contact);
  // I&W's s: the servers of the queue that are busy (a waiting contact means all are).
  const QueueStats stats = router_->Queues(now)[w.queue];
  const ChannelConfig& ch = router_->config().channels[static_cast<int>(stats.channel)];
  const double busy_slots = double(stats.agents_busy + stats.agents_wrap_up) * ch.agent_capacity;
  const double now_seconds = SecondsOf(now);
  WaitEstimates estimates =
      history_.Candidates(w.queue, position, now_seconds - w.arrival_seconds, busy_slots);
  estimates[static_cast<int>(WaitEstimator::kRouter)] = absl::ToDoubleSeconds(router_estimate);
  accuracy_.Sample(sim_contact, w.queue, now_seconds, position, moment, estimates);
}

void RouterDispatcher::Reestimate(absl::Time now) {
  while (!reads_.empty() && reads_.top().first <= now) {
    const auto [due, sim_contact] = reads_.top();
    reads_.pop();
    if (!waiting_.contains(sim_contact)) continue;
    auto id = router_id_.find(sim_contact);
    if (id == router_id_.end()) continue;
    absl::StatusOr<ContactPlace> place = router_->Locate(id->second);
    if (!place.ok() || place->state != ContactState::kQueued || place->position == 0) continue;
    RecordEstimate(sim_contact, place->position, place->estimated_wait, EstimateMoment::kWaiting,
                   due);
    reads_.emplace(due + absl::Seconds(kReestimateEverySeconds), sim_contact);
  }
}

std::optional<WaitAccuracyReport> RouterDispatcher::WaitAccuracy() const {
  if (!check_wait_estimates_) return std::nullopt;
  return accuracy_.Summarize();
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
  // Only the router's own deadlines move its clock; a read changes nothing.
  const std::optional<absl::Time> router_deadline = router_->NextDeadline();
  if (router_deadline && *router_deadline <= now) {
    router_->Tick(now);
    CCR_RETURN_IF_ERROR(Drain());
  }
  Reestimate(now);
  return absl::OkStatus();
}

std::optional<absl::Time> RouterDispatcher::NextDeadline() const {
  std::optional<absl::Time> next = router_->NextDeadline();
  if (!reads_.empty() && (!next || reads_.top().first < *next)) next = reads_.top().first;
  return next;
}

std::vector<Dispatch> RouterDispatcher::TakeDispatches() {
  std::vector<Dispatch> out;
  out.swap(dispatches_);
  return out;
}

}  // namespace ccr::sim
