#include "tools/ccload/arrival_schedule.h"

namespace ccr::load {

ArrivalSchedule::ArrivalSchedule(double rate_per_second, uint64_t seed, Clock::time_point start)
    : gap_seconds_(rate_per_second), rng_(seed), next_(start) {
  Advance();
}

void ArrivalSchedule::Advance() {
  next_ += std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(gap_seconds_(rng_)));
}

std::vector<ArrivalSchedule::Clock::time_point> ArrivalSchedule::DueBy(Clock::time_point now,
                                                                       size_t limit) {
  std::vector<Clock::time_point> due;
  while (next_ <= now && due.size() < limit) {
    due.push_back(next_);
    ++scheduled_;
    Advance();
  }
  return due;
}

}  // namespace ccr::load
