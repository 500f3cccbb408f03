// Core router tests: randomised command sequences checked against the
// brute-force invariants (Router::CheckInvariants), plus the key rules as
// scenarios with a fake clock.
#include <functional>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "router/router.h"
#include "router/router_state.h"
#include "router/testing/reference_router.h"

namespace ccr {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

// A queue with the given skills and answer target, every other field at its
// default (aggregate initialisation would leave -Wmissing-field-initializers).
QueueConfig Queue(std::string name, Channel channel, std::vector<SkillRequirement> skills,
                  absl::Duration answer_within) {
  QueueConfig q;
  q.name = std::move(name);
  q.channel = channel;
  q.skills = std::move(skills);
  q.answer_within = answer_within;
  return q;
}

RouterConfig TestConfig() {
  RouterConfig c;
  c.default_language = "en";
  for (int ch = 0; ch < kChannelCount; ++ch) {
    c.channels[ch].offer_timeout = absl::Seconds(10);
    c.channels[ch].wrap_up = absl::Seconds(5);
  }
  c.channels[static_cast<int>(Channel::kVoice)].exclusive = true;
  c.channels[static_cast<int>(Channel::kChat)].agent_capacity = 3;
  QueueConfig general = Queue("general", Channel::kVoice, {{"general", 5}}, absl::Seconds(20));
  general.overflow = {{absl::Seconds(30), 3, {}, false}, {absl::Seconds(90), 0, {}, true}};
  QueueConfig billing = Queue("billing", Channel::kVoice, {{"billing", 5}}, absl::Seconds(30));
  billing.overflow = {{absl::Seconds(40), 0, {"general"}, false}};
  QueueConfig chat = Queue("chat", Channel::kChat, {{"general", 2}}, absl::Seconds(180));
  c.queues = {general, billing, chat};
  c.fallback_queue = "general";
  c.reoffer_cooldown = absl::Seconds(10);
  // Short, so the randomised runs forget logged-out agents (and renumber the
  // rest) many times, checked by the invariants and the restore comparison.
  c.limits.agent_retention = absl::Minutes(2);
  return c;
}

AgentSpec Agent(const std::string& id, std::vector<SkillLevel> skills,
                std::vector<std::string> languages = {"en"},
                std::vector<std::pair<Channel, uint32_t>> capacities = {{Channel::kVoice, 1}}) {
  AgentSpec a;
  a.agent_id = id;
  a.skills = std::move(skills);
  a.languages = std::move(languages);
  a.capacities = std::move(capacities);
  return a;
}

ContactSpec Contact(const std::string& key, const std::string& queue, Tier tier = Tier::kStandard,
                    Channel channel = Channel::kVoice) {
  ContactSpec s;
  s.idempotency_key = key;
  s.queue = queue;
  s.channel = channel;
  s.tier = tier;
  s.customer_id = "cust-" + key;
  return s;
}

std::vector<Event> OfKind(const std::vector<Event>& events, EventKind kind) {
  std::vector<Event> out;
  for (const Event& e : events) {
    if (e.kind == kind) out.push_back(e);
  }
  return out;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override { router_ = *Router::Create(TestConfig()); }
  ContactId Submit(const ContactSpec& s, absl::Duration at) {
    absl::StatusOr<SubmitResult> r = router_->Submit(s, kT0 + at);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->contact : 0;
  }
  std::unique_ptr<Router> router_;
};

TEST_F(RouterTest, VipOvertakesAStandardContactQueuedEarlier) {
  const ContactId standard = Submit(Contact("a", "general"), absl::Seconds(0));
  const ContactId vip = Submit(Contact("b", "general", Tier::kVip), absl::Seconds(1));
  router_->TakeEvents();
  ASSERT_TRUE(router_->Login(Agent("alice", {{"general", 7}}), kT0 + absl::Seconds(2)).ok());
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, vip);
  EXPECT_NE(offers[0].contact, standard);
}

TEST_F(RouterTest, EmergencyGoesAheadOfEveryoneOnTheChannel) {
  Submit(Contact("a", "general", Tier::kVip), absl::Seconds(0));
  ContactSpec emergency = Contact("e", "billing");
  emergency.signals.emergency = true;
  const ContactId e = Submit(emergency, absl::Seconds(5));
  router_->TakeEvents();
  ASSERT_TRUE(
      router_->Login(Agent("al", {{"general", 7}, {"billing", 7}}), kT0 + absl::Seconds(6)).ok());
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, e);
}

TEST_F(RouterTest, EventsAboutAnEmergencyContactSaySo) {
  Submit(Contact("a", "general"), absl::Seconds(0));
  ContactSpec emergency = Contact("e", "general");
  emergency.signals.emergency = true;
  const ContactId e = Submit(emergency, absl::Seconds(1));
  std::vector<Event> queued = OfKind(router_->TakeEvents(), EventKind::kQueued);
  ASSERT_EQ(queued.size(), 2u);
  EXPECT_FALSE(queued[0].emergency);
  EXPECT_EQ(queued[1].contact, e);
  EXPECT_TRUE(queued[1].emergency);
}

// Agents by state per queue, counted over the agents qualified for it at
// stage 0: one of each state on "general", and one agent elsewhere.
TEST_F(RouterTest, QueuesCountTheirAgentsByState) {
  absl::Time t = kT0;
  for (const char* id : {"a1", "a2", "a3", "a4"}) {
    ASSERT_TRUE(router_->Login(Agent(id, {{"general", 7}}), t).ok());
  }
  ASSERT_TRUE(router_->Login(Agent("b1", {{"billing", 7}}), t).ok());
  router_->TakeEvents();
  auto answer = [&](const std::string& key) -> std::pair<std::string, ContactId> {
    t += absl::Seconds(1);
    const ContactId c = Submit(Contact(key, "general"), t - kT0);
    std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
    EXPECT_EQ(offers.size(), 1u);
    if (offers.empty()) return {"", c};
    EXPECT_TRUE(router_->Accept(offers[0].agent_id, offers[0].offer_id, t).ok());
    return {offers[0].agent_id, c};
  };
  const auto [busy, busy_contact] = answer("x");
  const auto [wrapping, wrapped_contact] = answer("y");
  ASSERT_TRUE(router_->Complete(wrapping, wrapped_contact, Outcome{true, "", 0, false}, t).ok());
  std::string not_ready;
  for (const char* id : {"a1", "a2", "a3", "a4"}) {
    if (id != busy && id != wrapping) not_ready = id;
  }
  ASSERT_TRUE(router_->SetNotReady(not_ready, "training", t).ok());

  const std::vector<QueueStats> queues = router_->Queues(t);
  const QueueStats& general = queues[0];
  EXPECT_EQ(general.agents_eligible, 4u);
  EXPECT_EQ(general.agents_available, 1u);
  EXPECT_EQ(general.agents_busy, 1u);
  EXPECT_EQ(general.agents_wrap_up, 1u);
  EXPECT_EQ(general.agents_not_ready, 1u);
  EXPECT_EQ(general.agents_resting, 0u);
  const QueueStats& billing = queues[1];
  EXPECT_EQ(billing.agents_eligible, 1u);
  EXPECT_EQ(billing.agents_available, 1u);
  EXPECT_EQ(billing.agents_busy + billing.agents_wrap_up + billing.agents_not_ready, 0u);
  // "chat" needs chat capacity, which no agent has.
  EXPECT_EQ(queues[2].agents_eligible, 0u);
  EXPECT_EQ(queues[2].agents_available, 0u);
}

TEST_F(RouterTest, CrossQueueOrderFollowsSlaDeadlines) {
  // billing's target is 30 s, general's 20 s: a general contact that arrived
  // 5 s later still has the nearer deadline and goes first.
  Submit(Contact("b", "billing"), absl::Seconds(0));
  const ContactId g = Submit(Contact("g", "general"), absl::Seconds(5));
  router_->TakeEvents();
  ASSERT_TRUE(
      router_->Login(Agent("al", {{"general", 7}, {"billing", 7}}), kT0 + absl::Seconds(6)).ok());
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, g);
}

