// Who ccload's simulated agents are (their logins) and how they pace their
// work. Pure: everything is drawn from a seeded std::mt19937_64.
//
//   std::vector<ccrouter::v1::Login> roster = MakeAgentRoster(12, DefaultTrafficMix(), seed);
//   DeskBehaviour desk(DefaultTrafficMix(), seed + 1);
//   double accept_after_seconds = desk.AcceptDelaySeconds();
#ifndef CCR_TOOLS_CCLOAD_AGENT_ROSTER_H_
#define CCR_TOOLS_CCLOAD_AGENT_ROSTER_H_

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ccrouter/v1/agent_desk.pb.h"
#include "ccrouter/v1/types.pb.h"
#include "tools/ccload/traffic_mix.h"

namespace ccr::load {

// Capacities every simulated agent logs in with, per channel served.
inline constexpr uint32_t kVoiceCapacity = 1;
inline constexpr uint32_t kChatCapacity = 3;
inline constexpr uint32_t kEmailCapacity = 5;
inline constexpr uint32_t kMessagingCapacity = 3;
inline constexpr uint32_t kCallbackCapacity = 1;

// `count` logins "agent-001", ...: "general" 5-9 for everyone; each other
// skill the mix's queues need on ~35 % (level 5-8); "senior" on ~25 %; the
// mix's most common language for everyone and each other language on ~25 %;
// ~25 % voice-only, ~25 % digital-only (chat, email, messaging), the rest
// both; whoever takes voice also takes callbacks (the engine's follow-ups,
// due hours later, arrive as callbacks). Then, as far as `count` allows, for
// every queue of the mix and every language, some agent serves the queue's
// channel with its skill in that language, so no contact waits for an agent
// who does not exist. All start available.
std::vector<ccrouter::v1::Login> MakeAgentRoster(int count, const TrafficMixConfig& mix,
                                                 uint64_t seed);

// How one simulated agent paces their work, scaled down so a demo moves.
// Not thread-safe: one owner.
class DeskBehaviour {
 public:
  DeskBehaviour(const TrafficMixConfig& mix, uint64_t seed);

  // Uniform in [0.5, 3] s.
  double AcceptDelaySeconds() { return Uniform(0.5, 3.0); }
  // True for ~5 % of offers.
  bool Rejects() { return Uniform(0, 1) < 0.05; }
  // Exponential with the queue's mean from the mix (the channel's default
  // for a queue not in the mix), at least 1 s.
  double HandleSeconds(absl::string_view queue, ccrouter::v1::Channel channel);
  // Uniform in [1, 3] s.
  double WrapUpSeconds() { return Uniform(1.0, 3.0); }
  // True for ~90 % of contacts.
  bool Resolved() { return Uniform(0, 1) < 0.90; }

 private:
  double Uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng_);
  }

  std::map<std::string, double, std::less<>> handle_seconds_by_queue_;  // constant
  std::mt19937_64 rng_;
};

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_AGENT_ROSTER_H_
