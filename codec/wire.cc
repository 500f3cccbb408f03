#include "codec/wire.h"

#include <cmath>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "codec/mask.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace ccr {

namespace {

absl::Status TooLong(absl::string_view field, size_t limit) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": longer than ", limit, " bytes"));
}

absl::Status CheckLength(absl::string_view field, absl::string_view value, size_t limit) {
  return value.size() > limit ? TooLong(field, limit) : absl::OkStatus();
}

}  // namespace

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void ToTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t ns = absl::ToUnixNanos(t);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

Channel ChannelFromWire(v1::Channel c) {
  switch (c) {
    case v1::CHANNEL_CHAT:
      return Channel::kChat;
    case v1::CHANNEL_EMAIL:
      return Channel::kEmail;
    case v1::CHANNEL_MESSAGING:
      return Channel::kMessaging;
    case v1::CHANNEL_VIDEO:
      return Channel::kVideo;
    case v1::CHANNEL_CALLBACK:
      return Channel::kCallback;
    default:
      return Channel::kVoice;
  }
}

v1::Channel ChannelToWire(Channel c) { return static_cast<v1::Channel>(static_cast<int>(c) + 1); }
v1::Tier TierToWire(Tier t) { return static_cast<v1::Tier>(static_cast<int>(t) + 1); }
v1::ContactState ContactStateToWire(ContactState s) {
  return static_cast<v1::ContactState>(static_cast<int>(s) + 1);
}
v1::AgentState AgentStatusToWire(AgentStatus s) {
  return static_cast<v1::AgentState>(static_cast<int>(s) + 1);
}

absl::StatusOr<Tier> TierFromWire(v1::Tier t, absl::string_view field) {
  switch (t) {
    case v1::TIER_UNSPECIFIED:
    case v1::TIER_STANDARD:
      return Tier::kStandard;
    case v1::TIER_SILVER:
      return Tier::kSilver;
    case v1::TIER_GOLD:
      return Tier::kGold;
    case v1::TIER_VIP:
      return Tier::kVip;
    default:
      return absl::InvalidArgumentError(absl::StrCat(field, ": unknown tier ", t));
  }
}

absl::StatusOr<Signals> SignalsFromWire(const v1::Signals& in, absl::string_view field) {
  Signals s;
  s.complaint = in.complaint();
  s.emergency = in.emergency();
  if (!v1::Severity_IsValid(in.incident_severity())) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".incident_severity: unknown value"));
  }
  s.severity = static_cast<Severity>(in.incident_severity());
  if (!std::isfinite(in.sentiment()) || in.sentiment() < -1 || in.sentiment() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".sentiment: must be in [-1, 1]"));
  }
  s.sentiment = in.sentiment();
  if (in.repeat_contacts_24h() > 1000) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".repeat_contacts_24h: at most 1000"));
  }
  s.repeat_contacts_24h = in.repeat_contacts_24h();
  if (in.escalation_level() > 3) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".escalation_level: must be 0..3"));
  }
  s.escalation_level = in.escalation_level();
  if (static_cast<size_t>(in.keywords_size()) > InputLimits::kMaxKeywords) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".keywords: at most ", InputLimits::kMaxKeywords));
  }
  for (const std::string& k : in.keywords()) {
    CCR_RETURN_IF_ERROR(CheckLength(absl::StrCat(field, ".keywords"), k, 64));
    s.keywords.push_back(k);
  }
  return s;
}

uint64_t SubmitRequestDigest(const v1::ContactSpec& contact) {
  // The bytes go into a buffer each thread reuses (given back when a request
  // far beyond the usual made it large), so a submit's digest allocates
  // nothing. They are the same bytes SerializeToCodedStream wrote before:
  // the digest is journalled, and a retry after an upgrade must match it.
  constexpr size_t kKeptBytes = 64 << 10;
  thread_local std::string bytes;
  const size_t size = contact.ByteSizeLong();
  if (bytes.capacity() > kKeptBytes && size <= kKeptBytes) std::string().swap(bytes);
  bytes.resize(size);
  {
    google::protobuf::io::ArrayOutputStream stream(bytes.data(), static_cast<int>(size));
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);  // map order, so a retry hashes the same
    contact.SerializeWithCachedSizes(&out);
  }
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64
  for (const unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash == 0 ? 1 : hash;
}

