// MetricsRegistry: the one Prometheus registry of a ccrouterd process and
// its text exposition. Families are created from catalogue definitions only
// (metrics/catalogue.h); scrape sources add families computed when
// Prometheus asks (queue depth, agents by state), so live figures are never
// stale and removed queues disappear.
//
//   MetricsRegistry registry("0.1.0");
//   prometheus::Counter& c = registry.Counters(kOffers).Add({{"channel", "voice"}, ...});
//   LatencyHistogram& h = registry.Histograms(kJournalFsync, MillisecondBuckets()).Add({});
//   registry.AddScrapeSource([&] { return ...; });
//   std::string text = registry.Exposition();   // what /metrics serves
//
// Thread-safe. Scrape sources run on the thread calling Collect(); a source
// that reads state one thread owns (the live router) is a strand source: its
// owner runs it (CollectOnStrand) to copy the few figures it needs, and the
// families are built from the copy on any thread. ccrouterd runs only
// CollectOnStrand() on the routing strand; its HTTP thread collects the
// counters and histograms, builds the families and serializes them.
//
//   registry.AddStrandScrapeSource([&] {     // on the strand
//     Figures f = CopyFigures(router);
//     return [f] { return FamiliesOf(f); };  // anywhere
//   });
//   StrandFigures figures = registry.CollectOnStrand();      // on the strand
//   std::string text = SerializeText(registry.Collect(std::move(figures)));
#ifndef CCROUTER_METRICS_REGISTRY_H_
#define CCROUTER_METRICS_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "metrics/catalogue.h"
#include "metrics/histogram.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace ccr::metrics {

using ScrapeSource = std::function<std::vector<prometheus::MetricFamily>()>;
// Runs on the thread that owns what it reads; returns a ScrapeSource that
// owns a copy of the figures and builds the families from it anywhere.
using StrandScrapeSource = std::function<ScrapeSource()>;
// What the strand sources copied, for one Collect().
using StrandFigures = std::vector<ScrapeSource>;

class MetricsRegistry {
 public:
  // `version` labels ccr_build_info.
  explicit MetricsRegistry(const std::string& version);

  prometheus::Family<prometheus::Counter>& Counters(const MetricDef& def);
  prometheus::Family<prometheus::Gauge>& Gauges(const MetricDef& def);
  // Repeated calls for one definition return the same family (the bounds of
  // the first call stay).
  HistogramFamily& Histograms(const MetricDef& def, std::vector<double> upper_bounds);
  // A metric of `def` with the label values in the order def.labels names them.
  prometheus::Counter& Counter(const MetricDef& def, const std::vector<std::string>& values = {});
  prometheus::Gauge& Gauge(const MetricDef& def, const std::vector<std::string>& values = {});

  // A source that may run on any thread.
  void AddScrapeSource(ScrapeSource source);
  void AddStrandScrapeSource(StrandScrapeSource source);
  // REQUIRES: on the thread the strand sources read from.
  StrandFigures CollectOnStrand() const;
  // Every family, sorted by name: the counters, histograms and scrape
  // sources, and the families of `figures`. Any thread.
  std::vector<prometheus::MetricFamily> Collect(StrandFigures figures) const;
  // Collect(CollectOnStrand()), all on the calling thread.
  std::vector<prometheus::MetricFamily> Collect() const;
  // Collect(), in the Prometheus text format (version 0.0.4).
  std::string Exposition() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<HistogramFamily>, std::less<>> histograms_
      ABSL_GUARDED_BY(mu_);
  std::vector<ScrapeSource> sources_ ABSL_GUARDED_BY(mu_);
  std::vector<StrandScrapeSource> strand_sources_ ABSL_GUARDED_BY(mu_);
};

// Labels from a definition's names and these values.
prometheus::Labels LabelsOf(const MetricDef& def, const std::vector<std::string>& values);

// One family of gauges computed at scrape time.
//   ScrapedGauges depth(kQueueDepth);
//   depth.Add({"voice_general", "voice"}, 3);
//   families.push_back(depth.Take());
class ScrapedGauges {
 public:
  explicit ScrapedGauges(const MetricDef& def);
  // Label values in the order def.labels names them.
  void Add(const std::vector<std::string>& label_values, double value);
  prometheus::MetricFamily Take() { return std::move(family_); }

 private:
  const MetricDef& def_;
  prometheus::MetricFamily family_;
};

}  // namespace ccr::metrics

#endif  // CCROUTER_METRICS_REGISTRY_H_
