#include "tools/ccload/traffic_mix.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/common/yaml_fields.h"
#include "yaml-cpp/yaml.h"

namespace ccr::load {

namespace v1 = ::ccrouter::v1;

namespace {

constexpr const char* kTierNames[4] = {"standard", "silver", "gold", "vip"};
constexpr v1::Tier kTiers[4] = {v1::TIER_STANDARD, v1::TIER_SILVER, v1::TIER_GOLD, v1::TIER_VIP};
constexpr v1::Channel kMixChannels[4] = {v1::CHANNEL_VOICE, v1::CHANNEL_CHAT, v1::CHANNEL_EMAIL,
                                         v1::CHANNEL_MESSAGING};
constexpr double kElderlyShare = 0.04;
constexpr double kAccessibilityShare = 0.01;
constexpr uint32_t kMaxRepeatContacts = 9;
constexpr size_t kMaxLanguageBytes = 35;  // the engine's limit

// Index into `cumulative` (running sums, last = total) for u in [0, 1).
size_t PickWeighted(const std::vector<double>& cumulative, double u) {
  const double target = u * cumulative.back();
  const size_t i =
      std::upper_bound(cumulative.begin(), cumulative.end(), target) - cumulative.begin();
  return std::min(i, cumulative.size() - 1);
}

// ---- YAML reading: every error names the field path and the line.

class MixReader : private tools::YamlFieldReader {
 public:
  absl::Status Integer(const std::string& path, const YAML::Node& node, int min_value,
                       int max_value, int* out) {
    int value = 0;
    if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &value) || value < min_value ||
        value > max_value) {
      return Error(path, node,
                   absl::StrCat("expected an integer ", min_value, "..", max_value, Got(node)));
    }
    *out = value;
    return absl::OkStatus();
  }

  absl::Status Text(const std::string& path, const YAML::Node& node, size_t max_bytes,
                    std::string* out) {
    if (!node.IsScalar() || node.Scalar().empty() || node.Scalar().size() > max_bytes) {
      return Error(
          path, node,
          absl::StrCat("expected a non-empty string of at most ", max_bytes, " bytes", Got(node)));
    }
    *out = node.Scalar();
    return absl::OkStatus();
  }

  absl::Status TextList(const std::string& path, const YAML::Node& node,
                        std::vector<std::string>* out) {
    if (!node.IsSequence()) return Error(path, node, "expected a list, e.g. [a, b]");
    out->clear();
    for (size_t i = 0; i < node.size(); ++i) {
      std::string item;
      if (absl::Status s = Text(absl::StrCat(path, "[", i, "]"), node[i], 128, &item); !s.ok()) {
        return s;
      }
      out->push_back(std::move(item));
    }
    return absl::OkStatus();
  }

  absl::Status Channel(const std::string& path, const YAML::Node& node, v1::Channel* out) {
    const std::string text = node.IsScalar() ? absl::AsciiStrToLower(node.Scalar()) : "";
    for (v1::Channel channel : kMixChannels) {
      if (text == ChannelName(channel)) {
        *out = channel;
        return absl::OkStatus();
      }
    }
    return Error(path, node, absl::StrCat("expected voice, chat, email or messaging", Got(node)));
  }

  absl::Status Tiers(const YAML::Node& node, std::array<double, 4>* out) {
    if (!node.IsMap()) return Error("tiers", node, "expected a map, e.g. {standard: 70, vip: 3}");
    if (absl::Status s = OnlyKnownKeys("tiers.", node, {"standard", "silver", "gold", "vip"});
        !s.ok()) {
      return s;
    }
    std::array<double, 4> shares = {0, 0, 0, 0};
    for (int t = 0; t < 4; ++t) {
      if (!node[kTierNames[t]]) continue;
      if (absl::Status s = Number(absl::StrCat("tiers.", kTierNames[t]), node[kTierNames[t]], 0,
                                  INFINITY, &shares[t]);
          !s.ok()) {
        return s;
      }
    }
    if (shares[0] + shares[1] + shares[2] + shares[3] <= 0) {
      return Error("tiers", node, "at least one tier needs a share > 0");
    }
    *out = shares;
    return absl::OkStatus();
  }

  absl::Status Languages(const YAML::Node& node, std::vector<LanguageShare>* out) {
    if (!node.IsMap() || node.size() == 0) {
      return Error("languages", node, "expected a map of language to share, e.g. {en: 90, es: 10}");
    }
    std::vector<LanguageShare> languages;
    double total = 0;
    for (const auto& entry : node) {
      LanguageShare language;
      if (absl::Status s = Text("languages", entry.first, kMaxLanguageBytes, &language.language);
          !s.ok()) {
        return s;
      }
      if (absl::Status s = Number(absl::StrCat("languages.", language.language), entry.second, 0,
                                  INFINITY, &language.share);
          !s.ok()) {
        return s;
      }
      total += language.share;
      languages.push_back(std::move(language));
    }
    if (total <= 0) return Error("languages", node, "at least one language needs a share > 0");
    *out = std::move(languages);
    return absl::OkStatus();
  }

