#include "engine/contact_watch.h"

#include "absl/strings/str_cat.h"
#include "codec/config_loader.h"
#include "codec/wire.h"
#include "engine/testing/fake_sinks.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ccr {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

using FakeSink = FakeContactStatusSink;

class ContactWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<RouterConfig> config = LoadRouterConfig(DefaultConfigYaml());
    ASSERT_TRUE(config.ok()) << config.status();
    absl::StatusOr<std::unique_ptr<Router>> router = Router::Create(*std::move(config));
    ASSERT_TRUE(router.ok()) << router.status();
    router_ = *std::move(router);
  }

  ContactWatches MakeWatches(ContactWatchOptions options = {}) {
    return ContactWatches(options,
                          [this](std::function<void()> fn) { posted_.push_back(std::move(fn)); });
  }

  // A voice contact for voice_general, with `key` as its idempotency key.
  ContactId Submit(const std::string& key) {
    v1::ContactSpec wire;
    wire.set_idempotency_key(key);
    wire.set_channel(v1::CHANNEL_VOICE);
    wire.mutable_customer()->set_id(absl::StrCat("customer-", key));
    absl::StatusOr<ContactSpec> spec = ContactSpecFromWire(wire, router_->config(), now_);
    EXPECT_TRUE(spec.ok()) << spec.status();
    absl::StatusOr<SubmitResult> r = router_->Submit(*spec, now_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->contact : 0;
  }

  void LoginGeneralAgent(const std::string& agent_id) {
    AgentSpec spec;
    spec.agent_id = agent_id;
    spec.skills = {{"general", 5}};
    spec.capacities = {{Channel::kVoice, 1}};
    ASSERT_TRUE(router_->Login(spec, now_).ok());
  }

  // What the engine does after each strand turn.
  void Deliver(ContactWatches& watches) {
    for (const Event& e : router_->TakeEvents()) watches.Observe(*router_, e);
    watches.SendChanged(*router_);
  }

  // The offer the router made to `agent_id` for `contact`.
  uint64_t OfferId(ContactId contact) {
    absl::StatusOr<ContactView> view = router_->GetContact(contact, now_);
    EXPECT_TRUE(view.ok());
    return view.ok() ? view->offer_id : 0;
  }

  static v1::ContactRef ById(ContactId id) {
    v1::ContactRef ref;
    ref.set_contact_id(ContactIdString(id));
    return ref;
  }
  static v1::ContactRef ByKey(const std::string& key) {
    v1::ContactRef ref;
    ref.set_idempotency_key(key);
    return ref;
  }

  std::unique_ptr<Router> router_;
  absl::Time now_ = kT0;
  std::vector<std::function<void()>> posted_;
};

TEST_F(ContactWatchTest, ARefNamesExactlyOneFieldWithinBounds) {
  EXPECT_THAT(ValidateContactRef(v1::ContactRef()).message(), HasSubstr("exactly one"));
  v1::ContactRef both = ById(7);
  both.set_idempotency_key("k");
  EXPECT_THAT(ValidateContactRef(both).message(), HasSubstr("exactly one"));
  v1::ContactRef bad_id;
  bad_id.set_contact_id("42");
  EXPECT_THAT(ValidateContactRef(bad_id).message(), HasSubstr("contact.contact_id"));
  EXPECT_THAT(ValidateContactRef(ByKey(std::string(200, 'k'))).message(),
              HasSubstr("contact.idempotency_key"));
  EXPECT_TRUE(ValidateContactRef(ByKey("gw-1")).ok());
}

TEST_F(ContactWatchTest, StatusTellsPositionWaitAndAgentByIdOrKey) {
  ContactWatches watches = MakeWatches();
  const ContactId first = Submit("k1");
  const ContactId second = Submit("k2");
  Deliver(watches);

  absl::StatusOr<v1::ContactStatus> s = watches.Status(*router_, ByKey("k2"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->contact_id(), ContactIdString(second));
  EXPECT_EQ(s->state(), v1::CONTACT_STATE_QUEUED);
  EXPECT_EQ(s->queue(), "voice_general");
  EXPECT_EQ(s->position(), 2u);
  EXPECT_FALSE(s->ended());

  LoginGeneralAgent("a1");  // takes the first in line
  Deliver(watches);
  s = watches.Status(*router_, ById(first));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->state(), v1::CONTACT_STATE_OFFERED);
  EXPECT_EQ(s->agent_id(), "a1");
  EXPECT_EQ(s->position(), 0u);
  s = watches.Status(*router_, ById(second));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->position(), 1u);  // recomputed now, not remembered
}

