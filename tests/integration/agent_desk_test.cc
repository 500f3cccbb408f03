// The agent desktop's contract end to end (README "Agent desktop protocol"):
// the real ccrouterd, real AgentDesk.Connect streams, and restarts by SIGTERM
// (a drain) and SIGKILL (a crash) on the same data directory. What the
// desktop shows must never be wrong for more than a heartbeat.
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_fixture.h"

namespace ccr::testing {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(5);

class AgentDeskTest : public DaemonFixture {
 protected:
  // Logs in and returns the Resync, which must be the first message after
  // LoginOk.
  std::optional<v1::Resync> LoginAndResync(AgentClient& agent, const v1::Login& login) {
    if (!agent.Login(login)) {
      ADD_FAILURE() << login.agent_id() << ": no login_ok";
      return std::nullopt;
    }
    std::optional<v1::ServerMessage> first = agent.Next(kWait);
    if (!first || !first->has_resync()) {
      ADD_FAILURE() << login.agent_id() << ": the first message after login_ok is not a resync: "
                    << (first ? first->ShortDebugString() : "nothing");
      return std::nullopt;
    }
    return first->resync();
  }
  std::string Submitted(const v1::ContactSpec& spec) {
    Gateway gateway(NewChannel());
    v1::SubmitReply reply;
    grpc::Status s = gateway.Submit(spec, &reply);
    EXPECT_TRUE(s.ok()) << spec.idempotency_key() << ": " << s.error_message();
    return reply.contact_id();
  }
  // Offered and accepted: the contact is connected with `agent`.
  std::string Connect(AgentClient& agent, const std::string& key) {
    const std::string contact = Submitted(Contact(key, v1::CHANNEL_VOICE));
    std::optional<v1::Offer> offer = agent.WaitForOffer(kWait);
    EXPECT_TRUE(offer) << key << " was not offered";
    if (!offer) return contact;
    EXPECT_EQ(offer->contact_id(), contact);
    std::optional<v1::CommandResult> r = agent.Accept(offer->offer_id());
    EXPECT_TRUE(r && r->code() == 0) << (r ? r->message() : "no answer");
    return contact;
  }
  // Whether the agent is logged out (offline, or no longer listed) within `timeout`.
  bool WaitLoggedOut(const std::string& agent_id, absl::Duration timeout) {
    Operator op(NewChannel());
    const absl::Time deadline = absl::Now() + timeout;
    do {
      v1::ListAgentsReply reply;
      if (op.ListAgents(&reply).ok()) {
        bool logged_in = false;
        for (const v1::AgentSnapshot& a : reply.agents()) {
          logged_in |= a.agent_id() == agent_id && a.state() != v1::AGENT_STATE_OFFLINE;
        }
        if (!logged_in) return true;
      }
      absl::SleepFor(absl::Milliseconds(50));
    } while (absl::Now() < deadline);
    return false;
  }
  grpc::Status SetAgentState(const std::string& agent_id, v1::AgentState state,
                             const std::string& reason) {
    std::unique_ptr<v1::Admin::Stub> admin = v1::Admin::NewStub(NewChannel());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::SetAgentStateRequest request;
    request.set_agent_id(agent_id);
    request.set_state(state);
    request.set_reason(reason);
    v1::SetAgentStateReply reply;
    return admin->SetAgentState(&ctx, request, &reply);
  }
};

// A planned restart (SIGTERM drains, the new process starts on the same data
// directory) keeps the agent logged in with its connected customer; the
// desktop reconnects and its Resync shows the call.
TEST_F(AgentDeskTest, DrainKeepsTheAgentsSessionAndConnectedContact) {
  TestConfig config;
  config.disconnect_grace_seconds = 30;
  config.offer_timeout_seconds = 30;
  ASSERT_TRUE(StartDaemon(config));
  std::string connected, offered, open_offer;
  {
    AgentClient ann(NewChannel());
    ASSERT_TRUE(LoginAndResync(ann, AgentLogin("ann", v1::CHANNEL_VOICE)));
    connected = Connect(ann, "drain-1");
    // Bob has an offer open at the drain: withdrawn by the restart, as after
    // a crash, and reported to his desktop.
    AgentClient bob(NewChannel());
    ASSERT_TRUE(LoginAndResync(bob, AgentLogin("bob", v1::CHANNEL_VOICE)));
    offered = Submitted(Contact("drain-2", v1::CHANNEL_VOICE));
    std::optional<v1::Offer> offer = bob.WaitForOffer(kWait);
    ASSERT_TRUE(offer);
    open_offer = offer->offer_id();
    ASSERT_TRUE(DrainAndRestartDaemon());
    std::optional<grpc::Status> end = ann.WaitClosed(kWait);
    ASSERT_TRUE(end) << "the desktop's stream outlived the drained daemon";
    EXPECT_EQ(end->error_code(), grpc::StatusCode::UNAVAILABLE) << end->error_message();
    EXPECT_THAT(end->error_message(), HasSubstr("shutting down"));
  }
  // Still the agent's, and the agent still logged in, before it reconnects.
  v1::ExplainReply before = Explain(connected);
  EXPECT_EQ(before.state(), v1::CONTACT_STATE_CONNECTED) << "a drain gave the customer away";
  EXPECT_EQ(before.agent_id(), "ann");
  Operator op(NewChannel());
  std::optional<v1::AgentSnapshot> snapshot = op.Agent("ann");
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->state(), v1::AGENT_STATE_BUSY);