TEST_F(RouterTest, FreedAgentServesItsStrongestSkillUnlessAnotherHeadIsAtRiskOrStarving) {
  // A billing specialist who can also take the general line. The general
  // contact has the nearer deadline (20 s against 31 s), which decided
  // before; now the specialist serves billing, where it is strongest, and
  // leaves the general line to generalists.
  const ContactId g = Submit(Contact("g", "general"), absl::Seconds(0));
  const ContactId b = Submit(Contact("b", "billing"), absl::Seconds(1));
  router_->TakeEvents();
  ASSERT_TRUE(
      router_->Login(Agent("bill1", {{"billing", 8}, {"general", 5}}), kT0 + absl::Seconds(3))
          .ok());
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, b);
  EXPECT_EQ(offers[0].reason, "strongest skill: proficiency 8 in billing");
  ASSERT_TRUE(router_->Accept("bill1", offers[0].offer_id, kT0 + absl::Seconds(3)).ok());
  // 4 s before its rank (its deadline: no urgency points) the general
  // contact is at risk and goes first.
  const ContactId b2 = Submit(Contact("b2", "billing"), absl::Seconds(10));
  router_->TakeEvents();
  ASSERT_TRUE(
      router_->Login(Agent("bill2", {{"billing", 8}, {"general", 5}}), kT0 + absl::Seconds(16))
          .ok());
  offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, g);
  EXPECT_EQ(offers[0].reason, "at risk: 4s to its rank in general");
  ASSERT_TRUE(router_->Accept("bill2", offers[0].offer_id, kT0 + absl::Seconds(16)).ok());
  // A general contact more than ten targets (200 s) past its rank goes ahead
  // of the specialist's own queue (b2: 205 s past, under billing's 300).
  const ContactId g3 = Submit(Contact("g3", "general"), absl::Seconds(20));
  router_->Tick(kT0 + absl::Seconds(245));
  router_->TakeEvents();
  ASSERT_TRUE(
      router_->Login(Agent("bill3", {{"billing", 8}, {"general", 5}}), kT0 + absl::Seconds(245))
          .ok());
  offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, g3);
  EXPECT_EQ(offers[0].reason, "starving: over 10 targets past its rank in general");
  EXPECT_NE(offers[0].contact, b2);
}

TEST_F(RouterTest, AContactStillInTimeGoesBeforeOnesPastTheirTargetOnceAtRisk) {
  // a is past its target (20 s) when the agent comes; b, 4 s before its rank
  // (its deadline: no urgency points), can still make it and goes first,
  // though a ranks ahead.
  const ContactId a = Submit(Contact("a", "general"), absl::Seconds(0));
  const ContactId b = Submit(Contact("b", "general"), absl::Seconds(10));
  router_->TakeEvents();
  ASSERT_TRUE(router_->Login(Agent("g1", {{"general", 7}}), kT0 + absl::Seconds(26)).ok());
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, b);
  EXPECT_EQ(offers[0].reason, "at risk: 4s to its rank in general");
  ASSERT_TRUE(router_->Accept("g1", offers[0].offer_id, kT0 + absl::Seconds(26)).ok());
  ASSERT_TRUE(router_->Login(Agent("g2", {{"general", 7}}), kT0 + absl::Seconds(26)).ok());
  offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, a);
  ASSERT_TRUE(router_->Accept("g2", offers[0].offer_id, kT0 + absl::Seconds(26)).ok());

  // With plenty of time left (d: 19 s to its rank) the one past its target
  // still goes first, by rank.
  const ContactId e = Submit(Contact("e", "general"), absl::Seconds(60));
  const ContactId d = Submit(Contact("d", "general"), absl::Seconds(100));
  router_->TakeEvents();
  ASSERT_TRUE(router_->Login(Agent("g3", {{"general", 7}}), kT0 + absl::Seconds(101)).ok());
  offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, e);
  EXPECT_EQ(offers[0].reason, "strongest skill: proficiency 7 in general");
  EXPECT_NE(offers[0].contact, d);
  ASSERT_TRUE(router_->Accept("g3", offers[0].offer_id, kT0 + absl::Seconds(101)).ok());

  // A VIP past its rank (its deadline less 20 points x 2 s) but before its
  // deadline is at risk too, and goes before a standard contact past its
  // target that ranks ahead of it.
  const ContactId s = Submit(Contact("s", "general"), absl::Seconds(150));
  const ContactId v = Submit(Contact("v", "general", Tier::kVip), absl::Seconds(200));
  router_->TakeEvents();
  ASSERT_TRUE(router_->Login(Agent("g4", {{"general", 7}}), kT0 + absl::Seconds(205)).ok());
  offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, v);
  EXPECT_EQ(offers[0].reason, "at risk: 25s past its rank, 15s to its target in general");
  EXPECT_NE(offers[0].contact, s);
  // Explain says where each stands against its target.
  absl::StatusOr<Explanation> x = router_->Explain(s, kT0 + absl::Seconds(205));
  ASSERT_TRUE(x.ok()) << x.status();
  EXPECT_TRUE(absl::StrContains(
      x->summary, "past its target by 35s: contacts of its queue still in time go first"))
      << x->summary;
  const ContactId w = Submit(Contact("w", "general", Tier::kVip), absl::Seconds(206));
  x = router_->Explain(w, kT0 + absl::Seconds(207));
  ASSERT_TRUE(x.ok()) << x.status();
  EXPECT_TRUE(absl::StrContains(x->summary, "at risk: 19s to its target, ahead of contacts past"))
      << x->summary;
  ASSERT_TRUE(router_->CheckInvariants().ok()) << router_->CheckInvariants();
}

// Answers `count` general contacts, each past its 20 s target: 16 agents log
// in 25 s after the contacts arrive and accept at once. Returns when all are
// connected.
void AnswerLate(Router& r, absl::Time from, int count) {
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(r.Submit(Contact(absl::StrCat("late", i), "general"), from).ok());
  }
  r.TakeEvents();
  for (int i = 0; i < count; ++i) {
    const std::string id = absl::StrCat("busy", i);
    ASSERT_TRUE(r.Login(Agent(id, {{"general", 5}}), from + absl::Seconds(25)).ok());
    std::vector<Event> offers = OfKind(r.TakeEvents(), EventKind::kOffered);
    ASSERT_EQ(offers.size(), 1u);
    ASSERT_TRUE(r.Accept(id, offers[0].offer_id, from + absl::Seconds(25)).ok());
  }
}

TEST_F(RouterTest, AQueueShortOfItsObjectiveServesItsContactsInTimeFirst) {
  // The general line's last 16 answers all missed its 20 s target: 0 % against
  // its objective (its target ratio, 80 %).
  AnswerLate(*router_, kT0, 16);
  // a is 2 s past its target, b has 13 s to its own: not at risk (5 s), but
  // the queue is short of its objective, so b, which can still make it, goes
  // first.
  const ContactId a = Submit(Contact("a", "general"), absl::Seconds(100));
  const ContactId b = Submit(Contact("b", "general"), absl::Seconds(115));
  router_->TakeEvents();
  absl::StatusOr<Explanation> x = router_->Explain(b, kT0 + absl::Seconds(122));
  ASSERT_TRUE(x.ok()) << x.status();
  EXPECT_TRUE(absl::StrContains(x->summary,
                                "its queue is short of its objective (0 of the last 16 answers "
                                "within target, objective 80 %): 13s to its target"))
      << x->summary;
  ASSERT_TRUE(router_->Login(Agent("g1", {{"general", 7}}), kT0 + absl::Seconds(122)).ok());
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, b);
  EXPECT_EQ(offers[0].reason,
            "short of objective: 0 of the last 16 answers within target (objective 80 %), 13s "
            "to its target in general");
  EXPECT_NE(offers[0].contact, a);
  ASSERT_TRUE(router_->Accept("g1", offers[0].offer_id, kT0 + absl::Seconds(122)).ok());
  ASSERT_TRUE(router_->Login(Agent("g1b", {{"general", 7}}), kT0 + absl::Seconds(122)).ok());
  offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, a);
  ASSERT_TRUE(router_->Accept("g1b", offers[0].offer_id, kT0 + absl::Seconds(122)).ok());
  // b's answer was in time: 1 of 18, still short. A head more than one target
  // past its rank is not held back for the contacts in time: c (21 s past)
  // goes before d.
  const ContactId c = Submit(Contact("c", "general"), absl::Seconds(200));
  const ContactId d = Submit(Contact("d", "general"), absl::Seconds(239));
  router_->TakeEvents();
  ASSERT_TRUE(router_->Login(Agent("g2", {{"general", 7}}), kT0 + absl::Seconds(241)).ok());
  offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, c);
  EXPECT_EQ(offers[0].reason, "strongest skill: proficiency 7 in general");
  EXPECT_NE(offers[0].contact, d);
  ASSERT_TRUE(router_->Accept("g2", offers[0].offer_id, kT0 + absl::Seconds(241)).ok());
  // Another queue's contact at risk still goes first: billing's e, 4 s before
  // its rank, ahead of the general line's f (14 s to its target), though the
  // agent is strongest in general.
  ASSERT_TRUE(router_->Login(Agent("g3", {{"general", 7}}), kT0 + absl::Seconds(241)).ok());
  offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, d);
  ASSERT_TRUE(router_->Accept("g3", offers[0].offer_id, kT0 + absl::Seconds(241)).ok());
  const ContactId e = Submit(Contact("e", "billing"), absl::Seconds(300));
  const ContactId f = Submit(Contact("f", "general"), absl::Seconds(320));
  router_->TakeEvents();
  ASSERT_TRUE(
      router_->Login(Agent("g4", {{"general", 9}, {"billing", 5}}), kT0 + absl::Seconds(326)).ok());
  offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, e);
  EXPECT_EQ(offers[0].reason, "at risk: 4s to its rank in billing");
  EXPECT_NE(offers[0].contact, f);
  ASSERT_TRUE(router_->CheckInvariants().ok()) << router_->CheckInvariants();
}

