#include "tools/ccload/agent_roster.h"

#include <cmath>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace ccr::load {
namespace {

namespace v1 = ::ccrouter::v1;

bool Serves(const v1::Login& login, v1::Channel channel) {
  for (const v1::ChannelCapacity& c : login.capacities()) {
    if (c.channel() == channel) return true;
  }
  return false;
}

bool HasSkill(const v1::Login& login, const std::string& skill) {
  for (const v1::Skill& s : login.skills()) {
    if (s.name() == skill) return true;
  }
  return false;
}

bool Speaks(const v1::Login& login, const std::string& language) {
  for (const std::string& l : login.languages()) {
    if (l == language) return true;
  }
  return false;
}

TEST(AgentRosterTest, LoginsAreWellFormed) {
  const std::map<v1::Channel, uint32_t> capacities = {{v1::CHANNEL_VOICE, 1},
                                                      {v1::CHANNEL_CHAT, 3},
                                                      {v1::CHANNEL_EMAIL, 5},
                                                      {v1::CHANNEL_MESSAGING, 3},
                                                      {v1::CHANNEL_CALLBACK, 1}};
  const std::vector<v1::Login> roster = MakeAgentRoster(30, DefaultTrafficMix(), 4);
  ASSERT_EQ(roster.size(), 30u);
  std::set<std::string> ids;
  for (size_t i = 0; i < roster.size(); ++i) {
    const v1::Login& login = roster[i];
    EXPECT_EQ(login.agent_id(), absl::StrFormat("agent-%03d", i + 1));
    ids.insert(login.agent_id());
    EXPECT_TRUE(login.start_available());
    ASSERT_GE(login.skills_size(), 1);
    EXPECT_EQ(login.skills(0).name(), "general");
    EXPECT_GE(login.skills(0).level(), 5u);
    EXPECT_LE(login.skills(0).level(), 9u);
    EXPECT_TRUE(Speaks(login, "en")) << login.agent_id();
    ASSERT_GE(login.capacities_size(), 1);
    std::set<v1::Channel> channels;
    for (const v1::ChannelCapacity& c : login.capacities()) {
      EXPECT_TRUE(channels.insert(c.channel()).second) << "channel listed twice";
      EXPECT_EQ(c.max_concurrent(), capacities.at(c.channel()));
    }
  }
  EXPECT_EQ(ids.size(), 30u);
}

TEST(AgentRosterTest, RealisticMixOverALargeRoster) {
  const std::vector<v1::Login> roster = MakeAgentRoster(4000, DefaultTrafficMix(), 8);
  int voice_only = 0, digital_only = 0, senior = 0, billing = 0, spanish = 0, mandarin = 0;
  for (const v1::Login& login : roster) {
    const bool voice = Serves(login, v1::CHANNEL_VOICE);
    const bool digital = Serves(login, v1::CHANNEL_CHAT);
    EXPECT_EQ(voice, Serves(login, v1::CHANNEL_CALLBACK));
    EXPECT_EQ(digital, Serves(login, v1::CHANNEL_EMAIL));
    EXPECT_EQ(digital, Serves(login, v1::CHANNEL_MESSAGING));
    voice_only += voice && !digital;
    digital_only += digital && !voice;
    senior += HasSkill(login, "senior");
    billing += HasSkill(login, "billing");
    spanish += Speaks(login, "es");
    mandarin += Speaks(login, "zh-cmn");
  }
  const double n = roster.size();
  EXPECT_NEAR(voice_only / n, 0.25, 0.03);
  EXPECT_NEAR(digital_only / n, 0.25, 0.03);
  EXPECT_NEAR(senior / n, 0.25, 0.03);
  EXPECT_NEAR(billing / n, 0.35, 0.03);
  EXPECT_NEAR(spanish / n, 0.25, 0.03);
  EXPECT_NEAR(mandarin / n, 0.25, 0.03);
}

// Every queue of the mix has, in every language, an agent on its channel with
// its skill, whatever the seed and however small the roster.
TEST(AgentRosterTest, EveryQueueIsCoveredInEveryLanguage) {
  const TrafficMixConfig mix = DefaultTrafficMix();
  for (int count : {1, 2, 3, 6, 12, 30}) {
    for (uint64_t seed = 0; seed < 100; ++seed) {
      SCOPED_TRACE(absl::StrFormat("count %d seed %d", count, seed));
      const std::vector<v1::Login> roster = MakeAgentRoster(count, mix, seed);
      ASSERT_EQ(roster.size(), static_cast<size_t>(count));
      for (const QueueMix& queue : mix.queues) {
        for (const LanguageShare& language : mix.languages) {
          bool covered = false;
          for (const v1::Login& login : roster) {
            covered = covered || (Serves(login, queue.channel) && HasSkill(login, queue.skill) &&
                                  Speaks(login, language.language));
          }
          EXPECT_TRUE(covered) << queue.name << " in " << language.language;
        }
      }
    }
  }
}

// Coverage is patched onto few agents: most of a normal roster stays as drawn.
TEST(AgentRosterTest, CoverageKeepsMostAgentsAsDrawn) {
  int mandarin = 0;
  constexpr int kSeeds = 200;
  for (uint64_t seed = 0; seed < kSeeds; ++seed) {
    for (const v1::Login& login : MakeAgentRoster(12, DefaultTrafficMix(), seed)) {
      mandarin += Speaks(login, "zh-cmn");
    }
  }
  // 25 % drawn; patches add at most a few agents per roster of 12.
  EXPECT_LT(mandarin / (12.0 * kSeeds), 0.45);
}

TEST(AgentRosterTest, SkillsComeFromTheMix) {
  absl::StatusOr<TrafficMixConfig> mix = ParseTrafficMixYaml(
      "languages: {de: 1}\n"
      "queues: [{name: tech, channel: chat, skill: networking}]\n");
  ASSERT_TRUE(mix.ok()) << mix.status();
  const std::vector<v1::Login> roster = MakeAgentRoster(5, *mix, 1);
  std::set<std::string> skills, languages;
  for (const v1::Login& login : roster) {
    for (const v1::Skill& s : login.skills()) skills.insert(s.name());
    for (const std::string& l : login.languages()) languages.insert(l);
  }
  EXPECT_TRUE(skills.count("networking"));
  EXPECT_FALSE(skills.count("billing"));
  EXPECT_EQ(languages, std::set<std::string>{"de"});
}

TEST(AgentRosterTest, SameSeedSameRoster) {
  const std::vector<v1::Login> a = MakeAgentRoster(12, DefaultTrafficMix(), 9);
  const std::vector<v1::Login> b = MakeAgentRoster(12, DefaultTrafficMix(), 9);
  const std::vector<v1::Login> c = MakeAgentRoster(12, DefaultTrafficMix(), 10);
  bool any_difference = false;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].SerializeAsString(), b[i].SerializeAsString());
    any_difference = any_difference || a[i].SerializeAsString() != c[i].SerializeAsString();
  }
  EXPECT_TRUE(any_difference);
  EXPECT_TRUE(MakeAgentRoster(0, DefaultTrafficMix(), 1).empty());
}

