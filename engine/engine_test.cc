// The engine in-process, hermetic: a fake command log, fake agent and event
// sinks and a fake clock; the test drives the io_context itself (poll), so
// there are no sockets, no threads of the test's own and no sleeps.
#include "engine/engine.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "boost/asio/executor_work_guard.hpp"
#include "codec/config_loader.h"
#include "codec/owner_redirect.h"
#include "codec/wire.h"
#include "engine/journal/recovery.h"
#include "engine/testing/desk_cases.h"
#include "engine/testing/fake_clock.h"
#include "engine/testing/fake_command_log.h"
#include "engine/testing/fake_sinks.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ccr {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

// testing::VoiceLogin with its voice slot counted out (max_concurrent 1).
v1::Login AgentLogin(const std::string& agent_id) {
  v1::Login login = testing::VoiceLogin(agent_id);
  login.mutable_capacities(0)->set_max_concurrent(1);
  return login;
}

v1::Command SubmitVoice(const std::string& key) {
  v1::Command cmd;
  v1::ContactSpec* c = cmd.mutable_submit()->mutable_contact();
  c->set_idempotency_key(key);
  c->set_channel(v1::CHANNEL_VOICE);
  c->mutable_customer()->set_id("customer-1234");
  c->mutable_customer()->set_tier(v1::TIER_GOLD);
  c->set_queue("voice_general");
  cmd.set_request_digest(SubmitRequestDigest(*c));
  return cmd;
}

v1::Command AgentCommand(const std::string& agent_id) {
  v1::Command cmd;
  cmd.set_agent_id(agent_id);
  return cmd;
}

// What the log holds, as the Command oneof's case of each record.
std::vector<v1::Command::KindCase> Kinds(const std::vector<v1::Command>& commands) {
  std::vector<v1::Command::KindCase> out;
  for (const v1::Command& c : commands) out.push_back(c.kind_case());
  return out;
}

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : clock_(kStart), work_(boost::asio::make_work_guard(io_)) {
    EngineOptions options;
    options.clock = &clock_;
    options.command_log = FakeCommandLog::Factory(&log_);
    engine_ = std::make_unique<Engine>(io_, std::move(options));
    EXPECT_TRUE(engine_->Start(Recovered{}, std::string(DefaultConfigYaml())).ok());
    RunStrand();
  }

  // Runs everything ready on the strand: posted work, the log's reports.
  void RunStrand() { io_.poll(); }

  // Executes `cmd` as a client would and runs the strand; what its caller
  // was answered (nullopt: not answered yet).
  std::optional<ApplyResult> Execute(v1::Command cmd) {
    auto answer = std::make_shared<std::optional<ApplyResult>>();
    EXPECT_TRUE(engine_->Execute(
        std::move(cmd), [answer](Engine&, const ApplyResult& a) { *answer = a; },
        Admission::kClient));
    RunStrand();
    return *answer;
  }

  // Logs `agent_id` in and attaches `sink` as its desktop, as AgentDesk does.
  void Login(const std::string& agent_id, std::shared_ptr<FakeAgentSink> sink) {
    v1::Command cmd = AgentCommand(agent_id);
    *cmd.mutable_login() = AgentLogin(agent_id);
    bool attached = false;
    engine_->Execute(
        std::move(cmd),
        [&, sink](Engine& e, const ApplyResult& applied) {
          ASSERT_TRUE(applied.status.ok()) << applied.status;
          e.AttachAgent(agent_id, sink);
          attached = true;
        },
        Admission::kAgentDesk);
    RunStrand();
    ASSERT_TRUE(attached);
  }

  absl::Status Subscribe(std::shared_ptr<FakeEventSink> sink, std::optional<uint64_t> after) {
    absl::Status status = absl::UnknownError("not run");
    engine_->Post([&](Engine& e) { status = e.Subscribe(sink, after); });
    RunStrand();
    return status;
  }

  boost::asio::io_context io_;
  FakeClock clock_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  FakeCommandLog* log_ = nullptr;  // owned by engine_
  std::unique_ptr<Engine> engine_;
};

