// Router: the routing core. A pure, single-threaded, deterministic state
// machine: commands in (each carrying the time it happens), events out.
// It never reads a clock and does no I/O, so the same code runs live in
// ccrouterd, in the simulator and in journal replay.
//
// Usage:
//   auto router = ccr::Router::Create(config).value();
//   auto submitted = router->Submit(spec, now);          // absl::StatusOr
//   router->Login(agent_spec, now);
//   for (const ccr::Event& e : router->TakeEvents()) { ... }   // offers, SLA, ...
//   router->Tick(now);  // whenever NextDeadline() passes
//
// Every command first runs the timers due at or before its time, so results
// do not depend on how often Tick() is called. A command that fails returns a
// Status naming what was wrong and changes nothing. Time never goes backwards:
// a command older than the last one is treated as happening at the last time.
//
// REQUIRES: external synchronization (one strand owns a Router).
#ifndef CCROUTER_ROUTER_ROUTER_H_
#define CCROUTER_ROUTER_ROUTER_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "router/types.h"

namespace ccr {

enum class ContactState : uint8_t {
  kScheduled,
  kQueued,
  kOffered,
  kConnected,
  kWrapUp,
  kCompleted,
  kAbandoned,
  kExpired,
  kCancelled,
  kTransferred,
};
const char* ContactStateName(ContactState s);

enum class AgentStatus : uint8_t { kOffline, kAvailable, kNotReady, kBusy, kWrapUp, kResting };
const char* AgentStatusName(AgentStatus s);

enum class EventKind : uint8_t {
  kQueued,
  kScheduled,
  kOffered,
  kOfferWithdrawn,
  kOfferRejected,
  kOfferTimedOut,
  kAssigned,
  kCompleted,
  kWrapUpDone,
  kAbandoned,
  kCancelled,
  kExpired,
  kTransferred,
  kSlaBreached,
  kOverflowed,
  kEscalated,
  kSupervisorAlert,
  kFollowUpDue,
  kSurveyDue,
  kAgentState,
  kUpdated,
};
const char* EventKindName(EventKind k);

// The reason of the kQueued (or kFollowUpDue) event of a scheduled contact
// whose time came: it was counted as submitted when it was scheduled.
inline constexpr absl::string_view kScheduledStartReason = "scheduled time reached";

// One thing that happened. Offers (kOffered) and withdrawals are what the
// engine delivers to agent desktops; every event goes to watchers and metrics.
struct Event {
  EventKind kind = EventKind::kQueued;
  absl::Time time;
  ContactId contact = 0;
  uint64_t offer_id = 0;  // kOffered, kOfferWithdrawn, kOfferRejected, kOfferTimedOut
  std::string agent_id;
  std::string queue;
  Channel channel = Channel::kVoice;
  Tier tier = Tier::kStandard;
  std::string reason;
  absl::Duration wait = absl::ZeroDuration();  // since the SLA clock started
  uint32_t stage = 0;                          // overflow stage
  AgentStatus agent_status = AgentStatus::kOffline;
  absl::Time deadline = absl::InfinitePast();  // kOffered: accept before
  Outcome outcome;                             // kCompleted
  bool emergency = false;                      // about an emergency-class contact
  // 1, 2, 3, ... over the router's whole history, counted even while events
  // are off and kept in snapshots: replay numbers every event as the live
  // engine did, so WatchEvents sequence numbers survive restarts.
  uint64_t sequence = 0;
};

struct IdempotencyView {
  ContactId contact = 0;
  uint64_t request_digest = 0;  // 0: not known (submitted before digests were kept)
  std::optional<ContactState> ended;
  std::string ended_queue;
};

struct SubmitResult {
  ContactId contact = 0;
  std::string queue;
  ContactState state = ContactState::kQueued;
  uint32_t position = 0;  // 1 = next in its queue; 0 when offered or scheduled
  absl::Duration estimated_wait = absl::ZeroDuration();
};

// Where a contact is now: what a gateway following it needs
// (ContactIngest.WatchContact), cheap enough to recompute every second for
// every watched contact: no copy of its history, attributes or signals.
struct ContactPlace {
  ContactId contact = 0;
  std::string queue;
  ContactState state = ContactState::kQueued;
  std::string agent_id;   // offered to / connected with / reserved for
  uint32_t position = 0;  // 1 = next in its queue; 0 when not waiting
  absl::Duration estimated_wait = absl::ZeroDuration();
};

// A contact as operators and gateways see it.
struct ContactView : ContactPlace {
  Channel channel = Channel::kVoice;
  Tier tier = Tier::kStandard;
  uint64_t offer_id = 0;
  absl::Time arrival;
  uint32_t stage = 0;
  std::string customer_id;
  std::string language;
  std::string topic;
  Signals signals;
  double urgency = 0;
  std::vector<std::string> history;
  std::map<std::string, std::string> attributes;
};

struct ScoreComponent {
  std::string name;
  double points = 0;
};

struct AgentConsidered {
  std::string agent_id;
  bool eligible = false;
  std::string why_not;
  // What decides between eligible agents, in this order: the fewest queues
  // served without overflow plus special skills held (what the agent is
  // worth elsewhere), then the highest proficiency (sum of its levels in the
  // queue's skills).
  uint32_t breadth = 0;
  int32_t proficiency = 0;
};

// Why a contact is where it is.
struct Explanation {
  ContactView contact;
  std::vector<ScoreComponent> components;  // urgency parts, then "aging"
  double urgency = 0;                      // sum without aging
  double total_score = 0;                  // urgency + aging: what ranks it now
  bool priority_class_emergency = false;   // emergencies rank ahead of all others
  // The policy it is served under (in force on its queue at its arrival).
  // Under kFifo urgency buys no place: total_score is the aging alone.
  RoutingPolicy policy = RoutingPolicy::kRanked;
  absl::Duration wait = absl::ZeroDuration();
  absl::Duration sla_slack = absl::ZeroDuration();  // negative: past target
  std::vector<std::string> required_skills;         // at its current stage
  std::vector<AgentConsidered> agents;
  std::string summary;
};

struct QueueStats {
  std::string name;
  Channel channel = Channel::kVoice;
  absl::Duration target = absl::ZeroDuration();
  double target_ratio = 0;
  uint32_t queued = 0;  // waiting, including contacts reserved for an advisor
  uint32_t offered = 0;
  uint32_t connected = 0;
  absl::Duration oldest_wait = absl::ZeroDuration();
  uint64_t submitted = 0;
  uint64_t answered = 0;
  uint64_t answered_within_target = 0;
  uint64_t abandoned = 0;
  uint64_t abandoned_short = 0;  // within the queue's short-abandon threshold
  uint64_t expired = 0;
  uint64_t cancelled = 0;
  uint64_t transferred_out = 0;
  uint64_t completed = 0;
  uint64_t resolved = 0;
  uint64_t sla_breaches = 0;
  uint64_t overflows = 0;
  absl::Duration total_answer_wait = absl::ZeroDuration();
  uint32_t agents_eligible = 0;   // logged in, qualified at stage 0
  uint32_t agents_available = 0;  // of those, free to take one now
  // Of agents_eligible, by state (AgentStatus): kBusy, kWrapUp, kNotReady, kResting.
  uint32_t agents_busy = 0;
  uint32_t agents_wrap_up = 0;
  uint32_t agents_not_ready = 0;
  uint32_t agents_resting = 0;
  absl::Duration estimated_wait = absl::ZeroDuration();  // for a contact arriving now
  // In force now: what a contact arriving now is served under.
  RoutingPolicy policy = RoutingPolicy::kRanked;
  // The service objective (README "Routing rules"): of its last answers (at
  // most kServiceObjectiveWindow), those within target, and whether that is
  // short of its objective, so its contacts still in time go first.
  uint32_t recent_answers = 0;
  uint32_t recent_within_target = 0;
  double service_objective = 0;
  bool short_of_objective = false;

