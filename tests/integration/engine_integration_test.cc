// Integration tests: the real ccrouterd on port 0, driven over gRPC by a
// gateway, agent desktops and an operator, with a test config whose timers
// are short (offer timeout 2 s, wrap-up 0.5 s, disconnect grace 1 s,
// overflow after 1.5 s).
#include <atomic>
#include <future>
#include <iostream>
#include <map>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/empty.pb.h"
#include "google/protobuf/wrappers.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_fixture.h"

namespace ccr::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// Long enough for any positive wait on a loaded 2-core machine.
constexpr absl::Duration kWait = absl::Seconds(5);
// How long a negative check ("no offer arrives") watches.
constexpr absl::Duration kQuiet = absl::Milliseconds(600);

class EngineIntegrationTest : public DaemonFixture {};

// Accepts, completes and ends the wrap-up of `offer`.
void Serve(AgentClient& agent, const v1::Offer& offer) {
  std::optional<v1::CommandResult> r = agent.Accept(offer.offer_id());
  ASSERT_TRUE(r) << "no answer to accept " << offer.offer_id();
  ASSERT_EQ(r->code(), 0) << r->message();
  r = agent.Complete(offer.contact_id());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->code(), 0) << r->message();
  r = agent.WrapUpDone(offer.contact_id());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->code(), 0) << r->message();
}

std::string Submitted(Gateway& gateway, const v1::ContactSpec& spec) {
  v1::SubmitReply reply;
  grpc::Status s = gateway.Submit(spec, &reply);
  EXPECT_TRUE(s.ok()) << spec.idempotency_key() << ": " << s.error_message();
  return reply.contact_id();
}

// Per queue: queued, offered, connected and every counter that a rejected
// request must leave alone.
std::map<std::string, std::string> QueueFigures(Operator& op) {
  v1::ListQueuesReply reply;
  grpc::Status s = op.ListQueues(&reply);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::map<std::string, std::string> out;
  for (const v1::QueueSnapshot& q : reply.queues()) {
    out[q.name()] = absl::StrCat("queued=", q.queued(), " offered=", q.offered(),
                                 " connected=", q.connected(), " answered=", q.answered(),
                                 " abandoned=", q.abandoned(), " completed=", q.completed());
  }
  return out;
}

uint32_t TotalQueued(Operator& op) {
  v1::ListQueuesReply reply;
  EXPECT_TRUE(op.ListQueues(&reply).ok());
  uint32_t n = 0;
  for (const v1::QueueSnapshot& q : reply.queues()) n += q.queued() + q.offered() + q.connected();
  return n;
}

// ---------------------------------------------------------------------------
// Full lifecycle on every channel

class LifecycleTest : public DaemonFixture, public ::testing::WithParamInterface<v1::Channel> {};

TEST_P(LifecycleTest, SubmitOfferAcceptCompleteWrapUp) {
  const v1::Channel channel = GetParam();
  const std::string queue = QueueForChannel(channel);
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  Operator op(NewChannel());
  AgentClient agent(NewChannel());
  ASSERT_TRUE(agent.Login(AgentLogin("a1", channel)));

  v1::ContactSpec spec = Contact("life-1", channel);
  spec.set_topic("");  // no topic: the channel's default queue
  spec.mutable_customer()->set_id("customer-4242");
  v1::SubmitReply submitted;
  grpc::Status s = gateway.Submit(spec, &submitted);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(submitted.contact_id(), "c-1");
  EXPECT_EQ(submitted.queue(), queue);
  EXPECT_FALSE(submitted.duplicate());
  EXPECT_EQ(submitted.state(), v1::CONTACT_STATE_OFFERED);  // an agent was free
  EXPECT_EQ(submitted.position(), 0u);

  const absl::Time before_offer = absl::Now();
  std::optional<v1::Offer> offer = agent.WaitForOffer(kWait);
  ASSERT_TRUE(offer) << "no offer";
  EXPECT_EQ(offer->contact_id(), "c-1");
  EXPECT_EQ(offer->queue(), queue);
  EXPECT_EQ(offer->channel(), channel);
  EXPECT_NE(offer->customer_display(), "customer-4242") << "customer id must be masked";
  const absl::Time deadline = absl::FromUnixSeconds(offer->accept_deadline().seconds());
  EXPECT_GT(deadline, before_offer - absl::Seconds(1));
  EXPECT_LT(deadline, before_offer + absl::Seconds(4));

  std::optional<v1::CommandResult> r = agent.Accept(offer->offer_id());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->code(), 0) << r->message();
  v1::QueueSnapshot q = op.Queue(queue);
  EXPECT_EQ(q.answered(), 1u);
  EXPECT_EQ(q.connected(), 1u);
  EXPECT_EQ(q.completed(), 0u);

  r = agent.Complete("c-1");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->code(), 0) << r->message();
  r = agent.WrapUpDone("c-1");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->code(), 0) << r->message();

  q = op.Queue(queue);
  EXPECT_EQ(q.answered(), 1u);
  EXPECT_EQ(q.answered_within_target(), 1u);
  EXPECT_EQ(q.completed(), 1u);
  EXPECT_EQ(q.resolved(), 1u);
  EXPECT_EQ(q.queued(), 0u);
  EXPECT_EQ(q.offered(), 0u);
  EXPECT_EQ(q.connected(), 0u);
  std::optional<v1::AgentSnapshot> a = op.Agent("a1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->state(), v1::AGENT_STATE_AVAILABLE);
  EXPECT_EQ(a->contact_ids_size(), 0);
  EXPECT_TRUE(a->connected());

  // The event feed, replayed from after the login's event (sequence 1).
  EventWatcher watcher(NewChannel(), 1);
  ASSERT_TRUE(watcher.WaitFor(v1::EVENT_KIND_WRAP_UP_DONE, "c-1", kWait));
  std::vector<v1::EventKind> kinds;
  uint64_t last_sequence = 1;
  for (const v1::LifecycleEvent& e : watcher.Snapshot()) {
    EXPECT_GT(e.sequence(), last_sequence);
    last_sequence = e.sequence();
    if (e.contact_id() != "c-1") continue;
    EXPECT_EQ(e.queue(), queue);
    EXPECT_EQ(e.channel(), channel);
    if (e.kind() == v1::EVENT_KIND_OFFERED || e.kind() == v1::EVENT_KIND_ASSIGNED ||
        e.kind() == v1::EVENT_KIND_COMPLETED) {
      EXPECT_EQ(e.agent_id(), "a1");
    }
    if (e.kind() == v1::EVENT_KIND_COMPLETED) {
      EXPECT_TRUE(e.outcome().resolved());
    }
    kinds.push_back(e.kind());
  }
  // The watcher took WRAP_UP_DONE out of its queue when the wait matched it.
  kinds.push_back(v1::EVENT_KIND_WRAP_UP_DONE);
  EXPECT_THAT(kinds,
              ElementsAre(v1::EVENT_KIND_QUEUED, v1::EVENT_KIND_OFFERED, v1::EVENT_KIND_ASSIGNED,
                          v1::EVENT_KIND_COMPLETED, v1::EVENT_KIND_WRAP_UP_DONE));
}

