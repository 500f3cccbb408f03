// Durability end to end: the real ccrouterd killed with SIGKILL and
// restarted on the same data directory, and a journal that cannot write.
#include <sys/resource.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_fixture.h"

namespace ccr::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kWait = absl::Seconds(5);

class DurabilityTest : public DaemonFixture {
 protected:
  // A grace long enough for a desktop to come back after the restart.
  bool Start() {
    TestConfig config;
    config.disconnect_grace_seconds = 30;
    config.offer_timeout_seconds = 30;
    return StartDaemon(config);
  }
};

std::string Submitted(Gateway& gateway, const v1::ContactSpec& spec) {
  v1::SubmitReply reply;
  grpc::Status s = gateway.Submit(spec, &reply);
  EXPECT_TRUE(s.ok()) << spec.idempotency_key() << ": " << s.error_message();
  return reply.contact_id();
}

TEST_F(DurabilityTest, AcknowledgedWorkSurvivesKill9) {
  ASSERT_TRUE(Start());
  std::string connected, queued_1, queued_2;
  {
    Gateway gateway(NewChannel());
    AgentClient agent(NewChannel());
    ASSERT_TRUE(agent.Login(AgentLogin("ann", v1::CHANNEL_VOICE)));
    connected = Submitted(gateway, Contact("d-1", v1::CHANNEL_VOICE));
    std::optional<v1::Offer> offer = agent.WaitForOffer(kWait);
    ASSERT_TRUE(offer);
    std::optional<v1::CommandResult> r = agent.Accept(offer->offer_id());
    ASSERT_TRUE(r && r->code() == 0);
    queued_1 = Submitted(gateway, Contact("d-2", v1::CHANNEL_VOICE));
    queued_2 = Submitted(gateway, Contact("d-3", v1::CHANNEL_EMAIL));
    agent.Cancel();  // the desktop's connection dies with the server
    ASSERT_TRUE(CrashAndRestartDaemon());
  }
  EXPECT_THAT(daemon().StderrText(), HasSubstr("event=recovered"));

  v1::ExplainReply c1 = Explain(connected);
  EXPECT_EQ(c1.state(), v1::CONTACT_STATE_CONNECTED);
  EXPECT_EQ(c1.agent_id(), "ann");
  EXPECT_EQ(Explain(queued_1).state(), v1::CONTACT_STATE_QUEUED);
  EXPECT_EQ(Explain(queued_2).state(), v1::CONTACT_STATE_QUEUED);

  // A retried submit finds the contact it was acknowledged as.
  Gateway gateway(NewChannel());
  v1::SubmitReply again;
  ASSERT_TRUE(gateway.Submit(Contact("d-2", v1::CHANNEL_VOICE), &again).ok());
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.contact_id(), queued_1);

  // The desktop comes back within the grace and carries on.
  AgentClient agent(NewChannel());
  ASSERT_TRUE(agent.Login(AgentLogin("ann", v1::CHANNEL_VOICE)));
  std::optional<v1::CommandResult> r = agent.Complete(connected);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code(), 0) << r->message();
  r = agent.WrapUpDone(connected);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code(), 0) << r->message();
  std::optional<v1::Offer> next = agent.WaitForOffer(kWait);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->contact_id(), queued_1);
}

// WatchEvents read for `timeout` (or until `max_events`); `after` absent:
// only new events.
struct WatchedEvents {
  std::vector<v1::LifecycleEvent> events;
  grpc::Status status;
};
WatchedEvents WatchFor(std::shared_ptr<grpc::Channel> channel, std::optional<uint64_t> after,
                       size_t max_events, absl::Duration timeout) {
  auto stub = v1::Admin::NewStub(std::move(channel));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  v1::WatchEventsRequest req;
  if (after) req.set_after_sequence(*after);
  auto stream = stub->WatchEvents(&ctx, req);
  WatchedEvents out;
  v1::LifecycleEvent e;
  while (out.events.size() < max_events && stream->Read(&e)) out.events.push_back(e);
  ctx.TryCancel();
  out.status = stream->Finish();
  return out;
}

