// Routing policies per queue (types.h RoutingPolicy) and A/B tests that
// alternate them by period: the order contacts are served in, the agent
// chosen, the switch at a period boundary, reloads, and snapshots.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "router/router.h"
#include "router/router_state.h"

namespace ccr {
namespace {

// A multiple of 60 s: minute-long A/B periods start ranked here.
const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);
absl::Time At(double seconds) { return kT0 + absl::Seconds(seconds); }

QueueConfig Queue(std::string name, std::string skill, absl::Duration answer_within) {
  QueueConfig q;
  q.name = std::move(name);
  q.channel = Channel::kVoice;
  q.skills = {{std::move(skill), 1}};
  q.answer_within = answer_within;
  return q;
}

// Two voice queues, no wrap-up; `policy` on both.
RouterConfig TwoQueues(RoutingPolicy policy) {
  RouterConfig c;
  for (ChannelConfig& ch : c.channels) ch.wrap_up = absl::ZeroDuration();
  c.channels[static_cast<int>(Channel::kVoice)].exclusive = true;
  c.queues = {Queue("general", "general", absl::Seconds(20)),
              Queue("billing", "billing", absl::Seconds(60))};
  for (QueueConfig& q : c.queues) q.routing_policy = policy;
  c.fallback_queue = "general";
  c.follow_ups.survey_enabled = false;
  return c;
}

AgentSpec Agent(const std::string& id, std::vector<SkillLevel> skills) {
  AgentSpec a;
  a.agent_id = id;
  a.skills = std::move(skills);
  a.languages = {"en"};
  a.capacities = {{Channel::kVoice, 1}};
  return a;
}

ContactSpec Contact(const std::string& key, const std::string& queue, Tier tier = Tier::kStandard) {
  ContactSpec s;
  s.idempotency_key = key;
  s.queue = queue;
  s.tier = tier;
  return s;
}

ContactId MustSubmit(Router& r, const ContactSpec& s, absl::Time at) {
  absl::StatusOr<SubmitResult> result = r.Submit(s, at);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? result->contact : 0;
}

std::vector<Event> Offers(Router& r) {
  std::vector<Event> out;
  for (const Event& e : r.TakeEvents()) {
    if (e.kind == EventKind::kOffered) out.push_back(e);
  }
  return out;
}

// One agent takes and finishes every contact, one at a time: the order
// they were served in.
std::vector<ContactId> ServeAll(Router& r, absl::Time from) {
  std::vector<ContactId> served;
  absl::Time t = from;
  EXPECT_TRUE(r.Login(Agent("al", {{"general", 5}, {"billing", 5}}), t).ok());
  for (;;) {
    std::vector<Event> offers = Offers(r);
    if (offers.empty()) break;
    EXPECT_EQ(offers.size(), 1u);
    served.push_back(offers[0].contact);
    EXPECT_TRUE(r.Accept("al", offers[0].offer_id, t).ok());
    t += absl::Seconds(1);
    EXPECT_TRUE(r.Complete("al", offers[0].contact, Outcome{}, t).ok());
    EXPECT_TRUE(r.CheckInvariants().ok()) << r.CheckInvariants();
  }
  return served;
}

// Under fifo a VIP complaint and an escalated caller wait their turn; only an
// emergency goes first. The same contacts under ranked go by urgency.
TEST(RoutingPolicy, FifoServesInArrivalOrderRegardlessOfUrgencyButEmergenciesFirst) {
  auto submit_all = [](Router& r) {
    std::vector<ContactId> ids;
    ids.push_back(MustSubmit(r, Contact("a", "general"), At(0)));
    ContactSpec vip = Contact("b", "general", Tier::kVip);
    vip.signals.complaint = true;
    vip.signals.sentiment = -0.9;
    ids.push_back(MustSubmit(r, vip, At(1)));
    ids.push_back(MustSubmit(r, Contact("c", "general", Tier::kGold), At(2)));
    ContactSpec emergency = Contact("d", "general");
    emergency.signals.emergency = true;
    ids.push_back(MustSubmit(r, emergency, At(3)));
    return ids;
  };
  RouterConfig fifo_config = TwoQueues(RoutingPolicy::kFifo);
  fifo_config.escalation.senior_skill.clear();  // no senior routing: one agent takes all
  std::unique_ptr<Router> fifo = Router::Create(fifo_config).value();
  const std::vector<ContactId> f = submit_all(*fifo);
  EXPECT_EQ(ServeAll(*fifo, At(10)), (std::vector<ContactId>{f[3], f[0], f[1], f[2]}));

  RouterConfig ranked_config = TwoQueues(RoutingPolicy::kRanked);
  ranked_config.escalation.senior_skill.clear();
  std::unique_ptr<Router> ranked = Router::Create(ranked_config).value();
  const std::vector<ContactId> k = submit_all(*ranked);
  EXPECT_EQ(ServeAll(*ranked, At(10)), (std::vector<ContactId>{k[3], k[1], k[2], k[0]}));
}

// Under fifo an arriving contact goes to the agent idle longest; under
// ranked to the least flexible one (here the specialist who logged in last).
TEST(RoutingPolicy, FifoOffersTheLongestIdleAgentRankedTheLeastFlexible) {
  for (RoutingPolicy policy : {RoutingPolicy::kFifo, RoutingPolicy::kRanked}) {
    SCOPED_TRACE(RoutingPolicyName(policy));
    std::unique_ptr<Router> r = Router::Create(TwoQueues(policy)).value();
    ASSERT_TRUE(r->Login(Agent("broad", {{"general", 5}, {"billing", 5}}), At(0)).ok());
    ASSERT_TRUE(r->Login(Agent("narrow", {{"general", 5}}), At(1)).ok());
    MustSubmit(*r, Contact("a", "general"), At(5));
    std::vector<Event> offers = Offers(*r);
    ASSERT_EQ(offers.size(), 1u);
    if (policy == RoutingPolicy::kFifo) {
      EXPECT_EQ(offers[0].agent_id, "broad");
      EXPECT_EQ(offers[0].reason, "fifo: longest idle");
    } else {
      EXPECT_EQ(offers[0].agent_id, "narrow");
      EXPECT_TRUE(absl::StartsWith(offers[0].reason, "best available")) << offers[0].reason;
    }
  }
}

// A freed agent under fifo takes the longest-waiting contact across its
// queues; under ranked the queue of its strongest skill.
TEST(RoutingPolicy, FifoFreedAgentTakesTheLongestWaitingAcrossItsQueues) {
  for (RoutingPolicy policy : {RoutingPolicy::kFifo, RoutingPolicy::kRanked}) {
    SCOPED_TRACE(RoutingPolicyName(policy));
    std::unique_ptr<Router> r = Router::Create(TwoQueues(policy)).value();
    const ContactId billing = MustSubmit(*r, Contact("a", "billing"), At(0));
    const ContactId general = MustSubmit(*r, Contact("b", "general"), At(1));
    r->TakeEvents();
    ASSERT_TRUE(r->Login(Agent("al", {{"general", 9}, {"billing", 2}}), At(2)).ok());
    std::vector<Event> offers = Offers(*r);
    ASSERT_EQ(offers.size(), 1u);
    if (policy == RoutingPolicy::kFifo) {
      EXPECT_EQ(offers[0].contact, billing);
      EXPECT_EQ(offers[0].reason, "fifo: longest waiting; billing");
    } else {
      EXPECT_EQ(offers[0].contact, general);
    }
  }
}

RouterConfig AbTestConfig() {
  RouterConfig c = TwoQueues(RoutingPolicy::kRanked);
  for (QueueConfig& q : c.queues) {
    q.ab_test.policies = {RoutingPolicy::kRanked, RoutingPolicy::kFifo};
    q.ab_test.period = absl::Seconds(60);
  }
  c.escalation.senior_skill.clear();
  return c;
}

// The policy in force flips exactly at the period boundary, each contact keeps
// the one it arrived under, and both are served by their own rule.
TEST(RoutingPolicy, AbTestSwitchesAtThePeriodBoundaryAndContactsKeepTheirArrivalPolicy) {
  std::unique_ptr<Router> r = Router::Create(AbTestConfig()).value();
  EXPECT_EQ(r->Queues(At(59.999))[0].policy, RoutingPolicy::kRanked);
  EXPECT_EQ(r->Queues(At(60))[0].policy, RoutingPolicy::kFifo);
  EXPECT_EQ(r->Queues(At(120))[0].policy, RoutingPolicy::kRanked);
  EXPECT_EQ(r->Queues(At(-0.001))[0].policy, RoutingPolicy::kFifo);  // floor, not truncation

  const ContactId ranked_standard = MustSubmit(*r, Contact("a", "general"), At(50));
  const ContactId ranked_vip = MustSubmit(*r, Contact("b", "general", Tier::kVip), At(59.999));
  const ContactId fifo_standard = MustSubmit(*r, Contact("c", "general"), At(60));
  const ContactId fifo_vip = MustSubmit(*r, Contact("d", "general", Tier::kVip), At(61));
  EXPECT_EQ(r->Explain(ranked_vip, At(62))->policy, RoutingPolicy::kRanked);
  EXPECT_EQ(r->Explain(fifo_standard, At(62))->policy, RoutingPolicy::kFifo);
  EXPECT_TRUE(absl::StrContains(r->Explain(fifo_vip, At(62))->summary, "policy fifo"))
      << r->Explain(fifo_vip, At(62))->summary;
  ASSERT_TRUE(r->CheckInvariants().ok()) << r->CheckInvariants();
  // The ranked VIP overtook the ranked standard contact; the fifo VIP did not
  // overtake the fifo standard contact that arrived before it.
  EXPECT_EQ(ServeAll(*r, At(62)),
            (std::vector<ContactId>{ranked_vip, ranked_standard, fifo_standard, fifo_vip}));
}

// A reload changing a queue's policy applies at once, to the contacts
// already waiting too.
TEST(RoutingPolicy, AReloadChangingThePolicyReordersTheWaitingContactsAtOnce) {
  std::unique_ptr<Router> r = Router::Create(TwoQueues(RoutingPolicy::kRanked)).value();
  const ContactId standard = MustSubmit(*r, Contact("a", "general"), At(0));
  const ContactId vip = MustSubmit(*r, Contact("b", "general", Tier::kVip), At(1));
  EXPECT_EQ(r->GetContact(vip, At(2))->position, 1u);
  ASSERT_TRUE(r->Reconfigure(TwoQueues(RoutingPolicy::kFifo), At(2)).ok());
  EXPECT_EQ(r->GetContact(standard, At(2))->position, 1u);
  EXPECT_EQ(r->GetContact(vip, At(2))->position, 2u);
  EXPECT_EQ(r->Queues(At(2))[0].policy, RoutingPolicy::kFifo);
  ASSERT_TRUE(r->CheckInvariants().ok()) << r->CheckInvariants();
}

// Save and Restore (what snapshots and journal replay rely on) give every
// contact the policy it had, and the restored router serves as the live one.
TEST(RoutingPolicy, ARestoredRouterServesEachContactUnderTheSamePolicy) {
  std::unique_ptr<Router> live = Router::Create(AbTestConfig()).value();
  std::vector<ContactId> ids;
  for (int i = 0; i < 12; ++i) {
    ids.push_back(MustSubmit(*live,
                             Contact("k" + std::to_string(i), i % 3 ? "general" : "billing",
                                     i % 2 ? Tier::kVip : Tier::kStandard),
                             At(40 + 5 * i)));  // across the boundary at 60
  }
  absl::StatusOr<std::unique_ptr<Router>> restored = Router::Restore(AbTestConfig(), live->Save());
  ASSERT_TRUE(restored.ok()) << restored.status();
  for (ContactId id : ids) {
    EXPECT_EQ((*restored)->Explain(id, At(100))->policy, live->Explain(id, At(100))->policy);
  }
  EXPECT_EQ(ServeAll(**restored, At(100)), ServeAll(*live, At(100)));
}

TEST(RoutingPolicy, ABadAbTestIsRefusedNamingTheField) {
  RouterConfig one = AbTestConfig();
  one.queues[1].ab_test.policies = {RoutingPolicy::kFifo};
  EXPECT_EQ(Router::Create(one).status().message(),
            "config.queues[1].ab_test.policies: 1 named; an A/B test alternates 2 to 8");
  RouterConfig short_period = AbTestConfig();
  short_period.queues[0].ab_test.period = absl::Milliseconds(500);
  absl::Status status = Router::Create(short_period).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(status.message(), "config.queues[0].ab_test.period_seconds: "))
      << status;
}

}  // namespace
}  // namespace ccr