  AgentClient ann(NewChannel());
  std::optional<v1::Resync> resync = LoginAndResync(ann, AgentLogin("ann", v1::CHANNEL_VOICE));
  ASSERT_TRUE(resync);
  EXPECT_EQ(resync->state(), v1::AGENT_STATE_BUSY);
  ASSERT_EQ(resync->contacts_size(), 1) << resync->ShortDebugString();
  EXPECT_EQ(resync->contacts(0).contact_id(), connected);
  EXPECT_EQ(resync->contacts(0).state(), v1::CONTACT_STATE_CONNECTED);
  EXPECT_EQ(resync->offers_size(), 0);
  std::optional<v1::CommandResult> r = ann.Complete(connected);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code(), 0) << r->message();

  AgentClient bob(NewChannel());
  std::optional<v1::Resync> bob_resync = LoginAndResync(bob, AgentLogin("bob", v1::CHANNEL_VOICE));
  ASSERT_TRUE(bob_resync);
  ASSERT_EQ(bob_resync->withdrawn_size(), 1) << bob_resync->ShortDebugString();
  EXPECT_EQ(bob_resync->withdrawn(0).offer_id(), open_offer);
  EXPECT_EQ(bob_resync->withdrawn(0).contact_id(), offered);
  EXPECT_EQ(bob_resync->withdrawn(0).reason(), "engine restarted");
}

// After a drain, an agent that does not come back is logged out when the
// disconnect grace runs out, and only then.
TEST_F(AgentDeskTest, AfterADrainOnlyTheGraceLogsAnAgentOut) {
  TestConfig config;
  config.disconnect_grace_seconds = 3;
  config.offer_timeout_seconds = 30;
  ASSERT_TRUE(StartDaemon(config));
  std::string connected;
  {
    AgentClient bob(NewChannel());
    ASSERT_TRUE(LoginAndResync(bob, AgentLogin("bob", v1::CHANNEL_VOICE)));
    connected = Connect(bob, "grace-1");
    ASSERT_TRUE(DrainAndRestartDaemon());
    bob.Cancel();
  }
  // Within the grace (it started with the new process): still on the call.
  EXPECT_EQ(Explain(connected).state(), v1::CONTACT_STATE_CONNECTED);
  EXPECT_TRUE(WaitLoggedOut("bob", absl::Seconds(10)))
      << "the grace after the restart did not log bob out";
  EXPECT_EQ(Explain(connected).state(), v1::CONTACT_STATE_QUEUED);
}

