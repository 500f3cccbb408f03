// The router's bounds on client-growable state (RouterLimits in types.h):
// live contacts, distinct languages, contact history, logged-out agents,
// plus the canonical id syntax and the text cut used for events.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "router/router.h"
#include "router/router_state.h"

namespace ccr {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

RouterConfig LimitsConfig() {
  RouterConfig c;
  c.default_language = "en";
  for (int ch = 0; ch < kChannelCount; ++ch) c.channels[ch].offer_timeout = absl::Seconds(10);
  QueueConfig general;
  general.name = "general";
  general.channel = Channel::kVoice;
  general.skills = {{"general", 1}};
  QueueConfig other = general;
  other.name = "other";
  c.queues = {general, other};
  return c;
}

ContactSpec Contact(const std::string& key, const std::string& language = "") {
  ContactSpec s;
  s.idempotency_key = key;
  s.queue = "general";
  s.customer_id = "cust-" + key;
  s.language = language;
  return s;
}

AgentSpec Agent(const std::string& id, std::vector<std::string> languages = {"en"}) {
  AgentSpec a;
  a.agent_id = id;
  a.skills = {{"general", 5}};
  a.languages = std::move(languages);
  a.capacities = {{Channel::kVoice, 1}};
  return a;
}

std::vector<Event> OfKind(const std::vector<Event>& events, EventKind kind) {
  std::vector<Event> out;
  for (const Event& e : events) {
    if (e.kind == kind) out.push_back(e);
  }
  return out;
}

TEST(RouterIds, OnlyCanonicalFormsParse) {
  EXPECT_EQ(ParseContactId("c-1"), 1u);
  EXPECT_EQ(ParseContactId("c-18446744073709551615"), 18446744073709551615u);
  EXPECT_EQ(ParseOfferId("o-42"), 42u);
  for (const char* bad : {"c-01", "c-+1", "c- 1", "c-1 ", "c--1", "c-0", "c-", "c-1x", "c-0x1",
                          "c-18446744073709551616", "C-1", "o-1", " c-1"}) {
    EXPECT_EQ(ParseContactId(bad), std::nullopt) << bad;
  }
  for (const char* bad : {"o-01", "o-+1", "o- 1", "o-0", "c-1", "o-5-", "o--5", "o-05-1", "o-5-01",
                          "o-5-0", "o-5-1-2", "o-5--1"}) {
    EXPECT_EQ(ParseOfferId(bad), std::nullopt) << bad;
  }
  // Cluster mode's "o-EPOCH-N".
  EXPECT_EQ(ParseOfferId("o-255-42"), 42u);
  std::optional<ParsedOfferId> parsed = ParseOfferIdAndEpoch("o-255-42");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->epoch, 255u);
  EXPECT_EQ(parsed->id, 42u);
  EXPECT_EQ(ParseOfferIdAndEpoch("o-42")->epoch, 0u);
}

TEST(RouterIds, AnOwnersOfferIdsNameItsEpoch) {
  EXPECT_EQ(OfferIdString(7), "o-7");
  SetOfferIdEpoch(255);
  EXPECT_EQ(OfferIdString(7), "o-255-7");
  EXPECT_EQ(ParseOfferId(OfferIdString(7)), 7u);
  SetOfferIdEpoch(0);
  EXPECT_EQ(OfferIdString(7), "o-7");
}

TEST(RouterText, TruncateKeepsUtf8WholeAndMarksTheCut) {
  EXPECT_EQ(TruncateText("short", 64), "short");
  std::string long_text(20, 'a');
  for (int i = 0; i < 10; ++i) long_text += "\xC3\xA9";  // é
  const std::string cut = TruncateText(long_text, 35);
  EXPECT_LE(cut.size(), 35u);
  // 35 - 14 = 21 bytes would split the first é: the cut backs off to 20.
  EXPECT_EQ(cut, std::string(20, 'a') + "...[truncated]");
}

TEST(RouterLimits, SubmitBeyondMaxLiveContactsIsRefusedAndChangesNothing) {
  RouterConfig config = LimitsConfig();
  config.limits.max_live_contacts = 2;
  std::unique_ptr<Router> router = *Router::Create(config);
  ASSERT_TRUE(router->Submit(Contact("a"), kT0).ok());
  absl::StatusOr<SubmitResult> second = router->Submit(Contact("b"), kT0);
  ASSERT_TRUE(second.ok());
  router->TakeEvents();
  absl::StatusOr<SubmitResult> third = router->Submit(Contact("c"), kT0);
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(third.status().message(), "config.limits.max_live_contacts"))
      << third.status();
  EXPECT_EQ(router->live_contacts(), 2u);
  EXPECT_EQ(router->FindByIdempotencyKey("c"), std::nullopt);  // may be retried
  EXPECT_TRUE(router->TakeEvents().empty());
  ASSERT_TRUE(router->Cancel(second->contact, "done", kT0).ok());
  EXPECT_TRUE(router->Submit(Contact("c"), kT0).ok());
  EXPECT_TRUE(router->CheckInvariants().ok());
}

