// FakeClock: time that moves only when a test says so. Timers run inside
// Advance(), on the calling thread, in deadline order, each at its deadline
// (Now() reads the deadline while it runs). Tests drive the engine's
// io_context on the same thread, so no sleeps and no races.
//
//   FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
//   options.clock = &clock;
//   ... clock.Advance(absl::Seconds(30)); io.poll(); ...
#ifndef CCROUTER_ENGINE_TESTING_FAKE_CLOCK_H_
#define CCROUTER_ENGINE_TESTING_FAKE_CLOCK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>

#include "engine/clock.h"

namespace ccr {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start) : state_(std::make_shared<State>()) { state_->now = start; }

  absl::Time Now() const override { return state_->now; }

  std::unique_ptr<ClockTimer> RunAfter(absl::Duration delay, std::function<void()> fn) override {
    const uint64_t id = state_->next_id++;
    const absl::Time deadline = state_->now + std::max(delay, absl::ZeroDuration());
    state_->timers.emplace(std::make_pair(deadline, id), std::move(fn));
    return std::make_unique<Timer>(state_, deadline, id);
  }

  // Moves time forward by `by`, running every timer that comes due.
  void Advance(absl::Duration by) {
    const absl::Time until = state_->now + by;
    for (;;) {
      auto next = state_->timers.begin();
      if (next == state_->timers.end() || next->first.first > until) break;
      state_->now = next->first.first;
      std::function<void()> fn = std::move(next->second);
      state_->timers.erase(next);
      fn();  // may set or cancel timers
    }
    state_->now = until;
  }

  size_t pending_timers() const { return state_->timers.size(); }

 private:
  struct State {
    absl::Time now;
    uint64_t next_id = 0;
    // By (deadline, order set): ties run in the order they were set.
    std::map<std::pair<absl::Time, uint64_t>, std::function<void()>> timers;
  };
  class Timer final : public ClockTimer {
   public:
    Timer(std::weak_ptr<State> state, absl::Time deadline, uint64_t id)
        : state_(std::move(state)), key_(deadline, id) {}
    ~Timer() override {
      if (std::shared_ptr<State> s = state_.lock()) s->timers.erase(key_);
    }

   private:
    std::weak_ptr<State> state_;
    std::pair<absl::Time, uint64_t> key_;
  };
  std::shared_ptr<State> state_;
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_TESTING_FAKE_CLOCK_H_
