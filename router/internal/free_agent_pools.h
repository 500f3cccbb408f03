// FreeAgentPools: the agents free to take a contact, in pools keyed by
// PoolKey(queue, the earliest overflow stage at which they qualify, language,
// their special skills). Private to router/.
//
// Each pool is ordered by AgentKey. Under RoutingPolicy::kRanked: the least
// flexible agent first (fewest queues and special skills it could serve
// instead), then best proficiency for that queue, then least loaded, then
// longest since the last offer. Under kFifo: the longest idle (since its last
// contact ended) first. Either way a waiting contact compares only pool heads. An agent joins one
// pool per (queue it serves, language it speaks) and remembers its memberships, so leaving costs
// one erase per pool.
//
// What must hold (CheckInvariants): every membership an agent remembers is
// in its pool under that agent's index, and nothing else is; no pool is
// empty.
#ifndef CCROUTER_ROUTER_INTERNAL_FREE_AGENT_POOLS_H_
#define CCROUTER_ROUTER_INTERNAL_FREE_AGENT_POOLS_H_

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "router/types.h"

namespace ccr {

struct AgentKey {
  uint32_t breadth = 0;         // Agent::breadth (kFifo: 0)
  int32_t neg_proficiency = 0;  // kFifo: 0
  uint32_t load = 0;            // kFifo: 0
  int64_t last_offer_ms = 0;    // kFifo: when it became idle (Agent::idle_since)
  uint32_t agent_index = 0;
  friend bool operator<(const AgentKey& a, const AgentKey& b) {
    return std::tie(a.breadth, a.neg_proficiency, a.load, a.last_offer_ms, a.agent_index) <
           std::tie(b.breadth, b.neg_proficiency, b.load, b.last_offer_ms, b.agent_index);
  }
};

// BucketKey's packing (waiting_contacts.h) with the routing policy in bits
// 56..63 in place of the past-target bit: a queue whose policy changes by the
// hour (an A/B test) keeps one pool per policy, each in that policy's agent
// order (the pools of a queue under one policy for good, kRanked's, have
// exactly the key of the bucket of its contacts still in time).
inline uint64_t PoolKey(uint32_t queue, uint32_t stage, uint32_t language, uint8_t special,
                        RoutingPolicy policy) {
  return (uint64_t{static_cast<uint8_t>(policy)} << 56) | (uint64_t{queue} << 40) |
         (uint64_t{stage} << 32) | (uint64_t{language} << 8) | special;
}

class FreeAgentPools {
 public:
  // Inline, with Best: they run on every offer and every freed agent.
  // Puts agent `key.agent_index` into `pool`.
  // REQUIRES: it is not in `pool` yet.
  void Join(uint64_t pool, const AgentKey& key) {
    pools_[pool].insert(key);
    if (key.agent_index >= memberships_.size()) memberships_.resize(key.agent_index + 1);
    memberships_[key.agent_index].emplace_back(pool, key);
    ++size_;
  }
  // Takes the agent out of every pool it is in.
  void LeaveAll(uint32_t agent_index) {
    if (agent_index >= memberships_.size()) return;
    std::vector<std::pair<uint64_t, AgentKey>>& joined = memberships_[agent_index];
    for (const auto& [pool, key] : joined) {
      auto it = pools_.find(pool);
      it->second.erase(key);
      if (it->second.empty()) pools_.erase(it);
    }
    size_ -= joined.size();
    joined.clear();
  }
  // Forgets every pool and membership (the agents are renumbered).
  void Clear();

  // The head of `pool`, passing over `excluded_agent_index` (-1: none); nullptr when
  // none is left.
  const AgentKey* Best(uint64_t pool, int32_t excluded_agent_index) const {
    auto it = pools_.find(pool);
    if (it == pools_.end()) return nullptr;
    for (const AgentKey& k : it->second) {
      if (static_cast<int32_t>(k.agent_index) == excluded_agent_index) continue;
      return &k;  // at most one agent is passed over
    }
    return nullptr;
  }
  bool Contains(uint64_t pool, const AgentKey& key) const;
  size_t MembershipsOf(uint32_t agent_index) const {
    return agent_index < memberships_.size() ? memberships_[agent_index].size() : 0;
  }
  size_t size() const { return size_; }  // memberships over all agents

  absl::Status CheckInvariants() const;

 private:
  absl::flat_hash_map<uint64_t, absl::btree_set<AgentKey>> pools_;
  // [agent index]: the pools it is in, with the key it is in them under
  // (grown on demand; each vector keeps its capacity across re-pooling).
  std::vector<std::vector<std::pair<uint64_t, AgentKey>>> memberships_;
  size_t size_ = 0;
};

}  // namespace ccr

#endif  // CCROUTER_ROUTER_INTERNAL_FREE_AGENT_POOLS_H_