absl::StatusOr<Signals> MergeSignalsFromWire(const Signals& before,
                                             const v1::UpdateRequest& update) {
  CCR_ASSIGN_OR_RETURN(Signals sent, SignalsFromWire(update.signals(), "signals"));
  static constexpr absl::string_view kFields[] = {
      "complaint",           "emergency",        "incident_severity", "sentiment",
      "repeat_contacts_24h", "escalation_level", "keywords"};
  bool replace_all = false;
  std::vector<absl::string_view> named;
  for (int i = 0; i < update.update_mask().paths_size(); ++i) {
    const absl::string_view path = update.update_mask().paths(i);
    if (path == "signals") {
      replace_all = true;
      continue;
    }
    const bool known = absl::StartsWith(path, "signals.") &&
                       absl::c_linear_search(kFields, path.substr(sizeof("signals.") - 1));
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat("update_mask.paths[", i, "]: unknown path '",
                                                     path.substr(0, 64),
                                                     "' (\"signals\" or \"signals.<field>\")"));
    }
    named.push_back(path.substr(sizeof("signals.") - 1));
  }
  const auto take = [&](absl::string_view name, bool sent_here) {
    return replace_all || sent_here || absl::c_linear_search(named, name);
  };
  const v1::Signals& in = update.signals();
  Signals out = before;
  if (take("complaint", in.has_complaint())) out.complaint = sent.complaint;
  if (take("emergency", in.has_emergency())) out.emergency = sent.emergency;
  if (take("incident_severity", in.has_incident_severity())) out.severity = sent.severity;
  if (take("sentiment", in.has_sentiment())) out.sentiment = sent.sentiment;
  if (take("repeat_contacts_24h", in.has_repeat_contacts_24h())) {
    out.repeat_contacts_24h = sent.repeat_contacts_24h;
  }
  if (take("escalation_level", in.has_escalation_level())) {
    out.escalation_level = sent.escalation_level;
  }
  if (take("keywords", in.keywords_size() > 0)) out.keywords = std::move(sent.keywords);
  return out;
}

