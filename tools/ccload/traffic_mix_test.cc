#include "tools/ccload/traffic_mix.h"

#include <cmath>
#include <map>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ccr::load {
namespace {

namespace v1 = ::ccrouter::v1;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int kDraws = 100000;

double Share(int count) { return count / static_cast<double>(kDraws); }

TEST(TrafficMixTest, TierProportionsFollowTheMix) {
  TrafficMix mix(DefaultTrafficMix(), 42);
  std::map<v1::Tier, int> counts;
  for (int i = 0; i < kDraws; ++i) ++counts[mix.NextArrival().spec.customer().tier()];
  EXPECT_NEAR(Share(counts[v1::TIER_STANDARD]), 0.70, 0.01);
  EXPECT_NEAR(Share(counts[v1::TIER_SILVER]), 0.18, 0.01);
  EXPECT_NEAR(Share(counts[v1::TIER_GOLD]), 0.09, 0.006);
  EXPECT_NEAR(Share(counts[v1::TIER_VIP]), 0.03, 0.004);
  EXPECT_EQ(counts.count(v1::TIER_UNSPECIFIED), 0u);
}

TEST(TrafficMixTest, QueueChannelAndLanguageProportionsFollowTheMix) {
  TrafficMix mix(DefaultTrafficMix(), 7);
  std::map<std::string, int> queues, languages;
  std::map<v1::Channel, int> channels;
  for (int i = 0; i < kDraws; ++i) {
    const v1::ContactSpec spec = mix.NextArrival().spec;
    ++queues[spec.queue()];
    ++channels[spec.channel()];
    ++languages[spec.customer().language()];
  }
  EXPECT_NEAR(Share(queues["voice_general"]), 0.34, 0.01);
  EXPECT_NEAR(Share(queues["voice_billing"]), 0.15, 0.01);
  EXPECT_NEAR(Share(queues["voice_emergency"]), 0.01, 0.002);
  EXPECT_NEAR(Share(queues["chat_general"]), 0.25, 0.01);
  EXPECT_NEAR(Share(queues["messaging_general"]), 0.13, 0.01);
  EXPECT_NEAR(Share(queues["email_general"]), 0.12, 0.01);
  EXPECT_EQ(queues.size(), 6u);
  EXPECT_NEAR(Share(channels[v1::CHANNEL_VOICE]), 0.50, 0.01);
  EXPECT_NEAR(Share(languages["en"]), 0.80, 0.015);
  EXPECT_NEAR(Share(languages["es"]), 0.14, 0.01);
  EXPECT_NEAR(Share(languages["zh-cmn"]), 0.06, 0.006);
  EXPECT_EQ(languages.size(), 3u);
}

TEST(TrafficMixTest, ContactsMatchTheirQueue) {
  TrafficMix mix(DefaultTrafficMix(), 11);
  const std::map<std::string, std::set<std::string>> topics = {
      {"voice_general", {"general", "orders", "account"}},
      {"voice_billing", {"billing", "refund", "payment"}},
      {"voice_emergency", {"emergency", "outage", "fraud"}},
      {"chat_general", {"orders", "account", "general"}},
      {"messaging_general", {"general", "orders"}},
      {"email_general", {"billing", "general", "account"}}};
  const std::map<std::string, v1::Channel> channels = {
      {"voice_general", v1::CHANNEL_VOICE},         {"voice_billing", v1::CHANNEL_VOICE},
      {"voice_emergency", v1::CHANNEL_VOICE},       {"chat_general", v1::CHANNEL_CHAT},
      {"messaging_general", v1::CHANNEL_MESSAGING}, {"email_general", v1::CHANNEL_EMAIL}};
  for (int i = 0; i < 20000; ++i) {
    const Arrival arrival = mix.NextArrival();
    const v1::ContactSpec& spec = arrival.spec;
    ASSERT_TRUE(channels.count(spec.queue())) << spec.queue();
    EXPECT_EQ(spec.channel(), channels.at(spec.queue()));
    EXPECT_TRUE(topics.at(spec.queue()).count(spec.topic())) << spec.topic();
    EXPECT_TRUE(spec.idempotency_key().empty());
    EXPECT_FALSE(spec.customer().id().empty());
    EXPECT_EQ(spec.messaging_network().empty(), spec.channel() != v1::CHANNEL_MESSAGING);
    // Phone numbers only where the gateway would know one.
    EXPECT_EQ(!spec.customer().phone().empty(),
              spec.channel() == v1::CHANNEL_VOICE || spec.messaging_network() == "sms");
    // Emails wait in the inbox; everyone else may hang up.
    if (spec.channel() == v1::CHANNEL_EMAIL) {
      EXPECT_EQ(arrival.patience_seconds, 0);
    } else {
      EXPECT_GT(arrival.patience_seconds, 0);
    }
    EXPECT_GE(spec.signals().sentiment(), -1);
    EXPECT_LE(spec.signals().sentiment(), 1);
  }
}

TEST(TrafficMixTest, ComplaintsAndEmergenciesCarryTheirSignals) {
  TrafficMix mix(DefaultTrafficMix(), 5);
  int complaints = 0, emergencies = 0, severe = 0;
  for (int i = 0; i < kDraws; ++i) {
    const v1::ContactSpec spec = mix.NextArrival().spec;
    const v1::Signals& signals = spec.signals();
    if (signals.complaint()) {
      ++complaints;
      EXPECT_LE(signals.sentiment(), -0.4);
    }
    if (signals.emergency()) {
      ++emergencies;
      EXPECT_EQ(spec.queue(), "voice_emergency");
      EXPECT_NE(signals.incident_severity(), v1::SEVERITY_UNSPECIFIED);
      EXPECT_FALSE(signals.complaint());
      if (signals.incident_severity() == v1::SEVERITY_SEVERE) ++severe;
    } else {
      EXPECT_NE(spec.queue(), "voice_emergency");
      EXPECT_EQ(signals.incident_severity(), v1::SEVERITY_UNSPECIFIED);
    }
  }
  EXPECT_NEAR(Share(complaints), 0.08 * 0.99, 0.005);
  EXPECT_NEAR(Share(emergencies), 0.01, 0.002);
  EXPECT_NEAR(severe / static_cast<double>(emergencies), 0.15, 0.05);
}

TEST(TrafficMixTest, ReturningCustomersKeepWhoTheyAre) {
  TrafficMix mix(DefaultTrafficMix(), 3);
  struct Seen {
    v1::Tier tier;
    std::string language;
    uint32_t last_repeat;
  };
  std::map<std::string, Seen> seen;
  int returns = 0;
  for (int i = 0; i < kDraws; ++i) {
    const v1::ContactSpec spec = mix.NextArrival().spec;
    const v1::Customer& customer = spec.customer();
    auto [it, first_visit] = seen.try_emplace(
        customer.id(),
        Seen{customer.tier(), customer.language(), spec.signals().repeat_contacts_24h()});
    if (first_visit) {
      EXPECT_EQ(spec.signals().repeat_contacts_24h(), 0u);
      continue;
    }
    ++returns;
    EXPECT_EQ(customer.tier(), it->second.tier);
    EXPECT_EQ(customer.language(), it->second.language);
    // The repeat count grows by one per visit (until its cap).
    const uint32_t repeat = spec.signals().repeat_contacts_24h();
    EXPECT_TRUE(repeat == it->second.last_repeat + 1 || repeat == 9) << repeat;
    it->second.last_repeat = repeat;
  }
  EXPECT_NEAR(Share(returns), 0.30, 0.01);
}

TEST(TrafficMixTest, MeanInterArrivalIsOneOverRate) {
  TrafficMix mix(DefaultTrafficMix(), 1);
  for (double rate : {0.5, 2.0, 50.0, 1000.0}) {
    double sum = 0, sum_of_squares = 0;
    for (int i = 0; i < kDraws; ++i) {
      const double gap = mix.NextInterArrivalSeconds(rate);
      ASSERT_GE(gap, 0);
      sum += gap;
      sum_of_squares += gap * gap;
    }
    const double mean = sum / kDraws;
    EXPECT_NEAR(mean, 1 / rate, 0.02 / rate) << "rate " << rate;
    // Exponential: the standard deviation equals the mean (a fixed-gap or
    // uniform clock would fail this).
    const double stddev = std::sqrt(sum_of_squares / kDraws - mean * mean);
    EXPECT_NEAR(stddev, 1 / rate, 0.03 / rate) << "rate " << rate;
  }
}

TEST(TrafficMixTest, SameSeedSameSequenceOtherSeedOtherSequence) {
  TrafficMix a(DefaultTrafficMix(), 123), b(DefaultTrafficMix(), 123), c(DefaultTrafficMix(), 124);
  int differences = 0;
  for (int i = 0; i < 1000; ++i) {
    const Arrival x = a.NextArrival(), y = b.NextArrival(), z = c.NextArrival();
    EXPECT_EQ(x.spec.SerializeAsString(), y.spec.SerializeAsString());
    EXPECT_EQ(x.patience_seconds, y.patience_seconds);
    EXPECT_EQ(a.NextInterArrivalSeconds(2), b.NextInterArrivalSeconds(2));
    if (x.spec.SerializeAsString() != z.spec.SerializeAsString()) ++differences;
    c.NextInterArrivalSeconds(2);
  }
  EXPECT_GT(differences, 900);
}

TEST(TrafficMixTest, DroppedQueueGetsNothingAndOthersKeepTheirRatio) {
  TrafficMix mix(DefaultTrafficMix(), 9);
  EXPECT_TRUE(mix.DropQueue("voice_billing"));
  EXPECT_FALSE(mix.DropQueue("voice_billing"));
  EXPECT_FALSE(mix.DropQueue("no_such_queue"));
  std::map<std::string, int> queues;
  for (int i = 0; i < kDraws; ++i) ++queues[mix.NextArrival().spec.queue()];
  EXPECT_EQ(queues.count("voice_billing"), 0u);
  EXPECT_NEAR(Share(queues["voice_general"]), 34.0 / 85, 0.01);
  EXPECT_NEAR(Share(queues["chat_general"]), 25.0 / 85, 0.01);

  for (const char* name :
       {"voice_general", "voice_emergency", "chat_general", "messaging_general"}) {
    EXPECT_TRUE(mix.DropQueue(name));
    EXPECT_TRUE(mix.HasQueues());
  }
  EXPECT_EQ(mix.NextArrival().spec.queue(), "email_general");
  EXPECT_TRUE(mix.DropQueue("email_general"));
  EXPECT_FALSE(mix.HasQueues());
}

TEST(KeepQueuesTheEngineHasTest, DropsMissingQueuesAndChannelMismatches) {
  TrafficMixConfig config = DefaultTrafficMix();
  const std::vector<std::string> removed = KeepQueuesTheEngineHas(
      {{"voice_general", v1::CHANNEL_VOICE},
       {"voice_emergency", v1::CHANNEL_VOICE},
       {"chat_general", v1::CHANNEL_CHAT},
       {"messaging_general", v1::CHANNEL_UNSPECIFIED},  // channel not said: trusted
       {"email_general", v1::CHANNEL_CHAT},
       {"callback_followups", v1::CHANNEL_CALLBACK}},
      config);
  EXPECT_THAT(removed, ::testing::ElementsAre(
                           "the engine has no queue 'voice_billing'",
                           "queue 'email_general' is a chat queue on the engine, not email"));
  std::vector<std::string> kept;
  for (const QueueMix& queue : config.queues) kept.push_back(queue.name);
  EXPECT_THAT(kept, ::testing::ElementsAre("voice_general", "voice_emergency", "chat_general",
                                           "messaging_general"));
}

TEST(TrafficMixYamlTest, EmptyDocumentIsTheDefault) {
  absl::StatusOr<TrafficMixConfig> config = ParseTrafficMixYaml("");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->queues.size(), DefaultTrafficMix().queues.size());
}

