// Router decision benchmarks.
//
// BM_AgentTakesContact: an agent becomes available (SetAvailable) and the
//   router picks the best contact it may take among all queued ones, then
//   offers it. Timed: that one call.
// BM_ContactFindsAgent: a contact arrives (Submit) while agents are free and
//   the router picks the best agent for it, then offers it. Timed: that call.
// Both keep the state steady between iterations (same queue depth, same free
// agents) with untimed commands, and use manual timing around the decision.
#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "router/router.h"

namespace ccr {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);
const char* const kLanguages[] = {"en", "es", "zh-cmn"};

RouterConfig BenchConfig() {
  RouterConfig c;
  c.default_language = "en";
  for (Channel ch : {Channel::kVoice, Channel::kChat, Channel::kEmail}) {
    ChannelConfig& cc = c.channels[static_cast<int>(ch)];
    cc.exclusive = ch == Channel::kVoice;
    cc.agent_capacity = ch == Channel::kVoice ? 1 : ch == Channel::kChat ? 3 : 5;
    cc.wrap_up = absl::ZeroDuration();
    cc.offer_timeout = absl::Hours(1);
  }
  const std::pair<const char*, Channel> kQueues[] = {
      {"voice", Channel::kVoice}, {"chat", Channel::kChat}, {"email", Channel::kEmail}};
  for (const auto& [prefix, channel] : kQueues) {
    for (const char* skill : {"general", "billing"}) {
      QueueConfig q;
      q.name = absl::StrCat(prefix, "_", skill);
      q.channel = channel;
      q.skills = {{skill, 4}};
      q.answer_within = channel == Channel::kEmail ? absl::Hours(24) : absl::Seconds(60);
      q.overflow = {{absl::Seconds(120), 2, {}, false}};
      c.queues.push_back(q);
    }
  }
  c.escalation.senior_skill = "senior";
  c.sticky_window = absl::ZeroDuration();
  c.idempotency_window = absl::Hours(1000);
  return c;
}

ContactSpec Contact(uint64_t n, const char* queue, const char* language) {
  ContactSpec s;
  s.idempotency_key = absl::StrCat("k", n);
  s.queue = queue;
  s.channel = Channel::kVoice;
  s.customer_id = absl::StrCat("cust", n);
  s.language = language;
  s.tier = static_cast<Tier>(n % 4);
  s.signals.sentiment = (n % 7) * -0.1;
  s.signals.repeat_contacts_24h = n % 3;
  return s;
}

AgentSpec VoiceAgent(uint64_t n) {
  AgentSpec a;
  a.agent_id = absl::StrCat("agent", n);
  a.skills = {{"general", 4 + static_cast<uint32_t>(n % 6)},
              {"billing", 4 + static_cast<uint32_t>(n % 5)}};
  if (n % 4 == 0) a.skills.push_back({"senior", 5});
  a.languages = {"en", kLanguages[1 + n % 2]};
  a.capacities = {{Channel::kVoice, 1}};
  a.start_available = false;
  return a;
}

struct World {
  std::unique_ptr<Router> router;
  absl::Time now;
  uint64_t next_contact = 0;
  uint64_t next_agent = 0;
  int64_t agents = 0;
};

// Builds a router with `queued` voice contacts waiting and `agents` voice
// agents logged in. `contacts_language` lets the contact-side benchmark park
// the backlog where the free agents cannot take it.
World& GetWorld(int64_t agents, int64_t queued, bool agents_available,
                const char* contacts_language) {
  static std::map<std::tuple<int64_t, int64_t, bool>, std::unique_ptr<World>> worlds;
  auto& slot = worlds[{agents, queued, agents_available}];
  if (slot) return *slot;
  worlds.clear();  // one big world in memory at a time
  auto& fresh = worlds[{agents, queued, agents_available}];
  fresh = std::make_unique<World>();
  World& w = *fresh;
  w.router = *Router::Create(BenchConfig());
  w.agents = agents;
  absl::Time t = kStart;
  for (int64_t i = 0; i < queued; ++i) {
    t += absl::Microseconds(100);
    const char* queue = i % 2 ? "voice_billing" : "voice_general";
    (void)w.router->Submit(Contact(w.next_contact++, queue, contacts_language), t);
    if (i % 4096 == 0) w.router->TakeEvents();
  }
  for (int64_t i = 0; i < agents; ++i) {
    AgentSpec a = VoiceAgent(w.next_agent++);
    a.start_available = agents_available;
    (void)w.router->Login(a, t);
    if (i % 4096 == 0) w.router->TakeEvents();
  }
  w.now = t + absl::Seconds(1);
  w.router->Tick(w.now);
  w.router->TakeEvents();
  return w;
}

