#include "tools/ccload/traffic_mix.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "ccrouter/v1/load_mix.pb.h"
#include "codec/config_loader.h"
#include "google/protobuf/struct.pb.h"

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

// ---- Reading the mix file: the proto (ccrouter.v1.LoadMix) is the schema,
// read by the engine's YAML -> proto loader; what a proto cannot say
// (ranges, required fields, uniqueness) is checked here. Errors name the
// field as the engine's config errors do: `mix.queues[1].share: ...`.

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr size_t kMaxTextBytes = 128;

absl::Status FieldError(absl::string_view path, absl::string_view problem) {
  return ::ccr::FieldError("mix", path, problem);
}

absl::Status InRange(absl::string_view path, double value, double min_value, double max_value) {
  return FieldInRange("mix", path, value, min_value, max_value);
}

absl::Status Text(absl::string_view path, const std::string& text, size_t max_bytes) {
  if (!text.empty() && text.size() <= max_bytes) return absl::OkStatus();
  return FieldError(path, absl::StrCat("expected a non-empty string of at most ", max_bytes,
                                       " bytes, got ", text.size(), " bytes"));
}

absl::Status TextList(absl::string_view path,
                      const google::protobuf::RepeatedPtrField<std::string>& in,
                      std::vector<std::string>* out) {
  out->clear();
  for (int i = 0; i < in.size(); ++i) {
    CCR_RETURN_IF_ERROR(Text(absl::StrCat(path, "[", i, "]"), in[i], kMaxTextBytes));
    out->push_back(in[i]);
  }
  return absl::OkStatus();
}

// A proto cannot tell `queues: []`, `languages: {}` or `tiers:` (nothing)
// from a key left out, which would silently mean the built-in part. The
// same text read as a google.protobuf.Struct still has those keys: a
// top-level key given without a value is refused, naming it.
absl::Status NoEmptyTopLevelKeys(absl::string_view yaml) {
  google::protobuf::Struct keys;
  CCR_RETURN_IF_ERROR(ParseYamlMessage(yaml, "mix", &keys));
  for (const char* key :
       {"tiers", "languages", "complaint_share", "returning_share", "returning_pool", "queues"}) {
    auto it = keys.fields().find(key);
    if (it == keys.fields().end()) continue;
    const google::protobuf::Value& value = it->second;
    const bool empty = value.kind_case() == google::protobuf::Value::kNullValue ||
                       (value.has_list_value() && value.list_value().values().empty()) ||
                       (value.has_struct_value() && value.struct_value().fields().empty() &&
                        std::string(key) != "tiers");  // `tiers: {}` says "no tier": refused below
    if (empty) {
      return FieldError(key, "given without a value (leave the key out for the built-in one)");
    }
  }
  return absl::OkStatus();
}

absl::Status QueueFrom(const std::string& path, const v1::LoadMixQueue& in, QueueMix* out) {
  QueueMix queue;
  if (in.name().empty()) return FieldError(path + ".name", "required");
  CCR_RETURN_IF_ERROR(Text(path + ".name", in.name(), kMaxTextBytes));
  queue.name = in.name();
  if (in.channel() == v1::CHANNEL_UNSPECIFIED) return FieldError(path + ".channel", "required");
  if (std::find(std::begin(kMixChannels), std::end(kMixChannels), in.channel()) ==
      std::end(kMixChannels)) {
    return FieldError(path + ".channel", absl::StrCat("expected voice, chat, email or messaging, "
                                                      "got ",
                                                      ChannelName(in.channel())));
  }
  queue.channel = in.channel();
  if (in.has_share()) {
    queue.share = in.share();
    CCR_RETURN_IF_ERROR(InRange(path + ".share", queue.share, 0, kInf));
  }
  CCR_RETURN_IF_ERROR(TextList(path + ".topics", in.topics(), &queue.topics));
  if (in.has_skill()) {
    CCR_RETURN_IF_ERROR(Text(path + ".skill", in.skill(), kMaxTextBytes));
    queue.skill = in.skill();
  }
  queue.emergency = in.emergency();
  queue.patience_seconds =
      in.has_patience_seconds() ? in.patience_seconds() : DefaultPatienceSeconds(queue.channel);
  CCR_RETURN_IF_ERROR(InRange(path + ".patience_seconds", queue.patience_seconds, 0, 86400));
  queue.handle_seconds =
      in.has_handle_seconds() ? in.handle_seconds() : DefaultHandleSeconds(queue.channel);
  CCR_RETURN_IF_ERROR(InRange(path + ".handle_seconds", queue.handle_seconds, 0.1, 86400));
  if (!in.networks().empty() && queue.channel != v1::CHANNEL_MESSAGING) {
    return FieldError(path + ".networks", "only a messaging queue has networks");
  }
  CCR_RETURN_IF_ERROR(TextList(path + ".networks", in.networks(), &queue.networks));
  *out = std::move(queue);
  return absl::OkStatus();
}