TEST(RouterLimits, NewLanguagesBeyondMaxLanguagesAreRefusedNamingTheField) {
  RouterConfig config = LimitsConfig();
  config.limits.max_languages = 3;  // "en" (the default) + 2
  std::unique_ptr<Router> router = *Router::Create(config);
  ASSERT_TRUE(router->Submit(Contact("a", "fr"), kT0).ok());
  ASSERT_TRUE(router->Submit(Contact("b", "de"), kT0).ok());
  ASSERT_TRUE(router->Submit(Contact("c", "fr"), kT0).ok());  // known: fine
  absl::StatusOr<SubmitResult> it = router->Submit(Contact("d", "it"), kT0);
  EXPECT_EQ(it.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(it.status().message(), "contact.language")) << it.status();
  EXPECT_TRUE(absl::StrContains(it.status().message(), "config.limits.max_languages"));
  EXPECT_EQ(router->live_contacts(), 3u);
  absl::Status login = router->Login(Agent("al", {"en", "es"}), kT0);
  EXPECT_EQ(login.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(login.message(), "login.languages")) << login;
  EXPECT_FALSE(router->GetAgent("al", kT0).ok());  // nothing changed
  EXPECT_TRUE(router->Login(Agent("al", {"en", "de"}), kT0).ok());
  EXPECT_EQ(router->Save().languages.size(), 3u);
  EXPECT_TRUE(router->CheckInvariants().ok());
}

