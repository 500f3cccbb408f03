#include "codec/config_loader.h"

#include <cassert>
#include <cmath>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "codec/json_text.h"
#include "codec/wire.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "router/router.h"
#include "yaml-cpp/yaml.h"

namespace ccr {

namespace {

// Enum fields whose values may be written short: `channel: voice`.
const char* EnumPrefix(absl::string_view key) {
  if (key == "channel") return "CHANNEL_";
  if (key == "tier") return "TIER_";
  if (key == "direction") return "DIRECTION_";
  return nullptr;
}

// What one YAML -> JSON walk may still spend. Aliases are shared nodes in
// yaml-cpp, so the walk, not the parse, is where a document's expanded size
// shows: every visit is counted, whether the node was written out or aliased.
struct WalkBudget {
  size_t nodes_left = kMaxConfigNodes;
  size_t json_bytes_left = kMaxConfigJsonBytes;
};

absl::Status WalkLimitError(const YAML::Node& node, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      "config: line ", node.Mark().line + 1, ", column ", node.Mark().column + 1, ": ", what,
      " (YAML aliases expand where they are used; a config may expand to at most ", kMaxConfigNodes,
      " nodes, ", kMaxConfigJsonBytes / (1024 * 1024), " MiB, nested ", kMaxConfigDepth, " deep)"));
}

absl::Status NodeToJson(const YAML::Node& node, absl::string_view key, int depth,
                        WalkBudget* budget, std::string* out) {
  if (depth > kMaxConfigDepth) {
    return WalkLimitError(node, absl::StrCat("nested more than ", kMaxConfigDepth, " deep"));
  }
  if (budget->nodes_left == 0) {
    return WalkLimitError(node, absl::StrCat("more than ", kMaxConfigNodes, " nodes"));
  }
  --budget->nodes_left;
  // Checked before each node is appended: the output grows by at most one
  // scalar (itself bounded by the input) past the limit before the walk stops.
  if (out->size() > kMaxConfigJsonBytes) {
    return WalkLimitError(
        node, absl::StrCat("larger than ", kMaxConfigJsonBytes / (1024 * 1024), " MiB expanded"));
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
      out->append("null");
      return absl::OkStatus();
    case YAML::NodeType::Map: {
      out->push_back('{');
      bool first = true;
      for (const auto& kv : node) {
        if (!first) out->push_back(',');
        first = false;
        // A key must be a plain value: `? [a, b]: c` is valid YAML but no
        // config field (as<std::string> would throw on it).
        if (!kv.first.IsScalar()) {
          return absl::InvalidArgumentError(absl::StrCat("config: line ", kv.first.Mark().line + 1,
                                                         ", column ", kv.first.Mark().column + 1,
                                                         ": a mapping key must be a plain value"));
        }
        const std::string k = kv.first.Scalar();
        AppendJsonQuoted(out, k);
        out->push_back(':');
        CCR_RETURN_IF_ERROR(NodeToJson(kv.second, k, depth + 1, budget, out));
      }
      out->push_back('}');
      return absl::OkStatus();
    }
    case YAML::NodeType::Sequence: {
      out->push_back('[');
      bool first = true;
      for (const YAML::Node& item : node) {
        if (!first) out->push_back(',');
        first = false;
        CCR_RETURN_IF_ERROR(NodeToJson(item, key, depth + 1, budget, out));
      }
      out->push_back(']');
      return absl::OkStatus();
    }
    case YAML::NodeType::Scalar: {
      const std::string& v = node.Scalar();
      if (node.Tag() == "!") {  // quoted: always a string
        AppendJsonQuoted(out, v);
        return absl::OkStatus();
      }
      if (v == "true" || v == "false") {
        out->append(v);
        return absl::OkStatus();
      }
      double number = 0;
      if (absl::SimpleAtod(v, &number) && std::isfinite(number)) {
        out->append(v);
        return absl::OkStatus();
      }
      if (const char* prefix = EnumPrefix(key);
          prefix != nullptr && !v.empty() && absl::AsciiStrToLower(v) == v) {
        AppendJsonQuoted(out, absl::StrCat(prefix, absl::AsciiStrToUpper(v)));
        return absl::OkStatus();
      }
      AppendJsonQuoted(out, v);
      return absl::OkStatus();
    }
    case YAML::NodeType::Undefined:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat("config: undefined YAML node at '", key, "'"));
}

