// Router::Impl: the state behind router.h and the indexes that make every
// routing decision O(log n). Private to router/.
//
// Indexes (all kept exact after every command; each class checks its own
// invariants, and CheckInvariants() checks the rules that cross them):
//  - WaitingContacts (waiting_contacts.h): queued contacts in buckets keyed
//    by (queue, overflow stage, language, required special skills); a free
//    agent compares only bucket heads.
//  - FreeAgentPools (free_agent_pools.h): free agents in pools keyed by
//    (queue, first qualifying stage, language, special skills); a waiting
//    contact compares only pool heads.
//  - TimerQueue (timer_queue.h): every timer in firing order; stale ones are
//    skipped when they come due.
//  - IdempotencyWindow (idempotency_window.h): recent idempotency keys in
//    expiry order.
// Contacts reserved for a dedicated advisor wait in that agent's `reserved`
// set instead of a bucket.
#ifndef CCROUTER_ROUTER_INTERNAL_ROUTER_IMPL_H_
#define CCROUTER_ROUTER_INTERNAL_ROUTER_IMPL_H_

#include <bit>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/time/time.h"
#include "router/internal/free_agent_pools.h"
#include "router/internal/idempotency_window.h"
#include "router/internal/timer_queue.h"
#include "router/internal/waiting_contacts.h"
#include "router/router.h"
#include "router/router_state.h"
#include "router/urgency.h"

namespace ccr {

inline constexpr uint32_t kNoStage = 0xff;
inline constexpr int32_t kNoAgentIndex = -1;
// Special skills a contact may require beyond its queue's: bit 0 senior
// (until it has waited escalation.senior_wait_share of its target: kSeniorRelax),
// bit 1 elderly care, bit 2 accessibility.
inline constexpr int kSpecialSkillCount = 3;
inline constexpr uint8_t kAllSpecialSkills = (1u << kSpecialSkillCount) - 1;
// A freed agent's choice among its queues (Router::Impl::MatchAgent): a
// queue's best-ranked contact still before its SLA deadline, once less than
// this before its rank (SLA deadline less urgency) or past it, is at risk: it
// goes before the contacts of its queue already past their target and before
// the agent's strongest skill. A head this many of its queue's targets past
// its rank goes before everything but emergencies.
inline constexpr absl::Duration kAtRiskWithin = absl::Seconds(5);
inline constexpr int kStarvingAfterTargets = 10;

// Whether each of a queue's last kServiceObjectiveWindow answers was within
// its target (bit 0 the newest). Changed only by Accept, so replay rebuilds
// it; snapshots keep it (QueueRecord).
struct RecentAnswers {
  static_assert(kServiceObjectiveWindow == 64, "the window is one uint64_t");
  uint64_t within_target_bits = 0;
  uint32_t count = 0;  // at most kServiceObjectiveWindow

