// Fuzz target: the config loader. The input is YAML text, as in a --config
// file or Admin.ReloadConfig: YAML -> JSON -> ccrouter.v1.Config ->
// RouterConfig -> Router::Create. A config the loader accepts must build a
// router, accept a reload into it from the default config, and keep the
// router's invariants while a contact is routed under it.
#include "absl/strings/str_cat.h"
#include "codec/config_loader.h"
#include "codec/wire.h"
#include "engine/apply.h"
#include "tests/fuzz/fuzz_support.h"

namespace ccr::fuzz {

int FuzzConfig(const uint8_t* data, size_t size) {
  QuietLogs();
  // Admin.ReloadConfig refuses more than 1 MiB.
  if (size > 1024 * 1024) return 0;
  const absl::string_view yaml(reinterpret_cast<const char*>(data), size);
  v1::Config wire;
  absl::StatusOr<RouterConfig> config = LoadRouterConfig(yaml, &wire);
  if (!config.ok()) return 0;

  absl::StatusOr<std::unique_ptr<Router>> router = Router::Create(*config);
  CCR_FUZZ_CHECK(router.ok(), absl::StrCat("a loaded config does not build a router again: ",
                                           router.status().ToString()));
  CCR_FUZZ_CHECK((*router)->CheckInvariants().ok(), "a new router breaks its invariants");

  // A reload from the default config into this one, with contacts waiting
  // (they move to the fallback queue when their queue goes away).
  RequestFixture fixture = MakeRequestFixture();
  v1::Command reload;
  ToTimestamp(kFuzzNow, reload.mutable_time());
  reload.mutable_apply_config()->set_config_yaml(std::string(yaml));
  const ApplyResult applied = ApplyCommand(*fixture.router, reload);
  CCR_FUZZ_CHECK(applied.status.code() != absl::StatusCode::kInvalidArgument,
                 absl::StrCat("a config that loads does not apply: ", applied.status.ToString()));
  absl::Status invariants = fixture.router->CheckInvariants();
  CCR_FUZZ_CHECK(invariants.ok() || KnownRouterIssue(invariants),
                 absl::StrCat("after a reload: ", invariants.ToString()));

  // An agent with every configured skill, then one contact per queue (at
  // most 8) carrying every signal the scoring weighs, then a day of timers.
  AgentSpec agent;
  agent.agent_id = "config-fuzz-agent";
  for (const QueueConfig& q : config->queues) {
    for (const SkillRequirement& s : q.skills) agent.skills.push_back({s.skill, 10});
  }
  agent.languages = {config->default_language};
  for (int c = 0; c < kChannelCount; ++c) agent.capacities.emplace_back(Channel(c), 0);
  agent.start_available = true;
  // Duplicate skills are the router's to refuse; the point is what follows.
  (void)(*router)->Login(agent, kFuzzNow);
  std::string keyword;
  if (!config->scoring.keywords.empty()) keyword = config->scoring.keywords.begin()->first;
  int n = 0;
  for (const QueueConfig& q : config->queues) {
    if (n == 8) break;
    v1::ContactSpec contact;
    contact.set_idempotency_key(absl::StrCat("config-fuzz-", n));
    contact.set_channel(ChannelToWire(q.channel));
    contact.set_queue(q.name);
    contact.mutable_customer()->set_tier(static_cast<v1::Tier>(1 + n % 4));
    if (n % 2 == 0) contact.mutable_customer()->add_needs(v1::NEED_ELDERLY);
    v1::Signals* signals = contact.mutable_signals();
    signals->set_complaint(n % 2 == 0);
    signals->set_emergency(n % 3 == 0);
    signals->set_incident_severity(static_cast<v1::Severity>(n % 4));
    signals->set_sentiment(-0.9);
    signals->set_repeat_contacts_24h(n * 3);
    signals->set_escalation_level(n % 4);
    if (!keyword.empty() && keyword.size() <= 64) signals->add_keywords(keyword);
    ++n;
    absl::StatusOr<ContactSpec> spec = ContactSpecFromWire(contact, *config, kFuzzNow);
    CCR_FUZZ_CHECK(spec.ok(), absl::StrCat("a contact for queue ", q.name,
                                           " does not validate: ", spec.status().ToString()));
    absl::StatusOr<SubmitResult> r = (*router)->Submit(*spec, kFuzzNow);
    CCR_FUZZ_CHECK(r.ok(), absl::StrCat("a contact for queue ", q.name,
                                        " is refused: ", r.status().ToString()));
  }
  CheckInvariantsThrough(**router, kFuzzNow + absl::Hours(25), "routing");
  return 0;
}

}  // namespace ccr::fuzz

#ifndef CCR_FUZZ_NO_MAIN
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ccr::fuzz::FuzzConfig(data, size);
}
#endif
