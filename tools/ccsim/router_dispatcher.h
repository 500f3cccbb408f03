// RouterDispatcher: the real ccr::Router as a simulated policy. Every
// command goes to the router with the simulated time; every offer it makes
// is accepted at once by the simulated agent. No routing logic lives here.
//
// It also checks the router's wait estimates: the one in the Submit reply
// and a gateway's read every 30 s while the contact waits (what an IVR
// announcing the wait would do), beside the candidate estimators of
// wait_accuracy.h, against the wait each answered contact got. The reads
// are const queries and do not advance the router's clock, so routing is
// the same with or without them.
#ifndef CCROUTER_TOOLS_CCSIM_ROUTER_DISPATCHER_H_
#define CCROUTER_TOOLS_CCSIM_ROUTER_DISPATCHER_H_

#include <memory>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "router/observer.h"
#include "router/router.h"
#include "tools/ccsim/dispatcher.h"
#include "tools/ccsim/wait_accuracy.h"

namespace ccr::sim {

class RouterDispatcher : public Dispatcher, private RouterObserver {
 public:
  // `agents[i]` is simulator agent i. Without `check_wait_estimates` no
  // estimate is read or kept and WaitAccuracy() is empty.
  static absl::StatusOr<std::unique_ptr<RouterDispatcher>> Create(
      RouterConfig config, std::vector<AgentSpec> agents, bool check_wait_estimates = false);

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
  std::map<std::string, uint64_t> Counters() const override;
  std::optional<WaitAccuracyReport> WaitAccuracy() const override;

 private:
  RouterDispatcher(std::unique_ptr<Router> router, std::vector<AgentSpec> agents,
                   bool check_wait_estimates);
  // Accepts every offer the last command made and turns the router's
  // events into dispatches, until the router has nothing more to say.
  absl::Status Drain();
  void OnEvent(const Event& e) override;  // counts events by kind for the report
  // Records every estimate due by `now` of a contact still waiting.
  void Reestimate(absl::Time now);
  void RecordEstimate(uint64_t sim_contact, uint32_t position, absl::Duration router_estimate,
                      EstimateMoment moment, absl::Time now);

  struct Waiting {
    double arrival_seconds = 0;
    uint32_t queue = 0;
  };

  std::unique_ptr<Router> router_;
  std::vector<AgentSpec> agents_;
  absl::flat_hash_map<std::string, uint32_t> agent_index_;
  absl::flat_hash_map<ContactId, uint64_t> sim_id_;  // router id -> simulator id
  absl::flat_hash_map<uint64_t, ContactId> router_id_;
  absl::flat_hash_map<std::string, uint32_t> queue_index_;
  uint64_t next_created_id_ = uint64_t{1} << 48;  // for contacts the router creates
  std::vector<Dispatch> dispatches_;
  std::map<std::string, uint64_t> event_counts_;
  // Wait-estimate accuracy (simulator ids).
  const bool check_wait_estimates_;
  WaitAccuracyRecorder accuracy_;
  QueueHistory history_;
  absl::flat_hash_map<uint64_t, Waiting> waiting_;
  absl::flat_hash_map<uint64_t, std::pair<double, uint32_t>> serving_;  // since, queue
  using Read = std::pair<absl::Time, uint64_t>;
  std::priority_queue<Read, std::vector<Read>, std::greater<>> reads_;  // gateway reads due
};

}  // namespace ccr::sim

#endif  // CCROUTER_TOOLS_CCSIM_ROUTER_DISPATCHER_H_
