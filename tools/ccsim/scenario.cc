#include "tools/ccsim/scenario.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/common/yaml_fields.h"
#include "yaml-cpp/yaml.h"

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

constexpr double kInf = std::numeric_limits<double>::infinity();

// Every error names the key path and the line.
class ScenarioReader : private tools::YamlFieldReader {
 public:
  ScenarioReader() : YamlFieldReader("scenario: ") {}

  absl::Status Read(const YAML::Node& root, Scenario* out) {
    if (!root.IsMap()) return Error("scenario", root, "expected a map at the top level");
    CCSIM_RETURN_IF_ERROR(OnlyKnownKeys(
        "", root,
        {"name", "description", "seed", "duration_hours", "warmup_hours", "interval_minutes",
         "profile_step_minutes", "profiles", "handle_times", "streams", "agents"}));
    if (root["name"]) CCSIM_RETURN_IF_ERROR(Text("name", root["name"], &out->name));
    if (root["description"]) {
      CCSIM_RETURN_IF_ERROR(Text("description", root["description"], &out->description));
    }
    if (root["seed"]) {
      double seed = 0;
      CCSIM_RETURN_IF_ERROR(Number("seed", root["seed"], 0, 9e15, &seed));
      out->seed = static_cast<uint64_t>(seed);
    }
    if (root["duration_hours"]) {
      CCSIM_RETURN_IF_ERROR(
          Number("duration_hours", root["duration_hours"], 0.01, 24 * 365, &out->duration_hours));
    }
    if (root["warmup_hours"]) {
      CCSIM_RETURN_IF_ERROR(Number("warmup_hours", root["warmup_hours"], 0,
                                   out->duration_hours - 1e-9, &out->warmup_hours));
    }
    if (root["interval_minutes"]) {
      CCSIM_RETURN_IF_ERROR(
          Number("interval_minutes", root["interval_minutes"], 1, 1440, &out->interval_minutes));
    }
    if (root["profile_step_minutes"]) {
      CCSIM_RETURN_IF_ERROR(Number("profile_step_minutes", root["profile_step_minutes"], 1, 1440,
                                   &out->profile_step_minutes));
    }
    if (root["profiles"]) CCSIM_RETURN_IF_ERROR(Profiles(root["profiles"], &out->profiles));
    if (root["handle_times"]) {
      CCSIM_RETURN_IF_ERROR(HandleTimes(root["handle_times"], &out->handle_by_channel));
    }
    if (!root["streams"]) return Error("streams", root, "required");
    CCSIM_RETURN_IF_ERROR(Streams(root["streams"], out->profiles, &out->streams));
    if (!root["agents"]) return Error("agents", root, "required");
    CCSIM_RETURN_IF_ERROR(Agents(root["agents"], out->duration_hours, &out->agents));
    return absl::OkStatus();
  }

 private:
  absl::Status Text(const std::string& path, const YAML::Node& node, std::string* out) {
    if (!node.IsScalar() || node.Scalar().empty()) {
      return Error(path, node, absl::StrCat("expected a non-empty string", Got(node)));
    }
    *out = node.Scalar();
    return absl::OkStatus();
  }

  absl::Status ChannelValue(const std::string& path, const YAML::Node& node, Channel* out) {
    const std::string text = node.IsScalar() ? absl::AsciiStrToLower(node.Scalar()) : "";
    for (int c = 0; c < kChannelCount; ++c) {
      if (text == ChannelName(Channel(c))) {
        *out = Channel(c);
        return absl::OkStatus();
      }
    }
    return Error(
        path, node,
        absl::StrCat("expected voice, chat, email, messaging, video or callback", Got(node)));
  }

