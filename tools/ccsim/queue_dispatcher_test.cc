// The research baselines' choices on tiny hand-built days: which queue a
// freed agent serves under Gc-mu, fixed-queue-ratio and static skill
// priorities, against the plain FIFO choice on the very same contacts.
#include "tools/ccsim/queue_dispatcher.h"

#include <optional>
#include <vector>

#include "gtest/gtest.h"

namespace ccr::sim {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1767225600);
absl::Time At(double seconds) { return kStart + absl::Seconds(seconds); }

// Queues "a" (answer within 20 s) and "b" (within 60 s), one skill each,
// voice only, no wrap-up: a slot frees the moment its contact ends.
RouterConfig TwoQueues() {
  RouterConfig config;
  for (auto [name, target_seconds] : {std::pair("a", 20), std::pair("b", 60)}) {
    QueueConfig queue;
    queue.name = name;
    queue.channel = Channel::kVoice;
    queue.skills = {{name, 1}};
    queue.answer_within = absl::Seconds(target_seconds);
    config.queues.push_back(queue);
  }
  for (ChannelConfig& channel : config.channels) {
    channel.agent_capacity = 1;
    channel.exclusive = true;
    channel.wrap_up = absl::ZeroDuration();
  }
  return config;
}

AgentSpec Agent(int level_a, int level_b) {
  AgentSpec spec;
  spec.skills = {{"a", static_cast<uint32_t>(level_a)}, {"b", static_cast<uint32_t>(level_b)}};
  spec.capacities = {{Channel::kVoice, 1}};
  return spec;
}

ArrivingContact Contact(uint64_t id, uint32_t queue) {
  ArrivingContact c;
  c.id = id;
  c.queue = queue;
  return c;
}

// The contacts assigned since the last call, with their agents, in order.
std::vector<std::pair<uint64_t, uint32_t>> Assigned(Dispatcher& d) {
  std::vector<std::pair<uint64_t, uint32_t>> out;
  for (const Dispatch& x : d.TakeDispatches()) {
    if (x.kind == Dispatch::Kind::kAssigned) out.emplace_back(x.contact, x.agent);
  }
  return out;
}

// One agent for both queues, busy with contact 1 until 30 s; contact 2
// joins b at 0 s and contact 3 joins a at 10 s. Returns who the agent
// takes when it frees at 30 s.
std::optional<uint64_t> FreedAgentTakes(Dispatcher& d) {
  EXPECT_TRUE(d.LogIn(0, At(0)).ok());
  EXPECT_TRUE(d.Arrive(Contact(1, 0), At(0)).ok());
  EXPECT_TRUE(d.Arrive(Contact(2, 1), At(0)).ok());
  EXPECT_TRUE(d.Arrive(Contact(3, 0), At(10)).ok());
  EXPECT_EQ(Assigned(d), (std::vector<std::pair<uint64_t, uint32_t>>{{1, 0}}));
  EXPECT_TRUE(d.Finish(0, 1, At(30)).ok());
  const auto assigned = Assigned(d);
  if (assigned.size() != 1) return std::nullopt;
  return assigned[0].first;
}

TEST(QueueDispatcherTest, FifoServesTheOldestContact) {
  QueueDispatcher fifo(TwoQueues(), {Agent(1, 1)}, AgentChoice::kLongestIdle, 1);
  EXPECT_EQ(FreedAgentTakes(fifo), 2u);  // waited 30 s, against 20 s
}

// Gc-mu with cost (w / T)^2: index w mu / T^2. Equal handle times: a's
// 20 s of a 20 s target (20 / 400) outweighs b's 30 s of 60 s (30 / 3600).
TEST(QueueDispatcherTest, GcMuServesTheQueueWithTheSteepestCostOfDelay) {
  QueueDispatcher gcmu(TwoQueues(), {Agent(1, 1)}, QueueChoice::kGcMu, {{100, 300}, {100, 300}});
  EXPECT_EQ(FreedAgentTakes(gcmu), 3u);
}

