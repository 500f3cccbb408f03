// ReferenceRouter: a naive model of the routing rules, for tests only.
//
// Written from DESIGN.md and README "Routing rules" with no indexes: every
// decision is a linear scan over all contacts or all agents, and nothing is
// read from the real router (it never calls Router::Explain). It shares only
// the urgency scoring (router/urgency.h), which is the scoring rule itself,
// not a routing decision. Randomised tests run the same commands on both and
// compare the offers they make: which contact, to which agent, when, and why.
//
// What it models: queues with overflow steps (lower levels, added queues, any
// agent of the channel), languages, the senior special skill, per-channel
// capacity and exclusive channels, sticky last agents, offers with accept
// deadlines, reject / timeout with a re-offer cooldown and not-ready after
// max_consecutive_misses, wrap-up, transfer, abandon, cancel, signal updates,
// logout with requeue, and forgetting logged-out agents after
// limits.agent_retention, routing policies per queue and A/B tests (ranked,
// fifo). Not modelled (the tests leave them off): dedicated
// advisors, scheduled contacts and routed follow-ups, expiry, forced rest,
// elderly / accessibility skills, reloads, restarts. The senior requirement
// ends when the contact has waited escalation.senior_wait_share of its
// queue's target (an agendum, like an overflow step).
#ifndef CCROUTER_ROUTER_TESTING_REFERENCE_ROUTER_H_
#define CCROUTER_ROUTER_TESTING_REFERENCE_ROUTER_H_

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "router/router.h"
#include "router/types.h"

namespace ccr::testing {

struct ReferenceOffer {
  absl::Time time;
  ContactId contact = 0;
  uint64_t offer_id = 0;
  std::string agent_id;
  std::string reason;
};

class ReferenceRouter {
 public:
  explicit ReferenceRouter(RouterConfig config);

  absl::StatusOr<ContactId> Submit(const ContactSpec& spec, absl::Time now);
  absl::Status Update(ContactId id, const Signals& signals, absl::Time now);
  absl::Status Abandon(ContactId id, absl::Time now);
  absl::Status Cancel(ContactId id, absl::Time now);
  absl::Status Login(const AgentSpec& spec, absl::Time now);
  absl::Status Logout(const std::string& agent_id, absl::Time now);
  absl::Status SetAvailable(const std::string& agent_id, absl::Time now);
  absl::Status SetNotReady(const std::string& agent_id, absl::Time now);
  absl::Status Accept(const std::string& agent_id, uint64_t offer_id, absl::Time now);
  absl::Status Reject(const std::string& agent_id, uint64_t offer_id, absl::Time now);
  absl::Status Complete(const std::string& agent_id, ContactId id, absl::Time now);
  absl::Status WrapUpDone(const std::string& agent_id, ContactId id, absl::Time now);
  absl::Status Transfer(const std::string& agent_id, ContactId id, const std::string& to_queue,
                        absl::Time now);
  void Tick(absl::Time now);

  // Offers made since the last call, in the order they were made.
  std::vector<ReferenceOffer> TakeOffers();

 private:
  enum class State { kQueued, kOffered, kConnected, kWrapUp };
  struct Contact {
    ContactId id = 0;
    ContactSpec spec;
    std::string queue;
    std::string language;
    absl::Time arrival;  // the SLA clock's start in its current queue
    uint32_t stage = 0;
    uint32_t epoch = 0;           // bumped by a transfer: the old queue's overflow steps stop
    bool senior_relaxed = false;  // waited its share of the target for a senior
    State state = State::kQueued;
    std::string agent;  // offered to / held by
    uint64_t offer = 0;
    std::string missed_by;  // not offered to it again before missed_until
    absl::Time missed_until = absl::InfinitePast();
  };
  struct Agent {
    AgentSpec spec;
    std::vector<std::string> languages;
    std::map<Channel, uint32_t> capacity;
    bool logged_in = false;
    bool not_ready = false;
    uint32_t misses = 0;
    absl::Time last_offer = absl::InfinitePast();
    absl::Time logged_out_at = absl::InfinitePast();
    absl::Time idle_since = absl::InfinitePast();  // first seen, or its load last fell to 0
  };
  // Something that happens at a time: fired in time order, ties in the order set.
  enum class Due { kOfferTimeout, kOverflow, kWrapUpEnd, kCooldownEnd, kForget, kSeniorRelax };
  struct Agendum {
    absl::Time at;
    uint64_t order = 0;
    Due what = Due::kOfferTimeout;
    ContactId contact = 0;
    uint64_t value = 0;  // kOfferTimeout: offer id; kOverflow: epoch << 8 | stage;
                         // kSeniorRelax: epoch
  };