// Bounds on every number of a config. The router turns durations into
// absl::Time deadlines and scores into integer milliseconds of rank
// (seconds_per_point * points); without bounds a huge, infinite or NaN
// value overflows that arithmetic.
constexpr double kMaxConfigSeconds = 10 * 365 * 86400.0;  // ten years
constexpr double kMaxConfigWeight = 1e6;

// Every double field of `m` (recursively, map values included) is finite;
// those named *_seconds are within ±kMaxConfigSeconds, the others (weights,
// ratios, thresholds) within ±kMaxConfigWeight.
absl::Status CheckConfigNumbers(const google::protobuf::Message& m, const std::string& path) {
  const google::protobuf::Reflection* r = m.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const google::protobuf::FieldDescriptor* f : fields) {
    const std::string name = path.empty() ? f->name() : absl::StrCat(path, ".", f->name());
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int i = 0; i < n; ++i) {
      const std::string at = f->is_repeated() ? absl::StrCat(name, "[", i, "]") : name;
      if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
        const google::protobuf::Message& sub =
            f->is_repeated() ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f);
        CCR_RETURN_IF_ERROR(CheckConfigNumbers(sub, at));
        continue;
      }
      if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_DOUBLE) continue;
      const double v = f->is_repeated() ? r->GetRepeatedDouble(m, f, i) : r->GetDouble(m, f);
      const bool seconds = absl::EndsWith(f->name(), "_seconds");
      const double limit = seconds ? kMaxConfigSeconds : kMaxConfigWeight;
      if (!std::isfinite(v) || std::fabs(v) > limit) {
        return absl::InvalidArgumentError(absl::StrCat("config.", at, ": ", v,
                                                       " is out of range (at most ", limit,
                                                       seconds ? " seconds)" : " in magnitude)"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Duration SecondsOr(double seconds, absl::Duration fallback) {
  return seconds > 0 ? absl::Seconds(seconds) : fallback;
}

}  // namespace

absl::StatusOr<std::string> YamlToJson(absl::string_view yaml) {
  if (yaml.size() > kMaxConfigYamlBytes) {
    return absl::InvalidArgumentError(absl::StrCat("config: ", yaml.size(),
                                                   " bytes of YAML, over the limit of ",
                                                   kMaxConfigYamlBytes, " bytes (1 MiB)"));
  }
  auto yaml_error = [](const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: YAML error at line ", e.mark.line + 1,
                                                   ", column ", e.mark.column + 1, ": ", e.msg));
  };
  // Hostile input must never throw out of the loader (Admin.ReloadConfig):
  // every yaml-cpp exception becomes an error. The bounds above and in the
  // walk keep memory small, so std::bad_alloc is not how a document fails.
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return yaml_error(e);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: YAML not readable: ", e.what()));
  }
  std::string json;
  try {
    if (!root.IsMap()) return absl::InvalidArgumentError("config: the top level must be a mapping");
    WalkBudget budget;
    CCR_RETURN_IF_ERROR(NodeToJson(root, "", 0, &budget, &json));
  } catch (const YAML::Exception& e) {
    return yaml_error(e);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: YAML not readable: ", e.what()));
  }
  return json;
}