  // {distribution: exponential|lognormal|constant, mean_seconds: M, cv: C}, or `never`.
  absl::Status DistributionValue(const std::string& path, const YAML::Node& node,
                                 Distribution* out) {
    if (node.IsScalar() && absl::AsciiStrToLower(node.Scalar()) == "never") {
      *out = Distribution::Never();
      return absl::OkStatus();
    }
    if (!node.IsMap()) {
      return Error(path, node,
                   absl::StrCat("expected never or {distribution: exponential, mean_seconds: N}",
                                Got(node)));
    }
    CCSIM_RETURN_IF_ERROR(OnlyKnownKeys(path + ".", node, {"distribution", "mean_seconds", "cv"}));
    Distribution d;
    const std::string kind = node["distribution"] && node["distribution"].IsScalar()
                                 ? absl::AsciiStrToLower(node["distribution"].Scalar())
                                 : "exponential";
    if (kind == "exponential") {
      d.kind = Distribution::Kind::kExponential;
    } else if (kind == "lognormal") {
      d.kind = Distribution::Kind::kLognormal;
    } else if (kind == "constant") {
      d.kind = Distribution::Kind::kConstant;
    } else {
      return Error(
          path + ".distribution", node["distribution"],
          absl::StrCat("expected exponential, lognormal or constant", Got(node["distribution"])));
    }
    if (!node["mean_seconds"]) return Error(path + ".mean_seconds", node, "required");
    CCSIM_RETURN_IF_ERROR(
        Number(path + ".mean_seconds", node["mean_seconds"], 1e-3, 1e7, &d.mean_seconds));
    if (node["cv"]) {
      if (d.kind != Distribution::Kind::kLognormal) {
        return Error(path + ".cv", node["cv"], "only a lognormal distribution takes cv");
      }
      CCSIM_RETURN_IF_ERROR(Number(path + ".cv", node["cv"], 0.01, 10, &d.cv));
    }
    *out = d;
    return absl::OkStatus();
  }

  absl::Status Profiles(const YAML::Node& node, std::map<std::string, std::vector<double>>* out) {
    if (!node.IsMap()) {
      return Error("profiles", node, "expected a map of name to a list of rate multipliers");
    }
    for (const auto& entry : node) {
      std::string name;
      CCSIM_RETURN_IF_ERROR(Text("profiles", entry.first, &name));
      const std::string path = "profiles." + name;
      if (!entry.second.IsSequence() || entry.second.size() == 0) {
        return Error(path, entry.second, "expected a non-empty list of multipliers");
      }
      std::vector<double> steps(entry.second.size());
      for (size_t i = 0; i < steps.size(); ++i) {
        CCSIM_RETURN_IF_ERROR(
            Number(absl::StrCat(path, "[", i, "]"), entry.second[i], 0, 1000, &steps[i]));
      }
      (*out)[name] = std::move(steps);
    }
    return absl::OkStatus();
  }

  absl::Status HandleTimes(const YAML::Node& node,
                           std::array<std::optional<Distribution>, kChannelCount>* out) {
    if (!node.IsMap())
      return Error("handle_times", node, "expected a map of channel to a distribution");
    for (const auto& entry : node) {
      Channel channel;
      CCSIM_RETURN_IF_ERROR(ChannelValue("handle_times", entry.first, &channel));
      Distribution d;
      const std::string path = absl::StrCat("handle_times.", ChannelName(channel));
      CCSIM_RETURN_IF_ERROR(DistributionValue(path, entry.second, &d));
      if (d.kind == Distribution::Kind::kNever) return Error(path, entry.second, "must end");
      (*out)[static_cast<int>(channel)] = d;
    }
    return absl::OkStatus();
  }

