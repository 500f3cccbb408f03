// QueueDispatcher: the baselines. Plain first-in-first-out queues as common
// open-source ACDs offer them (Asterisk app_queue, FreeSWITCH
// mod_callcenter), with their usual agent strategies. For comparison only:
// it shares nothing with ccr::Router but the config's queues, skills,
// channel capacities and wrap-up times.
//
// What it does: a contact joins its queue's FIFO line. An agent may take a
// queue's contacts when it has the queue's skills at their minimum levels,
// speaks the contact's language and has a free slot on the channel (voice
// and video exclusive, chat up to its capacity). No tiers, signals, overflow
// or senior routing. A freed agent takes the longest-waiting contact across
// its queues; an arriving contact goes to a free agent chosen by:
//   kLinear       the first free agent in roster order (Asterisk "linear",
//                 FreeSWITCH "top-down")
//   kLongestIdle  the agent free for longest since their last contact ended
//                 (Asterisk "leastrecent", FreeSWITCH "longest-idle-agent")
//   kRoundRobin   the next free agent after the last one this queue used
//                 (Asterisk "rrmemory", FreeSWITCH "round-robin")
//   kRingAll      every free agent rings; whoever answers first takes it,
//                 i.e. a uniformly random free agent (seeded)
//
// The research policies differ in which queue a freed agent serves
// (QueueChoice); each sends an arriving contact to the longest-idle agent:
//   kOldestFirst     the longest-waiting contact across its queues (the ACDs above)
//   kGcMu            generalized c-mu (Mandelbaum & Stolyar 2004): the queue
//                    maximizing C'_i(w_i) * mu_i, with the quadratic cost
//                    C_i(w) = (w / T_i)^2 of a head-of-line wait w relative to
//                    the queue's target T_i, and mu_i = 1 / mean handle time.
//                    ccsim's handle times do not depend on the agent, so
//                    mu_ij = mu_i and the agent choice for an arriving
//                    contact reduces to the longest idle.
//   kFixedQueueRatio fixed-queue-ratio (Gurvich & Whitt 2009): target shares
//                    p_i = lambda_i T_i / sum_k lambda_k T_k of all waiting
//                    contacts (by Little's law, every queue then waits the same
//                    fraction of its target); the queue most above its share,
//                    Q_i - p_i Q, among those it can serve.
//   kSkillPriority   static skill priorities: the agent's queues ranked by its
//                    level in their skills (its weakest required skill,
//                    highest first; config order among equals), the first
//                    with a contact it can take, FIFO within.
#ifndef CCROUTER_TOOLS_CCSIM_QUEUE_DISPATCHER_H_
#define CCROUTER_TOOLS_CCSIM_QUEUE_DISPATCHER_H_

#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "tools/ccsim/dispatcher.h"

namespace ccr::sim {

enum class AgentChoice { kLinear, kLongestIdle, kRoundRobin, kRingAll };
enum class QueueChoice { kOldestFirst, kGcMu, kFixedQueueRatio, kSkillPriority };

// What the research policies know of a queue's planned traffic (the
// scenario's, averaged over the day): all they need of it beyond the config.
struct QueueLoad {
  double arrivals_per_hour = 0;
  double handle_seconds = 0;  // mean
};

class QueueDispatcher : public Dispatcher {
 public:
  QueueDispatcher(const RouterConfig& config, std::vector<AgentSpec> agents, AgentChoice choice,
                  uint64_t seed);
  // A research policy: `loads` by queue (config order). REQUIRES: loads.size()
  // is the number of queues.
  QueueDispatcher(const RouterConfig& config, std::vector<AgentSpec> agents,
                  QueueChoice queue_choice, std::vector<QueueLoad> loads);

  absl::Status Arrive(const ArrivingContact& contact, absl::Time now) override;
  absl::Status Abandon(uint64_t contact, absl::Time now) override;
  absl::Status Finish(uint32_t agent, uint64_t contact, absl::Time now) override;
  absl::Status LogIn(uint32_t agent, absl::Time now) override;
  absl::Status StopTaking(uint32_t agent, absl::Time now) override;
  absl::Status ResumeTaking(uint32_t agent, absl::Time now) override;
  absl::Status LogOut(uint32_t agent, absl::Time now) override;
  absl::Status Advance(absl::Time now) override;
  std::optional<absl::Time> NextDeadline() const override;
  std::vector<Dispatch> TakeDispatches() override;

 private:
  struct AgentState {
    // Queues whose base skills it has; kSkillPriority: in the agent's order of priority.
    std::vector<uint32_t> queues;
    std::vector<std::string> languages;
    std::array<uint32_t, kChannelCount> capacity{};
    std::array<uint32_t, kChannelCount> active{};
    uint32_t total_active = 0;
    uint32_t exclusive_active = 0;
    bool logged_in = false;
    bool taking = false;
    absl::Time free_since = absl::InfinitePast();
  };
  struct Waiting {
    uint32_t queue = 0;
    absl::Time arrival;
    std::string language;
  };
  struct WrapUpEnd {
    absl::Time at;
    uint32_t agent;
    uint64_t contact;
    uint32_t queue;
    friend bool operator>(const WrapUpEnd& a, const WrapUpEnd& b) {
      return std::tie(a.at, a.contact) > std::tie(b.at, b.contact);
    }
  };

  bool CanTake(const AgentState& a, Channel channel) const;
  bool Speaks(const AgentState& a, const std::string& language) const;
  void Assign(uint32_t agent, uint64_t contact, absl::Time now);
  void MatchAgent(uint32_t agent, absl::Time now);  // a freed agent takes what its policy says
  // Among the queues with a contact the agent can take (`heads`: each queue's
  // first such contact), the one its policy serves.
  size_t ChooseQueue(const std::vector<std::pair<uint32_t, std::pair<absl::Time, uint64_t>>>& heads,
                     absl::Time now) const;

  RouterConfig config_;
  AgentChoice choice_;
  QueueChoice queue_choice_ = QueueChoice::kOldestFirst;
  std::vector<double> gcmu_weight_;  // by queue: mu_i / T_i^2 (kGcMu)
  std::vector<double> ratio_share_;  // by queue: p_i (kFixedQueueRatio)
  std::mt19937_64 ring_rng_;
  std::vector<AgentState> agents_;
  std::vector<std::vector<uint32_t>> members_;                    // by queue, in roster order
  std::vector<uint32_t> round_robin_next_;                        // by queue: index into members_
  std::vector<std::set<std::pair<absl::Time, uint64_t>>> lines_;  // by queue, FIFO
  absl::flat_hash_map<uint64_t, Waiting> waiting_;
  absl::flat_hash_map<uint64_t, uint32_t> held_queue_;  // connected contact -> its queue
  std::priority_queue<WrapUpEnd, std::vector<WrapUpEnd>, std::greater<>> wrap_ups_;
  std::vector<Dispatch> dispatches_;
};

}  // namespace ccr::sim

#endif  // CCROUTER_TOOLS_CCSIM_QUEUE_DISPATCHER_H_