// A crash mid-call: the desktop that had an offer open learns, in the
// Resync that comes before anything else, that the offer was withdrawn; the
// one on a call still has it.
TEST_F(AgentDeskTest, CrashMidCallResyncWithdrawsTheOldOfferAndKeepsTheCall) {
  TestConfig config;
  config.disconnect_grace_seconds = 30;
  config.offer_timeout_seconds = 30;
  ASSERT_TRUE(StartDaemon(config));
  std::string call, offered, old_offer;
  {
    AgentClient ann(NewChannel());
    ASSERT_TRUE(LoginAndResync(ann, AgentLogin("ann", v1::CHANNEL_VOICE)));
    call = Connect(ann, "crash-1");
    AgentClient bob(NewChannel());
    ASSERT_TRUE(LoginAndResync(bob, AgentLogin("bob", v1::CHANNEL_VOICE)));
    offered = Submitted(Contact("crash-2", v1::CHANNEL_VOICE));
    std::optional<v1::Offer> offer = bob.WaitForOffer(kWait);
    ASSERT_TRUE(offer);
    ASSERT_EQ(offer->contact_id(), offered);
    old_offer = offer->offer_id();
    ann.Cancel();
    bob.Cancel();
    ASSERT_TRUE(CrashAndRestartDaemon());
  }
  AgentClient bob(NewChannel());
  std::optional<v1::Resync> resync = LoginAndResync(bob, AgentLogin("bob", v1::CHANNEL_VOICE));
  ASSERT_TRUE(resync);
  ASSERT_EQ(resync->withdrawn_size(), 1) << resync->ShortDebugString();
  EXPECT_EQ(resync->withdrawn(0).offer_id(), old_offer);
  EXPECT_EQ(resync->withdrawn(0).contact_id(), offered);
  EXPECT_EQ(resync->withdrawn(0).reason(), "engine restarted");
  // Bob is the only free agent: the contact is offered to him afresh, in the
  // Resync or after it, under a new offer id.
  std::string fresh;
  if (resync->offers_size() > 0) {
    fresh = resync->offers(0).offer_id();
    EXPECT_EQ(resync->offers(0).contact_id(), offered);
  } else {
    std::optional<v1::Offer> offer = bob.WaitForOffer(kWait);
    ASSERT_TRUE(offer);
    EXPECT_EQ(offer->contact_id(), offered);
    fresh = offer->offer_id();
  }
  EXPECT_NE(fresh, old_offer);
  std::optional<v1::CommandResult> r = bob.Accept(fresh);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code(), 0) << r->message();

  AgentClient ann(NewChannel());
  std::optional<v1::Resync> ann_resync = LoginAndResync(ann, AgentLogin("ann", v1::CHANNEL_VOICE));
  ASSERT_TRUE(ann_resync);
  EXPECT_EQ(ann_resync->state(), v1::AGENT_STATE_BUSY);
  EXPECT_EQ(ann_resync->withdrawn_size(), 0);
  ASSERT_EQ(ann_resync->contacts_size(), 1) << ann_resync->ShortDebugString();
  EXPECT_EQ(ann_resync->contacts(0).contact_id(), call);
  EXPECT_EQ(ann_resync->contacts(0).state(), v1::CONTACT_STATE_CONNECTED);
  EXPECT_EQ(ann_resync->contacts(0).queue(), "voice_general");
}

