#include "tools/ccload/scheduler.h"

#include <memory>
#include <utility>

#include "boost/asio/steady_timer.hpp"

namespace ccr::load {

Scheduler::Scheduler() : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::After(Clock::duration delay, std::function<void()> action) {
  if (stopped_.load(std::memory_order_acquire)) return;
  // Each timer is touched by this call and then only by its own handler, so
  // no two threads share one (asio's rule for distinct timer objects).
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, delay);
  timer->async_wait([timer, action = std::move(action)](const boost::system::error_code& error) {
    if (!error) action();
  });
}

void Scheduler::Stop() {
  if (stopped_.exchange(true)) {
    if (thread_.joinable() && !OnTimerThread()) thread_.join();
    return;
  }
  work_.reset();
  // stop(): run() returns after the handler running now; the rest are
  // destroyed, never run, when io_ is.
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace ccr::load