TEST(RouterLimits, HistoryKeepsTheNewestEntriesWithinBoundsAndCountsTheDropped) {
  RouterConfig config = LimitsConfig();
  std::unique_ptr<Router> router = *Router::Create(config);
  ASSERT_TRUE(router->Login(Agent("al"), kT0).ok());
  const ContactId c = router->Submit(Contact("a"), kT0)->contact;
  absl::Time now = kT0;
  const std::string note(900, 'n');
  constexpr int kTransfers = 5000;
  for (int i = 0; i < kTransfers; ++i) {
    std::vector<Event> offers = OfKind(router->TakeEvents(), EventKind::kOffered);
    ASSERT_EQ(offers.size(), 1u) << i;
    ASSERT_TRUE(router->Accept("al", offers[0].offer_id, now).ok());
    // The agent sends the contact back to a queue it serves itself.
    ASSERT_TRUE(router->Transfer("al", c, i % 2 ? "general" : "other", note, now).ok());
    now += absl::Milliseconds(1);
  }
  absl::StatusOr<ContactView> view = router->GetContact(c, now);
  ASSERT_TRUE(view.ok());
  size_t bytes = 0;
  for (const std::string& h : view->history) bytes += h.size();
  EXPECT_LE(view->history.size(), config.limits.max_history_entries);
  EXPECT_LE(bytes, config.limits.max_history_bytes);
  ASSERT_GE(view->history.size(), 2u);
  const size_t kept = view->history.size() - 1;
  EXPECT_EQ(view->history.front(),
            absl::StrCat("[", kTransfers - kept, " earlier entries dropped]"));
  EXPECT_TRUE(absl::StartsWith(view->history.back(), "al (")) << view->history.back();
  // A note over the entry bound is cut, marked.
  std::vector<Event> offers = OfKind(router->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  ASSERT_TRUE(router->Accept("al", offers[0].offer_id, now).ok());
  ASSERT_TRUE(router->Transfer("al", c, "other", std::string(5000, 'x'), now).ok());
  view = router->GetContact(c, now);
  EXPECT_EQ(view->history.back().size(), kMaxHistoryEntryBytes);
  EXPECT_TRUE(absl::EndsWith(view->history.back(), "...[truncated]"));
  EXPECT_TRUE(router->CheckInvariants().ok());
}

TEST(RouterLimits, LoggedOutAgentsAreForgottenAfterTheRetention) {
  RouterConfig config = LimitsConfig();
  config.limits.agent_retention = absl::Hours(1);
  config.reoffer_cooldown = absl::Minutes(5);
  std::unique_ptr<Router> router = *Router::Create(config);
  // "al" serves a returning customer (sticky memory) and misses an offer
  // (re-offer exclusion) before logging out: both name it by number.
  ASSERT_TRUE(router->Login(Agent("al"), kT0).ok());
  ASSERT_TRUE(router->Login(Agent("zed"), kT0).ok());
  ASSERT_TRUE(router->SetNotReady("zed", "lunch", kT0).ok());
  ContactSpec served = Contact("a");
  served.customer_id = "returning";
  const ContactId a = router->Submit(served, kT0)->contact;
  std::vector<Event> offers = OfKind(router->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  ASSERT_TRUE(router->Accept("al", offers[0].offer_id, kT0).ok());
  ASSERT_TRUE(router->Complete("al", a, Outcome{true, "", 0, false}, kT0).ok());
  ASSERT_TRUE(router->WrapUpDone("al", a, kT0).ok());
  const ContactId b = router->Submit(Contact("b"), kT0 + absl::Seconds(1))->contact;
  offers = OfKind(router->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  ASSERT_TRUE(router->Reject("al", offers[0].offer_id, "busy", kT0 + absl::Seconds(2)).ok());
  ASSERT_TRUE(router->Logout("al", "shift over", kT0 + absl::Seconds(3)).ok());
  AgentSpec bo = Agent("bo");  // numbered after al
  bo.start_available = false;
  ASSERT_TRUE(router->Login(bo, kT0 + absl::Seconds(4)).ok());
  ASSERT_TRUE(router->CheckInvariants().ok());
  EXPECT_TRUE(router->GetAgent("al", kT0 + absl::Minutes(59)).ok());  // kept a while

  // A snapshot taken before the sweep, restored, must end up identical.
  std::unique_ptr<Router> restored = *Router::Restore(router->config(), router->Save());
  const absl::Time later = kT0 + absl::Minutes(70);
  router->Tick(later);
  restored->Tick(later);
  EXPECT_EQ(router->GetAgent("al", later).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(router->known_agents(), 2u);
  ASSERT_TRUE(router->CheckInvariants().ok()) << router->CheckInvariants();
  ASSERT_TRUE(restored->CheckInvariants().ok()) << restored->CheckInvariants();
  const RouterState saved = router->Save();
  EXPECT_EQ(saved.agents.size(), 2u);
  EXPECT_TRUE(saved.sticky.empty());  // al's sticky memory went with it
  for (const ContactRecord& c : saved.contacts) EXPECT_NE(c.missed_by, "al");
  EXPECT_EQ(restored->Save().agents.size(), 2u);

  // The survivors still work, renumbered: bo takes the waiting contact.
  ASSERT_TRUE(router->SetAvailable("bo", later).ok());
  offers = OfKind(router->TakeEvents(), EventKind::kOffered);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact, b);
  EXPECT_EQ(offers[0].agent_id, "bo");
  ASSERT_TRUE(router->CheckInvariants().ok());
  // A forgotten agent may log in again as a new one.
  EXPECT_TRUE(router->Login(Agent("al"), later).ok());
  EXPECT_TRUE(router->CheckInvariants().ok());
}

TEST(RouterLimits, AgentLoggedInAgainBeforeTheSweepIsKept) {
  RouterConfig config = LimitsConfig();
  config.limits.agent_retention = absl::Hours(1);
  std::unique_ptr<Router> router = *Router::Create(config);
  ASSERT_TRUE(router->Login(Agent("al"), kT0).ok());
  ASSERT_TRUE(router->Logout("al", "break", kT0).ok());
  ASSERT_TRUE(router->Login(Agent("al"), kT0 + absl::Minutes(30)).ok());
  ASSERT_TRUE(router->Logout("al", "end", kT0 + absl::Minutes(40)).ok());
  router->Tick(kT0 + absl::Minutes(80));  // the first logout's sweep: al is not due yet
  EXPECT_TRUE(router->GetAgent("al", kT0 + absl::Minutes(80)).ok());
  router->Tick(kT0 + absl::Minutes(110));
  EXPECT_FALSE(router->GetAgent("al", kT0 + absl::Minutes(110)).ok());
  EXPECT_EQ(router->known_agents(), 0u);
  EXPECT_FALSE(router->NextDeadline().has_value());
}

TEST(RouterLimits, AgentsPageWalksEveryAgentOnceInIdOrder) {
  std::unique_ptr<Router> router = *Router::Create(LimitsConfig());
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(router->Login(Agent(absl::StrCat("agent-", 100 - i)), kT0).ok());
  }
  std::vector<std::string> seen;
  std::string after;
  bool more = true;
  int pages = 0;
  while (more) {
    std::vector<AgentView> page = router->AgentsPage(after, 10, kT0, &more);
    ASSERT_LE(page.size(), 10u);
    for (const AgentView& a : page) seen.push_back(a.agent_id);
    if (!page.empty()) after = page.back().agent_id;
    ++pages;
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.front(), "agent-100");
}

// A snapshot's timer names its epoch (and an overflow step's stage) in `aux`;
// a value no contact can have is refused as data loss naming the timer,
// rather than read back truncated into a live-looking timer.
TEST(RouterRestore, TimerWithAnOutOfRangeEpochIsDataLoss) {
  std::unique_ptr<Router> router = *Router::Create(LimitsConfig());
  ASSERT_TRUE(router->Submit(Contact("a"), kT0).ok());
  RouterState state = router->Save();
  ASSERT_TRUE(Router::Restore(router->config(), state).ok());
  bool found = false;
  for (TimerRecord& t : state.timers) {
    if (t.kind == 2) {  // an SLA deadline: aux is the contact's epoch
      t.aux = uint64_t{1} << 32;
      found = true;
    }
  }
  ASSERT_TRUE(found) << "a queued contact has an SLA deadline timer";
  absl::StatusOr<std::unique_ptr<Router>> restored = Router::Restore(router->config(), state);
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kDataLoss) << restored.status();
  EXPECT_THAT(std::string(restored.status().message()), ::testing::HasSubstr("state.timers["));
}

}  // namespace
}  // namespace ccr