INSTANTIATE_TEST_SUITE_P(Channels, LifecycleTest,
                         ::testing::Values(v1::CHANNEL_VOICE, v1::CHANNEL_CHAT, v1::CHANNEL_EMAIL,
                                           v1::CHANNEL_MESSAGING),
                         [](const ::testing::TestParamInfo<v1::Channel>& info) {
                           return v1::Channel_Name(info.param);
                         });

// ---------------------------------------------------------------------------
// Priorities

TEST_F(EngineIntegrationTest, VipOvertakesStandardQueuedEarlier) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  Operator op(NewChannel());
  AgentClient agent(NewChannel());
  ASSERT_TRUE(agent.Login(AgentLogin("a1", v1::CHANNEL_VOICE)));

  ASSERT_EQ(Submitted(gateway, Contact("busy", v1::CHANNEL_VOICE)), "c-1");
  std::optional<v1::Offer> first = agent.WaitForOffer(kWait);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->contact_id(), "c-1");
  std::optional<v1::CommandResult> r = agent.Accept(first->offer_id());
  ASSERT_TRUE(r && r->code() == 0);

  v1::SubmitReply standard, vip;
  ASSERT_TRUE(gateway.Submit(Contact("standard", v1::CHANNEL_VOICE), &standard).ok());
  EXPECT_EQ(standard.state(), v1::CONTACT_STATE_QUEUED);
  EXPECT_EQ(standard.position(), 1u);
  v1::ContactSpec vip_spec = Contact("vip", v1::CHANNEL_VOICE);
  vip_spec.mutable_customer()->set_tier(v1::TIER_VIP);
  ASSERT_TRUE(gateway.Submit(vip_spec, &vip).ok());
  EXPECT_EQ(vip.position(), 1u) << "the VIP goes ahead of the standard contact";
  v1::ExplainReply x;
  ASSERT_TRUE(op.Explain(standard.contact_id(), &x).ok());
  EXPECT_EQ(x.position(), 2u);
  EXPECT_TRUE(agent.NoOfferWithin(absl::Milliseconds(200))) << "the agent is busy";

  // Freeing the agent offers the VIP first, then the standard contact.
  r = agent.Complete("c-1");
  ASSERT_TRUE(r && r->code() == 0);
  r = agent.WrapUpDone("c-1");
  ASSERT_TRUE(r && r->code() == 0);
  std::optional<v1::Offer> next = agent.WaitForOffer(kWait);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->contact_id(), vip.contact_id());
  EXPECT_EQ(next->tier(), v1::TIER_VIP);
  ASSERT_NO_FATAL_FAILURE(Serve(agent, *next));
  next = agent.WaitForOffer(kWait);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->contact_id(), standard.contact_id());
}

TEST_F(EngineIntegrationTest, EmergencyFirst) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  AgentClient agent(NewChannel());
  ASSERT_TRUE(agent.Login(AgentLogin("a1", v1::CHANNEL_VOICE)));
  ASSERT_EQ(Submitted(gateway, Contact("busy", v1::CHANNEL_VOICE)), "c-1");
  std::optional<v1::Offer> first = agent.WaitForOffer(kWait);
  ASSERT_TRUE(first);
  std::optional<v1::CommandResult> accepted = agent.Accept(first->offer_id());
  ASSERT_TRUE(accepted && accepted->code() == 0);

  const std::string standard = Submitted(gateway, Contact("standard", v1::CHANNEL_VOICE));
  v1::ContactSpec vip = Contact("vip", v1::CHANNEL_VOICE);
  vip.mutable_customer()->set_tier(v1::TIER_VIP);
  vip.mutable_signals()->set_complaint(true);
  const std::string vip_id = Submitted(gateway, vip);
  v1::ContactSpec emergency = Contact("emergency", v1::CHANNEL_VOICE, "voice_general");
  emergency.mutable_signals()->set_emergency(true);
  const std::string emergency_id = Submitted(gateway, emergency);

  std::optional<v1::CommandResult> r = agent.Complete("c-1");
  ASSERT_TRUE(r && r->code() == 0);
  r = agent.WrapUpDone("c-1");
  ASSERT_TRUE(r && r->code() == 0);
  std::vector<std::string> order;
  for (int i = 0; i < 3; ++i) {
    std::optional<v1::Offer> next = agent.WaitForOffer(kWait);
    ASSERT_TRUE(next) << "offer " << i;
    order.push_back(next->contact_id());
    if (i == 0) {
      EXPECT_TRUE(next->signals().emergency());
    }
    ASSERT_NO_FATAL_FAILURE(Serve(agent, *next));
  }
  EXPECT_THAT(order, ElementsAre(emergency_id, vip_id, standard));
}

TEST_F(EngineIntegrationTest, ReturningCustomerGoesToTheirLastAgent) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  AgentClient junior(NewChannel());
  ASSERT_TRUE(junior.Login(AgentLogin("junior", v1::CHANNEL_VOICE, /*general_level=*/5)));
  v1::ContactSpec first_call = Contact("sticky-1", v1::CHANNEL_VOICE);
  first_call.mutable_customer()->set_id("returning-customer");
  ASSERT_EQ(Submitted(gateway, first_call), "c-1");
  std::optional<v1::Offer> offer = junior.WaitForOffer(kWait);
  ASSERT_TRUE(offer);
  ASSERT_NO_FATAL_FAILURE(Serve(junior, *offer));

  // A better qualified agent joins; a new customer goes to them...
  AgentClient expert(NewChannel());
  ASSERT_TRUE(expert.Login(AgentLogin("expert", v1::CHANNEL_VOICE, /*general_level=*/9)));
  const std::string stranger = Submitted(gateway, Contact("stranger", v1::CHANNEL_VOICE));
  offer = expert.WaitForOffer(kWait);
  ASSERT_TRUE(offer);
  EXPECT_EQ(offer->contact_id(), stranger);
  ASSERT_NO_FATAL_FAILURE(Serve(expert, *offer));
  EXPECT_TRUE(junior.NoOfferWithin(absl::Milliseconds(100)));

  // ...but the returning customer goes back to the agent who served them,
  // although the expert is free too.
  v1::ContactSpec second_call = Contact("sticky-2", v1::CHANNEL_VOICE);
  second_call.mutable_customer()->set_id("returning-customer");
  const std::string returning = Submitted(gateway, second_call);
  offer = junior.WaitForOffer(kWait);
  ASSERT_TRUE(offer) << "the returning customer was not offered to their last agent";
  EXPECT_EQ(offer->contact_id(), returning);
  EXPECT_THAT(offer->why(), HasSubstr("sticky"));
  EXPECT_TRUE(expert.NoOfferWithin(absl::Milliseconds(200)));
}

