#include "engine/clock.h"

#include "absl/time/clock.h"
#include "boost/asio/steady_timer.hpp"

namespace ccr {

namespace {

class AsioTimer final : public ClockTimer {
 public:
  explicit AsioTimer(boost::asio::io_context& io) : timer(io) {}
  // Destroying the steady_timer cancels the wait: the handler then sees an
  // error and does not call the function.
  boost::asio::steady_timer timer;
};

class SystemClock final : public Clock {
 public:
  explicit SystemClock(boost::asio::io_context& io) : io_(io) {}
  absl::Time Now() const override { return absl::Now(); }
  std::unique_ptr<ClockTimer> RunAfter(absl::Duration delay, std::function<void()> fn) override {
    auto t = std::make_unique<AsioTimer>(io_);
    t->timer.expires_after(absl::ToChronoNanoseconds(std::max(delay, absl::ZeroDuration())));
    t->timer.async_wait([fn = std::move(fn)](const boost::system::error_code& ec) {
      if (!ec) fn();
    });
    return t;
  }

 private:
  boost::asio::io_context& io_;
};

}  // namespace

std::unique_ptr<Clock> NewSystemClock(boost::asio::io_context& io) {
  return std::make_unique<SystemClock>(io);
}

}  // namespace ccr
