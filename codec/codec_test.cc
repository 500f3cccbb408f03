// Tests of the codec: config loading, file reading, request validation and
// conversion, masking.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codec/config_loader.h"
#include "codec/mask.h"
#include "codec/testing/fixtures.h"
#include "codec/wire.h"
#include "engine/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ccr {
namespace {

using ::testing::HasSubstr;

using ::ccr::testing::DefaultConfig;
using ::ccr::testing::kNow;
using ::ccr::testing::ValidContact;

TEST(ConfigLoader, EmbeddedDefaultLoadsWithTheAdvertisedTargets) {
  RouterConfig c = DefaultConfig();
  ASSERT_EQ(c.queues.size(), 8u);
  auto queue = [&](const std::string& name) {
    for (const QueueConfig& q : c.queues) {
      if (q.name == name) return q;
    }
    ADD_FAILURE() << "no queue " << name;
    return QueueConfig{};
  };
  EXPECT_EQ(queue("voice_general").answer_within, absl::Seconds(20));
  EXPECT_DOUBLE_EQ(queue("voice_general").target_ratio, 0.8);
  EXPECT_EQ(queue("chat_general").answer_within, absl::Seconds(180));
  EXPECT_EQ(queue("email_general").answer_within, absl::Hours(24));
  EXPECT_LE(queue("voice_emergency").answer_within, absl::Minutes(15));
  EXPECT_EQ(queue("chat_general").channel, Channel::kChat);
  EXPECT_TRUE(c.channels[static_cast<int>(Channel::kVoice)].exclusive);
  EXPECT_EQ(c.channels[static_cast<int>(Channel::kChat)].agent_capacity, 3u);
  EXPECT_EQ(c.follow_ups.severe_progress_report, absl::Hours(2));
  EXPECT_EQ(c.scoring.keywords.at("lawyer"), 10);
  EXPECT_EQ(c.fallback_queue, "voice_general");
}

TEST(ConfigLoader, UnknownKeyIsNamed) {
  absl::StatusOr<RouterConfig> c = LoadRouterConfig(
      "queues: [{name: q, channel: voice, answer_within_seconds: 20}]\nqueus_typo: 1\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("queus_typo"));
}

TEST(ConfigLoader, ServiceObjectiveDefaultsToTheTargetRatioAndIsCheckedByName) {
  absl::StatusOr<RouterConfig> c = LoadRouterConfig(
      "queues: [{name: a, channel: voice, target_ratio: 0.9},\n"
      "         {name: b, channel: voice, service_objective: 0.7},\n"
      "         {name: c, channel: voice, service_objective: 0}]\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->queues[0].service_objective.has_value());  // a: its target ratio, 0.9
  EXPECT_EQ(c->queues[1].service_objective, 0.7);
  EXPECT_EQ(c->queues[2].service_objective, 0.0);  // never
  c = LoadRouterConfig("queues: [{name: q, channel: voice, service_objective: 1.2}]\n");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("config.queues[0].service_objective"));
}

TEST(ConfigLoader, BadValuesAreNamed) {
  absl::StatusOr<RouterConfig> c =
      LoadRouterConfig("queues: [{name: q, channel: voice, target_ratio: 1.5}]\n");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("config.queues[0].target_ratio"));

  c = LoadRouterConfig("queues: [{name: q, channel: telepathy}]\n");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("channel"));

  c = LoadRouterConfig("queues: [{name: q}]\n");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("config.queues[0].channel"));

  c = LoadRouterConfig("queues: [{name: q, channel: voice}]\nfallback_queue: nowhere\n");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("config.fallback_queue"));

  c = LoadRouterConfig("queues: [{name: q, channel: voice\n");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("YAML error at line"));
}