// Sequence numbers count every event over the data directory's life: a
// client resumes across a crash with the last number it saw, and event 1 can
// be asked for (after_sequence 0).
TEST_F(DurabilityTest, EventSequenceGoesOnAcrossACrashAndEventOneIsResumable) {
  ASSERT_TRUE(Start());
  std::string first, second;
  {
    Gateway gateway(NewChannel());
    first = Submitted(gateway, Contact("seq-1", v1::CHANNEL_EMAIL));
  }
  WatchedEvents from_one = WatchFor(NewChannel(), 0, 1, kWait);
  ASSERT_EQ(from_one.events.size(), 1u) << from_one.status.error_message();
  EXPECT_EQ(from_one.events[0].sequence(), 1u);
  EXPECT_EQ(from_one.events[0].contact_id(), first);
  WatchedEvents before = WatchFor(NewChannel(), 0, 1000, absl::Seconds(1));
  ASSERT_FALSE(before.events.empty());
  const uint64_t last_seen = before.events.back().sequence();

  ASSERT_TRUE(CrashAndRestartDaemon());
  {
    Gateway gateway(NewChannel());
    second = Submitted(gateway, Contact("seq-2", v1::CHANNEL_EMAIL));
  }
  WatchedEvents after = WatchFor(NewChannel(), last_seen, 1000, absl::Seconds(1));
  ASSERT_FALSE(after.events.empty()) << after.status.error_message();
  EXPECT_EQ(after.events.front().sequence(), last_seen + 1);
  bool second_queued = false;
  for (size_t i = 0; i < after.events.size(); ++i) {
    if (i > 0) {
      EXPECT_EQ(after.events[i].sequence(), after.events[i - 1].sequence() + 1);
    }
    second_queued |=
        after.events[i].contact_id() == second && after.events[i].kind() == v1::EVENT_KIND_QUEUED;
  }
  EXPECT_TRUE(second_queued) << "no QUEUED event for " << second << " after " << last_seen;
}

// A retry of an ended contact's key answers how and where it ended (it used
// to say COMPLETED with no queue, even for a cancelled contact), across a
// crash (journal replay) and a planned restart (snapshot); the same key with
// another request is ALREADY_EXISTS, not a silent duplicate.
TEST_F(DurabilityTest, RetryOfAnEndedContactsKeyAnswersHowAndWhereItEnded) {
  ASSERT_TRUE(Start());
  const v1::ContactSpec email = Contact("idem-1", v1::CHANNEL_EMAIL);
  std::string contact;
  {
    Gateway gateway(NewChannel());
    contact = Submitted(gateway, email);
    v1::CancelReply cancelled;
    ASSERT_TRUE(gateway.Cancel(contact, &cancelled).ok());
  }
  auto expect_ended_answer = [&](const std::string& when) {
    Gateway gateway(NewChannel());
    v1::SubmitReply again;
    grpc::Status s = gateway.Submit(email, &again);
    ASSERT_TRUE(s.ok()) << when << ": " << s.error_message();
    EXPECT_TRUE(again.duplicate()) << when;
    EXPECT_EQ(again.contact_id(), contact) << when;
    EXPECT_EQ(again.state(), v1::CONTACT_STATE_CANCELLED) << when;
    EXPECT_EQ(again.queue(), "email_general") << when;

    v1::ContactSpec other = email;
    other.set_topic("a different request");
    s = gateway.Submit(other, &again);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS)
        << when << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("idem-1")) << when;
    EXPECT_THAT(s.error_message(), HasSubstr("different request")) << when;
  };
  expect_ended_answer("live");
  ASSERT_TRUE(CrashAndRestartDaemon());
  expect_ended_answer("after a crash");
  ASSERT_TRUE(DrainAndRestartDaemon());
  expect_ended_answer("after a planned restart");
}

TEST_F(DurabilityTest, OfferOutstandingAtTheCrashIsWithdrawnAndOfferedAfresh) {
  ASSERT_TRUE(Start());
  std::string contact, old_offer;
  {
    Gateway gateway(NewChannel());
    AgentClient agent(NewChannel());
    ASSERT_TRUE(agent.Login(AgentLogin("bob", v1::CHANNEL_VOICE)));
    contact = Submitted(gateway, Contact("o-1", v1::CHANNEL_VOICE));
    std::optional<v1::Offer> offer = agent.WaitForOffer(kWait);
    ASSERT_TRUE(offer);
    old_offer = offer->offer_id();
    agent.Cancel();
    ASSERT_TRUE(CrashAndRestartDaemon());
  }
  EventWatcher watcher(NewChannel(), 0);
  AgentClient agent(NewChannel());
  ASSERT_TRUE(agent.Login(AgentLogin("bob", v1::CHANNEL_VOICE)));
  // Offered again while bob was away: the offer comes in the Resync (or
  // after it, when made later).
  std::optional<v1::Offer> fresh = agent.FirstOfferAfterLogin(kWait);
  ASSERT_TRUE(fresh) << "the contact was not offered again after the restart";
  EXPECT_EQ(fresh->contact_id(), contact);
  EXPECT_NE(fresh->offer_id(), old_offer) << "a withdrawn offer must not come back";
  // The old offer is dead: accepting it fails, and nothing is offered twice.
  std::optional<v1::CommandResult> stale = agent.Accept(old_offer);
  ASSERT_TRUE(stale);
  EXPECT_NE(stale->code(), 0);
  std::optional<v1::CommandResult> r = agent.Accept(fresh->offer_id());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code(), 0) << r->message();
  const v1::ExplainReply after = Explain(contact);
  EXPECT_EQ(after.state(), v1::CONTACT_STATE_CONNECTED);
  EXPECT_THAT(after.history(), ::testing::Contains(HasSubstr("engine restarted")));
}

