// Router commands: every state change goes through here.
#include "router/router.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "router/internal/router_impl.h"
#include "router/observer.h"

namespace ccr {

// ---------------------------------------------------------------------------
// Time

void Router::Impl::AdvanceTo(absl::Time now) {
  if (now < now_) now = now_;
  for (;;) {
    absl::Time next = std::min(timers_.next_at(), idempotency_.next_expiry());
    if (!deferred_events_.empty()) next = std::min(next, deferred_events_.begin()->first);
    if (next > now) break;
    now_ = std::max(now_, next);
    if (!timers_.empty() && timers_.next_at() == next) {
      RunTimer(timers_.PopFirst());
    } else if (idempotency_.size() > 0 && idempotency_.next_expiry() == next) {
      idempotency_.ExpireOldest();
    } else {
      // Numbered whether or not events are kept (replay off), like Emit,
      // so a sequence number means the same event live and after a restart.
      auto it = deferred_events_.begin();
      ++events_emitted_;
      if (emit_events_) {
        events_.push_back(std::move(it->second));
        events_.back().time = now_;
        events_.back().sequence = events_emitted_;
      }
      deferred_events_.erase(it);
    }
  }
  now_ = now;
}

std::optional<absl::Time> Router::Impl::NextDeadline() const {
  absl::Time next = std::min(timers_.next_at(), idempotency_.next_expiry());
  if (!deferred_events_.empty()) next = std::min(next, deferred_events_.begin()->first);
  if (next == absl::InfiniteFuture()) return std::nullopt;
  return next;
}

void Router::Impl::Tick(absl::Time now) { AdvanceTo(now); }

std::vector<Event> Router::Impl::TakeEvents() {
  std::vector<Event> out;
  out.swap(events_);
  return out;
}

void Router::Impl::ScheduleWaitingTimers(const Contact& c) {
  const Queue& q = queues_[c.queue];
  if (c.stage + 1 < q.stages.size()) {
    Schedule(
        Timer::OverflowStep(c.arrival + q.stages[c.stage + 1].after, c.id, c.epoch, c.stage + 1));
  }
  // Also after a breach when a reload moved the deadline later: the timer
  // moves a waiting contact to the buckets of those past their target.
  if (!c.breached || c.deadline > now_) {
    Schedule(Timer::ForEpoch(c.deadline, TimerKind::kSlaDeadline, c.id, c.epoch));
  }
  if (q.config.expire_after > absl::ZeroDuration()) {
    Schedule(Timer::ForEpoch(c.arrival + q.config.expire_after, TimerKind::kExpire, c.id, c.epoch));
  }
  ScheduleSeniorRelax(c);
}

absl::Time Router::Impl::SeniorRelaxAt(const Contact& c) const {
  return c.arrival + queues_[c.queue].config.answer_within * config_.escalation.senior_wait_share;
}

bool Router::Impl::SeniorRelaxDue(const Contact& c) const {
  // Without a senior skill configured nobody waits for a senior, so no timer
  // relaxes anyone: the flag stays false.
  return c.score.needs_senior && !special_skills_[0].empty() && now_ >= SeniorRelaxAt(c);
}

std::string Router::Impl::SeniorRelaxedReason(const Contact& c) const {
  return absl::StrCat(
      "senior requirement relaxed after ", absl::FormatDuration(SeniorRelaxAt(c) - c.arrival),
      ": no senior free within ", config_.escalation.senior_wait_share * 100, " % of its target");
}

std::string Router::Impl::EscalatedReason(const Contact& c) const {
  if (!c.senior_relaxed || special_skills_[0].empty()) return "needs a senior agent";
  return absl::StrCat("needs a senior agent; ", SeniorRelaxedReason(c));
}

void Router::Impl::ScheduleSeniorRelax(const Contact& c) {
  if ((c.special & 1) == 0) return;
  const absl::Time at = SeniorRelaxAt(c);
  if (timers_.HasAt(at, TimerKind::kSeniorRelax, c.id, c.epoch)) return;
  Schedule(Timer::ForEpoch(at, TimerKind::kSeniorRelax, c.id, c.epoch));
}

void Router::Impl::RunTimer(const Timer& t) {
  switch (t.kind) {
    case TimerKind::kOfferTimeout: {
      Contact* c = FindContact(t.contact);
      if (c == nullptr || c->state != ContactState::kOffered || c->offer != t.offer) return;
      Miss(*agents_[c->agent_index], *c, EventKind::kOfferTimedOut, "timeout");
      return;
    }
    case TimerKind::kOverflowStep: {
      Contact* c = FindContact(t.contact);
      const uint32_t stage = t.stage;
      if (c == nullptr || c->epoch != t.epoch || c->stage >= stage) return;
      if (c->state != ContactState::kQueued && c->state != ContactState::kOffered) return;
      const bool waiting = IsWaiting(c->state) && c->reserved_for_index == kNoAgentIndex;
      if (waiting) RemoveWaiting(*c);
      c->stage = stage;
      ++queues_[c->queue].stats.overflows;
      Event& e = Emit(EventKind::kOverflowed, c);
      e.reason = absl::StrCat("overflow step ", stage);
      const Queue& q = queues_[c->queue];
      if (stage + 1 < q.stages.size()) {
        Schedule(Timer::OverflowStep(c->arrival + q.stages[stage + 1].after, c->id, c->epoch,
                                     stage + 1));
      }
      if (waiting) {
        InsertWaiting(*c);
        MatchContact(*c);
      }
      return;
    }
    case TimerKind::kSlaDeadline: {
      Contact* c = FindContact(t.contact);
      if (c == nullptr || c->epoch != t.epoch) return;
      // A waiting contact moves to its queue's buckets of contacts past their
      // target, which a contact still in time goes ahead of (MatchAgent).
      if (IsWaiting(c->state) && !c->past_target && now_ >= c->deadline) {
        RemoveWaiting(*c);
        InsertWaiting(*c);
      }
      if (c->breached) return;
      if (c->state != ContactState::kQueued && c->state != ContactState::kOffered) return;
      c->breached = true;
      ++queues_[c->queue].stats.sla_breaches;
      Emit(EventKind::kSlaBreached, c).reason = "not answered within the queue's target";
      return;
    }
    case TimerKind::kExpire: {
      Contact* c = FindContact(t.contact);
      if (c == nullptr || c->epoch != t.epoch || c->state != ContactState::kQueued) return;
      ++queues_[c->queue].stats.expired;
      Emit(EventKind::kExpired, c).reason = "waited longer than the queue allows";
      Retire(*c, ContactState::kExpired);
      return;
    }
    case TimerKind::kReservationEnd: {
      Contact* c = FindContact(t.contact);
      if (c == nullptr || c->epoch != t.epoch || c->reserved_for_index == kNoAgentIndex) return;
      RemoveWaiting(*c);
      c->reserved_for_index = kNoAgentIndex;
      InsertWaiting(*c);
      MatchContact(*c);
      return;
    }
    case TimerKind::kScheduledStart: {
      Contact* c = FindContact(t.contact);
      if (c == nullptr || c->state != ContactState::kScheduled) return;
      c->arrival = now_;
      c->created = std::min(c->created, now_);
      c->deadline = now_ + queues_[c->queue].config.answer_within;
      Rescore(*c);
      SetState(*c, ContactState::kQueued);
      Emit(c->follow_up ? EventKind::kFollowUpDue : EventKind::kQueued, c).reason =
          std::string(kScheduledStartReason);
      Enqueue(*c);
      return;
    }
    case TimerKind::kWrapUpEnd: {
      Contact* c = FindContact(t.contact);
      if (c == nullptr || c->state != ContactState::kWrapUp) return;
      Agent& a = *agents_[c->agent_index];
      Event& e = Emit(EventKind::kWrapUpDone, c);
      e.agent_id = a.spec.agent_id;
      e.reason = "wrap-up time over";
      ReleaseSlot(a, *c);
      Retire(*c, ContactState::kCompleted);
      MatchAgent(a);
      return;
    }
    case TimerKind::kRestEnd: {
      Agent& a = *agents_[t.agent_index];
      if (!a.resting || a.rest_until != t.at) return;
      a.resting = false;
      RefreshPools(a);
      EmitAgentState(a);
      MatchAgent(a);
      return;
    }
    case TimerKind::kReofferCooldownEnd: {
      Contact* c = FindContact(t.contact);
      if (c == nullptr || !IsWaiting(c->state)) return;
      MatchContact(*c);
      return;
    }
    case TimerKind::kForgetAgents:
      ForgetLoggedOutAgents();
      return;
    case TimerKind::kSeniorRelax: {
      // Like an overflow step: who may take the contact widens with its wait.
      // Connected and wrap-up contacts change too (silently), so that the
      // flag stays what Rescore derives from the time, as after a restore.
      Contact* c = FindContact(t.contact);
      if (c == nullptr || c->epoch != t.epoch || (c->special & 1) == 0) return;
      const bool waiting = IsWaiting(c->state) && c->reserved_for_index == kNoAgentIndex;
      if (waiting) RemoveWaiting(*c);
      c->senior_relaxed = true;
      c->special &= ~1u;
      if (c->state == ContactState::kQueued || c->state == ContactState::kOffered) {
        ++queues_[c->queue].stats.overflows;
        Emit(EventKind::kOverflowed, c).reason = SeniorRelaxedReason(*c);
      }
      if (waiting) {
        InsertWaiting(*c);
        MatchContact(*c);
      }
      return;
    }
  }
}

// ---------------------------------------------------------------------------
// Contacts

Contact* Router::Impl::FindContact(ContactId id) {
  auto it = contacts_.find(id);
  return it == contacts_.end() ? nullptr : &it->second;
}
const Contact* Router::Impl::FindContact(ContactId id) const {
  auto it = contacts_.find(id);
  return it == contacts_.end() ? nullptr : &it->second;
}
Contact& Router::Impl::IndexedContact(ContactId id) {
  auto it = contacts_.find(id);
  CCR_CHECK(it != contacts_.end()) << "contact " << id << " is indexed but not live";
  return it->second;
}

void Router::Impl::Rescore(Contact& c) {
  UrgencyInputs in;
  in.tier = c.spec.tier;
  in.direction = c.spec.direction;
  in.elderly = c.spec.elderly;
  in.accessibility = c.spec.accessibility;
  in.signals = &c.spec.signals;
  c.score = ScoreUrgency(in, config_.scoring, config_.escalation);
  c.special = 0;
  // Past its senior relax point (SeniorRelaxAt) any qualified agent may take
  // it; the kSeniorRelax timer makes the change when the time comes.
  c.senior_relaxed = SeniorRelaxDue(c);
  if (c.score.needs_senior && !c.senior_relaxed && !special_skills_[0].empty()) c.special |= 1;
  if (c.spec.elderly && !special_skills_[1].empty()) c.special |= 2;
  if (c.spec.accessibility && !special_skills_[2].empty()) c.special |= 4;
  const QueueConfig& q = queues_[c.queue].config;
  c.deadline = c.arrival + q.answer_within;
  c.policy = PolicyAt(q, c.arrival);
  c.key.priority_class = c.score.emergency ? 0 : 1;
  // kFifo: the deadline alone, i.e. arrival order within the queue (every
  // contact of a queue has the same target); urgency buys no place.
  c.key.rank_ms = absl::ToUnixMillis(c.deadline);
  if (c.policy == RoutingPolicy::kRanked) {
    c.key.rank_ms -= std::llround(c.score.points * config_.scoring.seconds_per_point * 1000.0);
  }
  c.key.id = c.id;
}

uint32_t Router::Impl::StageForWait(const Queue& q, absl::Duration wait) const {
  uint32_t stage = 0;
  while (stage + 1 < q.stages.size() && wait >= q.stages[stage + 1].after) ++stage;
  return stage;
}

void Router::Impl::InsertWaiting(Contact& c) {
  c.past_target = now_ >= c.deadline;
  Queue& q = queues_[c.queue];
  q.waiting_since.emplace(c.arrival, c.id);
  if (c.reserved_for_index != kNoAgentIndex) {
    agents_[c.reserved_for_index]->reserved.insert(c.key);
    return;
  }
  waiting_.Insert(BucketOf(c), c.key);
}

void Router::Impl::RemoveWaiting(Contact& c) {
  Queue& q = queues_[c.queue];
  q.waiting_since.erase({c.arrival, c.id});
  if (c.reserved_for_index != kNoAgentIndex) {
    agents_[c.reserved_for_index]->reserved.erase(c.key);
    return;
  }
  waiting_.Erase(BucketOf(c), c.key);
}

void Router::Impl::Enqueue(Contact& c) {
  SetState(c, ContactState::kQueued);
  c.stage = StageForWait(queues_[c.queue], now_ - c.arrival);
  ScheduleWaitingTimers(c);
  // A dedicated advisor who is logged in and working is worth a short wait.
  if (c.reserved_for_index == kNoAgentIndex && !c.spec.dedicated_advisor.empty() &&
      config_.advisor_wait > absl::ZeroDuration() && now_ - c.arrival < config_.advisor_wait) {
    auto it = agent_index_.find(c.spec.dedicated_advisor);
    if (it != agent_index_.end()) {
      Agent& advisor = *agents_[it->second];
      if (Offerable(advisor) && advisor.capacity[static_cast<int>(c.spec.channel)] > 0) {
        if (CanTake(advisor, c.spec.channel)) {
          InsertWaiting(c);
          Offer(advisor, c, "dedicated advisor");
          return;
        }
        c.reserved_for_index = advisor.index;
        Schedule(Timer::ForEpoch(c.arrival + config_.advisor_wait, TimerKind::kReservationEnd, c.id,
                                 c.epoch));
      }
    }
  }
  InsertWaiting(c);
  MatchContact(c);
}

absl::StatusOr<SubmitResult> Router::Impl::Submit(ContactSpec spec, absl::Time now,
                                                  uint64_t request_digest) {
  AdvanceTo(now);
  if (spec.idempotency_key.empty()) {
    return absl::InvalidArgumentError("contact.idempotency_key: required");
  }
  if (const IdempotencyEntry* known = idempotency_.Find(spec.idempotency_key); known != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("contact.idempotency_key: already submitted as ",
                                                 ContactIdString(known->contact)));
  }
  auto q = queue_index_.find(spec.queue);
  if (q == queue_index_.end()) {
    return absl::NotFoundError(absl::StrCat("contact.queue: unknown queue '", spec.queue, "'"));
  }
  Queue& queue = queues_[q->second];
  if (spec.channel != queue.config.channel) {
    return absl::InvalidArgumentError(absl::StrCat("contact.channel: queue '", spec.queue,
                                                   "' serves ", ChannelName(queue.config.channel),
                                                   ", not ", ChannelName(spec.channel)));
  }
  if (contacts_.size() >= config_.limits.max_live_contacts) {
    return absl::ResourceExhaustedError(
        absl::StrCat("contact: ", contacts_.size(),
                     " live contacts reached the limit (config.limits.max_live_contacts = ",
                     config_.limits.max_live_contacts, "); retry when some have ended"));
  }
  if (!spec.language.empty()) {
    CCR_RETURN_IF_ERROR(CheckNewLanguages({spec.language}, "contact.language"));
  }
  const ContactId id = next_contact_++;
  Contact& c = contacts_[id];
  c.id = id;
  c.queue = queue.index;
  c.language = spec.language.empty() ? queue.default_language : InternLanguage(spec.language);
  c.spec = std::move(spec);  // read as c.spec from here on
  c.created = now_;
  c.arrival = now_;
  Rescore(c);
  ++queue.stats.submitted;
  IdempotencyEntry& entry =
      idempotency_.Add(c.spec.idempotency_key, now_ + config_.idempotency_window);
  entry.contact = id;
  entry.request_digest = request_digest;