// ---------------------------------------------------------------------------
// Capacity, reject, timeout, disconnect, abandonment, overflow

TEST_F(EngineIntegrationTest, ChatAgentHoldsThreeChatsNotAFourth) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  Operator op(NewChannel());
  AgentClient agent(NewChannel());
  ASSERT_TRUE(agent.Login(AgentLogin("a1", v1::CHANNEL_CHAT)));
  for (int i = 1; i <= 4; ++i) {
    ASSERT_EQ(Submitted(gateway, Contact(absl::StrCat("chat-", i), v1::CHANNEL_CHAT)),
              absl::StrCat("c-", i));
  }
  std::set<std::string> offered;
  for (int i = 0; i < 3; ++i) {
    std::optional<v1::Offer> offer = agent.WaitForOffer(kWait);
    ASSERT_TRUE(offer) << "offer " << i;
    offered.insert(offer->contact_id());
    std::optional<v1::CommandResult> r = agent.Accept(offer->offer_id());
    ASSERT_TRUE(r && r->code() == 0);
  }
  EXPECT_THAT(offered, UnorderedElementsAre("c-1", "c-2", "c-3"));
  EXPECT_TRUE(agent.NoOfferWithin(kQuiet)) << "a fourth chat was offered";
  v1::QueueSnapshot q = op.Queue("chat_general");
  EXPECT_EQ(q.connected(), 3u);
  EXPECT_EQ(q.queued(), 1u);
  std::optional<v1::AgentSnapshot> a = op.Agent("a1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->state(), v1::AGENT_STATE_BUSY);

  // Completing one frees its slot when the wrap-up timer (0.5 s) runs out.
  const absl::Time completed = absl::Now();
  std::optional<v1::CommandResult> r = agent.Complete("c-2");
  ASSERT_TRUE(r && r->code() == 0);
  std::optional<v1::Offer> fourth = agent.WaitForOffer(kWait);
  ASSERT_TRUE(fourth) << "the fourth chat never came after the wrap-up";
  EXPECT_EQ(fourth->contact_id(), "c-4");
  EXPECT_GE(absl::Now() - completed, absl::Milliseconds(400)) << "wrap-up did not hold the slot";
}

TEST_F(EngineIntegrationTest, RejectPutsTheContactBackForAnotherAgent) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  Operator op(NewChannel());
  AgentClient first(NewChannel());
  ASSERT_TRUE(first.Login(AgentLogin("first", v1::CHANNEL_VOICE)));
  ASSERT_EQ(Submitted(gateway, Contact("r-1", v1::CHANNEL_VOICE)), "c-1");
  std::optional<v1::Offer> offer = first.WaitForOffer(kWait);
  ASSERT_TRUE(offer);
  AgentClient second(NewChannel());
  ASSERT_TRUE(second.Login(AgentLogin("second", v1::CHANNEL_VOICE)));
  EXPECT_TRUE(second.NoOfferWithin(absl::Milliseconds(200))) << "c-1 is offered to first";

  std::optional<v1::CommandResult> r = first.Reject(offer->offer_id(), "not my topic");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code(), 0) << r->message();
  std::optional<v1::Offer> again = second.WaitForOffer(kWait);
  ASSERT_TRUE(again) << "the rejected contact was not offered to the other agent";
  EXPECT_EQ(again->contact_id(), "c-1");
  EXPECT_NE(again->offer_id(), offer->offer_id());
  EXPECT_TRUE(first.NoOfferWithin(absl::Milliseconds(200))) << "offered back to who rejected it";
  r = second.Accept(again->offer_id());
  ASSERT_TRUE(r && r->code() == 0);
  EXPECT_EQ(op.Queue("voice_general").answered(), 1u);

  EventWatcher watcher(NewChannel(), 1);
  std::optional<v1::LifecycleEvent> rejected =
      watcher.WaitFor(v1::EVENT_KIND_OFFER_REJECTED, "c-1", kWait);
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->agent_id(), "first");
  EXPECT_EQ(rejected->reason(), "not my topic");
  std::optional<v1::LifecycleEvent> assigned =
      watcher.WaitFor(v1::EVENT_KIND_ASSIGNED, "c-1", kWait);
  ASSERT_TRUE(assigned);
  EXPECT_EQ(assigned->agent_id(), "second");
  EXPECT_GT(assigned->sequence(), rejected->sequence());
}

TEST_F(EngineIntegrationTest, UnansweredOfferTimesOutAndGoesBack) {
  ASSERT_TRUE(StartDaemon());  // offer timeout 2 s
  Gateway gateway(NewChannel());
  Operator op(NewChannel());
  AgentClient sleepy(NewChannel());
  ASSERT_TRUE(sleepy.Login(AgentLogin("sleepy", v1::CHANNEL_VOICE)));
  ASSERT_EQ(Submitted(gateway, Contact("t-1", v1::CHANNEL_VOICE)), "c-1");
  const absl::Time submitted = absl::Now();
  std::optional<v1::Offer> offer = sleepy.WaitForOffer(kWait);
  ASSERT_TRUE(offer);

  std::optional<v1::OfferWithdrawn> withdrawn = sleepy.WaitForWithdrawn(kWait);
  ASSERT_TRUE(withdrawn) << "the offer never timed out";
  const absl::Duration after = absl::Now() - submitted;
  EXPECT_EQ(withdrawn->offer_id(), offer->offer_id());
  EXPECT_EQ(withdrawn->contact_id(), "c-1");
  EXPECT_EQ(withdrawn->reason(), "timeout");
  EXPECT_GE(after, absl::Milliseconds(1900));
  EXPECT_LE(after, absl::Seconds(4));
  v1::QueueSnapshot q = op.Queue("voice_general");
  EXPECT_EQ(q.queued(), 1u);
  EXPECT_EQ(q.offered(), 0u);
  std::optional<v1::AgentSnapshot> a = op.Agent("sleepy");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->consecutive_misses(), 1u);

  // Another agent gets it, with the SLA clock still counting from arrival.
  AgentClient awake(NewChannel());
  ASSERT_TRUE(awake.Login(AgentLogin("awake", v1::CHANNEL_VOICE)));
  std::optional<v1::Offer> again = awake.WaitForOffer(kWait);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->contact_id(), "c-1");
  EXPECT_GE(again->waited_seconds(), 1.9);

  EventWatcher watcher(NewChannel(), 1);
  std::optional<v1::LifecycleEvent> timed_out =
      watcher.WaitFor(v1::EVENT_KIND_OFFER_TIMED_OUT, "c-1", kWait);
  ASSERT_TRUE(timed_out);
  EXPECT_EQ(timed_out->agent_id(), "sleepy");
}

