// RouterMetrics: the router's events as Prometheus metrics. It implements
// RouterObserver, so the router stays free of prometheus-cpp; the engine
// sets it as the router's observer after journal replay.
//
//   MetricsRegistry registry("0.1.0");
//   RouterMetrics metrics(registry);
//   metrics.Configure(router->config());   // again after every reload
//   router->SetObserver(&metrics);
//   registry.AddStrandScrapeSource([&] { return metrics.CopyFigures(*router, absl::Now()); });
//
// OnEvent costs a hash lookup of the queue name and a few relaxed atomic
// increments: no lock, no allocation once a queue's series exist (the
// first event of a new queue creates them). CopyFigures() copies the
// router's live figures (depth, oldest wait, agents by state) when
// Prometheus asks; the families are built from the copy off the strand.
//
// REQUIRES: OnEvent, Configure, CopyFigures and Scrape on the router's thread
// (the routing strand); the counters, and what CopyFigures returns, may be
// used from any thread.
#ifndef CCROUTER_METRICS_ROUTER_METRICS_H_
#define CCROUTER_METRICS_ROUTER_METRICS_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "metrics/histogram.h"
#include "metrics/registry.h"
#include "metrics/service_level_window.h"
#include "prometheus/counter.h"
#include "router/observer.h"
#include "router/router.h"

namespace ccr::metrics {

struct RouterMetricsOptions {
  // The sliding window of ccr_queue_service_level_ratio, in equal slices.
  absl::Duration service_level_window = absl::Minutes(15);
  int service_level_slices = 60;
};

class RouterMetrics final : public RouterObserver {
 public:
  explicit RouterMetrics(MetricsRegistry& registry, RouterMetricsOptions options = {});
  ~RouterMetrics() override;

  // The queues' targets and thresholds (answer target, short abandon).
  void Configure(const RouterConfig& config);
  void OnEvent(const Event& e) override;

  // The windowed service level of `queue` (nullopt: nothing counted in the
  // window, or an unknown queue) and the window's length.
  std::optional<double> ServiceLevel(const std::string& queue, absl::Time now) const;
  absl::Duration service_level_window() const { return options_.service_level_window; }

  // The router's live figures, copied: what the queue and agent gauges are
  // built from.
  struct Figures {
    std::vector<QueueStats> queues;
    std::vector<double> service_level;  // by queue; NaN: nothing counted in the window
    double service_level_window_seconds = 0;
    AgentTally agents;
  };
  Figures Copy(const Router& router, absl::Time now) const;
  // The queue and agent gauges of `figures`. Any thread.
  static std::vector<prometheus::MetricFamily> Families(const Figures& figures);
  // Copy() now, Families() when the returned source runs.
  ScrapeSource CopyFigures(const Router& router, absl::Time now) const;
  // Families(Copy(router, now)).
  std::vector<prometheus::MetricFamily> Scrape(const Router& router, absl::Time now) const;

 private:
  struct QueueSeries;
  QueueSeries& Series(const std::string& queue);

  MetricsRegistry& registry_;
  const RouterMetricsOptions options_;
  RouterConfig config_;
  absl::flat_hash_map<std::string, std::unique_ptr<QueueSeries>> queues_;
  // [channel][outcome]: made, accepted, rejected, timed_out, withdrawn.
  std::array<std::array<prometheus::Counter*, 5>, kChannelCount> offers_{};
  std::array<prometheus::Counter*, 2> follow_ups_{};  // follow_up, survey
  std::vector<prometheus::Counter*> events_by_kind_;
};

}  // namespace ccr::metrics

#endif  // CCROUTER_METRICS_ROUTER_METRICS_H_
