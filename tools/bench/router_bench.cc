// router_bench: Google Benchmark cases for one routing decision.
//
// A decision is the router command that makes an offer, measured in a
// steady state so every iteration starts from the same shape of state:
//
//  - BM_AgentFreed (agent side): every agent slot is full and Q contacts
//    wait. One cycle: the clock moves 1 ms and Tick() runs due timers; an
//    agent completes a contact and ends its wrap-up at once (WrapUpDone);
//    the router picks the best waiting contact it may take and offers it
//    (the decision); the agent accepts; a contact of the same kind (queue,
//    language, needs) arrives and waits, so the queue depth stays Q.
//  - BM_ContactArrives (contact side): N agents are free and Q emails wait
//    that none of them serves (the email team is off shift). One cycle: the
//    clock moves 1 ms and Tick() runs due timers; a voice or chat contact
//    arrives (Submit) and the router picks the best free agent and offers
//    it (the decision); the agent accepts, completes and ends wrap-up, so
//    it is free again.
//
// Time per iteration is the whole cycle; the counter decision_ns is the
// decision command alone (steady_clock around one call), averaged. Each
// state is built once per (agents, queued) and kept across repetitions.
// The *Fixed cases run 10000 cycles from a fresh state, for callgrind.
// Figures and the commands that reproduce them: BENCHMARKS.md.
//
//   router_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//       --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "router/router.h"