// An offer that times out while the desktop is away (within its grace) is
// reported in the Resync when it comes back.
TEST_F(AgentDeskTest, ResyncReportsAnOfferThatTimedOutWhileAway) {
  TestConfig config;
  config.disconnect_grace_seconds = 30;
  config.offer_timeout_seconds = 0.5;
  ASSERT_TRUE(StartDaemon(config));
  std::string contact, offer_id;
  {
    AgentClient cy(NewChannel());
    ASSERT_TRUE(LoginAndResync(cy, AgentLogin("cy", v1::CHANNEL_VOICE)));
    contact = Submitted(Contact("away-1", v1::CHANNEL_VOICE));
    std::optional<v1::Offer> offer = cy.WaitForOffer(kWait);
    ASSERT_TRUE(offer);
    offer_id = offer->offer_id();
    cy.Cancel();
  }
  // The offer's deadline passes while no desktop is connected.
  absl::SleepFor(absl::Seconds(1.5));
  AgentClient cy(NewChannel());
  std::optional<v1::Resync> resync = LoginAndResync(cy, AgentLogin("cy", v1::CHANNEL_VOICE));
  ASSERT_TRUE(resync);
  ASSERT_EQ(resync->withdrawn_size(), 1) << resync->ShortDebugString();
  EXPECT_EQ(resync->withdrawn(0).offer_id(), offer_id);
  EXPECT_EQ(resync->withdrawn(0).reason(), "timeout");
  EXPECT_EQ(resync->offers_size(), 0) << "the re-offer cooldown keeps it from cy";
}

// StateChanged on every change of the agent's state, with what caused it.
TEST_F(AgentDeskTest, StateChangedOnEveryChangeWithTheReason) {
  TestConfig config;
  config.wrap_up_seconds = 0.5;
  config.offer_timeout_seconds = 30;
  ASSERT_TRUE(StartDaemon(config));
  AgentClient ann(NewChannel());
  std::optional<v1::Resync> resync = LoginAndResync(ann, AgentLogin("ann", v1::CHANNEL_VOICE));
  ASSERT_TRUE(resync);
  EXPECT_EQ(resync->state(), v1::AGENT_STATE_AVAILABLE);
  auto next_state = [&ann]() -> v1::StateChanged {
    std::optional<v1::ServerMessage> m = ann.WaitFor(v1::ServerMessage::kStateChanged, kWait);
    if (!m) {
      ADD_FAILURE() << "no state_changed";
      return {};
    }
    return m->state_changed();
  };

  // Offered: the one voice slot is taken, the agent is busy.
  const std::string first = Submitted(Contact("state-1", v1::CHANNEL_VOICE));
  std::optional<v1::Offer> offer = ann.WaitForOffer(kWait);
  ASSERT_TRUE(offer);
  v1::StateChanged s = next_state();
  EXPECT_EQ(s.state(), v1::AGENT_STATE_BUSY);
  EXPECT_EQ(s.reason(), "offer_received");
  ASSERT_TRUE(ann.Accept(offer->offer_id()));
  ASSERT_TRUE(ann.Complete(first));
  s = next_state();
  EXPECT_EQ(s.state(), v1::AGENT_STATE_WRAP_UP);
  EXPECT_EQ(s.reason(), "wrap_up_started");
  std::optional<v1::CommandResult> r = ann.WrapUpDone(first);
  ASSERT_TRUE(r && r->code() == 0);
  s = next_state();
  EXPECT_EQ(s.state(), v1::AGENT_STATE_AVAILABLE);
  EXPECT_EQ(s.reason(), "wrap_up_done");

  // Wrap-up ended by the timer.
  const std::string second = Submitted(Contact("state-2", v1::CHANNEL_VOICE));
  offer = ann.WaitForOffer(kWait);
  ASSERT_TRUE(offer);
  EXPECT_EQ(next_state().state(), v1::AGENT_STATE_BUSY);
  ASSERT_TRUE(ann.Accept(offer->offer_id()));
  ASSERT_TRUE(ann.Complete(second));
  EXPECT_EQ(next_state().state(), v1::AGENT_STATE_WRAP_UP);
  s = next_state();
  EXPECT_EQ(s.state(), v1::AGENT_STATE_AVAILABLE);
  EXPECT_EQ(s.reason(), "wrap_up_timer");

  // Supervisor overrides.
  ASSERT_TRUE(SetAgentState("ann", v1::AGENT_STATE_NOT_READY, "coaching").ok());
  s = next_state();
  EXPECT_EQ(s.state(), v1::AGENT_STATE_NOT_READY);
  EXPECT_EQ(s.reason(), "coaching");
  ASSERT_TRUE(SetAgentState("ann", v1::AGENT_STATE_AVAILABLE, "").ok());
  s = next_state();
  EXPECT_EQ(s.state(), v1::AGENT_STATE_AVAILABLE);
  EXPECT_EQ(s.reason(), "supervisor");
  // Nothing else changed, so nothing else was said.
  EXPECT_FALSE(ann.WaitFor(v1::ServerMessage::kStateChanged, absl::Milliseconds(300)));
}