  void Record(bool within_target) {
    within_target_bits = (within_target_bits << 1) | (within_target ? 1u : 0u);
    if (count < kServiceObjectiveWindow) ++count;
  }
  uint32_t WithinTarget() const {
    const uint64_t known = count >= 64 ? ~uint64_t{0} : (uint64_t{1} << count) - 1;
    return static_cast<uint32_t>(std::popcount(within_target_bits & known));
  }
  // At least kServiceObjectiveMinAnswers known, and fewer than `objective` of
  // them within target.
  bool Below(double objective) const {
    return count >= kServiceObjectiveMinAnswers && WithinTarget() < objective * count;
  }
};

// The share of recent answers within target below which a queue's contacts
// still in time go first (QueueConfig::service_objective).
inline double ServiceObjective(const QueueConfig& q) {
  return q.service_objective.value_or(q.target_ratio);
}

inline bool IsExclusive(const RouterConfig& config, Channel ch) {
  return config.channels[static_cast<int>(ch)].exclusive;
}
// Waiting: in a bucket or an advisor's reserve (not scheduled, offered or held).
inline bool IsWaiting(ContactState s) { return s == ContactState::kQueued; }

// Who qualifies at one overflow stage of a queue (stage 0: no overflow yet).
struct StageRule {
  absl::Duration after = absl::ZeroDuration();
  std::vector<SkillRequirement> skills;
  std::vector<uint32_t> extra_queues;  // agents qualified for these queues' base skills
  bool any_agent_of_channel = false;
};

struct Queue {
  QueueConfig config;
  uint32_t index = 0;
  uint32_t default_language = 0;
  std::vector<StageRule> stages;
  // The routing policies its contacts may arrive under (one, or an A/B
  // test's): a free agent joins the queue's pools once per policy.
  std::vector<RoutingPolicy> policies;
  QueueStats stats;  // counters; live figures are filled in by Queues()
  // Waiting contacts by SLA-clock start, for the oldest wait.
  absl::btree_set<std::pair<absl::Time, ContactId>> waiting_since;
  uint32_t staffed = 0;  // logged-in agents qualified at stage 0
  // Kept exact by every change (SetState, Retally), so Queues() reads them
  // instead of passing over every contact and agent: contacts offered to
  // and connected with an agent; of the `staffed` agents, those in each
  // status (offline: 0) and those free to take this queue's channel now.
  uint32_t offered = 0;
  uint32_t connected = 0;
  std::array<uint32_t, AgentTally::kStates> staffed_by_status{};
  uint32_t staffed_free = 0;
  // Handle time (offer to completion) of the contacts it completed, for
  // wait estimates (EstimatedWait).
  absl::Duration handle_time_total = absl::ZeroDuration();
  uint64_t handles_measured = 0;
  RecentAnswers recent_answers;  // for the service objective (MatchAgent)
};

struct QueueEligibility {
  uint32_t queue = 0;
  uint32_t first_stage = kNoStage;
  int32_t proficiency = 0;
};

struct Agent {
  uint32_t index = 0;
  AgentSpec spec;
  absl::flat_hash_map<std::string, uint32_t> skill_levels;
  std::vector<uint32_t> languages;
  uint8_t special = 0;
  // What its skills are worth elsewhere: the queues it serves without
  // overflow plus the special skills it holds. Among free agents the one
  // with the least breadth goes first, so an agent who alone can take
  // another queue's (or a senior-routed) contact is not spent on one anybody
  // could take.
  uint32_t breadth = 0;
  std::array<uint32_t, kChannelCount> capacity{};
  std::array<uint32_t, kChannelCount> active{};
  uint32_t total_active = 0;
  uint32_t exclusive_active = 0;
  bool logged_in = false;
  bool not_ready = false;
  std::string not_ready_reason;
  bool resting = false;
  absl::Time rest_until = absl::InfinitePast();
  uint32_t consecutive_misses = 0;
  std::vector<QueueEligibility> eligibility;  // only queues it qualifies for at some stage
  absl::Time last_offer = absl::InfinitePast();
  absl::Time idle_since = absl::InfinitePast();
  absl::Time busy_streak_start = absl::InfinitePast();
  absl::btree_set<ContactId> held;       // offered, connected or in wrap-up
  absl::btree_set<ContactKey> reserved;  // waiting for this dedicated advisor
  // Occupancy accounting: the mode since `accounted_until`.
  enum class Mode : uint8_t { kNone, kHandling, kIdle } mode = Mode::kNone;
  absl::Time accounted_until = absl::InfinitePast();
  absl::Duration handling_time = absl::ZeroDuration();
  absl::Duration idle_time = absl::ZeroDuration();
  // What it adds to its queues' staffed_by_status / staffed_free, as last
  // tallied (Retally): offline adds nothing.
  AgentStatus tallied_status = AgentStatus::kOffline;
  uint8_t tallied_free = 0;  // bit ch: offerable and able to take channel ch
};

// What CountAgents reads of one agent, kept (by Retally) in one array by
// agent index, so a scrape's agents-by-state and occupancy figures read a
// few hundred kilobytes in order instead of every agent's object.
struct AgentTallyRow {
  AgentStatus status = AgentStatus::kOffline;
  Agent::Mode mode = Agent::Mode::kNone;
  uint8_t channels = 0;  // bit ch: capacity[ch] > 0
  absl::Time accounted_until = absl::InfinitePast();
  absl::Duration handling_time = absl::ZeroDuration();
  absl::Duration idle_time = absl::ZeroDuration();
};

struct Contact {
  ContactId id = 0;
  ContactSpec spec;
  uint32_t queue = 0;
  uint32_t language = 0;
  uint8_t special = 0;
  absl::Time created;
  absl::Time arrival;  // the SLA clock's start in its current queue
  absl::Time deadline;
  UrgencyScore score;
  // In force when its SLA clock started in its queue (PolicyAt(queue, arrival));
  // derived, so snapshots and reloads recompute it (Rescore).
  RoutingPolicy policy = RoutingPolicy::kRanked;
  ContactKey key;
  uint32_t stage = 0;
  uint32_t epoch = 0;  // bumped when its queue or SLA clock changes
  ContactState state = ContactState::kQueued;
  int32_t agent_index = kNoAgentIndex;  // offered to / connected with
  int32_t reserved_for_index = kNoAgentIndex;
  uint64_t offer = 0;
  absl::Time offered_at = absl::InfinitePast();
  int32_t missed_by_index = kNoAgentIndex;  // not re-offered to this agent until missed_until
  absl::Time missed_until = absl::InfinitePast();
  bool breached = false;
  bool follow_up = false;
  // Needs a senior but has waited escalation.senior_wait_share of its target
  // for one: the senior bit is off in `special`. Derived (Rescore), never saved.
  bool senior_relaxed = false;
  // Waits in its queue's buckets of contacts past their SLA deadline: put
  // there when it starts waiting at or after its deadline, or moved there by
  // the kSlaDeadline timer. Derived (InsertWaiting), never saved.
  bool past_target = false;
  std::vector<std::string> history;
};

class Router::Impl {
 public:
  static absl::StatusOr<std::unique_ptr<Impl>> Create(RouterConfig config);