TEST(RouterServiceObjective, ZeroTurnsItOffAndOutOfRangeIsRefusedNamingTheField) {
  // Objective 0: the same day as above serves by rank, past its target or not.
  RouterConfig config = TestConfig();
  config.queues[0].service_objective = 0;
  std::unique_ptr<Router> r = *Router::Create(config);
  AnswerLate(*r, kT0, 16);
  const ContactId a = r->Submit(Contact("a", "general"), kT0 + absl::Seconds(100))->contact;
  ASSERT_TRUE(r->Submit(Contact("b", "general"), kT0 + absl::Seconds(115)).ok());
  r->TakeEvents();
  ASSERT_TRUE(r->Login(Agent("g1", {{"general", 7}}), kT0 + absl::Seconds(122)).ok());
  std::vector<Event> offers = OfKind(r->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, a);
  // Out of [0, 1]: refused by name, at creation and on reload (which changes
  // nothing).
  for (double bad : {-0.1, 1.5}) {
    config.queues[1].service_objective = bad;
    absl::StatusOr<std::unique_ptr<Router>> created = Router::Create(config);
    ASSERT_FALSE(created.ok());
    EXPECT_TRUE(absl::StrContains(created.status().message(), "queues[1].service_objective"))
        << created.status();
    absl::StatusOr<std::vector<ContactId>> reloaded =
        r->Reconfigure(config, kT0 + absl::Seconds(130));
    ASSERT_FALSE(reloaded.ok());
    EXPECT_TRUE(absl::StrContains(reloaded.status().message(), "queues[1].service_objective"))
        << reloaded.status();
  }
  ASSERT_TRUE(r->CheckInvariants().ok()) << r->CheckInvariants();
}

TEST_F(RouterTest, AReloadThatMovesATargetMovesContactsInAndOutOfTime) {
  // a waits past its target (20 s); a reload to a 60 s target puts it back in
  // time, and it is past its target again at 60 s. CheckInvariants compares
  // each waiting contact's bucket with its deadline.
  const ContactId a = Submit(Contact("a", "general"), absl::Seconds(0));
  router_->Tick(kT0 + absl::Seconds(25));
  ASSERT_TRUE(router_->CheckInvariants().ok()) << router_->CheckInvariants();
  RouterConfig longer = TestConfig();
  longer.queues[0].answer_within = absl::Seconds(60);
  ASSERT_TRUE(router_->Reconfigure(longer, kT0 + absl::Seconds(26)).ok());
  ASSERT_TRUE(router_->CheckInvariants().ok()) << router_->CheckInvariants();
  router_->Tick(kT0 + absl::Seconds(61));
  ASSERT_TRUE(router_->CheckInvariants().ok()) << router_->CheckInvariants();
  // a past its new target, b (at 61 s) 4 s before its rank: b first.
  const ContactId b = Submit(Contact("b", "general"), absl::Seconds(61));
  router_->TakeEvents();
  ASSERT_TRUE(router_->Login(Agent("g1", {{"general", 7}}), kT0 + absl::Seconds(117)).ok());
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, b);
  EXPECT_NE(offers[0].contact, a);
}

TEST_F(RouterTest, SkillLevelAndLanguageAreRequiredUntilOverflow) {
  ASSERT_TRUE(router_->Login(Agent("novice", {{"general", 2}}), kT0).ok());
  ASSERT_TRUE(router_->Login(Agent("spanish", {{"general", 9}}, {"es"}), kT0).ok());
  const ContactId c = Submit(Contact("a", "general"), absl::Seconds(1));
  EXPECT_TRUE(OfKind(router_->TakeEvents(), EventKind::kOffered).empty());
  // Step 1 (30 s) lowers the minimum level by 3: level 2 now qualifies.
  router_->Tick(kT0 + absl::Seconds(31));
  std::vector<Event> events = router_->TakeEvents();
  ASSERT_EQ(OfKind(events, EventKind::kOverflowed).size(), 1u);
  std::vector<Event> offers = OfKind(events, EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, c);
  EXPECT_EQ(offers[0].agent_id, "novice");
  EXPECT_TRUE(router_->CheckInvariants().ok());
}

// A complaint with strong negative emotion needs a senior; with none free it
// waits for one escalation.senior_wait_share (default 0.25) of its queue's 20 s
// target, then the free generalist may take it.
TEST_F(RouterTest, SeniorRoutedContactWaitsForASeniorOnlyItsShareOfTheTarget) {
  ASSERT_TRUE(router_->Login(Agent("gen", {{"general", 7}}), kT0).ok());
  ContactSpec complaint = Contact("a", "general");
  complaint.signals.complaint = true;
  complaint.signals.sentiment = -0.7;
  const ContactId c = Submit(complaint, absl::Seconds(1));
  std::vector<Event> events = router_->TakeEvents();
  ASSERT_EQ(OfKind(events, EventKind::kEscalated).size(), 1u);
  EXPECT_TRUE(OfKind(events, EventKind::kOffered).empty());
  absl::StatusOr<Explanation> x = router_->Explain(c, kT0 + absl::Seconds(2));
  ASSERT_TRUE(x.ok());
  EXPECT_TRUE(absl::StrContains(x->summary, "waits for a senior until 5s after arrival"))
      << x->summary;

  router_->Tick(kT0 + absl::Seconds(6) - absl::Milliseconds(1));
  EXPECT_TRUE(OfKind(router_->TakeEvents(), EventKind::kOffered).empty());
  EXPECT_TRUE(router_->CheckInvariants().ok());

  router_->Tick(kT0 + absl::Seconds(6));
  events = router_->TakeEvents();
  std::vector<Event> relaxed = OfKind(events, EventKind::kOverflowed);
  ASSERT_EQ(relaxed.size(), 1u);
  EXPECT_EQ(relaxed[0].reason,
            "senior requirement relaxed after 5s: no senior free within 25 % of its target");
  EXPECT_EQ(relaxed[0].stage, 0u);  // not an overflow step: only the senior bit went
  std::vector<Event> offers = OfKind(events, EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, c);
  EXPECT_EQ(offers[0].agent_id, "gen");
  x = router_->Explain(c, kT0 + absl::Seconds(6));
  ASSERT_TRUE(x.ok());
  EXPECT_TRUE(absl::StrContains(x->summary, "senior requirement relaxed after 5s")) << x->summary;
  EXPECT_TRUE(router_->CheckInvariants().ok());
}

TEST_F(RouterTest, ReloadWithABadSeniorWaitShareChangesNothing) {
  ASSERT_TRUE(router_->Login(Agent("gen", {{"general", 7}}), kT0).ok());
  ContactSpec complaint = Contact("a", "general");
  complaint.signals.complaint = true;
  complaint.signals.sentiment = -0.7;
  const ContactId c = Submit(complaint, absl::Seconds(0));
  RouterConfig bad = TestConfig();
  bad.escalation.senior_wait_share = -1;
  absl::StatusOr<std::vector<ContactId>> moved = router_->Reconfigure(bad, kT0 + absl::Seconds(1));
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(moved.status().message(), "config.escalation.senior_wait_share"));
  router_->TakeEvents();
  router_->Tick(kT0 + absl::Seconds(5));  // still 25 % of 20 s
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, c);
  // A valid reload applies at once to the waiting contacts (here: seniors only).
  RouterConfig strict = TestConfig();
  strict.escalation.senior_wait_share = 100;
  complaint.idempotency_key = "b";
  const ContactId d = Submit(complaint, absl::Seconds(6));
  ASSERT_TRUE(router_->Reconfigure(strict, kT0 + absl::Seconds(7)).ok());
  ASSERT_TRUE(router_->Reject("gen", offers[0].offer_id, "busy", kT0 + absl::Seconds(8)).ok());
  router_->Tick(kT0 + absl::Seconds(60));
  for (const Event& e : OfKind(router_->TakeEvents(), EventKind::kOffered)) {
    EXPECT_NE(e.contact, d) << "offered to " << e.agent_id;
  }
  EXPECT_TRUE(router_->CheckInvariants().ok());
}