  absl::Status SignalsValue(const std::string& path, const YAML::Node& node, Signals* out) {
    if (!node.IsMap()) return Error(path, node, "expected a map, e.g. {complaint: true}");
    CCSIM_RETURN_IF_ERROR(OnlyKnownKeys(path + ".", node,
                                        {"complaint", "emergency", "severity", "sentiment",
                                         "repeat_contacts_24h", "escalation_level", "keywords"}));
    if (node["complaint"]) {
      CCSIM_RETURN_IF_ERROR(Bool(path + ".complaint", node["complaint"], &out->complaint));
    }
    if (node["emergency"]) {
      CCSIM_RETURN_IF_ERROR(Bool(path + ".emergency", node["emergency"], &out->emergency));
    }
    if (node["severity"]) {
      const YAML::Node& v = node["severity"];
      const std::string text = v.IsScalar() ? absl::AsciiStrToLower(v.Scalar()) : "";
      static constexpr const char* kNames[] = {"none", "minor", "moderate", "severe"};
      const auto* it = std::find(std::begin(kNames), std::end(kNames), text);
      if (it == std::end(kNames)) {
        return Error(path + ".severity", v,
                     absl::StrCat("expected none, minor, moderate or severe", Got(v)));
      }
      out->severity = Severity(it - std::begin(kNames));
    }
    if (node["sentiment"]) {
      CCSIM_RETURN_IF_ERROR(Number(path + ".sentiment", node["sentiment"], -1, 1, &out->sentiment));
    }
    double value = 0;
    if (node["repeat_contacts_24h"]) {
      CCSIM_RETURN_IF_ERROR(
          Number(path + ".repeat_contacts_24h", node["repeat_contacts_24h"], 0, 1000, &value));
      out->repeat_contacts_24h = static_cast<uint32_t>(value);
    }
    if (node["escalation_level"]) {
      CCSIM_RETURN_IF_ERROR(
          Number(path + ".escalation_level", node["escalation_level"], 0, 3, &value));
      out->escalation_level = static_cast<uint32_t>(value);
    }
    if (node["keywords"]) {
      const YAML::Node& list = node["keywords"];
      if (!list.IsSequence()) return Error(path + ".keywords", list, "expected a list");
      for (size_t i = 0; i < list.size(); ++i) {
        std::string keyword;
        CCSIM_RETURN_IF_ERROR(Text(absl::StrCat(path, ".keywords[", i, "]"), list[i], &keyword));
        out->keywords.push_back(std::move(keyword));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Streams(const YAML::Node& node,
                       const std::map<std::string, std::vector<double>>& profiles,
                       std::vector<TrafficStream>* out) {
    if (!node.IsSequence() || node.size() == 0) {
      return Error("streams", node, "expected a non-empty list of traffic streams");
    }
    std::set<std::string> names;
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string path = absl::StrCat("streams[", i, "]");
      const YAML::Node& s = node[i];
      if (!s.IsMap()) return Error(path, s, "expected a map with name, queue and rate_per_hour");
      CCSIM_RETURN_IF_ERROR(OnlyKnownKeys(path + ".", s,
                                          {"name", "queue", "rate_per_hour", "profile", "tier",
                                           "signals", "language", "patience", "handle"}));
      TrafficStream stream;
      for (const char* key : {"name", "queue", "rate_per_hour"}) {
        if (!s[key]) return Error(absl::StrCat(path, ".", key), s, "required");
      }
      CCSIM_RETURN_IF_ERROR(Text(path + ".name", s["name"], &stream.name));
      if (!names.insert(stream.name).second) {
        return Error(path + ".name", s["name"], "stream '" + stream.name + "' is listed twice");
      }
      CCSIM_RETURN_IF_ERROR(Text(path + ".queue", s["queue"], &stream.queue));
      CCSIM_RETURN_IF_ERROR(
          Number(path + ".rate_per_hour", s["rate_per_hour"], 0, 1e7, &stream.rate_per_hour));
      if (s["profile"]) {
        CCSIM_RETURN_IF_ERROR(Text(path + ".profile", s["profile"], &stream.profile));
        if (!profiles.contains(stream.profile)) {
          return Error(path + ".profile", s["profile"],
                       "unknown profile '" + stream.profile + "' (define it under profiles)");
        }
      }
      if (s["tier"]) {
        const std::string text =
            s["tier"].IsScalar() ? absl::AsciiStrToLower(s["tier"].Scalar()) : "";
        bool found = false;
        for (int t = 0; t < 4; ++t) {
          if (text == TierName(Tier(t))) {
            stream.tier = Tier(t);
            found = true;
          }
        }
        if (!found) {
          return Error(path + ".tier", s["tier"],
                       absl::StrCat("expected standard, silver, gold or vip", Got(s["tier"])));
        }
      }
      if (s["signals"]) {
        CCSIM_RETURN_IF_ERROR(SignalsValue(path + ".signals", s["signals"], &stream.signals));
      }
      if (s["language"])
        CCSIM_RETURN_IF_ERROR(Text(path + ".language", s["language"], &stream.language));
      if (s["patience"]) {
        CCSIM_RETURN_IF_ERROR(
            DistributionValue(path + ".patience", s["patience"], &stream.patience));
      }
      if (s["handle"]) {
        Distribution d;
        CCSIM_RETURN_IF_ERROR(DistributionValue(path + ".handle", s["handle"], &d));
        if (d.kind == Distribution::Kind::kNever)
          return Error(path + ".handle", s["handle"], "must end");
        stream.handle = d;
      }
      out->push_back(std::move(stream));
    }
    return absl::OkStatus();
  }

  absl::Status Agents(const YAML::Node& node, double duration_hours, std::vector<AgentGroup>* out) {
    if (!node.IsSequence() || node.size() == 0) {
      return Error("agents", node, "expected a non-empty list of agent groups");
    }
    std::set<std::string> names;
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string path = absl::StrCat("agents[", i, "]");
      const YAML::Node& g = node[i];
      if (!g.IsMap()) return Error(path, g, "expected a map with name, count, skills, channels");
      CCSIM_RETURN_IF_ERROR(OnlyKnownKeys(path + ".", g,
                                          {"name", "count", "skills", "languages", "channels",
                                           "shift", "breaks", "break_stagger_minutes"}));
      AgentGroup group;
      for (const char* key : {"name", "count", "skills", "channels"}) {
        if (!g[key]) return Error(absl::StrCat(path, ".", key), g, "required");
      }
      CCSIM_RETURN_IF_ERROR(Text(path + ".name", g["name"], &group.name));
      if (!names.insert(group.name).second) {
        return Error(path + ".name", g["name"], "group '" + group.name + "' is listed twice");
      }
      double value = 0;
      CCSIM_RETURN_IF_ERROR(Number(path + ".count", g["count"], 0, 100000, &value));
      group.count = static_cast<int>(value);
      if (!g["skills"].IsMap()) {
        return Error(path + ".skills", g["skills"], "expected a map of skill to level 1..10");
      }
      for (const auto& entry : g["skills"]) {
        SkillLevel skill;
        CCSIM_RETURN_IF_ERROR(Text(path + ".skills", entry.first, &skill.skill));
        CCSIM_RETURN_IF_ERROR(Number(path + ".skills." + skill.skill, entry.second, 1, 10, &value));
        skill.level = static_cast<uint32_t>(value);
        group.skills.push_back(std::move(skill));
      }
      if (g["languages"]) {
        const YAML::Node& list = g["languages"];
        if (!list.IsSequence()) return Error(path + ".languages", list, "expected a list");
        for (size_t j = 0; j < list.size(); ++j) {
          std::string language;
          CCSIM_RETURN_IF_ERROR(
              Text(absl::StrCat(path, ".languages[", j, "]"), list[j], &language));
          group.languages.push_back(std::move(language));
        }
      }
      if (!g["channels"].IsMap() || g["channels"].size() == 0) {
        return Error(path + ".channels", g["channels"],
                     "expected a map of channel to capacity, e.g. {voice: 1, chat: 3}");
      }
      for (const auto& entry : g["channels"]) {
        Channel channel;
        CCSIM_RETURN_IF_ERROR(ChannelValue(path + ".channels", entry.first, &channel));
        CCSIM_RETURN_IF_ERROR(Number(absl::StrCat(path, ".channels.", ChannelName(channel)),
                                     entry.second, 0, 100, &value));
        group.capacities.emplace_back(channel, static_cast<uint32_t>(value));
      }
      if (g["shift"]) {
        const YAML::Node& shift = g["shift"];
        if (!shift.IsMap()) return Error(path + ".shift", shift, "expected {start_hour, end_hour}");
        CCSIM_RETURN_IF_ERROR(OnlyKnownKeys(path + ".shift.", shift, {"start_hour", "end_hour"}));
        if (shift["start_hour"]) {
          CCSIM_RETURN_IF_ERROR(Number(path + ".shift.start_hour", shift["start_hour"], 0,
                                       duration_hours, &group.shift_start_hour));
        }
        group.shift_end_hour = duration_hours;
        if (shift["end_hour"]) {
          CCSIM_RETURN_IF_ERROR(Number(path + ".shift.end_hour", shift["end_hour"],
                                       group.shift_start_hour, kInf, &group.shift_end_hour));
        }
      } else {
        group.shift_end_hour = duration_hours;
      }
      if (g["breaks"]) {
        const YAML::Node& list = g["breaks"];
        if (!list.IsSequence()) return Error(path + ".breaks", list, "expected a list");
        for (size_t j = 0; j < list.size(); ++j) {
          const std::string bpath = absl::StrCat(path, ".breaks[", j, "]");
          if (!list[j].IsMap()) return Error(bpath, list[j], "expected {after_hours, minutes}");
          CCSIM_RETURN_IF_ERROR(OnlyKnownKeys(bpath + ".", list[j], {"after_hours", "minutes"}));
          ShiftBreak b;
          for (const char* key : {"after_hours", "minutes"}) {
            if (!list[j][key]) return Error(absl::StrCat(bpath, ".", key), list[j], "required");
          }
          CCSIM_RETURN_IF_ERROR(
              Number(bpath + ".after_hours", list[j]["after_hours"], 0, 1000, &b.after_hours));
          CCSIM_RETURN_IF_ERROR(Number(bpath + ".minutes", list[j]["minutes"], 0, 600, &b.minutes));
          group.breaks.push_back(b);
        }
      }
      if (g["break_stagger_minutes"]) {
        CCSIM_RETURN_IF_ERROR(Number(path + ".break_stagger_minutes", g["break_stagger_minutes"], 0,
                                     1440, &group.break_stagger_minutes));
      }
      out->push_back(std::move(group));
    }
    return absl::OkStatus();
  }
};

}  // namespace

absl::StatusOr<Scenario> ParseScenarioYaml(absl::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("scenario: line ", e.mark.line + 1, ": ", e.msg));
  }
  Scenario scenario;
  if (absl::Status s = ScenarioReader().Read(root, &scenario); !s.ok()) return s;
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
