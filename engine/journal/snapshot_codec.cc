#include "engine/journal/snapshot_codec.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace ccr {

namespace {

using Record = v1::RouterStateRecord;

int64_t TimeNs(absl::Time t) {
  if (t == absl::InfinitePast()) return std::numeric_limits<int64_t>::min();
  if (t == absl::InfiniteFuture()) return std::numeric_limits<int64_t>::max();
  return absl::ToUnixNanos(t);
}
absl::Time FromTimeNs(int64_t ns) {
  if (ns == std::numeric_limits<int64_t>::min()) return absl::InfinitePast();
  if (ns == std::numeric_limits<int64_t>::max()) return absl::InfiniteFuture();
  return absl::FromUnixNanos(ns);
}
int64_t DurationNs(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return std::numeric_limits<int64_t>::max();
  if (d == -absl::InfiniteDuration()) return std::numeric_limits<int64_t>::min();
  return absl::ToInt64Nanoseconds(d);
}
absl::Duration FromDurationNs(int64_t ns) {
  if (ns == std::numeric_limits<int64_t>::max()) return absl::InfiniteDuration();
  if (ns == std::numeric_limits<int64_t>::min()) return -absl::InfiniteDuration();
  return absl::Nanoseconds(ns);
}

// How many values each enum has (its last value + 1).
template <typename E>
constexpr uint32_t CountAfter(E last) {
  return static_cast<uint32_t>(last) + 1;
}
constexpr uint32_t kSeverities = CountAfter(Severity::kSevere);
constexpr uint32_t kDirections = CountAfter(Direction::kProactiveOutbound);
constexpr uint32_t kTiers = CountAfter(Tier::kVip);
constexpr uint32_t kContactStates = CountAfter(ContactState::kTransferred);
constexpr uint32_t kEventKinds = CountAfter(EventKind::kUpdated);
constexpr uint32_t kAgentStatuses = CountAfter(AgentStatus::kResting);
static_assert(static_cast<uint32_t>(kChannelCount) == CountAfter(Channel::kCallback));

// Reads an enum stored as its numeric value, checking its range. `what`
// names the enum with its article ("an event kind").
template <typename E>
absl::Status ToEnum(uint32_t value, uint32_t count, absl::string_view field, absl::string_view what,
                    E* out) {
  if (value >= count) {
    return absl::DataLossError(absl::StrCat(field, ": ", value, " is not ", what));
  }
  *out = static_cast<E>(value);
  return absl::OkStatus();
}

void SignalsToProto(const Signals& s, Record::Signals* out) {
  out->set_complaint(s.complaint);
  out->set_emergency(s.emergency);
  out->set_severity(static_cast<uint32_t>(s.severity));
  out->set_sentiment(s.sentiment);
  out->set_repeat_contacts_24h(s.repeat_contacts_24h);
  out->set_escalation_level(s.escalation_level);
  for (const std::string& k : s.keywords) out->add_keywords(k);
}

void SpecToProto(const ContactSpec& s, Record::ContactSpec* out) {
  out->set_idempotency_key(s.idempotency_key);
  out->set_queue(s.queue);
  out->set_channel(static_cast<uint32_t>(s.channel));
  out->set_direction(static_cast<uint32_t>(s.direction));
  out->set_customer_id(s.customer_id);
  out->set_tier(static_cast<uint32_t>(s.tier));
  out->set_dedicated_advisor(s.dedicated_advisor);
  out->set_language(s.language);
  out->set_elderly(s.elderly);
  out->set_accessibility(s.accessibility);
  SignalsToProto(s.signals, out->mutable_signals());
  out->set_topic(s.topic);
  out->set_has_scheduled_for(s.scheduled_for.has_value());
  if (s.scheduled_for) out->set_scheduled_for_ns(TimeNs(*s.scheduled_for));
  for (const auto& [k, v] : s.attributes) (*out->mutable_attributes())[k] = v;
}

void AgentSpecToProto(const AgentSpec& s, Record::AgentSpec* out) {
  out->set_agent_id(s.agent_id);
  out->set_display_name(s.display_name);
  for (const SkillLevel& k : s.skills) {
    Record::Skill* skill = out->add_skills();
    skill->set_skill(k.skill);
    skill->set_level(k.level);
  }
  for (const std::string& l : s.languages) out->add_languages(l);
  for (const auto& [ch, cap] : s.capacities) {
    Record::Capacity* c = out->add_capacities();
    c->set_channel(static_cast<uint32_t>(ch));
    c->set_capacity(cap);
  }
  out->set_start_available(s.start_available);
}

void EventToProto(const Event& e, Record::Event* out) {
  out->set_kind(static_cast<uint32_t>(e.kind));
  out->set_time_ns(TimeNs(e.time));
  out->set_contact(e.contact);
  out->set_offer_id(e.offer_id);
  out->set_agent_id(e.agent_id);
  out->set_queue(e.queue);
  out->set_channel(static_cast<uint32_t>(e.channel));
  out->set_tier(static_cast<uint32_t>(e.tier));
  out->set_reason(e.reason);
  out->set_wait_ns(DurationNs(e.wait));
  out->set_stage(e.stage);
  out->set_agent_status(static_cast<uint32_t>(e.agent_status));
  out->set_deadline_ns(TimeNs(e.deadline));
  out->set_sequence(e.sequence);
  out->set_emergency(e.emergency);
  Record::Outcome* o = out->mutable_outcome();
  o->set_resolved(e.outcome.resolved);
  o->set_disposition(e.outcome.disposition);
  o->set_complaint_root_cause(e.outcome.complaint_root_cause);
  o->set_follow_up_due(e.outcome.follow_up_due);
}

absl::StatusOr<Signals> SignalsFromProto(const Record::Signals& in, const std::string& field) {
  Signals s;
  s.complaint = in.complaint();
  s.emergency = in.emergency();
  CCR_RETURN_IF_ERROR(
      ToEnum(in.severity(), kSeverities, field + ".severity", "a severity", &s.severity));
  s.sentiment = in.sentiment();
  s.repeat_contacts_24h = in.repeat_contacts_24h();
  s.escalation_level = in.escalation_level();
  s.keywords.assign(in.keywords().begin(), in.keywords().end());
  return s;
}

absl::StatusOr<ContactSpec> SpecFromProto(const Record::ContactSpec& in, const std::string& field) {
  ContactSpec s;
  s.idempotency_key = in.idempotency_key();
  s.queue = in.queue();
  CCR_RETURN_IF_ERROR(
      ToEnum(in.channel(), kChannelCount, field + ".channel", "a channel", &s.channel));
  CCR_RETURN_IF_ERROR(
      ToEnum(in.direction(), kDirections, field + ".direction", "a direction", &s.direction));
  s.customer_id = in.customer_id();
  CCR_RETURN_IF_ERROR(ToEnum(in.tier(), kTiers, field + ".tier", "a tier", &s.tier));
  s.dedicated_advisor = in.dedicated_advisor();
  s.language = in.language();
  s.elderly = in.elderly();
  s.accessibility = in.accessibility();
  CCR_ASSIGN_OR_RETURN(s.signals, SignalsFromProto(in.signals(), field + ".signals"));
  s.topic = in.topic();
  if (in.has_scheduled_for()) s.scheduled_for = FromTimeNs(in.scheduled_for_ns());
  s.attributes.insert(in.attributes().begin(), in.attributes().end());
  return s;
}

absl::StatusOr<AgentSpec> AgentSpecFromProto(const Record::AgentSpec& in,
                                             const std::string& field) {
  AgentSpec s;
  s.agent_id = in.agent_id();
  s.display_name = in.display_name();
  for (const Record::Skill& k : in.skills()) s.skills.push_back({k.skill(), k.level()});
  s.languages.assign(in.languages().begin(), in.languages().end());
  for (int i = 0; i < in.capacities_size(); ++i) {
    Channel ch;
    CCR_RETURN_IF_ERROR(ToEnum(in.capacities(i).channel(), kChannelCount,
                               absl::StrCat(field, ".capacities[", i, "].channel"), "a channel",
                               &ch));
    s.capacities.emplace_back(ch, in.capacities(i).capacity());
  }
  s.start_available = in.start_available();
  return s;
}

absl::StatusOr<Event> EventFromProto(const Record::Event& in, const std::string& field) {
  Event e;
  CCR_RETURN_IF_ERROR(ToEnum(in.kind(), kEventKinds, field + ".kind", "an event kind", &e.kind));
  e.time = FromTimeNs(in.time_ns());
  e.contact = in.contact();
  e.offer_id = in.offer_id();
  e.agent_id = in.agent_id();
  e.queue = in.queue();
  CCR_RETURN_IF_ERROR(
      ToEnum(in.channel(), kChannelCount, field + ".channel", "a channel", &e.channel));
  CCR_RETURN_IF_ERROR(ToEnum(in.tier(), kTiers, field + ".tier", "a tier", &e.tier));
  e.reason = in.reason();
  e.wait = FromDurationNs(in.wait_ns());
  e.stage = in.stage();
  CCR_RETURN_IF_ERROR(ToEnum(in.agent_status(), kAgentStatuses, field + ".agent_status",
                             "an agent status", &e.agent_status));
  e.deadline = FromTimeNs(in.deadline_ns());
  e.sequence = in.sequence();
  e.emergency = in.emergency();
  e.outcome.resolved = in.outcome().resolved();
  e.outcome.disposition = in.outcome().disposition();
  e.outcome.complaint_root_cause = in.outcome().complaint_root_cause();
  e.outcome.follow_up_due = in.outcome().follow_up_due();
  return e;
}

void ContactToProto(const ContactRecord& c, Record::Contact* r) {
  r->set_id(c.id);
  SpecToProto(c.spec, r->mutable_spec());
  r->set_queue(c.queue);
  r->set_created_ns(TimeNs(c.created));
  r->set_arrival_ns(TimeNs(c.arrival));
  r->set_stage(c.stage);
  r->set_epoch(c.epoch);
  r->set_state(static_cast<uint32_t>(c.state));
  r->set_agent_id(c.agent_id);
  r->set_reserved_for(c.reserved_for);
  r->set_offer(c.offer);
  r->set_offered_at_ns(TimeNs(c.offered_at));
  r->set_missed_by(c.missed_by);
  r->set_missed_until_ns(TimeNs(c.missed_until));
  r->set_breached(c.breached);
  r->set_follow_up(c.follow_up);
  for (const std::string& h : c.history) r->add_history(h);
}

void AgentToProto(const AgentRecord& a, Record::Agent* r) {
  AgentSpecToProto(a.spec, r->mutable_spec());
  r->set_logged_in(a.logged_in);
  r->set_not_ready(a.not_ready);
  r->set_not_ready_reason(a.not_ready_reason);
  r->set_resting(a.resting);
  r->set_rest_until_ns(TimeNs(a.rest_until));
  r->set_consecutive_misses(a.consecutive_misses);
  r->set_last_offer_ns(TimeNs(a.last_offer));
  r->set_idle_since_ns(TimeNs(a.idle_since));
  r->set_busy_streak_start_ns(TimeNs(a.busy_streak_start));
  r->set_mode(a.mode);
  r->set_accounted_until_ns(TimeNs(a.accounted_until));
  r->set_handling_time_ns(DurationNs(a.handling_time));
  r->set_idle_time_ns(DurationNs(a.idle_time));
}

void QueueToProto(const QueueRecord& q, Record::Queue* r) {
  const QueueStats& c = q.counters;
  r->set_name(q.name);
  r->set_submitted(c.submitted);
  r->set_answered(c.answered);
  r->set_answered_within_target(c.answered_within_target);
  r->set_abandoned(c.abandoned);
  r->set_abandoned_short(c.abandoned_short);
  r->set_expired(c.expired);
  r->set_cancelled(c.cancelled);
  r->set_transferred_out(c.transferred_out);
  r->set_completed(c.completed);
  r->set_resolved(c.resolved);
  r->set_sla_breaches(c.sla_breaches);
  r->set_overflows(c.overflows);
  r->set_total_answer_wait_ns(DurationNs(c.total_answer_wait));
  r->set_handle_time_total_ns(DurationNs(q.handle_time_total));
  r->set_handles_measured(q.handles_measured);
  r->set_recent_within_target_bits(q.recent_within_target_bits);
  r->set_recent_answers(q.recent_answers);
}

void StickyToProto(const StickyRecord& s, Record::Sticky* r) {
  r->set_customer_id(s.customer_id);
  r->set_agent_id(s.agent_id);
  r->set_answered_ns(TimeNs(s.answered));
}

void IdempotencyToProto(const IdempotencyRecord& i, Record::Idempotency* r) {
  r->set_key(i.key);
  r->set_contact(i.contact);
  r->set_expires_ns(TimeNs(i.expires));
  r->set_request_digest(i.request_digest);
  if (i.ended) r->set_ended_state(static_cast<uint32_t>(*i.ended) + 1);
  r->set_ended_queue(i.ended_queue);
}

void DeferredEventToProto(const DeferredEventRecord& d, Record::DeferredEvent* r) {
  r->set_due_ns(TimeNs(d.due));
  EventToProto(d.event, r->mutable_event());
}

void TimerToProto(const TimerRecord& t, Record::Timer* r) {
  r->set_at_ns(TimeNs(t.at));
  r->set_sequence(t.sequence);
  r->set_kind(t.kind);
  r->set_id(t.id);
  r->set_aux(t.aux);
}

}  // namespace