// routing_policy and ab_test: a queue's own choice, else the config's, else
// ranked; bad values are refused naming the field and changing nothing.
TEST(ConfigLoader, RoutingPoliciesResolvePerQueueAndBadOnesAreNamed) {
  absl::StatusOr<RouterConfig> c = LoadRouterConfig(
      "routing_policy: fifo\n"
      "queues:\n"
      "  - {name: a, channel: voice}\n"
      "  - {name: b, channel: voice, routing_policy: ranked}\n"
      "  - {name: c, channel: voice, ab_test: {policies: [fifo, ranked], period_seconds: 1800}}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->queues[0].routing_policy, RoutingPolicy::kFifo);
  EXPECT_TRUE(c->queues[0].ab_test.policies.empty());
  EXPECT_EQ(c->queues[1].routing_policy, RoutingPolicy::kRanked);
  EXPECT_EQ(c->queues[2].ab_test.policies,
            (std::vector<RoutingPolicy>{RoutingPolicy::kFifo, RoutingPolicy::kRanked}));
  EXPECT_EQ(c->queues[2].ab_test.period, absl::Minutes(30));

  // A config-wide A/B test (default period: an hour) for queues naming neither.
  c = LoadRouterConfig(
      "ab_test: {policies: [ranked, fifo]}\n"
      "queues: [{name: a, channel: voice}, {name: b, channel: voice, routing_policy: fifo}]\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->queues[0].ab_test.policies.size(), 2u);
  EXPECT_EQ(c->queues[0].ab_test.period, absl::Hours(1));
  EXPECT_TRUE(c->queues[1].ab_test.policies.empty());
  EXPECT_EQ(c->queues[1].routing_policy, RoutingPolicy::kFifo);
  // Nothing named: ranked, as before policies existed.
  c = LoadRouterConfig("queues: [{name: a, channel: voice}]\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->queues[0].routing_policy, RoutingPolicy::kRanked);
  EXPECT_TRUE(c->queues[0].ab_test.policies.empty());

  const std::string three = "  - {name: a, channel: voice}\n  - {name: b, channel: voice}\n";
  c = LoadRouterConfig("queues:\n" + three +
                       "  - {name: c, channel: voice, routing_policy: lifo}\n");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(),
            "config.queues[2].routing_policy: unknown routing policy 'lifo' (expected ranked or "
            "fifo)");
  c = LoadRouterConfig("routing_policy: Fifo\nqueues: [{name: a, channel: voice}]\n");
  EXPECT_THAT(c.status().message(), HasSubstr("config.routing_policy: unknown routing policy"));
  c = LoadRouterConfig("queues: [{name: a, channel: voice, ab_test: {policies: [fifo]}}]\n");
  EXPECT_EQ(c.status().message(),
            "config.queues[0].ab_test.policies: 1 named; an A/B test alternates 2 to 8");
  c = LoadRouterConfig("queues: [{name: a, channel: voice, ab_test: {policies: [fifo, rankd]}}]\n");
  EXPECT_THAT(c.status().message(),
              HasSubstr("config.queues[0].ab_test.policies[1]: unknown routing policy 'rankd'"));
  c = LoadRouterConfig(
      "ab_test: {policies: [fifo, ranked], period_seconds: 0.5}\n"
      "queues: [{name: a, channel: voice}]\n");
  EXPECT_THAT(c.status().message(),
              HasSubstr("config.ab_test.period_seconds: 0.5 is out of range"));
}

TEST(ConfigLoader, SeniorWaitShareIsReadCheckedAndNamed) {
  EXPECT_DOUBLE_EQ(DefaultConfig().escalation.senior_wait_share, 0.25);
  const std::string queues = "queues: [{name: q, channel: voice}]\n";
  absl::StatusOr<RouterConfig> c = LoadRouterConfig(queues + "escalation: {senior_skill: s}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->escalation.senior_wait_share, 0.25);  // unset: the default, not 0
  c = LoadRouterConfig(queues + "escalation: {senior_wait_share: 0}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->escalation.senior_wait_share, 0);
  for (const char* bad : {"-0.1", "100.5", ".nan"}) {
    c = LoadRouterConfig(queues + "escalation: {senior_wait_share: " + bad + "}\n");
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(c.status().message(), HasSubstr("escalation.senior_wait_share")) << bad;
  }
}

TEST(ConfigLoader, HeartbeatSettingsOutOfRangeAreNamed) {
  const std::string queue = "queues: [{name: q, channel: voice}]\n";
  absl::StatusOr<RouterConfig> c = LoadRouterConfig(queue + "heartbeat_interval_seconds: 0.01\n");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("config.heartbeat_interval_seconds"));
  c = LoadRouterConfig(queue + "heartbeat_interval_seconds: -5\n");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("config.heartbeat_interval_seconds"));
  c = LoadRouterConfig(queue + "heartbeat_missed_limit: 1000\n");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("config.heartbeat_missed_limit"));
  EXPECT_TRUE(
      LoadRouterConfig(queue + "heartbeat_interval_seconds: 0.5\nheartbeat_missed_limit: 2\n")
          .ok());
}

TEST(ConfigLoader, HttpOriginsAndDesktopCapAreCheckedAndNamed) {
  const std::string queue = "queues: [{name: q, channel: voice}]\n";
  v1::Config wire;
  ASSERT_TRUE(LoadRouterConfig(queue + "http: {allowed_origins: ['https://desk.example.com', "
                                       "'http://127.0.0.1:8080'], max_websocket_desktops: 5000}\n",
                               &wire)
                  .ok());
  EXPECT_EQ(wire.http().allowed_origins_size(), 2);
  EXPECT_EQ(wire.http().max_websocket_desktops(), 5000u);
  for (const char* bad : {"desk.example.com", "https://desk.example.com/",
                          "https://Desk.example.com", "https://", "ftp://desk.example.com"}) {
    absl::StatusOr<RouterConfig> c =
        LoadRouterConfig(queue + "http: {allowed_origins: ['ok.example.com', '" + bad + "']}\n");
    // The first entry is bad too; the message names the first bad one.
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_THAT(c.status().message(), HasSubstr("config.http.allowed_origins[0]")) << bad;
    c = LoadRouterConfig(queue + "http: {allowed_origins: ['https://ok.example.com', '" + bad +
                         "']}\n");
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_THAT(c.status().message(), HasSubstr("config.http.allowed_origins[1]")) << bad;
  }
  absl::StatusOr<RouterConfig> c =
      LoadRouterConfig(queue + "http: {max_websocket_desktops: 2000000}\n");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("config.http.max_websocket_desktops"));
}

