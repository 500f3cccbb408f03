// queued_memory: memory per queued contact, measured in-process with the
// router alone (no gRPC, no journal): the state the engine holds for every
// contact that waits.
//
//   queued_memory [--contacts N]      (default 1000000)
//
// Builds a router on a six-queue config like router_bench's (voice, chat
// and email, SLA targets and an overflow step each; no agents, so every
// contact waits), then submits N contacts of realistic shape: a 30-byte
// idempotency key, a customer id, topic, language, tier and signals, one a
// simulated millisecond apart with Tick() and TakeEvents() as the engine
// does, so SLA and overflow timers are in their steady state. Prints the
// growth of malloc's bytes in use (mallinfo2().uordblks, the heap the
// contacts really hold) and of the resident set (/proc/self/statm, which
// also counts allocator slack and freed-but-kept pages), each divided by N,
// as one JSON line.
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <random>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "codec/command_line.h"
#include "router/router.h"

ABSL_FLAG(size_t, contacts, 1'000'000, "N: contacts to queue.");

namespace ccr {
namespace {

RouterConfig MemoryConfig() {
  RouterConfig config;
  auto queue = [&config](std::string name, Channel channel, std::string skill,
                         absl::Duration answer_within, OverflowStep step) {
    QueueConfig q;
    q.name = std::move(name);
    q.channel = channel;
    q.skills = {{std::move(skill), 3}};
    q.answer_within = answer_within;
    q.overflow = {std::move(step)};
    config.queues.push_back(std::move(q));
  };
  queue("voice_general", Channel::kVoice, "general", absl::Seconds(20),
        {absl::Seconds(30), 2, {}, false});
  queue("voice_billing", Channel::kVoice, "billing", absl::Seconds(30),
        {absl::Seconds(45), 0, {"voice_general"}, false});
  queue("voice_tech", Channel::kVoice, "tech", absl::Seconds(30),
        {absl::Seconds(45), 2, {}, false});
  queue("chat_general", Channel::kChat, "general", absl::Seconds(180),
        {absl::Seconds(120), 1, {}, false});
  queue("chat_billing", Channel::kChat, "billing", absl::Seconds(180),
        {absl::Seconds(120), 0, {"chat_general"}, false});
  queue("email_general", Channel::kEmail, "general", absl::Hours(24),
        {absl::Hours(1), 1, {}, false});
  // It measures what a queued contact costs, at any count: the live-contact
  // cap (config limits, 500,000 by default) is lifted.
  config.limits.max_live_contacts = std::numeric_limits<size_t>::max();
  config.channels[static_cast<int>(Channel::kVoice)].agent_capacity = 1;
  config.channels[static_cast<int>(Channel::kChat)].agent_capacity = 3;
  config.channels[static_cast<int>(Channel::kEmail)].agent_capacity = 5;
  config.scoring.tier = {0, 5, 10, 25};
  config.escalation.senior_skill = "senior";
  config.fallback_queue = "voice_general";
  return config;
}

size_t HeapInUse() { return mallinfo2().uordblks; }

size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

int Run(int argc, char** argv) {
  ParseCommandLineOrExit(argc, argv, "queued_memory",
                         "usage: queued_memory [--contacts N]\n\nflags:\n");
  const size_t contacts = absl::GetFlag(FLAGS_contacts);
  if (contacts == 0) {
    std::fprintf(stderr, "queued_memory: --contacts needs a positive number\n");
    return 2;
  }
  auto router = Router::Create(MemoryConfig());
  if (!router.ok()) {
    std::fprintf(stderr, "queued_memory: %s\n", router.status().ToString().c_str());
    return 1;
  }
  const char* kQueues[] = {"voice_general", "voice_billing", "voice_tech",
                           "chat_general",  "chat_billing",  "email_general"};
  const Channel kChannels[] = {Channel::kVoice, Channel::kVoice, Channel::kVoice,
                               Channel::kChat,  Channel::kChat,  Channel::kEmail};
  const char* kLanguages[] = {"en", "en", "en", "es", "zh-cmn"};
  std::mt19937_64 rng(6);
  absl::Time now = absl::FromUnixSeconds(1700000000);
  const size_t heap_before = HeapInUse();
  const size_t rss_before = ResidentBytes();
  size_t waiting = 0;
  for (size_t i = 0; i < contacts; ++i) {
    ContactSpec spec;
    const size_t q = rng() % 6;
    spec.idempotency_key = absl::StrCat("gw-telephony-7f3a9c-", 10000000 + i);
    spec.queue = kQueues[q];
    spec.channel = kChannels[q];
    spec.customer_id = absl::StrCat("cust-", rng() % 8'000'000);
    spec.tier = static_cast<Tier>(rng() % 4);
    spec.language = kLanguages[rng() % 5];
    spec.topic = "billing";
    spec.signals.complaint = rng() % 10 == 0;
    spec.signals.sentiment = spec.signals.complaint ? -0.6 : 0.1;
    spec.signals.repeat_contacts_24h = rng() % 3;
    now += absl::Milliseconds(1);
    auto submitted = (*router)->Submit(spec, now);
    if (!submitted.ok()) {
      std::fprintf(stderr, "queued_memory: submit %zu: %s\n", i,
                   submitted.status().ToString().c_str());
      return 1;
    }
    ++waiting;
    if (i % 1000 == 999) {
      (*router)->Tick(now);
      (*router)->TakeEvents();
    }
  }
  (*router)->Tick(now);
  (*router)->TakeEvents();
  const size_t heap_after = HeapInUse();
  const size_t rss_after = ResidentBytes();
  const double heap_per = static_cast<double>(heap_after - heap_before) / contacts;
  const double rss_per = static_cast<double>(rss_after - rss_before) / contacts;
  std::printf(
      "{\"contacts\":%zu,\"heap_bytes\":%zu,\"heap_bytes_per_contact\":%.0f,"
      "\"rss_bytes\":%zu,\"rss_bytes_per_contact\":%.0f}\n",
      waiting, heap_after - heap_before, heap_per, rss_after - rss_before, rss_per);
  return 0;
}

}  // namespace
}  // namespace ccr

int main(int argc, char** argv) { return ccr::Run(argc, argv); }