// Field by field, so a difference names the field.
void ExpectSameMix(const TrafficMixConfig& read, const TrafficMixConfig& expected) {
  EXPECT_EQ(read.tier_shares, expected.tier_shares);
  ASSERT_EQ(read.languages.size(), expected.languages.size());
  for (size_t i = 0; i < expected.languages.size(); ++i) {
    EXPECT_EQ(read.languages[i].language, expected.languages[i].language);
    EXPECT_EQ(read.languages[i].share, expected.languages[i].share);
  }
  EXPECT_EQ(read.complaint_share, expected.complaint_share);
  EXPECT_EQ(read.returning_share, expected.returning_share);
  EXPECT_EQ(read.returning_pool, expected.returning_pool);
  ASSERT_EQ(read.queues.size(), expected.queues.size());
  for (size_t i = 0; i < expected.queues.size(); ++i) {
    const QueueMix& r = read.queues[i];
    const QueueMix& e = expected.queues[i];
    SCOPED_TRACE(e.name);
    EXPECT_EQ(r.name, e.name);
    EXPECT_EQ(r.channel, e.channel);
    EXPECT_EQ(r.share, e.share);
    EXPECT_EQ(r.topics, e.topics);
    EXPECT_EQ(r.skill, e.skill);
    EXPECT_EQ(r.emergency, e.emergency);
    EXPECT_EQ(r.patience_seconds, e.patience_seconds);
    EXPECT_EQ(r.handle_seconds, e.handle_seconds);
    EXPECT_EQ(r.networks, e.networks);
  }
}

