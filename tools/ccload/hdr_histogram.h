// An HDR-style latency histogram: log-linear buckets over nanoseconds, 128
// linear sub-buckets per power of two, so a reported percentile is never
// below the exact one and at most 1/128 (0.8 %) above it. Fixed size (about
// 38 KiB), no allocation after construction, values up to 2^44 ns (4.9 h);
// larger ones are recorded as 2^44 - 1.
//
//   HdrHistogram h;
//   h.Record(1500);                       // ns
//   uint64_t p99 = h.Percentile(99);      // ns, rounded up to its bucket
//
// AtomicHdrHistogram records from many threads at once (relaxed atomic
// adds, no lock) and hands out a HdrHistogram snapshot.
//
// For percentiles of a run with bounded error (ccload's report); not
// metrics/histogram.h's LatencyHistogram, a Prometheus histogram over fixed
// bucket bounds.
#ifndef CCR_TOOLS_CCLOAD_HDR_HISTOGRAM_H_
#define CCR_TOOLS_CCLOAD_HDR_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ccr::load {

namespace histogram_internal {
inline constexpr int kSubBucketBits = 7;
inline constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // 128
inline constexpr int kMaxValueBits = 44;
inline constexpr uint64_t kMaxValue = (uint64_t{1} << kMaxValueBits) - 1;
// Values below 2 * kSubBuckets get a bucket each; every power of two above
// adds kSubBuckets buckets.
inline constexpr size_t kBucketCount = (kMaxValueBits - kSubBucketBits + 1) * kSubBuckets;

// The bucket of `value` (clamped to kMaxValue) and the range a bucket holds.
size_t BucketOf(uint64_t value);
uint64_t BucketLowest(size_t bucket);
uint64_t BucketHighest(size_t bucket);
}  // namespace histogram_internal

class HdrHistogram {
 public:
  void Record(uint64_t value_ns);
  void Merge(const HdrHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }  // exact
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  double mean() const { return count_ == 0 ? 0 : static_cast<double>(sum_) / count_; }

  // The smallest value v such that at least `percentile` % of the recorded
  // values are <= v, rounded up to v's bucket and never above max().
  // 0 when empty. REQUIRES: 0 <= percentile <= 100.
  uint64_t Percentile(double percentile) const;

 private:
  friend class AtomicHdrHistogram;
  std::array<uint64_t, histogram_internal::kBucketCount> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

// Thread-safe recording. Snapshot() taken while others record is a
// consistent-enough view for a progress line; take the final one after the
// recorders have stopped.
class AtomicHdrHistogram {
 public:
  void Record(uint64_t value_ns);
  HdrHistogram Snapshot() const;

 private:
  std::array<std::atomic<uint64_t>, histogram_internal::kBucketCount> counts_{};
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> min_{UINT64_MAX};
  std::atomic<uint64_t> max_{0};
};

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_HDR_HISTOGRAM_H_