  // answered within target / answered (1 when nothing was answered yet).
  double ServiceLevel() const;
  // (answered within target + short abandons) / (answered + abandoned).
  double ServiceLevelAbandonAdjusted() const;
  absl::Duration AverageSpeedOfAnswer() const;
  double AbandonRatio() const;
};

struct AgentView {
  std::string agent_id;
  std::string display_name;
  AgentStatus status = AgentStatus::kOffline;
  std::string reason;  // not-ready reason
  std::vector<SkillLevel> skills;
  std::vector<std::string> languages;
  struct Load {
    Channel channel;
    uint32_t active;
    uint32_t capacity;
  };
  std::vector<Load> load;
  std::vector<ContactId> contacts;
  absl::Duration idle = absl::ZeroDuration();
  uint32_t consecutive_misses = 0;
  double occupancy = 0;  // handling / (handling + available idle)
};

// Logged-in agents by channel served and state, without building a view of
// each (what dashboards and the metrics scrape need, in one pass).
struct AgentTally {
  static constexpr int kStates = static_cast<int>(AgentStatus::kResting) + 1;
  // [channel][status]: agents serving the channel in that state (offline: 0).
  std::array<std::array<uint32_t, kStates>, kChannelCount> by_state{};
  // [channel]: the sum of those agents' occupancy (divide by their count).
  std::array<double, kChannelCount> occupancy_sum{};
  std::array<uint32_t, kChannelCount> logged_in{};
};

class RouterObserver;
struct RouterState;

class Router {
 public:
  // Fails with InvalidArgument naming the field when the config is unusable.
  static absl::StatusOr<std::unique_ptr<Router>> Create(RouterConfig config);
  // Rebuilds a router from Save()'s output under the config it was saved
  // with; the result behaves exactly as the saved one would have. Fails with
  // DataLoss naming what does not fit (an unknown queue, a broken index).
  static absl::StatusOr<std::unique_ptr<Router>> Restore(RouterConfig config,
                                                         const RouterState& state);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Replaces the config, keeping every contact. Contacts of removed queues
  // move to the new config's fallback queue (returned); fails and changes
  // nothing when that is impossible.
  absl::StatusOr<std::vector<ContactId>> Reconfigure(RouterConfig config, absl::Time now);