TEST(DeskBehaviourTest, PacingFollowsTheBrief) {
  DeskBehaviour desk(DefaultTrafficMix(), 2);
  constexpr int kDraws = 50000;
  double voice = 0, chat = 0, email = 0, unknown_queue_chat = 0;
  int rejects = 0, resolved = 0;
  for (int i = 0; i < kDraws; ++i) {
    const double accept = desk.AcceptDelaySeconds();
    EXPECT_GE(accept, 0.5);
    EXPECT_LE(accept, 3.0);
    const double wrap_up = desk.WrapUpSeconds();
    EXPECT_GE(wrap_up, 1.0);
    EXPECT_LE(wrap_up, 3.0);
    const double v = desk.HandleSeconds("voice_general", v1::CHANNEL_VOICE);
    EXPECT_GE(v, 1.0);
    voice += v;
    chat += desk.HandleSeconds("chat_general", v1::CHANNEL_CHAT);
    email += desk.HandleSeconds("email_general", v1::CHANNEL_EMAIL);
    unknown_queue_chat += desk.HandleSeconds("not_in_mix", v1::CHANNEL_CHAT);
    rejects += desk.Rejects();
    resolved += desk.Resolved();
  }
  // Means of max(1 s, exponential).
  EXPECT_NEAR(voice / kDraws, 20, 0.5);
  EXPECT_NEAR(chat / kDraws, 30, 0.75);
  EXPECT_NEAR(email / kDraws, 15, 0.4);
  EXPECT_NEAR(unknown_queue_chat / kDraws, 30, 0.75);
  EXPECT_NEAR(rejects / double(kDraws), 0.05, 0.005);
  EXPECT_NEAR(resolved / double(kDraws), 0.90, 0.01);
}

}  // namespace
}  // namespace ccr::load