  if (c.score.needs_senior) Emit(EventKind::kEscalated, &c).reason = EscalatedReason(c);
  if (c.score.supervisor_alert) {
    Emit(EventKind::kSupervisorAlert, &c).reason = "strongly negative emotion";
  }
  if (c.spec.signals.severity == Severity::kSevere) {
    CreateFollowUp(c, config_.follow_ups.severe_progress_report,
                   "progress report: severe incident");
  }
  if (c.spec.scheduled_for && *c.spec.scheduled_for > now_) {
    c.state = ContactState::kScheduled;
    Schedule(Timer::ForContact(*c.spec.scheduled_for, TimerKind::kScheduledStart, id));
    Emit(EventKind::kScheduled, &c);
    return SubmitResult{id, queue.config.name, ContactState::kScheduled, 0, absl::ZeroDuration()};
  }
  Emit(EventKind::kQueued, &c);
  Enqueue(c);
  SubmitResult result;
  result.contact = id;
  result.queue = queue.config.name;
  Contact* live = FindContact(id);
  result.state = live->state;
  if (live->state == ContactState::kQueued) {
    result.position = Position(*live);
    result.estimated_wait = EstimatedWaitOf(*live, result.position);
  }
  return result;
}

void Router::Impl::CreateFollowUp(const Contact& origin, absl::Duration promise,
                                  absl::string_view why) {
  if (config_.follow_ups.queue.empty()) {
    Event& e = Emit(EventKind::kFollowUpDue, &origin);
    e.reason = absl::StrCat(why, " (no follow-up queue configured)");
    return;
  }
  Queue& q = queues_[queue_index_[config_.follow_ups.queue]];
  const ContactId id = next_contact_++;
  Contact& c = contacts_[id];
  c.id = id;
  c.spec = origin.spec;
  c.spec.idempotency_key.clear();
  c.spec.queue = q.config.name;
  c.spec.channel = q.config.channel;
  c.spec.direction = Direction::kProactiveOutbound;
  c.spec.dedicated_advisor = origin.spec.dedicated_advisor;
  c.queue = q.index;
  // The customer's language, spelled out so the follow-up queue's default
  // cannot replace it (and a snapshot can derive it like any other contact's).
  c.spec.language = language_names_[origin.language];
  c.language = origin.language;
  c.follow_up = true;
  c.history = origin.history;
  AppendHistory(c.history, absl::StrCat(why, " for ", ContactIdString(origin.id)));
  // Start early enough that the follow-up queue's own target lands inside the promise.
  const absl::Time start = now_ + std::max(absl::ZeroDuration(), promise - q.config.answer_within);
  c.created = now_;
  c.arrival = start;
  Rescore(c);
  c.state = ContactState::kScheduled;
  ++q.stats.submitted;
  Schedule(Timer::ForContact(start, TimerKind::kScheduledStart, id));
  Event& e = Emit(EventKind::kScheduled, &c);
  e.reason = std::string(why);
}