absl::StatusOr<ContactSpec> ContactSpecFromWire(const v1::ContactSpec& in,
                                                const RouterConfig& config, absl::Time now) {
  ContactSpec out;
  if (in.idempotency_key().empty()) {
    return absl::InvalidArgumentError("contact.idempotency_key: required");
  }
  CCR_RETURN_IF_ERROR(
      CheckLength("contact.idempotency_key", in.idempotency_key(), InputLimits::kMaxIdBytes));
  out.idempotency_key = in.idempotency_key();
  if (in.channel() == v1::CHANNEL_UNSPECIFIED || !v1::Channel_IsValid(in.channel())) {
    return absl::InvalidArgumentError("contact.channel: required (voice, chat, email, ...)");
  }
  out.channel = ChannelFromWire(in.channel());
  if (!v1::Direction_IsValid(in.direction())) {
    return absl::InvalidArgumentError("contact.direction: unknown value");
  }
  out.direction = in.direction() == v1::DIRECTION_PROACTIVE_OUTBOUND ? Direction::kProactiveOutbound
                                                                     : Direction::kInbound;
  if (out.direction == Direction::kProactiveOutbound && !in.has_problem_detected_at()) {
    return absl::InvalidArgumentError(
        "contact.problem_detected_at: required for proactive outbound contacts");
  }
  const v1::Customer& cu = in.customer();
  CCR_RETURN_IF_ERROR(CheckLength("contact.customer.id", cu.id(), InputLimits::kMaxIdBytes));
  CCR_RETURN_IF_ERROR(CheckLength("contact.customer.phone", cu.phone(), 32));
  CCR_RETURN_IF_ERROR(CheckLength("contact.customer.name", cu.name(), 256));
  CCR_RETURN_IF_ERROR(CheckLength("contact.customer.dedicated_advisor", cu.dedicated_advisor(),
                                  InputLimits::kMaxIdBytes));
  CCR_RETURN_IF_ERROR(CheckLength("contact.customer.language", cu.language(), 35));
  out.customer_id = cu.id();
  CCR_ASSIGN_OR_RETURN(Tier tier, TierFromWire(cu.tier(), "contact.customer.tier"));
  out.tier = tier;
  out.dedicated_advisor = cu.dedicated_advisor();
  out.language = cu.language();
  for (int need : cu.needs()) {
    if (!v1::Need_IsValid(need)) {
      return absl::InvalidArgumentError("contact.customer.needs: unknown value");
    }
    out.elderly = out.elderly || need == v1::NEED_ELDERLY;
    out.accessibility = out.accessibility || need == v1::NEED_ACCESSIBILITY;
  }
  CCR_ASSIGN_OR_RETURN(Signals signals, SignalsFromWire(in.signals(), "contact.signals"));
  out.signals = std::move(signals);
  CCR_RETURN_IF_ERROR(CheckLength("contact.topic", in.topic(), 128));
  out.topic = in.topic();
  CCR_RETURN_IF_ERROR(CheckLength("contact.messaging_network", in.messaging_network(), 64));
  if (static_cast<size_t>(in.attributes_size()) > InputLimits::kMaxAttributes) {
    return absl::InvalidArgumentError(
        absl::StrCat("contact.attributes: at most ", InputLimits::kMaxAttributes, " entries"));
  }
  for (const auto& [k, v] : in.attributes()) {
    CCR_RETURN_IF_ERROR(CheckLength("contact.attributes (key)", k, 64));
    CCR_RETURN_IF_ERROR(CheckLength("contact.attributes (value)", v, InputLimits::kMaxTextBytes));
    out.attributes[k] = v;
  }
  if (!in.messaging_network().empty()) out.attributes["messaging_network"] = in.messaging_network();
  if (in.has_scheduled_for()) {
    const absl::Time at = FromTimestamp(in.scheduled_for());
    if (at > now + InputLimits::kMaxScheduleAhead) {
      return absl::InvalidArgumentError("contact.scheduled_for: more than 30 days ahead");
    }
    if (at > now) out.scheduled_for = at;
  }

  // The queue: named, or picked by topic and channel.
  if (!in.queue().empty()) {
    const QueueConfig* named = nullptr;
    for (const QueueConfig& q : config.queues) {
      if (q.name == in.queue()) named = &q;
    }
    if (named == nullptr) {
      return absl::NotFoundError(absl::StrCat("contact.queue: unknown queue '", in.queue(), "'"));
    }
    if (named->channel != out.channel) {
      return absl::InvalidArgumentError(absl::StrCat("contact.queue: queue '", in.queue(),
                                                     "' serves ", ChannelName(named->channel),
                                                     ", not ", ChannelName(out.channel)));
    }
    out.queue = in.queue();
    return out;
  }
  const QueueConfig* first = nullptr;
  for (const QueueConfig& q : config.queues) {
    if (q.channel != out.channel) continue;
    if (first == nullptr) first = &q;
    if (!out.topic.empty() &&
        std::find(q.topics.begin(), q.topics.end(), out.topic) != q.topics.end()) {
      out.queue = q.name;
      return out;
    }
  }
  const std::string& fallback = config.channels[static_cast<int>(out.channel)].default_queue;
  if (!fallback.empty()) {
    out.queue = fallback;
  } else if (first != nullptr) {
    out.queue = first->name;
  } else {
    return absl::FailedPreconditionError(
        absl::StrCat("contact.queue: no queue serves ", ChannelName(out.channel)));
  }
  return out;
}