TEST_F(EngineIntegrationTest, VanishedAgentIsLoggedOutAfterGraceAndTheContactReoffered) {
  TestConfig config;
  config.offer_timeout_seconds = 6;  // longer than the grace: the logout must do it
  config.disconnect_grace_seconds = 1;
  ASSERT_TRUE(StartDaemon(config));
  Gateway gateway(NewChannel());
  Operator op(NewChannel());
  auto vanishing = std::make_unique<AgentClient>(NewChannel());
  ASSERT_TRUE(vanishing->Login(AgentLogin("vanishing", v1::CHANNEL_VOICE)));
  ASSERT_EQ(Submitted(gateway, Contact("d-1", v1::CHANNEL_VOICE)), "c-1");
  const absl::Time submitted = absl::Now();
  ASSERT_TRUE(vanishing->WaitForOffer(kWait));
  AgentClient other(NewChannel());
  ASSERT_TRUE(other.Login(AgentLogin("other", v1::CHANNEL_VOICE)));

  const absl::Time cut = absl::Now();
  vanishing->Cancel();
  std::optional<grpc::Status> end = vanishing->WaitClosed(kWait);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->error_code(), grpc::StatusCode::CANCELLED);
  // Within the grace the agent stays logged in and holds the offer.
  ASSERT_TRUE(op.WaitForAgent(
      "vanishing", [](const v1::AgentSnapshot& a) { return !a.connected(); }, kWait));
  std::optional<v1::AgentSnapshot> a = op.Agent("vanishing");
  ASSERT_TRUE(a);
  if (absl::Now() - cut < absl::Milliseconds(800)) {
    EXPECT_NE(a->state(), v1::AGENT_STATE_OFFLINE) << "logged out before the grace ended";
  }

  std::optional<v1::Offer> again = other.WaitForOffer(kWait);
  ASSERT_TRUE(again) << "the contact was not offered to another agent";
  EXPECT_EQ(again->contact_id(), "c-1");
  EXPECT_GE(absl::Now() - cut, absl::Milliseconds(900)) << "no grace period";
  EXPECT_LT(absl::Now() - submitted, absl::Seconds(5)) << "waited for the offer timeout instead";
  EXPECT_GE(again->waited_seconds(), 0.9) << "the SLA clock restarted";
  a = op.Agent("vanishing");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->state(), v1::AGENT_STATE_OFFLINE);
  EXPECT_FALSE(a->connected());

  EventWatcher watcher(NewChannel(), 1);
  std::optional<v1::LifecycleEvent> withdrawn =
      watcher.WaitFor(v1::EVENT_KIND_OFFER_WITHDRAWN, "c-1", kWait);
  ASSERT_TRUE(withdrawn);
  EXPECT_EQ(withdrawn->agent_id(), "vanishing");
  vanishing.reset();
}