absl::Status Router::Impl::CheckNewLanguages(const std::vector<std::string>& languages,
                                             absl::string_view field) const {
  size_t known = language_names_.size();
  for (size_t i = 0; i < languages.size(); ++i) {
    const std::string& l = languages[i];
    if (languages_.contains(l) ||
        std::find(languages.begin(), languages.begin() + i, l) != languages.begin() + i) {
      continue;
    }
    if (++known > config_.limits.max_languages) {
      return absl::ResourceExhaustedError(
          absl::StrCat(field, ": language '", TruncateText(l, 64), "' would exceed the ",
                       config_.limits.max_languages,
                       " distinct languages the engine keeps (config.limits.max_languages)"));
    }
  }
  return absl::OkStatus();
}

void Router::Impl::AppendHistory(std::vector<std::string>& history, absl::string_view entry) const {
  static constexpr absl::string_view kDroppedPrefix = "[";
  static constexpr absl::string_view kDroppedSuffix = " earlier entries dropped]";
  // The count of entries dropped so far lives in a leading marker entry, so
  // no new state is needed and snapshots carry it as they carry any entry.
  uint64_t dropped = 0;
  if (!history.empty() && absl::StartsWith(history.front(), kDroppedPrefix) &&
      absl::EndsWith(history.front(), kDroppedSuffix)) {
    absl::string_view count = history.front();
    count.remove_prefix(kDroppedPrefix.size());
    count.remove_suffix(kDroppedSuffix.size());
    if (absl::SimpleAtoi(count, &dropped)) history.erase(history.begin());
  }
  history.push_back(TruncateText(entry, kMaxHistoryEntryBytes));
  size_t bytes = 0;
  for (const std::string& h : history) bytes += h.size();
  const size_t marker_bytes = 64;  // room for the marker itself
  size_t first_kept = 0;
  while (history.size() - first_kept > 1 &&
         (history.size() - first_kept + 1 > config_.limits.max_history_entries ||
          bytes + marker_bytes > config_.limits.max_history_bytes)) {
    bytes -= history[first_kept].size();
    ++first_kept;
    ++dropped;
  }
  history.erase(history.begin(), history.begin() + first_kept);
  if (dropped > 0) {
    history.insert(history.begin(), absl::StrCat(kDroppedPrefix, dropped, kDroppedSuffix));
  }
}

uint32_t Router::Impl::InternEndedQueue(const std::string& name) {
  auto [it, added] = ended_queue_index_.try_emplace(name, ended_queue_names_.size());
  if (added) ended_queue_names_.push_back(name);
  return it->second;
}

void Router::Impl::Retire(Contact& c, ContactState final_state) {
  if (IsWaiting(c.state)) RemoveWaiting(c);
  SetState(c, final_state);
  // A retry of its key within the window answers how and where it ended.
  if (IdempotencyEntry* entry = idempotency_.Find(c.spec.idempotency_key);
      entry != nullptr && entry->contact == c.id) {
    entry->ended = true;
    entry->ended_state = final_state;
    entry->ended_queue = InternEndedQueue(queues_[c.queue].config.name);
  }
  contacts_.erase(c.id);
}

void Router::Impl::ReleaseFromAgent(Contact& c) {
  if (c.agent_index == kNoAgentIndex) return;
  Agent& a = *agents_[c.agent_index];
  if (c.state == ContactState::kOffered) offers_.erase(c.offer);
  ReleaseSlot(a, c);
}

void Router::Impl::Requeue(Contact& c, absl::string_view history_note) {
  if (!history_note.empty()) AppendHistory(c.history, history_note);
  SetState(c, ContactState::kQueued);
  c.stage = StageForWait(queues_[c.queue], now_ - c.arrival);
  InsertWaiting(c);
  MatchContact(c);
}

absl::Status Router::Impl::Update(ContactId id, const Signals& signals, std::optional<Tier> tier,
                                  absl::Time now) {
  AdvanceTo(now);
  Contact* c = FindContact(id);
  if (c == nullptr) {
    return absl::NotFoundError(absl::StrCat("contact_id: no live contact ", ContactIdString(id)));
  }
  const bool waiting = IsWaiting(c->state);
  if (waiting) RemoveWaiting(*c);
  const bool was_senior = c->score.needs_senior;
  const bool was_alert = c->score.supervisor_alert;
  c->spec.signals = signals;
  if (tier) c->spec.tier = *tier;
  Rescore(*c);
  Emit(EventKind::kUpdated, c);
  if (c->score.needs_senior && !was_senior) {
    Emit(EventKind::kEscalated, c).reason = EscalatedReason(*c);
  }
  if (c->score.supervisor_alert && !was_alert) {
    Emit(EventKind::kSupervisorAlert, c).reason = "strongly negative emotion";
  }
  if (c->state != ContactState::kScheduled) ScheduleSeniorRelax(*c);
  if (waiting) {
    InsertWaiting(*c);
    MatchContact(*c);
  }
  return absl::OkStatus();
}

absl::Status Router::Impl::Abandon(ContactId id, absl::Time now) {
  AdvanceTo(now);
  Contact* c = FindContact(id);
  if (c == nullptr) {
    return absl::NotFoundError(absl::StrCat("contact_id: no live contact ", ContactIdString(id)));
  }
  if (c->state != ContactState::kQueued && c->state != ContactState::kOffered &&
      c->state != ContactState::kScheduled) {
    return absl::FailedPreconditionError(
        absl::StrCat("contact_id: ", ContactIdString(id), " is ", ContactStateName(c->state),
                     "; only a waiting contact can be abandoned (complete it instead)"));
  }
  Queue& q = queues_[c->queue];
  const absl::Duration wait = now_ - c->arrival;
  if (c->state != ContactState::kScheduled) {
    ++q.stats.abandoned;
    if (wait <= q.config.short_abandon) ++q.stats.abandoned_short;
  }
  if (c->state == ContactState::kOffered) {
    Agent& a = *agents_[c->agent_index];
    Event& w = Emit(EventKind::kOfferWithdrawn, c);
    w.agent_id = a.spec.agent_id;
    w.reason = "abandoned";
    ReleaseFromAgent(*c);
    Emit(EventKind::kAbandoned, c);
    Retire(*c, ContactState::kAbandoned);
    MatchAgent(a);
    return absl::OkStatus();
  }
  Emit(EventKind::kAbandoned, c);
  Retire(*c, ContactState::kAbandoned);
  return absl::OkStatus();
}