TEST_F(RouterTest, SeniorRoutedContactGoesToAFreeSeniorFirst) {
  // The generalist is the less flexible, so least-flexible-first alone would
  // pick it; the senior requirement picks the senior.
  ASSERT_TRUE(router_->Login(Agent("gen", {{"general", 7}}), kT0).ok());
  ASSERT_TRUE(router_->Login(Agent("sen", {{"general", 5}, {"senior", 5}}), kT0).ok());
  ContactSpec complaint = Contact("a", "general");
  complaint.signals.complaint = true;
  complaint.signals.sentiment = -0.7;
  const ContactId c = Submit(complaint, absl::Seconds(1));
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, c);
  EXPECT_EQ(offers[0].agent_id, "sen");
  // A senior freed before the relax point is still preferred: the second
  // complaint waits for "sen" rather than going to the free generalist.
  ASSERT_TRUE(router_->Accept("sen", offers[0].offer_id, kT0 + absl::Seconds(2)).ok());
  complaint.idempotency_key = "b";
  const ContactId d = Submit(complaint, absl::Seconds(3));
  ASSERT_TRUE(router_->Complete("sen", c, Outcome{}, kT0 + absl::Seconds(5)).ok());
  ASSERT_TRUE(router_->WrapUpDone("sen", c, kT0 + absl::Seconds(6)).ok());
  offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, d);
  EXPECT_EQ(offers[0].agent_id, "sen");
  EXPECT_TRUE(router_->CheckInvariants().ok());
}

// An update that makes a waiting contact need a senior starts the same wait,
// counted from its arrival; one already past that point never waits for one.
TEST_F(RouterTest, SeniorWaitAfterAnUpdateCountsFromArrival) {
  ASSERT_TRUE(router_->Login(Agent("gen", {{"general", 7}}), kT0).ok());
  ASSERT_TRUE(router_->SetNotReady("gen", "break", kT0).ok());
  const ContactId early = Submit(Contact("a", "general"), absl::Seconds(0));
  const ContactId late = Submit(Contact("b", "general"), absl::Seconds(0));
  Signals angry;
  angry.complaint = true;
  angry.sentiment = -0.7;
  ASSERT_TRUE(router_->Update(early, angry, std::nullopt, kT0 + absl::Seconds(3)).ok());
  router_->TakeEvents();
  router_->Tick(kT0 + absl::Seconds(10));
  std::vector<Event> relaxed = OfKind(router_->TakeEvents(), EventKind::kOverflowed);
  ASSERT_EQ(relaxed.size(), 1u);
  EXPECT_EQ(relaxed[0].contact, early);
  EXPECT_TRUE(absl::StartsWith(relaxed[0].reason, "senior requirement relaxed after 5s"));

  ASSERT_TRUE(router_->Update(late, angry, std::nullopt, kT0 + absl::Seconds(12)).ok());
  std::vector<Event> events = router_->TakeEvents();
  std::vector<Event> escalated = OfKind(events, EventKind::kEscalated);
  ASSERT_EQ(escalated.size(), 1u);
  EXPECT_EQ(escalated[0].reason,
            "needs a senior agent; senior requirement relaxed after 5s: no senior free within 25 "
            "% of its target");
  EXPECT_TRUE(OfKind(events, EventKind::kOverflowed).empty());
  ASSERT_TRUE(router_->SetAvailable("gen", kT0 + absl::Seconds(13)).ok());
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);  // voice: one at a time; the same rank, so the older first
  EXPECT_EQ(offers[0].contact, early);
  EXPECT_TRUE(router_->CheckInvariants().ok());
}

TEST_F(RouterTest, RejectRequeuesWithOriginalArrivalAndCoolsDownForThatAgent) {
  ASSERT_TRUE(router_->Login(Agent("al", {{"general", 7}}), kT0).ok());
  const ContactId c = Submit(Contact("a", "general"), absl::Seconds(0));
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  ASSERT_TRUE(router_->Reject("al", offers[0].offer_id, "busy", kT0 + absl::Seconds(2)).ok());
  EXPECT_TRUE(OfKind(router_->TakeEvents(), EventKind::kOffered).empty());
  ASSERT_TRUE(router_->Login(Agent("bo", {{"general", 6}}), kT0 + absl::Seconds(3)).ok());
  offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].agent_id, "bo");
  EXPECT_EQ(offers[0].wait, absl::Seconds(3));  // SLA clock from the first arrival
  EXPECT_EQ(offers[0].contact, c);
}

TEST_F(RouterTest, ConsecutiveMissesSetTheAgentNotReady) {
  ASSERT_TRUE(router_->Login(Agent("al", {{"general", 7}}), kT0).ok());
  for (int i = 0; i < 3; ++i) Submit(Contact(absl::StrCat("c", i), "general"), absl::Seconds(i));
  absl::Time t = kT0;
  for (int i = 0; i < 3; ++i) {
    t += absl::Seconds(11);  // every offer times out
    router_->Tick(t);
  }
  absl::StatusOr<AgentView> al = router_->GetAgent("al", t);
  ASSERT_TRUE(al.ok());
  EXPECT_EQ(al->status, AgentStatus::kNotReady);
  EXPECT_EQ(al->reason, "missed_offers");
  EXPECT_TRUE(router_->CheckInvariants().ok());
}

TEST_F(RouterTest, AbandonWithdrawsTheOfferAndCountsForServiceLevel) {
  ASSERT_TRUE(router_->Login(Agent("al", {{"general", 7}}), kT0).ok());
  const ContactId c = Submit(Contact("a", "general"), absl::Seconds(0));
  router_->TakeEvents();
  ASSERT_TRUE(router_->Abandon(c, kT0 + absl::Seconds(3)).ok());
  std::vector<Event> events = router_->TakeEvents();
  ASSERT_EQ(OfKind(events, EventKind::kOfferWithdrawn).size(), 1u);
  EXPECT_EQ(OfKind(events, EventKind::kOfferWithdrawn)[0].agent_id, "al");
  EXPECT_EQ(router_->Queues(kT0)[0].abandoned, 1u);
  EXPECT_EQ(router_->Queues(kT0)[0].abandoned_short, 1u);  // within the 5 s default
  EXPECT_FALSE(router_->GetContact(c, kT0).ok());
}

// Replay and a standby's following run with events off: a deferred event
// (the satisfaction survey) that falls due then must be numbered, like every
// event, but not kept, or the engine would later deliver it behind newer ones
// (its sequence check aborted a standby taking over).
TEST_F(RouterTest, ADeferredEventDueWhileEventsAreOffIsNumberedButNotKept) {
  ASSERT_TRUE(router_->Login(Agent("al", {{"general", 7}}), kT0).ok());
  const ContactId c = Submit(Contact("a", "general"), absl::ZeroDuration());
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  ASSERT_TRUE(router_->Accept("al", offers[0].offer_id, kT0).ok());
  router_->TakeEvents();
  router_->SetEventsEnabled(false);
  ASSERT_TRUE(router_->Complete("al", c, Outcome{true, "", 0, false}, kT0).ok());
  const uint64_t before = router_->events_emitted();
  router_->Tick(kT0 + absl::Hours(1));               // past the survey's delay
  EXPECT_EQ(router_->events_emitted(), before + 2);  // the wrap-up's end, the survey
  router_->SetEventsEnabled(true);
  EXPECT_TRUE(router_->TakeEvents().empty());
  // The next event goes on from there.
  Submit(Contact("b", "general"), absl::Hours(1));
  const std::vector<Event> next = router_->TakeEvents();
  ASSERT_FALSE(next.empty());
  EXPECT_EQ(next.front().sequence, before + 3);
}