QueueMix Queue(std::string name, v1::Channel channel, double share, std::vector<std::string> topics,
               double patience_seconds, double handle_seconds) {
  QueueMix queue;
  queue.name = std::move(name);
  queue.channel = channel;
  queue.share = share;
  queue.topics = std::move(topics);
  queue.patience_seconds = patience_seconds;
  queue.handle_seconds = handle_seconds;
  return queue;
}

TEST(TrafficMixYamlTest, ExampleFileIsTheBuiltInMix) {
  absl::StatusOr<TrafficMixConfig> read = ReadTrafficMixFile(CCLOAD_EXAMPLE_MIX);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameMix(*read, DefaultTrafficMix());
}

// The values the YAML reader before the proto schema (tools/common's
// YamlFieldReader) gave for the two shipped files, written out: the files
// must load unchanged and give the same mix.
TEST(TrafficMixYamlTest, ShippedFilesGiveTheMixesTheyAlwaysGave) {
  TrafficMixConfig example;
  example.tier_shares = {70, 18, 9, 3};
  example.languages = {{"en", 80}, {"es", 14}, {"zh-cmn", 6}};
  example.complaint_share = 0.08;
  example.returning_share = 0.3;
  example.returning_pool = 500;
  example.queues = {
      Queue("voice_general", v1::CHANNEL_VOICE, 34, {"general", "orders", "account"}, 60, 20),
      Queue("voice_billing", v1::CHANNEL_VOICE, 15, {"billing", "refund", "payment"}, 60, 20),
      Queue("voice_emergency", v1::CHANNEL_VOICE, 1, {"emergency", "outage", "fraud"}, 90, 20),
      Queue("chat_general", v1::CHANNEL_CHAT, 25, {"orders", "account", "general"}, 150, 30),
      Queue("messaging_general", v1::CHANNEL_MESSAGING, 13, {"general", "orders"}, 300, 25),
      Queue("email_general", v1::CHANNEL_EMAIL, 12, {"billing", "general", "account"}, 0, 15)};
  example.queues[1].skill = "billing";
  example.queues[2].skill = "emergency";
  example.queues[2].emergency = true;
  example.queues[4].networks = {"wechat", "sms", "whatsapp"};
  {
    SCOPED_TRACE(CCLOAD_EXAMPLE_MIX);
    absl::StatusOr<TrafficMixConfig> read = ReadTrafficMixFile(CCLOAD_EXAMPLE_MIX);
    ASSERT_TRUE(read.ok()) << read.status();
    ExpectSameMix(*read, example);
  }

  TrafficMixConfig bench;
  bench.tier_shares = {70, 18, 9, 3};
  bench.languages = {{"en", 100}};
  bench.complaint_share = 0.08;
  bench.returning_share = 0;
  bench.returning_pool = 500;
  bench.queues = {
      Queue("voice_emergency", v1::CHANNEL_VOICE, 1, {"emergency", "outage"}, 60, 20),
      Queue("voice_general", v1::CHANNEL_VOICE, 39, {"general", "orders", "account"}, 60, 20),
      Queue("chat_general", v1::CHANNEL_CHAT, 35, {"orders", "account", "general"}, 150, 30),
      Queue("messaging_general", v1::CHANNEL_MESSAGING, 15, {"general", "orders"}, 300, 25),
      Queue("email_general", v1::CHANNEL_EMAIL, 10, {"billing", "general", "account"}, 0, 15)};
  bench.queues[0].skill = "emergency";
  bench.queues[0].emergency = true;
  bench.queues[3].networks = {"wechat", "sms", "whatsapp"};
  {
    SCOPED_TRACE(CCLOAD_BENCH_MIX);
    absl::StatusOr<TrafficMixConfig> read = ReadTrafficMixFile(CCLOAD_BENCH_MIX);
    ASSERT_TRUE(read.ok()) << read.status();
    ExpectSameMix(*read, bench);
  }
}

