// Clock: where the engine reads time and sets its timers (DESIGN.md: the
// engine meets the world through interfaces it owns). The router never reads
// a clock; the engine stamps each command with Clock::Now(), so live, replay
// and simulation run the same code, and a test with a fake clock
// (engine/testing/fake_clock.h) drives timers without sleeping.
#ifndef CCROUTER_ENGINE_CLOCK_H_
#define CCROUTER_ENGINE_CLOCK_H_

#include <functional>
#include <memory>

#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"

namespace ccr {

// A timer set by Clock::RunAfter. Destroying it cancels it: its function is
// then never called.
class ClockTimer {
 public:
  virtual ~ClockTimer() = default;
};

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time: what commands are stamped with.
  virtual absl::Time Now() const = 0;
  // Calls `fn` on the routing strand once `delay` has passed (at once for a
  // delay <= 0, but never inside this call), unless the timer is destroyed
  // first.
  virtual std::unique_ptr<ClockTimer> RunAfter(absl::Duration delay, std::function<void()> fn) = 0;
};

// The system clock, with timers on `io` (the routing strand's io_context).
std::unique_ptr<Clock> NewSystemClock(boost::asio::io_context& io);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_CLOCK_H_