absl::Status Router::Impl::Cancel(ContactId id, absl::string_view reason, absl::Time now) {
  AdvanceTo(now);
  Contact* c = FindContact(id);
  if (c == nullptr) {
    return absl::NotFoundError(absl::StrCat("contact_id: no live contact ", ContactIdString(id)));
  }
  ++queues_[c->queue].stats.cancelled;
  Agent* a = c->agent_index == kNoAgentIndex ? nullptr : agents_[c->agent_index].get();
  if (c->state == ContactState::kOffered) {
    Event& w = Emit(EventKind::kOfferWithdrawn, c);
    w.agent_id = a->spec.agent_id;
    w.reason = "cancelled";
  }
  const bool held = c->state == ContactState::kConnected || c->state == ContactState::kWrapUp;
  ReleaseFromAgent(*c);
  Event& e = Emit(EventKind::kCancelled, c);
  e.reason = std::string(reason);
  // The agent that held it (connected or in wrap-up) is told its contact
  // ended; an offer's agent was told by the withdrawal above.
  if (held) e.agent_id = a->spec.agent_id;
  Retire(*c, ContactState::kCancelled);
  if (a != nullptr) MatchAgent(*a);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Agents

Agent* Router::Impl::FindAgent(absl::string_view agent_id) {
  auto it = agent_index_.find(agent_id);
  return it == agent_index_.end() ? nullptr : agents_[it->second].get();
}
const Agent* Router::Impl::FindAgent(absl::string_view agent_id) const {
  auto it = agent_index_.find(agent_id);
  return it == agent_index_.end() ? nullptr : agents_[it->second].get();
}

absl::StatusOr<Agent*> Router::Impl::LoggedInAgent(absl::string_view agent_id) {
  Agent* a = FindAgent(agent_id);
  if (a == nullptr || !a->logged_in) {
    return absl::FailedPreconditionError(
        absl::StrCat("agent_id: agent '", agent_id, "' is not logged in"));
  }
  return a;
}

bool Router::Impl::CanTake(const Agent& a, Channel ch) const {
  const int c = static_cast<int>(ch);
  if (a.capacity[c] == 0 || a.exclusive_active > 0) return false;
  if (IsExclusive(config_, ch)) return a.total_active == 0;
  return a.active[c] < a.capacity[c];
}

AgentStatus Router::Impl::StatusOf(const Agent& a) const {
  if (!a.logged_in) return AgentStatus::kOffline;
  if (a.not_ready) return AgentStatus::kNotReady;
  if (a.resting) return AgentStatus::kResting;
  if (a.total_active > 0) {
    bool only_wrap_up = true;
    bool any_free = false;
    for (ContactId id : a.held) {
      if (FindContact(id)->state != ContactState::kWrapUp) only_wrap_up = false;
    }
    for (int ch = 0; ch < kChannelCount; ++ch) any_free = any_free || CanTake(a, Channel(ch));
    if (only_wrap_up && !any_free) return AgentStatus::kWrapUp;
    if (!any_free) return AgentStatus::kBusy;
  }
  return AgentStatus::kAvailable;
}

void Router::Impl::EmitAgentState(const Agent& a) {
  Event& e = EmitForAgent(EventKind::kAgentState, a);
  e.agent_status = StatusOf(a);
  e.reason = a.not_ready ? a.not_ready_reason : (a.resting ? "forced rest" : "");
}

void Router::Impl::RefreshPools(Agent& a) {
  // Occupancy: credit the time since the last change to the mode it was in.
  if (a.mode != Agent::Mode::kNone && now_ > a.accounted_until) {
    (a.mode == Agent::Mode::kHandling ? a.handling_time : a.idle_time) += now_ - a.accounted_until;
  }
  // A logged-out agent's accounted_until stays at its logout: the retention
  // sweep counts from there (a reload refreshing its pools must not reset it).
  if (a.logged_in || a.mode != Agent::Mode::kNone) a.accounted_until = now_;
  a.mode = !a.logged_in         ? Agent::Mode::kNone
           : a.total_active > 0 ? Agent::Mode::kHandling
           : Offerable(a)       ? Agent::Mode::kIdle
                                : Agent::Mode::kNone;
  Repool(a);
}

void Router::Impl::Repool(Agent& a) {
  Retally(a);
  pools_.LeaveAll(a.index);
  if (!Offerable(a)) return;
  for (const QueueEligibility& e : a.eligibility) {
    const Queue& q = queues_[e.queue];
    if (!CanTake(a, q.config.channel)) continue;
    for (RoutingPolicy policy : q.policies) {
      const AgentKey key = policy == RoutingPolicy::kRanked
                               ? AgentKey{a.breadth, -e.proficiency, a.total_active,
                                          absl::ToUnixMillis(a.last_offer), a.index}
                               : AgentKey{0, 0, 0, absl::ToUnixMillis(a.idle_since), a.index};
      for (uint32_t language : a.languages) {
        pools_.Join(PoolKey(e.queue, e.first_stage, language, a.special, policy), key);
      }
    }
  }
}

void Router::Impl::SetState(Contact& c, ContactState state) {
  CountHeld(c, false);
  c.state = state;
  CountHeld(c, true);
  if (c.agent_index != kNoAgentIndex) Retally(*agents_[c.agent_index]);  // e.g. into wrap-up
}

void Router::Impl::CountHeld(const Contact& c, bool add) {
  Queue& q = queues_[c.queue];
  uint32_t* count = c.state == ContactState::kOffered     ? &q.offered
                    : c.state == ContactState::kConnected ? &q.connected
                                                          : nullptr;
  if (count != nullptr) *count = add ? *count + 1 : *count - 1;
}

void Router::Impl::RecountHeld() {
  for (Queue& q : queues_) q.offered = q.connected = 0;
  for (const auto& [id, c] : contacts_) CountHeld(c, true);
}

void Router::Impl::TallyQueues(const Agent& a, bool add) {
  if (a.tallied_status == AgentStatus::kOffline) return;
  auto count = [add](uint32_t& n) { n = add ? n + 1 : n - 1; };
  for (const QueueEligibility& e : a.eligibility) {
    if (e.first_stage != 0) continue;
    Queue& q = queues_[e.queue];
    count(q.staffed_by_status[static_cast<int>(a.tallied_status)]);
    if (a.tallied_free & (1u << static_cast<int>(q.config.channel))) count(q.staffed_free);
  }
}

void Router::Impl::Untally(Agent& a) {
  TallyQueues(a, false);
  a.tallied_status = AgentStatus::kOffline;
  a.tallied_free = 0;
}

void Router::Impl::Retally(Agent& a) {
  const AgentStatus status = StatusOf(a);
  uint8_t free = 0;
  uint8_t channels = 0;
  for (int ch = 0; ch < kChannelCount; ++ch) {
    if (a.capacity[ch] > 0) channels |= 1u << ch;
    if (Offerable(a) && CanTake(a, Channel(ch))) free |= 1u << ch;
  }
  if (status != a.tallied_status || free != a.tallied_free) {
    TallyQueues(a, false);
    a.tallied_status = status;
    a.tallied_free = free;
    TallyQueues(a, true);
  }
  if (tally_rows_.size() <= a.index) tally_rows_.resize(a.index + 1);
  tally_rows_[a.index] = {status,          a.mode,     channels, a.accounted_until,
                          a.handling_time, a.idle_time};
}

void Router::Impl::AcquireSlot(Agent& a, Contact& c) {
  if (a.total_active == 0 && now_ - a.idle_since >= config_.rest) a.busy_streak_start = now_;
  const int ch = static_cast<int>(c.spec.channel);
  ++a.active[ch];
  ++a.total_active;
  if (IsExclusive(config_, c.spec.channel)) ++a.exclusive_active;
  a.held.insert(c.id);
  c.agent_index = a.index;
}

void Router::Impl::ReleaseSlot(Agent& a, Contact& c) {
  const int ch = static_cast<int>(c.spec.channel);
  // Releasing a slot the agent does not hold would wrap its unsigned
  // counters and make it look busy (or free) for good.
  CCR_CHECK(c.agent_index == static_cast<int32_t>(a.index) && a.active[ch] > 0)
      << "contact " << c.id << " releases a slot agent " << a.index << " does not hold";
  --a.active[ch];
  --a.total_active;
  if (IsExclusive(config_, c.spec.channel)) --a.exclusive_active;
  a.held.erase(c.id);
  c.agent_index = kNoAgentIndex;
  if (a.total_active == 0) {
    a.idle_since = now_;
    if (config_.max_continuous_busy > absl::ZeroDuration() && a.logged_in &&
        now_ - a.busy_streak_start >= config_.max_continuous_busy) {
      a.resting = true;
      a.rest_until = now_ + config_.rest;
      Schedule(Timer::RestEnd(a.rest_until, a.index));
      RefreshPools(a);
      EmitAgentState(a);
      return;
    }
  }
  RefreshPools(a);
}

void Router::Impl::ApplySpec(Agent& a, AgentSpec spec) {
  Untally(a);  // its eligibility changes; RefreshPools tallies it again
  a.spec = std::move(spec);
  a.skill_levels.clear();
  for (const SkillLevel& s : a.spec.skills) a.skill_levels[s.skill] = s.level;
  a.languages.clear();
  for (const std::string& l : a.spec.languages) a.languages.push_back(InternLanguage(l));
  std::sort(a.languages.begin(), a.languages.end());
  a.languages.erase(std::unique(a.languages.begin(), a.languages.end()), a.languages.end());
  a.capacity = CapacitiesOf(a.spec);
  ComputeEligibility(a);
}

std::array<uint32_t, kChannelCount> Router::Impl::CapacitiesOf(const AgentSpec& spec) const {
  std::array<uint32_t, kChannelCount> capacity{};
  if (spec.capacities.empty()) {
    for (int ch = 0; ch < kChannelCount; ++ch) capacity[ch] = config_.channels[ch].agent_capacity;
  }
  for (const auto& [ch, cap] : spec.capacities) {
    capacity[static_cast<int>(ch)] =
        cap == 0 ? config_.channels[static_cast<int>(ch)].agent_capacity : cap;
  }
  return capacity;
}

absl::Status Router::Impl::Login(const AgentSpec& spec, absl::Time now) {
  AdvanceTo(now);
  if (spec.agent_id.empty()) return absl::InvalidArgumentError("login.agent_id: required");
  AgentSpec normalized = spec;
  if (normalized.languages.empty()) normalized.languages.push_back(config_.default_language);
  CCR_RETURN_IF_ERROR(CheckNewLanguages(normalized.languages, "login.languages"));
  if (const Agent* already = FindAgent(spec.agent_id); already != nullptr && already->logged_in) {
    // A re-login may not shrink a channel below what the agent holds now
    // (found by the request fuzzer): finish or transfer those contacts first.
    const std::array<uint32_t, kChannelCount> capacity = CapacitiesOf(normalized);
    for (int ch = 0; ch < kChannelCount; ++ch) {
      if (already->active[ch] > capacity[ch]) {
        return absl::FailedPreconditionError(
            absl::StrCat("login.capacities: ", ChannelName(Channel(ch)), " capacity ", capacity[ch],
                         " is below the ", already->active[ch], " contacts agent '", spec.agent_id,
                         "' holds on it now"));
      }
    }
  }
  auto [it, inserted] = agent_index_.try_emplace(spec.agent_id, agents_.size());
  if (inserted) {
    agents_.push_back(std::make_unique<Agent>());
    agents_.back()->index = it->second;
    agents_.back()->idle_since = now_;
  }
  Agent& a = *agents_[it->second];
  if (a.logged_in) {
    for (const QueueEligibility& e : a.eligibility) {
      if (e.first_stage == 0) --queues_[e.queue].staffed;
    }
  }
  ApplySpec(a, std::move(normalized));
  for (const QueueEligibility& e : a.eligibility) {
    if (e.first_stage == 0) ++queues_[e.queue].staffed;
  }
  if (!a.logged_in) {
    a.logged_in = true;
    a.busy_streak_start = now_;
    a.consecutive_misses = 0;
    a.not_ready = !spec.start_available;
    a.not_ready_reason = a.not_ready ? "login" : "";
  }
  RefreshPools(a);
  EmitAgentState(a);
  MatchAgent(a);
  return absl::OkStatus();
}

void Router::Impl::WithdrawOffers(Agent& a, absl::string_view reason) {
  std::vector<ContactId> offered;
  for (ContactId id : a.held) {
    if (IndexedContact(id).state == ContactState::kOffered) offered.push_back(id);
  }
  for (ContactId id : offered) {
    Contact& c = IndexedContact(id);
    Event& e = Emit(EventKind::kOfferWithdrawn, &c);
    e.agent_id = a.spec.agent_id;
    e.reason = std::string(reason);
    ReleaseFromAgent(c);
    Requeue(c, "");
  }
}

void Router::Impl::Restarted(absl::Time now) {
  AdvanceTo(now);
  // Withdraw every offer first and re-queue afterwards, so no contact is
  // re-offered to a desktop whose own offers are about to be withdrawn.
  std::vector<ContactId> withdrawn;
  for (auto& a : agents_) {
    std::vector<ContactId> offered;
    for (ContactId id : a->held) {
      if (IndexedContact(id).state == ContactState::kOffered) offered.push_back(id);
    }
    for (ContactId id : offered) {
      Contact& c = IndexedContact(id);
      Event& e = Emit(EventKind::kOfferWithdrawn, &c);
      e.agent_id = a->spec.agent_id;
      e.reason = "engine restarted";
      ReleaseFromAgent(c);
      withdrawn.push_back(id);
    }
  }
  std::sort(withdrawn.begin(), withdrawn.end());
  for (ContactId id : withdrawn) Requeue(IndexedContact(id), "offer withdrawn: engine restarted");
}

void Router::Impl::ReleaseReservations(Agent& a) {
  std::vector<ContactId> reserved;
  for (const ContactKey& k : a.reserved) reserved.push_back(k.id);
  for (ContactId id : reserved) {
    Contact& c = IndexedContact(id);
    RemoveWaiting(c);
    c.reserved_for_index = kNoAgentIndex;
    InsertWaiting(c);
  }
  for (ContactId id : reserved) {
    Contact* c = FindContact(id);
    if (c != nullptr && IsWaiting(c->state)) MatchContact(*c);
  }
}

absl::Status Router::Impl::Logout(absl::string_view agent_id, absl::string_view reason,
                                  absl::Time now) {
  AdvanceTo(now);
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedInAgent(agent_id));
  Agent& a = *agent;
  a.not_ready = true;  // so nothing is offered back to it while it lets go
  a.not_ready_reason = std::string(reason);
  RefreshPools(a);
  std::vector<ContactId> held(a.held.begin(), a.held.end());
  std::vector<ContactId> requeue;
  for (ContactId id : held) {
    Contact& c = IndexedContact(id);
    if (c.state == ContactState::kOffered) {
      Event& e = Emit(EventKind::kOfferWithdrawn, &c);
      e.agent_id = a.spec.agent_id;
      e.reason = "agent_logged_out";
      ReleaseFromAgent(c);
      requeue.push_back(id);
    } else if (c.state == ContactState::kConnected) {
      // The conversation was cut off: serve the customer again, keeping their place.
      ReleaseFromAgent(c);
      AppendHistory(c.history, absl::StrCat("agent ", a.spec.agent_id, " logged out mid-contact (",
                                            reason, ")"));
      requeue.push_back(id);
    } else {  // wrap-up: the customer was served
      Event& e = Emit(EventKind::kWrapUpDone, &c);
      e.agent_id = a.spec.agent_id;
      e.reason = "agent_logged_out";
      ReleaseFromAgent(c);
      Retire(c, ContactState::kCompleted);
    }
  }
  for (const QueueEligibility& e : a.eligibility) {
    if (e.first_stage == 0) --queues_[e.queue].staffed;
  }
  a.logged_in = false;
  a.resting = false;
  RefreshPools(a);
  a.accounted_until = now_;  // the logout time, from which the retention counts
  EmitAgentState(a);
  ReleaseReservations(a);
  for (ContactId id : requeue) Requeue(IndexedContact(id), "");
  ScheduleAgentSweep(now_ + config_.limits.agent_retention);
  return absl::OkStatus();
}