TEST(ConfigLoader, QuotedScalarsStayStrings) {
  absl::StatusOr<std::string> json = YamlToJson("name: '123'\nplain: 123\nflag: true\n");
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, R"({"name":"123","plain":123,"flag":true})");
}

// Nine levels of nine aliases: 432 bytes that stand for 9^9 (387 million)
// nodes once the aliases are expanded.
std::string AliasBomb() {
  std::string yaml =
      "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char level = 'b'; level <= 'i'; ++level) {
    const char prev = level - 1;
    absl::StrAppend(&yaml, std::string(1, level), ": &", std::string(1, level), " [");
    for (int i = 0; i < 9; ++i) absl::StrAppend(&yaml, i ? "," : "", "*", std::string(1, prev));
    yaml += "]\n";
  }
  return yaml;
}

TEST(ConfigLoader, AliasBombIsRefusedNamingTheLimit) {
  const std::string bomb = AliasBomb();
  ASSERT_LT(bomb.size(), 500u);
  absl::StatusOr<RouterConfig> c = LoadRouterConfig(bomb);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("more than 200000 nodes"));
  EXPECT_THAT(c.status().message(), HasSubstr("aliases expand"));
  EXPECT_THAT(c.status().message(), HasSubstr("line "));
  // Inside a real config too, as Admin.ReloadConfig would get it.
  c = LoadRouterConfig(absl::StrCat(DefaultConfigYaml(), "\nwellbeing: {}\n", bomb));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("more than 200000 nodes"));
}