// Missed offers set the agent not-ready, and the desktop is told why.
TEST_F(AgentDeskTest, StateChangedWhenMissedOffersSetTheAgentNotReady) {
  TestConfig config;
  config.offer_timeout_seconds = 0.3;
  ASSERT_TRUE(StartDaemon(config));
  AgentClient dee(NewChannel());
  ASSERT_TRUE(LoginAndResync(dee, AgentLogin("dee", v1::CHANNEL_VOICE)));
  for (int i = 0; i < 3; ++i) Submitted(Contact(absl::StrCat("miss-", i), v1::CHANNEL_VOICE));
  // The config's max_consecutive_misses is 3.
  std::optional<v1::ServerMessage> m;
  for (;;) {
    m = dee.WaitFor(v1::ServerMessage::kStateChanged, kWait);
    ASSERT_TRUE(m) << "dee was never set not-ready";
    if (m->state_changed().state() == v1::AGENT_STATE_NOT_READY) break;
  }
  EXPECT_EQ(m->state_changed().reason(), "missed_offers");
}

// A contact the agent holds never ends silently: cancel, wrap-up, transfer
// each send ContactEnded; an update or escalation sends ContactUpdated.
TEST_F(AgentDeskTest, HeldContactsEndAndChangeLoudly) {
  TestConfig config;
  config.wrap_up_seconds = 30;
  config.offer_timeout_seconds = 30;
  ASSERT_TRUE(StartDaemon(config));
  AgentClient ann(NewChannel());
  ASSERT_TRUE(LoginAndResync(ann, AgentLogin("ann", v1::CHANNEL_VOICE)));
  Gateway gateway(NewChannel());
  auto next_ended = [&ann]() -> v1::ContactEnded {
    std::optional<v1::ServerMessage> m = ann.WaitFor(v1::ServerMessage::kContactEnded, kWait);
    if (!m) {
      ADD_FAILURE() << "no contact_ended";
      return {};
    }
    return m->contact_ended();
  };

  // Signals change and an escalation on the call in progress.
  const std::string cancelled = Connect(ann, "held-1");
  v1::UpdateRequest update;
  update.set_contact_id(cancelled);
  update.mutable_signals()->set_sentiment(-0.9);
  update.mutable_signals()->set_escalation_level(3);
  v1::UpdateReply update_reply;
  ASSERT_TRUE(gateway.Update(update, &update_reply).ok());
  std::optional<v1::ServerMessage> updated = ann.WaitFor(v1::ServerMessage::kContactUpdated, kWait);
  ASSERT_TRUE(updated) << "a signal change on a held contact was not sent";
  EXPECT_EQ(updated->contact_updated().contact_id(), cancelled);
  EXPECT_EQ(updated->contact_updated().signals().escalation_level(), 3u);
  EXPECT_DOUBLE_EQ(updated->contact_updated().signals().sentiment(), -0.9);
  EXPECT_EQ(updated->contact_updated().reason(), "signals_updated");
  updated = ann.WaitFor(v1::ServerMessage::kContactUpdated, kWait);
  ASSERT_TRUE(updated) << "the escalation was not sent";
  EXPECT_THAT(updated->contact_updated().reason(), HasSubstr("escalated"));

  // The gateway cancels it.
  v1::CancelReply cancel_reply;
  ASSERT_TRUE(gateway.Cancel(cancelled, &cancel_reply).ok());
  v1::ContactEnded ended = next_ended();
  EXPECT_EQ(ended.contact_id(), cancelled);
  EXPECT_EQ(ended.state(), v1::CONTACT_STATE_CANCELLED);

  // Completed and wrapped up.
  const std::string completed = Connect(ann, "held-2");
  ASSERT_TRUE(ann.Complete(completed));
  std::optional<v1::CommandResult> r = ann.WrapUpDone(completed);
  ASSERT_TRUE(r && r->code() == 0) << (r ? r->message() : "");
  ended = next_ended();
  EXPECT_EQ(ended.contact_id(), completed);
  EXPECT_EQ(ended.state(), v1::CONTACT_STATE_COMPLETED);
  EXPECT_EQ(ended.reason(), "wrap_up_done");

  // Transferred away.
  const std::string transferred = Connect(ann, "held-3");
  v1::AgentMessage transfer;
  transfer.mutable_transfer()->set_contact_id(transferred);
  transfer.mutable_transfer()->set_to_queue("voice_billing");
  r = ann.Command(transfer);
  ASSERT_TRUE(r && r->code() == 0) << (r ? r->message() : "");
  ended = next_ended();
  EXPECT_EQ(ended.contact_id(), transferred);
  EXPECT_EQ(ended.state(), v1::CONTACT_STATE_TRANSFERRED);
  EXPECT_EQ(ended.reason(), "to voice_billing");
}