// Posted tasks share one hand-off to the strand while it is busy; each still
// runs once, in order, counted in the backlog until it has run, and what a
// task posts runs too.
TEST_F(EngineTest, PostedTasksRunOnceInOrderAndLeaveTheBacklog) {
  constexpr int kTasks = 2000;
  std::vector<int> ran;
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_TRUE(engine_->Post([&ran, i](Engine&) { ran.push_back(i); }, Admission::kClient));
  }
  EXPECT_EQ(engine_->backlog(), size_t{kTasks});
  bool nested_ran = false;
  engine_->Post([&](Engine& e) {
    e.Post([&](Engine&) { nested_ran = true; });
    ran.push_back(kTasks);
  });
  RunStrand();
  EXPECT_EQ(engine_->backlog(), 0u);
  EXPECT_TRUE(nested_ran);
  ASSERT_EQ(ran.size(), size_t{kTasks + 1});
  for (int i = 0; i <= kTasks; ++i) ASSERT_EQ(ran[i], i);
}

TEST_F(EngineTest, GenesisIsTheFirstRecordAndCarriesTheStartConfig) {
  ASSERT_EQ(log_->durable().size(), 1u);
  EXPECT_EQ(log_->durable()[0].index(), 1u);
  EXPECT_EQ(log_->durable()[0].apply_config().config_yaml(), DefaultConfigYaml());
}

TEST_F(EngineTest, ASubmitIsAnsweredOnlyOnceTheLogHasMadeItDurable) {
  log_->set_hold_batches(true);
  std::optional<ApplyResult> answer;
  engine_->Execute(
      SubmitVoice("gw-1"), [&](Engine&, const ApplyResult& a) { answer = a; }, Admission::kClient);
  RunStrand();
  EXPECT_FALSE(answer) << "answered before the log said durable";
  EXPECT_FALSE(engine_->router().LookupIdempotencyKey("gw-1")) << "applied before durable";
  EXPECT_EQ(engine_->backlog(), 1u) << "a command awaiting the log counts in the backlog";

  log_->ReleaseHeld();
  RunStrand();
  ASSERT_TRUE(answer);
  ASSERT_TRUE(answer->status.ok()) << answer->status;
  ASSERT_TRUE(answer->submit);
  EXPECT_EQ(engine_->backlog(), 0u);
  EXPECT_THAT(Kinds(log_->durable()), ElementsAre(v1::Command::kApplyConfig, v1::Command::kSubmit));
  // Stamped with the clock's time, which replay will see again.
  EXPECT_EQ(FromTimestamp(log_->durable()[1].time()), kStart);
}

