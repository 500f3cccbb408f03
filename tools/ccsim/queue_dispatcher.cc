#include "tools/ccsim/queue_dispatcher.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ccr::sim {

QueueDispatcher::QueueDispatcher(const RouterConfig& config, std::vector<AgentSpec> agents,
                                 AgentChoice choice, uint64_t seed)
    : config_(config), choice_(choice), ring_rng_(seed ^ 0x9e3779b97f4a7c15ull) {
  members_.resize(config_.queues.size());
  round_robin_next_.assign(config_.queues.size(), 0);
  lines_.resize(config_.queues.size());
  agents_.resize(agents.size());
  for (uint32_t i = 0; i < agents.size(); ++i) {
    const AgentSpec& spec = agents[i];
    AgentState& a = agents_[i];
    a.languages = spec.languages;
    if (a.languages.empty()) a.languages.push_back(config_.default_language);
    // The same capacity rule as a desktop login: no list means every channel at its default.
    if (spec.capacities.empty()) {
      for (int c = 0; c < kChannelCount; ++c) a.capacity[c] = config_.channels[c].agent_capacity;
    }
    for (const auto& [channel, capacity] : spec.capacities) {
      const int c = static_cast<int>(channel);
      a.capacity[c] = capacity == 0 ? config_.channels[c].agent_capacity : capacity;
    }
    for (uint32_t q = 0; q < config_.queues.size(); ++q) {
      const QueueConfig& queue = config_.queues[q];
      if (a.capacity[static_cast<int>(queue.channel)] == 0) continue;
      const bool skilled =
          std::all_of(queue.skills.begin(), queue.skills.end(), [&](const SkillRequirement& need) {
            return std::any_of(spec.skills.begin(), spec.skills.end(), [&](const SkillLevel& s) {
              return s.skill == need.skill && s.level >= need.min_level;
            });
          });
      if (!skilled) continue;
      a.queues.push_back(q);
      members_[q].push_back(i);
    }
  }
}

QueueDispatcher::QueueDispatcher(const RouterConfig& config, std::vector<AgentSpec> agents,
                                 QueueChoice queue_choice, std::vector<QueueLoad> loads)
    : QueueDispatcher(config, agents, AgentChoice::kLongestIdle, /*seed=*/0) {
  queue_choice_ = queue_choice;
  const size_t queues = config_.queues.size();
  loads.resize(queues);
  gcmu_weight_.assign(queues, 0);
  ratio_share_.assign(queues, 0);
  double total_share = 0;
  for (size_t q = 0; q < queues; ++q) {
    const double target_seconds =
        std::max(1.0, absl::ToDoubleSeconds(config_.queues[q].answer_within));
    const double mu = loads[q].handle_seconds > 0 ? 1 / loads[q].handle_seconds : 0;
    // d/dw (w / T)^2 = 2 w / T^2; the constant 2 changes no choice.
    gcmu_weight_[q] = mu / (target_seconds * target_seconds);
    ratio_share_[q] = std::max(0.0, loads[q].arrivals_per_hour) * target_seconds;
    total_share += ratio_share_[q];
  }
  for (double& share : ratio_share_) share = total_share > 0 ? share / total_share : 0;
  if (queue_choice_ != QueueChoice::kSkillPriority) return;
  for (uint32_t i = 0; i < agents_.size(); ++i) {
    const std::vector<SkillLevel>& skills = agents[i].skills;
    // The agent's level for a queue: its weakest required skill.
    auto level_for = [&](uint32_t q) {
      int level = 0;
      bool first = true;
      for (const SkillRequirement& need : config_.queues[q].skills) {
        int has = 0;
        for (const SkillLevel& s : skills) {
          if (s.skill == need.skill) has = std::max(has, static_cast<int>(s.level));
        }
        level = first ? has : std::min(level, has);
        first = false;
      }
      return level;
    };
    std::vector<uint32_t>& ranked = agents_[i].queues;
    std::stable_sort(ranked.begin(), ranked.end(),
                     [&](uint32_t a, uint32_t b) { return level_for(a) > level_for(b); });
  }
}

bool QueueDispatcher::CanTake(const AgentState& a, Channel channel) const {
  const int c = static_cast<int>(channel);
  if (!a.logged_in || !a.taking || a.capacity[c] == 0 || a.exclusive_active > 0) return false;
  if (config_.channels[c].exclusive) return a.total_active == 0;
  return a.active[c] < a.capacity[c];
}