TEST_F(EngineIntegrationTest, AbandonWithdrawsTheOutstandingOffer) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  Operator op(NewChannel());
  AgentClient agent(NewChannel());
  ASSERT_TRUE(agent.Login(AgentLogin("a1", v1::CHANNEL_VOICE)));
  ASSERT_EQ(Submitted(gateway, Contact("ab-1", v1::CHANNEL_VOICE)), "c-1");
  std::optional<v1::Offer> offer = agent.WaitForOffer(kWait);
  ASSERT_TRUE(offer);

  v1::UpdateRequest hang_up;
  hang_up.set_contact_id("c-1");
  hang_up.set_abandoned(true);
  v1::UpdateReply reply;
  grpc::Status s = gateway.Update(hang_up, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.state(), v1::CONTACT_STATE_ABANDONED);
  std::optional<v1::OfferWithdrawn> withdrawn = agent.WaitForWithdrawn(kWait);
  ASSERT_TRUE(withdrawn);
  EXPECT_EQ(withdrawn->offer_id(), offer->offer_id());
  EXPECT_EQ(withdrawn->reason(), "abandoned");
  std::optional<v1::CommandResult> late = agent.Accept(offer->offer_id());
  ASSERT_TRUE(late);
  EXPECT_EQ(late->code(), static_cast<int>(grpc::StatusCode::NOT_FOUND)) << late->message();
  v1::QueueSnapshot q = op.Queue("voice_general");
  EXPECT_EQ(q.abandoned(), 1u);
  EXPECT_EQ(q.offered(), 0u);
  EXPECT_EQ(q.answered(), 0u);
  // Abandoning again: the contact is gone.
  EXPECT_EQ(gateway.Update(hang_up, &reply).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(EngineIntegrationTest, ContactNobodyQualifiesForOverflowsToAGeneralAgent) {
  ASSERT_TRUE(StartDaemon());  // voice_billing: any voice agent after 1.5 s
  Gateway gateway(NewChannel());
  Operator op(NewChannel());
  AgentClient general(NewChannel());
  ASSERT_TRUE(general.Login(AgentLogin("general", v1::CHANNEL_VOICE)));
  EventWatcher watcher(NewChannel(), 1);
  v1::SubmitReply reply;
  const absl::Time submitted = absl::Now();
  ASSERT_TRUE(gateway.Submit(Contact("bill-1", v1::CHANNEL_VOICE, "voice_billing"), &reply).ok());
  EXPECT_EQ(reply.queue(), "voice_billing");
  EXPECT_EQ(reply.state(), v1::CONTACT_STATE_QUEUED);
  EXPECT_EQ(reply.position(), 1u);
  EXPECT_TRUE(general.NoOfferWithin(absl::Milliseconds(800))) << "offered before the overflow";

  std::optional<v1::Offer> offer = general.WaitForOffer(kWait);
  ASSERT_TRUE(offer) << "never overflowed";
  EXPECT_GE(absl::Now() - submitted, absl::Milliseconds(1400));
  EXPECT_EQ(offer->contact_id(), reply.contact_id());
  EXPECT_EQ(offer->queue(), "voice_billing");
  std::optional<v1::LifecycleEvent> overflowed =
      watcher.WaitFor(v1::EVENT_KIND_OVERFLOWED, reply.contact_id(), kWait);
  ASSERT_TRUE(overflowed);
  EXPECT_EQ(overflowed->overflow_stage(), 1u);
  std::optional<v1::LifecycleEvent> offered =
      watcher.WaitFor(v1::EVENT_KIND_OFFERED, reply.contact_id(), kWait);
  ASSERT_TRUE(offered);
  EXPECT_GT(offered->sequence(), overflowed->sequence());
  EXPECT_EQ(offered->agent_id(), "general");
  EXPECT_EQ(op.Queue("voice_billing").overflows(), 1u);
}

// ---------------------------------------------------------------------------
// Config reload

TEST_F(EngineIntegrationTest, ReloadMovesContactsOfARemovedQueueToTheFallback) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  Operator op(NewChannel());
  const std::string b1 = Submitted(gateway, Contact("b-1", v1::CHANNEL_VOICE, "voice_billing"));
  const std::string b2 = Submitted(gateway, Contact("b-2", v1::CHANNEL_VOICE, "voice_billing"));
  const std::string g1 = Submitted(gateway, Contact("g-1", v1::CHANNEL_VOICE, "voice_general"));
  ASSERT_EQ(op.Queue("voice_billing").queued(), 2u);

  // A bad config is refused and changes nothing.
  const std::map<std::string, std::string> before = QueueFigures(op);
  for (const std::string& bad :
       {std::string("queues: [{name: q, channel: voice}]\nqueus_typo: 1\n"),
        std::string("queues: [{name: q, channel: voice\n"), std::string("queues: [{name: q}]\n")}) {
    v1::ReloadConfigReply reply;
    grpc::Status s = op.ReloadConfig(bad, &reply);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << bad << " -> " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("config")) << bad;
  }
  EXPECT_EQ(QueueFigures(op), before);
  EXPECT_EQ(op.Queue("voice_billing").queued(), 2u);

  TestConfig without_billing;
  without_billing.include_voice_billing = false;
  v1::ReloadConfigReply reply;
  grpc::Status s = op.ReloadConfig(TestConfigYaml(without_billing), &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.queues(), 6u);
  EXPECT_EQ(reply.fallback_queue(), "voice_general");
  EXPECT_THAT(reply.moved_contacts(), UnorderedElementsAre(b1, b2));

  v1::ListQueuesReply queues;
  ASSERT_TRUE(op.ListQueues(&queues).ok());
  for (const v1::QueueSnapshot& q : queues.queues()) EXPECT_NE(q.name(), "voice_billing");
  EXPECT_EQ(op.Queue("voice_general").queued(), 3u);
  v1::ExplainReply x;
  ASSERT_TRUE(op.Explain(b1, &x).ok());
  EXPECT_EQ(x.queue(), "voice_general");
  ASSERT_TRUE(op.Explain(g1, &x).ok());
  EXPECT_EQ(x.queue(), "voice_general");
  // The removed queue cannot be named any more.
  v1::SubmitReply late;
  EXPECT_EQ(gateway.Submit(Contact("b-3", v1::CHANNEL_VOICE, "voice_billing"), &late).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------
// Gateway input

TEST_F(EngineIntegrationTest, SubmitStreamAcksEveryPipelinedSubmit) {
  ASSERT_TRUE(StartDaemon());
  Operator op(NewChannel());
  Gateway gateway(NewChannel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = gateway.stub().SubmitStream(&ctx);
  constexpr int kGood = 200;
  constexpr uint64_t kBadCorrelation = 101;
  // Write everything before reading anything: the replies must be pipelined.
  std::thread writer([&] {
    uint64_t correlation = 0;
    for (int i = 0; i < kGood; ++i) {
      if (++correlation == kBadCorrelation) {
        v1::SubmitStreamRequest bad;
        bad.set_correlation_id(correlation++);
        *bad.mutable_contact() = Contact("stream-bad", v1::CHANNEL_VOICE);
        bad.mutable_contact()->clear_channel();
        if (!stream->Write(bad)) return;
      }
      v1::SubmitStreamRequest req;
      req.set_correlation_id(correlation);
      *req.mutable_contact() = Contact(absl::StrCat("stream-", i), v1::CHANNEL_VOICE);
      if (!stream->Write(req)) return;
    }
    stream->WritesDone();
  });
  std::map<uint64_t, v1::SubmitStreamReply> replies;
  v1::SubmitStreamReply reply;
  while (stream->Read(&reply)) {
    EXPECT_TRUE(replies.emplace(reply.correlation_id(), reply).second)
        << "two replies for " << reply.correlation_id();
  }
  writer.join();
  grpc::Status s = stream->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();

  ASSERT_EQ(replies.size(), static_cast<size_t>(kGood + 1));
  std::set<std::string> ids;
  for (uint64_t c = 1; c <= kGood + 1; ++c) {
    auto it = replies.find(c);
    ASSERT_NE(it, replies.end()) << "no reply for correlation id " << c;
    if (c == kBadCorrelation) {
      EXPECT_EQ(it->second.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
      EXPECT_THAT(it->second.error_message(), HasSubstr("contact.channel"));
      EXPECT_FALSE(it->second.has_reply());
      continue;
    }
    EXPECT_EQ(it->second.code(), 0) << c << ": " << it->second.error_message();
    EXPECT_EQ(it->second.reply().queue(), "voice_general");
    ids.insert(it->second.reply().contact_id());
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kGood)) << "contact ids must be distinct";
  EXPECT_EQ(op.Queue("voice_general").queued(), static_cast<uint32_t>(kGood));
}

// The stream's answer keeps only the key and digest of its request (the
// contact moves into the journal command): a retry still gets the first
// contact, and the key reused for another request still gets ALREADY_EXISTS.
TEST_F(EngineIntegrationTest, SubmitStreamAnswersRetriedAndReusedKeys) {
  ASSERT_TRUE(StartDaemon());
  Operator op(NewChannel());
  Gateway gateway(NewChannel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = gateway.stub().SubmitStream(&ctx);
  auto submit = [&](uint64_t correlation, const v1::ContactSpec& contact) {
    v1::SubmitStreamRequest req;
    req.set_correlation_id(correlation);
    *req.mutable_contact() = contact;
    v1::SubmitStreamReply reply;
    EXPECT_TRUE(stream->Write(req));
    EXPECT_TRUE(stream->Read(&reply));
    EXPECT_EQ(reply.correlation_id(), correlation);
    return reply;
  };
  const v1::ContactSpec contact = Contact("stream-key", v1::CHANNEL_VOICE);
  v1::SubmitStreamReply first = submit(1, contact);
  ASSERT_EQ(first.code(), 0) << first.error_message();
  EXPECT_FALSE(first.reply().duplicate());
  EXPECT_EQ(first.reply().position(), 1u);
  v1::SubmitStreamReply retry = submit(2, contact);
  ASSERT_EQ(retry.code(), 0) << retry.error_message();
  EXPECT_TRUE(retry.reply().duplicate());
  EXPECT_EQ(retry.reply().contact_id(), first.reply().contact_id());
  EXPECT_EQ(retry.reply().queue(), "voice_general");
  EXPECT_EQ(retry.reply().state(), v1::CONTACT_STATE_QUEUED);
  EXPECT_EQ(retry.reply().position(), 1u);
  v1::ContactSpec other = contact;
  other.set_topic("another request");
  v1::SubmitStreamReply reused = submit(3, other);
  EXPECT_EQ(reused.code(), static_cast<int>(grpc::StatusCode::ALREADY_EXISTS));
  EXPECT_THAT(reused.error_message(), HasSubstr("contact.idempotency_key: 'stream-key'"));
  EXPECT_THAT(reused.error_message(), HasSubstr(first.reply().contact_id()));
  EXPECT_FALSE(reused.has_reply());
  stream->WritesDone();
  grpc::Status s = stream->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(op.Queue("voice_general").queued(), 1u);
}

TEST_F(EngineIntegrationTest, DuplicateIdempotencyKeyReturnsTheFirstContact) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  Operator op(NewChannel());
  v1::SubmitReply first, second;
  ASSERT_TRUE(gateway.Submit(Contact("same-key", v1::CHANNEL_VOICE), &first).ok());
  EXPECT_FALSE(first.duplicate());
  grpc::Status s = gateway.Submit(Contact("same-key", v1::CHANNEL_VOICE), &second);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(second.duplicate());
  EXPECT_EQ(second.contact_id(), first.contact_id());
  EXPECT_EQ(second.queue(), first.queue());
  EXPECT_EQ(second.state(), v1::CONTACT_STATE_QUEUED);
  EXPECT_EQ(op.Queue("voice_general").queued(), 1u);
  EXPECT_EQ(TotalQueued(op), 1u);
}

TEST_F(EngineIntegrationTest, BadSubmitIsRefusedWithTheFieldNamedAndNothingQueued) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  Operator op(NewChannel());
  const std::map<std::string, std::string> before = QueueFigures(op);

  struct Case {
    std::string name;
    std::function<void(v1::ContactSpec&)> spoil;
    grpc::StatusCode code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"missing idempotency key", [](v1::ContactSpec& c) { c.clear_idempotency_key(); },
       grpc::StatusCode::INVALID_ARGUMENT, "contact.idempotency_key"},
      {"missing channel", [](v1::ContactSpec& c) { c.clear_channel(); },
       grpc::StatusCode::INVALID_ARGUMENT, "contact.channel"},
      {"unknown queue", [](v1::ContactSpec& c) { c.set_queue("no_such_queue"); },
       grpc::StatusCode::NOT_FOUND, "contact.queue"},
      {"queue of another channel", [](v1::ContactSpec& c) { c.set_queue("chat_general"); },
       grpc::StatusCode::INVALID_ARGUMENT, "contact.queue"},
      {"sentiment 2.0", [](v1::ContactSpec& c) { c.mutable_signals()->set_sentiment(2.0); },
       grpc::StatusCode::INVALID_ARGUMENT, "contact.signals.sentiment"},
      {"escalation level 7",
       [](v1::ContactSpec& c) { c.mutable_signals()->set_escalation_level(7); },
       grpc::StatusCode::INVALID_ARGUMENT, "contact.signals.escalation_level"},
      {"33 keywords",
       [](v1::ContactSpec& c) {
         for (int i = 0; i < 33; ++i) c.mutable_signals()->add_keywords(absl::StrCat("k", i));
       },
       grpc::StatusCode::INVALID_ARGUMENT, "contact.signals.keywords"},
      {"unknown tier",
       [](v1::ContactSpec& c) { c.mutable_customer()->set_tier(static_cast<v1::Tier>(42)); },
       grpc::StatusCode::INVALID_ARGUMENT, "contact.customer.tier"},
      {"2 KiB attribute value",
       [](v1::ContactSpec& c) { (*c.mutable_attributes())["note"] = std::string(2048, 'x'); },
       grpc::StatusCode::INVALID_ARGUMENT, "contact.attributes"},
  };
  for (const Case& c : cases) {
    v1::ContactSpec spec = Contact(absl::StrCat("bad-", c.name), v1::CHANNEL_VOICE);
    c.spoil(spec);
    v1::SubmitReply reply;
    grpc::Status s = gateway.Submit(spec, &reply);
    EXPECT_EQ(s.error_code(), c.code) << c.name << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(c.field)) << c.name;
    EXPECT_TRUE(reply.contact_id().empty()) << c.name;
  }

  // Larger than the 64 KiB receive limit: gRPC itself refuses it.
  v1::ContactSpec huge = Contact("bad-huge", v1::CHANNEL_VOICE);
  (*huge.mutable_attributes())["blob"] = std::string(70 * 1024, 'x');
  v1::SubmitReply reply;
  grpc::Status s = gateway.Submit(huge, &reply);
  EXPECT_TRUE(s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
              s.error_code() == grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_code() << ": " << s.error_message();
  std::cerr << "[ info ] oversize submit: code " << s.error_code() << " (" << s.error_message()
            << ")\n";

  EXPECT_EQ(QueueFigures(op), before);
  EXPECT_EQ(TotalQueued(op), 0u);
  // The daemon still serves a good submit, and it is the first contact.
  EXPECT_EQ(Submitted(gateway, Contact("good", v1::CHANNEL_VOICE)), "c-1");
}