TEST_F(ContactWatchTest, AnEndedContactAnswersHowAndWhereItEnded) {
  ContactWatches watches = MakeWatches();
  const ContactId id = Submit("k1");
  Deliver(watches);
  ASSERT_TRUE(router_->Cancel(id, "caller chose a callback", now_).ok());
  Deliver(watches);

  for (const v1::ContactRef& ref : {ById(id), ByKey("k1")}) {
    absl::StatusOr<v1::ContactStatus> s = watches.Status(*router_, ref);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_TRUE(s->ended());
    EXPECT_EQ(s->state(), v1::CONTACT_STATE_CANCELLED);
    EXPECT_EQ(s->queue(), "voice_general");
    EXPECT_EQ(s->ended_reason(), "caller chose a callback");
  }
  absl::StatusOr<v1::ContactStatus> unknown = watches.Status(*router_, ById(id + 100));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("contact.contact_id"));
  unknown = watches.Status(*router_, ByKey("never-used"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("contact.idempotency_key"));
}

TEST_F(ContactWatchTest, AnEndedReasonIsKeptCutLikeEventText) {
  ContactWatches watches = MakeWatches();
  const ContactId id = Submit("k1");
  ASSERT_TRUE(router_->Cancel(id, std::string(1000, 'r'), now_).ok());
  Deliver(watches);
  absl::StatusOr<v1::ContactStatus> s = watches.Status(*router_, ById(id));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_LE(s->ended_reason().size(), InputLimits::kMaxEventTextBytes);
  EXPECT_THAT(s->ended_reason(), ::testing::EndsWith("[truncated]"));
}

TEST_F(ContactWatchTest, EndedContactsAreRememberedByIdUpToTheBound) {
  ContactWatches watches = MakeWatches({.ended_kept = 2});
  std::vector<ContactId> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(Submit(absl::StrCat("k", i)));
    ASSERT_TRUE(router_->Abandon(ids.back(), now_).ok());
    Deliver(watches);
  }
  // By id, the oldest is forgotten; its key still tells how it ended.
  EXPECT_EQ(watches.Status(*router_, ById(ids[0])).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<v1::ContactStatus> by_key = watches.Status(*router_, ByKey("k0"));
  ASSERT_TRUE(by_key.ok()) << by_key.status();
  EXPECT_EQ(by_key->state(), v1::CONTACT_STATE_ABANDONED);
  for (int i : {1, 2}) {
    absl::StatusOr<v1::ContactStatus> s = watches.Status(*router_, ById(ids[i]));
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->state(), v1::CONTACT_STATE_ABANDONED);
  }
}