void Router::Impl::ScheduleAgentSweep(absl::Time due) {
  const absl::Duration granularity =
      std::max(absl::Seconds(1), config_.limits.agent_retention / 16);
  const absl::Time at = absl::UnixEpoch() + absl::Ceil(due - absl::UnixEpoch(), granularity);
  if (timers_.HasAt(at, TimerKind::kForgetAgents)) return;  // that sweep will do
  Schedule(Timer::ForgetAgents(at));
}

void Router::Impl::ForgetLoggedOutAgents() {
  const absl::Duration retention = config_.limits.agent_retention;
  std::vector<int32_t> renumber(agents_.size(), kNoAgentIndex);
  absl::Time next_due = absl::InfiniteFuture();
  size_t kept = 0;
  for (size_t i = 0; i < agents_.size(); ++i) {
    const Agent& a = *agents_[i];
    // Logged out: holds nothing, reserves nothing, sits in no pool (Logout
    // released all of it), so only the references below can name it.
    const bool forget = !a.logged_in && a.accounted_until + retention <= now_;
    if (!forget) renumber[i] = static_cast<int32_t>(kept++);
    if (!forget && !a.logged_in) next_due = std::min(next_due, a.accounted_until + retention);
  }
  if (next_due != absl::InfiniteFuture()) ScheduleAgentSweep(next_due);  // e.g. retention grew
  if (kept == agents_.size()) return;

  auto remap = [&](int32_t& index) {
    if (index != kNoAgentIndex) index = renumber[index];
  };
  pools_.Clear();  // every pool is rebuilt below under the new numbers
  std::vector<std::unique_ptr<Agent>> agents;
  agents.reserve(kept);
  for (size_t i = 0; i < agents_.size(); ++i) {
    if (renumber[i] == kNoAgentIndex) {
      agent_index_.erase(agents_[i]->spec.agent_id);
      continue;
    }
    agents_[i]->index = renumber[i];
    agent_index_[agents_[i]->spec.agent_id] = renumber[i];
    agents.push_back(std::move(agents_[i]));
  }
  for (auto& [id, c] : contacts_) {
    remap(c.agent_index);  // held and reserved contacts belong to agents kept
    remap(c.reserved_for_index);
    const int32_t missed_by = c.missed_by_index;
    remap(c.missed_by_index);
    if (missed_by != kNoAgentIndex && c.missed_by_index == kNoAgentIndex)
      c.missed_until = absl::InfinitePast();
  }
  for (auto it = last_agent_.begin(); it != last_agent_.end();) {
    const int32_t agent = renumber[it->second.first];
    if (agent == kNoAgentIndex) {
      last_agent_.erase(it++);
    } else {
      it->second.first = agent;
      ++it;
    }
  }
  timers_.Rewrite([&](Timer& t) {
    if (t.kind != TimerKind::kRestEnd) return true;
    if (renumber[t.agent_index] == kNoAgentIndex) return false;  // stale: its agent logged out
    t.agent_index = renumber[t.agent_index];
    return true;
  });
  agents_ = std::move(agents);
  tally_rows_.resize(agents_.size());  // rewritten below under the new numbers
  for (auto& a : agents_) Repool(*a);
}

