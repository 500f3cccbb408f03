#include "tests/fuzz/fuzz_support.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "codec/config_loader.h"
#include "codec/wire.h"
#include "engine/apply.h"
#include "google/protobuf/stubs/logging.h"

namespace ccr::fuzz {

namespace {

// Applies a set-up command; the fixture is fixed, so a failure is a bug here.
ApplyResult Setup(Router& router, v1::Command cmd, absl::Duration before_now) {
  ToTimestamp(kFuzzNow - before_now, cmd.mutable_time());
  ApplyResult applied = ApplyCommand(router, cmd);
  CCR_FUZZ_CHECK(applied.status.ok(), absl::StrCat("fixture set-up: ", applied.status.ToString()));
  return applied;
}

uint64_t LastOffer(Router& router) {
  uint64_t offer = 0;
  for (const Event& e : router.TakeEvents()) {
    if (e.kind == EventKind::kOffered) offer = e.offer_id;
  }
  CCR_FUZZ_CHECK(offer != 0, "fixture set-up: no offer made");
  return offer;
}

v1::Command Submit(const std::string& key, v1::Channel channel) {
  v1::Command cmd;
  v1::ContactSpec* c = cmd.mutable_submit()->mutable_contact();
  c->set_idempotency_key(key);
  c->set_channel(channel);
  c->set_topic("general");
  c->mutable_customer()->set_id(absl::StrCat("cust-", key));
  c->mutable_customer()->set_language("en");
  return cmd;
}

}  // namespace

bool KnownRouterIssue(const absl::Status& invariants) {
  return absl::EndsWith(invariants.message(), " over capacity");
}

void CheckInvariantsThrough(Router& router, absl::Time until, const std::string& what) {
  absl::Status invariants = router.CheckInvariants();
  CCR_FUZZ_CHECK(invariants.ok() || KnownRouterIssue(invariants),
                 absl::StrCat("after ", what, ": ", invariants.ToString()));
  router.Tick(until);
  invariants = router.CheckInvariants();
  CCR_FUZZ_CHECK(
      invariants.ok() || KnownRouterIssue(invariants),
      absl::StrCat("after the timers that followed ", what, ": ", invariants.ToString()));
}

void QuietLogs() {
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
}

const RouterConfig& DefaultRouterConfig() {
  static const RouterConfig* config = [] {
    absl::StatusOr<RouterConfig> c = LoadRouterConfig(DefaultConfigYaml());
    CCR_FUZZ_CHECK(c.ok(), c.status().ToString());
    return new RouterConfig(std::move(*c));
  }();
  return *config;
}

RequestFixture MakeRequestFixture() {
  RequestFixture f;
  absl::StatusOr<std::unique_ptr<Router>> router = Router::Create(DefaultRouterConfig());
  CCR_FUZZ_CHECK(router.ok(), router.status().ToString());
  f.router = std::move(*router);
  Router& r = *f.router;

  v1::Command login;
  login.set_agent_id("a-1");
  v1::Login* l = login.mutable_login();
  l->set_agent_id("a-1");
  l->set_display_name("Agent One");
  v1::Skill* skill = l->add_skills();
  skill->set_name("general");
  skill->set_level(5);
  l->add_languages("en");
  v1::ChannelCapacity* cap = l->add_capacities();
  cap->set_channel(v1::CHANNEL_CHAT);
  cap->set_max_concurrent(3);
  l->set_start_available(true);
  Setup(r, login, absl::Seconds(50));

  const ApplyResult first = Setup(r, Submit("fixture-1", v1::CHANNEL_CHAT), absl::Seconds(40));
  v1::Command accept;
  accept.set_agent_id("a-1");
  accept.mutable_accept()->set_offer_id(OfferIdString(LastOffer(r)));
  Setup(r, accept, absl::Seconds(35));
  f.connected_contact = ContactIdString(first.submit->contact);

  Setup(r, Submit("fixture-2", v1::CHANNEL_CHAT), absl::Seconds(30));
  f.pending_offer = OfferIdString(LastOffer(r));

  const ApplyResult third = Setup(r, Submit("fixture-3", v1::CHANNEL_VOICE), absl::Seconds(20));
  f.queued_contact = ContactIdString(third.submit->contact);
  r.TakeEvents();
  return f;
}

}  // namespace ccr::fuzz