TEST(ConfigLoader, AliasesWithinTheBudgetStillLoad) {
  absl::StatusOr<RouterConfig> c = LoadRouterConfig(
      "queues:\n"
      "  - {name: a, channel: voice, skills: &billing [{skill: billing, min_level: 3}]}\n"
      "  - {name: b, channel: voice, skills: *billing}\n"
      "fallback_queue: a\n");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->queues.size(), 2u);
  ASSERT_EQ(c->queues[1].skills.size(), 1u);
  EXPECT_EQ(c->queues[1].skills[0].skill, "billing");
}

TEST(ConfigLoader, CyclicAliasAndDeepNestingAreRefused) {
  // An alias to the collection it sits in: a cycle, endless when walked.
  absl::StatusOr<std::string> json = YamlToJson("queues: &q [*q]\n");
  ASSERT_FALSE(json.ok());
  EXPECT_THAT(json.status().message(), HasSubstr("nested more than 64 deep"));
  json = YamlToJson(absl::StrCat("queues: ", std::string(100, '['), std::string(100, ']'), "\n"));
  ASSERT_FALSE(json.ok());
  EXPECT_THAT(json.status().message(), HasSubstr("nested more than 64 deep"));
}

TEST(ConfigLoader, YamlOverOneMebibyteIsRefusedNamingTheLimit) {
  std::string yaml = std::string(DefaultConfigYaml());
  yaml += "\n#" + std::string(kMaxConfigYamlBytes - yaml.size() - 3, 'x') + "\n";
  ASSERT_EQ(yaml.size(), kMaxConfigYamlBytes);
  EXPECT_TRUE(LoadRouterConfig(yaml).ok());
  yaml += "\n";
  absl::StatusOr<RouterConfig> c = LoadRouterConfig(yaml);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("over the limit of 1048576 bytes"));
}

TEST(ReadFile, OnlyRegularFilesWithinTheLimit) {
  TempDir dir("ccr-edge");
  const std::string fifo = dir.Path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // A FIFO with no writer would block an ordinary open for ever.
  absl::StatusOr<std::string> text = ReadFile(fifo);
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(text.status().message(), HasSubstr(absl::StrCat("'", fifo, "'")));
  EXPECT_THAT(text.status().message(), HasSubstr("not a regular file"));
  text = ReadFile(dir.Path(""));
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(text.status().message(), HasSubstr("not a regular file"));

  const std::string file = dir.Path("ten-bytes");
  {
    std::ofstream out(file);
    out << "0123456789";
  }
  ASSERT_TRUE(ReadFile(file, 10).ok());
  EXPECT_EQ(*ReadFile(file, 10), "0123456789");
  text = ReadFile(file, 9);
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(text.status().message(), HasSubstr("10 bytes, over the limit of 9 bytes"));
  EXPECT_EQ(ReadFile(dir.Path("missing")).status().code(), absl::StatusCode::kNotFound);
}

TEST(ConfigLoader, RestartOnlyKeysThatChangeAreNamed) {
  v1::Config running;
  ASSERT_TRUE(LoadRouterConfig(DefaultConfigYaml(), &running).ok());
  v1::Config next = running;
  EXPECT_THAT(ChangedRestartOnlyKeys(running, next), ::testing::IsEmpty());
  next.set_sticky_window_seconds(running.sticky_window_seconds() + 60);  // reloadable
  next.mutable_limits()->set_max_live_contacts(1000);                    // reloadable
  EXPECT_THAT(ChangedRestartOnlyKeys(running, next), ::testing::IsEmpty());
  next.set_max_strand_backlog(running.max_strand_backlog() + 1);
  next.mutable_limits()->set_event_window(7);
  next.mutable_tls()->set_cert_file("/etc/ccrouter/cert.pem");
  EXPECT_THAT(ChangedRestartOnlyKeys(running, next),
              ::testing::ElementsAre("config.tls", "config.max_strand_backlog",
                                     "config.limits.event_window"));
}

TEST(Wire, ValidContactPicksTheChannelDefaultQueue) {
  absl::StatusOr<ContactSpec> s = ContactSpecFromWire(ValidContact(), DefaultConfig(), kNow);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->queue, "voice_general");
  EXPECT_EQ(s->tier, Tier::kGold);
}

