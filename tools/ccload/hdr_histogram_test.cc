#include "tools/ccload/hdr_histogram.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ccr::load {
namespace {

using histogram_internal::BucketHighest;
using histogram_internal::BucketLowest;
using histogram_internal::BucketOf;
using histogram_internal::kBucketCount;
using histogram_internal::kMaxValue;

// The model: the exact nearest-rank percentile of a sorted array.
uint64_t ExactPercentile(std::vector<uint64_t> values, double percentile) {
  std::sort(values.begin(), values.end());
  const double wanted = std::ceil(percentile / 100.0 * values.size());
  const size_t rank = std::clamp<size_t>(static_cast<size_t>(wanted), 1, values.size());
  return values[rank - 1];
}

TEST(HdrHistogramBucketsTest, EveryValueFallsInsideItsBucketAndBucketsTile) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 200000; ++i) {
    const uint64_t v = rng() >> (rng() % 64);
    const uint64_t clamped = std::min(v, kMaxValue);
    const size_t b = BucketOf(v);
    ASSERT_LT(b, kBucketCount) << v;
    EXPECT_LE(BucketLowest(b), clamped) << v;
    EXPECT_GE(BucketHighest(b), clamped) << v;
  }
  for (size_t b = 0; b + 1 < kBucketCount; ++b) {
    ASSERT_EQ(BucketHighest(b) + 1, BucketLowest(b + 1)) << b;
  }
  EXPECT_EQ(BucketHighest(kBucketCount - 1), kMaxValue);
}

TEST(HdrHistogramTest, EmptyReportsZero) {
  HdrHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(50), 0u);
  EXPECT_EQ(h.Percentile(100), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
}

TEST(HdrHistogramTest, SmallValuesAreExact) {
  HdrHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(50), 50u);
  EXPECT_EQ(h.Percentile(99), 99u);
  EXPECT_EQ(h.Percentile(100), 100u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

// Against the sorted-array model on random data of several shapes: never
// below the exact percentile, at most 1/128 above it, never above the max.
TEST(HdrHistogramTest, PercentilesMatchSortedModelWithinOneBucket) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> lognormal(std::log(200'000.0), 1.2);  // ~200 µs median
  std::exponential_distribution<double> exponential(1 / 50'000.0);
  std::uniform_int_distribution<uint64_t> uniform(0, 5'000'000'000);
  for (int shape = 0; shape < 3; ++shape) {
    for (int size : {1, 7, 1000, 100000}) {
      std::vector<uint64_t> values;
      HdrHistogram h;
      for (int i = 0; i < size; ++i) {
        const double d = shape == 0 ? lognormal(rng) : shape == 1 ? exponential(rng) : uniform(rng);
        const uint64_t v = static_cast<uint64_t>(d);
        values.push_back(v);
        h.Record(v);
      }
      ASSERT_EQ(h.count(), values.size());
      EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
      for (double p : {0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
        const uint64_t exact = ExactPercentile(values, p);
        const uint64_t got = h.Percentile(p);
        EXPECT_GE(got, exact) << "shape " << shape << " size " << size << " p" << p;
        EXPECT_LE(got, exact + exact / 128) << "shape " << shape << " size " << size << " p" << p;
      }
    }
  }
}

TEST(HdrHistogramTest, HugeValuesClampIntoTheLastBucket) {
  HdrHistogram h;
  h.Record(UINT64_MAX);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.max(), kMaxValue);
  EXPECT_EQ(h.Percentile(50), kMaxValue);
}

TEST(HdrHistogramTest, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 rng(3);
  HdrHistogram a, b, all;
  for (int i = 0; i < 10000; ++i) {
    const uint64_t v = rng() % 10'000'000;
    (i % 3 == 0 ? a : b).Record(v);
    all.Record(v);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.min(), all.min());
  for (double p : {50.0, 90.0, 99.0, 99.9}) EXPECT_EQ(a.Percentile(p), all.Percentile(p)) << p;
}

TEST(AtomicHdrHistogramTest, ConcurrentRecordsAllArrive) {
  AtomicHdrHistogram atomic;
  HdrHistogram model;
  std::vector<std::vector<uint64_t>> per_thread(4);
  std::mt19937_64 rng(9);
  for (auto& values : per_thread) {
    for (int i = 0; i < 20000; ++i) values.push_back(rng() % 1'000'000'000);
    for (uint64_t v : values) model.Record(v);
  }
  std::vector<std::thread> threads;
  for (const auto& values : per_thread) {
    threads.emplace_back([&atomic, &values] {
      for (uint64_t v : values) atomic.Record(v);
    });
  }
  for (auto& t : threads) t.join();
  const HdrHistogram snapshot = atomic.Snapshot();
  EXPECT_EQ(snapshot.count(), model.count());
  EXPECT_EQ(snapshot.max(), model.max());
  EXPECT_EQ(snapshot.min(), model.min());
  EXPECT_DOUBLE_EQ(snapshot.mean(), model.mean());
  for (double p : {50.0, 99.0, 99.9}) EXPECT_EQ(snapshot.Percentile(p), model.Percentile(p)) << p;
}

}  // namespace
}  // namespace ccr::load