TEST_F(RouterTest, ServiceLevelBothWays) {
  ASSERT_TRUE(router_->Login(Agent("al", {{"general", 7}}), kT0).ok());
  // Answered at 10 s (within 20 s), answered at 40 s (late), one abandoned at
  // 2 s (short), one abandoned at 60 s (long).
  absl::Time t = kT0;
  auto answer_after = [&](const std::string& key, absl::Duration wait) {
    ASSERT_TRUE(router_->SetNotReady("al", "hold", t).ok());
    const ContactId c = Submit(Contact(key, "general"), t - kT0);
    t += wait;
    ASSERT_TRUE(router_->SetAvailable("al", t).ok());
    std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
    ASSERT_EQ(offers.size(), 1u);
    ASSERT_TRUE(router_->Accept("al", offers[0].offer_id, t).ok());
    ASSERT_TRUE(router_->Complete("al", c, Outcome{true, "", 0, false}, t).ok());
    ASSERT_TRUE(router_->WrapUpDone("al", c, t).ok());
  };
  answer_after("a", absl::Seconds(10));
  answer_after("b", absl::Seconds(40));
  ASSERT_TRUE(router_->SetNotReady("al", "hold", t).ok());
  ContactId short_abandon = Submit(Contact("c", "general"), t - kT0);
  ASSERT_TRUE(router_->Abandon(short_abandon, t + absl::Seconds(2)).ok());
  ContactId long_abandon = Submit(Contact("d", "general"), t - kT0);
  ASSERT_TRUE(router_->Abandon(long_abandon, t + absl::Seconds(60)).ok());
  const QueueStats q = router_->Queues(t)[0];
  EXPECT_EQ(q.answered, 2u);
  EXPECT_EQ(q.answered_within_target, 1u);
  EXPECT_DOUBLE_EQ(q.ServiceLevel(), 0.5);                       // 1 / 2
  EXPECT_DOUBLE_EQ(q.ServiceLevelAbandonAdjusted(), 2.0 / 4.0);  // (1 + 1) / (2 + 2)
  EXPECT_EQ(q.AverageSpeedOfAnswer(), absl::Seconds(25));        // (10 + 40) / 2
  EXPECT_DOUBLE_EQ(q.AbandonRatio(), 0.5);
}

TEST_F(RouterTest, VoiceIsExclusiveAndChatTakesThree) {
  ASSERT_TRUE(router_
                  ->Login(Agent("al", {{"general", 7}}, {"en"},
                                {{Channel::kVoice, 1}, {Channel::kChat, 3}}),
                          kT0)
                  .ok());
  for (int i = 0; i < 4; ++i) {
    Submit(Contact(absl::StrCat("chat", i), "chat", Tier::kStandard, Channel::kChat),
           absl::Seconds(i));
  }
  Submit(Contact("voice", "general"), absl::Seconds(5));
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  EXPECT_EQ(offers.size(), 3u);  // three chats, no fourth, and no call beside them
  for (const Event& e : offers) EXPECT_EQ(e.channel, Channel::kChat);
  EXPECT_TRUE(router_->CheckInvariants().ok());
}

TEST_F(RouterTest, ReloginMayNotShrinkAChannelBelowWhatTheAgentHolds) {
  const auto chats = [](uint32_t n) {
    return Agent("al", {{"general", 7}}, {"en"}, {{Channel::kChat, n}});
  };
  ASSERT_TRUE(router_->Login(chats(3), kT0).ok());
  for (int i = 0; i < 2; ++i) {
    Submit(Contact(absl::StrCat("chat", i), "chat", Tier::kStandard, Channel::kChat),
           absl::Seconds(i));
  }
  ASSERT_EQ(OfKind(router_->TakeEvents(), EventKind::kOffered).size(), 2u);
  absl::Status shrink = router_->Login(chats(1), kT0 + absl::Seconds(3));
  EXPECT_EQ(shrink.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(shrink.message(),
                                "login.capacities: chat capacity 1 is below the 2 contacts"))
      << shrink;
  const AgentView al = *router_->GetAgent("al", kT0 + absl::Seconds(3));
  ASSERT_EQ(al.load.size(), 1u);
  EXPECT_EQ(al.load[0].capacity, 3u) << "a refused login changed the agent";
  EXPECT_EQ(al.load[0].active, 2u);
  EXPECT_TRUE(router_->CheckInvariants().ok()) << router_->CheckInvariants();
  EXPECT_TRUE(router_->Login(chats(2), kT0 + absl::Seconds(4)).ok());  // exactly what it holds
  EXPECT_TRUE(router_->CheckInvariants().ok()) << router_->CheckInvariants();
}

TEST_F(RouterTest, StickyLastAgentIsPreferred) {
  ASSERT_TRUE(router_->Login(Agent("al", {{"general", 9}}), kT0).ok());
  ASSERT_TRUE(router_->Login(Agent("bo", {{"general", 5}}), kT0).ok());
  ContactSpec first = Contact("a", "general");
  first.customer_id = "returning";
  const ContactId c = Submit(first, absl::Seconds(0));
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  ASSERT_EQ(offers[0].agent_id, "al");                     // best proficiency
  ASSERT_TRUE(router_->SetNotReady("al", "x", kT0).ok());  // not-ready: offer withdrawn
  offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].agent_id, "bo");
  ASSERT_TRUE(router_->Accept("bo", offers[0].offer_id, kT0 + absl::Seconds(1)).ok());
  ASSERT_TRUE(router_->Complete("bo", c, Outcome{true, "", 0, false}, kT0 + absl::Seconds(2)).ok());
  ASSERT_TRUE(router_->WrapUpDone("bo", c, kT0 + absl::Seconds(3)).ok());
  ASSERT_TRUE(router_->SetAvailable("al", kT0 + absl::Seconds(4)).ok());
  ContactSpec again = Contact("b", "general");
  again.customer_id = "returning";
  Submit(again, absl::Seconds(5));
  offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].agent_id, "bo");  // the last agent, though al is more proficient
  EXPECT_EQ(offers[0].reason, "sticky: last agent");
}