TEST_F(EngineIntegrationTest, UpdateAndCancelValidateTheirInput) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  v1::UpdateRequest update;
  update.set_contact_id("not-an-id");
  v1::UpdateReply update_reply;
  grpc::Status s = gateway.Update(update, &update_reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("contact_id"));
  update.set_contact_id("c-77");
  EXPECT_EQ(gateway.Update(update, &update_reply).error_code(), grpc::StatusCode::NOT_FOUND);

  const std::string id = Submitted(gateway, Contact("u-1", v1::CHANNEL_VOICE));
  update.set_contact_id(id);
  update.mutable_signals()->set_sentiment(-3);
  s = gateway.Update(update, &update_reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("signals.sentiment"));
  update.mutable_signals()->set_sentiment(-0.2);
  update.set_tier(v1::TIER_GOLD);
  s = gateway.Update(update, &update_reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(update_reply.state(), v1::CONTACT_STATE_QUEUED);
  EXPECT_EQ(update_reply.position(), 1u);

  v1::CancelReply cancel;
  s = gateway.Cancel(id, &cancel);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(cancel.state(), v1::CONTACT_STATE_CANCELLED);
  EXPECT_EQ(gateway.Cancel(id, &cancel).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(gateway.Cancel("", &cancel).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// ---------------------------------------------------------------------------
// Agent desk protocol

TEST_F(EngineIntegrationTest, FirstAgentMessageMustBeALogin) {
  ASSERT_TRUE(StartDaemon());
  AgentClient agent(NewChannel());
  v1::AgentMessage not_login;
  not_login.mutable_set_state()->set_state(v1::AGENT_STATE_AVAILABLE);
  agent.Send(not_login);
  std::optional<grpc::Status> end = agent.WaitClosed(kWait);
  ASSERT_TRUE(end) << "the stream stayed open";
  EXPECT_EQ(end->error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(end->error_message(), HasSubstr("login"));

  AgentClient nameless(NewChannel());
  v1::Login login = AgentLogin("", v1::CHANNEL_VOICE);
  EXPECT_FALSE(nameless.Login(login, absl::Seconds(2)));
  end = nameless.WaitClosed(kWait);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(end->error_message(), HasSubstr("login.agent_id"));
}

TEST_F(EngineIntegrationTest, AgentCommandsAreCheckedAgainstTheOffer) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  AgentClient owner(NewChannel());
  ASSERT_TRUE(owner.Login(AgentLogin("owner", v1::CHANNEL_VOICE)));
  ASSERT_EQ(Submitted(gateway, Contact("p-1", v1::CHANNEL_VOICE)), "c-1");
  std::optional<v1::Offer> offer = owner.WaitForOffer(kWait);
  ASSERT_TRUE(offer);
  AgentClient thief(NewChannel());
  ASSERT_TRUE(thief.Login(AgentLogin("thief", v1::CHANNEL_VOICE)));

  std::optional<v1::CommandResult> r = thief.Accept(offer->offer_id());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code(), static_cast<int>(grpc::StatusCode::PERMISSION_DENIED)) << r->message();
  EXPECT_THAT(r->message(), HasSubstr("offer_id"));
  r = thief.Accept("o-not-a-number");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(r->message(), HasSubstr("accept.offer_id"));
  r = thief.Accept("");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  r = thief.Complete("c-1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code(), static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION)) << r->message();
  v1::AgentMessage relogin;
  *relogin.mutable_login() = AgentLogin("thief", v1::CHANNEL_VOICE);
  r = thief.Command(relogin);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code(), static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  v1::AgentMessage empty;
  r = thief.Command(empty);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  v1::AgentMessage beat;
  beat.mutable_heartbeat()->set_sequence(7);
  ASSERT_TRUE(thief.Send(beat));
  std::optional<v1::ServerMessage> echo = thief.WaitFor(v1::ServerMessage::kHeartbeat, kWait);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->heartbeat().sequence(), 7u);

  // The rightful owner still can.
  r = owner.Accept(offer->offer_id());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code(), 0) << r->message();
}

// A desktop that stops reading its stream must not delay anyone else.
TEST_F(EngineIntegrationTest, SlowAgentDoesNotDelayOffersToOthers) {
  TestConfig config;
  config.offer_timeout_seconds = 6;
  ASSERT_TRUE(StartDaemon(config));
  Gateway gateway(NewChannel());
  Operator op(NewChannel());

  // The slow desktop: its own connection with a fixed 64 KiB window, so the
  // server's writes to it stall after the first large offer; it never reads.
  std::shared_ptr<grpc::Channel> slow_channel = NewChannel(/*bdp_probe=*/false);
  std::unique_ptr<v1::AgentDesk::Stub> slow_stub = v1::AgentDesk::NewStub(slow_channel);
  grpc::ClientContext slow_ctx;
  auto slow = slow_stub->Connect(&slow_ctx);
  v1::AgentMessage slow_login;
  // The best qualified agent with the largest capacity: it gets the first 50.
  *slow_login.mutable_login() = AgentLogin("slow", v1::CHANNEL_EMAIL, 10, 50);
  ASSERT_TRUE(slow->Write(slow_login));
  ASSERT_TRUE(op.WaitForAgent(
      "slow", [](const v1::AgentSnapshot& a) { return a.connected(); }, kWait));

  // Two desktops that answer at once.
  constexpr int kFast = 2;
  std::vector<std::unique_ptr<AgentClient>> fast;
  struct AssignedAt {
    absl::Mutex mu;
    std::map<std::string, absl::Time> at ABSL_GUARDED_BY(mu);
  } assigned;
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  // Runs on every exit from the test body, including failed assertions.
  absl::Cleanup cleanup = [&] {
    stop = true;
    for (std::thread& t : workers) t.join();
    slow_ctx.TryCancel();
    v1::ServerMessage drop;
    while (slow->Read(&drop)) {
    }
    grpc::Status end = slow->Finish();
    std::cerr << "[ info ] slow desktop stream ended: code " << end.error_code() << " ("
              << end.error_message() << ")\n";
  };
  for (int i = 0; i < kFast; ++i) {
    fast.push_back(std::make_unique<AgentClient>(NewChannel()));
    ASSERT_TRUE(fast.back()->Login(AgentLogin(absl::StrCat("fast-", i), v1::CHANNEL_EMAIL, 2, 5)));
  }
  for (int i = 0; i < kFast; ++i) {
    workers.emplace_back([&, agent = fast[i].get()] {
      while (!stop.load()) {
        std::optional<v1::Offer> offer = agent->WaitForOffer(absl::Milliseconds(100));
        if (!offer) continue;
        std::optional<v1::CommandResult> r = agent->Accept(offer->offer_id());
        if (!r || r->code() != 0) continue;  // e.g. withdrawn meanwhile
        {
          absl::MutexLock lock(&assigned.mu);
          assigned.at[offer->contact_id()] = absl::Now();
        }
        agent->Complete(offer->contact_id());
        agent->WrapUpDone(offer->contact_id());
      }
    });
  }

  // 80 emails of ~40 KB each: 50 go to the slow desktop (2 MB it never reads).
  constexpr int kContacts = 80;
  std::vector<std::string> ids;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kContacts; ++i) {
    v1::ContactSpec spec = Contact(absl::StrCat("mail-", i), v1::CHANNEL_EMAIL);
    for (int k = 0; k < 40; ++k) {
      (*spec.mutable_attributes())[absl::StrCat("part", k)] = std::string(1000, 'a' + k % 26);
    }
    ids.push_back(Submitted(gateway, spec));
  }
  const absl::Time submitted = absl::Now();

  // The 30 the slow desktop had no room for are all answered promptly, long
  // before the slow desktop's offers time out (6 s).
  auto assigned_count = [&] {
    absl::MutexLock lock(&assigned.mu);
    return assigned.at.size();
  };
  const absl::Time first_wave_deadline = submitted + absl::Seconds(4);
  while (assigned_count() < kContacts - 50 && absl::Now() < first_wave_deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_GE(assigned_count(), static_cast<size_t>(kContacts - 50))
      << "the fast agents were held up; submits took " << (submitted - start);
  std::optional<v1::AgentSnapshot> s = op.Agent("slow");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->contact_ids_size(), 50) << "the slow desktop should hold 50 offers";

  // Its offers time out; it misses three in a row and is set not-ready; its
  // contacts go to the fast agents.
  const absl::Time all_deadline = absl::Now() + absl::Seconds(15);
  while (assigned_count() < kContacts && absl::Now() < all_deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(assigned_count(), static_cast<size_t>(kContacts));
  s = op.Agent("slow");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state(), v1::AGENT_STATE_NOT_READY);
  EXPECT_EQ(s->reason(), "missed_offers");
  EXPECT_EQ(op.Queue("email_general").answered(), static_cast<uint64_t>(kContacts));

  // Its outbound queue is bounded: flooding it with heartbeats it never reads
  // gets the stream finished by the server, not buffered without limit.
  v1::AgentMessage beat;
  for (int i = 0; i < 600; ++i) {
    beat.mutable_heartbeat()->set_sequence(i);
    if (!slow->Write(beat)) break;
  }
  EXPECT_TRUE(op.WaitForAgent(
      "slow", [](const v1::AgentSnapshot& a) { return !a.connected(); }, kWait))
      << "the server kept a stream that cannot keep up";
}

