#include "metrics/service_level_window.h"

#include <algorithm>

namespace ccr::metrics {

ServiceLevelWindow::ServiceLevelWindow(absl::Duration window, int slices)
    : slice_(window / std::max(slices, 1)), slices_(std::max(slices, 1)) {}

int64_t ServiceLevelWindow::EpochOf(absl::Time t) const {
  absl::Duration remainder;
  int64_t epoch = absl::IDivDuration(t - absl::UnixEpoch(), slice_, &remainder);
  if (remainder < absl::ZeroDuration()) --epoch;  // floor, also before 1970
  return epoch;
}

ServiceLevelWindow::Slice& ServiceLevelWindow::SliceAt(absl::Time t) {
  const int64_t epoch = EpochOf(t);
  const int64_t n = static_cast<int64_t>(slices_.size());
  Slice& s = slices_[((epoch % n) + n) % n];
  if (s.epoch != epoch) s = Slice{epoch, {}};  // roll over: the old counts left the window
  return s;
}

void ServiceLevelWindow::Answered(absl::Time at, bool within_target) {
  Counts& c = SliceAt(at).counts;
  ++c.answered;
  c.answered_within_target += within_target;
}

void ServiceLevelWindow::Abandoned(absl::Time at, bool after_short_threshold) {
  Counts& c = SliceAt(at).counts;
  c.abandoned_counted += after_short_threshold;
}

ServiceLevelWindow::Counts ServiceLevelWindow::Totals(absl::Time now) const {
  const int64_t newest = EpochOf(now);
  const int64_t oldest = newest - static_cast<int64_t>(slices_.size()) + 1;
  Counts total;
  for (const Slice& s : slices_) {
    if (s.epoch < oldest || s.epoch > newest) continue;
    total.answered += s.counts.answered;
    total.answered_within_target += s.counts.answered_within_target;
    total.abandoned_counted += s.counts.abandoned_counted;
  }
  return total;
}

std::optional<double> ServiceLevelWindow::Ratio(absl::Time now) const {
  const Counts c = Totals(now);
  const uint64_t denominator = c.answered + c.abandoned_counted;
  if (denominator == 0) return std::nullopt;
  return static_cast<double>(c.answered_within_target) / static_cast<double>(denominator);
}

}  // namespace ccr::metrics