TEST_F(RouterTest, BadInputChangesNothing) {
  ASSERT_TRUE(router_->Login(Agent("al", {{"general", 7}}), kT0).ok());
  ASSERT_TRUE(router_->Login(Agent("bo", {{"billing", 7}}), kT0).ok());
  const ContactId c = Submit(Contact("a", "general"), absl::Seconds(0));
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(router_->Accept("bo", offers[0].offer_id, kT0).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(router_->Accept("nobody", offers[0].offer_id, kT0).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(router_->Submit(Contact("a", "general"), kT0).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(router_->FindByIdempotencyKey("a"), c);
  EXPECT_EQ(router_->Submit(Contact("z", "nope"), kT0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(
      router_->Submit(Contact("y", "chat", Tier::kStandard, Channel::kVoice), kT0).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(router_->TakeEvents().empty());
  EXPECT_EQ(router_->live_contacts(), 1u);
  absl::StatusOr<ContactView> view = router_->GetContact(c, kT0);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->state, ContactState::kOffered);
  EXPECT_EQ(view->agent_id, "al");
}

// The expert is the most proficient on the general line, but also the only
// one who can take billing: the general call goes to the generalist, and the
// billing call that follows finds the expert free (most-proficient-first
// would have spent the expert and left billing waiting).
// The wait estimate is Ibrahim & Whitt's queue-length predictor: position x
// (mean handle time + wrap-up) / the queue's staffed slots; the channel's
// default handle time until one is measured, then the measured mean (offer to
// completion). A read recomputes it, and a restored router gives the same.
TEST_F(RouterTest, EstimatedWaitIsPositionTimesServiceOverStaffedSlots) {
  for (const char* id : {"b1", "b2"}) {
    ASSERT_TRUE(router_->Login(Agent(id, {{"billing", 7}}), kT0).ok());
  }
  // Both free, nobody waiting: a contact arriving now is offered at once.
  EXPECT_EQ(router_->Queues(kT0)[1].estimated_wait, absl::ZeroDuration());
  Submit(Contact("c1", "billing"), absl::Seconds(1));
  Submit(Contact("c2", "billing"), absl::Seconds(1));
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 2u);
  for (const Event& o : offers) {
    ASSERT_TRUE(router_->Accept(o.agent_id, o.offer_id, kT0 + absl::Seconds(1)).ok());
  }
  // Nothing measured yet: the default handle time (300 s) plus wrap-up (5 s), over 2 agents.
  std::vector<ContactId> waiting;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<SubmitResult> r =
        router_->Submit(Contact(absl::StrCat("w", i), "billing"), kT0 + absl::Seconds(2));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->position, static_cast<uint32_t>(i + 1));
    EXPECT_EQ(r->estimated_wait, absl::Milliseconds(152'500) * (i + 1)) << i;
    waiting.push_back(r->contact);
  }
  // The first call took 100 s: (100 + 5) x position / 2, at the next read.
  ASSERT_TRUE(
      router_->Complete(offers[0].agent_id, offers[0].contact, Outcome{}, kT0 + absl::Seconds(101))
          .ok());
  absl::StatusOr<ContactPlace> second = router_->Locate(waiting[1]);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->position, 2u);
  EXPECT_EQ(second->estimated_wait, absl::Seconds(105));
  absl::StatusOr<std::unique_ptr<Router>> restored =
      Router::Restore(router_->config(), router_->Save());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->Locate(waiting[1])->estimated_wait, absl::Seconds(105));
  router_->TakeEvents();
  router_->Tick(kT0 + absl::Seconds(106));  // wrap-up over: the first agent is offered w0
  std::vector<Event> next = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].contact, waiting[0]);
  ASSERT_TRUE(router_->Accept(next[0].agent_id, next[0].offer_id, kT0 + absl::Seconds(106)).ok());
  // The second took 299 s: mean 199.5 s. By then the first agent took w0,
  // so w2 is second in line.
  ASSERT_TRUE(
      router_->Complete(offers[1].agent_id, offers[1].contact, Outcome{}, kT0 + absl::Seconds(300))
          .ok());
  absl::StatusOr<ContactPlace> third = router_->Locate(waiting[2]);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->position, 2u);
  EXPECT_EQ(third->estimated_wait, absl::Milliseconds(204'500));
  // The queue's figure is for a contact arriving now (behind the 2 waiting).
  EXPECT_EQ(router_->Queues(kT0 + absl::Seconds(300))[1].estimated_wait,
            absl::Milliseconds(306'750));
}

// Contacts waiting for their busy dedicated advisor are told their place
// in that advisor's line: 1, 2, 3 in arrival order (each was told 3 before),
// and a wait by the advisor or, sooner here, by the queue once the
// reservation (advisor_wait, 30 s) ends: not the queue's position estimate.
TEST_F(RouterTest, ContactsWaitingForTheirAdvisorAreToldTheirOwnPlaceInItsLine) {
  for (const char* id : {"adv", "b1", "b2"}) {
    ASSERT_TRUE(router_->Login(Agent(id, {{"billing", 7}}), kT0).ok());
  }
  for (const char* key : {"x1", "x2", "x3"}) Submit(Contact(key, "billing"), absl::Seconds(1));
  for (const Event& o : OfKind(router_->TakeEvents(), EventKind::kOffered)) {
    ASSERT_TRUE(router_->Accept(o.agent_id, o.offer_id, kT0 + absl::Seconds(1)).ok());
  }
  std::vector<ContactId> waiting;
  for (int i = 0; i < 3; ++i) {
    ContactSpec spec = Contact(absl::StrCat("vip", i), "billing");
    spec.dedicated_advisor = "adv";
    absl::StatusOr<SubmitResult> r = router_->Submit(spec, kT0 + absl::Seconds(2 + i));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->position, static_cast<uint32_t>(i + 1)) << i;
    waiting.push_back(r->contact);
  }
  // Mean service 305 s (the default handle time and wrap-up). By the advisor:
  // place x 305 s. By the queue: the rest of the reservation, then first in
  // line over 3 staffed agents: 305 / 3 s. Now is kT0 + 4 s.
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<ContactPlace> place = router_->Locate(waiting[i]);
    ASSERT_TRUE(place.ok()) << place.status();
    EXPECT_EQ(place->agent_id, "adv");
    EXPECT_EQ(place->position, static_cast<uint32_t>(i + 1)) << i;
    const double reservation_left = 2 + i + 30 - 4;
    EXPECT_NEAR(absl::ToDoubleSeconds(place->estimated_wait), reservation_left + 305.0 / 3, 0.01)
        << i;
  }
}

TEST_F(RouterTest, LeastFlexibleAgentFirstKeepsTheExpertForWorkOnlyItCanDo) {
  ASSERT_TRUE(router_->Login(Agent("expert", {{"general", 9}, {"billing", 7}}), kT0).ok());
  ASSERT_TRUE(router_->Login(Agent("gen", {{"general", 5}}), kT0).ok());
  Submit(Contact("a", "general"), absl::Seconds(1));
  std::vector<Event> offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].agent_id, "gen");
  EXPECT_EQ(offers[0].reason, "best available: breadth 1, proficiency 5");
  const ContactId billing = Submit(Contact("b", "billing"), absl::Seconds(2));
  offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].agent_id, "expert");
  EXPECT_EQ(offers[0].contact, billing);
  EXPECT_EQ(offers[0].reason, "best available: breadth 2, proficiency 7");
  absl::StatusOr<Explanation> x = router_->Explain(billing, kT0 + absl::Seconds(2));
  ASSERT_TRUE(x.ok()) << x.status();
  ASSERT_EQ(x->agents.size(), 2u);
  EXPECT_EQ(x->agents[0].agent_id, "expert");
  EXPECT_EQ(x->agents[0].breadth, 2u);
  EXPECT_EQ(x->agents[0].proficiency, 7);
  EXPECT_EQ(x->agents[1].breadth, 1u);
  EXPECT_EQ(x->agents[1].proficiency, 0);  // no billing skill: qualifies by overflow only
  // Between equally flexible agents proficiency still decides.
  ASSERT_TRUE(router_->Login(Agent("gen9", {{"general", 9}}), kT0 + absl::Seconds(3)).ok());
  ASSERT_TRUE(router_->Login(Agent("gen6", {{"general", 6}}), kT0 + absl::Seconds(3)).ok());
  Submit(Contact("c", "general"), absl::Seconds(4));
  offers = OfKind(router_->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].agent_id, "gen9");
}

TEST_F(RouterTest, ExplainComponentsSumToTheTotal) {
  ContactSpec s = Contact("a", "general", Tier::kGold);
  s.signals.complaint = true;
  s.signals.sentiment = -0.6;
  const ContactId c = Submit(s, absl::Seconds(0));
  ASSERT_TRUE(router_->Login(Agent("bo", {{"billing", 7}}), kT0).ok());
  absl::StatusOr<Explanation> x = router_->Explain(c, kT0 + absl::Seconds(5));
  ASSERT_TRUE(x.ok());
  double sum = 0;
  for (const ScoreComponent& part : x->components) sum += part.points;
  EXPECT_NEAR(sum, x->total_score, 1e-9);
  ASSERT_EQ(x->agents.size(), 1u);
  EXPECT_FALSE(x->agents[0].eligible);
  EXPECT_FALSE(x->agents[0].why_not.empty());
  EXPECT_EQ(x->sla_slack, absl::Seconds(15));
}

using Command = std::function<absl::Status(Router&)>;
using Script = std::vector<Command>;

// Everything observable about a router, as text: contacts, agents, queues,
// the next deadline.
std::string Render(const Router& r, absl::Time now) {
  std::string out;
  for (const QueueStats& q : r.Queues(now)) {
    absl::StrAppend(&out, q.name, " q", q.queued, " o", q.offered, " c", q.connected, " s",
                    q.submitted, " a", q.answered, " w", q.answered_within_target, " ab",
                    q.abandoned, " b", q.sla_breaches, " ov", q.overflows, " e",
                    absl::FormatDuration(q.estimated_wait), " r", q.recent_within_target, "/",
                    q.recent_answers, q.short_of_objective ? " short" : "", "\n");
  }
  for (const AgentView& a : r.Agents(now)) {
    absl::StrAppend(&out, a.agent_id, " ", AgentStatusName(a.status), " ", a.reason, " idle ",
                    absl::FormatDuration(a.idle), " occ ", a.occupancy, " misses ",
                    a.consecutive_misses, " holds ", a.contacts.size(), "\n");
  }
  for (ContactId id = 1; id < 2000; ++id) {  // 300 steps issue far fewer
    absl::StatusOr<ContactView> c = r.GetContact(id, now);
    if (!c.ok()) continue;
    absl::StrAppend(&out, ContactIdString(id), " ", c->queue, " ", ContactStateName(c->state), " ",
                    c->agent_id, " o", c->offer_id, " p", c->position, " st", c->stage, " u",
                    c->urgency, " h", c->history.size(), "\n");
  }
  std::optional<absl::Time> next = r.NextDeadline();
  absl::StrAppend(&out, "next ", next ? absl::FormatTime(*next) : "none", "\n");
  return out;
}

std::string RenderEvents(const std::vector<Event>& events) {
  std::string out;
  for (const Event& e : events) {
    absl::StrAppend(&out, EventKindName(e.kind), " ", absl::FormatTime(e.time), " ", e.contact, " ",
                    e.offer_id, " ", e.agent_id, " ", e.queue, " ", e.reason, "\n");
  }
  return out;
}

// Replays `script` on a fresh router, and at several points also on a router
// restored from Save(): both must emit the same events and end identical.
void ExpectRestoredRouterBehavesTheSame(const RouterConfig& config, const Script& script,
                                        uint64_t seed, absl::Time end) {
  for (size_t cut : {size_t{0}, script.size() / 3, script.size() / 2, script.size() - 1}) {
    std::unique_ptr<Router> original = *Router::Create(config);
    for (size_t i = 0; i < cut; ++i) (void)script[i](*original);
    (void)original->TakeEvents();
    absl::StatusOr<std::unique_ptr<Router>> restored =
        Router::Restore(original->config(), original->Save());
    ASSERT_TRUE(restored.ok()) << "seed " << seed << " cut " << cut << ": " << restored.status();
    Router& twin = **restored;
    ASSERT_EQ(Render(twin, original->now()), Render(*original, original->now()))
        << "seed " << seed << " cut " << cut;
    for (size_t i = cut; i < script.size(); ++i) {
      const absl::Status a = script[i](*original);
      const absl::Status b = script[i](twin);
      ASSERT_EQ(a, b) << "seed " << seed << " step " << i;
      ASSERT_EQ(RenderEvents(twin.TakeEvents()), RenderEvents(original->TakeEvents()))
          << "seed " << seed << " cut " << cut << " step " << i;
    }
    EXPECT_EQ(Render(twin, end), Render(*original, end)) << "seed " << seed << " cut " << cut;
    EXPECT_TRUE(twin.CheckInvariants().ok()) << twin.CheckInvariants();
  }
}