void RouterStateToProto(const RouterState& st, v1::RouterStateRecord* out) {
  out->Clear();
  out->set_now_ns(TimeNs(st.now));
  out->set_next_contact(st.next_contact);
  out->set_next_offer(st.next_offer);
  out->set_next_timer(st.next_timer);
  out->set_events_emitted(st.events_emitted);
  for (const std::string& l : st.languages) out->add_languages(l);
  out->mutable_contacts()->Reserve(static_cast<int>(st.contacts.size()));
  for (const ContactRecord& c : st.contacts) ContactToProto(c, out->add_contacts());
  for (const AgentRecord& a : st.agents) AgentToProto(a, out->add_agents());
  for (const QueueRecord& q : st.queues) QueueToProto(q, out->add_queues());
  for (const StickyRecord& s : st.sticky) StickyToProto(s, out->add_sticky());
  for (const IdempotencyRecord& i : st.idempotency) IdempotencyToProto(i, out->add_idempotency());
  for (const DeferredEventRecord& d : st.deferred_events) {
    DeferredEventToProto(d, out->add_deferred_events());
  }
  for (const TimerRecord& t : st.timers) TimerToProto(t, out->add_timers());
}

absl::Status RouterStateListsToProtoParts(
    const RouterState& st, size_t part_bytes,
    const std::function<absl::Status(v1::RouterStateRecord&)>& emit) {
  v1::RouterStateRecord part;
  size_t bytes = 0;
  // Counts an item just added (with its tag and length prefix) and hands the
  // part on once it is full.
  auto added = [&](size_t item_bytes) -> absl::Status {
    bytes += item_bytes + 6;
    if (bytes < part_bytes) return absl::OkStatus();
    absl::Status s = emit(part);
    part.Clear();
    bytes = 0;
    return s;
  };
  for (const std::string& l : st.languages) {
    part.add_languages(l);
    CCR_RETURN_IF_ERROR(added(l.size()));
  }
  for (const ContactRecord& c : st.contacts) {
    Record::Contact* r = part.add_contacts();
    ContactToProto(c, r);
    CCR_RETURN_IF_ERROR(added(r->ByteSizeLong()));
  }
  for (const AgentRecord& a : st.agents) {
    Record::Agent* r = part.add_agents();
    AgentToProto(a, r);
    CCR_RETURN_IF_ERROR(added(r->ByteSizeLong()));
  }
  for (const QueueRecord& q : st.queues) {
    Record::Queue* r = part.add_queues();
    QueueToProto(q, r);
    CCR_RETURN_IF_ERROR(added(r->ByteSizeLong()));
  }
  for (const StickyRecord& k : st.sticky) {
    Record::Sticky* r = part.add_sticky();
    StickyToProto(k, r);
    CCR_RETURN_IF_ERROR(added(r->ByteSizeLong()));
  }
  for (const IdempotencyRecord& i : st.idempotency) {
    Record::Idempotency* r = part.add_idempotency();
    IdempotencyToProto(i, r);
    CCR_RETURN_IF_ERROR(added(r->ByteSizeLong()));
  }
  for (const DeferredEventRecord& d : st.deferred_events) {
    Record::DeferredEvent* r = part.add_deferred_events();
    DeferredEventToProto(d, r);
    CCR_RETURN_IF_ERROR(added(r->ByteSizeLong()));
  }
  for (const TimerRecord& t : st.timers) {
    Record::Timer* r = part.add_timers();
    TimerToProto(t, r);
    CCR_RETURN_IF_ERROR(added(r->ByteSizeLong()));
  }
  if (bytes > 0) return emit(part);
  return absl::OkStatus();
}

