// Open-loop arrivals without coordinated omission.
//
// An open-loop load generator decides *when* each request should be sent
// before it knows how the server is doing, and measures each latency from
// that intended send time. If the sender falls behind (the server, the
// network or the generator itself stalled), the late requests still carry
// their intended times, so the stall shows up in the latency figures instead
// of silently lowering the offered rate (Gil Tene's "coordinated omission").
//
//   ArrivalSchedule schedule(/*rate_per_second=*/10000, /*seed=*/7, start);
//   for (;;) {
//     for (auto intended : schedule.DueBy(Clock::now())) Send(intended);
//     sleep_until(schedule.NextDue());
//   }
//   // latency of each reply = reply time - intended
//
// Pure: the caller supplies the clock readings. Not thread-safe.
#ifndef CCR_TOOLS_CCLOAD_ARRIVAL_SCHEDULE_H_
#define CCR_TOOLS_CCLOAD_ARRIVAL_SCHEDULE_H_

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

namespace ccr::load {

class ArrivalSchedule {
 public:
  using Clock = std::chrono::steady_clock;

  // Poisson arrivals at `rate_per_second` (> 0), the first one an
  // exponential gap after `start`.
  ArrivalSchedule(double rate_per_second, uint64_t seed, Clock::time_point start);

  // The intended send times of every arrival due at or before `now`, in
  // order, none skipped however late `now` is; at most `limit` of them (the
  // rest stay due for the next call).
  std::vector<Clock::time_point> DueBy(Clock::time_point now, size_t limit = SIZE_MAX);

  // When the next arrival is due.
  Clock::time_point NextDue() const { return next_; }

  uint64_t scheduled() const { return scheduled_; }  // handed out by DueBy so far

 private:
  void Advance();

  std::exponential_distribution<double> gap_seconds_;
  std::mt19937_64 rng_;
  Clock::time_point next_;
  uint64_t scheduled_ = 0;
};

// The latency of a reply at `replied` to a request intended for `intended`:
// never negative (a request sent early counts as 0).
inline std::chrono::nanoseconds LatencyFromIntended(ArrivalSchedule::Clock::time_point intended,
                                                    ArrivalSchedule::Clock::time_point replied) {
  return replied > intended
             ? std::chrono::duration_cast<std::chrono::nanoseconds>(replied - intended)
             : std::chrono::nanoseconds(0);
}

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_ARRIVAL_SCHEDULE_H_
