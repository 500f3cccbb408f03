// Router queries: read-only views for gateways, operators and tests.
#include <algorithm>
#include <cmath>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "router/internal/router_impl.h"

namespace ccr {

double QueueStats::ServiceLevel() const {
  return answered == 0 ? 1.0 : static_cast<double>(answered_within_target) / answered;
}
double QueueStats::ServiceLevelAbandonAdjusted() const {
  const uint64_t denominator = answered + abandoned;
  return denominator == 0
             ? 1.0
             : static_cast<double>(answered_within_target + abandoned_short) / denominator;
}
absl::Duration QueueStats::AverageSpeedOfAnswer() const {
  return answered == 0 ? absl::ZeroDuration() : total_answer_wait / answered;
}
double QueueStats::AbandonRatio() const {
  const uint64_t denominator = answered + abandoned;
  return denominator == 0 ? 0.0 : static_cast<double>(abandoned) / denominator;
}

std::optional<ContactId> Router::Impl::FindByIdempotencyKey(absl::string_view key) const {
  const IdempotencyEntry* e = idempotency_.Find(key);
  if (e == nullptr) return std::nullopt;
  return e->contact;
}

std::optional<IdempotencyView> Router::Impl::LookupIdempotencyKey(absl::string_view key) const {
  const IdempotencyEntry* e = idempotency_.Find(key);
  if (e == nullptr) return std::nullopt;
  IdempotencyView view{e->contact, e->request_digest, std::nullopt, ""};
  if (e->ended) {
    view.ended = e->ended_state;
    view.ended_queue = ended_queue_names_[e->ended_queue];
  }
  return view;
}

uint32_t Router::Impl::Position(const Contact& c) const {
  if (c.state != ContactState::kQueued) return 0;
  if (c.reserved_for_index != kNoAgentIndex) {
    // Its place in its advisor's line (a few contacts: counted).
    const absl::btree_set<ContactKey>& line = agents_[c.reserved_for_index]->reserved;
    return static_cast<uint32_t>(std::distance(line.begin(), line.lower_bound(c.key))) + 1;
  }
  return waiting_.CountAhead(c.queue, c.key) + 1;
}

// Ibrahim & Whitt's queue-length predictor: the contact at `position` waits
// for `position` slots to free up, s servers each freeing one every mean
// service time (1/mu), so position / (s mu). s: the queue's staffed slots
// (logged-in agents qualified at stage 0 times the channel's capacity), kept
// up to date at login and logout, so this is O(1); mu: the queue's measured
// handle time (the channel's default until one is measured) plus the
// channel's wrap-up. On the shipped scenarios it beats the previous
// position x smoothed time between answers, which counted the idle time
// between answers when nobody waited (SIMULATION.md "Wait estimates").
absl::Duration Router::Impl::EstimatedWait(const Queue& q, uint32_t position) const {
  if (position == 0) return absl::ZeroDuration();
  const ChannelConfig& ch = config_.channels[static_cast<int>(q.config.channel)];
  const double servers = std::max<double>(1, double(q.staffed) * ch.agent_capacity);
  return MeanService(q) * (position / servers);
}

absl::Duration Router::Impl::MeanService(const Queue& q) const {
  const ChannelConfig& ch = config_.channels[static_cast<int>(q.config.channel)];
  const absl::Duration handle =
      q.handles_measured == 0 ? ch.default_handle : q.handle_time_total / q.handles_measured;
  return handle + ch.wrap_up;
}

// A contact in its advisor's line is served by that one agent (its place
// there times the mean service over the advisor's slots on the channel),
// unless the reservation ends first: then it joins its queue at its place.
absl::Duration Router::Impl::EstimatedWaitOf(const Contact& c, uint32_t position) const {
  const Queue& q = queues_[c.queue];
  if (position == 0 || c.reserved_for_index == kNoAgentIndex) return EstimatedWait(q, position);
  const Agent& advisor = *agents_[c.reserved_for_index];
  const double slots = std::max<double>(1, advisor.capacity[static_cast<int>(c.spec.channel)]);
  const absl::Duration by_advisor = MeanService(q) * (position / slots);
  const absl::Duration reserved_for =
      std::max(absl::ZeroDuration(), c.arrival + config_.advisor_wait - now_);
  const absl::Duration by_queue =
      reserved_for + EstimatedWait(q, waiting_.CountAhead(c.queue, c.key) + 1);
  return std::min(by_advisor, by_queue);
}

ContactPlace Router::Impl::Place(const Contact& c) const {
  ContactPlace p;
  p.contact = c.id;
  const Queue& q = queues_[c.queue];
  p.queue = q.config.name;
  p.state = c.state;
  if (c.agent_index != kNoAgentIndex) p.agent_id = agents_[c.agent_index]->spec.agent_id;
  if (c.reserved_for_index != kNoAgentIndex) {
    p.agent_id = agents_[c.reserved_for_index]->spec.agent_id;
  }
  p.position = Position(c);
  p.estimated_wait = EstimatedWaitOf(c, p.position);
  return p;
}

ContactView Router::Impl::View(const Contact& c, absl::Time now) const {
  ContactView v;
  static_cast<ContactPlace&>(v) = Place(c);
  v.channel = c.spec.channel;
  v.tier = c.spec.tier;
  v.offer_id = c.state == ContactState::kOffered ? c.offer : 0;
  v.arrival = c.arrival;
  v.stage = c.stage;
  v.customer_id = c.spec.customer_id;
  v.language = language_names_[c.language];
  v.topic = c.spec.topic;
  v.signals = c.spec.signals;
  v.urgency = c.score.points;
  v.history = c.history;
  v.attributes = c.spec.attributes;
  return v;
}

absl::StatusOr<ContactView> Router::Impl::GetContact(ContactId id, absl::Time now) const {
  const Contact* c = FindContact(id);
  if (c == nullptr) {
    return absl::NotFoundError(absl::StrCat("contact_id: no live contact ", ContactIdString(id)));
  }
  return View(*c, std::max(now, now_));
}

absl::StatusOr<ContactPlace> Router::Impl::Locate(ContactId id) const {
  const Contact* c = FindContact(id);
  if (c == nullptr) {
    return absl::NotFoundError(absl::StrCat("contact_id: no live contact ", ContactIdString(id)));
  }
  return Place(*c);
}

absl::StatusOr<Explanation> Router::Impl::Explain(ContactId id, absl::Time now) const {
  const Contact* c = FindContact(id);
  if (c == nullptr) {
    return absl::NotFoundError(absl::StrCat("contact_id: no live contact ", ContactIdString(id)));
  }
  now = std::max(now, now_);
  Explanation x;
  x.contact = View(*c, now);
  for (const auto& [name, points] : c->score.components) x.components.push_back({name, points});
  x.urgency = c->score.points;
  x.priority_class_emergency = c->score.emergency;
  const double per_point = config_.scoring.seconds_per_point;
  // Aging turns SLA slack into points at the same rate urgency buys slack,
  // so ranking by total score equals ranking by ContactKey.
  const double aging = per_point > 0 ? absl::ToDoubleSeconds(now - c->deadline) / per_point : 0;
  x.components.push_back({"aging", aging});
  x.policy = c->policy;
  x.total_score = c->policy == RoutingPolicy::kRanked ? x.urgency + aging : aging;
  const bool started = c->state != ContactState::kScheduled;
  x.wait = started ? now - c->arrival : absl::ZeroDuration();
  x.sla_slack = c->deadline - now;
  const Queue& q = queues_[c->queue];
  const StageRule& rule = q.stages[c->stage];
  for (const SkillRequirement& s : rule.skills) {
    x.required_skills.push_back(absl::StrCat(s.skill, ">=", s.min_level));
  }
  for (uint32_t other : rule.extra_queues) {
    x.required_skills.push_back(absl::StrCat("or qualified for ", queues_[other].config.name));
  }
  if (rule.any_agent_of_channel) x.required_skills.push_back("or any agent of the channel");
  for (int b = 0; b < kSpecialSkillCount; ++b) {
    if (c->special & (1u << b)) x.required_skills.push_back(special_skills_[b] + " (special)");
  }
  for (const auto& agent : agents_) {
    const Agent& a = *agent;
    if (!a.logged_in) continue;
    AgentConsidered ac;
    ac.agent_id = a.spec.agent_id;
    const Channel ch = c->spec.channel;
    if (a.capacity[static_cast<int>(ch)] == 0) {
      ac.why_not = absl::StrCat("does not serve ", ChannelName(ch));
    } else if (FirstStage(a, c->queue) == kNoStage) {
      ac.why_not = "lacks the queue's skills at every overflow stage";
    } else if (FirstStage(a, c->queue) > c->stage) {
      ac.why_not = absl::StrCat("qualifies from overflow stage ", FirstStage(a, c->queue),
                                "; contact is at stage ", c->stage);
    } else if ((c->special & ~a.special) != 0) {
      ac.why_not = "lacks a special skill the contact needs (senior / care / accessibility)";
    } else if (std::find(a.languages.begin(), a.languages.end(), c->language) ==
               a.languages.end()) {
      ac.why_not = absl::StrCat("does not speak ", language_names_[c->language]);
    } else if (a.not_ready) {
      ac.why_not = absl::StrCat("not ready: ", a.not_ready_reason);
    } else if (a.resting) {
      ac.why_not = "forced rest after a long busy streak";
    } else if (!CanTake(a, ch)) {
      ac.why_not = absl::StrCat("no free ", ChannelName(ch), " capacity");
    } else if (Excluded(*c, a.index)) {
      ac.why_not = "missed this contact moments ago";
    } else {
      ac.eligible = true;
    }
    ac.breadth = a.breadth;
    for (const QueueEligibility& e : a.eligibility) {
      if (e.queue == c->queue) ac.proficiency = e.proficiency;
    }
    x.agents.push_back(std::move(ac));
  }
  std::vector<std::string> parts;
  for (const auto& comp : x.components) {
    parts.push_back(absl::StrCat(comp.name, " ", static_cast<int>(std::lround(comp.points))));
  }
  x.summary = absl::StrCat(ContactIdString(c->id), " ", ContactStateName(c->state), " in ",
                           q.config.name, c->score.emergency ? " (emergency class)" : "",
                           "; policy ", RoutingPolicyName(c->policy));
  if (c->policy == RoutingPolicy::kRanked) {
    absl::StrAppend(&x.summary, "; score ", static_cast<int>(std::lround(x.total_score)), " = ",
                    absl::StrJoin(parts, " + "));
  } else {
    absl::StrAppend(&x.summary, "; arrival order (urgency ",
                    static_cast<int>(std::lround(x.urgency)), " not counted)");
  }
  if (c->senior_relaxed && !special_skills_[0].empty()) {
    absl::StrAppend(&x.summary, "; ", SeniorRelaxedReason(*c));
  } else if ((c->special & 1) != 0 && started) {
    absl::StrAppend(&x.summary, "; waits for a senior until ",
                    absl::FormatDuration(SeniorRelaxAt(*c) - c->arrival),
                    " after arrival, then any qualified agent");
  }
  if (c->state == ContactState::kQueued && c->policy == RoutingPolicy::kRanked &&
      !c->score.emergency) {
    // Where it stands against its target (MatchAgent's at-risk rule), and
    // its queue against its service objective.
    const Queue& q = queues_[c->queue];
    const double objective = ServiceObjective(q.config);
    const bool short_of_objective = q.recent_answers.Below(objective);
    const std::string recent =
        absl::StrCat(q.recent_answers.WithinTarget(), " of the last ", q.recent_answers.count,
                     " answers within target, objective ", std::lround(100 * objective), " %");
    if (now >= c->deadline) {
      absl::StrAppend(&x.summary, "; past its target by ", absl::FormatDuration(now - c->deadline),
                      ": contacts of its queue still in time go first once at risk",
                      short_of_objective
                          ? absl::StrCat(", or at any time while its queue is short of its "
                                         "objective (",
                                         recent, ") and its head less than a target past its rank")
                          : "");
    } else if (now > absl::FromUnixMillis(c->key.rank_ms) - kAtRiskWithin) {
      absl::StrAppend(&x.summary, "; at risk: ", absl::FormatDuration(c->deadline - now),
                      " to its target, ahead of contacts past theirs");
    } else if (short_of_objective) {
      absl::StrAppend(&x.summary, "; its queue is short of its objective (", recent,
                      "): ", absl::FormatDuration(c->deadline - now),
                      " to its target, ahead of contacts past theirs");
    }
  }
  if (c->state == ContactState::kQueued) {
    const bool any_eligible =
        std::any_of(x.agents.begin(), x.agents.end(), [](const auto& a) { return a.eligible; });
    absl::StrAppend(&x.summary, "; position ", x.contact.position,
                    any_eligible ? "" : "; no logged-in agent can take it now");
  }
  return x;
}

std::vector<QueueStats> Router::Impl::Queues(absl::Time now) const {
  now = std::max(now, now_);
  std::vector<QueueStats> out;
  out.reserve(queues_.size());
  for (const Queue& q : queues_) {
    QueueStats s = q.stats;
    s.name = q.config.name;
    s.channel = q.config.channel;
    s.target = q.config.answer_within;
    s.target_ratio = q.config.target_ratio;
    s.queued = q.waiting_since.size();
    if (!q.waiting_since.empty()) s.oldest_wait = now - q.waiting_since.begin()->first;
    s.agents_eligible = q.staffed;
    s.offered = q.offered;
    s.connected = q.connected;
    s.agents_available = q.staffed_free;
    s.agents_busy = q.staffed_by_status[static_cast<int>(AgentStatus::kBusy)];
    s.agents_wrap_up = q.staffed_by_status[static_cast<int>(AgentStatus::kWrapUp)];
    s.agents_not_ready = q.staffed_by_status[static_cast<int>(AgentStatus::kNotReady)];
    s.agents_resting = q.staffed_by_status[static_cast<int>(AgentStatus::kResting)];
    // Nobody waiting and an eligible agent free: a contact arriving now is
    // offered at once (not one mean service over the staffed slots, which
    // turned a wallboard amber for a small team sitting idle).
    s.estimated_wait = s.queued == 0 && s.agents_available > 0 ? absl::ZeroDuration()
                                                               : EstimatedWait(q, s.queued + 1);
    s.policy = PolicyAt(q.config, now);
    s.recent_answers = q.recent_answers.count;
    s.recent_within_target = q.recent_answers.WithinTarget();
    s.service_objective = ServiceObjective(q.config);
    s.short_of_objective = q.recent_answers.Below(s.service_objective);
    out.push_back(std::move(s));
  }
  return out;
}

namespace {
// handling / (handling + available idle), up to `now`.
double Occupancy(const AgentTallyRow& a, absl::Time now) {
  absl::Duration handling = a.handling_time;
  absl::Duration idle = a.idle_time;
  if (a.mode == Agent::Mode::kHandling) handling += now - a.accounted_until;
  if (a.mode == Agent::Mode::kIdle) idle += now - a.accounted_until;
  const absl::Duration total = handling + idle;
  return total > absl::ZeroDuration() ? absl::FDivDuration(handling, total) : 0.0;
}
double Occupancy(const Agent& a, absl::Time now) {
  return Occupancy(AgentTallyRow{.mode = a.mode,
                                 .accounted_until = a.accounted_until,
                                 .handling_time = a.handling_time,
                                 .idle_time = a.idle_time},
                   now);
}

AgentView BuildAgentView(const Agent& a, AgentStatus status, absl::Time now) {
  AgentView v;
  v.agent_id = a.spec.agent_id;
  v.display_name = a.spec.display_name;
  v.status = status;
  v.reason = a.not_ready ? a.not_ready_reason : (a.resting ? "forced rest" : "");
  v.skills = a.spec.skills;
  v.languages = a.spec.languages;
  for (int ch = 0; ch < kChannelCount; ++ch) {
    if (a.capacity[ch] > 0) v.load.push_back({Channel(ch), a.active[ch], a.capacity[ch]});
  }
  v.contacts.assign(a.held.begin(), a.held.end());
  v.idle = a.total_active == 0 && a.logged_in ? now - a.idle_since : absl::ZeroDuration();
  v.consecutive_misses = a.consecutive_misses;
  v.occupancy = Occupancy(a, now);
  return v;
}
}  // namespace

absl::StatusOr<AgentView> Router::Impl::GetAgent(absl::string_view agent_id, absl::Time now) const {
  const Agent* a = FindAgent(agent_id);
  if (a == nullptr)
    return absl::NotFoundError(absl::StrCat("agent_id: unknown agent '", agent_id, "'"));
  return BuildAgentView(*a, StatusOf(*a), std::max(now, now_));
}

std::vector<AgentView> Router::Impl::Agents(absl::Time now) const {
  std::vector<AgentView> out;
  for (const auto& a : agents_)
    out.push_back(BuildAgentView(*a, StatusOf(*a), std::max(now, now_)));
  return out;
}

std::vector<AgentView> Router::Impl::AgentsPage(absl::string_view after_agent_id, size_t limit,
                                                absl::Time now, bool* more) const {
  std::vector<const Agent*> sorted;
  sorted.reserve(agents_.size());
  for (const auto& a : agents_) {
    if (after_agent_id.empty() || a->spec.agent_id > after_agent_id) sorted.push_back(a.get());
  }
  const size_t n = std::min(limit, sorted.size());
  std::partial_sort(
      sorted.begin(), sorted.begin() + n, sorted.end(),
      [](const Agent* a, const Agent* b) { return a->spec.agent_id < b->spec.agent_id; });
  std::vector<AgentView> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(BuildAgentView(*sorted[i], StatusOf(*sorted[i]), std::max(now, now_)));
  }
  *more = sorted.size() > n;
  return out;
}

