// "Where is my contact?": ContactIngest.GetContact and WatchContact against a
// real daemon, as a gateway and an IVR use them.
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_fixture.h"

namespace ccr::testing {
namespace {

using ::testing::HasSubstr;

class GatewayContactTest : public DaemonFixture {};

std::string Submitted(Gateway& gateway, const std::string& key) {
  v1::SubmitReply reply;
  grpc::Status s = gateway.Submit(Contact(key, v1::CHANNEL_VOICE), &reply);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return reply.contact_id();
}

TEST_F(GatewayContactTest, GetContactTellsWhereItIsAndHowItEndedWithoutAnEvent) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  EventWatcher events(NewChannel(), 0);
  const std::string first = Submitted(gateway, "where-1");
  const std::string second = Submitted(gateway, "where-2");
  ASSERT_TRUE(events.WaitFor(v1::EVENT_KIND_QUEUED, first, absl::Seconds(5)));
  ASSERT_TRUE(events.WaitFor(v1::EVENT_KIND_QUEUED, second, absl::Seconds(5)));

  v1::ContactStatus status;
  ASSERT_TRUE(gateway.GetContact("where-2", &status, /*by_key=*/true).ok());
  EXPECT_EQ(status.contact_id(), second);
  EXPECT_EQ(status.state(), v1::CONTACT_STATE_QUEUED);
  EXPECT_EQ(status.queue(), "voice_general");
  EXPECT_EQ(status.position(), 2u);
  EXPECT_FALSE(status.ended());
  // A read, unlike the empty Update gateways used to poll with: many of them
  // journal nothing and emit no event.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(gateway.GetContact(second, &status).ok());
  absl::SleepFor(absl::Milliseconds(300));  // what an event would have taken to arrive
  EXPECT_TRUE(events.Snapshot().empty()) << events.Snapshot().size() << " events after reads";

  AgentClient agent(NewChannel());
  ASSERT_TRUE(agent.Login(AgentLogin("a1", v1::CHANNEL_VOICE)));
  std::optional<v1::Offer> offer = agent.FirstOfferAfterLogin(absl::Seconds(5));
  ASSERT_TRUE(offer);
  ASSERT_EQ(offer->contact_id(), first);
  ASSERT_TRUE(gateway.GetContact(first, &status).ok());
  EXPECT_EQ(status.state(), v1::CONTACT_STATE_OFFERED);
  EXPECT_EQ(status.agent_id(), "a1");
  ASSERT_TRUE(gateway.GetContact(second, &status).ok());
  EXPECT_EQ(status.position(), 1u);  // recomputed at the read

  v1::CancelReply cancelled;
  ASSERT_TRUE(gateway.Cancel(second, &cancelled, "caller chose a callback").ok());
  ASSERT_TRUE(gateway.GetContact(second, &status).ok());
  EXPECT_TRUE(status.ended());
  EXPECT_EQ(status.state(), v1::CONTACT_STATE_CANCELLED);
  EXPECT_EQ(status.queue(), "voice_general");
  EXPECT_EQ(status.ended_reason(), "caller chose a callback");

  ASSERT_TRUE(agent.Accept(offer->offer_id()));
  ASSERT_TRUE(agent.Complete(first));
  ASSERT_TRUE(agent.WrapUpDone(first));
  ASSERT_TRUE(events.WaitFor(v1::EVENT_KIND_WRAP_UP_DONE, first, absl::Seconds(5)));
  ASSERT_TRUE(gateway.GetContact("where-1", &status, /*by_key=*/true).ok());
  EXPECT_TRUE(status.ended());
  EXPECT_EQ(status.state(), v1::CONTACT_STATE_COMPLETED);
  EXPECT_EQ(status.agent_id(), "a1");

  grpc::Status unknown = gateway.GetContact("c-999999", &status);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), HasSubstr("contact.contact_id"));
  grpc::Status bad = gateway.GetContact("42", &status);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("contact.contact_id"));
}

TEST_F(GatewayContactTest, WatchContactFollowsPositionToTheAgentAndEnds) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  const std::string ahead = Submitted(gateway, "watch-1");
  const std::string next = Submitted(gateway, "watch-2");
  const std::string mine = Submitted(gateway, "watch-3");
  ContactWatcher watch(NewChannel(), mine);
  auto at_position = [](uint32_t p) {
    return [p](const v1::ContactStatus& s) {
      return s.state() == v1::CONTACT_STATE_QUEUED && s.position() == p;
    };
  };
  ASSERT_TRUE(watch.WaitFor(at_position(3), absl::Seconds(5))) << "the status at once";

  // Contacts ahead leave: no event names this one, the re-check finds it.
  v1::CancelReply cancelled;
  ASSERT_TRUE(gateway.Cancel(ahead, &cancelled).ok());
  ASSERT_TRUE(watch.WaitFor(at_position(2), absl::Seconds(5)));
  ASSERT_TRUE(gateway.Cancel(next, &cancelled).ok());
  ASSERT_TRUE(watch.WaitFor(at_position(1), absl::Seconds(5)));

  AgentClient agent(NewChannel());
  ASSERT_TRUE(agent.Login(AgentLogin("a1", v1::CHANNEL_VOICE)));
  std::optional<v1::Offer> offer = agent.FirstOfferAfterLogin(absl::Seconds(5));
  ASSERT_TRUE(offer);
  ASSERT_EQ(offer->contact_id(), mine);
  std::optional<v1::ContactStatus> offered = watch.WaitFor(
      [](const v1::ContactStatus& s) { return s.state() == v1::CONTACT_STATE_OFFERED; },
      absl::Seconds(5));
  ASSERT_TRUE(offered);
  EXPECT_EQ(offered->agent_id(), "a1");
  ASSERT_TRUE(agent.Accept(offer->offer_id()));
  ASSERT_TRUE(watch.WaitFor(
      [](const v1::ContactStatus& s) { return s.state() == v1::CONTACT_STATE_CONNECTED; },
      absl::Seconds(5)));
  ASSERT_TRUE(agent.Complete(mine));
  ASSERT_TRUE(agent.WrapUpDone(mine));
  std::optional<v1::ContactStatus> ended =
      watch.WaitFor([](const v1::ContactStatus& s) { return s.ended(); }, absl::Seconds(5));
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->state(), v1::CONTACT_STATE_COMPLETED);
  EXPECT_EQ(ended->ended_reason(), "wrap_up_done");
  std::optional<grpc::Status> closed = watch.WaitClosed(absl::Seconds(5));
  ASSERT_TRUE(closed);
  EXPECT_TRUE(closed->ok()) << closed->error_message();
}

TEST_F(GatewayContactTest, ADrainEndsWatchesWithUnavailableSoTheIvrWatchesAgain) {
  ASSERT_TRUE(StartDaemon());
  Gateway gateway(NewChannel());
  const std::string id = Submitted(gateway, "drain-1");
  ContactWatcher watch(NewChannel(), id);
  ASSERT_TRUE(watch.WaitFor([](const v1::ContactStatus& s) { return s.position() == 1; },
                            absl::Seconds(5)));
  Daemon::ExitStatus exit = StopDaemon();
  EXPECT_EQ(exit.exit_code, 0);
  std::optional<grpc::Status> closed = watch.WaitClosed(absl::Seconds(5));
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace ccr::testing