absl::StatusOr<AgentSpec> AgentSpecFromWire(const v1::Login& in) {
  AgentSpec out;
  if (in.agent_id().empty()) return absl::InvalidArgumentError("login.agent_id: required");
  CCR_RETURN_IF_ERROR(CheckLength("login.agent_id", in.agent_id(), InputLimits::kMaxIdBytes));
  out.agent_id = in.agent_id();
  CCR_RETURN_IF_ERROR(CheckLength("login.display_name", in.display_name(), 256));
  out.display_name = in.display_name();
  if (static_cast<size_t>(in.skills_size()) > InputLimits::kMaxSkills) {
    return absl::InvalidArgumentError(
        absl::StrCat("login.skills: at most ", InputLimits::kMaxSkills));
  }
  for (int i = 0; i < in.skills_size(); ++i) {
    const v1::Skill& s = in.skills(i);
    if (s.name().empty() || s.name().size() > 64) {
      return absl::InvalidArgumentError(absl::StrCat("login.skills[", i, "].name: 1..64 bytes"));
    }
    if (s.level() < 1 || s.level() > 10) {
      return absl::InvalidArgumentError(absl::StrCat("login.skills[", i, "].level: must be 1..10"));
    }
    out.skills.push_back({s.name(), s.level()});
  }
  if (static_cast<size_t>(in.languages_size()) > InputLimits::kMaxLanguages) {
    return absl::InvalidArgumentError(
        absl::StrCat("login.languages: at most ", InputLimits::kMaxLanguages));
  }
  for (const std::string& l : in.languages()) {
    if (l.empty() || l.size() > 35) {
      return absl::InvalidArgumentError("login.languages: each 1..35 bytes");
    }
    out.languages.push_back(l);
  }
  for (int i = 0; i < in.capacities_size(); ++i) {
    const v1::ChannelCapacity& c = in.capacities(i);
    if (c.channel() == v1::CHANNEL_UNSPECIFIED || !v1::Channel_IsValid(c.channel())) {
      return absl::InvalidArgumentError(
          absl::StrCat("login.capacities[", i, "].channel: required"));
    }
    if (c.max_concurrent() > InputLimits::kMaxCapacity) {
      return absl::InvalidArgumentError(absl::StrCat(
          "login.capacities[", i, "].max_concurrent: at most ", InputLimits::kMaxCapacity));
    }
    out.capacities.emplace_back(ChannelFromWire(c.channel()), c.max_concurrent());
  }
  out.start_available = in.start_available();
  return out;
}

absl::StatusOr<Outcome> OutcomeFromWire(const v1::Outcome& in) {
  Outcome out;
  out.resolved = in.resolved();
  CCR_RETURN_IF_ERROR(CheckLength("complete.outcome.disposition", in.disposition(), 128));
  CCR_RETURN_IF_ERROR(
      CheckLength("complete.outcome.notes", in.notes(), InputLimits::kMaxTextBytes));
  if (!v1::Outcome::RootCause_IsValid(in.complaint_root_cause())) {
    return absl::InvalidArgumentError("complete.outcome.complaint_root_cause: unknown value");
  }
  out.disposition = in.disposition();
  out.complaint_root_cause = in.complaint_root_cause();
  out.follow_up_due = in.follow_up_due();
  return out;
}

absl::StatusOr<ContactId> ContactIdFromWire(absl::string_view id, absl::string_view field) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  std::optional<ContactId> parsed = ParseContactId(id);
  if (!parsed) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": malformed contact id (want c-N)"));
  }
  return *parsed;
}

absl::StatusOr<uint64_t> OfferIdFromWire(absl::string_view id, absl::string_view field) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  std::optional<ParsedOfferId> parsed = ParseOfferIdAndEpoch(id);
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": malformed offer id (want o-N, or o-EPOCH-N in cluster mode)"));
  }
  // Cluster mode: an offer of an earlier owner was withdrawn when this one
  // took over (the desktop's Resync says so); it is never accepted here,
  // whatever its number.
  const uint64_t epoch = OfferIdEpoch();
  if (epoch != 0 && parsed->epoch != epoch) {
    return absl::FailedPreconditionError(absl::StrCat(
        field, ": '", id, "' was made by an earlier owner of routing",
        parsed->epoch != 0 ? absl::StrCat(" (epoch ", parsed->epoch, ")") : "",
        "; this owner (epoch ", epoch, ") withdrew every such offer when it took over"));
  }
  return parsed->id;
}