TEST(TrafficMixYamlTest, CustomMixIsFollowed) {
  absl::StatusOr<TrafficMixConfig> config = ParseTrafficMixYaml(R"(
tiers: {gold: 1, vip: 1}
languages: {fr: 1}
complaint_share: 1
returning_share: 0
queues:
  - name: sales_chat
    channel: chat
    topics: [sales]
    patience_seconds: 0
    handle_seconds: 42
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->queues[0].handle_seconds, 42);
  TrafficMix mix(*config, 1);
  int gold = 0;
  std::set<std::string> customers;
  for (int i = 0; i < 10000; ++i) {
    const Arrival arrival = mix.NextArrival();
    const v1::ContactSpec& spec = arrival.spec;
    EXPECT_EQ(spec.queue(), "sales_chat");
    EXPECT_EQ(spec.channel(), v1::CHANNEL_CHAT);
    EXPECT_EQ(spec.topic(), "sales");
    EXPECT_EQ(spec.customer().language(), "fr");
    EXPECT_TRUE(spec.signals().complaint());
    EXPECT_EQ(arrival.patience_seconds, 0);
    ASSERT_TRUE(spec.customer().tier() == v1::TIER_GOLD || spec.customer().tier() == v1::TIER_VIP);
    if (spec.customer().tier() == v1::TIER_GOLD) ++gold;
    customers.insert(spec.customer().id());
  }
  EXPECT_NEAR(gold / 10000.0, 0.5, 0.03);
  EXPECT_EQ(customers.size(), 10000u);  // nobody returns
}