// Every channel of the embedded config has a queue of its own channel: a
// gateway that names no queue is never refused ("serves voice, not video").
TEST(Wire, EveryChannelOfTheEmbeddedConfigHasAQueueOfItsChannel) {
  const RouterConfig config = DefaultConfig();
  for (int c = 0; c < kChannelCount; ++c) {
    v1::ContactSpec spec = ValidContact();
    spec.set_channel(ChannelToWire(Channel(c)));
    absl::StatusOr<ContactSpec> s = ContactSpecFromWire(spec, config, kNow);
    ASSERT_TRUE(s.ok()) << ChannelName(Channel(c)) << ": " << s.status();
    const auto queue = std::find_if(config.queues.begin(), config.queues.end(),
                                    [&](const QueueConfig& q) { return q.name == s->queue; });
    ASSERT_NE(queue, config.queues.end()) << s->queue;
    EXPECT_EQ(queue->channel, Channel(c))
        << ChannelName(Channel(c)) << " contacts go to '" << s->queue << "', which serves "
        << ChannelName(queue->channel);
  }
}

// README: events carry contact ids, never customer ids, whatever the role.
// The digest is journalled (and kept in snapshots) with every submit, and a
// retry after a restart is compared against the stored one: the same request
// must hash the same in every release, or an honest retry reads as "the same
// key with a different request". The value below is what the first release
// computed; the attributes are a map, so this also pins its ordering.
TEST(Wire, SubmitRequestDigestIsStableAcrossReleases) {
  v1::ContactSpec c = ValidContact();
  c.set_topic("billing");
  c.mutable_signals()->add_keywords("refund");
  for (const char* key : {"zeta", "alpha", "mid", "beta", "omega"}) {
    (*c.mutable_attributes())[key] = absl::StrCat("value of ", key);
  }
  EXPECT_EQ(SubmitRequestDigest(c), 12424139818588454792u);
  v1::ContactSpec reordered = ValidContact();
  reordered.set_topic("billing");
  reordered.mutable_signals()->add_keywords("refund");
  for (const char* key : {"omega", "beta", "mid", "alpha", "zeta"}) {
    (*reordered.mutable_attributes())[key] = absl::StrCat("value of ", key);
  }
  EXPECT_EQ(SubmitRequestDigest(reordered), SubmitRequestDigest(c));
  reordered.set_topic("sales");
  EXPECT_NE(SubmitRequestDigest(reordered), SubmitRequestDigest(c));
}

TEST(Wire, LifecycleEventsHaveNoCustomerIdField) {
  EXPECT_EQ(v1::LifecycleEvent::descriptor()->FindFieldByName("customer_id"), nullptr);
}

TEST(Wire, TopicPicksItsQueue) {
  v1::ContactSpec c = ValidContact();
  c.set_topic("refund");
  absl::StatusOr<ContactSpec> s = ContactSpecFromWire(c, DefaultConfig(), kNow);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->queue, "voice_billing");
}

// ---- Update merges signals ----

Signals AllSignalsSet() {
  Signals s;
  s.complaint = true;
  s.emergency = true;
  s.severity = Severity::kSevere;
  s.sentiment = -0.6;
  s.repeat_contacts_24h = 4;
  s.escalation_level = 2;
  s.keywords = {"lawyer"};
  return s;
}

std::string Describe(const Signals& s) {
  return absl::StrCat("complaint=", s.complaint, " emergency=", s.emergency,
                      " severity=", static_cast<int>(s.severity), " sentiment=", s.sentiment,
                      " repeat=", s.repeat_contacts_24h, " escalation=", s.escalation_level,
                      " keywords=", absl::StrJoin(s.keywords, ","));
}

