#include "tools/ccsim/scenario.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "ccrouter/v1/scenario.pb.h"
#include "codec/config_loader.h"
#include "google/protobuf/util/json_util.h"

namespace ccr::sim {

#define CCSIM_RETURN_IF_ERROR(expr)           \
  do {                                        \
    if (absl::Status s_ = (expr); !s_.ok()) { \
      return s_;                              \
    }                                         \
  } while (false)

double Distribution::Sample(std::mt19937_64& rng) const {
  switch (kind) {
    case Kind::kExponential:
      return std::exponential_distribution<double>(1.0 / mean_seconds)(rng);
    case Kind::kLognormal: {
      // Mean m and coefficient of variation cv: sigma^2 = ln(1 + cv^2), mu = ln m - sigma^2 / 2.
      const double sigma2 = std::log1p(cv * cv);
      return std::lognormal_distribution<double>(std::log(mean_seconds) - sigma2 / 2,
                                                 std::sqrt(sigma2))(rng);
    }
    case Kind::kConstant:
      return mean_seconds;
    case Kind::kNever:
      return std::numeric_limits<double>::infinity();
  }
  return mean_seconds;
}

double Scenario::ProfileMultiplier(const std::string& profile, double hours) const {
  if (profile.empty()) return 1;
  const std::vector<double>& steps = profiles.at(profile);
  const auto step = static_cast<size_t>(std::max(0.0, hours * 60 / profile_step_minutes));
  return steps[std::min(step, steps.size() - 1)];
}

namespace {

namespace v1 = ::ccrouter::v1;

constexpr double kInf = std::numeric_limits<double>::infinity();

// Errors name the field as the engine's config errors do:
// `scenario.streams[0].rate_per_hour: expected a number in [0, 1e+07], got -1`.
absl::Status FieldError(absl::string_view path, absl::string_view problem) {
  return ::ccr::FieldError("scenario", path, problem);
}

absl::Status InRange(absl::string_view path, double value, double min_value, double max_value) {
  return FieldInRange("scenario", path, value, min_value, max_value);
}

// A field the proto marks `optional` that the scenario requires.
template <typename T>
absl::Status Required(absl::string_view path, bool present, const T& value, T* out) {
  if (!present) return FieldError(path, "required");
  *out = value;
  return absl::OkStatus();
}

absl::Status NonEmpty(absl::string_view path, const std::string& text) {
  return text.empty() ? FieldError(path, "required (a non-empty string)") : absl::OkStatus();
}

absl::Status ChannelFromName(absl::string_view path, const std::string& name, Channel* out) {
  for (int c = 0; c < kChannelCount; ++c) {
    if (absl::AsciiStrToLower(name) == ChannelName(Channel(c))) {
      *out = Channel(c);
      return absl::OkStatus();
    }
  }
  return FieldError(path, absl::StrCat("expected voice, chat, email, messaging, video or callback, "
                                       "got '",
                                       name, "'"));
}

// `never` (when `may_be_never`) or {distribution, mean_seconds, cv}, the
// latter read into ScenarioDistribution like the rest of the file.
absl::Status DistributionFrom(const std::string& path, const google::protobuf::Value& value,
                              bool may_be_never, Distribution* out) {
  if (value.kind_case() == google::protobuf::Value::kStringValue &&
      absl::AsciiStrToLower(value.string_value()) == "never") {
    if (!may_be_never) return FieldError(path, "must end");
    *out = Distribution::Never();
    return absl::OkStatus();
  }
  if (value.kind_case() != google::protobuf::Value::kStructValue) {
    return FieldError(path, absl::StrCat(may_be_never ? "expected never or " : "expected ",
                                         "{distribution: exponential, mean_seconds: N}"));
  }
  std::string json;
  v1::ScenarioDistribution in;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (auto s = google::protobuf::util::MessageToJsonString(value.struct_value(), &json); !s.ok()) {
    return FieldError(path, s.message().as_string());
  }
  if (auto s = google::protobuf::util::JsonStringToMessage(json, &in, options); !s.ok()) {
    return FieldError(path, s.message().as_string());
  }
  Distribution d;
  const std::string kind = absl::AsciiStrToLower(in.distribution());
  if (kind.empty() || kind == "exponential") {
    d.kind = Distribution::Kind::kExponential;
  } else if (kind == "lognormal") {
    d.kind = Distribution::Kind::kLognormal;
  } else if (kind == "constant") {
    d.kind = Distribution::Kind::kConstant;
  } else {
    return FieldError(
        path + ".distribution",
        absl::StrCat("expected exponential, lognormal or constant, got '", in.distribution(), "'"));
  }
  CCSIM_RETURN_IF_ERROR(
      Required(path + ".mean_seconds", in.has_mean_seconds(), in.mean_seconds(), &d.mean_seconds));
  CCSIM_RETURN_IF_ERROR(InRange(path + ".mean_seconds", d.mean_seconds, 1e-3, 1e7));
  if (in.has_cv()) {
    if (d.kind != Distribution::Kind::kLognormal) {
      return FieldError(path + ".cv", "only a lognormal distribution takes cv");
    }
    d.cv = in.cv();
    CCSIM_RETURN_IF_ERROR(InRange(path + ".cv", d.cv, 0.01, 10));
  }
  *out = d;
  return absl::OkStatus();
}

// Map fields in key order: protobuf's maps have none, and the same file
// must give the same simulation.
template <typename Map>
std::vector<typename Map::const_pointer> SortedByKey(const Map& map) {
  std::vector<typename Map::const_pointer> out;
  for (const auto& entry : map) out.push_back(&entry);
  std::sort(out.begin(), out.end(), [](auto a, auto b) { return a->first < b->first; });
  return out;
}

absl::Status SignalsFrom(const std::string& path, const v1::ScenarioSignals& in, Signals* out) {
  out->complaint = in.complaint();
  out->emergency = in.emergency();
  if (!in.severity().empty()) {
    static constexpr const char* kNames[] = {"none", "minor", "moderate", "severe"};
    const std::string text = absl::AsciiStrToLower(in.severity());
    const auto* it = std::find(std::begin(kNames), std::end(kNames), text);
    if (it == std::end(kNames)) {
      return FieldError(path + ".severity", absl::StrCat("expected none, minor, moderate or "
                                                         "severe, got '",
                                                         in.severity(), "'"));
    }
    out->severity = Severity(it - std::begin(kNames));
  }
  if (in.has_sentiment()) {
    out->sentiment = in.sentiment();
    CCSIM_RETURN_IF_ERROR(InRange(path + ".sentiment", out->sentiment, -1, 1));
  }
  out->repeat_contacts_24h = in.repeat_contacts_24h();
  CCSIM_RETURN_IF_ERROR(InRange(path + ".repeat_contacts_24h", out->repeat_contacts_24h, 0, 1000));
  out->escalation_level = in.escalation_level();
  CCSIM_RETURN_IF_ERROR(InRange(path + ".escalation_level", out->escalation_level, 0, 3));
  for (int i = 0; i < in.keywords_size(); ++i) {
    CCSIM_RETURN_IF_ERROR(NonEmpty(absl::StrCat(path, ".keywords[", i, "]"), in.keywords(i)));
    out->keywords.push_back(in.keywords(i));
  }
  return absl::OkStatus();
}

absl::Status StreamsFrom(const v1::Scenario& in, Scenario* out) {
  if (in.streams_size() == 0) return FieldError("streams", "required (a non-empty list)");
  std::set<std::string> names;
  for (int i = 0; i < in.streams_size(); ++i) {
    const v1::ScenarioStream& s = in.streams(i);
    const std::string path = absl::StrCat("streams[", i, "]");
    TrafficStream stream;
    CCSIM_RETURN_IF_ERROR(NonEmpty(path + ".name", s.name()));
    stream.name = s.name();
    if (!names.insert(stream.name).second) {
      return FieldError(path + ".name", "stream '" + stream.name + "' is listed twice");
    }
    CCSIM_RETURN_IF_ERROR(NonEmpty(path + ".queue", s.queue()));
    stream.queue = s.queue();
    CCSIM_RETURN_IF_ERROR(Required(path + ".rate_per_hour", s.has_rate_per_hour(),
                                   s.rate_per_hour(), &stream.rate_per_hour));
    CCSIM_RETURN_IF_ERROR(InRange(path + ".rate_per_hour", stream.rate_per_hour, 0, 1e7));
    stream.profile = s.profile();
    if (!stream.profile.empty() && !out->profiles.contains(stream.profile)) {
      return FieldError(path + ".profile",
                        "unknown profile '" + stream.profile + "' (define it under profiles)");
    }
    stream.tier = s.tier() == v1::TIER_UNSPECIFIED ? Tier::kStandard : Tier(s.tier() - 1);
    CCSIM_RETURN_IF_ERROR(SignalsFrom(path + ".signals", s.signals(), &stream.signals));
    stream.language = s.language();
    if (s.has_patience()) {
      CCSIM_RETURN_IF_ERROR(DistributionFrom(path + ".patience", s.patience(),
                                             /*may_be_never=*/true, &stream.patience));
    }
    if (s.has_handle()) {
      Distribution d;
      CCSIM_RETURN_IF_ERROR(DistributionFrom(path + ".handle", s.handle(), false, &d));
      stream.handle = d;
    }
    out->streams.push_back(std::move(stream));
  }
  return absl::OkStatus();
}

absl::Status AgentsFrom(const v1::Scenario& in, Scenario* out) {
  if (in.agents_size() == 0) return FieldError("agents", "required (a non-empty list)");
  std::set<std::string> names;
  for (int i = 0; i < in.agents_size(); ++i) {
    const v1::ScenarioAgentGroup& g = in.agents(i);
    const std::string path = absl::StrCat("agents[", i, "]");
    AgentGroup group;
    CCSIM_RETURN_IF_ERROR(NonEmpty(path + ".name", g.name()));
    group.name = g.name();
    if (!names.insert(group.name).second) {
      return FieldError(path + ".name", "group '" + group.name + "' is listed twice");
    }
    uint32_t count = 0;
    CCSIM_RETURN_IF_ERROR(Required(path + ".count", g.has_count(), g.count(), &count));
    CCSIM_RETURN_IF_ERROR(InRange(path + ".count", count, 0, 100000));
    group.count = static_cast<int>(count);
    if (g.skills().empty()) return FieldError(path + ".skills", "required: skill to level 1..10");
    for (const auto* entry : SortedByKey(g.skills())) {
      const std::string at = absl::StrCat(path, ".skills.", entry->first);
      CCSIM_RETURN_IF_ERROR(InRange(at, entry->second, 1, 10));
      group.skills.push_back(SkillLevel{entry->first, entry->second});
    }
    for (int j = 0; j < g.languages_size(); ++j) {
      CCSIM_RETURN_IF_ERROR(NonEmpty(absl::StrCat(path, ".languages[", j, "]"), g.languages(j)));
      group.languages.push_back(g.languages(j));
    }
    if (g.channels().empty()) {
      return FieldError(path + ".channels",
                        "required: channel to capacity, e.g. {voice: 1, chat: 3}");
    }
    for (const auto* entry : SortedByKey(g.channels())) {
      Channel channel;
      CCSIM_RETURN_IF_ERROR(ChannelFromName(path + ".channels", entry->first, &channel));
      CCSIM_RETURN_IF_ERROR(
          InRange(absl::StrCat(path, ".channels.", entry->first), entry->second, 0, 100));
      group.capacities.emplace_back(channel, entry->second);
    }
    group.shift_start_hour = g.shift().start_hour();
    CCSIM_RETURN_IF_ERROR(
        InRange(path + ".shift.start_hour", group.shift_start_hour, 0, out->duration_hours));
    group.shift_end_hour = g.shift().has_end_hour() ? g.shift().end_hour() : out->duration_hours;
    CCSIM_RETURN_IF_ERROR(
        InRange(path + ".shift.end_hour", group.shift_end_hour, group.shift_start_hour, kInf));
    for (int j = 0; j < g.breaks_size(); ++j) {
      const std::string bpath = absl::StrCat(path, ".breaks[", j, "]");
      const v1::ScenarioBreak& in_break = g.breaks(j);
      ShiftBreak b;
      CCSIM_RETURN_IF_ERROR(Required(bpath + ".after_hours", in_break.has_after_hours(),
                                     in_break.after_hours(), &b.after_hours));
      CCSIM_RETURN_IF_ERROR(InRange(bpath + ".after_hours", b.after_hours, 0, 1000));
      CCSIM_RETURN_IF_ERROR(
          Required(bpath + ".minutes", in_break.has_minutes(), in_break.minutes(), &b.minutes));
      CCSIM_RETURN_IF_ERROR(InRange(bpath + ".minutes", b.minutes, 0, 600));
      group.breaks.push_back(b);
    }
    group.break_stagger_minutes = g.break_stagger_minutes();
    CCSIM_RETURN_IF_ERROR(
        InRange(path + ".break_stagger_minutes", group.break_stagger_minutes, 0, 1440));
    out->agents.push_back(std::move(group));
  }
  return absl::OkStatus();
}

absl::Status ScenarioFrom(const v1::Scenario& in, Scenario* out) {
  out->name = in.name();
  out->description = in.description();
  if (in.has_seed()) out->seed = in.seed();
  if (in.has_duration_hours()) out->duration_hours = in.duration_hours();
  CCSIM_RETURN_IF_ERROR(InRange("duration_hours", out->duration_hours, 0.01, 24 * 365));
  out->warmup_hours = in.warmup_hours();
  CCSIM_RETURN_IF_ERROR(InRange("warmup_hours", out->warmup_hours, 0, out->duration_hours - 1e-9));
  if (in.has_interval_minutes()) out->interval_minutes = in.interval_minutes();
  CCSIM_RETURN_IF_ERROR(InRange("interval_minutes", out->interval_minutes, 1, 1440));
  if (in.has_profile_step_minutes()) out->profile_step_minutes = in.profile_step_minutes();
  CCSIM_RETURN_IF_ERROR(InRange("profile_step_minutes", out->profile_step_minutes, 1, 1440));
  for (const auto* entry : SortedByKey(in.profiles())) {
    const std::string path = absl::StrCat("profiles.", entry->first);
    const google::protobuf::ListValue& list = entry->second;
    if (list.values_size() == 0)
      return FieldError(path, "expected a non-empty list of multipliers");
    std::vector<double>& steps = out->profiles[entry->first];
    for (int i = 0; i < list.values_size(); ++i) {
      const std::string at = absl::StrCat(path, "[", i, "]");
      if (list.values(i).kind_case() != google::protobuf::Value::kNumberValue) {
        return FieldError(at, "expected a number");
      }
      CCSIM_RETURN_IF_ERROR(InRange(at, list.values(i).number_value(), 0, 1000));
      steps.push_back(list.values(i).number_value());
    }
  }
  for (const auto* entry : SortedByKey(in.handle_times())) {
    Channel channel;
    CCSIM_RETURN_IF_ERROR(ChannelFromName("handle_times", entry->first, &channel));
    Distribution d;
    CCSIM_RETURN_IF_ERROR(DistributionFrom(absl::StrCat("handle_times.", ChannelName(channel)),
                                           entry->second, /*may_be_never=*/false, &d));
    out->handle_by_channel[static_cast<int>(channel)] = d;
  }
  CCSIM_RETURN_IF_ERROR(StreamsFrom(in, out));
  return AgentsFrom(in, out);
}

}  // namespace

absl::StatusOr<Scenario> ParseScenarioYaml(absl::string_view yaml) {
  v1::Scenario in;
  CCR_RETURN_IF_ERROR(ParseYamlMessage(yaml, "scenario", &in));
  Scenario scenario;
  CCR_RETURN_IF_ERROR(ScenarioFrom(in, &scenario));
  return scenario;
}

absl::Status CheckScenario(const Scenario& scenario, const RouterConfig& config) {
  for (size_t i = 0; i < scenario.streams.size(); ++i) {
    const TrafficStream& stream = scenario.streams[i];
    const bool known = std::any_of(config.queues.begin(), config.queues.end(),
                                   [&](const QueueConfig& q) { return q.name == stream.queue; });
    if (!known) {
      return absl::NotFoundError(absl::StrCat("scenario: streams[", i, "].queue: '", stream.queue,
                                              "' is not a queue of the router config"));
    }
  }
  return absl::OkStatus();
}

}  // namespace ccr::sim