absl::Status ParseYamlMessage(absl::string_view yaml, absl::string_view what,
                              google::protobuf::Message* out) {
  absl::StatusOr<std::string> json = YamlToJson(yaml);
  if (!json.ok()) {
    // YamlToJson speaks of the config; name the file being read instead.
    absl::string_view message = json.status().message();
    return absl::InvalidArgumentError(
        absl::ConsumePrefix(&message, "config") ? absl::StrCat(what, message) : message);
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(*json, out, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", status.message().as_string()));
  }
  return absl::OkStatus();
}

absl::Status FieldError(absl::string_view what, absl::string_view path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(what, ".", path, ": ", problem));
}

absl::Status FieldInRange(absl::string_view what, absl::string_view path, double value,
                          double min_value, double max_value) {
  if (std::isfinite(value) && value >= min_value && value <= max_value) return absl::OkStatus();
  return FieldError(
      what, path,
      absl::StrCat("expected a number in [", min_value, ", ", max_value, "], got ", value));
}

absl::StatusOr<v1::Config> ParseConfigYaml(absl::string_view yaml) {
  v1::Config config;
  CCR_RETURN_IF_ERROR(ParseYamlMessage(yaml, "config", &config));
  return config;
}

namespace {

// The routing policy named at `path` (empty: none), or an error naming it.
absl::StatusOr<std::optional<RoutingPolicy>> PolicyNamed(const std::string& name,
                                                         absl::string_view path) {
  if (name.empty()) return std::nullopt;
  std::optional<RoutingPolicy> p = ParseRoutingPolicy(name);
  if (!p) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": unknown routing policy '", TruncateText(name, 64), "' (expected ranked or fifo)"));
  }
  return p;
}

absl::Status CheckAbTest(const v1::AbTest& ab, absl::string_view path) {
  if (ab.policies_size() < 2 || static_cast<size_t>(ab.policies_size()) > kMaxAbTestPolicies) {
    return absl::InvalidArgumentError(absl::StrCat(path, ".policies: ", ab.policies_size(),
                                                   " named; an A/B test alternates 2 to ",
                                                   kMaxAbTestPolicies));
  }
  for (int j = 0; j < ab.policies_size(); ++j) {
    CCR_RETURN_IF_ERROR(
        PolicyNamed(ab.policies(j), absl::StrCat(path, ".policies[", j, "]")).status());
  }
  const double period = ab.period_seconds();
  if (period != 0 && !(std::isfinite(period) && period >= 1 && period <= 366 * 86400.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ".period_seconds: ", period, " is out of range (0 for 3600, else 1 to 31622400)"));
  }
  return absl::OkStatus();
}

// Every routing_policy and ab_test of the config, checked with its path.
absl::Status CheckRoutingPolicies(const v1::Config& config) {
  CCR_RETURN_IF_ERROR(PolicyNamed(config.routing_policy(), "config.routing_policy").status());
  if (config.has_ab_test()) CCR_RETURN_IF_ERROR(CheckAbTest(config.ab_test(), "config.ab_test"));
  for (int i = 0; i < config.queues_size(); ++i) {
    const v1::QueueConfig& q = config.queues(i);
    const std::string path = absl::StrCat("config.queues[", i, "]");
    CCR_RETURN_IF_ERROR(PolicyNamed(q.routing_policy(), path + ".routing_policy").status());
    if (q.has_ab_test()) CCR_RETURN_IF_ERROR(CheckAbTest(q.ab_test(), path + ".ab_test"));
  }
  return absl::OkStatus();
}

AbTest ToAbTest(const v1::AbTest& in) {
  AbTest out;
  for (const std::string& name : in.policies()) {
    out.policies.push_back(ParseRoutingPolicy(name).value_or(RoutingPolicy::kRanked));
  }
  if (in.period_seconds() > 0) out.period = absl::Seconds(in.period_seconds());
  return out;
}

}  // namespace