  // Commands (router.cc).
  absl::StatusOr<std::vector<ContactId>> Reconfigure(RouterConfig config, absl::Time now);
  absl::StatusOr<SubmitResult> Submit(ContactSpec spec, absl::Time now, uint64_t request_digest);
  absl::Status Update(ContactId id, const Signals& signals, std::optional<Tier> tier,
                      absl::Time now);
  absl::Status Abandon(ContactId id, absl::Time now);
  absl::Status Cancel(ContactId id, absl::string_view reason, absl::Time now);
  absl::Status Login(const AgentSpec& spec, absl::Time now);
  absl::Status Logout(absl::string_view agent_id, absl::string_view reason, absl::Time now);
  absl::Status SetAvailable(absl::string_view agent_id, absl::Time now);
  absl::Status SetNotReady(absl::string_view agent_id, absl::string_view reason, absl::Time now);
  absl::Status Accept(absl::string_view agent_id, uint64_t offer_id, absl::Time now);
  absl::Status Reject(absl::string_view agent_id, uint64_t offer_id, absl::string_view reason,
                      absl::Time now);
  absl::Status Complete(absl::string_view agent_id, ContactId id, const Outcome& outcome,
                        absl::Time now);
  absl::Status WrapUpDone(absl::string_view agent_id, ContactId id, absl::Time now);
  absl::Status Transfer(absl::string_view agent_id, ContactId id, absl::string_view to_queue,
                        absl::string_view note, absl::Time now);
  void Tick(absl::Time now);
  void Restarted(absl::Time now);
  std::optional<absl::Time> NextDeadline() const;
  std::vector<Event> TakeEvents();

  // Queries (router_queries.cc).
  std::optional<ContactId> FindByIdempotencyKey(absl::string_view key) const;
  std::optional<IdempotencyView> LookupIdempotencyKey(absl::string_view key) const;
  absl::StatusOr<ContactView> GetContact(ContactId id, absl::Time now) const;
  absl::StatusOr<ContactPlace> Locate(ContactId id) const;
  absl::StatusOr<Explanation> Explain(ContactId id, absl::Time now) const;
  std::vector<QueueStats> Queues(absl::Time now) const;
  absl::StatusOr<AgentView> GetAgent(absl::string_view agent_id, absl::Time now) const;
  std::vector<AgentView> Agents(absl::Time now) const;
  std::vector<AgentView> AgentsPage(absl::string_view after_agent_id, size_t limit, absl::Time now,
                                    bool* more) const;
  AgentTally CountAgents(absl::Time now) const;
  // work_conservation: also that no free agent sits beside a contact it may take.
  absl::Status CheckInvariants(bool work_conservation = true) const;

  // Snapshots (router_state.cc).
  RouterState Save() const;
  static absl::StatusOr<std::unique_ptr<Impl>> Restore(RouterConfig config,
                                                       const RouterState& state);