namespace ccr {
namespace {

// Contacts arrive (and are answered) at this rate in simulated time.
constexpr absl::Duration kCycleStep = absl::Milliseconds(1);
constexpr size_t kTemplateCount = 4096;
const absl::Time kStart = absl::FromUnixSeconds(1700000000);

// Six queues over voice, chat and email, each with one overflow step; modelled
// on deploy/config/default.yaml.
RouterConfig BenchConfig() {
  RouterConfig config;
  auto queue = [&config](std::string name, Channel channel, std::string skill, uint32_t level,
                         absl::Duration answer_within, OverflowStep step) {
    QueueConfig q;
    q.name = std::move(name);
    q.channel = channel;
    q.skills = {{std::move(skill), level}};
    q.answer_within = answer_within;
    q.overflow = {std::move(step)};
    config.queues.push_back(std::move(q));
  };
  queue("voice_general", Channel::kVoice, "general", 3, absl::Seconds(20),
        {absl::Seconds(30), 2, {}, false});
  queue("voice_billing", Channel::kVoice, "billing", 4, absl::Seconds(30),
        {absl::Seconds(45), 0, {"voice_general"}, false});
  queue("voice_tech", Channel::kVoice, "tech", 5, absl::Seconds(30),
        {absl::Seconds(45), 2, {}, false});
  queue("chat_general", Channel::kChat, "general", 2, absl::Seconds(180),
        {absl::Seconds(120), 1, {}, false});
  queue("chat_billing", Channel::kChat, "billing", 3, absl::Seconds(180),
        {absl::Seconds(120), 0, {"chat_general"}, false});
  queue("email_general", Channel::kEmail, "general", 2, absl::Hours(24),
        {absl::Hours(1), 1, {}, false});

  ChannelConfig& voice = config.channels[static_cast<int>(Channel::kVoice)];
  voice.agent_capacity = 1;
  voice.exclusive = true;
  voice.offer_timeout = absl::Seconds(15);
  voice.wrap_up = absl::Seconds(30);
  voice.default_handle = absl::Seconds(720);
  ChannelConfig& chat = config.channels[static_cast<int>(Channel::kChat)];
  chat.agent_capacity = 3;
  chat.offer_timeout = absl::Seconds(20);
  chat.wrap_up = absl::Seconds(15);
  chat.default_handle = absl::Seconds(600);
  ChannelConfig& email = config.channels[static_cast<int>(Channel::kEmail)];
  email.agent_capacity = 5;
  email.offer_timeout = absl::Seconds(60);
  email.wrap_up = absl::Seconds(30);
  email.default_handle = absl::Seconds(900);

  config.scoring.tier = {0, 5, 10, 25};
  config.scoring.keywords = {{"cancel", 5}, {"lawyer", 10}, {"regulator", 10}, {"outage", 8}};
  config.escalation.senior_skill = "senior";
  config.escalation.elderly_skill = "elderly_care";
  config.fallback_queue = "voice_general";
  // CCR_BENCH_ROUTING_POLICY=fifo puts every queue under fifo; =ab under an
  // hourly ranked / fifo A/B test (two agent pools per queue; the run stays in
  // the ranked hour). Unset: ranked, the default (BENCHMARKS.md).
  const char* policy = std::getenv("CCR_BENCH_ROUTING_POLICY");
  for (QueueConfig& q : config.queues) {
    if (policy != nullptr && std::string_view(policy) == "fifo") {
      q.routing_policy = RoutingPolicy::kFifo;
    } else if (policy != nullptr && std::string_view(policy) == "ab") {
      q.ab_test.policies = {RoutingPolicy::kRanked, RoutingPolicy::kFifo};
    }
  }
  return config;
}

// Queue weights, by BenchConfig() order.
constexpr double kQueueWeights[] = {25, 15, 10, 20, 10, 20};

// A contact kind. No severe incidents and no dedicated advisors: those
// create follow-up contacts or reservations, which are not a decision.
ContactSpec MakeTemplate(std::mt19937_64& rng, const RouterConfig& config, bool email_only,
                         bool email_never) {
  std::discrete_distribution<int> pick_queue(std::begin(kQueueWeights), std::end(kQueueWeights));
  std::uniform_real_distribution<double> unit(0, 1);
  const auto chance = [&](double p) { return unit(rng) < p; };
  int q = 0;
  do {
    q = pick_queue(rng);
  } while ((email_only && q != 5) || (email_never && q == 5));
  ContactSpec spec;
  spec.queue = config.queues[q].name;
  spec.channel = config.queues[q].channel;
  const double l = unit(rng);
  spec.language = l < 0.7 ? "en" : l < 0.9 ? "es" : "de";
  const double t = unit(rng);
  spec.tier = t < 0.7    ? Tier::kStandard
              : t < 0.85 ? Tier::kSilver
              : t < 0.95 ? Tier::kGold
                         : Tier::kVip;
  spec.elderly = chance(0.05);
  Signals& s = spec.signals;
  s.complaint = chance(0.1);
  s.sentiment = s.complaint ? -1 + 1.5 * unit(rng) : -0.6 + 1.6 * unit(rng);
  s.emergency = spec.channel == Channel::kVoice && chance(0.005);
  const double sev = unit(rng);
  s.severity = sev < 0.8 ? Severity::kNone : sev < 0.95 ? Severity::kMinor : Severity::kModerate;
  s.repeat_contacts_24h = static_cast<uint32_t>(rng() % 4);
  const double esc = unit(rng);
  s.escalation_level = esc < 0.9 ? 0 : esc < 0.97 ? 1 : 2;
  if (chance(0.05)) s.keywords.push_back("cancel");
  spec.topic = config.queues[q].name;
  return spec;
}

// Every agent qualifies at stage 0 for at least one queue of its channel.
AgentSpec MakeAgent(uint32_t i, std::mt19937_64& rng, Channel channel) {
  std::uniform_real_distribution<double> unit(0, 1);
  const auto chance = [&](double p) { return unit(rng) < p; };
  const auto level = [&] { return static_cast<uint32_t>(1 + rng() % 10); };
  AgentSpec a;
  a.agent_id = absl::StrCat("agent-", i);
  a.display_name = absl::StrCat("Agent ", i);
  uint32_t general = level(), billing = chance(0.5) ? level() : 0, tech = chance(0.4) ? level() : 0;
  switch (channel) {
    case Channel::kVoice:
      if (general < 3 && billing < 4 && tech < 5) general = 3 + rng() % 8;
      break;
    case Channel::kChat:
      if (general < 2 && billing < 3) general = 2 + rng() % 9;
      break;
    default:
      if (general < 2) general = 2 + rng() % 9;
      break;
  }
  a.skills.push_back({"general", general});
  if (billing > 0) a.skills.push_back({"billing", billing});
  if (tech > 0) a.skills.push_back({"tech", tech});
  if (chance(0.2)) a.skills.push_back({"senior", 5});
  if (chance(0.2)) a.skills.push_back({"elderly_care", 5});
  a.languages = {"en"};
  if (chance(0.3)) a.languages.push_back("es");
  if (chance(0.15)) a.languages.push_back("de");
  a.capacities = {{channel, 0}};
  return a;
}

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "router_bench: %s: %s\n", what, s.ToString().c_str());
    std::abort();
  }
}

const Event* FindOffer(const std::vector<Event>& events) {
  for (const Event& e : events) {
    if (e.kind == EventKind::kOffered) return &e;
  }
  return nullptr;
}

const Outcome kResolved{true, "resolved", 0, false};