// A full disk, made with a file-size limit on the running daemon: submits
// are refused with UNAVAILABLE and nothing is acknowledged; once there is
// room again the engine carries on by itself.
TEST_F(DurabilityTest, JournalThatCannotWriteRefusesAndRecoversByItself) {
  ASSERT_TRUE(Start());
  Gateway gateway(NewChannel());
  ASSERT_FALSE(Submitted(gateway, Contact("f-1", v1::CHANNEL_EMAIL)).empty());
  uint64_t largest = 0;
  for (const auto& entry : std::filesystem::directory_iterator(daemon().data_dir())) {
    largest = std::max<uint64_t>(largest, entry.file_size());
  }
  rlimit tight{largest + 16, RLIM_INFINITY};
  rlimit old{};
  ASSERT_EQ(prlimit(daemon().pid(), RLIMIT_FSIZE, &tight, &old), 0) << strerror(errno);

  v1::SubmitReply reply;
  grpc::Status refused = gateway.Submit(Contact("f-2", v1::CHANNEL_EMAIL), &reply);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("journal"));
  EXPECT_TRUE(daemon().WaitForStderr("event=journal_write_failed", kWait)) << daemon().StderrText();

  rlimit room{RLIM_INFINITY, RLIM_INFINITY};
  ASSERT_EQ(prlimit(daemon().pid(), RLIMIT_FSIZE, &room, nullptr), 0) << strerror(errno);
  const std::string f2 = Submitted(gateway, Contact("f-2", v1::CHANNEL_EMAIL));
  ASSERT_FALSE(f2.empty());
  EXPECT_EQ(f2, "c-2") << "the refused submit created nothing";

  ASSERT_TRUE(CrashAndRestartDaemon());
  EXPECT_EQ(Explain("c-1").state(), v1::CONTACT_STATE_QUEUED);
  EXPECT_EQ(Explain(f2).state(), v1::CONTACT_STATE_QUEUED);
}

// Two engines on one journal would both append the same indexes: the second
// one must refuse to start, naming the directory and the first one's pid,
// while the first keeps serving. A kill -9 leaves the LOCK file behind but
// releases the lock, so a restart is not blocked.
TEST_F(DurabilityTest, SecondEngineOnTheSameDataDirRefusesToStart) {
  ASSERT_TRUE(Start());
  const std::string dir = daemon().data_dir();
  // `timeout`: should the second engine start after all, the test fails
  // instead of waiting for it for ever.
  const std::string command =
      absl::StrCat("timeout 20 ", CCROUTERD_PATH,
                   " --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --data-dir ", dir, " 2>&1");
  FILE* second = ::popen(command.c_str(), "r");
  ASSERT_NE(second, nullptr);
  std::string output;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, second)) > 0;) output.append(buf, n);
  const int status = ::pclose(second);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_NE(WEXITSTATUS(status), 0) << output;
  EXPECT_NE(WEXITSTATUS(status), 124) << "the second engine started: " << output;
  EXPECT_THAT(output, HasSubstr(dir));
  EXPECT_THAT(output, HasSubstr(absl::StrCat("pid ", daemon().pid())));
  EXPECT_THAT(output, Not(HasSubstr("event=listening")));

  Gateway gateway(NewChannel());
  const std::string id = Submitted(gateway, Contact("lock-1", v1::CHANNEL_EMAIL));
  EXPECT_EQ(Explain(id).state(), v1::CONTACT_STATE_QUEUED) << "the first engine still serves";

  ASSERT_TRUE(CrashAndRestartDaemon());
  EXPECT_EQ(Explain(id).state(), v1::CONTACT_STATE_QUEUED);
}

}  // namespace
}  // namespace ccr::testing