TEST_F(EngineTest, AFailedBatchRefusesWhatItHeldChangesNothingAndTheLogRecovers) {
  log_->FailNextBatches(1);
  std::optional<ApplyResult> refused = Execute(SubmitVoice("gw-1"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(refused->status.message()), HasSubstr("journal: fake log: disk full"));
  EXPECT_FALSE(engine_->router().LookupIdempotencyKey("gw-1")) << "refused, yet applied";
  EXPECT_EQ(engine_->backlog(), 0u);

  // The indexes of the failed batch are reused: the log has no gap.
  std::optional<ApplyResult> retried = Execute(SubmitVoice("gw-1"));
  ASSERT_TRUE(retried);
  ASSERT_TRUE(retried->status.ok()) << retried->status;
  ASSERT_EQ(log_->durable().size(), 2u);
  EXPECT_EQ(log_->durable()[1].index(), 2u);
  EXPECT_TRUE(engine_->router().LookupIdempotencyKey("gw-1"));
}

TEST_F(EngineTest, AnAgentIsOfferedAcceptsCompletesAndWrapsUp) {
  auto ann = std::make_shared<FakeAgentSink>();
  Login("ann", ann);
  std::vector<v1::ServerMessage> resync = ann->Of(v1::ServerMessage::kResync);
  ASSERT_EQ(resync.size(), 1u);
  EXPECT_EQ(resync[0].resync().state(), v1::AGENT_STATE_AVAILABLE);

  std::optional<ApplyResult> submitted = Execute(SubmitVoice("gw-1"));
  ASSERT_TRUE(submitted && submitted->status.ok());
  const std::string contact = ContactIdString(submitted->submit->contact);
  std::vector<v1::ServerMessage> offers = ann->Of(v1::ServerMessage::kOffer);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].offer().contact_id(), contact);
  EXPECT_EQ(offers[0].offer().customer_display(), "cu*********34") << "masked for the desktop";
  EXPECT_EQ(FromTimestamp(offers[0].offer().accept_deadline()), kStart + absl::Seconds(15));

  v1::Command accept = AgentCommand("ann");
  accept.mutable_accept()->set_offer_id(offers[0].offer().offer_id());
  std::optional<ApplyResult> accepted = Execute(accept);
  ASSERT_TRUE(accepted && accepted->status.ok()) << (accepted ? accepted->status : absl::Status());

  clock_.Advance(absl::Minutes(5));  // talking
  v1::Command complete = AgentCommand("ann");
  complete.mutable_complete()->set_contact_id(contact);
  complete.mutable_complete()->mutable_outcome()->set_resolved(true);
  std::optional<ApplyResult> completed = Execute(complete);
  ASSERT_TRUE(completed && completed->status.ok());
  std::vector<v1::ServerMessage> states = ann->Of(v1::ServerMessage::kStateChanged);
  ASSERT_FALSE(states.empty());
  EXPECT_EQ(states.back().state_changed().state(), v1::AGENT_STATE_WRAP_UP);

  v1::Command done = AgentCommand("ann");
  done.mutable_wrap_up_done()->set_contact_id(contact);
  std::optional<ApplyResult> wrapped = Execute(done);
  ASSERT_TRUE(wrapped && wrapped->status.ok());
  std::vector<v1::ServerMessage> ended = ann->Of(v1::ServerMessage::kContactEnded);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].contact_ended().contact_id(), contact);
  EXPECT_EQ(ended[0].contact_ended().state(), v1::CONTACT_STATE_COMPLETED);
  EXPECT_EQ(ended[0].contact_ended().reason(), "wrap_up_done");
  states = ann->Of(v1::ServerMessage::kStateChanged);
  EXPECT_EQ(states.back().state_changed().state(), v1::AGENT_STATE_AVAILABLE);

  // The timers that fell due during the call ran through the log too.
  EXPECT_THAT(Kinds(log_->durable()),
              ElementsAre(v1::Command::kApplyConfig, v1::Command::kLogin, v1::Command::kSubmit,
                          v1::Command::kAccept, v1::Command::kTimersDue, v1::Command::kComplete,
                          v1::Command::kWrapUpDone));
  EXPECT_FALSE(ann->closed_with);
}

TEST_F(EngineTest, AnUnansweredOfferTimesOutWhenTheClockPassesItsDeadline) {
  auto ann = std::make_shared<FakeAgentSink>();
  Login("ann", ann);
  ASSERT_TRUE(Execute(SubmitVoice("gw-1")));
  ASSERT_EQ(ann->Of(v1::ServerMessage::kOffer).size(), 1u);

  clock_.Advance(absl::Seconds(14));
  RunStrand();
  EXPECT_TRUE(ann->Of(v1::ServerMessage::kOfferWithdrawn).empty()) << "withdrawn early";

  clock_.Advance(absl::Seconds(2));  // past the 15 s offer timeout
  RunStrand();
  std::vector<v1::ServerMessage> withdrawn = ann->Of(v1::ServerMessage::kOfferWithdrawn);
  ASSERT_EQ(withdrawn.size(), 1u);
  EXPECT_EQ(withdrawn[0].offer_withdrawn().reason(), "timeout");
}

TEST_F(EngineTest, TimersRunThroughTheLogAndAreToldOnlyOnceDurable) {
  auto ann = std::make_shared<FakeAgentSink>();
  Login("ann", ann);
  ASSERT_TRUE(Execute(SubmitVoice("gw-1")));
  ASSERT_EQ(ann->Of(v1::ServerMessage::kOffer).size(), 1u);

  log_->set_hold_batches(true);
  clock_.Advance(absl::Seconds(16));  // past the 15 s offer timeout, no command since
  RunStrand();
  EXPECT_TRUE(ann->Of(v1::ServerMessage::kOfferWithdrawn).empty())
      << "a timeout told before the log made it durable";
  log_->ReleaseHeld();
  RunStrand();
  ASSERT_EQ(ann->Of(v1::ServerMessage::kOfferWithdrawn).size(), 1u);
  EXPECT_EQ(log_->durable().back().kind_case(), v1::Command::kTimersDue);
  // Stamped with when the timer ran, which replay will see again.
  EXPECT_GT(FromTimestamp(log_->durable().back().time()), kStart + absl::Seconds(15));
}