absl::StatusOr<RouterState> RouterStateFromProto(const v1::RouterStateRecord& in) {
  RouterState st;
  st.now = FromTimeNs(in.now_ns());
  st.next_contact = in.next_contact();
  st.next_offer = in.next_offer();
  st.next_timer = in.next_timer();
  st.events_emitted = in.events_emitted();
  st.languages.assign(in.languages().begin(), in.languages().end());
  st.contacts.reserve(in.contacts_size());
  for (int i = 0; i < in.contacts_size(); ++i) {
    const Record::Contact& r = in.contacts(i);
    const std::string field = absl::StrCat("state.contacts[", i, "]");
    ContactRecord& c = st.contacts.emplace_back();
    c.id = r.id();
    CCR_ASSIGN_OR_RETURN(c.spec, SpecFromProto(r.spec(), field + ".spec"));
    c.queue = r.queue();
    c.created = FromTimeNs(r.created_ns());
    c.arrival = FromTimeNs(r.arrival_ns());
    c.stage = r.stage();
    c.epoch = r.epoch();
    CCR_RETURN_IF_ERROR(
        ToEnum(r.state(), kContactStates, field + ".state", "a contact state", &c.state));
    c.agent_id = r.agent_id();
    c.reserved_for = r.reserved_for();
    c.offer = r.offer();
    c.offered_at = FromTimeNs(r.offered_at_ns());
    c.missed_by = r.missed_by();
    c.missed_until = FromTimeNs(r.missed_until_ns());
    c.breached = r.breached();
    c.follow_up = r.follow_up();
    c.history.assign(r.history().begin(), r.history().end());
  }
  for (int i = 0; i < in.agents_size(); ++i) {
    const Record::Agent& r = in.agents(i);
    const std::string field = absl::StrCat("state.agents[", i, "]");
    AgentRecord& a = st.agents.emplace_back();
    CCR_ASSIGN_OR_RETURN(a.spec, AgentSpecFromProto(r.spec(), field + ".spec"));
    a.logged_in = r.logged_in();
    a.not_ready = r.not_ready();
    a.not_ready_reason = r.not_ready_reason();
    a.resting = r.resting();
    a.rest_until = FromTimeNs(r.rest_until_ns());
    a.consecutive_misses = r.consecutive_misses();
    a.last_offer = FromTimeNs(r.last_offer_ns());
    a.idle_since = FromTimeNs(r.idle_since_ns());
    a.busy_streak_start = FromTimeNs(r.busy_streak_start_ns());
    if (r.mode() > 2) {
      return absl::DataLossError(absl::StrCat(field, ".mode: ", r.mode(), " is not a mode"));
    }
    a.mode = static_cast<uint8_t>(r.mode());
    a.accounted_until = FromTimeNs(r.accounted_until_ns());
    a.handling_time = FromDurationNs(r.handling_time_ns());
    a.idle_time = FromDurationNs(r.idle_time_ns());
  }
  for (const Record::Queue& r : in.queues()) {
    QueueRecord& q = st.queues.emplace_back();
    q.name = r.name();
    QueueStats& c = q.counters;
    c.submitted = r.submitted();
    c.answered = r.answered();
    c.answered_within_target = r.answered_within_target();
    c.abandoned = r.abandoned();
    c.abandoned_short = r.abandoned_short();
    c.expired = r.expired();
    c.cancelled = r.cancelled();
    c.transferred_out = r.transferred_out();
    c.completed = r.completed();
    c.resolved = r.resolved();
    c.sla_breaches = r.sla_breaches();
    c.overflows = r.overflows();
    c.total_answer_wait = FromDurationNs(r.total_answer_wait_ns());
    q.handle_time_total = FromDurationNs(r.handle_time_total_ns());
    q.handles_measured = r.handles_measured();
    q.recent_within_target_bits = r.recent_within_target_bits();
    q.recent_answers = r.recent_answers();
  }
  for (const Record::Sticky& r : in.sticky()) {
    st.sticky.push_back({r.customer_id(), r.agent_id(), FromTimeNs(r.answered_ns())});
  }
  for (int i = 0; i < in.idempotency_size(); ++i) {
    const Record::Idempotency& r = in.idempotency(i);
    IdempotencyRecord& rec = st.idempotency.emplace_back();
    rec.key = r.key();
    rec.contact = r.contact();
    rec.expires = FromTimeNs(r.expires_ns());
    rec.request_digest = r.request_digest();
    if (r.ended_state() != 0) {
      ContactState ended;
      CCR_RETURN_IF_ERROR(ToEnum(r.ended_state() - 1, kContactStates,
                                 absl::StrCat("state.idempotency[", i, "].ended_state"),
                                 "a contact state", &ended));
      rec.ended = ended;
    }
    rec.ended_queue = r.ended_queue();
  }
  for (int i = 0; i < in.deferred_events_size(); ++i) {
    const Record::DeferredEvent& r = in.deferred_events(i);
    CCR_ASSIGN_OR_RETURN(
        Event e, EventFromProto(r.event(), absl::StrCat("state.deferred_events[", i, "].event")));
    st.deferred_events.push_back({FromTimeNs(r.due_ns()), std::move(e)});
  }
  for (int i = 0; i < in.timers_size(); ++i) {
    const Record::Timer& r = in.timers(i);
    if (r.kind() > 0xff) {
      return absl::DataLossError(
          absl::StrCat("state.timers[", i, "].kind: ", r.kind(), " is not a timer kind"));
    }
    st.timers.push_back(
        {FromTimeNs(r.at_ns()), r.sequence(), static_cast<uint8_t>(r.kind()), r.id(), r.aux()});
  }
  return st;
}

}  // namespace ccr