  // ---- gateway commands ----
  // AlreadyExists when the idempotency key is known (FindByIdempotencyKey
  // gives the first contact); NotFound for an unknown queue.
  // `request_digest` (of the gateway's request, 0: unknown) is kept with the
  // idempotency key, so a retry can be told from another request reusing it.
  // `spec` moves into the contact (pass an rvalue to save copying its strings).
  absl::StatusOr<SubmitResult> Submit(ContactSpec spec, absl::Time now,
                                      uint64_t request_digest = 0);
  // New signals (and tier, when set); takes effect at once.
  absl::Status Update(ContactId id, const Signals& signals, std::optional<Tier> tier,
                      absl::Time now);
  // The customer hung up or left: withdraws any offer at once.
  absl::Status Abandon(ContactId id, absl::Time now);
  absl::Status Cancel(ContactId id, absl::string_view reason, absl::Time now);

  // ---- agent commands ----
  absl::Status Login(const AgentSpec& spec, absl::Time now);
  // Outstanding offers are withdrawn; connected contacts go back to their
  // queue with their SLA clock intact, so nobody is lost.
  absl::Status Logout(absl::string_view agent_id, absl::string_view reason, absl::Time now);
  absl::Status SetAvailable(absl::string_view agent_id, absl::Time now);
  absl::Status SetNotReady(absl::string_view agent_id, absl::string_view reason, absl::Time now);
  absl::Status Accept(absl::string_view agent_id, uint64_t offer_id, absl::Time now);
  absl::Status Reject(absl::string_view agent_id, uint64_t offer_id, absl::string_view reason,
                      absl::Time now);
  absl::Status Complete(absl::string_view agent_id, ContactId id, const Outcome& outcome,
                        absl::Time now);
  absl::Status WrapUpDone(absl::string_view agent_id, ContactId id, absl::Time now);
  // Moves a connected contact to another queue, keeping its context; `note`
  // joins its history so the customer never repeats themselves.
  absl::Status Transfer(absl::string_view agent_id, ContactId id, absl::string_view to_queue,
                        absl::string_view note, absl::Time now);