// State shared by both cases: the router, the simulated clock, contact kinds.
struct Sim {
  std::unique_ptr<Router> router;
  absl::Time now = kStart;
  std::mt19937_64 rng{20240601};
  std::vector<ContactSpec> templates;
  std::vector<uint16_t> template_of;  // by contact id
  uint64_t next_key = 0;

  Sim() { router = Router::Create(BenchConfig()).value(); }

  // Submits a contact of kind `t`; a fresh idempotency key and customer.
  absl::StatusOr<SubmitResult> Submit(uint16_t t) {
    ContactSpec spec = templates[t];
    spec.idempotency_key = absl::StrCat("k-", ++next_key);
    spec.customer_id = absl::StrCat("cust-", rng() % 8000000);
    absl::StatusOr<SubmitResult> r = router->Submit(spec, now);
    if (r.ok()) {
      if (template_of.size() <= r->contact) template_of.resize(r->contact * 2 + 1);
      template_of[r->contact] = t;
    }
    return r;
  }
  // The Tick() the engine runs when the next deadline passes.
  void Step() {
    now += kCycleStep;
    router->Tick(now);
    router->TakeEvents();
  }
};

void LogSetup(const char* what, int agents, int queued, absl::Time started, const Sim& sim) {
  std::fprintf(
      stderr, "router_bench: %s agents=%d queued=%d set up in %.1f s (%zu live contacts)\n", what,
      agents, queued, absl::ToDoubleSeconds(absl::Now() - started), sim.router->live_contacts());
}

// ---- agent side --------------------------------------------------------

struct AgentSideState {
  int agents = 0;
  int queued = 0;
  Sim sim;
  std::vector<std::pair<std::string, ContactId>> ring;  // (agent, contact it is connected to)
  size_t pos = 0;
  uint64_t parked = 0;
};

std::unique_ptr<AgentSideState> BuildAgentSide(int agents, int queued) {
  const absl::Time started = absl::Now();
  auto st = std::make_unique<AgentSideState>();
  st->agents = agents;
  st->queued = queued;
  Sim& sim = st->sim;
  const RouterConfig& config = sim.router->config();
  for (size_t i = 0; i < kTemplateCount; ++i) {
    sim.templates.push_back(MakeTemplate(sim.rng, config, false, false));
  }
  // The backlog arrives at the cycle rate, so it looks like the steady
  // state: the oldest contact has waited queued x 1 ms (and overflowed and
  // breached its target when that is past the queue's thresholds).
  for (int i = 0; i < queued; ++i) {
    sim.now += kCycleStep;
    Check(sim.Submit(sim.rng() % kTemplateCount).status(), "submit backlog");
    if (i % 4096 == 0) sim.router->TakeEvents();
  }
  sim.router->TakeEvents();
  std::vector<AgentSpec> specs;
  for (int i = 0; i < agents; ++i) {
    const uint64_t r = sim.rng() % 100;
    const Channel ch = r < 45 ? Channel::kVoice : r < 80 ? Channel::kChat : Channel::kEmail;
    AgentSpec spec = MakeAgent(i, sim.rng, ch);
    spec.start_available = false;
    Check(sim.router->Login(spec, sim.now), "login");
    specs.push_back(std::move(spec));
  }
  sim.router->TakeEvents();
  // Fill every slot: each agent takes its best contacts, and a contact of
  // the same kind replaces each one taken.
  for (const AgentSpec& spec : specs) {
    Check(sim.router->SetAvailable(spec.agent_id, sim.now), "set available");
    std::vector<std::pair<ContactId, uint64_t>> offered;
    for (const Event& e : sim.router->TakeEvents()) {
      if (e.kind == EventKind::kOffered) offered.emplace_back(e.contact, e.offer_id);
    }
    for (const auto& [contact, offer] : offered) {
      Check(sim.router->Accept(spec.agent_id, offer, sim.now), "accept");
      Check(sim.Submit(sim.template_of[contact]).status(), "submit replacement");
      st->ring.emplace_back(spec.agent_id, contact);
    }
    sim.router->TakeEvents();
  }
  std::shuffle(st->ring.begin(), st->ring.end(), sim.rng);
  LogSetup("agent side", agents, queued, started, sim);
  return st;
}

