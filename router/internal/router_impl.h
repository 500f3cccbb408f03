// Router::Impl: the state behind router.h and the indexes that make every
// routing decision O(log n). Private to router/.
//
// Indexes (all kept exact after every command; CheckInvariants() proves it):
//  - Waiting contacts live in buckets keyed by (queue, overflow stage,
//    language, required special skills). Each bucket is ordered by
//    ContactKey: emergencies first, then by rank = SLA deadline minus
//    urgency x seconds_per_point. Any agent eligible for a bucket is
//    eligible for every contact in it, so a bucket's head is its best
//    contact for that agent, and a free agent compares only bucket heads.
//  - Free agents live in pools keyed by (queue, the earliest overflow stage
//    at which they qualify, language, their special skills), ordered by
//    AgentKey: best proficiency for that queue, then least loaded, then
//    longest since the last offer. A waiting contact compares pool heads.
//  - Timers (offer deadlines, overflow steps, SLA deadlines, expiry, wrap-up,
//    rest, scheduled contacts) sit in one ordered set; stale ones are skipped
//    when they come due (each carries what it expects to find).
#ifndef CCROUTER_ROUTER_INTERNAL_ROUTER_IMPL_H_
#define CCROUTER_ROUTER_INTERNAL_ROUTER_IMPL_H_

#include <deque>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "router/router.h"
#include "router/state.h"
#include "router/urgency.h"

namespace ccr {

inline constexpr uint32_t kNoStage = 0xff;
inline constexpr int32_t kNoAgent = -1;
// Special skills a contact may require beyond its queue's: bit 0 senior,
// bit 1 elderly care, bit 2 accessibility.
inline constexpr int kSpecialSkillCount = 3;
inline constexpr uint8_t kAllSpecialSkills = (1u << kSpecialSkillCount) - 1;

struct ContactKey {
  uint8_t priority_class = 1;  // 0: emergency
  int64_t rank_ms = 0;
  ContactId id = 0;
  friend bool operator<(const ContactKey& a, const ContactKey& b) {
    return std::tie(a.priority_class, a.rank_ms, a.id) <
           std::tie(b.priority_class, b.rank_ms, b.id);
  }
  friend bool operator==(const ContactKey& a, const ContactKey& b) {
    return a.priority_class == b.priority_class && a.rank_ms == b.rank_ms && a.id == b.id;
  }
};

struct AgentKey {
  int32_t neg_proficiency = 0;
  uint32_t load = 0;
  int64_t last_offer_ms = 0;
  uint32_t agent = 0;
  friend bool operator<(const AgentKey& a, const AgentKey& b) {
    return std::tie(a.neg_proficiency, a.load, a.last_offer_ms, a.agent) <
           std::tie(b.neg_proficiency, b.load, b.last_offer_ms, b.agent);
  }
};

// An order-statistic tree, so a contact's position costs O(log n).
using ContactBucket =
    __gnu_pbds::tree<ContactKey, __gnu_pbds::null_type, std::less<ContactKey>,
                     __gnu_pbds::rb_tree_tag, __gnu_pbds::tree_order_statistics_node_update>;
using AgentPool = absl::btree_set<AgentKey>;

// (queue, stage, language, special skills) packed into one hash key.
inline uint64_t IndexKey(uint32_t queue, uint32_t stage, uint32_t language, uint8_t special) {
  return (uint64_t{queue} << 40) | (uint64_t{stage} << 32) | (uint64_t{language} << 8) | special;
}
inline uint32_t IndexKeyStage(uint64_t k) { return (k >> 32) & 0xff; }
inline uint32_t IndexKeyLanguage(uint64_t k) { return (k >> 8) & 0xffffff; }
inline uint8_t IndexKeySpecial(uint64_t k) { return k & 0xff; }

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
  QueueStats stats;  // counters; live figures are filled in by Queues()
  // Waiting contacts by SLA-clock start, for the oldest wait.
  absl::btree_set<std::pair<absl::Time, ContactId>> waiting_since;
  absl::flat_hash_set<uint64_t> nonempty_buckets;
  uint32_t staffed = 0;  // logged-in agents qualified at stage 0
  // Smoothed time between answers, for wait estimates.
  double answer_interval_seconds = 0;
  uint64_t intervals_measured = 0;
  absl::Time last_answer = absl::InfinitePast();
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
  std::vector<std::pair<uint64_t, AgentKey>> pool_memberships;
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
  ContactKey key;
  uint32_t stage = 0;
  uint32_t epoch = 0;  // bumped when its queue or SLA clock changes
  ContactState state = ContactState::kQueued;
  int32_t agent = kNoAgent;  // offered to / connected with
  int32_t reserved_for = kNoAgent;
  uint64_t offer = 0;
  absl::Time offered_at = absl::InfinitePast();
  int32_t missed_by = kNoAgent;  // not re-offered to this agent until missed_until
  absl::Time missed_until = absl::InfinitePast();
  bool breached = false;
  bool follow_up = false;
  std::vector<std::string> history;
};