RouterConfig ToRouterConfig(const v1::Config& in) {
  RouterConfig out;
  if (!in.default_language().empty()) out.default_language = in.default_language();
  out.sticky_window = SecondsOr(in.sticky_window_seconds(), out.sticky_window);
  out.advisor_wait = SecondsOr(in.advisor_wait_seconds(), out.advisor_wait);
  if (in.max_consecutive_misses() > 0) out.max_consecutive_misses = in.max_consecutive_misses();
  out.reoffer_cooldown = SecondsOr(in.reoffer_cooldown_seconds(), out.reoffer_cooldown);
  out.idempotency_window = SecondsOr(in.idempotency_window_seconds(), out.idempotency_window);
  out.fallback_queue = in.fallback_queue();
  const v1::StreamLimits& limits = in.limits();
  if (limits.max_live_contacts() > 0) out.limits.max_live_contacts = limits.max_live_contacts();
  if (limits.max_languages() > 0) out.limits.max_languages = limits.max_languages();
  if (limits.max_history_entries() > 0) {
    out.limits.max_history_entries = limits.max_history_entries();
  }
  if (limits.max_history_bytes() > 0) out.limits.max_history_bytes = limits.max_history_bytes();
  out.limits.agent_retention =
      SecondsOr(limits.agent_retention_seconds(), out.limits.agent_retention);

  for (const v1::ChannelConfig& c : in.channels()) {
    ChannelConfig& ch = out.channels[static_cast<int>(ChannelFromWire(c.channel()))];
    if (c.agent_capacity() > 0) ch.agent_capacity = c.agent_capacity();
    ch.exclusive = c.exclusive();
    ch.offer_timeout = SecondsOr(c.offer_timeout_seconds(), ch.offer_timeout);
    ch.wrap_up =
        c.wrap_up_seconds() > 0 ? absl::Seconds(c.wrap_up_seconds()) : absl::ZeroDuration();
    ch.default_handle = SecondsOr(c.default_handle_seconds(), ch.default_handle);
    ch.default_queue = c.default_queue();
  }
  for (const v1::QueueConfig& q : in.queues()) {
    QueueConfig& qc = out.queues.emplace_back();
    qc.name = q.name();
    qc.channel = ChannelFromWire(q.channel());
    for (const auto& s : q.skills()) qc.skills.push_back({s.skill(), std::max(1u, s.min_level())});
    qc.answer_within = SecondsOr(q.answer_within_seconds(), qc.answer_within);
    if (q.target_ratio() != 0) qc.target_ratio = q.target_ratio();
    for (const auto& step : q.overflow()) {
      OverflowStep& o = qc.overflow.emplace_back();
      o.after = absl::Seconds(step.after_seconds());
      o.lower_min_level_by = step.lower_min_level_by();
      o.add_queues.assign(step.add_queues().begin(), step.add_queues().end());
      o.any_agent_of_channel = step.any_agent_of_channel();
    }
    qc.default_language = q.default_language();
    qc.short_abandon = absl::Seconds(std::max(0.0, q.short_abandon_seconds()));
    qc.expire_after = absl::Seconds(std::max(0.0, q.expire_after_seconds()));
    qc.topics.assign(q.topics().begin(), q.topics().end());
    if (q.has_service_objective()) qc.service_objective = q.service_objective();
    // The queue's own choice, else the config's (an A/B test before a fixed
    // policy at each level), else ranked. Unknown names were refused by
    // LoadRouterConfig; here they read as ranked.
    if (q.has_ab_test()) {
      qc.ab_test = ToAbTest(q.ab_test());
    } else if (!q.routing_policy().empty()) {
      qc.routing_policy = ParseRoutingPolicy(q.routing_policy()).value_or(RoutingPolicy::kRanked);
    } else if (in.has_ab_test()) {
      qc.ab_test = ToAbTest(in.ab_test());
    } else {
      qc.routing_policy = ParseRoutingPolicy(in.routing_policy()).value_or(RoutingPolicy::kRanked);
    }
  }
  if (in.has_scoring()) {
    const v1::ScoringWeights& w = in.scoring();
    ScoringWeights& s = out.scoring;
    s.tier = {w.tier_standard(), w.tier_silver(), w.tier_gold(), w.tier_vip()};
    s.complaint = w.complaint();
    s.emergency = w.emergency();
    s.severity = {0, w.severity_minor(), w.severity_moderate(), w.severity_severe()};
    s.negative_sentiment = w.negative_sentiment();
    s.repeat_contact = w.repeat_contact();
    s.repeat_contact_cap = w.repeat_contact_cap();
    s.escalation_level = w.escalation_level();
    s.keywords.clear();
    for (const auto& [k, v] : w.keywords()) s.keywords[k] = v;
    s.proactive_outbound = w.proactive_outbound();
    s.need_elderly = w.need_elderly();
    s.need_accessibility = w.need_accessibility();
    s.seconds_per_point = w.seconds_per_point();
  }
  if (in.has_escalation()) {
    const v1::EscalationConfig& e = in.escalation();
    out.escalation.senior_skill = e.senior_skill();
    out.escalation.complaint_sentiment_threshold = e.complaint_sentiment_threshold();
    out.escalation.senior_from_escalation_level = e.senior_from_escalation_level();
    out.escalation.alert_sentiment_threshold = e.alert_sentiment_threshold();
    out.escalation.elderly_skill = e.elderly_skill();
    out.escalation.accessibility_skill = e.accessibility_skill();
    if (e.has_senior_wait_share()) out.escalation.senior_wait_share = e.senior_wait_share();
  }
  if (in.has_follow_ups()) {
    const v1::FollowUpConfig& f = in.follow_ups();
    out.follow_ups.queue = f.queue();
    out.follow_ups.severe_progress_report =
        SecondsOr(f.severe_progress_report_seconds(), out.follow_ups.severe_progress_report);
    out.follow_ups.unresolved_follow_up =
        SecondsOr(f.unresolved_follow_up_seconds(), out.follow_ups.unresolved_follow_up);
    out.follow_ups.survey_delay = SecondsOr(f.survey_delay_seconds(), out.follow_ups.survey_delay);
    out.follow_ups.survey_enabled = f.survey_enabled();
  }
  if (in.has_wellbeing()) {
    out.max_continuous_busy =
        absl::Seconds(std::max(0.0, in.wellbeing().max_continuous_busy_seconds()));
    out.rest = SecondsOr(in.wellbeing().rest_seconds(), out.rest);
  }
  return out;
}