TEST_F(EngineTest, TimersTheLogRefusedAreTriedAgainAfterAPauseNotInALoop) {
  auto ann = std::make_shared<FakeAgentSink>();
  Login("ann", ann);
  ASSERT_TRUE(Execute(SubmitVoice("gw-1")));
  const size_t reports = log_->reports().size();
  log_->FailNextBatches(1);
  clock_.Advance(absl::Seconds(16));
  RunStrand();
  EXPECT_TRUE(ann->Of(v1::ServerMessage::kOfferWithdrawn).empty()) << "told, yet refused";
  EXPECT_EQ(log_->reports().size(), reports + 1) << "one refused TimersDue, not a loop of them";
  clock_.Advance(absl::Milliseconds(100));
  RunStrand();
  EXPECT_EQ(log_->reports().size(), reports + 1) << "tried again before the pause";
  clock_.Advance(absl::Milliseconds(150));
  RunStrand();
  ASSERT_EQ(ann->Of(v1::ServerMessage::kOfferWithdrawn).size(), 1u);
  EXPECT_EQ(log_->durable().back().kind_case(), v1::Command::kTimersDue);
}

TEST_F(EngineTest, ReplayingTheLogRecreatesEveryEventTheEngineToldNumberedTheSame) {
  auto ann = std::make_shared<FakeAgentSink>();
  Login("ann", ann);
  ASSERT_TRUE(Execute(SubmitVoice("gw-1")));
  clock_.Advance(absl::Seconds(16));  // the offer times out, with no command after it
  RunStrand();
  ASSERT_EQ(ann->Of(v1::ServerMessage::kOfferWithdrawn).size(), 1u);

  // A restart (or a standby taking over) replays the log: it must re-create
  // exactly the events the engine told, or a watcher resuming after the last
  // one it saw would get another history under the same numbers.
  Recovered replayed;
  replayed.next_index = 1;
  for (const v1::Command& cmd : log_->durable()) {
    ASSERT_TRUE(ReplayCommand(cmd, "test log", &replayed).ok());
  }
  ASSERT_TRUE(replayed.router);
  EXPECT_EQ(replayed.router->events_emitted(), engine_->last_sequence());
}

TEST_F(EngineTest, ADroppedDesktopIsLoggedOutAfterTheGraceUnlessItComesBack) {
  auto ann = std::make_shared<FakeAgentSink>();
  Login("ann", ann);
  engine_->Post([&](Engine& e) { e.DetachAgent("ann", ann.get(), /*clean=*/false); });
  RunStrand();
  clock_.Advance(absl::Seconds(9));
  RunStrand();
  EXPECT_NE(engine_->router().GetAgent("ann", clock_.Now())->status, AgentStatus::kOffline);

  clock_.Advance(absl::Seconds(2));  // past the 10 s disconnect grace
  RunStrand();
  EXPECT_EQ(engine_->router().GetAgent("ann", clock_.Now())->status, AgentStatus::kOffline);
  ASSERT_EQ(log_->durable().back().kind_case(), v1::Command::kLogout);
  EXPECT_EQ(log_->durable().back().logout().reason(), "disconnected");

  // A desktop back within the grace keeps its agent.
  auto bob = std::make_shared<FakeAgentSink>();
  Login("bob", bob);
  engine_->Post([&](Engine& e) { e.DetachAgent("bob", bob.get(), /*clean=*/false); });
  RunStrand();
  clock_.Advance(absl::Seconds(5));
  auto bob_again = std::make_shared<FakeAgentSink>();
  engine_->Post([&](Engine& e) { e.AttachAgent("bob", bob_again); });
  RunStrand();
  clock_.Advance(absl::Seconds(30));
  RunStrand();
  EXPECT_NE(engine_->router().GetAgent("bob", clock_.Now())->status, AgentStatus::kOffline);
  EXPECT_EQ(bob_again->Of(v1::ServerMessage::kResync).size(), 1u);
}