TEST_F(ContactWatchTest, AWatcherHearsEachChangeAndTheEndThenTheStreamEnds) {
  ContactWatches watches = MakeWatches();
  const ContactId ahead = Submit("k0");
  const ContactId id = Submit("k1");
  Deliver(watches);
  auto sink = std::make_shared<FakeSink>();
  ASSERT_TRUE(watches.Watch(*router_, ById(id), sink).ok());
  std::vector<v1::ContactStatus> got = sink->Drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].position(), 2u);

  // Nothing changed: a re-check sends nothing.
  watches.RefreshAll(*router_);
  EXPECT_TRUE(sink->Drain().empty());

  // The contact ahead leaves: no event names the watched contact, the
  // periodic re-check finds its new position.
  ASSERT_TRUE(router_->Abandon(ahead, now_).ok());
  Deliver(watches);
  watches.RefreshAll(*router_);
  got = sink->Drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].position(), 1u);

  // Offered, accepted, completed: each change is sent as it happens.
  LoginGeneralAgent("a1");
  Deliver(watches);
  got = sink->Drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].state(), v1::CONTACT_STATE_OFFERED);
  EXPECT_EQ(got[0].agent_id(), "a1");
  ASSERT_TRUE(router_->Accept("a1", OfferId(id), now_).ok());
  Deliver(watches);
  got = sink->Drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].state(), v1::CONTACT_STATE_CONNECTED);
  Outcome outcome;
  outcome.resolved = true;
  ASSERT_TRUE(router_->Complete("a1", id, outcome, now_).ok());
  ASSERT_TRUE(router_->WrapUpDone("a1", id, now_).ok());
  Deliver(watches);
  got = sink->Drain();
  ASSERT_FALSE(got.empty());
  EXPECT_TRUE(got.back().ended());
  EXPECT_EQ(got.back().state(), v1::CONTACT_STATE_COMPLETED);
  EXPECT_EQ(got.back().agent_id(), "a1");
  EXPECT_EQ(got.back().ended_reason(), "wrap_up_done");
  ASSERT_TRUE(sink->closed_with);
  EXPECT_TRUE(sink->closed_with->ok());
  EXPECT_EQ(watches.watch_count(), 0u);
}

TEST_F(ContactWatchTest, AStalledWatcherHoldsOnlyTheNewestStatus) {
  ContactWatches watches = MakeWatches();
  const ContactId a = Submit("k0");
  const ContactId b = Submit("k1");
  const ContactId id = Submit("k2");
  Deliver(watches);
  auto sink = std::make_shared<FakeSink>(/*capacity=*/1);
  ASSERT_TRUE(watches.Watch(*router_, ById(id), sink).ok());  // position 3: queued
  for (ContactId ahead : {a, b}) {  // two changes while the client reads nothing
    ASSERT_TRUE(router_->Abandon(ahead, now_).ok());
    Deliver(watches);
    watches.RefreshAll(*router_);
  }
  std::vector<v1::ContactStatus> got = sink->Drain();  // frees room: the newest is posted
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].position(), 3u);
  ASSERT_EQ(posted_.size(), 1u);
  std::exchange(posted_, {})[0]();  // the strand runs the room callback
  got = sink->Drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].position(), 1u);  // position 2 was never queued
}

TEST_F(ContactWatchTest, WatchesAreBoundedAndAnEndedContactNeedsNoSlot) {
  ContactWatches watches = MakeWatches({.max_watches = 1});
  const ContactId live = Submit("k0");
  const ContactId gone = Submit("k1");
  ASSERT_TRUE(router_->Cancel(gone, "test", now_).ok());
  Deliver(watches);
  ASSERT_TRUE(watches.Watch(*router_, ById(live), std::make_shared<FakeSink>()).ok());
  absl::Status refused = watches.Watch(*router_, ById(live), std::make_shared<FakeSink>());
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("config.limits.max_contact_watch_streams = 1"));

  auto ended = std::make_shared<FakeSink>();
  ASSERT_TRUE(watches.Watch(*router_, ById(gone), ended).ok());
  std::vector<v1::ContactStatus> got = ended->Drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].ended());
  EXPECT_TRUE(ended->closed_with);

  watches.CloseAll(absl::UnavailableError("shutting down"));
  EXPECT_EQ(watches.watch_count(), 0u);
}

TEST_F(ContactWatchTest, AWatcherThatWentAwayFreesItsSlotEvenIfNothingChanges) {
  ContactWatches watches = MakeWatches({.max_watches = 1});
  const ContactId id = Submit("k0");
  Deliver(watches);
  auto gone = std::make_shared<FakeSink>();
  ASSERT_TRUE(watches.Watch(*router_, ById(id), gone).ok());
  gone->reader_gone = true;
  watches.RefreshAll(*router_);  // the contact has not moved
  EXPECT_EQ(watches.watch_count(), 0u);
  EXPECT_TRUE(watches.Watch(*router_, ById(id), std::make_shared<FakeSink>()).ok());
}

}  // namespace
}  // namespace ccr