// CountAgents() is a one-pass tally of what Agents() shows agent by agent.
void ExpectTallyMatchesViews(const Router& router, absl::Time now) {
  AgentTally expected;
  for (const AgentView& a : router.Agents(now)) {
    if (a.status == AgentStatus::kOffline) continue;
    for (const AgentView::Load& l : a.load) {
      const int ch = static_cast<int>(l.channel);
      ++expected.by_state[ch][static_cast<int>(a.status)];
      expected.occupancy_sum[ch] += a.occupancy;
      ++expected.logged_in[ch];
    }
  }
  const AgentTally tally = router.CountAgents(now);
  EXPECT_EQ(tally.by_state, expected.by_state);
  EXPECT_EQ(tally.logged_in, expected.logged_in);
  for (int ch = 0; ch < kChannelCount; ++ch) {
    EXPECT_NEAR(tally.occupancy_sum[ch], expected.occupancy_sum[ch], 1e-9);
  }
}

std::string RenderOffers(const std::vector<testing::ReferenceOffer>& offers) {
  std::string out;
  for (const testing::ReferenceOffer& o : offers) {
    absl::StrAppend(&out, absl::FormatTime(o.time), " ", ContactIdString(o.contact), " ",
                    OfferIdString(o.offer_id), " to ", o.agent_id, " (", o.reason, ")\n");
  }
  return out;
}

// Random commands; after each one the brute-force invariants must hold and
// every acknowledged contact must be live or ended by exactly one final event.
// The same commands replayed across a Save()/Restore() give the same events.
// The same commands on the naive reference router (router/testing/, linear
// scans written from the routing rules) make the same offers: which contact,
// to which agent, when and why, step by step.
struct Knobs {
  uint64_t first_seed = 1;
  uint64_t last_seed = 40;
  int steps = 300;
  int agents = 8;
  int max_gap_ms = 8000;  // between commands
  int reject_one_in = 4;  // of the answers to offers
  bool check_restore = true;
  // general and billing alternate ranked and fifo every 45 s, chat is fifo.
  bool policies = false;
  // Every queue's service objective (unset: its target ratio).
  std::optional<double> service_objective;
};

RouterConfig RandomisedConfig(const Knobs& knobs) {
  RouterConfig c = TestConfig();
  for (QueueConfig& q : c.queues) q.service_objective = knobs.service_objective;
  if (knobs.policies) {
    for (QueueConfig& q : c.queues) {
      if (q.name == "chat") {
        q.routing_policy = RoutingPolicy::kFifo;
      } else {
        q.ab_test.policies = {RoutingPolicy::kRanked, RoutingPolicy::kFifo};
        q.ab_test.period = absl::Seconds(45);
      }
    }
  }
  return c;
}

// Runs the randomised sequences `knobs` describes; counts the events seen
// into `seen`, the offers compared with the reference's into `offers_compared`,
// the offers a fifo queue made into `fifo_offers`, the senior requirements
// relaxed into `senior_relaxed` and the offers made because a queue was short
// of its service objective into `short_of_objective_offers`.
void RunRandomised(const Knobs& knobs, std::map<EventKind, int>& seen, int& offers_compared,
                   int* fifo_offers = nullptr, int* senior_relaxed = nullptr,
                   int* short_of_objective_offers = nullptr) {
  for (uint64_t seed = knobs.first_seed; seed <= knobs.last_seed; ++seed) {
    std::mt19937_64 rng(seed);
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    std::unique_ptr<Router> router = *Router::Create(RandomisedConfig(knobs));
    absl::Time now = kT0;
    std::vector<std::string> agents;
    for (int i = 0; i < knobs.agents; ++i) agents.push_back(absl::StrCat("agent", i));
    const char* queues[] = {"general", "billing", "chat"};
    std::set<ContactId> acknowledged;
    std::map<ContactId, int> endings;
    std::map<uint64_t, std::string> open_offers;  // offer -> agent
    std::set<ContactId> connected, wrapping;
    testing::ReferenceRouter reference(RandomisedConfig(knobs));
    Script script;
    // Runs `cmd` on the router and `on_reference` on the reference; both must
    // accept it or both refuse it.
    auto run = [&](Command cmd, const std::function<absl::Status()>& on_reference) {
      script.push_back(cmd);
      const absl::Status status = cmd(*router);
      const absl::Status expected = on_reference();
      EXPECT_EQ(status.ok(), expected.ok())
          << "seed " << seed << " step " << script.size() << ": router says " << status
          << ", reference says " << expected;
      return status;
    };
    for (int step = 0; step < knobs.steps; ++step) {
      now += absl::Milliseconds(pick(knobs.max_gap_ms));
      const std::string& agent = agents[pick(agents.size())];
      switch (pick(10)) {
        case 0:
        case 1: {
          const char* q = queues[pick(3)];
          ContactSpec s = Contact(absl::StrCat(seed, "-", step), q, static_cast<Tier>(pick(4)),
                                  std::string(q) == "chat" ? Channel::kChat : Channel::kVoice);
          s.customer_id = absl::StrCat("cust", pick(5));
          s.language = pick(4) == 0 ? "es" : "en";
          s.signals.emergency = pick(30) == 0;
          s.signals.complaint = pick(5) == 0;
          s.signals.sentiment = -static_cast<double>(pick(10)) / 10;
          absl::StatusOr<SubmitResult> r = router->Submit(s, now);
          ASSERT_TRUE(r.ok()) << r.status();
          script.push_back([s, now](Router& x) { return x.Submit(s, now).status(); });
          acknowledged.insert(r->contact);
          absl::StatusOr<ContactId> expected = reference.Submit(s, now);
          ASSERT_TRUE(expected.ok()) << expected.status();
          EXPECT_EQ(*expected, r->contact);
          break;
        }
        case 2: {
          AgentSpec a = Agent(agent, {{"general", 1 + static_cast<uint32_t>(pick(9))}});
          if (pick(2)) a.skills.push_back({"billing", 1 + static_cast<uint32_t>(pick(9))});
          if (pick(3) == 0) a.skills.push_back({"senior", 5});
          if (pick(3) == 0) a.languages.push_back("es");
          a.capacities = {{Channel::kVoice, 1}, {Channel::kChat, 3}};
          (void)run([a, now](Router& x) { return x.Login(a, now); },
                    [&] { return reference.Login(a, now); });
          break;
        }
        case 3:
          if (pick(3) == 0) {
            (void)run([agent, now](Router& x) { return x.Logout(agent, "bye", now); },
                      [&] { return reference.Logout(agent, now); });
          } else if (pick(2)) {
            (void)run([agent, now](Router& x) { return x.SetNotReady(agent, "break", now); },
                      [&] { return reference.SetNotReady(agent, now); });
          } else {
            (void)run([agent, now](Router& x) { return x.SetAvailable(agent, now); },
                      [&] { return reference.SetAvailable(agent, now); });
          }
          break;
        case 4:
        case 5:
          if (!open_offers.empty()) {
            auto it = std::next(open_offers.begin(), pick(open_offers.size()));
            const bool wrong = pick(6) == 0;
            const std::string who = wrong ? agent : it->second;
            const uint64_t offer = it->first;
            absl::Status s =
                pick(knobs.reject_one_in) == 0
                    ? run([who, offer, now](Router& x) { return x.Reject(who, offer, "no", now); },
                          [&] { return reference.Reject(who, offer, now); })
                    : run([who, offer, now](Router& x) { return x.Accept(who, offer, now); },
                          [&] { return reference.Accept(who, offer, now); });
            if (wrong && who != it->second) {
              EXPECT_FALSE(s.ok());
            }
          }
          break;
        case 6:
          if (!connected.empty()) {
            const ContactId c = *std::next(connected.begin(), pick(connected.size()));
            absl::StatusOr<ContactView> v = router->GetContact(c, now);
            if (v.ok()) {
              if (pick(5) == 0) {
                const std::string to = v->channel == Channel::kChat ? "chat" : "billing";
                (void)run([id = v->agent_id, c, to,
                           now](Router& x) { return x.Transfer(id, c, to, "see notes", now); },
                          [&] { return reference.Transfer(v->agent_id, c, to, now); });
              } else {
                const Outcome o{pick(2) == 0, "", 0, false};
                (void)run(
                    [id = v->agent_id, c, o, now](Router& x) { return x.Complete(id, c, o, now); },
                    [&] { return reference.Complete(v->agent_id, c, now); });
              }
            }
          }
          break;
        case 7:
          if (!wrapping.empty()) {
            const ContactId c = *std::next(wrapping.begin(), pick(wrapping.size()));
            absl::StatusOr<ContactView> v = router->GetContact(c, now);
            if (v.ok()) {
              (void)run([id = v->agent_id, c, now](Router& x) { return x.WrapUpDone(id, c, now); },
                        [&] { return reference.WrapUpDone(v->agent_id, c, now); });
            }
          }
          break;
        case 8:
          if (!acknowledged.empty()) {
            const ContactId c = *std::next(acknowledged.begin(), pick(acknowledged.size()));
            if (pick(2)) {
              (void)run([c, now](Router& x) { return x.Abandon(c, now); },
                        [&] { return reference.Abandon(c, now); });
            } else {
              Signals s;
              s.escalation_level = static_cast<uint32_t>(pick(4));
              s.sentiment = -0.9;
              (void)run([c, s, now](Router& x) { return x.Update(c, s, std::nullopt, now); },
                        [&] { return reference.Update(c, s, now); });
            }
          }
          break;
        default:
          (void)run(
              [now](Router& x) {
                x.Tick(now);
                return absl::OkStatus();
              },
              [&] {
                reference.Tick(now);
                return absl::OkStatus();
              });
      }
      ASSERT_TRUE(router->CheckInvariants().ok())
          << "seed " << seed << " step " << step << ": " << router->CheckInvariants();
      ExpectTallyMatchesViews(*router, now);
      std::vector<Event> events = router->TakeEvents();
      std::vector<testing::ReferenceOffer> offered;
      for (const Event& e : events) {
        if (e.kind == EventKind::kOffered) {
          offered.push_back({e.time, e.contact, e.offer_id, e.agent_id, e.reason});
        }
      }
      const std::vector<testing::ReferenceOffer> expected = reference.TakeOffers();
      ASSERT_EQ(RenderOffers(offered), RenderOffers(expected))
          << "seed " << seed << " step " << step << ": the router's offers (left) differ from "
          << "the reference router's (right)";
      offers_compared += static_cast<int>(offered.size());
      for (const testing::ReferenceOffer& o : offered) {
        if (fifo_offers != nullptr) *fifo_offers += absl::StartsWith(o.reason, "fifo: ") ? 1 : 0;
        if (short_of_objective_offers != nullptr) {
          *short_of_objective_offers += absl::StartsWith(o.reason, "short of objective: ") ? 1 : 0;
        }
      }
      absl::Time last = absl::InfinitePast();
      for (const Event& e : events) {
        EXPECT_GE(e.time, last);
        ++seen[e.kind];
        last = e.time;
        if (senior_relaxed != nullptr && e.kind == EventKind::kOverflowed &&
            absl::StartsWith(e.reason, "senior requirement relaxed")) {
          ++*senior_relaxed;
        }
        switch (e.kind) {
          case EventKind::kOffered:
            open_offers[e.offer_id] = e.agent_id;
            break;
          case EventKind::kAssigned:
            open_offers.erase(e.offer_id);
            connected.insert(e.contact);
            break;
          case EventKind::kOfferRejected:
          case EventKind::kOfferTimedOut:
          case EventKind::kOfferWithdrawn:
            EXPECT_NE(e.offer_id, 0u);
            open_offers.erase(e.offer_id);
            break;
          case EventKind::kCompleted:
            connected.erase(e.contact);
            wrapping.insert(e.contact);
            break;
          case EventKind::kTransferred:
            connected.erase(e.contact);
            break;
          case EventKind::kWrapUpDone:
            wrapping.erase(e.contact);
            ++endings[e.contact];
            break;
          case EventKind::kAbandoned:
          case EventKind::kCancelled:
          case EventKind::kExpired:
            ++endings[e.contact];
            break;
          default:
            break;
        }
      }
    }
    if (knobs.check_restore) {
      ExpectRestoredRouterBehavesTheSame(RandomisedConfig(knobs), script, seed, now);
    }
    for (ContactId c : acknowledged) {
      const bool live = router->GetContact(c, now).ok();
      const int ended = endings.count(c) ? endings[c] : 0;
      EXPECT_TRUE((live && ended == 0) || (!live && ended == 1))
          << "seed " << seed << " contact " << c << " live=" << live << " endings=" << ended;
    }
  }
}

