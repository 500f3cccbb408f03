// Scheduler: ccload's one timer thread. Runs actions after a delay on a
// Boost.Asio io_context driven by one thread of its own; every simulated
// agent's accept delays, handle and wrap-up times, heartbeats and
// reconnects, and every customer's patience, share it.
//
//   Scheduler scheduler;
//   scheduler.After(std::chrono::milliseconds(50), [] { /* short, never blocks */ });
//   scheduler.Stop();  // pending actions are dropped, a running one finishes
//
// Thread-safe. An action must not block: everything timed shares the thread.
#ifndef CCR_TOOLS_CCLOAD_SCHEDULER_H_
#define CCR_TOOLS_CCLOAD_SCHEDULER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"

namespace ccr::load {

class Scheduler {
 public:
  using Clock = std::chrono::steady_clock;

  Scheduler();
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs `action` on the timer thread once `delay` has passed (a zero or
  // negative delay: as soon as the thread gets to it). Ignored once stopped.
  void After(Clock::duration delay, std::function<void()> action);

  // Drops pending actions, waits for a running one, joins the thread.
  // Idempotent. REQUIRES: not called from an action.
  void Stop();

  bool OnTimerThread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::atomic<bool> stopped_{false};
  std::thread thread_;  // last: starts once the members above exist
};

// Seconds (double) as a Clock duration, for delays drawn from distributions.
inline Scheduler::Clock::duration SecondsToDuration(double seconds) {
  return std::chrono::duration_cast<Scheduler::Clock::duration>(
      std::chrono::duration<double>(seconds));
}

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_SCHEDULER_H_
