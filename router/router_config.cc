// Router configuration: validating and loading a RouterConfig, reloading it
// under live contacts and agents (Reconfigure), and which agents qualify for
// which queues at which overflow stage (eligibility).
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "router/internal/router_impl.h"

namespace ccr {

absl::StatusOr<std::unique_ptr<Router::Impl>> Router::Impl::Create(RouterConfig config) {
  auto impl = std::make_unique<Impl>();
  CCR_RETURN_IF_ERROR(impl->LoadConfig(std::move(config)));
  return impl;
}

uint32_t Router::Impl::InternLanguage(const std::string& language) {
  auto [it, inserted] = languages_.try_emplace(language, language_names_.size());
  if (inserted) language_names_.push_back(language);
  return it->second;
}

absl::Status Router::Impl::LoadConfig(RouterConfig config) {
  if (config.queues.empty()) return absl::InvalidArgumentError("config.queues: at least one queue");
  if (config.queues.size() > 0xffff) return absl::InvalidArgumentError("config.queues: too many");
  if (config.default_language.empty()) {
    return absl::InvalidArgumentError("config.default_language: must not be empty");
  }
  absl::flat_hash_map<std::string, uint32_t> index;
  for (size_t i = 0; i < config.queues.size(); ++i) {
    const QueueConfig& q = config.queues[i];
    const std::string field = absl::StrCat("config.queues[", i, "]");
    if (q.name.empty()) return absl::InvalidArgumentError(field + ".name: must not be empty");
    if (!index.emplace(q.name, i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".name: duplicate queue '", q.name, "'"));
    }
    if (q.answer_within <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(field + ".answer_within_seconds: must be > 0");
    }
    if (!(q.target_ratio > 0 && q.target_ratio <= 1)) {
      return absl::InvalidArgumentError(field + ".target_ratio: must be in (0, 1]");
    }
    if (q.service_objective.has_value() &&
        !(*q.service_objective >= 0 && *q.service_objective <= 1)) {
      return absl::InvalidArgumentError(
          field +
          ".service_objective: must be in [0, 1] (a share of answers within target; 0: "
          "never)");
    }
    for (const SkillRequirement& s : q.skills) {
      if (s.skill.empty()) return absl::InvalidArgumentError(field + ".skills: empty skill name");
    }
    if (static_cast<int>(q.routing_policy) >= kRoutingPolicyCount) {
      return absl::InvalidArgumentError(field + ".routing_policy: unknown policy");
    }
    if (!q.ab_test.policies.empty()) {
      if (q.ab_test.policies.size() < 2 || q.ab_test.policies.size() > kMaxAbTestPolicies) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".ab_test.policies: ", q.ab_test.policies.size(),
                         " named; an A/B test alternates 2 to ", kMaxAbTestPolicies));
      }
      for (size_t j = 0; j < q.ab_test.policies.size(); ++j) {
        if (static_cast<int>(q.ab_test.policies[j]) >= kRoutingPolicyCount) {
          return absl::InvalidArgumentError(
              absl::StrCat(field, ".ab_test.policies[", j, "]: unknown policy"));
        }
      }
      if (q.ab_test.period < absl::Seconds(1) || q.ab_test.period == absl::InfiniteDuration()) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".ab_test.period_seconds: must be at least 1 and finite, got ",
                         absl::FormatDuration(q.ab_test.period)));
      }
    }
    absl::Duration previous = absl::ZeroDuration();
    for (size_t j = 0; j < q.overflow.size(); ++j) {
      if (q.overflow[j].after <= previous) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".overflow[", j, "].after_seconds: must be > 0 and increasing"));
      }
      previous = q.overflow[j].after;
    }
  }
  for (size_t i = 0; i < config.queues.size(); ++i) {
    for (size_t j = 0; j < config.queues[i].overflow.size(); ++j) {
      for (const std::string& name : config.queues[i].overflow[j].add_queues) {
        if (!index.contains(name)) {
          return absl::NotFoundError(absl::StrCat("config.queues[", i, "].overflow[", j,
                                                  "].add_queues: unknown queue '", name, "'"));
        }
      }
    }
  }
  for (int c = 0; c < kChannelCount; ++c) {
    const ChannelConfig& ch = config.channels[c];
    const std::string field = absl::StrCat("config.channels[", ChannelName(Channel(c)), "]");
    if (ch.agent_capacity == 0) return absl::InvalidArgumentError(field + ".agent_capacity: >= 1");
    if (ch.offer_timeout <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(field + ".offer_timeout_seconds: must be > 0");
    }
    if (!ch.default_queue.empty() && !index.contains(ch.default_queue)) {
      return absl::NotFoundError(field + ".default_queue: unknown queue '" + ch.default_queue +
                                 "'");
    }
  }
  if (!config.fallback_queue.empty() && !index.contains(config.fallback_queue)) {
    return absl::NotFoundError("config.fallback_queue: unknown queue '" + config.fallback_queue +
                               "'");
  }
  if (!config.follow_ups.queue.empty() && !index.contains(config.follow_ups.queue)) {
    return absl::NotFoundError("config.follow_ups.queue: unknown queue '" +
                               config.follow_ups.queue + "'");
  }
  if (config.scoring.seconds_per_point < 0) {
    return absl::InvalidArgumentError("config.scoring.seconds_per_point: must be >= 0");
  }
  // Negated so NaN fails too.
  if (!(config.escalation.senior_wait_share >= 0 && config.escalation.senior_wait_share <= 100)) {
    return absl::InvalidArgumentError(
        "config.escalation.senior_wait_share: must be in [0, 100] (a share of the queue's answer "
        "target)");
  }
  const RouterLimits& limits = config.limits;
  if (limits.max_live_contacts == 0) {
    return absl::InvalidArgumentError("config.limits.max_live_contacts: must be >= 1");
  }
  if (limits.max_languages == 0 || limits.max_languages > (1u << 24)) {
    return absl::InvalidArgumentError("config.limits.max_languages: must be in [1, 16777216]");
  }
  if (limits.max_history_entries < 2) {
    return absl::InvalidArgumentError("config.limits.max_history_entries: must be >= 2");
  }
  if (limits.max_history_bytes < 2 * kMaxHistoryEntryBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.limits.max_history_bytes: must be >= ", 2 * kMaxHistoryEntryBytes));
  }
  if (limits.agent_retention < absl::Seconds(1)) {
    return absl::InvalidArgumentError("config.limits.agent_retention_seconds: must be >= 1");
  }

  // Valid: build the queue table.
  config_ = std::move(config);
  queue_index_ = std::move(index);
  std::vector<Queue> old = std::move(queues_);
  queues_.clear();
  queues_.resize(config_.queues.size());
  for (uint32_t i = 0; i < config_.queues.size(); ++i) {
    Queue& q = queues_[i];
    q.config = config_.queues[i];
    q.index = i;
    q.default_language = InternLanguage(
        q.config.default_language.empty() ? config_.default_language : q.config.default_language);
    for (const Queue& o : old) {  // keep counters and measured handle times across reloads
      if (o.config.name == q.config.name) {
        q.stats = o.stats;
        q.handle_time_total = o.handle_time_total;
        q.handles_measured = o.handles_measured;
        q.recent_answers = o.recent_answers;
      }
    }
    if (q.config.ab_test.policies.empty()) {
      q.policies = {q.config.routing_policy};
    } else {
      for (RoutingPolicy p : q.config.ab_test.policies) {
        if (std::find(q.policies.begin(), q.policies.end(), p) == q.policies.end()) {
          q.policies.push_back(p);
        }
      }
    }
    StageRule base;
    base.skills = q.config.skills;
    q.stages.push_back(base);
    for (const OverflowStep& step : q.config.overflow) {
      StageRule next = q.stages.back();
      next.after = step.after;
      for (SkillRequirement& s : next.skills) {
        s.min_level = s.min_level > step.lower_min_level_by ? s.min_level - step.lower_min_level_by
                                                            : std::min<uint32_t>(s.min_level, 1);
      }
      for (const std::string& name : step.add_queues)
        next.extra_queues.push_back(queue_index_[name]);
      next.any_agent_of_channel = next.any_agent_of_channel || step.any_agent_of_channel;
      q.stages.push_back(std::move(next));
    }
  }
  special_skills_ = {config_.escalation.senior_skill, config_.escalation.elderly_skill,
                     config_.escalation.accessibility_skill};
  return absl::OkStatus();
}

