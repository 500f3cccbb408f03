// LatencyHistogram: a Prometheus histogram whose Observe() takes no lock:
// one relaxed atomic increment for the bucket and one for the sum. (The
// prometheus::Histogram of prometheus-cpp 1.0 takes a mutex per Observe.)
// HistogramFamily exports a set of them, one per label set, to a
// prometheus::Registry as a Collectable.
//
//   HistogramFamily& waits = registry.Histograms(kQueueWait, WaitBuckets());
//   LatencyHistogram& voice = waits.Add({"voice_general", "voice"});  // once; keep the reference
//   voice.Observe(12.5);                                             // hot path
//
// Thread-safe: Observe from any thread; Add and Collect take the family's
// mutex (Add only when a new label set first appears).
#ifndef CCROUTER_METRICS_HISTOGRAM_H_
#define CCROUTER_METRICS_HISTOGRAM_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "metrics/catalogue.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace ccr::metrics {

class LatencyHistogram {
 public:
  // `upper_bounds` ascending; +Inf is implicit.
  explicit LatencyHistogram(std::vector<double> upper_bounds);
  void Observe(double value);
  // Cumulative buckets; the count is the +Inf bucket, so they always agree.
  prometheus::ClientMetric::Histogram Snapshot() const;
  uint64_t count() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1 (+Inf)
  std::atomic<double> sum_{0};
};

class HistogramFamily final : public prometheus::Collectable {
 public:
  // MetricsRegistry::Histograms creates these and exports them.
  HistogramFamily(const MetricDef& def, std::vector<double> upper_bounds);
  // The histogram for these label values (in the order def.labels names
  // them), created on first use. The reference stays valid for the family's life.
  LatencyHistogram& Add(const std::vector<std::string>& label_values);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const MetricDef& def_;
  const std::vector<double> bounds_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<LatencyHistogram>> histograms_
      ABSL_GUARDED_BY(mu_);
};

// Bucket layouts.
// 1 µs … 50 ms, for work on the routing strand.
std::vector<double> MicrosecondBuckets();
// 100 µs … 10 s, for fsyncs, commits and RPCs.
std::vector<double> MillisecondBuckets();
// 1 s … 24 h, around the SLA targets (voice 20 s, chat 180 s, emergency 15 min, email 24 h).
std::vector<double> WaitBuckets();
// Powers of two, 1 … 32768, for batch sizes.
std::vector<double> CountBuckets();

}  // namespace ccr::metrics

#endif  // CCROUTER_METRICS_HISTOGRAM_H_
