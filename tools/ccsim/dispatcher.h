// Dispatcher: the routing policy under simulation, as the simulator sees it.
// One implementation drives the real ccr::Router (router_dispatcher.h); the
// others are the plain queue strategies of common open-source ACDs, kept only
// for comparison (queue_dispatcher.h). The simulator feeds every policy the
// same contacts, patience and handle times, so differences are the policy's.
//
// Contacts and agents are named by the simulator's own numbers. Every
// command may cause assignments and releases, collected by TakeDispatches().
// The simulated agent answers an offer at once, so an assignment is final.
#ifndef CCROUTER_TOOLS_CCSIM_DISPATCHER_H_
#define CCROUTER_TOOLS_CCSIM_DISPATCHER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "router/types.h"
#include "tools/ccsim/wait_accuracy.h"

namespace ccr::sim {

struct ArrivingContact {
  uint64_t id = 0;
  uint32_t queue = 0;  // index into RouterConfig::queues
  Tier tier = Tier::kStandard;
  Signals signals;
  std::string language;  // empty: the queue's default
};

struct Dispatch {
  enum class Kind {
    kAssigned,  // the agent took the contact (it is connected now)
    kReleased,  // the agent's slot is free again (after wrap-up)
    kExpired,   // the policy gave up on a waiting contact (queue expire_after)
  };
  Kind kind = Kind::kAssigned;
  absl::Time time;
  uint64_t contact = 0;
  uint32_t agent = 0;
  // A contact the policy created itself (a router follow-up); the
  // simulator has not seen it before.
  bool created_by_policy = false;
  uint32_t queue = 0;
};

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;

  virtual absl::Status Arrive(const ArrivingContact& contact, absl::Time now) = 0;
  // REQUIRES: the contact is still waiting (not assigned).
  virtual absl::Status Abandon(uint64_t contact, absl::Time now) = 0;
  // The conversation is over; the channel's wrap-up (from the config) follows.
  virtual absl::Status Finish(uint32_t agent, uint64_t contact, absl::Time now) = 0;
  virtual absl::Status LogIn(uint32_t agent, absl::Time now) = 0;
  // A break or the shift's end: keep what is held, take nothing new.
  virtual absl::Status StopTaking(uint32_t agent, absl::Time now) = 0;
  virtual absl::Status ResumeTaking(uint32_t agent, absl::Time now) = 0;
  // REQUIRES: the agent holds nothing.
  virtual absl::Status LogOut(uint32_t agent, absl::Time now) = 0;
  // Runs the policy's own timers (wrap-up ends, overflow steps) due by `now`.
  virtual absl::Status Advance(absl::Time now) = 0;
  virtual std::optional<absl::Time> NextDeadline() const = 0;
  virtual std::vector<Dispatch> TakeDispatches() = 0;
  // Policy-specific counts for the report (e.g. router events by kind).
  virtual std::map<std::string, uint64_t> Counters() const { return {}; }
  // How well the policy's wait estimates did (only the router gives any).
  virtual std::optional<WaitAccuracyReport> WaitAccuracy() const { return std::nullopt; }
};

}  // namespace ccr::sim

#endif  // CCROUTER_TOOLS_CCSIM_DISPATCHER_H_
