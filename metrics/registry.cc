#include "metrics/registry.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "metrics/text_format.h"

namespace ccr::metrics {

prometheus::Labels LabelsOf(const MetricDef& def, const std::vector<std::string>& values) {
  const std::vector<std::string> names = def.LabelNames();
  prometheus::Labels labels;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) labels[names[i]] = values[i];
  return labels;
}

MetricsRegistry::MetricsRegistry(const std::string& version)
    : registry_(std::make_shared<prometheus::Registry>()) {
  Gauge(kBuildInfo, {version}).Set(1);
  Gauge(kStartTime).Set(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
}

prometheus::Family<prometheus::Counter>& MetricsRegistry::Counters(const MetricDef& def) {
  return prometheus::BuildCounter()
      .Name(std::string(def.name))
      .Help(std::string(def.help))
      .Register(*registry_);
}

prometheus::Family<prometheus::Gauge>& MetricsRegistry::Gauges(const MetricDef& def) {
  return prometheus::BuildGauge()
      .Name(std::string(def.name))
      .Help(std::string(def.help))
      .Register(*registry_);
}

HistogramFamily& MetricsRegistry::Histograms(const MetricDef& def,
                                             std::vector<double> upper_bounds) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<HistogramFamily>& f = histograms_[std::string(def.name)];
  if (!f) f = std::make_unique<HistogramFamily>(def, std::move(upper_bounds));
  return *f;
}

prometheus::Counter& MetricsRegistry::Counter(const MetricDef& def,
                                              const std::vector<std::string>& values) {
  return Counters(def).Add(LabelsOf(def, values));
}

prometheus::Gauge& MetricsRegistry::Gauge(const MetricDef& def,
                                          const std::vector<std::string>& values) {
  return Gauges(def).Add(LabelsOf(def, values));
}

void MetricsRegistry::AddScrapeSource(ScrapeSource source) {
  absl::MutexLock lock(&mu_);
  sources_.push_back(std::move(source));
}

void MetricsRegistry::AddStrandScrapeSource(StrandScrapeSource source) {
  absl::MutexLock lock(&mu_);
  strand_sources_.push_back(std::move(source));
}

std::string MetricsRegistry::Exposition() const { return SerializeText(Collect()); }

StrandFigures MetricsRegistry::CollectOnStrand() const {
  std::vector<StrandScrapeSource> sources;
  {
    absl::MutexLock lock(&mu_);
    sources = strand_sources_;
  }
  StrandFigures figures;
  figures.reserve(sources.size());
  for (const StrandScrapeSource& source : sources) figures.push_back(source());
  return figures;
}

std::vector<prometheus::MetricFamily> MetricsRegistry::Collect() const {
  return Collect(CollectOnStrand());
}

std::vector<prometheus::MetricFamily> MetricsRegistry::Collect(StrandFigures figures) const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::vector<ScrapeSource> sources;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, f] : histograms_) {
      std::vector<prometheus::MetricFamily> collected = f->Collect();
      for (auto& c : collected) families.push_back(std::move(c));
    }
    sources = sources_;
  }
  for (const ScrapeSource& source : sources) {
    for (prometheus::MetricFamily& f : source()) families.push_back(std::move(f));
  }
  for (const ScrapeSource& built : figures) {
    for (prometheus::MetricFamily& f : built()) families.push_back(std::move(f));
  }
  std::sort(families.begin(), families.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return families;
}

ScrapedGauges::ScrapedGauges(const MetricDef& def) : def_(def) {
  family_.name = std::string(def.name);
  family_.help = std::string(def.help);
  family_.type = prometheus::MetricType::Gauge;
}

void ScrapedGauges::Add(const std::vector<std::string>& label_values, double value) {
  prometheus::ClientMetric& m = family_.metric.emplace_back();
  for (const auto& [name, v] : LabelsOf(def_, label_values)) m.label.push_back({name, v});
  m.gauge.value = value;
}

}  // namespace ccr::metrics
