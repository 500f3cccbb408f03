#include "router/internal/free_agent_pools.h"

#include "absl/strings/str_cat.h"

namespace ccr {

void FreeAgentPools::Join(uint64_t pool, const AgentKey& key) {
  pools_[pool].insert(key);
  if (key.agent_index >= memberships_.size()) memberships_.resize(key.agent_index + 1);
  memberships_[key.agent_index].emplace_back(pool, key);
  ++size_;
}

void FreeAgentPools::LeaveAll(uint32_t agent_index) {
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

void FreeAgentPools::Clear() {
  pools_.clear();
  memberships_.clear();
  size_ = 0;
}

const AgentKey* FreeAgentPools::Best(uint64_t pool, int32_t excluded_agent_index) const {
  auto it = pools_.find(pool);
  if (it == pools_.end()) return nullptr;
  for (const AgentKey& k : it->second) {
    if (static_cast<int32_t>(k.agent_index) == excluded_agent_index) continue;
    return &k;  // at most one agent is passed over
  }
  return nullptr;
}

bool FreeAgentPools::Contains(uint64_t pool, const AgentKey& key) const {
  auto it = pools_.find(pool);
  return it != pools_.end() && it->second.contains(key);
}

absl::Status FreeAgentPools::CheckInvariants() const {
  size_t remembered = 0;
  for (uint32_t agent = 0; agent < memberships_.size(); ++agent) {
    for (const auto& [pool, key] : memberships_[agent]) {
      if (key.agent_index != agent) {
        return absl::InternalError(
            absl::StrCat("agent ", agent, " remembers a pool entry of agent ", key.agent_index));
      }
      if (!Contains(pool, key)) {
        return absl::InternalError(absl::StrCat("agent ", agent, " is missing from pool ", pool));
      }
    }
    remembered += memberships_[agent].size();
  }
  size_t pooled = 0;
  for (const auto& [pool, agents] : pools_) {
    if (agents.empty()) return absl::InternalError(absl::StrCat("pool ", pool, " is empty"));
    pooled += agents.size();
  }
  if (pooled != remembered || remembered != size_) {
    return absl::InternalError(absl::StrCat("pools hold ", pooled, " entries, agents remember ",
                                            remembered, ", size ", size_));
  }
  return absl::OkStatus();
}

}  // namespace ccr