  const RouterConfig& config() const { return config_; }
  void set_emit_events(bool enabled) { emit_events_ = enabled; }
  uint64_t events_emitted() const { return events_emitted_; }
  absl::Time now() const { return now_; }
  size_t live_contacts() const { return contacts_.size(); }
  size_t known_agents() const { return agents_.size(); }

 private:
  // ---- configuration ----
  absl::Status LoadConfig(RouterConfig config);
  uint32_t InternLanguage(const std::string& language);
  void ComputeEligibility(Agent& a);
  bool MeetsSkills(const Agent& a, const std::vector<SkillRequirement>& skills) const;
  bool QualifiesAtStage(const Agent& a, const Queue& q, uint32_t stage) const;
  uint32_t FirstStage(const Agent& a, uint32_t queue) const;

  // ---- time ----
  void AdvanceTo(absl::Time now);
  void RunTimer(const Timer& t);
  void Schedule(const Timer& t) { timers_.Schedule(t); }
  void ScheduleWaitingTimers(const Contact& c);
  // When a contact needing a senior stops waiting for one (arrival plus
  // escalation.senior_wait_share of its queue's target).
  absl::Time SeniorRelaxAt(const Contact& c) const;
  // Whether `c` is past that point now (false without a senior skill in the
  // config): what Rescore derives and the kSeniorRelax timer makes true.
  bool SeniorRelaxDue(const Contact& c) const;
  // What the overflow event and Explain say about a relaxed contact.
  std::string SeniorRelaxedReason(const Contact& c) const;
  // The kEscalated event's reason: relaxed at once when already past the point.
  std::string EscalatedReason(const Contact& c) const;
  // Sets the kSeniorRelax timer if `c` still waits for a senior and has none.
  void ScheduleSeniorRelax(const Contact& c);

  // ---- contacts ----
  // Every change of a live contact's state, so its queue's offered and
  // connected counts (and its agent's status) follow.
  void SetState(Contact& c, ContactState state);
  void CountHeld(const Contact& c, bool add);
  void RecountHeld();  // after the queues are renumbered (a reload) or restored
  Contact* FindContact(ContactId id);
  const Contact* FindContact(ContactId id) const;
  // A contact an index or an agent's `held` names, which must exist:
  // CCR_CHECKs that it does (a dangling id is a router bug, not input).
  Contact& IndexedContact(ContactId id);
  void Rescore(Contact& c);
  uint32_t StageForWait(const Queue& q, absl::Duration wait) const;
  void Enqueue(Contact& c);  // into its bucket (or its advisor's reserve), then match
  // Its WaitingContacts bucket (when it waits in one, not in a reserve).
  uint64_t BucketOf(const Contact& c) const {
    return BucketKey(c.queue, c.stage, c.language, c.special, c.past_target);
  }
  void InsertWaiting(Contact& c);  // sets past_target from the time
  void RemoveWaiting(Contact& c);
  void Retire(Contact& c, ContactState final_state);  // emits nothing; forgets the contact
  void ReleaseFromAgent(Contact& c);
  void Requeue(Contact& c, absl::string_view history_note);
  void CreateFollowUp(const Contact& origin, absl::Duration promise, absl::string_view why);
  // Appends to a contact's history within limits.max_history_* (types.h).
  void AppendHistory(std::vector<std::string>& history, absl::string_view entry) const;
  uint32_t Position(const Contact& c) const;
  absl::Duration EstimatedWait(const Queue& q, uint32_t position) const;
  // EstimatedWait for `c` at `position` (Position(c)); for a contact waiting
  // for its dedicated advisor, by that advisor or its queue after the
  // reservation, whichever is sooner.
  absl::Duration EstimatedWaitOf(const Contact& c, uint32_t position) const;
  // Mean handle time (the channel's default until one is measured) plus the
  // channel's wrap-up.
  absl::Duration MeanService(const Queue& q) const;
  ContactView View(const Contact& c, absl::Time now) const;
  ContactPlace Place(const Contact& c) const;