// One field sent at a time: that field changes, every other one stays.
TEST(UpdateMerge, EachSignalSentAloneChangesOnlyItself) {
  struct Case {
    const char* name;
    std::function<void(v1::Signals*)> send;
    std::function<void(Signals*)> expect;
  };
  const std::vector<Case> cases = {
      {"complaint", [](v1::Signals* w) { w->set_complaint(false); },
       [](Signals* s) { s->complaint = false; }},
      {"emergency", [](v1::Signals* w) { w->set_emergency(false); },
       [](Signals* s) { s->emergency = false; }},
      {"incident_severity", [](v1::Signals* w) { w->set_incident_severity(v1::SEVERITY_MINOR); },
       [](Signals* s) { s->severity = Severity::kMinor; }},
      {"sentiment", [](v1::Signals* w) { w->set_sentiment(0.5); },
       [](Signals* s) { s->sentiment = 0.5; }},
      {"repeat_contacts_24h", [](v1::Signals* w) { w->set_repeat_contacts_24h(0); },
       [](Signals* s) { s->repeat_contacts_24h = 0; }},
      {"escalation_level", [](v1::Signals* w) { w->set_escalation_level(0); },
       [](Signals* s) { s->escalation_level = 0; }},
      {"keywords", [](v1::Signals* w) { w->add_keywords("outage"); },
       [](Signals* s) { s->keywords = {"outage"}; }},
  };
  for (const Case& c : cases) {
    v1::UpdateRequest update;
    update.set_contact_id("c-1");
    c.send(update.mutable_signals());
    absl::StatusOr<Signals> merged = MergeSignalsFromWire(AllSignalsSet(), update);
    ASSERT_TRUE(merged.ok()) << c.name << ": " << merged.status();
    Signals want = AllSignalsSet();
    c.expect(&want);
    EXPECT_EQ(Describe(*merged), Describe(want)) << "sent only " << c.name;
  }
}

TEST(UpdateMerge, MaskSetsNamedFieldsEvenWhenAbsentOrEmpty) {
  v1::UpdateRequest update;
  update.mutable_update_mask()->add_paths("signals.keywords");
  update.mutable_update_mask()->add_paths("signals.complaint");
  absl::StatusOr<Signals> merged = MergeSignalsFromWire(AllSignalsSet(), update);
  ASSERT_TRUE(merged.ok()) << merged.status();
  Signals want = AllSignalsSet();
  want.keywords.clear();
  want.complaint = false;
  EXPECT_EQ(Describe(*merged), Describe(want));

  update.mutable_update_mask()->Clear();
  update.mutable_update_mask()->add_paths("signals");
  merged = MergeSignalsFromWire(AllSignalsSet(), update);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(Describe(*merged), Describe(Signals{}));
}

TEST(UpdateMerge, BadMaskPathOrValueIsNamed) {
  v1::UpdateRequest update;
  update.mutable_update_mask()->add_paths("signals.sentiment");
  update.mutable_update_mask()->add_paths("tier");
  absl::StatusOr<Signals> merged = MergeSignalsFromWire(AllSignalsSet(), update);
  ASSERT_FALSE(merged.ok());
  EXPECT_THAT(merged.status().message(), HasSubstr("update_mask.paths[1]"));

  update.clear_update_mask();
  update.mutable_signals()->set_sentiment(3);
  merged = MergeSignalsFromWire(AllSignalsSet(), update);
  ASSERT_FALSE(merged.ok());
  EXPECT_THAT(merged.status().message(), HasSubstr("signals.sentiment"));
}

// Through ApplyCommand, as live and replay run it: a sentiment-only update
// keeps the emergency flag (it used to drop its 1,000 points), while a record
// journalled before merge semantics still replays as the replace it was.
struct BadContact {
  const char* name;
  std::function<void(v1::ContactSpec*)> mutate;
  absl::StatusCode code;
  const char* field;
};