bool QueueDispatcher::Speaks(const AgentState& a, const std::string& language) const {
  return std::find(a.languages.begin(), a.languages.end(), language) != a.languages.end();
}

void QueueDispatcher::Assign(uint32_t agent, uint64_t contact, absl::Time now) {
  auto it = waiting_.find(contact);
  const uint32_t q = it->second.queue;
  lines_[q].erase({it->second.arrival, contact});
  waiting_.erase(it);
  AgentState& a = agents_[agent];
  const Channel channel = config_.queues[q].channel;
  ++a.active[static_cast<int>(channel)];
  ++a.total_active;
  if (config_.channels[static_cast<int>(channel)].exclusive) ++a.exclusive_active;
  held_queue_[contact] = q;
  Dispatch d;
  d.kind = Dispatch::Kind::kAssigned;
  d.time = now;
  d.contact = contact;
  d.agent = agent;
  d.queue = q;
  dispatches_.push_back(d);
}

absl::Status QueueDispatcher::Arrive(const ArrivingContact& contact, absl::Time now) {
  const QueueConfig& queue = config_.queues[contact.queue];
  Waiting w;
  w.queue = contact.queue;
  w.arrival = now;
  w.language = !contact.language.empty()         ? contact.language
               : !queue.default_language.empty() ? queue.default_language
                                                 : config_.default_language;
  const std::string language = w.language;
  waiting_[contact.id] = std::move(w);
  lines_[contact.queue].insert({now, contact.id});

  const std::vector<uint32_t>& members = members_[contact.queue];
  auto free_for_it = [&](uint32_t agent) {
    const AgentState& a = agents_[agent];
    return CanTake(a, queue.channel) && Speaks(a, language);
  };
  std::optional<uint32_t> chosen;
  switch (choice_) {
    case AgentChoice::kLinear:
      for (uint32_t agent : members) {
        if (free_for_it(agent)) {
          chosen = agent;
          break;
        }
      }
      break;
    case AgentChoice::kLongestIdle:
      for (uint32_t agent : members) {
        if (free_for_it(agent) &&
            (!chosen || agents_[agent].free_since < agents_[*chosen].free_since)) {
          chosen = agent;
        }
      }
      break;
    case AgentChoice::kRoundRobin: {
      uint32_t& next = round_robin_next_[contact.queue];
      for (size_t k = 0; k < members.size(); ++k) {
        const size_t position = (next + k) % members.size();
        if (free_for_it(members[position])) {
          chosen = members[position];
          next = static_cast<uint32_t>((position + 1) % members.size());
          break;
        }
      }
      break;
    }
    case AgentChoice::kRingAll: {
      std::vector<uint32_t> ringing;
      for (uint32_t agent : members) {
        if (free_for_it(agent)) ringing.push_back(agent);
      }
      if (!ringing.empty()) {
        chosen = ringing[std::uniform_int_distribution<size_t>(0, ringing.size() - 1)(ring_rng_)];
      }
      break;
    }
  }
  if (chosen) Assign(*chosen, contact.id, now);
  return absl::OkStatus();
}

size_t QueueDispatcher::ChooseQueue(
    const std::vector<std::pair<uint32_t, std::pair<absl::Time, uint64_t>>>& heads,
    absl::Time now) const {
  size_t best = 0;
  switch (queue_choice_) {
    case QueueChoice::kOldestFirst:
      for (size_t k = 1; k < heads.size(); ++k) {
        if (heads[k].second < heads[best].second) best = k;
      }
      return best;
    case QueueChoice::kSkillPriority:
      return 0;  // heads follow the agent's queues, already in its order of priority
    case QueueChoice::kGcMu:
    case QueueChoice::kFixedQueueRatio: {
      const double waiting = static_cast<double>(waiting_.size());
      auto index = [&](size_t k) {
        const uint32_t q = heads[k].first;
        if (queue_choice_ == QueueChoice::kGcMu) {
          return absl::ToDoubleSeconds(now - heads[k].second.first) * gcmu_weight_[q];
        }
        return static_cast<double>(lines_[q].size()) - ratio_share_[q] * waiting;
      };
      double best_index = index(0);
      for (size_t k = 1; k < heads.size(); ++k) {
        const double i = index(k);
        // Equal indexes (e.g. nobody has waited yet): the oldest contact first.
        if (i > best_index || (i == best_index && heads[k].second < heads[best].second)) {
          best = k;
          best_index = i;
        }
      }
      return best;
    }
  }
  return best;
}