absl::Status Router::Impl::SetAvailable(absl::string_view agent_id, absl::Time now) {
  AdvanceTo(now);
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedInAgent(agent_id));
  Agent& a = *agent;
  a.not_ready = false;
  a.not_ready_reason.clear();
  a.consecutive_misses = 0;
  RefreshPools(a);
  EmitAgentState(a);
  MatchAgent(a);
  return absl::OkStatus();
}

absl::Status Router::Impl::SetNotReady(absl::string_view agent_id, absl::string_view reason,
                                       absl::Time now) {
  AdvanceTo(now);
  if (reason.empty()) return absl::InvalidArgumentError("set_state.reason: required for not-ready");
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedInAgent(agent_id));
  Agent& a = *agent;
  a.not_ready = true;
  a.not_ready_reason = std::string(reason);
  RefreshPools(a);
  EmitAgentState(a);
  WithdrawOffers(a, "agent_not_ready");
  ReleaseReservations(a);
  return absl::OkStatus();
}

void Router::Impl::Miss(Agent& a, Contact& c, EventKind kind, absl::string_view reason) {
  Event& e = Emit(kind, &c);
  e.agent_id = a.spec.agent_id;
  e.reason = std::string(reason);
  offers_.erase(c.offer);
  ReleaseSlot(a, c);
  c.missed_by_index = a.index;
  c.missed_until = now_ + config_.reoffer_cooldown;
  Schedule(Timer::ForContact(c.missed_until, TimerKind::kReofferCooldownEnd, c.id));
  ++a.consecutive_misses;
  if (config_.max_consecutive_misses > 0 &&
      a.consecutive_misses >= config_.max_consecutive_misses && !a.not_ready) {
    a.not_ready = true;
    a.not_ready_reason = "missed_offers";
    RefreshPools(a);
    EmitAgentState(a);
    Requeue(c, "");
    WithdrawOffers(a, "agent_not_ready");
    ReleaseReservations(a);
    return;
  }
  Requeue(c, "");
  MatchAgent(a);
}

absl::StatusOr<Contact*> Router::Impl::OfferedTo(const Agent& a, uint64_t offer_id) {
  auto it = offers_.find(offer_id);
  if (it == offers_.end()) {
    return absl::NotFoundError(
        absl::StrCat("offer_id: ", OfferIdString(offer_id),
                     " is not outstanding (expired, withdrawn or answered)"));
  }
  Contact* c = FindContact(it->second);
  if (c->agent_index != static_cast<int32_t>(a.index)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "offer_id: ", OfferIdString(offer_id), " is not offered to agent '", a.spec.agent_id, "'"));
  }
  return c;
}

absl::Status Router::Impl::Accept(absl::string_view agent_id, uint64_t offer_id, absl::Time now) {
  AdvanceTo(now);
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedInAgent(agent_id));
  Agent& a = *agent;
  CCR_ASSIGN_OR_RETURN(Contact* const offered, OfferedTo(a, offer_id));
  Contact& c = *offered;
  offers_.erase(offer_id);
  SetState(c, ContactState::kConnected);
  a.consecutive_misses = 0;
  Queue& q = queues_[c.queue];
  const absl::Duration wait = now_ - c.arrival;
  ++q.stats.answered;
  q.stats.total_answer_wait += wait;
  if (wait <= q.config.answer_within) ++q.stats.answered_within_target;
  q.recent_answers.Record(wait <= q.config.answer_within);
  if (!c.spec.customer_id.empty()) last_agent_[c.spec.customer_id] = {a.index, now_};
  Event& e = Emit(EventKind::kAssigned, &c);
  e.agent_id = a.spec.agent_id;
  e.offer_id = offer_id;
  return absl::OkStatus();
}

absl::Status Router::Impl::Reject(absl::string_view agent_id, uint64_t offer_id,
                                  absl::string_view reason, absl::Time now) {
  AdvanceTo(now);
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedInAgent(agent_id));
  Agent& a = *agent;
  CCR_ASSIGN_OR_RETURN(Contact* const offered, OfferedTo(a, offer_id));
  Contact& c = *offered;
  Miss(a, c, EventKind::kOfferRejected, reason.empty() ? "rejected" : reason);
  return absl::OkStatus();
}

namespace {
absl::Status NotHeldError(absl::string_view what, ContactId id, absl::string_view agent_id) {
  return absl::FailedPreconditionError(absl::StrCat("contact_id: ", ContactIdString(id), " is not ",
                                                    what, " with agent '", agent_id, "'"));
}
}  // namespace

absl::Status Router::Impl::Complete(absl::string_view agent_id, ContactId id,
                                    const Outcome& outcome, absl::Time now) {
  AdvanceTo(now);
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedInAgent(agent_id));
  Agent& a = *agent;
  Contact* c = FindContact(id);
  if (c == nullptr || c->agent_index != static_cast<int32_t>(a.index) ||
      c->state != ContactState::kConnected) {
    return NotHeldError("connected", id, agent_id);
  }
  Queue& q = queues_[c->queue];
  ++q.stats.completed;
  if (outcome.resolved) ++q.stats.resolved;
  if (c->offered_at != absl::InfinitePast() && c->offered_at <= now_) {
    q.handle_time_total += now_ - c->offered_at;
    ++q.handles_measured;
  }
  SetState(*c, ContactState::kWrapUp);
  Event& e = Emit(EventKind::kCompleted, c);
  e.agent_id = a.spec.agent_id;
  e.outcome = outcome;
  if (config_.follow_ups.survey_enabled) {
    Event survey = e;
    survey.kind = EventKind::kSurveyDue;
    survey.reason = "satisfaction survey";
    deferred_events_.emplace(now_ + config_.follow_ups.survey_delay, std::move(survey));
  }
  if (!outcome.resolved || outcome.follow_up_due) {
    CreateFollowUp(*c, config_.follow_ups.unresolved_follow_up, "resolution follow-up");
  }
  const absl::Duration wrap_up = config_.channels[static_cast<int>(c->spec.channel)].wrap_up;
  if (wrap_up <= absl::ZeroDuration()) {
    Emit(EventKind::kWrapUpDone, c).agent_id = a.spec.agent_id;
    ReleaseSlot(a, *c);
    Retire(*c, ContactState::kCompleted);
    MatchAgent(a);
  } else {
    Schedule(Timer::ForContact(now_ + wrap_up, TimerKind::kWrapUpEnd, id));
    EmitAgentState(a);
  }
  return absl::OkStatus();
}

absl::Status Router::Impl::WrapUpDone(absl::string_view agent_id, ContactId id, absl::Time now) {
  AdvanceTo(now);
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedInAgent(agent_id));
  Agent& a = *agent;
  Contact* c = FindContact(id);
  if (c == nullptr || c->agent_index != static_cast<int32_t>(a.index) ||
      c->state != ContactState::kWrapUp) {
    return NotHeldError("in wrap-up", id, agent_id);
  }
  Emit(EventKind::kWrapUpDone, c).agent_id = a.spec.agent_id;
  ReleaseSlot(a, *c);
  Retire(*c, ContactState::kCompleted);
  MatchAgent(a);
  return absl::OkStatus();
}