// Fills the parts of `out` (the built-in mix) that `in` gives.
absl::Status MixFrom(const v1::LoadMix& in, TrafficMixConfig* out) {
  if (in.has_tiers()) {
    const v1::LoadMixTiers& t = in.tiers();
    const std::array<double, 4> shares = {t.standard(), t.silver(), t.gold(), t.vip()};
    for (int i = 0; i < 4; ++i) {
      CCR_RETURN_IF_ERROR(InRange(absl::StrCat("tiers.", kTierNames[i]), shares[i], 0, kInf));
    }
    if (shares[0] + shares[1] + shares[2] + shares[3] <= 0) {
      return FieldError("tiers", "at least one tier needs a share > 0");
    }
    out->tier_shares = shares;
  }
  if (!in.languages().empty()) {
    // Key order: the draws depend on the order and a proto map keeps none
    // (the shipped files and the built-in mix list them in key order).
    std::vector<LanguageShare> languages;
    for (const auto& [language, share] : in.languages()) {
      languages.push_back(LanguageShare{language, share});
    }
    std::sort(
        languages.begin(), languages.end(),
        [](const LanguageShare& a, const LanguageShare& b) { return a.language < b.language; });
    double total = 0;
    for (const LanguageShare& language : languages) {
      CCR_RETURN_IF_ERROR(Text(absl::StrCat("languages.", language.language), language.language,
                               kMaxLanguageBytes));
      CCR_RETURN_IF_ERROR(
          InRange(absl::StrCat("languages.", language.language), language.share, 0, kInf));
      total += language.share;
    }
    if (total <= 0) return FieldError("languages", "at least one language needs a share > 0");
    out->languages = std::move(languages);
  }
  if (in.has_complaint_share()) {
    out->complaint_share = in.complaint_share();
    CCR_RETURN_IF_ERROR(InRange("complaint_share", out->complaint_share, 0, 1));
  }
  if (in.has_returning_share()) {
    out->returning_share = in.returning_share();
    CCR_RETURN_IF_ERROR(InRange("returning_share", out->returning_share, 0, 1));
  }
  if (in.has_returning_pool()) {
    out->returning_pool = in.returning_pool();
    CCR_RETURN_IF_ERROR(InRange("returning_pool", out->returning_pool, 1, 1000000));
  }
  if (!in.queues().empty()) {
    std::vector<QueueMix> queues;
    std::set<std::string> names;
    double total = 0;
    for (int i = 0; i < in.queues_size(); ++i) {
      const std::string path = absl::StrCat("queues[", i, "]");
      QueueMix queue;
      CCR_RETURN_IF_ERROR(QueueFrom(path, in.queues(i), &queue));
      if (!names.insert(queue.name).second) {
        return FieldError(path + ".name", absl::StrCat("queue '", queue.name, "' is listed twice"));
      }
      total += queue.share;
      queues.push_back(std::move(queue));
    }
    if (total <= 0) return FieldError("queues", "at least one queue needs a share > 0");
    out->queues = std::move(queues);
  }
  return absl::OkStatus();
}

// Only blank and comment lines: an empty document, the built-in mix.
bool IsBlankYaml(absl::string_view yaml) {
  for (absl::string_view line : absl::StrSplit(yaml, '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!line.empty() && line[0] != '#') return false;
  }
  return true;
}

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
  TrafficMixConfig config = DefaultTrafficMix();
  if (IsBlankYaml(yaml)) return config;
  v1::LoadMix in;
  CCR_RETURN_IF_ERROR(ParseYamlMessage(yaml, "mix", &in));
  CCR_RETURN_IF_ERROR(NoEmptyTopLevelKeys(yaml));
  CCR_RETURN_IF_ERROR(MixFrom(in, &config));
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
