#include "router/internal/free_agent_pools.h"

#include "absl/strings/str_cat.h"

namespace ccr {

void FreeAgentPools::Clear() {
  pools_.clear();
  memberships_.clear();
  size_ = 0;
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