uint64_t OfferIn(const std::vector<Event>& events) {
  for (const Event& e : events) {
    if (e.kind == EventKind::kOffered) return e.offer_id;
  }
  return 0;
}

void BM_AgentTakesContact(benchmark::State& state) {
  World& w = GetWorld(state.range(0), state.range(1), false, "en");
  Router& r = *w.router;
  uint64_t turn = 0;
  for (auto _ : state) {
    const std::string agent = absl::StrCat("agent", turn++ % w.agents);
    const auto start = std::chrono::steady_clock::now();
    absl::Status s = r.SetAvailable(agent, w.now);
    const auto stop = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
    // Untimed: answer, finish, and replace the contact so the depth holds.
    std::vector<Event> events = r.TakeEvents();
    const uint64_t offer = OfferIn(events);
    if (!s.ok() || offer == 0) {
      state.SkipWithError("no offer made");
      break;
    }
    ContactId contact = 0;
    for (const Event& e : events) {
      if (e.kind == EventKind::kOffered) contact = e.contact;
    }
    (void)r.Accept(agent, offer, w.now);
    (void)r.SetNotReady(agent, "bench", w.now);
    (void)r.Complete(agent, contact, Outcome{true, "", 0, false}, w.now);
    (void)r.Submit(
        Contact(w.next_contact++, w.next_contact % 2 ? "voice_billing" : "voice_general", "en"),
        w.now);
    r.TakeEvents();
  }
  state.counters["queued"] = static_cast<double>(state.range(1));
  state.counters["agents"] = static_cast<double>(state.range(0));
}

void BM_ContactFindsAgent(benchmark::State& state) {
  // The backlog waits in French, which no agent speaks, so every agent stays
  // free while the queue is deep.
  World& w = GetWorld(state.range(0), state.range(1), true, "fr");
  Router& r = *w.router;
  for (auto _ : state) {
    const ContactSpec spec =
        Contact(w.next_contact++, w.next_contact % 2 ? "voice_billing" : "voice_general", "en");
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<SubmitResult> submitted = r.Submit(spec, w.now);
    const auto stop = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
    std::vector<Event> events = r.TakeEvents();
    const uint64_t offer = OfferIn(events);
    std::string agent;
    for (const Event& e : events) {
      if (e.kind == EventKind::kOffered) agent = e.agent_id;
    }
    if (!submitted.ok() || offer == 0) {
      state.SkipWithError("no offer made");
      break;
    }
    (void)r.Accept(agent, offer, w.now);
    (void)r.Complete(agent, submitted->contact, Outcome{true, "", 0, false}, w.now);
    r.TakeEvents();
  }
  state.counters["queued"] = static_cast<double>(state.range(1));
  state.counters["agents"] = static_cast<double>(state.range(0));
}

void Matrix(benchmark::internal::Benchmark* b) {
  for (int64_t agents : {100, 1000, 10000, 100000}) {
    for (int64_t queued : {1000, 100000, 1000000}) b->Args({agents, queued});
  }
  b->ArgNames({"agents", "queued"})->UseManualTime()->Unit(benchmark::kNanosecond);
}

BENCHMARK(BM_AgentTakesContact)->Apply(Matrix);
BENCHMARK(BM_ContactFindsAgent)->Apply(Matrix);

}  // namespace
}  // namespace ccr

BENCHMARK_MAIN();