// The same waits, but b's contacts take a tenth of the time: mu_b = 10 mu_a
// tips the index to b (30 / 3600 / 30 > 20 / 400 / 300).
TEST(QueueDispatcherTest, GcMuWeighsTheServiceRate) {
  QueueDispatcher gcmu(TwoQueues(), {Agent(1, 1)}, QueueChoice::kGcMu, {{100, 300}, {100, 30}});
  EXPECT_EQ(FreedAgentTakes(gcmu), 2u);
}

// Shares p_i = lambda_i T_i / sum: equal rates, targets 20 s and 60 s give
// a 1/4 and b 3/4 of the waiting contacts.
TEST(QueueDispatcherTest, FixedQueueRatioServesTheQueueMostAboveItsShare) {
  auto run = [](int waiting_a, int waiting_b) {
    QueueDispatcher fqr(TwoQueues(), {Agent(1, 1)}, QueueChoice::kFixedQueueRatio,
                        {{100, 300}, {100, 300}});
    EXPECT_TRUE(fqr.LogIn(0, At(0)).ok());
    EXPECT_TRUE(fqr.Arrive(Contact(1, 0), At(0)).ok());
    uint64_t id = 100;
    // b's contacts first, so FIFO would always take b's.
    for (int i = 0; i < waiting_b; ++i) EXPECT_TRUE(fqr.Arrive(Contact(++id, 1), At(1)).ok());
    for (int i = 0; i < waiting_a; ++i) EXPECT_TRUE(fqr.Arrive(Contact(++id, 0), At(2)).ok());
    Assigned(fqr);
    EXPECT_TRUE(fqr.Finish(0, 1, At(30)).ok());
    const auto assigned = Assigned(fqr);
    EXPECT_EQ(assigned.size(), 1u);
    return assigned.empty() ? 0 : assigned[0].first;
  };
  // 2 - 5/4 > 3 - 15/4: a is above its share, b below: a's first contact (after b's 3).
  EXPECT_EQ(run(2, 3), 104u);
  // 1 - 6/4 < 5 - 18/4: b is above its share: b's first contact.
  EXPECT_EQ(run(1, 5), 101u);
}

// Each agent serves its strongest skill's queue first, whatever has waited
// longer elsewhere; an arriving contact goes to the longest-idle agent.
TEST(QueueDispatcherTest, SkillPriorityServesTheAgentsStrongestSkillFirst) {
  QueueDispatcher d(TwoQueues(), {Agent(6, 4), Agent(4, 6)}, QueueChoice::kSkillPriority,
                    {{100, 300}, {100, 300}});
  ASSERT_TRUE(d.LogIn(1, At(0)).ok());
  ASSERT_TRUE(d.LogIn(0, At(1)).ok());
  ASSERT_TRUE(d.Arrive(Contact(1, 0), At(2)).ok());  // agent 1 has been idle longer
  ASSERT_TRUE(d.Arrive(Contact(2, 0), At(3)).ok());
  EXPECT_EQ(Assigned(d), (std::vector<std::pair<uint64_t, uint32_t>>{{1, 1}, {2, 0}}));
  ASSERT_TRUE(d.Arrive(Contact(3, 1), At(4)).ok());  // b, older
  ASSERT_TRUE(d.Arrive(Contact(4, 0), At(5)).ok());  // a, newer
  ASSERT_TRUE(d.Finish(0, 2, At(10)).ok());
  EXPECT_EQ(Assigned(d), (std::vector<std::pair<uint64_t, uint32_t>>{{4, 0}}));  // a: 6 > 4
  ASSERT_TRUE(d.Finish(1, 1, At(11)).ok());
  EXPECT_EQ(Assigned(d), (std::vector<std::pair<uint64_t, uint32_t>>{{3, 1}}));  // b: 6 > 4
}

}  // namespace
}  // namespace ccr::sim