TEST(Wire, EveryBadFieldIsRejectedAndNamed) {
  const BadContact cases[] = {
      {"no key", [](v1::ContactSpec* c) { c->clear_idempotency_key(); },
       absl::StatusCode::kInvalidArgument, "contact.idempotency_key"},
      {"long key", [](v1::ContactSpec* c) { c->set_idempotency_key(std::string(200, 'k')); },
       absl::StatusCode::kInvalidArgument, "contact.idempotency_key"},
      {"no channel", [](v1::ContactSpec* c) { c->clear_channel(); },
       absl::StatusCode::kInvalidArgument, "contact.channel"},
      {"unknown queue", [](v1::ContactSpec* c) { c->set_queue("nope"); },
       absl::StatusCode::kNotFound, "contact.queue"},
      {"queue of another channel", [](v1::ContactSpec* c) { c->set_queue("chat_general"); },
       absl::StatusCode::kInvalidArgument, "contact.queue"},
      {"sentiment", [](v1::ContactSpec* c) { c->mutable_signals()->set_sentiment(2); },
       absl::StatusCode::kInvalidArgument, "contact.signals.sentiment"},
      {"escalation", [](v1::ContactSpec* c) { c->mutable_signals()->set_escalation_level(7); },
       absl::StatusCode::kInvalidArgument, "contact.signals.escalation_level"},
      {"keywords",
       [](v1::ContactSpec* c) {
         for (int i = 0; i < 40; ++i) c->mutable_signals()->add_keywords("k");
       },
       absl::StatusCode::kInvalidArgument, "contact.signals.keywords"},
      {"tier",
       [](v1::ContactSpec* c) { c->mutable_customer()->set_tier(static_cast<v1::Tier>(9)); },
       absl::StatusCode::kInvalidArgument, "contact.customer.tier"},
      {"attribute value",
       [](v1::ContactSpec* c) { (*c->mutable_attributes())["note"] = std::string(2000, 'x'); },
       absl::StatusCode::kInvalidArgument, "contact.attributes"},
      {"proactive without detection time",
       [](v1::ContactSpec* c) { c->set_direction(v1::DIRECTION_PROACTIVE_OUTBOUND); },
       absl::StatusCode::kInvalidArgument, "contact.problem_detected_at"},
      {"schedule too far",
       [](v1::ContactSpec* c) {
         c->mutable_scheduled_for()->set_seconds(absl::ToUnixSeconds(kNow + absl::Hours(24 * 60)));
       },
       absl::StatusCode::kInvalidArgument, "contact.scheduled_for"},
  };
  const RouterConfig config = DefaultConfig();
  for (const BadContact& bad : cases) {
    v1::ContactSpec c = ValidContact();
    bad.mutate(&c);
    absl::StatusOr<ContactSpec> s = ContactSpecFromWire(c, config, kNow);
    ASSERT_FALSE(s.ok()) << bad.name;
    EXPECT_EQ(s.status().code(), bad.code) << bad.name << ": " << s.status();
    EXPECT_THAT(s.status().message(), HasSubstr(bad.field)) << bad.name;
  }
}

TEST(Wire, LoginValidation) {
  v1::Login login;
  EXPECT_THAT(AgentSpecFromWire(login).status().message(), HasSubstr("login.agent_id"));
  login.set_agent_id("alice");
  login.add_skills()->set_name("billing");
  EXPECT_THAT(AgentSpecFromWire(login).status().message(), HasSubstr("login.skills[0].level"));
  login.mutable_skills(0)->set_level(7);
  login.add_capacities()->set_max_concurrent(3);
  EXPECT_THAT(AgentSpecFromWire(login).status().message(),
              HasSubstr("login.capacities[0].channel"));
  login.mutable_capacities(0)->set_channel(v1::CHANNEL_CHAT);
  absl::StatusOr<AgentSpec> spec = AgentSpecFromWire(login);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->skills[0].level, 7u);
  EXPECT_EQ(spec->capacities[0].first, Channel::kChat);
}

TEST(Wire, IdsRoundTripAndMalformedOnesAreNamed) {
  EXPECT_EQ(*ContactIdFromWire("c-42", "contact_id"), 42u);
  EXPECT_THAT(ContactIdFromWire("42", "contact_id").status().message(), HasSubstr("contact_id"));
  EXPECT_THAT(ContactIdFromWire("c-0", "x").status().message(), HasSubstr("malformed"));
  EXPECT_THAT(OfferIdFromWire("", "accept.offer_id").status().message(),
              HasSubstr("accept.offer_id: required"));
  EXPECT_EQ(*OfferIdFromWire("o-7", "offer"), 7u);
}