namespace {
v1::EventKind EventKindToWire(EventKind k) {
  switch (k) {
    case EventKind::kQueued:
      return v1::EVENT_KIND_QUEUED;
    case EventKind::kScheduled:
      return v1::EVENT_KIND_SCHEDULED;
    case EventKind::kOffered:
      return v1::EVENT_KIND_OFFERED;
    case EventKind::kOfferWithdrawn:
      return v1::EVENT_KIND_OFFER_WITHDRAWN;
    case EventKind::kOfferRejected:
      return v1::EVENT_KIND_OFFER_REJECTED;
    case EventKind::kOfferTimedOut:
      return v1::EVENT_KIND_OFFER_TIMED_OUT;
    case EventKind::kAssigned:
      return v1::EVENT_KIND_ASSIGNED;
    case EventKind::kCompleted:
      return v1::EVENT_KIND_COMPLETED;
    case EventKind::kWrapUpDone:
      return v1::EVENT_KIND_WRAP_UP_DONE;
    case EventKind::kAbandoned:
      return v1::EVENT_KIND_ABANDONED;
    case EventKind::kCancelled:
      return v1::EVENT_KIND_CANCELLED;
    case EventKind::kExpired:
      return v1::EVENT_KIND_EXPIRED;
    case EventKind::kTransferred:
      return v1::EVENT_KIND_TRANSFERRED;
    case EventKind::kSlaBreached:
      return v1::EVENT_KIND_SLA_BREACHED;
    case EventKind::kOverflowed:
      return v1::EVENT_KIND_OVERFLOWED;
    case EventKind::kEscalated:
      return v1::EVENT_KIND_ESCALATED;
    case EventKind::kSupervisorAlert:
      return v1::EVENT_KIND_SUPERVISOR_ALERT;
    case EventKind::kFollowUpDue:
      return v1::EVENT_KIND_FOLLOW_UP_DUE;
    case EventKind::kSurveyDue:
      return v1::EVENT_KIND_SURVEY_DUE;
    case EventKind::kAgentState:
      return v1::EVENT_KIND_AGENT_STATE;
    case EventKind::kUpdated:
      return v1::EVENT_KIND_UPDATED;
  }
  return v1::EVENT_KIND_UNSPECIFIED;
}
}  // namespace

void EventToWire(const Event& e, uint64_t sequence, v1::LifecycleEvent* out) {
  out->set_sequence(sequence);
  ToTimestamp(e.time, out->mutable_time());
  out->set_kind(EventKindToWire(e.kind));
  if (e.contact != 0) {
    out->set_contact_id(ContactIdString(e.contact));
    out->set_channel(ChannelToWire(e.channel));
    out->set_tier(TierToWire(e.tier));
    out->set_wait_seconds(absl::ToDoubleSeconds(e.wait));
    out->set_overflow_stage(e.stage);
  }
  out->set_agent_id(e.agent_id);
  out->set_queue(e.queue);
  // Reasons and dispositions may carry a client's free text (a cancel reason,
  // a not-ready reason): cut to InputLimits::kMaxEventTextBytes, marked.
  out->set_reason(TruncateText(e.reason, InputLimits::kMaxEventTextBytes));
  if (e.offer_id != 0) out->set_offer_id(OfferIdString(e.offer_id));
  out->set_emergency(e.emergency);
  if (e.kind == EventKind::kAgentState) out->set_agent_state(AgentStatusToWire(e.agent_status));
  if (e.kind == EventKind::kCompleted) {
    v1::Outcome* o = out->mutable_outcome();
    o->set_resolved(e.outcome.resolved);
    o->set_disposition(TruncateText(e.outcome.disposition, InputLimits::kMaxEventTextBytes));
    o->set_complaint_root_cause(
        static_cast<v1::Outcome::RootCause>(e.outcome.complaint_root_cause));
    o->set_follow_up_due(e.outcome.follow_up_due);
  }
}