absl::Status Router::Impl::Transfer(absl::string_view agent_id, ContactId id,
                                    absl::string_view to_queue, absl::string_view note,
                                    absl::Time now) {
  AdvanceTo(now);
  CCR_ASSIGN_OR_RETURN(Agent* const agent, LoggedInAgent(agent_id));
  Agent& a = *agent;
  Contact* c = FindContact(id);
  if (c == nullptr || c->agent_index != static_cast<int32_t>(a.index) ||
      c->state != ContactState::kConnected) {
    return NotHeldError("connected", id, agent_id);
  }
  auto target = queue_index_.find(to_queue);
  if (target == queue_index_.end()) {
    return absl::NotFoundError(absl::StrCat("transfer.to_queue: unknown queue '", to_queue, "'"));
  }
  Queue& to = queues_[target->second];
  if (to.config.channel != c->spec.channel) {
    return absl::InvalidArgumentError(absl::StrCat(
        "transfer.to_queue: queue '", to_queue, "' serves ", ChannelName(to.config.channel),
        ", the contact is ", ChannelName(c->spec.channel)));
  }
  Queue& from = queues_[c->queue];
  ++from.stats.transferred_out;
  Event& e = Emit(EventKind::kTransferred, c);
  e.agent_id = a.spec.agent_id;
  e.reason = absl::StrCat("to ", to_queue);
  ReleaseSlot(a, *c);
  AppendHistory(c->history, absl::StrCat(a.spec.agent_id, " (", from.config.name, "): ", note));
  CountHeld(*c, false);
  c->queue = to.index;
  CountHeld(*c, true);
  c->spec.queue = to.config.name;
  c->language = c->spec.language.empty() ? to.default_language : c->language;
  c->arrival = now_;
  c->breached = false;
  ++c->epoch;
  Rescore(*c);
  ++to.stats.submitted;
  Emit(EventKind::kQueued, c).reason = "transferred";
  Enqueue(*c);
  MatchAgent(a);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Matching

void Router::Impl::Offer(Agent& a, Contact& c, absl::string_view why) {
  RemoveWaiting(c);
  c.reserved_for_index = kNoAgentIndex;
  SetState(c, ContactState::kOffered);
  c.offer = next_offer_++;
  c.offered_at = now_;
  a.last_offer = now_;
  AcquireSlot(a, c);
  offers_[c.offer] = c.id;
  const absl::Time deadline =
      now_ + config_.channels[static_cast<int>(c.spec.channel)].offer_timeout;
  Schedule(Timer::OfferTimeout(deadline, c.id, c.offer));
  Event& e = Emit(EventKind::kOffered, &c);
  e.agent_id = a.spec.agent_id;
  e.offer_id = c.offer;
  e.deadline = deadline;
  e.reason = std::string(why);
  RefreshPools(a);
}

void Router::Impl::MatchContact(Contact& c) {
  if (!IsWaiting(c.state)) return;
  if (c.reserved_for_index != kNoAgentIndex) {
    Agent& advisor = *agents_[c.reserved_for_index];
    if (Offerable(advisor) && CanTake(advisor, c.spec.channel)) {
      Offer(advisor, c, "dedicated advisor");
    }
    return;
  }
  // A returning customer's last agent, when free and qualified.
  if (!c.spec.customer_id.empty()) {
    auto it = last_agent_.find(c.spec.customer_id);
    if (it != last_agent_.end() && now_ - it->second.second <= config_.sticky_window) {
      Agent& last = *agents_[it->second.first];
      if (Offerable(last) && CanTake(last, c.spec.channel) && Eligible(last, c) &&
          !Excluded(c, last.index)) {
        Offer(last, c, "sticky: last agent");
        return;
      }
    }
  }
  // The one agent in cooldown for this contact, if any, is passed over.
  const int32_t excluded = now_ < c.missed_until ? c.missed_by_index : kNoAgentIndex;
  const AgentKey* best = nullptr;
  for (uint32_t stage = 0; stage <= c.stage; ++stage) {
    // Every special-skill set that covers what the contact needs.
    for (uint32_t special = c.special; special <= kAllSpecialSkills; ++special) {
      if ((special & c.special) != c.special) continue;
      const AgentKey* head =
          pools_.Best(PoolKey(c.queue, stage, c.language, special, c.policy), excluded);
      if (head != nullptr && (best == nullptr || *head < *best)) best = head;
    }
  }
  if (best != nullptr) {
    Agent& a = *agents_[best->agent_index];
    // Why this agent and not another, in the order the pools compare them.
    if (c.policy == RoutingPolicy::kFifo) {
      Offer(a, c, "fifo: longest idle");
    } else {
      Offer(a, c,
            absl::StrCat("best available: breadth ", best->breadth, ", proficiency ",
                         -best->neg_proficiency));
    }
  }
}

namespace {

// How a freed agent ranks the head of each of its queues (MatchAgent).
// Larger is served first.
struct QueuePick {
  // 3: starving, 2: at risk, 1: in time in a queue short of its objective, 0: none.
  int tier = 0;
  int32_t proficiency = 0;  // the agent's in the queue (ignored when starving)
  int64_t late_ms = 0;      // now minus the head's rank (its deadline less urgency)
  ContactId id = 0;         // ties: the older contact
  friend bool operator<(const QueuePick& a, const QueuePick& b) {
    const int32_t pa = a.tier == 3 ? 0 : a.proficiency;
    const int32_t pb = b.tier == 3 ? 0 : b.proficiency;
    return std::tie(a.tier, pa, a.late_ms, b.id) < std::tie(b.tier, pb, b.late_ms, a.id);
  }
};

// The offer's reason for a contact at risk (MatchAgent): how far from its
// rank, and from its target once past its rank (urgency points put a rank
// that far before the deadline).
std::string AtRiskReason(int64_t late_ms, absl::Duration to_target, absl::string_view queue) {
  if (late_ms <= 0) {
    return absl::StrCat("at risk: ", absl::FormatDuration(absl::Milliseconds(-late_ms)),
                        " to its rank in ", queue);
  }
  return absl::StrCat("at risk: ", absl::FormatDuration(absl::Milliseconds(late_ms)),
                      " past its rank, ", absl::FormatDuration(to_target), " to its target in ",
                      queue);
}

// The offer's reason for a contact in time taken because its queue is short of
// its service objective (MatchAgent).
std::string ShortOfObjectiveReason(const RecentAnswers& recent, double objective,
                                   absl::Duration to_target, absl::string_view queue) {
  return absl::StrCat("short of objective: ", recent.WithinTarget(), " of the last ", recent.count,
                      " answers within target (objective ", std::lround(100 * objective), " %), ",
                      absl::FormatDuration(to_target), " to its target in ", queue);
}

}  // namespace

void Router::Impl::MatchAgent(Agent& a) {
  // An agent who just missed several contacts may be excluded from many
  // bucket heads; looking past this many per bucket bounds the cost.
  constexpr int kMaxExcludedSkips = 16;
  while (Offerable(a)) {  // ends: every offer takes a slot
    Contact* best = nullptr;
    absl::string_view why = "dedicated advisor";
    std::string why_text;
    for (const ContactKey& k : a.reserved) {
      Contact& c = *FindContact(k.id);
      if (CanTake(a, c.spec.channel)) {
        best = &c;
        break;
      }
    }
    if (best == nullptr) {
      // Among the heads of the agent's queues (README "Routing rules"), each
      // measured against its rank (SLA deadline less urgency, so priorities
      // count here too): emergencies first; then a head more than
      // kStarvingAfterTargets of its queue's targets past its rank; then a
      // queue's best-ranked contact still in time (before its SLA deadline)
      // once less than kAtRiskWithin before its rank or past it (at risk),
      // ahead of its queue's contacts already past their target, whatever
      // their points: it can still make its target, they no longer can; the
      // same, at any time before its deadline, in a queue short of its
      // service objective (fewer than ServiceObjective() of its recent answers
      // within target) while that queue's head is less than one target past
      // its rank, so a queue that keeps missing turns its agents to the
      // contacts it can still save, and the wait of those it cannot stays
      // bounded; then the queue where the agent is most proficient (its own
      // skill first, as static skill priorities do, so a specialist serves its
      // specialty and generalists the general line); within each, the best
      // rank.
      //
      // When every head arrived under RoutingPolicy::kFifo, the classic ACD
      // rule instead: emergencies first, then the longest-waiting head (its
      // arrival, then its id). Heads that arrived under kFifo but meet kRanked
      // heads (an A/B test's period boundary, or queues of both policies)
      // compete by the ranked rule with their rank: their deadline, no urgency.
      const int64_t now_ms = absl::ToUnixMillis(now_);
      const ContactKey* best_key = nullptr;
      QueuePick best_pick;
      const ContactKey* oldest_key = nullptr;
      absl::Time oldest_arrival = absl::InfiniteFuture();
      bool any_ranked = false;
      for (const QueueEligibility& e : a.eligibility) {
        const Queue& q = queues_[e.queue];
        if (!CanTake(a, q.config.channel)) continue;
        const WaitingContacts::Heads heads = waiting_.BestHeads(
            {e.queue, e.first_stage, a.special, a.languages},
            [&](const ContactKey& k) { return Excluded(*FindContact(k.id), a.index); },
            kMaxExcludedSkips);
        const ContactKey* head = heads.best;
        if (head == nullptr) continue;
        // A queue only ever under kRanked needs no look at the contact.
        if (q.policies.size() == 1 && q.policies[0] == RoutingPolicy::kRanked) {
          any_ranked = true;
        } else {
          const Contact& hc = IndexedContact(head->id);
          any_ranked = any_ranked || hc.policy == RoutingPolicy::kRanked;
          if (oldest_key == nullptr || head->priority_class < oldest_key->priority_class ||
              (head->priority_class == oldest_key->priority_class &&
               std::tie(hc.arrival, head->id) < std::tie(oldest_arrival, oldest_key->id))) {
            oldest_key = head;
            oldest_arrival = hc.arrival;
          }
        }
        QueuePick pick{0, e.proficiency, now_ms - head->rank_ms, head->id};
        const int64_t target_ms = absl::ToInt64Milliseconds(q.config.answer_within);
        const ContactKey* in_time = heads.in_time;
        if (pick.late_ms > kStarvingAfterTargets * target_ms) {
          pick.tier = 3;
        } else if (in_time != nullptr && in_time->priority_class == head->priority_class) {
          if (now_ms > in_time->rank_ms - absl::ToInt64Milliseconds(kAtRiskWithin)) {
            head = in_time;
            pick = QueuePick{2, e.proficiency, now_ms - head->rank_ms, head->id};
          } else if (pick.late_ms <= target_ms &&
                     q.recent_answers.Below(ServiceObjective(q.config))) {
            head = in_time;
            pick = QueuePick{1, e.proficiency, now_ms - head->rank_ms, head->id};
          }
        }
        if (best_key == nullptr || head->priority_class < best_key->priority_class ||
            (head->priority_class == best_key->priority_class && best_pick < pick)) {
          best_key = head;
          best_pick = pick;
        }
      }
      if (best_key == nullptr) return;
      if (!any_ranked) {
        best = FindContact(oldest_key->id);
        const absl::string_view queue = queues_[best->queue].config.name;
        why_text = oldest_key->priority_class == 0 ? absl::StrCat("fifo: emergency first; ", queue)
                                                   : absl::StrCat("fifo: longest waiting; ", queue);
        Offer(a, *best, why_text);
        continue;
      }
      best = FindContact(best_key->id);
      const absl::string_view queue = queues_[best->queue].config.name;
      if (best_key->priority_class == 0) {
        why_text = absl::StrCat("emergency first; ", queue);
      } else if (best_pick.tier == 3) {
        why_text = absl::StrCat("starving: over ", kStarvingAfterTargets,
                                " targets past its rank in ", queue);
      } else if (best_pick.tier == 1) {
        const Queue& q = queues_[best->queue];
        why_text = ShortOfObjectiveReason(q.recent_answers, ServiceObjective(q.config),
                                          best->deadline - now_, queue);
      } else if (best_pick.tier == 2) {
        why_text = AtRiskReason(best_pick.late_ms, best->deadline - now_, queue);
      } else {
        why_text =
            absl::StrCat("strongest skill: proficiency ", best_pick.proficiency, " in ", queue);
      }
      why = why_text;
    }
    Offer(a, *best, why);
  }
}

Event& Router::Impl::Emit(EventKind kind, const Contact* c) {
  // Not kept: callers fill a scratch event (reset, since some copy it, as
  // Complete does for the survey it defers).
  if (!emit_events_) scratch_event_ = Event{};
  Event& e = emit_events_ ? events_.emplace_back() : scratch_event_;
  e.sequence = ++events_emitted_;
  e.kind = kind;
  e.time = now_;
  if (c != nullptr) {
    e.contact = c->id;
    e.queue = queues_[c->queue].config.name;
    e.channel = c->spec.channel;
    e.tier = c->spec.tier;
    e.wait = c->state == ContactState::kScheduled ? absl::ZeroDuration() : now_ - c->arrival;
    e.stage = c->stage;
    e.emergency = c->score.emergency;
    if (c->agent_index != kNoAgentIndex) e.agent_id = agents_[c->agent_index]->spec.agent_id;
    if (c->state == ContactState::kOffered) e.offer_id = c->offer;
  }
  return e;
}

Event& Router::Impl::EmitForAgent(EventKind kind, const Agent& a) {
  Event& e = Emit(kind, nullptr);
  e.agent_id = a.spec.agent_id;
  return e;
}

// ---------------------------------------------------------------------------
// Router: forwards to Impl.

Router::Router(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Router::~Router() = default;

absl::StatusOr<std::unique_ptr<Router>> Router::Create(RouterConfig config) {
  CCR_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl, Impl::Create(std::move(config)));
  return std::unique_ptr<Router>(new Router(std::move(impl)));
}

absl::StatusOr<std::vector<ContactId>> Router::Reconfigure(RouterConfig config, absl::Time now) {
  return impl_->Reconfigure(std::move(config), now);
}
absl::StatusOr<SubmitResult> Router::Submit(ContactSpec spec, absl::Time now,
                                            uint64_t request_digest) {
  return impl_->Submit(std::move(spec), now, request_digest);
}
absl::Status Router::Update(ContactId id, const Signals& signals, std::optional<Tier> tier,
                            absl::Time now) {
  return impl_->Update(id, signals, tier, now);
}
absl::Status Router::Abandon(ContactId id, absl::Time now) { return impl_->Abandon(id, now); }
absl::Status Router::Cancel(ContactId id, absl::string_view reason, absl::Time now) {
  return impl_->Cancel(id, reason, now);
}
absl::Status Router::Login(const AgentSpec& spec, absl::Time now) {
  return impl_->Login(spec, now);
}
absl::Status Router::Logout(absl::string_view agent_id, absl::string_view reason, absl::Time now) {
  return impl_->Logout(agent_id, reason, now);
}
absl::Status Router::SetAvailable(absl::string_view agent_id, absl::Time now) {
  return impl_->SetAvailable(agent_id, now);
}
absl::Status Router::SetNotReady(absl::string_view agent_id, absl::string_view reason,
                                 absl::Time now) {
  return impl_->SetNotReady(agent_id, reason, now);
}
absl::Status Router::Accept(absl::string_view agent_id, uint64_t offer_id, absl::Time now) {
  return impl_->Accept(agent_id, offer_id, now);
}
absl::Status Router::Reject(absl::string_view agent_id, uint64_t offer_id, absl::string_view reason,
                            absl::Time now) {
  return impl_->Reject(agent_id, offer_id, reason, now);
}
absl::Status Router::Complete(absl::string_view agent_id, ContactId id, const Outcome& outcome,
                              absl::Time now) {
  return impl_->Complete(agent_id, id, outcome, now);
}
absl::Status Router::WrapUpDone(absl::string_view agent_id, ContactId id, absl::Time now) {
  return impl_->WrapUpDone(agent_id, id, now);
}
absl::Status Router::Transfer(absl::string_view agent_id, ContactId id, absl::string_view to_queue,
                              absl::string_view note, absl::Time now) {
  return impl_->Transfer(agent_id, id, to_queue, note, now);
}
void Router::Tick(absl::Time now) { impl_->Tick(now); }
void Router::Restarted(absl::Time now) { impl_->Restarted(now); }
std::optional<absl::Time> Router::NextDeadline() const { return impl_->NextDeadline(); }
void Router::SetEventsEnabled(bool enabled) { impl_->set_emit_events(enabled); }
uint64_t Router::events_emitted() const { return impl_->events_emitted(); }
std::vector<Event> Router::TakeEvents() {
  std::vector<Event> events = impl_->TakeEvents();
  if (observer_ != nullptr) {
    for (const Event& e : events) observer_->OnEvent(e);
  }
  return events;
}
std::optional<ContactId> Router::FindByIdempotencyKey(absl::string_view key) const {
  return impl_->FindByIdempotencyKey(key);
}
std::optional<IdempotencyView> Router::LookupIdempotencyKey(absl::string_view key) const {
  return impl_->LookupIdempotencyKey(key);
}
absl::StatusOr<ContactView> Router::GetContact(ContactId id, absl::Time now) const {
  return impl_->GetContact(id, now);
}
absl::StatusOr<ContactPlace> Router::Locate(ContactId id) const { return impl_->Locate(id); }
absl::StatusOr<Explanation> Router::Explain(ContactId id, absl::Time now) const {
  return impl_->Explain(id, now);
}
std::vector<QueueStats> Router::Queues(absl::Time now) const { return impl_->Queues(now); }
absl::StatusOr<AgentView> Router::GetAgent(absl::string_view agent_id, absl::Time now) const {
  return impl_->GetAgent(agent_id, now);
}
std::vector<AgentView> Router::Agents(absl::Time now) const { return impl_->Agents(now); }
std::vector<AgentView> Router::AgentsPage(absl::string_view after_agent_id, size_t limit,
                                          absl::Time now, bool* more) const {
  return impl_->AgentsPage(after_agent_id, limit, now, more);
}
size_t Router::known_agents() const { return impl_->known_agents(); }
AgentTally Router::CountAgents(absl::Time now) const { return impl_->CountAgents(now); }
const RouterConfig& Router::config() const { return impl_->config(); }
absl::Time Router::now() const { return impl_->now(); }
size_t Router::live_contacts() const { return impl_->live_contacts(); }
absl::Status Router::CheckInvariants() const { return impl_->CheckInvariants(); }

}  // namespace ccr