  // Runs every timer due at or before `now`: offer timeouts, overflow steps,
  // SLA breaches, expiry, wrap-up ends, rests, scheduled callbacks, follow-ups.
  void Tick(absl::Time now);
  // The host restarted (after recovery): runs the timers that came due while
  // it was down (offers time out, follow-ups fire, SLA clocks keep counting
  // from the original arrival), then withdraws every offer still outstanding,
  // since no desktop holds it any more, and re-queues those contacts.
  void Restarted(absl::Time now);
  // When Tick() next has something to do (nullopt: nothing pending).
  std::optional<absl::Time> NextDeadline() const;

  // Events since the last call, in the order they happened. Each is also
  // shown to the observer, if one is set.
  std::vector<Event> TakeEvents();
  // Off: no events are kept (journal replay needs the state, not the
  // history it re-creates). On by default.
  void SetEventsEnabled(bool enabled);
  // The sequence number of the last event emitted (0: none yet).
  uint64_t events_emitted() const;
  // Not owned; nullptr to stop observing. Set it after journal replay, so
  // recovered history is not counted twice.
  void SetObserver(RouterObserver* observer) { observer_ = observer; }

  // ---- queries (no state change) ----
  std::optional<ContactId> FindByIdempotencyKey(absl::string_view key) const;
  // What the idempotency window holds for `key`: the contact, the digest of
  // the request that created it, and, once it has ended, how and where.
  std::optional<IdempotencyView> LookupIdempotencyKey(absl::string_view key) const;
  absl::StatusOr<ContactView> GetContact(ContactId id, absl::Time now) const;
  // NOT_FOUND like GetContact when the contact is not live.
  absl::StatusOr<ContactPlace> Locate(ContactId id) const;
  absl::StatusOr<Explanation> Explain(ContactId id, absl::Time now) const;
  std::vector<QueueStats> Queues(absl::Time now) const;
  absl::StatusOr<AgentView> GetAgent(absl::string_view agent_id, absl::Time now) const;
  std::vector<AgentView> Agents(absl::Time now) const;
  // At most `limit` agents in agent id order, starting after
  // `after_agent_id` (empty: from the first); `*more` tells whether others follow.
  std::vector<AgentView> AgentsPage(absl::string_view after_agent_id, size_t limit, absl::Time now,
                                    bool* more) const;
  AgentTally CountAgents(absl::Time now) const;
  const RouterConfig& config() const;
  absl::Time now() const;
  size_t live_contacts() const;
  size_t known_agents() const;  // logged in, or logged out and not yet forgotten

  // Everything needed to carry on exactly from here (router/router_state.h).
  RouterState Save() const;

  // Checks every internal index against a brute-force recomputation and the
  // routing invariants (no contact offered twice, no agent over capacity, no
  // free agent left beside a contact it could take). For tests.
  absl::Status CheckInvariants() const;

 private:
  class Impl;
  explicit Router(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  RouterObserver* observer_ = nullptr;
};

// Formats ids as they appear on the wire: "c-42", "o-7" (in cluster mode
// "o-EPOCH-7", see SetOfferIdEpoch).
std::string ContactIdString(ContactId id);
std::string OfferIdString(uint64_t id);
// Cluster mode: the fencing epoch of the ownership this process serves under
// (0, the default: a single node). Offer ids then read "o-EPOCH-N", so an
// offer a deposed owner made can be told from any this owner makes, and
// OfferIdFromWire refuses it by name. Set once, before the engine starts
// (a deposed owner starts over as a new process); read on any thread.
void SetOfferIdEpoch(uint64_t epoch);
uint64_t OfferIdEpoch();
// `text` cut to at most `max_bytes` bytes, on a UTF-8 character boundary, and
// ending in "...[truncated]" when it was cut (max_bytes >= 32).
std::string TruncateText(absl::string_view text, size_t max_bytes);
// Parses them back; nullopt when malformed or not canonical ("c-01").
std::optional<ContactId> ParseContactId(absl::string_view s);
// An offer id's number, from "o-N" or "o-EPOCH-N" (the epoch is not checked).
std::optional<uint64_t> ParseOfferId(absl::string_view s);
struct ParsedOfferId {
  uint64_t epoch = 0;  // 0: "o-N"
  uint64_t id = 0;
};
std::optional<ParsedOfferId> ParseOfferIdAndEpoch(absl::string_view s);

}  // namespace ccr

#endif  // CCROUTER_ROUTER_ROUTER_H_