  void AdvanceTo(absl::Time now);
  void Set(absl::Time at, Due what, ContactId contact, uint64_t value);
  const QueueConfig& QueueOf(const std::string& name) const;
  Contact* FindContact(ContactId id);
  Agent* FindAgent(const std::string& id);
  size_t AgentOrder(const std::string& id) const;  // its place among known agents
  absl::StatusOr<Agent*> LoggedIn(const std::string& id);

  // The rules.
  std::vector<SkillRequirement> SkillsAtStage(const QueueConfig& q, uint32_t stage) const;
  bool QualifiesAtStage(const Agent& a, const QueueConfig& q, uint32_t stage) const;
  std::optional<uint32_t> FirstStage(const Agent& a, const QueueConfig& q) const;
  bool Eligible(const Agent& a, const Contact& c) const;
  bool CanTake(const Agent& a, Channel ch) const;
  bool Offerable(const Agent& a) const { return a.logged_in && !a.not_ready; }
  bool Excluded(const Contact& c, const std::string& agent) const {
    return c.missed_by == agent && now_ < c.missed_until;
  }
  // Its signals call for a senior (whether or not it still waits for one).
  bool SignalsNeedSenior(const Contact& c) const;
  // Only a senior may take it now.
  bool NeedsSenior(const Contact& c) const { return SignalsNeedSenior(c) && !c.senior_relaxed; }
  absl::Time SeniorRelaxAt(const Contact& c) const;
  // After the signals or the SLA clock change: relaxed if past the point,
  // else the agendum that relaxes it.
  void PlanSeniorRelax(Contact& c);
  // The routing policy in force on `q` at `t` (its A/B test's, if any).
  RoutingPolicy PolicyAt(const QueueConfig& q, absl::Time t) const;
  bool Fifo(const Contact& c) const {
    return PolicyAt(QueueOf(c.queue), c.arrival) == RoutingPolicy::kFifo;
  }
  // Emergencies first, then SLA deadline minus urgency x seconds_per_point
  // (fifo: the deadline alone), then id.
  std::tuple<int, int64_t, ContactId> Rank(const Contact& c) const;
  uint32_t StageForWait(const QueueConfig& q, absl::Duration wait) const;
  // Of the queue's last kServiceObjectiveWindow answers, those within target.
  size_t RecentWithinTarget(const std::string& queue) const;
  // At least kServiceObjectiveMinAnswers answers known and fewer than its
  // service objective's share within target.
  bool ShortOfObjective(const std::string& queue) const;
  uint32_t Load(const Agent& a) const;

  void Offer(Agent& a, Contact& c, const std::string& why);
  void MatchContact(Contact& c);
  void MatchAgent(Agent& a);
  void Release(Contact& c);
  // A contact left `agent_id` (empty: none): idle from now if it holds nothing.
  void NoteIdle(const std::string& agent_id);
  void Erase(ContactId id);  // ends a contact, releasing its agent
  void Requeue(Contact& c);
  void Enqueue(Contact& c);
  void Miss(Agent& a, Contact& c);
  void WithdrawOffers(Agent& a);

  RouterConfig config_;
  absl::Time now_ = absl::InfinitePast();
  std::map<ContactId, Contact> contacts_;
  std::vector<Agent> agents_;  // in the order first seen; forgotten ones leave
  std::map<std::string, std::pair<std::string, absl::Time>> last_agent_;  // customer -> agent
  // Per queue, whether each recent answer was within target, oldest first.
  std::map<std::string, std::deque<bool>> recent_answers_;
  std::vector<Agendum> agenda_;
  uint64_t next_order_ = 1;
  ContactId next_contact_ = 1;
  uint64_t next_offer_ = 1;
  std::vector<ReferenceOffer> offers_;
};

}  // namespace ccr::testing

#endif  // CCROUTER_ROUTER_TESTING_REFERENCE_ROUTER_H_