TEST(WireIds, AnOwnerRefusesTheOffersOfAnEarlierOneByName) {
  SetOfferIdEpoch(300);
  EXPECT_EQ(*OfferIdFromWire("o-300-7", "accept.offer_id"), 7u);
  for (const char* earlier : {"o-255-7", "o-7"}) {
    absl::StatusOr<uint64_t> refused = OfferIdFromWire(earlier, "accept.offer_id");
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << earlier;
    EXPECT_THAT(refused.status().message(), HasSubstr("accept.offer_id: '")) << earlier;
    EXPECT_THAT(refused.status().message(), HasSubstr("earlier owner")) << earlier;
  }
  SetOfferIdEpoch(0);  // a single node takes any well-formed id
  EXPECT_EQ(*OfferIdFromWire("o-255-7", "accept.offer_id"), 7u);
}

TEST(Masking, CustomerIdsAndPhonesNeverAppearWhole) {
  EXPECT_EQ(MaskId("customer-4242"), "cu*********42");
  EXPECT_EQ(MaskId("abcd"), "****");
  EXPECT_EQ(MaskId(""), "");
  EXPECT_EQ(MaskPhone("+442071234567"), "+**********67");
  EXPECT_EQ(MaskPhone("123"), "***");
}

}  // namespace
}  // namespace ccr

namespace ccr {
namespace {

TEST(Wire, EventFreeTextIsCutToItsBoundWithAMarker) {
  Event e;
  e.kind = EventKind::kCompleted;
  e.contact = 7;
  e.reason = std::string(5000, 'r');
  e.outcome.disposition = std::string(3000, 'd') + "\xC3\xA9";
  v1::LifecycleEvent wire;
  EventToWire(e, 1, &wire);
  EXPECT_LE(wire.reason().size(), InputLimits::kMaxEventTextBytes);
  EXPECT_THAT(wire.reason(), ::testing::EndsWith("...[truncated]"));
  EXPECT_LE(wire.outcome().disposition().size(), InputLimits::kMaxEventTextBytes);
  std::string bytes;
  EXPECT_TRUE(wire.SerializeToString(&bytes));  // still valid UTF-8
  e.reason = "short";
  EventToWire(e, 2, &wire);
  EXPECT_EQ(wire.reason(), "short");
}

TEST(Wire, EventsSayWhetherTheContactIsAnEmergency) {
  Event e;
  e.kind = EventKind::kQueued;
  e.contact = 7;
  v1::LifecycleEvent wire;
  EventToWire(e, 1, &wire);
  EXPECT_FALSE(wire.emergency());
  e.emergency = true;
  EventToWire(e, 2, &wire);
  EXPECT_TRUE(wire.emergency());
}

TEST(Wire, QueuesCarryTheirAgentsByState) {
  QueueStats q;
  q.agents_eligible = 9;
  q.agents_available = 1;
  q.agents_busy = 2;
  q.agents_wrap_up = 3;
  q.agents_not_ready = 4;
  q.agents_resting = 5;
  v1::QueueSnapshot wire;
  QueueToWire(q, &wire);
  EXPECT_EQ(wire.agents_eligible(), 9u);
  EXPECT_EQ(wire.agents_available(), 1u);
  EXPECT_EQ(wire.agents_busy(), 2u);
  EXPECT_EQ(wire.agents_wrap_up(), 3u);
  EXPECT_EQ(wire.agents_not_ready(), 4u);
  EXPECT_EQ(wire.agents_resting(), 5u);
}

TEST(Wire, OnlyCanonicalIdsParse) {
  for (const char* alias : {"c-01", "c-+1", "c- 1"}) {
    absl::StatusOr<ContactId> id = ContactIdFromWire(alias, "cancel.contact_id");
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << alias;
    EXPECT_THAT(id.status().message(), HasSubstr("cancel.contact_id")) << alias;
  }
  EXPECT_EQ(OfferIdFromWire("o-007", "accept.offer_id").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ContactIdFromWire("c-1", "contact_id"), 1u);
}

}  // namespace
}  // namespace ccr