  absl::Status Queue(const std::string& path, const YAML::Node& node, QueueMix* out) {
    if (!node.IsMap()) return Error(path, node, "expected a map with at least name and channel");
    if (absl::Status s = OnlyKnownKeys(absl::StrCat(path, "."), node,
                                       {"name", "channel", "share", "topics", "skill", "emergency",
                                        "patience_seconds", "handle_seconds", "networks"});
        !s.ok()) {
      return s;
    }
    QueueMix queue;
    if (!node["name"]) return Error(path + ".name", node, "required");
    if (absl::Status s = Text(path + ".name", node["name"], 128, &queue.name); !s.ok()) return s;
    if (!node["channel"]) return Error(path + ".channel", node, "required");
    if (absl::Status s = Channel(path + ".channel", node["channel"], &queue.channel); !s.ok()) {
      return s;
    }
    queue.patience_seconds = DefaultPatienceSeconds(queue.channel);
    queue.handle_seconds = DefaultHandleSeconds(queue.channel);
    absl::Status s;
    if (node["share"]) s = Number(path + ".share", node["share"], 0, INFINITY, &queue.share);
    if (s.ok() && node["topics"]) s = TextList(path + ".topics", node["topics"], &queue.topics);
    if (s.ok() && node["skill"]) s = Text(path + ".skill", node["skill"], 128, &queue.skill);
    if (s.ok() && node["emergency"]) {
      s = Bool(path + ".emergency", node["emergency"], &queue.emergency);
    }
    if (s.ok() && node["patience_seconds"]) {
      s = Number(path + ".patience_seconds", node["patience_seconds"], 0, 86400,
                 &queue.patience_seconds);
    }
    if (s.ok() && node["handle_seconds"]) {
      s = Number(path + ".handle_seconds", node["handle_seconds"], 0.1, 86400,
                 &queue.handle_seconds);
    }
    if (s.ok() && node["networks"]) {
      if (queue.channel != v1::CHANNEL_MESSAGING) {
        return Error(path + ".networks", node["networks"], "only a messaging queue has networks");
      }
      s = TextList(path + ".networks", node["networks"], &queue.networks);
    }
    if (!s.ok()) return s;
    *out = std::move(queue);
    return absl::OkStatus();
  }

  absl::Status Queues(const YAML::Node& node, std::vector<QueueMix>* out) {
    if (!node.IsSequence() || node.size() == 0) {
      return Error("queues", node, "expected a non-empty list of queues");
    }
    std::vector<QueueMix> queues;
    std::set<std::string> names;
    double total = 0;
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string path = absl::StrCat("queues[", i, "]");
      QueueMix queue;
      if (absl::Status s = Queue(path, node[i], &queue); !s.ok()) return s;
      if (!names.insert(queue.name).second) {
        return Error(path + ".name", node[i]["name"],
                     absl::StrCat("queue '", queue.name, "' is listed twice"));
      }
      total += queue.share;
      queues.push_back(std::move(queue));
    }
    if (total <= 0) return Error("queues", node, "at least one queue needs a share > 0");
    *out = std::move(queues);
    return absl::OkStatus();
  }

  absl::Status Mix(const YAML::Node& root, TrafficMixConfig* out) {
    if (!root.IsMap()) return Error("mix", root, "expected a map of settings at the top level");
    if (absl::Status s = OnlyKnownKeys("", root,
                                       {"tiers", "languages", "complaint_share", "returning_share",
                                        "returning_pool", "queues"});
        !s.ok()) {
      return s;
    }
    absl::Status s;
    if (root["tiers"]) s = Tiers(root["tiers"], &out->tier_shares);
    if (s.ok() && root["languages"]) s = Languages(root["languages"], &out->languages);
    if (s.ok() && root["complaint_share"]) {
      s = Number("complaint_share", root["complaint_share"], 0, 1, &out->complaint_share);
    }
    if (s.ok() && root["returning_share"]) {
      s = Number("returning_share", root["returning_share"], 0, 1, &out->returning_share);
    }
    if (s.ok() && root["returning_pool"]) {
      s = Integer("returning_pool", root["returning_pool"], 1, 1000000, &out->returning_pool);
    }
    if (s.ok() && root["queues"]) s = Queues(root["queues"], &out->queues);
    return s;
  }

 private:
};

QueueMix MakeQueue(std::string name, v1::Channel channel, double share,
                   std::vector<std::string> topics, std::string skill = "general") {
  QueueMix queue;
  queue.name = std::move(name);
  queue.channel = channel;
  queue.share = share;
  queue.topics = std::move(topics);
  queue.skill = std::move(skill);
  queue.patience_seconds = DefaultPatienceSeconds(channel);
  queue.handle_seconds = DefaultHandleSeconds(channel);
  return queue;
}

}  // namespace

