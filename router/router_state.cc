// Snapshots: Router::Save() and Router::Restore(). Only persistent facts are
// saved; buckets, pools, offers, held sets and staffing counts are rebuilt
// from them with the same code the commands use.
#include "router/router_state.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "router/internal/router_impl.h"

namespace ccr {

namespace {

// A timer's fields in the snapshot's two numbers (kept as they were before
// Timer had a field per meaning, so snapshots keep their format): `id` is the
// contact, or the agent index for kRestEnd; `aux` is the offer id
// (kOfferTimeout), epoch << 8 | stage (kOverflowStep), the epoch
// (kSlaDeadline, kExpire, kReservationEnd, kSeniorRelax), or 0.
TimerRecord ToRecord(const Timer& t) {
  TimerRecord r{t.at, t.sequence, static_cast<uint8_t>(t.kind), t.contact, 0};
  switch (t.kind) {
    case TimerKind::kOfferTimeout:
      r.aux = t.offer;
      break;
    case TimerKind::kOverflowStep:
      r.aux = (uint64_t{t.epoch} << 8) | t.stage;
      break;
    case TimerKind::kSlaDeadline:
    case TimerKind::kExpire:
    case TimerKind::kReservationEnd:
    case TimerKind::kSeniorRelax:
      r.aux = t.epoch;
      break;
    case TimerKind::kRestEnd:
      r.id = t.agent_index;
      break;
    case TimerKind::kScheduledStart:
    case TimerKind::kWrapUpEnd:
    case TimerKind::kReofferCooldownEnd:
    case TimerKind::kForgetAgents:
      break;
  }
  return r;
}

// The inverse of ToRecord; nullopt when a number does not fit its field.
// REQUIRES: r.kind <= kLastTimerKind.
std::optional<Timer> FromRecord(const TimerRecord& r) {
  Timer t;
  t.at = r.at;
  t.sequence = r.sequence;
  t.kind = static_cast<TimerKind>(r.kind);
  const uint64_t epoch = t.kind == TimerKind::kOverflowStep ? r.aux >> 8 : r.aux;
  switch (t.kind) {
    case TimerKind::kOfferTimeout:
      t.contact = r.id;
      t.offer = r.aux;
      break;
    case TimerKind::kOverflowStep:
    case TimerKind::kSlaDeadline:
    case TimerKind::kExpire:
    case TimerKind::kReservationEnd:
    case TimerKind::kSeniorRelax:
      if (epoch > UINT32_MAX) return std::nullopt;
      t.contact = r.id;
      t.epoch = static_cast<uint32_t>(epoch);
      if (t.kind == TimerKind::kOverflowStep) t.stage = r.aux & 0xff;
      break;
    case TimerKind::kRestEnd:
      if (r.id > UINT32_MAX) return std::nullopt;
      t.agent_index = static_cast<uint32_t>(r.id);
      break;
    case TimerKind::kScheduledStart:
    case TimerKind::kWrapUpEnd:
    case TimerKind::kReofferCooldownEnd:
    case TimerKind::kForgetAgents:
      t.contact = r.id;
      break;
  }
  return t;
}

bool IsLive(ContactState s) {
  return s == ContactState::kScheduled || s == ContactState::kQueued ||
         s == ContactState::kOffered || s == ContactState::kConnected || s == ContactState::kWrapUp;
}

}  // namespace

RouterState Router::Impl::Save() const {
  RouterState st;
  st.now = now_;
  st.next_contact = next_contact_;
  st.next_offer = next_offer_;
  st.next_timer = timers_.next_sequence();
  st.events_emitted = events_emitted_;
  st.languages = language_names_;
  auto agent_name = [&](int32_t index) {
    return index == kNoAgentIndex ? std::string() : agents_[index]->spec.agent_id;
  };

  st.contacts.reserve(contacts_.size());
  for (const auto& [id, c] : contacts_) {
    ContactRecord& r = st.contacts.emplace_back();
    r.id = c.id;
    r.spec = c.spec;
    r.queue = queues_[c.queue].config.name;
    r.created = c.created;
    r.arrival = c.arrival;
    r.stage = c.stage;
    r.epoch = c.epoch;
    r.state = c.state;
    r.agent_id = agent_name(c.agent_index);
    r.reserved_for = agent_name(c.reserved_for_index);
    r.offer = c.offer;
    r.offered_at = c.offered_at;
    r.missed_by = agent_name(c.missed_by_index);
    r.missed_until = c.missed_until;
    r.breached = c.breached;
    r.follow_up = c.follow_up;
    r.history = c.history;
  }
  std::sort(st.contacts.begin(), st.contacts.end(),
            [](const ContactRecord& a, const ContactRecord& b) { return a.id < b.id; });

  st.agents.reserve(agents_.size());
  for (const auto& a : agents_) {
    AgentRecord& r = st.agents.emplace_back();
    r.spec = a->spec;
    r.logged_in = a->logged_in;
    r.not_ready = a->not_ready;
    r.not_ready_reason = a->not_ready_reason;
    r.resting = a->resting;
    r.rest_until = a->rest_until;
    r.consecutive_misses = a->consecutive_misses;
    r.last_offer = a->last_offer;
    r.idle_since = a->idle_since;
    r.busy_streak_start = a->busy_streak_start;
    r.mode = static_cast<uint8_t>(a->mode);
    r.accounted_until = a->accounted_until;
    r.handling_time = a->handling_time;
    r.idle_time = a->idle_time;
  }

  for (const Queue& q : queues_) {
    QueueRecord& r = st.queues.emplace_back();
    r.name = q.config.name;
    r.counters = q.stats;
    r.handle_time_total = q.handle_time_total;
    r.handles_measured = q.handles_measured;
    r.recent_within_target_bits = q.recent_answers.within_target_bits;
    r.recent_answers = q.recent_answers.count;
  }

  for (const auto& [customer, last] : last_agent_) {
    st.sticky.push_back({customer, agents_[last.first]->spec.agent_id, last.second});
  }
  std::sort(st.sticky.begin(), st.sticky.end(), [](const StickyRecord& a, const StickyRecord& b) {
    return a.customer_id < b.customer_id;
  });
  for (const auto& [key, entry] : idempotency_.entries()) {
    IdempotencyRecord& rec = st.idempotency.emplace_back();
    rec.key = std::string(key);
    rec.contact = entry.contact;
    rec.expires = entry.expires;
    rec.request_digest = entry.request_digest;
    if (entry.ended) {
      rec.ended = entry.ended_state;
      rec.ended_queue = ended_queue_names_[entry.ended_queue];
    }
  }
  std::sort(st.idempotency.begin(), st.idempotency.end(),
            [](const IdempotencyRecord& a, const IdempotencyRecord& b) { return a.key < b.key; });
  for (const auto& [due, event] : deferred_events_) st.deferred_events.push_back({due, event});
  for (const Timer& t : timers_) st.timers.push_back(ToRecord(t));
  return st;
}

absl::StatusOr<std::unique_ptr<Router::Impl>> Router::Impl::Restore(RouterConfig config,
                                                                    const RouterState& st) {
  auto impl = std::make_unique<Impl>();
  Impl& r = *impl;
  for (const std::string& language : st.languages) r.InternLanguage(language);
  CCR_RETURN_IF_ERROR(r.LoadConfig(std::move(config)));
  r.now_ = st.now;
  r.next_contact_ = st.next_contact;
  r.next_offer_ = st.next_offer;
  r.timers_.set_next_sequence(st.next_timer);
  r.events_emitted_ = st.events_emitted;

  for (size_t i = 0; i < st.queues.size(); ++i) {
    const QueueRecord& qr = st.queues[i];
    auto it = r.queue_index_.find(qr.name);
    if (it == r.queue_index_.end()) {
      return absl::DataLossError(absl::StrCat("state.queues[", i, "]: queue '", qr.name,
                                              "' is not in the snapshot's config"));
    }
    Queue& q = r.queues_[it->second];
    q.stats = qr.counters;
    q.handle_time_total = qr.handle_time_total;
    q.handles_measured = qr.handles_measured;
    if (qr.recent_answers > kServiceObjectiveWindow) {
      return absl::DataLossError(absl::StrCat("state.queues[", i,
                                              "].recent_answers: ", qr.recent_answers,
                                              " is over the window of ", kServiceObjectiveWindow));
    }
    q.recent_answers.within_target_bits = qr.recent_within_target_bits;
    q.recent_answers.count = qr.recent_answers;
  }

  for (size_t i = 0; i < st.agents.size(); ++i) {
    const AgentRecord& ar = st.agents[i];
    if (!r.agent_index_.emplace(ar.spec.agent_id, i).second) {
      return absl::DataLossError(
          absl::StrCat("state.agents[", i, "]: duplicate agent '", ar.spec.agent_id, "'"));
    }
    if (ar.mode > static_cast<uint8_t>(Agent::Mode::kIdle)) {
      return absl::DataLossError(absl::StrCat("state.agents[", i, "].mode: out of range"));
    }
    auto a = std::make_unique<Agent>();
    a->index = i;
    r.ApplySpec(*a, ar.spec);
    a->logged_in = ar.logged_in;
    a->not_ready = ar.not_ready;
    a->not_ready_reason = ar.not_ready_reason;
    a->resting = ar.resting;
    a->rest_until = ar.rest_until;
    a->consecutive_misses = ar.consecutive_misses;
    a->last_offer = ar.last_offer;
    a->idle_since = ar.idle_since;
    a->busy_streak_start = ar.busy_streak_start;
    a->mode = static_cast<Agent::Mode>(ar.mode);
    a->accounted_until = ar.accounted_until;
    a->handling_time = ar.handling_time;
    a->idle_time = ar.idle_time;
    if (a->logged_in) {
      for (const QueueEligibility& e : a->eligibility) {
        if (e.first_stage == 0) ++r.queues_[e.queue].staffed;
      }
    }
    r.agents_.push_back(std::move(a));
  }
  auto agent_index = [&](const std::string& id, size_t i,
                         absl::string_view field) -> absl::StatusOr<int32_t> {
    if (id.empty()) return kNoAgentIndex;
    auto it = r.agent_index_.find(id);
    if (it == r.agent_index_.end()) {
      return absl::DataLossError(
          absl::StrCat("state.contacts[", i, "].", field, ": unknown agent '", id, "'"));
    }
    return static_cast<int32_t>(it->second);
  };

  for (size_t i = 0; i < st.contacts.size(); ++i) {
    const ContactRecord& cr = st.contacts[i];
    const std::string field = absl::StrCat("state.contacts[", i, "]");
    auto q = r.queue_index_.find(cr.queue);
    if (q == r.queue_index_.end()) {
      return absl::DataLossError(absl::StrCat(field, ".queue: unknown queue '", cr.queue, "'"));
    }
    if (!IsLive(cr.state)) {
      return absl::DataLossError(
          absl::StrCat(field, ".state: ", ContactStateName(cr.state), " contacts are never kept"));
    }
    CCR_ASSIGN_OR_RETURN(const int32_t agent, agent_index(cr.agent_id, i, "agent_id"));
    CCR_ASSIGN_OR_RETURN(const int32_t reserved, agent_index(cr.reserved_for, i, "reserved_for"));
    CCR_ASSIGN_OR_RETURN(const int32_t missed, agent_index(cr.missed_by, i, "missed_by"));
    const bool held = cr.state == ContactState::kOffered || cr.state == ContactState::kConnected ||
                      cr.state == ContactState::kWrapUp;
    if (held != (agent != kNoAgentIndex)) {
      return absl::DataLossError(absl::StrCat(field, ".agent_id: a ", ContactStateName(cr.state),
                                              " contact ", held ? "needs" : "cannot have",
                                              " an agent"));
    }
    auto [it, inserted] = r.contacts_.try_emplace(cr.id);
    if (!inserted || cr.id == 0 || cr.id >= r.next_contact_) {
      return absl::DataLossError(absl::StrCat(field, ".id: ", cr.id, " is duplicate or unissued"));
    }
    Contact& c = it->second;
    c.id = cr.id;
    c.spec = cr.spec;
    c.queue = q->second;
    c.created = cr.created;
    c.arrival = cr.arrival;
    c.stage = cr.stage;
    c.epoch = cr.epoch;
    c.state = cr.state;
    c.reserved_for_index = reserved;
    c.offer = cr.offer;
    c.offered_at = cr.offered_at;
    c.missed_by_index = missed;
    c.missed_until = cr.missed_until;
    c.breached = cr.breached;
    c.follow_up = cr.follow_up;
    c.history = cr.history;
    const Queue& queue = r.queues_[c.queue];
    c.language =
        c.spec.language.empty() ? queue.default_language : r.InternLanguage(c.spec.language);
    r.Rescore(c);
    if (c.stage >= queue.stages.size()) {
      return absl::DataLossError(absl::StrCat(field, ".stage: ", c.stage, " is past the last"));
    }
    if (c.state == ContactState::kQueued) {
      r.InsertWaiting(c);
    } else if (held) {
      // What AcquireSlot did when the offer was made, without its side effects.
      Agent& a = *r.agents_[agent];
      const Channel ch = c.spec.channel;
      ++a.active[static_cast<int>(ch)];
      ++a.total_active;
      if (r.config_.channels[static_cast<int>(ch)].exclusive) ++a.exclusive_active;
      a.held.insert(c.id);
      c.agent_index = agent;
      if (c.state == ContactState::kOffered) r.offers_[c.offer] = c.id;
    }
  }

  for (size_t i = 0; i < st.sticky.size(); ++i) {
    const StickyRecord& s = st.sticky[i];
    auto it = r.agent_index_.find(s.agent_id);
    if (it == r.agent_index_.end()) {
      return absl::DataLossError(
          absl::StrCat("state.sticky[", i, "].agent_id: unknown agent '", s.agent_id, "'"));
    }
    r.last_agent_[s.customer_id] = {it->second, s.answered};
  }
  std::vector<const IdempotencyRecord*> by_expiry;
  for (const IdempotencyRecord& e : st.idempotency) by_expiry.push_back(&e);
  std::stable_sort(by_expiry.begin(), by_expiry.end(),
                   [](const auto* a, const auto* b) { return a->expires < b->expires; });
  for (const IdempotencyRecord* e : by_expiry) {
    if (r.idempotency_.Contains(e->key)) {
      return absl::DataLossError(
          absl::StrCat("state.idempotency: key '", e->key, "' appears twice"));
    }
    IdempotencyEntry& entry = r.idempotency_.Add(e->key, e->expires);
    entry.contact = e->contact;
    entry.request_digest = e->request_digest;
    if (e->ended) {
      entry.ended = true;
      entry.ended_state = *e->ended;
      entry.ended_queue = r.InternEndedQueue(e->ended_queue);
    }
  }
  for (const DeferredEventRecord& d : st.deferred_events)
    r.deferred_events_.emplace(d.due, d.event);
  for (size_t i = 0; i < st.timers.size(); ++i) {
    const TimerRecord& t = st.timers[i];
    if (t.kind > kLastTimerKind ||
        (t.kind == static_cast<uint8_t>(TimerKind::kRestEnd) && t.id >= r.agents_.size()) ||
        t.sequence >= r.timers_.next_sequence()) {
      return absl::DataLossError(absl::StrCat("state.timers[", i, "]: kind ", t.kind, " id ", t.id,
                                              " sequence ", t.sequence, " is invalid"));
    }
    std::optional<Timer> timer = FromRecord(t);
    if (!timer) {
      return absl::DataLossError(absl::StrCat("state.timers[", i, "]: kind ", t.kind, " id ", t.id,
                                              " aux ", t.aux, " is out of range"));
    }
    r.timers_.Restore(*timer);
  }
  // A snapshot written before the senior wait existed holds no kSeniorRelax
  // timers: every contact still waiting for a senior gets its own, in id
  // order so that every restore numbers them alike.
  std::vector<ContactId> senior_waits;
  for (const auto& [id, c] : r.contacts_) {
    if (c.state != ContactState::kScheduled && (c.special & 1) != 0) senior_waits.push_back(id);
  }
  std::sort(senior_waits.begin(), senior_waits.end());
  for (ContactId id : senior_waits) r.ScheduleSeniorRelax(r.contacts_[id]);
  r.RecountHeld();
  for (auto& a : r.agents_) r.Repool(*a);
  if (absl::Status s = r.CheckInvariants(/*work_conservation=*/false); !s.ok()) {
    return absl::DataLossError(absl::StrCat("restored state is inconsistent: ", s.message()));
  }
  return impl;
}

RouterState Router::Save() const { return impl_->Save(); }

absl::StatusOr<std::unique_ptr<Router>> Router::Restore(RouterConfig config,
                                                        const RouterState& state) {
  CCR_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl, Impl::Restore(std::move(config), state));
  return std::unique_ptr<Router>(new Router(std::move(impl)));
}

}  // namespace ccr