// ---------------------------------------------------------------------------
// Operator views and shutdown

TEST_F(EngineIntegrationTest, ExplainShowsTheScoreAndWhyEachAgentWasNotChosen) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  Operator op(NewChannel());
  AgentClient voice(NewChannel());
  ASSERT_TRUE(voice.Login(AgentLogin("voice-agent", v1::CHANNEL_VOICE)));
  AgentClient chat(NewChannel());
  ASSERT_TRUE(chat.Login(AgentLogin("chat-agent", v1::CHANNEL_CHAT)));

  v1::ContactSpec spec = Contact("x-1", v1::CHANNEL_VOICE, "voice_billing");
  spec.mutable_customer()->set_tier(v1::TIER_GOLD);
  spec.mutable_signals()->set_complaint(true);
  spec.mutable_signals()->set_escalation_level(1);
  spec.mutable_signals()->add_keywords("cancel");
  const std::string id = Submitted(gateway, spec);
  v1::ExplainReply x;
  grpc::Status s = op.Explain(id, &x);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(x.contact_id(), id);
  EXPECT_EQ(x.queue(), "voice_billing");
  EXPECT_EQ(x.state(), v1::CONTACT_STATE_QUEUED);
  EXPECT_EQ(x.position(), 1u);
  EXPECT_EQ(x.overflow_stage(), 0u);
  EXPECT_DOUBLE_EQ(x.urgency(), 10 + 10 + 5 + 5);  // gold, complaint, escalation 1, "cancel"
  double all = 0, without_aging = 0;
  std::set<std::string> names;
  for (const v1::ScoreComponent& c : x.components()) {
    all += c.points();
    if (c.name() != "aging") without_aging += c.points();
    names.insert(c.name());
  }
  EXPECT_THAT(names, UnorderedElementsAre("tier", "complaint", "escalation", "keywords", "aging"));
  EXPECT_NEAR(all, x.total_score(), 1e-6);
  EXPECT_NEAR(without_aging, x.urgency(), 1e-6);
  EXPECT_THAT(x.required_skills(), ::testing::Contains("billing>=4"));
  EXPECT_FALSE(x.summary().empty());
  std::map<std::string, v1::AgentConsidered> agents;
  for (const v1::AgentConsidered& a : x.agents()) agents[a.agent_id()] = a;
  ASSERT_EQ(agents.size(), 2u);
  EXPECT_FALSE(agents["voice-agent"].eligible());
  EXPECT_THAT(agents["voice-agent"].why_not(), HasSubstr("overflow stage 1"));
  EXPECT_FALSE(agents["chat-agent"].eligible());
  EXPECT_THAT(agents["chat-agent"].why_not(), HasSubstr("does not serve voice"));

  EXPECT_EQ(op.Explain("c-999", &x).error_code(), grpc::StatusCode::NOT_FOUND);
  s = op.Explain("bogus", &x);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("contact_id"));
}