const char* ChannelName(v1::Channel channel) {
  switch (channel) {
    case v1::CHANNEL_VOICE:
      return "voice";
    case v1::CHANNEL_CHAT:
      return "chat";
    case v1::CHANNEL_EMAIL:
      return "email";
    case v1::CHANNEL_MESSAGING:
      return "messaging";
    case v1::CHANNEL_VIDEO:
      return "video";
    case v1::CHANNEL_CALLBACK:
      return "callback";
    default:
      return "unspecified";
  }
}

double DefaultPatienceSeconds(v1::Channel channel) {
  switch (channel) {
    case v1::CHANNEL_VOICE:
      return 60;
    case v1::CHANNEL_CHAT:
      return 150;
    case v1::CHANNEL_MESSAGING:
      return 300;
    default:
      return 0;  // an email waits in the inbox
  }
}

double DefaultHandleSeconds(v1::Channel channel) {
  switch (channel) {
    case v1::CHANNEL_CHAT:
      return 30;
    case v1::CHANNEL_EMAIL:
      return 15;
    case v1::CHANNEL_MESSAGING:
      return 25;
    default:
      return 20;
  }
}

TrafficMixConfig DefaultTrafficMix() {
  TrafficMixConfig config;
  config.queues.push_back(
      MakeQueue("voice_general", v1::CHANNEL_VOICE, 34, {"general", "orders", "account"}));
  config.queues.push_back(MakeQueue("voice_billing", v1::CHANNEL_VOICE, 15,
                                    {"billing", "refund", "payment"}, "billing"));
  QueueMix emergency = MakeQueue("voice_emergency", v1::CHANNEL_VOICE, 1,
                                 {"emergency", "outage", "fraud"}, "emergency");
  emergency.emergency = true;
  emergency.patience_seconds = 90;
  config.queues.push_back(std::move(emergency));
  config.queues.push_back(
      MakeQueue("chat_general", v1::CHANNEL_CHAT, 25, {"orders", "account", "general"}));
  QueueMix messaging =
      MakeQueue("messaging_general", v1::CHANNEL_MESSAGING, 13, {"general", "orders"});
  messaging.networks = {"wechat", "sms", "whatsapp"};
  config.queues.push_back(std::move(messaging));
  config.queues.push_back(
      MakeQueue("email_general", v1::CHANNEL_EMAIL, 12, {"billing", "general", "account"}));
  return config;
}

absl::StatusOr<TrafficMixConfig> ParseTrafficMixYaml(absl::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("mix (line ", e.mark.line + 1, "): not valid YAML: ", e.msg));
  }
  TrafficMixConfig config = DefaultTrafficMix();
  if (root.IsNull()) return config;
  MixReader reader;
  if (absl::Status s = reader.Mix(root, &config); !s.ok()) return s;
  return config;
}

absl::StatusOr<TrafficMixConfig> ReadTrafficMixFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read the file"));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<TrafficMixConfig> config = ParseTrafficMixYaml(text.str());
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

std::vector<std::string> KeepQueuesTheEngineHas(
    const std::map<std::string, v1::Channel>& engine_queues, TrafficMixConfig& config) {
  std::vector<std::string> removed;
  std::vector<QueueMix> kept;
  for (QueueMix& queue : config.queues) {
    auto it = engine_queues.find(queue.name);
    if (it == engine_queues.end()) {
      removed.push_back(absl::StrCat("the engine has no queue '", queue.name, "'"));
    } else if (it->second != v1::CHANNEL_UNSPECIFIED && it->second != queue.channel) {
      removed.push_back(absl::StrCat("queue '", queue.name, "' is a ", ChannelName(it->second),
                                     " queue on the engine, not ", ChannelName(queue.channel)));
    } else {
      kept.push_back(std::move(queue));
    }
  }
  config.queues = std::move(kept);
  return removed;
}

TrafficMix::TrafficMix(TrafficMixConfig config, uint64_t seed)
    : config_(std::move(config)), rng_(seed) {
  // A short tag from the seed keeps customer ids of different seeds apart.
  id_prefix_ = absl::StrFormat("cu%04x", static_cast<unsigned>((seed * 0x9E3779B97F4A7C15u) >> 48));
  recent_.reserve(config_.returning_pool);
  RebuildQueueWeights();
}

void TrafficMix::RebuildQueueWeights() {
  queue_cumulative_.clear();
  double sum = 0;
  for (const QueueMix& queue : config_.queues) {
    sum += queue.share;
    queue_cumulative_.push_back(sum);
  }
  // Queues left with zero shares only (all weighted ones dropped) are sent
  // to evenly rather than not at all.
  if (sum <= 0) {
    for (size_t i = 0; i < queue_cumulative_.size(); ++i) queue_cumulative_[i] = i + 1.0;
  }
}