void OfferToWire(const Event& offered, const ContactView& c, v1::Offer* out) {
  out->set_offer_id(OfferIdString(offered.offer_id));
  out->set_contact_id(ContactIdString(c.contact));
  out->set_queue(c.queue);
  out->set_channel(ChannelToWire(c.channel));
  ToTimestamp(offered.deadline, out->mutable_accept_deadline());
  out->set_tier(TierToWire(c.tier));
  out->set_customer_display(MaskId(c.customer_id));
  out->set_language(c.language);
  out->set_topic(c.topic);
  v1::Signals* s = out->mutable_signals();
  s->set_complaint(c.signals.complaint);
  s->set_emergency(c.signals.emergency);
  s->set_incident_severity(static_cast<v1::Severity>(c.signals.severity));
  s->set_sentiment(c.signals.sentiment);
  s->set_repeat_contacts_24h(c.signals.repeat_contacts_24h);
  s->set_escalation_level(c.signals.escalation_level);
  for (const std::string& k : c.signals.keywords) s->add_keywords(k);
  out->set_waited_seconds(absl::ToDoubleSeconds(offered.wait));
  out->set_urgency(c.urgency);
  for (const std::string& h : c.history) out->add_history(h);
  for (const auto& [k, v] : c.attributes) (*out->mutable_attributes())[k] = v;
  out->set_why(offered.reason);
}

void HeldContactToWire(const ContactView& c, v1::HeldContact* out) {
  // The same fields as an offer, so a desktop renders both alike.
  v1::Offer offer;
  OfferToWire(Event{}, c, &offer);
  out->set_contact_id(offer.contact_id());
  out->set_state(ContactStateToWire(c.state));
  out->set_queue(offer.queue());
  out->set_channel(offer.channel());
  out->set_tier(offer.tier());
  out->set_customer_display(offer.customer_display());
  out->set_language(offer.language());
  out->set_topic(offer.topic());
  *out->mutable_signals() = std::move(*offer.mutable_signals());
  out->set_urgency(offer.urgency());
  *out->mutable_history() = std::move(*offer.mutable_history());
  *out->mutable_attributes() = std::move(*offer.mutable_attributes());
}

void QueueToWire(const QueueStats& q, v1::QueueSnapshot* out) {
  out->set_name(q.name);
  out->set_channel(ChannelToWire(q.channel));
  out->set_queued(q.queued);
  out->set_offered(q.offered);
  out->set_connected(q.connected);
  out->set_oldest_wait_seconds(absl::ToDoubleSeconds(q.oldest_wait));
  out->set_target_seconds(absl::ToDoubleSeconds(q.target));
  out->set_target_ratio(q.target_ratio);
  out->set_service_level(q.ServiceLevel());
  out->set_service_level_abandon_adjusted(q.ServiceLevelAbandonAdjusted());
  out->set_answered(q.answered);
  out->set_answered_within_target(q.answered_within_target);
  out->set_abandoned(q.abandoned);
  out->set_abandoned_short(q.abandoned_short);
  out->set_sla_breaches(q.sla_breaches);
  out->set_overflows(q.overflows);
  out->set_average_speed_of_answer_seconds(absl::ToDoubleSeconds(q.AverageSpeedOfAnswer()));
  out->set_abandon_ratio(q.AbandonRatio());
  out->set_agents_eligible(q.agents_eligible);
  out->set_agents_available(q.agents_available);
  out->set_agents_busy(q.agents_busy);
  out->set_agents_wrap_up(q.agents_wrap_up);
  out->set_agents_not_ready(q.agents_not_ready);
  out->set_agents_resting(q.agents_resting);
  out->set_routing_policy(RoutingPolicyName(q.policy));
  out->set_estimated_wait_seconds(absl::ToDoubleSeconds(q.estimated_wait));
  out->set_resolved(q.resolved);
  out->set_completed(q.completed);
  out->set_transferred_out(q.transferred_out);
  out->set_expired(q.expired);
}

