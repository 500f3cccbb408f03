#include "tools/ccload/agent_roster.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_format.h"

namespace ccr::load {

namespace v1 = ::ccrouter::v1;

namespace {

constexpr v1::Channel kDigitalChannels[3] = {v1::CHANNEL_CHAT, v1::CHANNEL_EMAIL,
                                             v1::CHANNEL_MESSAGING};
constexpr uint32_t kPatchedSkillLevel = 6;

uint32_t CapacityOf(v1::Channel channel) {
  switch (channel) {
    case v1::CHANNEL_VOICE:
      return kVoiceCapacity;
    case v1::CHANNEL_CHAT:
      return kChatCapacity;
    case v1::CHANNEL_EMAIL:
      return kEmailCapacity;
    case v1::CHANNEL_MESSAGING:
      return kMessagingCapacity;
    case v1::CHANNEL_CALLBACK:
      return kCallbackCapacity;
    default:
      return 1;
  }
}

bool Serves(const v1::Login& login, v1::Channel channel) {
  return std::any_of(login.capacities().begin(), login.capacities().end(),
                     [channel](const v1::ChannelCapacity& c) { return c.channel() == channel; });
}

bool HasSkill(const v1::Login& login, const std::string& skill) {
  return std::any_of(login.skills().begin(), login.skills().end(),
                     [&skill](const v1::Skill& s) { return s.name() == skill; });
}

bool Speaks(const v1::Login& login, const std::string& language) {
  return std::find(login.languages().begin(), login.languages().end(), language) !=
         login.languages().end();
}

void AddCapacity(v1::Login& login, v1::Channel channel) {
  if (Serves(login, channel)) return;
  v1::ChannelCapacity* capacity = login.add_capacities();
  capacity->set_channel(channel);
  capacity->set_max_concurrent(CapacityOf(channel));
}

void AddSkill(v1::Login& login, const std::string& name, uint32_t level) {
  if (HasSkill(login, name)) return;
  v1::Skill* skill = login.add_skills();
  skill->set_name(name);
  skill->set_level(level);
}

// Makes sure some agent on `queue`'s channel has its skill and speaks
// `language`. When nobody does, the agent closest to that (on the channel,
// then with the skill, then with the language) learns what is missing.
// `next` rotates the search so the extra work is spread.
void EnsureCovered(std::vector<v1::Login>& roster, const QueueMix& queue,
                   const std::string& language, size_t& next) {
  if (roster.empty()) return;
  auto closeness = [&](const v1::Login& login) {
    return 4 * Serves(login, queue.channel) + 2 * HasSkill(login, queue.skill) +
           Speaks(login, language);
  };
  size_t chosen = next % roster.size();
  for (size_t k = 0; k < roster.size(); ++k) {
    const size_t i = (next + k) % roster.size();
    if (closeness(roster[i]) > closeness(roster[chosen])) chosen = i;
  }
  v1::Login& login = roster[chosen];
  if (closeness(login) == 7) return;
  AddCapacity(login, queue.channel);
  if (queue.channel == v1::CHANNEL_VOICE) AddCapacity(login, v1::CHANNEL_CALLBACK);
  AddSkill(login, queue.skill, kPatchedSkillLevel);
  if (!Speaks(login, language)) login.add_languages(language);
  next = chosen + 1;
}

}  // namespace

std::vector<v1::Login> MakeAgentRoster(int count, const TrafficMixConfig& mix, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto chance = [&rng](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  auto level = [&rng](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
  };

  std::set<std::string> extra_skills;
  for (const QueueMix& queue : mix.queues) {
    if (queue.skill != "general") extra_skills.insert(queue.skill);
  }
  std::vector<std::string> languages;
  for (const LanguageShare& l : mix.languages) {
    if (l.share > 0) languages.push_back(l.language);
  }
  std::stable_sort(languages.begin(), languages.end(),
                   [&mix](const std::string& a, const std::string& b) {
                     auto share = [&mix](const std::string& name) {
                       for (const LanguageShare& l : mix.languages) {
                         if (l.language == name) return l.share;
                       }
                       return 0.0;
                     };
                     return share(a) > share(b);
                   });

  std::vector<v1::Login> roster(std::max(count, 0));
  for (size_t i = 0; i < roster.size(); ++i) {
    v1::Login& login = roster[i];
    login.set_agent_id(absl::StrFormat("agent-%03d", i + 1));
    login.set_display_name(absl::StrFormat("Demo Agent %d", i + 1));
    login.set_start_available(true);
    AddSkill(login, "general", level(5, 9));
    for (const std::string& skill : extra_skills) {
      if (chance(0.35)) AddSkill(login, skill, level(5, 8));
    }
    if (chance(0.25)) AddSkill(login, "senior", level(5, 8));
    for (size_t l = 0; l < languages.size(); ++l) {
      if (l == 0 || chance(0.25)) login.add_languages(languages[l]);
    }
    const double kind = std::uniform_real_distribution<double>(0, 1)(rng);
    const bool voice_only = kind < 0.25;
    const bool digital_only = kind >= 0.25 && kind < 0.50;
    if (!digital_only) {
      AddCapacity(login, v1::CHANNEL_VOICE);
      AddCapacity(login, v1::CHANNEL_CALLBACK);
    }
    if (!voice_only) {
      for (v1::Channel channel : kDigitalChannels) AddCapacity(login, channel);
    }
  }

  size_t next = 0;
  for (const std::string& language : languages) {
    for (const QueueMix& queue : mix.queues) {
      if (queue.share > 0) EnsureCovered(roster, queue, language, next);
    }
  }
  return roster;
}

DeskBehaviour::DeskBehaviour(const TrafficMixConfig& mix, uint64_t seed) : rng_(seed) {
  for (const QueueMix& queue : mix.queues) {
    handle_seconds_by_queue_[queue.name] = queue.handle_seconds;
  }
}

double DeskBehaviour::HandleSeconds(absl::string_view queue, v1::Channel channel) {
  auto it = handle_seconds_by_queue_.find(queue);
  const double mean_seconds =
      it != handle_seconds_by_queue_.end() ? it->second : DefaultHandleSeconds(channel);
  return std::max(1.0, std::exponential_distribution<double>(1 / mean_seconds)(rng_));
}

}  // namespace ccr::load