// grpc/health/v1/health.proto is not shipped by Debian's libgrpc++-dev, so
// the check goes through the generic stub. HealthCheckRequest{service=""} is
// the empty message, and HealthCheckResponse{status=1} has the wire format of
// google.protobuf.Int32Value{value=1}.
TEST_F(EngineIntegrationTest, HealthCheckAnswersServing) {
  ASSERT_TRUE(StartDaemon());
  grpc::TemplatedGenericStub<google::protobuf::Empty, google::protobuf::Int32Value> stub(
      NewChannel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  google::protobuf::Empty request;
  google::protobuf::Int32Value response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  std::future<grpc::Status> result = done.get_future();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  grpc::Status s = result.get();
  ASSERT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
  EXPECT_EQ(response.value(), 1) << "1 is SERVING";
}

TEST_F(EngineIntegrationTest, SigtermEndsAgentStreamsWithUnavailableAndExitsZero) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  AgentClient agent(NewChannel());
  ASSERT_TRUE(agent.Login(AgentLogin("a1", v1::CHANNEL_VOICE)));
  ASSERT_EQ(Submitted(gateway, Contact("drain-1", v1::CHANNEL_VOICE)), "c-1");
  ASSERT_TRUE(agent.WaitForOffer(kWait));
  EventWatcher watcher(NewChannel(), 1);
  ASSERT_TRUE(watcher.WaitFor(v1::EVENT_KIND_OFFERED, "c-1", kWait));

  // The daemon's gRPC Shutdown waits up to 5 s for clients to close their
  // connections after GOAWAY; these clients keep theirs open.
  const absl::Time sigterm = absl::Now();
  Daemon::ExitStatus exit = StopDaemon();
  EXPECT_LT(absl::Now() - sigterm, absl::Seconds(8));
  EXPECT_FALSE(exit.timed_out);
  EXPECT_TRUE(exit.exited) << "signal " << exit.signal;
  EXPECT_EQ(exit.exit_code, 0);
  std::optional<grpc::Status> end = agent.WaitClosed(kWait);
  ASSERT_TRUE(end) << "the agent stream outlived the daemon";
  EXPECT_EQ(end->error_code(), grpc::StatusCode::UNAVAILABLE) << end->error_message();
  EXPECT_THAT(end->error_message(), HasSubstr("shutting down"));
  // The watcher's feed ended too.
  EXPECT_FALSE(watcher.WaitFor(v1::EVENT_KIND_OFFERED, "c-1", absl::Milliseconds(100)));
}

}  // namespace
}  // namespace ccr::testing