void QueueDispatcher::MatchAgent(uint32_t agent, absl::Time now) {
  // Past this many waiting contacts in other languages a line is not worth searching.
  constexpr int kMaxLanguageSkips = 64;
  const AgentState& a = agents_[agent];
  std::vector<std::pair<uint32_t, std::pair<absl::Time, uint64_t>>> heads;
  for (;;) {
    heads.clear();
    for (uint32_t q : a.queues) {
      if (!CanTake(a, config_.queues[q].channel)) continue;
      int skips = 0;
      for (const auto& entry : lines_[q]) {
        if (Speaks(a, waiting_.at(entry.second).language)) {
          heads.emplace_back(q, entry);
          break;
        }
        if (++skips > kMaxLanguageSkips) break;
      }
    }
    if (heads.empty()) return;
    Assign(agent, heads[ChooseQueue(heads, now)].second.second, now);
  }
}

absl::Status QueueDispatcher::Abandon(uint64_t contact, absl::Time now) {
  auto it = waiting_.find(contact);
  if (it == waiting_.end()) {
    return absl::NotFoundError(absl::StrCat("abandon: contact ", contact, " is not waiting"));
  }
  lines_[it->second.queue].erase({it->second.arrival, contact});
  waiting_.erase(it);
  return absl::OkStatus();
}

absl::Status QueueDispatcher::Finish(uint32_t agent, uint64_t contact, absl::Time now) {
  auto it = held_queue_.find(contact);
  if (it == held_queue_.end()) {
    return absl::NotFoundError(absl::StrCat("finish: contact ", contact, " is not connected"));
  }
  const uint32_t q = it->second;
  held_queue_.erase(it);
  const Channel channel = config_.queues[q].channel;
  const absl::Duration wrap_up = config_.channels[static_cast<int>(channel)].wrap_up;
  wrap_ups_.push(WrapUpEnd{now + std::max(wrap_up, absl::ZeroDuration()), agent, contact, q});
  return Advance(now);
}

absl::Status QueueDispatcher::Advance(absl::Time now) {
  while (!wrap_ups_.empty() && wrap_ups_.top().at <= now) {
    const WrapUpEnd end = wrap_ups_.top();
    wrap_ups_.pop();
    AgentState& a = agents_[end.agent];
    const Channel channel = config_.queues[end.queue].channel;
    --a.active[static_cast<int>(channel)];
    --a.total_active;
    if (config_.channels[static_cast<int>(channel)].exclusive) --a.exclusive_active;
    if (a.total_active == 0) a.free_since = end.at;
    Dispatch d;
    d.kind = Dispatch::Kind::kReleased;
    d.time = end.at;
    d.contact = end.contact;
    d.agent = end.agent;
    d.queue = end.queue;
    dispatches_.push_back(d);
    MatchAgent(end.agent, end.at);
  }
  return absl::OkStatus();
}

absl::Status QueueDispatcher::LogIn(uint32_t agent, absl::Time now) {
  AgentState& a = agents_[agent];
  a.logged_in = true;
  a.taking = true;
  a.free_since = now;
  MatchAgent(agent, now);
  return absl::OkStatus();
}

absl::Status QueueDispatcher::StopTaking(uint32_t agent, absl::Time now) {
  agents_[agent].taking = false;
  return absl::OkStatus();
}

absl::Status QueueDispatcher::ResumeTaking(uint32_t agent, absl::Time now) {
  agents_[agent].taking = true;
  MatchAgent(agent, now);
  return absl::OkStatus();
}

absl::Status QueueDispatcher::LogOut(uint32_t agent, absl::Time now) {
  AgentState& a = agents_[agent];
  if (a.total_active > 0) {
    return absl::FailedPreconditionError(absl::StrCat("logout: agent ", agent, " holds contacts"));
  }
  a.logged_in = false;
  a.taking = false;
  return absl::OkStatus();
}

std::optional<absl::Time> QueueDispatcher::NextDeadline() const {
  if (wrap_ups_.empty()) return std::nullopt;
  return wrap_ups_.top().at;
}

std::vector<Dispatch> QueueDispatcher::TakeDispatches() {
  std::vector<Dispatch> out;
  out.swap(dispatches_);
  return out;
}

}  // namespace ccr::sim