enum class TimerKind : uint8_t {
  kOfferTimeout,
  kOverflowStep,
  kSlaDeadline,
  kExpire,
  kReservationEnd,
  kScheduledStart,
  kWrapUpEnd,
  kRestEnd,
  kReofferCooldownEnd,
  kForgetAgents,  // sweep: forgets agents logged out longer than limits.agent_retention
};

struct Timer {
  absl::Time at;
  uint64_t sequence = 0;  // insertion order breaks ties deterministically
  TimerKind kind = TimerKind::kOfferTimeout;
  uint64_t id = 0;   // contact id, or agent index for kRestEnd
  uint64_t aux = 0;  // offer id, target stage, or the contact's epoch
  friend bool operator<(const Timer& a, const Timer& b) {
    return std::tie(a.at, a.sequence) < std::tie(b.at, b.sequence);
  }
};

struct IdempotencyEntry {
  ContactId contact = 0;
  absl::Time expires;
  uint64_t request_digest = 0;  // of the gateway's request; 0: not known
  // Once the contact has ended: how, and in which queue (an index into
  // ended_queue_names_). Kept small: there is one entry per contact.
  uint32_t ended_queue = 0;
  ContactState ended_state = ContactState::kQueued;
  bool ended = false;
};

class Router::Impl {
 public:
  static absl::StatusOr<std::unique_ptr<Impl>> Create(RouterConfig config);

  // Commands (router.cc).
  absl::StatusOr<std::vector<ContactId>> Reconfigure(RouterConfig config, absl::Time now);
  absl::StatusOr<SubmitResult> Submit(const ContactSpec& spec, absl::Time now,
                                      uint64_t request_digest);
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
  void Schedule(absl::Time at, TimerKind kind, uint64_t id, uint64_t aux);
  void ScheduleWaitingTimers(const Contact& c);

  // ---- contacts ----
  Contact* FindContact(ContactId id);
  const Contact* FindContact(ContactId id) const;
  void Rescore(Contact& c);
  uint32_t StageForWait(const Queue& q, absl::Duration wait) const;
  void Enqueue(Contact& c);  // into its bucket (or its advisor's reserve), then match
  void InsertWaiting(Contact& c);
  void RemoveWaiting(Contact& c);
  void Finish(Contact& c, ContactState final_state);  // emits nothing; forgets the contact
  void ReleaseFromAgent(Contact& c);
  void Requeue(Contact& c, absl::string_view history_note);
  void CreateFollowUp(const Contact& origin, absl::Duration promise, absl::string_view why);
  // Appends to a contact's history within limits.max_history_* (types.h).
  void AppendHistory(std::vector<std::string>& history, absl::string_view entry) const;
  uint32_t Position(const Contact& c) const;
  absl::Duration EstimatedWait(const Queue& q, uint32_t position) const;
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
  bool Excluded(const Contact& c, uint32_t agent) const {
    return c.missed_by == static_cast<int32_t>(agent) && now_ < c.missed_until;
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
  absl::flat_hash_map<uint64_t, ContactBucket> buckets_;
  absl::flat_hash_map<uint64_t, AgentPool> pools_;
  absl::flat_hash_map<uint64_t, ContactId> offers_;
  std::vector<std::unique_ptr<Agent>> agents_;
  absl::flat_hash_map<std::string, uint32_t> agent_index_;
  // customer id -> (last agent, when the contact was answered), for stickiness.
  absl::flat_hash_map<std::string, std::pair<uint32_t, absl::Time>> last_agent_;
  // Each key is stored once, in idempotency_expiry_ (a deque never moves
  // its elements on push_back / pop_front); the map's keys view them, and an
  // entry leaves the map before its key leaves the deque. Expiries are
  // non-decreasing along the deque (now + window, and a reload that shortens
  // the window clamps the older ones), so the front expires first.
  struct IdempotencyKey {
    absl::Time expires;
    std::string key;
  };
  absl::flat_hash_map<absl::string_view, IdempotencyEntry> idempotency_;
  std::deque<IdempotencyKey> idempotency_expiry_;
  std::multimap<absl::Time, Event> deferred_events_;  // surveys
  absl::btree_set<Timer> timers_;

  absl::Time now_ = absl::InfinitePast();
  ContactId next_contact_ = 1;
  uint64_t next_offer_ = 1;
  uint64_t next_timer_ = 1;
  uint64_t events_emitted_ = 0;  // the last Event::sequence given
  std::vector<Event> events_;
  bool emit_events_ = true;
  Event scratch_event_;  // what Emit fills when events are off
};

}  // namespace ccr

#endif  // CCROUTER_ROUTER_INTERNAL_ROUTER_IMPL_H_