absl::StatusOr<RouterConfig> LoadRouterConfig(absl::string_view yaml, v1::Config* wire) {
  CCR_ASSIGN_OR_RETURN(v1::Config parsed, ParseConfigYaml(yaml));
  CCR_RETURN_IF_ERROR(CheckConfigNumbers(parsed, ""));
  for (int i = 0; i < parsed.queues_size(); ++i) {
    if (parsed.queues(i).channel() == v1::CHANNEL_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat("config.queues[", i, "].channel: required"));
    }
  }
  CCR_RETURN_IF_ERROR(CheckRoutingPolicies(parsed));
  RouterConfig config = ToRouterConfig(parsed);
  // Personal data of ended contacts lives in the sticky-routing memory and
  // the idempotency window; the retention period bounds both.
  const absl::Duration retention =
      SecondsOr(parsed.personal_data_retention_seconds(), absl::Hours(24));
  if (config.sticky_window > retention) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config.sticky_window_seconds: ", absl::ToDoubleSeconds(config.sticky_window),
        " exceeds personal_data_retention_seconds ", absl::ToDoubleSeconds(retention)));
  }
  if (config.idempotency_window > retention) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config.idempotency_window_seconds: ", absl::ToDoubleSeconds(config.idempotency_window),
        " exceeds personal_data_retention_seconds ", absl::ToDoubleSeconds(retention)));
  }
  if (parsed.limits().submit_stream_messages_per_second() < 0 ||
      parsed.limits().agent_stream_messages_per_second() < 0) {
    return absl::InvalidArgumentError("config.limits: message rates must not be negative");
  }
  if (const double beat = parsed.heartbeat_interval_seconds();
      beat != 0 && (beat < 0.1 || beat > 3600)) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.heartbeat_interval_seconds: ", beat,
                     " is out of range (0 for the default 10, else 0.1 to 3600)"));
  }
  if (parsed.heartbeat_missed_limit() > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.heartbeat_missed_limit: ", parsed.heartbeat_missed_limit(),
                     " is over 100 (0 for the default 3)"));
  }
  for (int i = 0; i < parsed.http().allowed_origins_size(); ++i) {
    // Compared byte for byte with a browser's Origin header, which is always
    // scheme://host[:port], lower case, without a path.
    const std::string& origin = parsed.http().allowed_origins(i);
    const size_t scheme_end = origin.find("://");
    const bool well_formed =
        (absl::StartsWith(origin, "http://") || absl::StartsWith(origin, "https://")) &&
        origin.size() > scheme_end + 3 && origin.size() <= 256 &&
        origin.find('/', scheme_end + 3) == std::string::npos &&
        absl::AsciiStrToLower(origin) == origin;
    if (!well_formed) {
      return absl::InvalidArgumentError(
          absl::StrCat("config.http.allowed_origins[", i, "]: '", origin,
                       "' is not a lower-case http(s)://host[:port] without a path"));
    }
  }
  if (parsed.http().max_websocket_desktops() > 1000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.http.max_websocket_desktops: ", parsed.http().max_websocket_desktops(),
                     " is over 1000000 (0 for the default 20000)"));
  }
  // A trial router: what Router::Create refuses, the loader refuses.
  CCR_RETURN_IF_ERROR(Router::Create(config).status());
  if (wire != nullptr) *wire = std::move(parsed);
  return config;
}

