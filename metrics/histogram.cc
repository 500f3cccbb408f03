#include "metrics/histogram.h"

#include <algorithm>

#include "metrics/registry.h"

namespace ccr::metrics {

LatencyHistogram::LatencyHistogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void LatencyHistogram::Observe(double value) {
  const size_t bucket =
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();  // le: inclusive
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

uint64_t LatencyHistogram::count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) n += counts_[i].load(std::memory_order_relaxed);
  return n;
}

prometheus::ClientMetric::Histogram LatencyHistogram::Snapshot() const {
  prometheus::ClientMetric::Histogram h;
  uint64_t cumulative = 0;
  h.bucket.reserve(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    h.bucket.push_back(
        {cumulative, i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity()});
  }
  h.sample_count = cumulative;
  h.sample_sum = sum_.load(std::memory_order_relaxed);
  return h;
}

HistogramFamily::HistogramFamily(const MetricDef& def, std::vector<double> upper_bounds)
    : def_(def), bounds_(std::move(upper_bounds)) {}

LatencyHistogram& HistogramFamily::Add(const std::vector<std::string>& label_values) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<LatencyHistogram>& h = histograms_[label_values];
  if (!h) h = std::make_unique<LatencyHistogram>(bounds_);
  return *h;
}

std::vector<prometheus::MetricFamily> HistogramFamily::Collect() const {
  prometheus::MetricFamily family;
  family.name = std::string(def_.name);
  family.help = std::string(def_.help);
  family.type = prometheus::MetricType::Histogram;
  absl::MutexLock lock(&mu_);
  for (const auto& [values, h] : histograms_) {
    prometheus::ClientMetric& m = family.metric.emplace_back();
    for (const auto& [name, value] : LabelsOf(def_, values)) m.label.push_back({name, value});
    m.histogram = h->Snapshot();
  }
  return {std::move(family)};
}

std::vector<double> MicrosecondBuckets() {
  return {1e-6,   2e-6,   5e-6, 10e-6, 20e-6, 50e-6, 100e-6,
          200e-6, 500e-6, 1e-3, 2e-3,  5e-3,  10e-3, 50e-3};
}

std::vector<double> MillisecondBuckets() {
  return {100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3,
          50e-3,  100e-3, 250e-3, 0.5,  1,      2.5,  10};
}

std::vector<double> WaitBuckets() {
  return {1,   2,   5,   10,  15,   20,   30,   45,    60,    90,    120,  180,
          240, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400};
}

std::vector<double> CountBuckets() {
  std::vector<double> b;
  for (double v = 1; v <= 32768; v *= 2) b.push_back(v);
  return b;
}

}  // namespace ccr::metrics