// Checks after the schema name the field as the engine's config errors do
// (`mix.queues[1].share: ...`); what the schema refuses (unknown keys,
// mistyped values) is protobuf's JSON parser's message after `mix: `, as
// for the engine's config and ccsim's scenarios.
TEST(TrafficMixYamlTest, ErrorsNameTheField) {
  struct Case {
    std::string yaml;
    std::string prefix;  // the message starts with it
    std::string detail;
  };
  const std::string queue = "queues:\n  - {name: a, channel: voice, ";
  const std::vector<Case> cases = {
      {"tiers: {standard: -1}", "mix.tiers.standard: ", "expected a number in [0, inf], got -1"},
      {"tiers: {platinum: 5}", "mix: ", "platinum"},
      {"tiers: {standard: 0}", "mix.tiers: ", "> 0"},
      {"tiers: {}", "mix.tiers: ", "> 0"},
      {"tiers: [1, 2]", "mix: ", "tiers"},
      {"tiers:", "mix.tiers: ", "without a value"},
      {"languages: {en: lots}", "mix: ", "languages"},
      {"languages: {en: 0}", "mix.languages: ", "> 0"},
      {"languages: {en: -1, es: 2}", "mix.languages.en: ", "[0, inf]"},
      {"languages: {}", "mix.languages: ", "without a value"},
      {"complaint_share: 1.5", "mix.complaint_share: ", "[0, 1]"},
      {"returning_share: NaN", "mix.returning_share: ", "[0, 1]"},
      {"returning_pool: 0", "mix.returning_pool: ", "[1, 1e+06]"},
      {"returning_pool: 1.5", "mix: ", "returning_pool"},
      {"queue: []", "mix: ", "queue"},
      {"queues: []", "mix.queues: ", "without a value"},
      {"queues:", "mix.queues: ", "without a value"},
      {"queues:\n  - {channel: voice}", "mix.queues[0].name: ", "required"},
      {"queues:\n  - {name: a}", "mix.queues[0].channel: ", "required"},
      {"queues:\n  - {name: a, channel: voice}\n  - {name: b, channel: fax}", "mix: ", "channel"},
      {"queues:\n  - {name: a, channel: voice}\n  - {name: b, channel: video}",
       "mix.queues[1].channel: ", "expected voice, chat, email or messaging, got video"},
      {queue + "share: x}", "mix: ", "share"},
      {queue + "share: -1}", "mix.queues[0].share: ", "[0, inf]"},
      {queue + "topic: [x]}", "mix: ", "topic"},
      {queue + "topics: ['']}", "mix.queues[0].topics[0]: ", "non-empty"},
      {queue + "skill: ''}", "mix.queues[0].skill: ", "non-empty"},
      {queue + "emergency: maybe}", "mix: ", "emergency"},
      {queue + "networks: [sms]}", "mix.queues[0].networks: ", "messaging"},
      {queue + "handle_seconds: 0}", "mix.queues[0].handle_seconds: ", "[0.1, 86400]"},
      {queue + "patience_seconds: 1e6}", "mix.queues[0].patience_seconds: ", "[0, 86400]"},
      {"queues:\n  - {name: a, channel: chat}\n  - {name: a, channel: chat}",
       "mix.queues[1].name: ", "twice"},
      {"queues:\n  - {name: a, channel: chat, share: 0}", "mix.queues: ", "> 0"},
      {"- just\n- a list", "mix: ", "mapping"},
      {"tiers: {standard: [", "mix: ", "YAML error"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    absl::StatusOr<TrafficMixConfig> config = ParseTrafficMixYaml(c.yaml);
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(config.status().message());
    EXPECT_THAT(message, StartsWith(c.prefix)) << message;
    EXPECT_THAT(message, HasSubstr(c.detail)) << message;
  }
}

TEST(TrafficMixYamlTest, CommentsOnlyIsTheDefault) {
  absl::StatusOr<TrafficMixConfig> config = ParseTrafficMixYaml("# nothing yet\n\n  # still\n");
  ASSERT_TRUE(config.ok()) << config.status();
  ExpectSameMix(*config, DefaultTrafficMix());
}

// A proto map has no order; the languages are drawn in key order, so the
// same file and seed give the same customers whatever order the file uses.
TEST(TrafficMixYamlTest, LanguagesAreDrawnInKeyOrder) {
  absl::StatusOr<TrafficMixConfig> config =
      ParseTrafficMixYaml("languages: {zh-cmn: 6, es: 14, en: 80}");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->languages.size(), 3u);
  EXPECT_EQ(config->languages[0].language, "en");
  EXPECT_EQ(config->languages[1].language, "es");
  EXPECT_EQ(config->languages[2].language, "zh-cmn");
}

TEST(TrafficMixYamlTest, UnreadableFileNamesThePath) {
  absl::StatusOr<TrafficMixConfig> config = ReadTrafficMixFile("/nonexistent/mix.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), StartsWith("/nonexistent/mix.yaml: "));
}

}  // namespace
}  // namespace ccr::load