namespace {

// The value at `path` ("limits.event_window") of `config` equals that of `other`.
bool SameAt(const google::protobuf::Message& config, const google::protobuf::Message& other,
            absl::string_view path) {
  const google::protobuf::Message* a = &config;
  const google::protobuf::Message* b = &other;
  for (absl::string_view name : absl::StrSplit(path, '.')) {
    const google::protobuf::FieldDescriptor* f =
        a->GetDescriptor()->FindFieldByName(std::string(name));
    assert(f != nullptr && !f->is_repeated());  // kRestartOnlyConfigKeys names real fields
    const google::protobuf::Reflection* ra = a->GetReflection();
    const google::protobuf::Reflection* rb = b->GetReflection();
    switch (f->cpp_type()) {
      case google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE:
        a = &ra->GetMessage(*a, f);
        b = &rb->GetMessage(*b, f);
        continue;
      case google::protobuf::FieldDescriptor::CPPTYPE_DOUBLE:
        return ra->GetDouble(*a, f) == rb->GetDouble(*b, f);
      case google::protobuf::FieldDescriptor::CPPTYPE_UINT32:
        return ra->GetUInt32(*a, f) == rb->GetUInt32(*b, f);
      case google::protobuf::FieldDescriptor::CPPTYPE_BOOL:
        return ra->GetBool(*a, f) == rb->GetBool(*b, f);
      default:
        assert(false && "add the field's type here");
        return false;
    }
  }
  return google::protobuf::util::MessageDifferencer::Equals(*a, *b);
}

}  // namespace

std::vector<std::string> ChangedRestartOnlyKeys(const v1::Config& running, const v1::Config& next) {
  std::vector<std::string> changed;
  for (absl::string_view key : kRestartOnlyConfigKeys) {
    if (!SameAt(running, next, key)) changed.push_back(absl::StrCat("config.", key));
  }
  return changed;
}

}  // namespace ccr