// Heartbeats: LoginOk states the interval and the limit; a desktop silent
// for the limit loses its stream (and then, after the grace, its session);
// one that beats keeps it.
TEST_F(AgentDeskTest, SilentDesktopIsCutAfterTheMissedHeartbeatLimit) {
  TestConfig config;
  config.heartbeat_interval_seconds = 0.3;
  config.heartbeat_missed_limit = 3;
  config.disconnect_grace_seconds = 1;
  ASSERT_TRUE(StartDaemon(config));
  AgentClient beating(NewChannel());
  v1::AgentMessage login;
  *login.mutable_login() = AgentLogin("beating", v1::CHANNEL_CHAT);
  ASSERT_TRUE(beating.Send(login));
  std::optional<v1::ServerMessage> ok = beating.WaitFor(v1::ServerMessage::kLoginOk, kWait);
  ASSERT_TRUE(ok);
  EXPECT_DOUBLE_EQ(ok->login_ok().heartbeat_interval_seconds(), 0.3);
  EXPECT_EQ(ok->login_ok().heartbeat_missed_limit(), 3u);
  EXPECT_DOUBLE_EQ(ok->login_ok().disconnect_grace_seconds(), 1);
  std::atomic<bool> stop{false};
  std::thread beats([&] {
    for (uint64_t i = 1; !stop.load(); ++i) {
      v1::AgentMessage beat;
      beat.mutable_heartbeat()->set_sequence(i);
      beating.Send(beat);
      absl::SleepFor(absl::Milliseconds(100));
    }
  });

  AgentClient silent(NewChannel());
  const absl::Time login_at = absl::Now();
  ASSERT_TRUE(silent.Login(AgentLogin("silent", v1::CHANNEL_CHAT)));
  std::optional<grpc::Status> end = silent.WaitClosed(kWait);
  const absl::Duration lived = absl::Now() - login_at;
  ASSERT_TRUE(end) << "a desktop silent for 5 s still has its stream";
  EXPECT_EQ(end->error_code(), grpc::StatusCode::UNAVAILABLE) << end->error_message();
  EXPECT_THAT(end->error_message(), HasSubstr("heartbeat"));
  EXPECT_GE(lived, absl::Milliseconds(850)) << "cut before 3 intervals of 0.3 s";
  // The grace follows, then the logout.
  EXPECT_TRUE(WaitLoggedOut("silent", kWait));
  Operator op(NewChannel());
  // The beating desktop is still connected and logged in.
  EXPECT_FALSE(beating.WaitClosed(absl::Milliseconds(500))) << "a beating desktop was cut";
  std::optional<v1::AgentSnapshot> still = op.Agent("beating");
  ASSERT_TRUE(still);
  EXPECT_EQ(still->state(), v1::AGENT_STATE_AVAILABLE);
  stop.store(true);
  beats.join();
}

}  // namespace
}  // namespace ccr::testing