void AgentToWire(const AgentView& a, bool connected, v1::AgentSnapshot* out) {
  out->set_agent_id(a.agent_id);
  out->set_display_name(a.display_name);
  out->set_state(AgentStatusToWire(a.status));
  out->set_reason(a.reason);
  for (const SkillLevel& s : a.skills) {
    v1::Skill* skill = out->add_skills();
    skill->set_name(s.skill);
    skill->set_level(s.level);
  }
  for (const std::string& l : a.languages) out->add_languages(l);
  for (const AgentView::Load& l : a.load) {
    auto* load = out->add_load();
    load->set_channel(ChannelToWire(l.channel));
    load->set_active(l.active);
    load->set_capacity(l.capacity);
  }
  for (ContactId id : a.contacts) out->add_contact_ids(ContactIdString(id));
  out->set_idle_seconds(absl::ToDoubleSeconds(a.idle));
  out->set_consecutive_misses(a.consecutive_misses);
  out->set_occupancy(a.occupancy);
  out->set_connected(connected);
}

void ExplanationToWire(const Explanation& x, v1::ExplainReply* out) {
  out->set_contact_id(ContactIdString(x.contact.contact));
  out->set_queue(x.contact.queue);
  out->set_state(ContactStateToWire(x.contact.state));
  out->set_agent_id(x.contact.agent_id);
  out->set_urgency(x.urgency);
  for (const ScoreComponent& c : x.components) {
    v1::ScoreComponent* comp = out->add_components();
    comp->set_name(c.name);
    comp->set_points(c.points);
  }
  out->set_total_score(x.total_score);
  out->set_wait_seconds(absl::ToDoubleSeconds(x.wait));
  out->set_sla_slack_seconds(absl::ToDoubleSeconds(x.sla_slack));
  out->set_overflow_stage(x.contact.stage);
  out->set_position(x.contact.position);
  for (const std::string& s : x.required_skills) out->add_required_skills(s);
  out->set_language(x.contact.language);
  for (const AgentConsidered& a : x.agents) {
    v1::AgentConsidered* ac = out->add_agents();
    ac->set_agent_id(a.agent_id);
    ac->set_eligible(a.eligible);
    ac->set_why_not(a.why_not);
  }
  out->set_summary(x.summary);
  out->set_routing_policy(RoutingPolicyName(x.policy));
  for (const std::string& h : x.contact.history) out->add_history(h);
}

void SubmitResultToWire(const SubmitResult& r, v1::SubmitReply* out) {
  out->set_contact_id(ContactIdString(r.contact));
  out->set_queue(r.queue);
  out->set_position(r.position);
  out->set_estimated_wait_seconds(absl::ToDoubleSeconds(r.estimated_wait));
  out->set_state(ContactStateToWire(r.state));
}

// Why wrap-up ended, in the desktop's words: the agent said so, or its timer.
std::string WrapUpEndReason(const Event& e) {
  if (e.reason.empty()) return "wrap_up_done";
  if (e.reason == "wrap-up time over") return "wrap_up_timer";
  return e.reason;
}

// What a contact-ending event tells the desktop that held the contact.
std::optional<v1::ContactEnded> ContactEndedFor(const Event& e) {
  v1::ContactEnded ended;
  ended.set_contact_id(ContactIdString(e.contact));
  // Cut like event text: a desktop away keeps these, and gateways can read
  // them back (GetContact) for the last 100,000 ended contacts.
  ended.set_reason(TruncateText(e.reason, InputLimits::kMaxEventTextBytes));
  switch (e.kind) {
    case EventKind::kWrapUpDone:
      ended.set_state(v1::CONTACT_STATE_COMPLETED);
      ended.set_reason(WrapUpEndReason(e));
      return ended;
    case EventKind::kCancelled:
      ended.set_state(v1::CONTACT_STATE_CANCELLED);
      if (e.reason.empty()) ended.set_reason("cancelled");
      return ended;
    case EventKind::kAbandoned:
      ended.set_state(v1::CONTACT_STATE_ABANDONED);
      ended.set_reason("abandoned");
      return ended;
    case EventKind::kExpired:
      ended.set_state(v1::CONTACT_STATE_EXPIRED);
      return ended;
    case EventKind::kTransferred:
      ended.set_state(v1::CONTACT_STATE_TRANSFERRED);
      return ended;
    default:
      return std::nullopt;
  }
}

}  // namespace ccr