bool TrafficMix::DropQueue(absl::string_view queue_name) {
  auto it = std::find_if(config_.queues.begin(), config_.queues.end(),
                         [queue_name](const QueueMix& q) { return q.name == queue_name; });
  if (it == config_.queues.end()) return false;
  config_.queues.erase(it);
  RebuildQueueWeights();
  return true;
}

double TrafficMix::NextInterArrivalSeconds(double rate_per_second) {
  return std::exponential_distribution<double>(rate_per_second)(rng_);
}

TrafficMix::KnownCustomer& TrafficMix::NextCustomer() {
  if (!recent_.empty() && Chance(config_.returning_share)) {
    KnownCustomer& customer = recent_[Index(recent_.size())];
    ++customer.visits;
    return customer;
  }
  KnownCustomer customer;
  const uint64_t number = ++customers_created_;
  customer.id = absl::StrFormat("%s-%07d", id_prefix_, number);
  // Fictional North American numbers (555 exchange).
  customer.phone = absl::StrFormat("+1555%07d", number % 10000000);
  const std::array<double, 4>& t = config_.tier_shares;
  customer.tier = kTiers[PickWeighted(
      {t[0], t[0] + t[1], t[0] + t[1] + t[2], t[0] + t[1] + t[2] + t[3]}, Uniform01())];
  std::vector<double> language_cumulative;
  double sum = 0;
  for (const LanguageShare& l : config_.languages) language_cumulative.push_back(sum += l.share);
  customer.language = config_.languages[PickWeighted(language_cumulative, Uniform01())].language;
  if (Chance(kElderlyShare)) customer.needs.push_back(v1::NEED_ELDERLY);
  if (Chance(kAccessibilityShare)) customer.needs.push_back(v1::NEED_ACCESSIBILITY);
  customer.visits = 1;

  if (recent_.size() < static_cast<size_t>(config_.returning_pool)) {
    recent_.push_back(std::move(customer));
    return recent_.back();
  }
  KnownCustomer& slot = recent_[recent_next_];
  recent_next_ = (recent_next_ + 1) % recent_.size();
  slot = std::move(customer);
  return slot;
}

Arrival TrafficMix::NextArrival() {
  Arrival arrival;
  v1::ContactSpec& spec = arrival.spec;
  const QueueMix& queue = config_.queues[PickWeighted(queue_cumulative_, Uniform01())];
  spec.set_queue(queue.name);
  spec.set_channel(queue.channel);
  spec.set_direction(v1::DIRECTION_INBOUND);
  if (!queue.topics.empty()) spec.set_topic(queue.topics[Index(queue.topics.size())]);
  if (!queue.networks.empty()) {
    spec.set_messaging_network(queue.networks[Index(queue.networks.size())]);
  }
  (*spec.mutable_attributes())["source"] = "ccload";

  const KnownCustomer& known = NextCustomer();
  v1::Customer& customer = *spec.mutable_customer();
  customer.set_id(known.id);
  customer.set_tier(known.tier);
  customer.set_language(known.language);
  if (queue.channel == v1::CHANNEL_VOICE || spec.messaging_network() == "sms") {
    customer.set_phone(known.phone);
  }
  for (v1::Need need : known.needs) customer.add_needs(need);

  v1::Signals& signals = *spec.mutable_signals();
  signals.set_repeat_contacts_24h(std::min(known.visits - 1, kMaxRepeatContacts));
  if (queue.emergency) {
    signals.set_emergency(true);
    const double severity = Uniform01();  // minor 50 %, moderate 35 %, severe 15 %
    signals.set_incident_severity(severity < 0.50   ? v1::SEVERITY_MINOR
                                  : severity < 0.85 ? v1::SEVERITY_MODERATE
                                                    : v1::SEVERITY_SEVERE);
    signals.set_sentiment(UniformBetween(-0.9, -0.3));
    if (spec.topic() == "outage") signals.add_keywords("outage");
  } else if (Chance(config_.complaint_share)) {
    signals.set_complaint(true);
    signals.set_sentiment(UniformBetween(-0.95, -0.4));
    if (Chance(0.3)) {
      static constexpr const char* kKeywords[] = {"cancel", "regulator", "lawyer"};
      signals.add_keywords(kKeywords[Index(3)]);
    }
    if (Chance(0.25)) signals.set_escalation_level(1 + Index(2));
  } else {
    signals.set_sentiment(UniformBetween(-0.3, 0.8));
  }

  if (queue.patience_seconds > 0) {
    arrival.patience_seconds =
        std::exponential_distribution<double>(1 / queue.patience_seconds)(rng_);
  }
  return arrival;
}

}  // namespace ccr::load
