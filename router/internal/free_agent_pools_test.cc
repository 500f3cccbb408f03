// FreeAgentPools against a std::map / std::set model, driven by seeded
// random operation sequences.
#include "router/internal/free_agent_pools.h"

#include <map>
#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace ccr {
namespace {

bool operator==(const AgentKey& a, const AgentKey& b) { return !(a < b) && !(b < a); }

struct Model {
  std::map<uint64_t, std::set<AgentKey>> pools;
  std::map<uint32_t, std::vector<std::pair<uint64_t, AgentKey>>> memberships;
};

void ExpectSame(const FreeAgentPools& p, const Model& m, uint32_t agents) {
  ASSERT_TRUE(p.CheckInvariants().ok()) << p.CheckInvariants();
  size_t total = 0;
  for (uint32_t a = 0; a < agents; ++a) {
    auto it = m.memberships.find(a);
    const size_t n = it == m.memberships.end() ? 0 : it->second.size();
    EXPECT_EQ(p.MembershipsOf(a), n) << "agent " << a;
    total += n;
    if (it == m.memberships.end()) continue;
    for (const auto& [pool, key] : it->second) EXPECT_TRUE(p.Contains(pool, key));
  }
  EXPECT_EQ(p.size(), total);
}

TEST(FreeAgentPoolsTest, MatchesModelOverRandomOperations) {
  constexpr uint32_t kAgents = 40;
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    FreeAgentPools p;
    Model m;
    for (int op = 0; op < 3000; ++op) {
      const uint32_t choice = rng() % 10;
      const uint32_t agent = rng() % kAgents;
      if (choice < 4) {  // re-pool an agent: leave all, join a few pools, as Repool does
        p.LeaveAll(agent);
        for (const auto& [pool, key] : m.memberships[agent]) {
          m.pools[pool].erase(key);
          if (m.pools[pool].empty()) m.pools.erase(pool);
        }
        m.memberships[agent].clear();
        const AgentKey key{static_cast<uint32_t>(rng() % 3), -static_cast<int32_t>(rng() % 5),
                           static_cast<uint32_t>(rng() % 3), static_cast<int64_t>(rng() % 100),
                           agent};
        std::set<uint64_t> chosen;
        for (int n = rng() % 4; n > 0; --n)
          chosen.insert(PoolKey(rng() % 3, rng() % 2, 0, 0, RoutingPolicy(rng() % 2)));
        for (uint64_t pool : chosen) {
          p.Join(pool, key);
          m.pools[pool].insert(key);
          m.memberships[agent].emplace_back(pool, key);
        }
      } else if (choice < 6) {  // leave
        p.LeaveAll(agent);
        for (const auto& [pool, key] : m.memberships[agent]) {
          m.pools[pool].erase(key);
          if (m.pools[pool].empty()) m.pools.erase(pool);
        }
        m.memberships[agent].clear();
      } else if (choice < 9) {  // best of a pool, passing over one agent or none
        const uint64_t pool = PoolKey(rng() % 3, rng() % 2, 0, 0, RoutingPolicy(rng() % 2));
        const int32_t excluded = rng() % 2 ? static_cast<int32_t>(agent) : -1;
        const AgentKey* expected = nullptr;
        if (auto it = m.pools.find(pool); it != m.pools.end()) {
          for (const AgentKey& k : it->second) {
            if (static_cast<int32_t>(k.agent_index) == excluded) continue;
            expected = &k;
            break;
          }
        }
        const AgentKey* got = p.Best(pool, excluded);
        ASSERT_EQ(got == nullptr, expected == nullptr);
        if (got != nullptr) {
          EXPECT_TRUE(*got == *expected);
        }
      } else if (rng() % 20 == 0) {  // renumbering: everything goes
        p.Clear();
        m = Model{};
      }
      if (op % 100 == 0) ExpectSame(p, m, kAgents);
    }
    ExpectSame(p, m, kAgents);
  }
}

TEST(FreeAgentPoolsTest, UnknownAgentAndPool) {
  FreeAgentPools p;
  p.LeaveAll(12);  // never joined: nothing to do
  EXPECT_EQ(p.MembershipsOf(12), 0u);
  EXPECT_EQ(p.Best(PoolKey(1, 0, 0, 0, RoutingPolicy::kRanked), -1), nullptr);
  EXPECT_TRUE(p.CheckInvariants().ok());
}

}  // namespace
}  // namespace ccr