bool Router::Impl::MeetsSkills(const Agent& a, const std::vector<SkillRequirement>& skills) const {
  for (const SkillRequirement& s : skills) {
    auto it = a.skill_levels.find(s.skill);
    if (it == a.skill_levels.end() || it->second < s.min_level) return false;
  }
  return true;
}

bool Router::Impl::QualifiesAtStage(const Agent& a, const Queue& q, uint32_t stage) const {
  const StageRule& rule = q.stages[stage];
  if (rule.any_agent_of_channel || MeetsSkills(a, rule.skills)) return true;
  for (uint32_t other : rule.extra_queues) {
    if (MeetsSkills(a, queues_[other].stages[0].skills)) return true;
  }
  return false;
}

uint32_t Router::Impl::FirstStage(const Agent& a, uint32_t queue) const {
  for (const QueueEligibility& e : a.eligibility) {
    if (e.queue == queue) return e.first_stage;
  }
  return kNoStage;
}

void Router::Impl::ComputeEligibility(Agent& a) {
  a.eligibility.clear();
  for (const Queue& q : queues_) {
    if (a.capacity[static_cast<int>(q.config.channel)] == 0) continue;
    for (uint32_t s = 0; s < q.stages.size(); ++s) {
      if (!QualifiesAtStage(a, q, s)) continue;
      int32_t proficiency = 0;
      for (const SkillRequirement& r : q.config.skills) {
        auto it = a.skill_levels.find(r.skill);
        if (it != a.skill_levels.end()) proficiency += it->second;
      }
      a.eligibility.push_back({q.index, s, proficiency});
      break;
    }
  }
  a.special = 0;
  a.breadth = 0;
  for (int b = 0; b < kSpecialSkillCount; ++b) {
    if (!special_skills_[b].empty() && a.skill_levels.contains(special_skills_[b])) {
      a.special |= 1u << b;
      ++a.breadth;
    }
  }
  for (const QueueEligibility& e : a.eligibility) {
    if (e.first_stage == 0) ++a.breadth;
  }
}