TEST(RouterRandomised, InvariantsHoldAndNoContactIsLost) {
  std::map<EventKind, int> seen;  // across all seeds: the sequences must exercise the rules
  int offers_compared = 0;
  int senior_relaxed = 0;
  RunRandomised(Knobs{}, seen, offers_compared, /*fifo_offers=*/nullptr, &senior_relaxed);
  for (EventKind k : {EventKind::kOffered, EventKind::kAssigned, EventKind::kOfferRejected,
                      EventKind::kOfferTimedOut, EventKind::kOfferWithdrawn, EventKind::kCompleted,
                      EventKind::kWrapUpDone, EventKind::kAbandoned, EventKind::kTransferred,
                      EventKind::kOverflowed, EventKind::kSlaBreached, EventKind::kEscalated}) {
    EXPECT_GE(seen[k], 5) << EventKindName(k) << " happened only " << seen[k] << " times";
  }
  EXPECT_GE(offers_compared, 1000) << "the reference comparison saw too few offers";
  EXPECT_GE(senior_relaxed, 5) << "too few senior requirements relaxed";
}

// Busier: commands closer together, more agents, half the offers rejected, so
// cooldowns, not-ready after misses and requeues overlap; the offers must
// still match the reference router's.
TEST(RouterRandomised, OffersMatchTheReferenceUnderRejects) {
  std::map<EventKind, int> seen;
  Knobs knobs;
  knobs.first_seed = 101;
  knobs.last_seed = 130;
  knobs.steps = 400;
  knobs.agents = 12;
  knobs.max_gap_ms = 1500;
  knobs.reject_one_in = 2;
  knobs.check_restore = false;
  int offers_compared = 0;
  RunRandomised(knobs, seen, offers_compared);
  EXPECT_GE(offers_compared, 1000);
  EXPECT_GE(seen[EventKind::kOfferRejected], 300);
  EXPECT_GE(seen[EventKind::kOfferTimedOut], 50);
}

// Queues whose service objective (every answer within target) they keep
// missing, over longer runs so each queue has its 16 answers: a freed agent
// takes their contacts still in time first (MatchAgent), and the offers, and
// a router restored from each run's snapshot, must match the reference's.
TEST(RouterRandomised, OffersMatchTheReferenceWithQueuesShortOfTheirObjective) {
  std::map<EventKind, int> seen;
  Knobs knobs;
  knobs.first_seed = 301;
  knobs.last_seed = 308;
  knobs.steps = 2500;
  knobs.agents = 10;
  knobs.max_gap_ms = 3000;
  knobs.reject_one_in = 8;
  knobs.service_objective = 1.0;
  int offers_compared = 0;
  int short_of_objective = 0;
  RunRandomised(knobs, seen, offers_compared, /*fifo_offers=*/nullptr, /*senior_relaxed=*/nullptr,
                &short_of_objective);
  EXPECT_GE(offers_compared, 1000);
  EXPECT_GE(short_of_objective, 10) << "too few offers made for a queue short of its objective";
}

// Queues under fifo and under an A/B test switching every 45 s: the offers
// (which contact, which agent, why) must still match the reference router's.
TEST(RouterRandomised, OffersMatchTheReferenceUnderFifoAndAbTests) {
  std::map<EventKind, int> seen;
  Knobs knobs;
  knobs.first_seed = 201;
  knobs.last_seed = 230;
  knobs.policies = true;
  knobs.check_restore = false;  // restores under policies: router_policy_test
  int offers_compared = 0;
  int fifo_offers = 0;
  RunRandomised(knobs, seen, offers_compared, &fifo_offers);
  EXPECT_GE(offers_compared, 1000);
  // Both policies chose: the fifo agent rule and the fifo freed-agent rule.
  EXPECT_GE(fifo_offers, 300);
  EXPECT_GE(offers_compared - fifo_offers, 300);
  EXPECT_GE(seen[EventKind::kOfferRejected], 50);
}

}  // namespace
}  // namespace ccr
