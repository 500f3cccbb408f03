// ServiceLevelWindow: a queue's service level over a sliding window of time,
// the figure a supervisor watches ("80 % in 20 s over the last 15 minutes").
//
//   service level = answered within target / (answered + abandoned after the
//                   short-abandon threshold)
//
// Contacts that abandon within the short threshold count on neither side (a
// caller who hangs up in 3 s is not a miss). The window is kept as a ring of
// equal time slices; a slice older than the window is cleared before it is
// reused, so the figure covers the last `slices` slices including the
// current one: (now - window, now], rounded to slice boundaries.
//
//   ServiceLevelWindow w(absl::Minutes(15), 60);   // 15 s slices
//   w.Answered(now, /*within_target=*/true);
//   w.Abandoned(now, /*after_short_threshold=*/true);
//   std::optional<double> sl = w.Ratio(now);       // nullopt: nothing counted
//
// REQUIRES: external synchronization (the routing strand owns it). Times may
// arrive out of order only within one slice.
#ifndef CCROUTER_METRICS_SERVICE_LEVEL_WINDOW_H_
#define CCROUTER_METRICS_SERVICE_LEVEL_WINDOW_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/time/time.h"

namespace ccr::metrics {

class ServiceLevelWindow {
 public:
  ServiceLevelWindow(absl::Duration window, int slices);

  void Answered(absl::Time at, bool within_target);
  // `after_short_threshold`: the customer waited longer than the queue's
  // short-abandon threshold, so it counts against the service level.
  void Abandoned(absl::Time at, bool after_short_threshold);

  struct Counts {
    uint64_t answered = 0;
    uint64_t answered_within_target = 0;
    uint64_t abandoned_counted = 0;  // after the short threshold
  };
  // Totals over the window ending at `now`.
  Counts Totals(absl::Time now) const;
  // nullopt when nothing was answered or counted-abandoned in the window.
  std::optional<double> Ratio(absl::Time now) const;
  absl::Duration window() const { return slice_ * static_cast<int64_t>(slices_.size()); }

 private:
  struct Slice {
    int64_t epoch = INT64_MIN;  // which slice of time these counts belong to
    Counts counts;
  };
  int64_t EpochOf(absl::Time t) const;
  Slice& SliceAt(absl::Time t);

  const absl::Duration slice_;
  std::vector<Slice> slices_;
};

}  // namespace ccr::metrics

#endif  // CCROUTER_METRICS_SERVICE_LEVEL_WINDOW_H_