// One cycle; returns the decision's duration.
__attribute__((noinline)) int64_t AgentFreedCycle(AgentSideState& st) {
  Sim& sim = st.sim;
  sim.Step();
  auto& [agent, contact] = st.ring[st.pos];
  Check(sim.router->Complete(agent, contact, kResolved, sim.now), "complete");
  sim.router->TakeEvents();
  const auto t0 = std::chrono::steady_clock::now();
  Check(sim.router->WrapUpDone(agent, contact, sim.now), "wrap-up done");
  const auto t1 = std::chrono::steady_clock::now();
  const std::vector<Event> events = sim.router->TakeEvents();
  const Event* offer = FindOffer(events);
  if (offer == nullptr) {
    // Nothing it may take: leave it not-ready so the state stays steady.
    ++st.parked;
    Check(sim.router->SetNotReady(agent, "bench: nothing eligible", sim.now), "set not ready");
    sim.router->TakeEvents();
    st.ring[st.pos] = std::move(st.ring.back());
    st.ring.pop_back();
    if (st.pos >= st.ring.size()) st.pos = 0;
  } else {
    Check(sim.router->Accept(agent, offer->offer_id, sim.now), "accept");
    absl::StatusOr<SubmitResult> r = sim.Submit(sim.template_of[offer->contact]);
    Check(r.status(), "submit replacement");
    if (r->state != ContactState::kQueued) {
      Check(absl::InternalError("it was offered, so an agent was free"), "submit replacement");
    }
    sim.router->TakeEvents();
    contact = offer->contact;
    if (++st.pos == st.ring.size()) st.pos = 0;
  }
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
}

// The contact side's state; here so each case can free the other's.
struct ContactSideState {
  int agents = 0;
  int queued = 0;
  Sim sim;
  std::vector<uint16_t> routable;  // contact kinds some free agent may take
  size_t next = 0;
  uint64_t unrouted = 0;
};

std::unique_ptr<AgentSideState> g_agent_side;
std::unique_ptr<ContactSideState> g_contact_side;  // one large state in memory at a time