absl::StatusOr<std::vector<ContactId>> Router::Impl::Reconfigure(RouterConfig config,
                                                                 absl::Time now) {
  AdvanceTo(now);
  // Validate on a scratch router first, so a bad config changes nothing.
  Impl scratch;
  CCR_RETURN_IF_ERROR(scratch.LoadConfig(config));
  std::vector<ContactId> moved;
  for (const auto& [id, c] : contacts_) {
    if (!scratch.queue_index_.contains(queues_[c.queue].config.name)) moved.push_back(id);
  }
  if (!moved.empty() && config.fallback_queue.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "config.fallback_queue: ", moved.size(),
        " contacts wait in queues the new config removes; name a fallback queue for them"));
  }
  std::sort(moved.begin(), moved.end());

  // Take every waiting contact and free agent out of the indexes, swap the
  // config in, and put them back under the new rules.
  std::vector<std::string> queue_names(queues_.size());
  for (const Queue& q : queues_) queue_names[q.index] = q.config.name;
  for (auto& [id, c] : contacts_) {
    if (IsWaiting(c.state)) RemoveWaiting(c);
  }
  for (auto& a : agents_) pools_.LeaveAll(a->index);
  CCR_RETURN_IF_ERROR(LoadConfig(std::move(config)));  // validated above
  // A shorter idempotency window applies to the keys already kept too (it
  // bounds how long personal data stays), and keeps the expiries in order.
  idempotency_.ClampExpiries(now_ + config_.idempotency_window);

  // In id order: events and timer sequence numbers must not depend on hash
  // iteration order, or a replay in another process would diverge.
  std::vector<ContactId> ids;
  ids.reserve(contacts_.size());
  for (const auto& [id, c] : contacts_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (ContactId id : ids) {
    Contact& c = contacts_.at(id);
    const std::string& old_name = queue_names[c.queue];
    auto it = queue_index_.find(old_name);
    if (it == queue_index_.end()) {
      c.queue = queue_index_[config_.fallback_queue];
      AppendHistory(c.history, absl::StrCat("moved from removed queue ", old_name, " to ",
                                            config_.fallback_queue, " by a config reload"));
      Event& e = Emit(EventKind::kTransferred, &c);
      e.reason = absl::StrCat("queue ", old_name, " removed by reload");
    } else {
      c.queue = it->second;
    }
  }
  RecountHeld();
  for (auto& a : agents_) {
    // Its tally named the old queues, which are gone: RefreshPools below
    // tallies it in the new ones.
    a->tallied_status = AgentStatus::kOffline;
    a->tallied_free = 0;
    ComputeEligibility(*a);
  }
  for (Queue& q : queues_) q.staffed = 0;
  for (auto& a : agents_) {
    if (!a->logged_in) continue;
    for (const QueueEligibility& e : a->eligibility) {
      if (e.first_stage == 0) ++queues_[e.queue].staffed;
    }
  }
  std::vector<ContactId> waiting;
  for (ContactId id : ids) {
    Contact& c = contacts_.at(id);
    ++c.epoch;  // timers of the old config no longer apply
    const Queue& q = queues_[c.queue];
    c.language = c.spec.language.empty() ? q.default_language : InternLanguage(c.spec.language);
    Rescore(c);
    if (c.state == ContactState::kScheduled) continue;
    c.stage = StageForWait(q, now_ - c.arrival);
    if (c.state == ContactState::kQueued || c.state == ContactState::kOffered) {
      ScheduleWaitingTimers(c);
    } else {
      ScheduleSeniorRelax(c);
    }
    if (IsWaiting(c.state)) waiting.push_back(id);
  }
  for (ContactId id : waiting) InsertWaiting(contacts_.at(id));
  for (auto& a : agents_) RefreshPools(*a);
  for (auto& a : agents_) MatchAgent(*a);
  return moved;
}

bool Router::Impl::Eligible(const Agent& a, const Contact& c) const {
  if (a.capacity[static_cast<int>(c.spec.channel)] == 0) return false;
  if (FirstStage(a, c.queue) > c.stage) return false;
  if ((c.special & ~a.special) != 0) return false;
  return std::find(a.languages.begin(), a.languages.end(), c.language) != a.languages.end();
}

}  // namespace ccr
