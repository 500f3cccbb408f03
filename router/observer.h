// RouterObserver: how the router reports what happened to whoever counts it
// (metrics/ in ccrouterd, the simulator's own tallies), without the router
// depending on any of them.
#ifndef CCROUTER_ROUTER_OBSERVER_H_
#define CCROUTER_ROUTER_OBSERVER_H_

#include "router/router.h"

namespace ccr {

class RouterObserver {
 public:
  virtual ~RouterObserver() = default;
  // Every event, in the order the router emitted it, on the router's thread,
  // as Router::TakeEvents() hands them out. Must not call back into the router.
  virtual void OnEvent(const Event& e) = 0;
};

}  // namespace ccr

#endif  // CCROUTER_ROUTER_OBSERVER_H_