AgentTally Router::Impl::CountAgents(absl::Time now) const {
  now = std::max(now, now_);
  AgentTally tally;
  for (const AgentTallyRow& a : tally_rows_) {
    const AgentStatus status = a.status;
    if (status == AgentStatus::kOffline) continue;
    const double occupancy = Occupancy(a, now);
    for (int ch = 0; ch < kChannelCount; ++ch) {
      if ((a.channels & (1u << ch)) == 0) continue;
      ++tally.by_state[ch][static_cast<int>(status)];
      tally.occupancy_sum[ch] += occupancy;
      ++tally.logged_in[ch];
    }
  }
  return tally;
}

absl::Status Router::Impl::CheckInvariants(bool work_conservation) const {
  auto fail = [](auto&&... parts) { return absl::InternalError(absl::StrCat(parts...)); };
  // Each index's own rules first; below, only the rules that cross them.
  CCR_RETURN_IF_ERROR(waiting_.CheckInvariants());
  CCR_RETURN_IF_ERROR(pools_.CheckInvariants());
  CCR_RETURN_IF_ERROR(timers_.CheckInvariants());
  CCR_RETURN_IF_ERROR(idempotency_.CheckInvariants());
  // Contacts: each waiting contact is in exactly the index it belongs to.
  size_t waiting = 0;
  for (const auto& [id, c] : contacts_) {
    if (c.state != ContactState::kScheduled &&
        c.policy != PolicyAt(queues_[c.queue].config, c.arrival)) {
      return fail(ContactIdString(id), " is served under ", RoutingPolicyName(c.policy),
                  ", not the policy in force at its arrival");
    }
    if (c.state == ContactState::kQueued) {
      ++waiting;
      if (!queues_[c.queue].waiting_since.contains({c.arrival, id})) {
        return fail(ContactIdString(id), " missing from waiting_since");
      }
      if (c.reserved_for_index != kNoAgentIndex) {
        if (!agents_[c.reserved_for_index]->reserved.contains(c.key)) {
          return fail(ContactIdString(id), " missing from its advisor's reserve");
        }
      } else {
        if (!waiting_.Contains(BucketOf(c), c.key)) {
          return fail(ContactIdString(id), " missing from its bucket");
        }
        // The kSlaDeadline timer has moved every contact due by now.
        if (c.past_target != (now_ >= c.deadline)) {
          return fail(ContactIdString(id), c.past_target ? " counted past its target before it"
                                                         : " not moved past its target");
        }
      }
    } else if (c.state == ContactState::kOffered) {
      auto it = offers_.find(c.offer);
      if (it == offers_.end() || it->second != id) return fail(ContactIdString(id), " offer lost");
    }
    // The senior relaxation is a function of time, as a restore derives it:
    // the kSeniorRelax timer must have made it by now, and not before.
    if (c.state != ContactState::kScheduled && c.senior_relaxed != SeniorRelaxDue(c)) {
      return fail(ContactIdString(id), c.senior_relaxed ? " relaxed early" : " not relaxed yet");
    }
    for (int32_t agent : {c.agent_index, c.reserved_for_index, c.missed_by_index}) {
      if (agent != kNoAgentIndex && static_cast<size_t>(agent) >= agents_.size()) {
        return fail(ContactIdString(id), " names agent slot ", agent, " of ", agents_.size());
      }
    }
    const bool held = c.state == ContactState::kOffered || c.state == ContactState::kConnected ||
                      c.state == ContactState::kWrapUp;
    if (held != (c.agent_index != kNoAgentIndex))
      return fail(ContactIdString(id), " agent link wrong");
    if (held && !agents_[c.agent_index]->held.contains(id)) {
      return fail(ContactIdString(id), " not in its agent's held set");
    }
  }
  size_t indexed = waiting_.size();
  for (const auto& a : agents_) indexed += a->reserved.size();
  if (indexed != waiting) return fail("indexes hold ", indexed, " contacts, ", waiting, " wait");
  if (offers_.size() > contacts_.size()) return fail("stray offers");
  if (agent_index_.size() != agents_.size()) return fail("agent names and slots differ in number");
  for (const auto& [customer, last] : last_agent_) {
    if (last.first >= agents_.size()) return fail("sticky memory names a forgotten agent");
  }

  // Agents: load matches what they hold and never exceeds capacity; pools
  // hold exactly the free agents.
  size_t memberships = 0;
  for (size_t i = 0; i < agents_.size(); ++i) {
    const Agent& a = *agents_[i];
    // Dense numbering (the retention sweep renumbers): index, name and slot agree.
    auto named = agent_index_.find(a.spec.agent_id);
    if (a.index != i || named == agent_index_.end() || named->second != i) {
      return fail(a.spec.agent_id, " is numbered ", a.index, " in slot ", i);
    }
    if (!a.logged_in && (!a.held.empty() || !a.reserved.empty())) {
      return fail(a.spec.agent_id, " is logged out but holds or reserves contacts");
    }
    std::array<uint32_t, kChannelCount> active{};
    uint32_t exclusive = 0;
    for (ContactId id : a.held) {
      const Contact* c = FindContact(id);
      if (c == nullptr || c->agent_index != static_cast<int32_t>(a.index)) {
        return fail(a.spec.agent_id, " holds a contact that is not with it");
      }
      ++active[static_cast<int>(c->spec.channel)];
      if (config_.channels[static_cast<int>(c->spec.channel)].exclusive) ++exclusive;
    }
    if (active != a.active) return fail(a.spec.agent_id, " load counters drifted");
    for (int ch = 0; ch < kChannelCount; ++ch) {
      if (active[ch] > a.capacity[ch]) return fail(a.spec.agent_id, " over capacity");
    }
    if (exclusive > 1 || (exclusive == 1 && a.held.size() > 1)) {
      return fail(a.spec.agent_id, " holds an exclusive contact beside other work");
    }
    if (!a.logged_in && !a.held.empty()) return fail(a.spec.agent_id, " offline but holds work");
    size_t expected = 0;
    if (Offerable(a)) {
      for (const QueueEligibility& e : a.eligibility) {
        if (CanTake(a, queues_[e.queue].config.channel)) {
          expected += a.languages.size() * queues_[e.queue].policies.size();
        }
      }
    }
    if (expected != pools_.MembershipsOf(a.index)) {
      return fail(a.spec.agent_id, " is in ", pools_.MembershipsOf(a.index), " pools, expected ",
                  expected);
    }
    memberships += expected;
  }
  if (pools_.size() != memberships) {
    return fail("pools hold ", pools_.size(), " entries, expected ", memberships);
  }

  // The scrape's counts, kept by differences, against a recount.
  if (tally_rows_.size() != agents_.size()) return fail("tally rows and agents differ in number");
  std::vector<std::array<uint32_t, AgentTally::kStates>> by_status(queues_.size());
  std::vector<uint32_t> free(queues_.size()), offered(queues_.size()), connected(queues_.size());
  for (const auto& agent : agents_) {
    const Agent& a = *agent;
    const AgentStatus status = StatusOf(a);
    const AgentTallyRow& row = tally_rows_[a.index];
    if (a.tallied_status != status || row.status != status) {
      return fail(a.spec.agent_id, " is tallied as ", AgentStatusName(a.tallied_status), " (",
                  AgentStatusName(row.status), "), not ", AgentStatusName(status));
    }
    for (int ch = 0; ch < kChannelCount; ++ch) {
      const bool can_take = Offerable(a) && CanTake(a, Channel(ch));
      if (((a.tallied_free >> ch) & 1) != can_take ||
          ((row.channels >> ch) & 1) != (a.capacity[ch] > 0)) {
        return fail(a.spec.agent_id, " is tallied with the wrong channels");
      }
    }
    if (status == AgentStatus::kOffline) continue;
    if (row.mode != a.mode || row.accounted_until != a.accounted_until ||
        row.handling_time != a.handling_time || row.idle_time != a.idle_time) {
      return fail(a.spec.agent_id, "'s tally row lags its occupancy accounting");
    }
    for (const QueueEligibility& e : a.eligibility) {
      if (e.first_stage != 0) continue;
      ++by_status[e.queue][static_cast<int>(status)];
      if (Offerable(a) && CanTake(a, queues_[e.queue].config.channel)) ++free[e.queue];
    }
  }
  for (const auto& [id, c] : contacts_) {
    if (c.state == ContactState::kOffered) ++offered[c.queue];
    if (c.state == ContactState::kConnected) ++connected[c.queue];
  }
  for (const Queue& q : queues_) {
    if (q.staffed_by_status != by_status[q.index] || q.staffed_free != free[q.index] ||
        q.offered != offered[q.index] || q.connected != connected[q.index]) {
      return fail("queue ", q.config.name, "'s kept counts drifted from a recount");
    }
  }

  // Work conservation: no free agent sits beside a waiting contact it may take.
  // (A free agent scans at most 16 contacts it recently missed per bucket, so
  // a live router can briefly break this under heavy rejects; a restored one
  // checks only the indexes above.)
  if (!work_conservation) return absl::OkStatus();
  for (const auto& [id, c] : contacts_) {
    if (c.state != ContactState::kQueued) continue;
    if (c.reserved_for_index != kNoAgentIndex) {
      const Agent& advisor = *agents_[c.reserved_for_index];
      if (Offerable(advisor) && CanTake(advisor, c.spec.channel)) {
        return fail(ContactIdString(id), " waits for free advisor ", advisor.spec.agent_id);
      }
      continue;
    }
    for (const auto& agent : agents_) {
      const Agent& a = *agent;
      if (Offerable(a) && CanTake(a, c.spec.channel) && Eligible(a, c) && !Excluded(c, a.index)) {
        return fail("agent ", a.spec.agent_id, " is free and eligible for waiting ",
                    ContactIdString(id));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace ccr