TEST_F(EngineTest, AWatcherGetsEveryEventInOrderAndWaitsForRoomWhenFull) {
  auto watcher = std::make_shared<FakeEventSink>(/*capacity=*/2);
  ASSERT_TRUE(Subscribe(watcher, std::nullopt).ok());
  auto ann = std::make_shared<FakeAgentSink>();
  Login("ann", ann);
  ASSERT_TRUE(Execute(SubmitVoice("gw-1")));
  ASSERT_TRUE(Execute(SubmitVoice("gw-2")));

  // Two fit; the rest wait in the engine's window until the watcher reads.
  std::vector<v1::LifecycleEvent> events = watcher->Drain();
  EXPECT_EQ(events.size(), 2u);
  for (int i = 0; i < 10 && !watcher->queued.empty(); ++i) {
    RunStrand();
    for (v1::LifecycleEvent& e : watcher->Drain()) events.push_back(std::move(e));
  }
  RunStrand();
  for (v1::LifecycleEvent& e : watcher->Drain()) events.push_back(std::move(e));
  ASSERT_GE(events.size(), 3u);
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sequence(), events[i - 1].sequence() + 1) << "a gap or a repeat";
  }
  EXPECT_EQ(events.back().sequence(), engine_->last_sequence());
  std::vector<v1::EventKind> kinds;
  for (const v1::LifecycleEvent& e : events) kinds.push_back(e.kind());
  EXPECT_THAT(kinds, ::testing::Contains(v1::EVENT_KIND_OFFERED));
  EXPECT_THAT(kinds, ::testing::Contains(v1::EVENT_KIND_QUEUED));
  EXPECT_FALSE(watcher->closed());

  // A late watcher resumes from the start of the window and sees the same.
  auto late = std::make_shared<FakeEventSink>();
  ASSERT_TRUE(Subscribe(late, 0).ok());
  ASSERT_EQ(late->queued.size(), events.size());
  EXPECT_EQ(late->queued.front().sequence(), events.front().sequence());

  // Ahead of the newest event: refused, naming the field.
  absl::Status ahead = Subscribe(std::make_shared<FakeEventSink>(), engine_->last_sequence() + 5);
  EXPECT_EQ(ahead.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(ahead.message()), HasSubstr("after_sequence"));
}

TEST_F(EngineTest, DrainClosesDesktopsAndWatchersButKeepsSessions) {
  auto ann = std::make_shared<FakeAgentSink>();
  Login("ann", ann);
  auto watcher = std::make_shared<FakeEventSink>();
  ASSERT_TRUE(Subscribe(watcher, std::nullopt).ok());
  engine_->Post([](Engine& e) { e.BeginDrain(); });
  RunStrand();
  ASSERT_TRUE(ann->closed_with);
  EXPECT_EQ(ann->closed_with->code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(watcher->closed_with);
  EXPECT_TRUE(watcher->closed_with->ok());
  EXPECT_NE(engine_->router().GetAgent("ann", clock_.Now())->status, AgentStatus::kOffline);
  EXPECT_EQ(clock_.pending_timers(), 0u) << "a timer left armed after the drain";
  EXPECT_TRUE(log_->last_snapshot()) << "a quick restart replays little";
}

TEST_F(EngineTest, AHandoverEndsStreamsNamingTheNewOwnerAndTakesNoSnapshot) {
  auto ann = std::make_shared<FakeAgentSink>();
  Login("ann", ann);
  auto watcher = std::make_shared<FakeEventSink>();
  ASSERT_TRUE(Subscribe(watcher, std::nullopt).ok());
  engine_->Post([](Engine& e) { e.BeginDrain("127.0.0.1:7100"); });
  RunStrand();
  ASSERT_TRUE(ann->closed_with);
  EXPECT_EQ(ann->closed_with->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(OwnerOf(*ann->closed_with), "127.0.0.1:7100");
  EXPECT_THAT(std::string(ann->closed_with->message()), HasSubstr("the owner at 127.0.0.1:7100"));
  // A watcher is sent on too, to resume there (a plain drain ends it OK).
  ASSERT_TRUE(watcher->closed_with);
  EXPECT_EQ(watcher->closed_with->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(OwnerOf(*watcher->closed_with), "127.0.0.1:7100");
  EXPECT_FALSE(log_->last_snapshot()) << "a snapshot written by a node that no longer owns";
  EXPECT_NE(engine_->router().GetAgent("ann", clock_.Now())->status, AgentStatus::kOffline);
}

}  // namespace
}  // namespace ccr
