#include "tools/ccload/hdr_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ccr::load {

namespace histogram_internal {

size_t BucketOf(uint64_t value) {
  value = std::min(value, kMaxValue);
  if (value < 2 * kSubBuckets) return static_cast<size_t>(value);
  const int msb = 63 - std::countl_zero(value);
  const int shift = msb - kSubBucketBits;  // value >> shift is in [128, 256)
  return static_cast<size_t>((shift + 1) * kSubBuckets + ((value >> shift) - kSubBuckets));
}

uint64_t BucketLowest(size_t bucket) {
  if (bucket < 2 * kSubBuckets) return bucket;
  const int shift = static_cast<int>(bucket / kSubBuckets) - 1;
  return (bucket % kSubBuckets + kSubBuckets) << shift;
}

uint64_t BucketHighest(size_t bucket) {
  if (bucket < 2 * kSubBuckets) return bucket;
  const int shift = static_cast<int>(bucket / kSubBuckets) - 1;
  return BucketLowest(bucket) + (uint64_t{1} << shift) - 1;
}

}  // namespace histogram_internal

using histogram_internal::BucketHighest;
using histogram_internal::BucketOf;
using histogram_internal::kBucketCount;

void HdrHistogram::Record(uint64_t value_ns) {
  value_ns = std::min(value_ns, histogram_internal::kMaxValue);
  ++counts_[BucketOf(value_ns)];
  ++count_;
  sum_ += value_ns;
  min_ = std::min(min_, value_ns);
  max_ = std::max(max_, value_ns);
}

void HdrHistogram::Merge(const HdrHistogram& other) {
  for (size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

uint64_t HdrHistogram::Percentile(double percentile) const {
  if (count_ == 0) return 0;
  const double wanted = std::ceil(percentile / 100.0 * static_cast<double>(count_));
  const uint64_t rank = std::clamp<uint64_t>(static_cast<uint64_t>(wanted), 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(BucketHighest(i), max_);
  }
  return max_;
}

void AtomicHdrHistogram::Record(uint64_t value_ns) {
  value_ns = std::min(value_ns, histogram_internal::kMaxValue);
  counts_[BucketOf(value_ns)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value_ns, std::memory_order_relaxed);
  uint64_t seen = max_.load(std::memory_order_relaxed);
  while (value_ns > seen &&
         !max_.compare_exchange_weak(seen, value_ns, std::memory_order_relaxed)) {
  }
  seen = min_.load(std::memory_order_relaxed);
  while (value_ns < seen &&
         !min_.compare_exchange_weak(seen, value_ns, std::memory_order_relaxed)) {
  }
}

HdrHistogram AtomicHdrHistogram::Snapshot() const {
  HdrHistogram h;
  for (size_t i = 0; i < kBucketCount; ++i) {
    h.counts_[i] = counts_[i].load(std::memory_order_relaxed);
    h.count_ += h.counts_[i];
  }
  h.sum_ = sum_.load(std::memory_order_relaxed);
  h.min_ = min_.load(std::memory_order_relaxed);
  h.max_ = max_.load(std::memory_order_relaxed);
  return h;
}

}  // namespace ccr::load