void BM_AgentFreed(benchmark::State& state) {
  const int agents = state.range(0), queued = state.range(1);
  g_contact_side.reset();
  if (g_agent_side == nullptr || g_agent_side->agents != agents || g_agent_side->queued != queued) {
    g_agent_side.reset();
    g_agent_side = BuildAgentSide(agents, queued);
  }
  AgentSideState& st = *g_agent_side;
  int64_t decision_ns = 0;
  const uint64_t parked_before = st.parked;
  for (auto _ : state) {
    if (st.ring.empty()) {
      state.SkipWithError("every agent parked");
      break;
    }
    decision_ns += AgentFreedCycle(st);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["decision_ns"] =
      benchmark::Counter(static_cast<double>(decision_ns), benchmark::Counter::kAvgIterations);
  state.counters["parked"] = static_cast<double>(st.parked - parked_before);
}

// ---- contact side ------------------------------------------------------

std::unique_ptr<ContactSideState> BuildContactSide(int agents, int queued) {
  const absl::Time started = absl::Now();
  auto st = std::make_unique<ContactSideState>();
  st->agents = agents;
  st->queued = queued;
  Sim& sim = st->sim;
  const RouterConfig& config = sim.router->config();
  // Kinds [0, kTemplateCount) are voice and chat; then the email backlog's.
  for (size_t i = 0; i < kTemplateCount; ++i) {
    sim.templates.push_back(MakeTemplate(sim.rng, config, false, true));
  }
  for (size_t i = 0; i < kTemplateCount; ++i) {
    sim.templates.push_back(MakeTemplate(sim.rng, config, true, false));
  }
  for (int i = 0; i < queued; ++i) {
    sim.now += kCycleStep;
    Check(sim.Submit(kTemplateCount + sim.rng() % kTemplateCount).status(), "submit backlog");
    if (i % 4096 == 0) sim.router->TakeEvents();
  }
  sim.router->TakeEvents();
  for (int i = 0; i < agents; ++i) {
    const Channel ch = sim.rng() % 100 < 55 ? Channel::kVoice : Channel::kChat;
    Check(sim.router->Login(MakeAgent(i, sim.rng, ch), sim.now), "login");
    if (i % 4096 == 0) sim.router->TakeEvents();
  }
  sim.router->TakeEvents();
  // Keep the kinds that some free agent may take (with few agents, a rare
  // combination of language and needs may have nobody).
  for (uint16_t t = 0; t < kTemplateCount; ++t) {
    sim.now += kCycleStep;
    absl::StatusOr<SubmitResult> r = sim.Submit(t);
    Check(r.status(), "submit");
    const std::vector<Event> events = sim.router->TakeEvents();
    const Event* offer = FindOffer(events);
    if (offer == nullptr) {
      Check(sim.router->Cancel(r->contact, "bench: nobody qualified", sim.now), "cancel");
    } else {
      Check(sim.router->Accept(offer->agent_id, offer->offer_id, sim.now), "accept");
      Check(sim.router->Complete(offer->agent_id, offer->contact, kResolved, sim.now), "complete");
      Check(sim.router->WrapUpDone(offer->agent_id, offer->contact, sim.now), "wrap-up done");
      st->routable.push_back(t);
    }
    sim.router->TakeEvents();
  }
  std::fprintf(stderr, "router_bench: %zu of %zu contact kinds routable\n", st->routable.size(),
               kTemplateCount);
  LogSetup("contact side", agents, queued, started, sim);
  return st;
}

__attribute__((noinline)) int64_t ContactArrivesCycle(ContactSideState& st) {
  Sim& sim = st.sim;
  sim.Step();
  const uint16_t t = st.routable[st.next];
  if (++st.next == st.routable.size()) st.next = 0;
  ContactSpec spec = sim.templates[t];
  spec.idempotency_key = absl::StrCat("k-", ++sim.next_key);
  spec.customer_id = absl::StrCat("cust-", sim.rng() % 8000000);
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<SubmitResult> r = sim.router->Submit(spec, sim.now);
  const auto t1 = std::chrono::steady_clock::now();
  Check(r.status(), "submit");
  const std::vector<Event> events = sim.router->TakeEvents();
  const Event* offer = FindOffer(events);
  if (offer == nullptr) {
    ++st.unrouted;
    Check(sim.router->Cancel(r->contact, "bench: nobody free", sim.now), "cancel");
  } else {
    Check(sim.router->Accept(offer->agent_id, offer->offer_id, sim.now), "accept");
    Check(sim.router->Complete(offer->agent_id, offer->contact, kResolved, sim.now), "complete");
    Check(sim.router->WrapUpDone(offer->agent_id, offer->contact, sim.now), "wrap-up done");
  }
  sim.router->TakeEvents();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
}

void BM_ContactArrives(benchmark::State& state) {
  const int agents = state.range(0), queued = state.range(1);
  g_agent_side.reset();
  if (g_contact_side == nullptr || g_contact_side->agents != agents ||
      g_contact_side->queued != queued) {
    g_contact_side.reset();
    g_contact_side = BuildContactSide(agents, queued);
  }
  ContactSideState& st = *g_contact_side;
  int64_t decision_ns = 0;
  const uint64_t unrouted_before = st.unrouted;
  for (auto _ : state) decision_ns += ContactArrivesCycle(st);
  state.SetItemsProcessed(state.iterations());
  state.counters["decision_ns"] =
      benchmark::Counter(static_cast<double>(decision_ns), benchmark::Counter::kAvgIterations);
  state.counters["unrouted"] = static_cast<double>(st.unrouted - unrouted_before);
}

// The router's part of Admin.ListQueues, which every wallboard refresh
// asks for on the strand: each queue's figures and its agents by state (one
// pass over the logged-in agents).
void BM_ListQueues(benchmark::State& state) {
  const int agents = state.range(0), queued = 1000;
  g_agent_side.reset();
  if (g_contact_side == nullptr || g_contact_side->agents != agents ||
      g_contact_side->queued != queued) {
    g_contact_side.reset();
    g_contact_side = BuildContactSide(agents, queued);
  }
  Sim& sim = g_contact_side->sim;
  for (auto _ : state) benchmark::DoNotOptimize(sim.router->Queues(sim.now));
}

BENCHMARK(BM_ListQueues)->ArgName("agents")->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_AgentFreed)
    ->ArgNames({"agents", "queued"})
    ->ArgsProduct({{100, 1000, 10000, 100000}, {1000, 100000, 1000000}})
    ->Unit(benchmark::kNanosecond);
BENCHMARK(BM_ContactArrives)
    ->ArgNames({"agents", "queued"})
    ->ArgsProduct({{100, 1000, 10000, 100000}, {1000, 100000, 1000000}})
    ->Unit(benchmark::kNanosecond);

// A fixed number of cycles from a fresh state, for instruction counts under
// valgrind --tool=callgrind (run each alone with --benchmark_filter).
BENCHMARK(BM_AgentFreed)
    ->Name("BM_AgentFreedFixed")
    ->ArgNames({"agents", "queued"})
    ->Args({10000, 100000})
    ->Iterations(10000)
    ->Repetitions(1)
    ->Unit(benchmark::kNanosecond);
BENCHMARK(BM_ContactArrives)
    ->Name("BM_ContactArrivesFixed")
    ->ArgNames({"agents", "queued"})
    ->Args({10000, 100000})
    ->Iterations(10000)
    ->Repetitions(1)
    ->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace ccr

BENCHMARK_MAIN();