  // ---- agents ----
  Agent* FindAgent(absl::string_view agent_id);
  const Agent* FindAgent(absl::string_view agent_id) const;
  absl::StatusOr<Agent*> LoggedInAgent(absl::string_view agent_id);
  // The contact behind an outstanding offer, if it is offered to `a`.
  absl::StatusOr<Contact*> OfferedTo(const Agent& a, uint64_t offer_id);
  bool Offerable(const Agent& a) const { return a.logged_in && !a.not_ready && !a.resting; }
  bool CanTake(const Agent& a, Channel ch) const;
  bool Eligible(const Agent& a, const Contact& c) const;
  bool Excluded(const Contact& c, uint32_t agent_index) const {
    return c.missed_by_index == static_cast<int32_t>(agent_index) && now_ < c.missed_until;
  }
  void RefreshPools(Agent& a);  // after any change to its state or load
  void Repool(Agent& a);        // the pool part of RefreshPools, without occupancy accounting
  void ApplySpec(Agent& a, AgentSpec spec);  // skills, languages, capacity, eligibility
  // Per channel, with 0 (or no channel listed) taking the config's default.
  std::array<uint32_t, kChannelCount> CapacitiesOf(const AgentSpec& spec) const;
  void AcquireSlot(Agent& a, Contact& c);
  void ReleaseSlot(Agent& a, Contact& c);
  void Miss(Agent& a, Contact& c, EventKind kind, absl::string_view reason);
  void WithdrawOffers(Agent& a, absl::string_view reason);
  void ReleaseReservations(Agent& a);
  AgentStatus StatusOf(const Agent& a) const;
  // The agent's share of the scrape's counts: Retally after any change to
  // its status, load or occupancy accounting (Repool calls it); Untally
  // before its eligibility changes.
  void Retally(Agent& a);
  void Untally(Agent& a);
  void TallyQueues(const Agent& a, bool add);
  void EmitAgentState(const Agent& a);
  // Forgetting logged-out agents: one sweep timer per due time (rounded up
  // to retention / 16, so a burst of logouts shares a sweep); the sweep
  // forgets every agent due and renumbers the rest in their old order, so
  // agent indexes stay dense and tie-breaks by index keep their order.
  void ScheduleAgentSweep(absl::Time due);
  void ForgetLoggedOutAgents();
  // Whether a new language (not yet interned) in `languages` would pass
  // limits.max_languages; InvalidArgument-free, names `field` when refused.
  absl::Status CheckNewLanguages(const std::vector<std::string>& languages,
                                 absl::string_view field) const;

  // ---- matching ----
  void MatchContact(Contact& c);
  void MatchAgent(Agent& a);
  void Offer(Agent& a, Contact& c, absl::string_view why);

  Event& Emit(EventKind kind, const Contact* c);
  Event& EmitForAgent(EventKind kind, const Agent& a);

  RouterConfig config_;
  std::vector<Queue> queues_;
  absl::flat_hash_map<std::string, uint32_t> queue_index_;
  absl::flat_hash_map<std::string, uint32_t> languages_;
  std::vector<std::string> language_names_;
  // Queue names that idempotency entries of ended contacts refer to, interned
  // (queues come and go with reloads; the names stay few).
  std::vector<std::string> ended_queue_names_;
  absl::flat_hash_map<std::string, uint32_t> ended_queue_index_;
  uint32_t InternEndedQueue(const std::string& name);
  std::array<std::string, kSpecialSkillCount> special_skills_;

  absl::node_hash_map<ContactId, Contact> contacts_;
  WaitingContacts waiting_;  // queued contacts not reserved for an advisor
  FreeAgentPools pools_;
  absl::flat_hash_map<uint64_t, ContactId> offers_;
  std::vector<std::unique_ptr<Agent>> agents_;
  std::vector<AgentTallyRow> tally_rows_;  // by agent index
  absl::flat_hash_map<std::string, uint32_t> agent_index_;
  // customer id -> (last agent's index, when the contact was answered), for stickiness.
  absl::flat_hash_map<std::string, std::pair<uint32_t, absl::Time>> last_agent_;
  IdempotencyWindow idempotency_;
  std::multimap<absl::Time, Event> deferred_events_;  // surveys
  TimerQueue timers_;

  absl::Time now_ = absl::InfinitePast();
  ContactId next_contact_ = 1;
  uint64_t next_offer_ = 1;
  uint64_t events_emitted_ = 0;  // the last Event::sequence given
  std::vector<Event> events_;
  bool emit_events_ = true;
  Event scratch_event_;  // what Emit fills when events are off
};

}  // namespace ccr

#endif  // CCROUTER_ROUTER_INTERNAL_ROUTER_IMPL_H_
