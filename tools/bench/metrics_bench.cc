// metrics_bench: what metrics cost the routing strand.
//
//  - Hot path, per event: LatencyHistogram::Observe (ours: two relaxed atomic
//    adds) against prometheus::Histogram::Observe (prometheus-cpp 1.0: a
//    mutex per call) and prometheus::Counter::Increment, each on one thread,
//    then RouterMetrics::OnEvent for the events of one answered contact.
//  - Serializing one scrape's families: prometheus-cpp's TextSerializer
//    against ours (metrics/text_format.h), on the same families.
//  - Scrape: MetricsRegistry::Exposition() with the embedded default config,
//    A agents logged in and Q contacts waiting; and the part of it that runs
//    on the routing strand (CollectOnStrand: copying the router's figures),
//    which is how long one Prometheus scrape holds routing up.
//
//   metrics_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codec/config_loader.h"
#include "metrics/histogram.h"
#include "metrics/registry.h"
#include "metrics/router_metrics.h"
#include "metrics/text_format.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "router/router.h"

namespace ccr::metrics {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

void BM_LatencyHistogramObserve(benchmark::State& state) {
  LatencyHistogram h(WaitBuckets());
  double v = 0;
  for (auto _ : state) {
    h.Observe(v);
    v = v < 100 ? v + 0.37 : 0;
  }
  benchmark::DoNotOptimize(h.count());
}
BENCHMARK(BM_LatencyHistogramObserve);

void BM_PrometheusCppHistogramObserve(benchmark::State& state) {
  prometheus::Registry registry;
  std::vector<double> bounds = WaitBuckets();
  prometheus::Histogram& h =
      prometheus::BuildHistogram().Name("h").Help("h").Register(registry).Add({}, bounds);
  double v = 0;
  for (auto _ : state) {
    h.Observe(v);
    v = v < 100 ? v + 0.37 : 0;
  }
}
BENCHMARK(BM_PrometheusCppHistogramObserve);

void BM_PrometheusCppCounterIncrement(benchmark::State& state) {
  prometheus::Registry registry;
  prometheus::Counter& c =
      prometheus::BuildCounter().Name("c_total").Help("c").Register(registry).Add({});
  for (auto _ : state) c.Increment();
  benchmark::DoNotOptimize(c.Value());
}
BENCHMARK(BM_PrometheusCppCounterIncrement);

// The events one answered voice contact produces: queued, offered, assigned,
// completed, wrap-up done.
void BM_RouterMetricsOnAnsweredContact(benchmark::State& state) {
  RouterConfig config = LoadRouterConfig(DefaultConfigYaml()).value();
  MetricsRegistry registry("bench");
  RouterMetrics metrics(registry);
  metrics.Configure(config);
  std::vector<Event> events;
  for (EventKind kind : {EventKind::kQueued, EventKind::kOffered, EventKind::kAssigned,
                         EventKind::kCompleted, EventKind::kWrapUpDone}) {
    Event e;
    e.kind = kind;
    e.time = kT0;
    e.queue = "voice_general";
    e.channel = Channel::kVoice;
    e.tier = Tier::kGold;
    e.wait = absl::Seconds(12);
    e.outcome.resolved = true;
    events.push_back(e);
  }
  for (auto _ : state) {
    for (Event& e : events) {
      metrics.OnEvent(e);
      e.time += absl::Milliseconds(1);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(events.size()));
}
BENCHMARK(BM_RouterMetricsOnAnsweredContact);

// The families of one scrape (every series the embedded config creates),
// written by prometheus-cpp's TextSerializer and by ours.
void BM_SerializeWith(benchmark::State& state, bool ours) {
  RouterConfig config = LoadRouterConfig(DefaultConfigYaml()).value();
  MetricsRegistry registry("bench");
  RouterMetrics metrics(registry);
  metrics.Configure(config);
  std::unique_ptr<Router> router = Router::Create(config).value();
  registry.AddScrapeSource([&] { return metrics.Scrape(*router, kT0); });
  const std::vector<prometheus::MetricFamily> families = registry.Collect();
  size_t series = 0;
  for (const auto& f : families) series += f.metric.size();
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = ours ? SerializeText(families).size()
                 : prometheus::TextSerializer().Serialize(families).size();
  }
  state.counters["series"] = static_cast<double>(series);
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK_CAPTURE(BM_SerializeWith, prometheus_cpp, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_SerializeWith, ours, true)->Unit(benchmark::kMicrosecond);

// A router on the embedded config with `agents` logged in and `queued`
// contacts waiting, observed by `metrics`, which scrape as ccrouterd's do.
struct ScrapeFixture {
  ScrapeFixture(int agents, int queued);

  RouterConfig config = LoadRouterConfig(DefaultConfigYaml()).value();
  std::unique_ptr<Router> router = Router::Create(config).value();
  MetricsRegistry registry{"bench"};
  RouterMetrics metrics{registry};
  absl::Time now = kT0;
};

ScrapeFixture::ScrapeFixture(int agents, int queued) {
  metrics.Configure(config);
  router->SetObserver(&metrics);
  // Agents who serve email only, and voice contacts they cannot take, so
  // both stay as built.
  for (int i = 0; i < agents; ++i) {
    AgentSpec a;
    a.agent_id = absl::StrCat("agent-", i);
    a.skills = {{"general", 5}};
    a.languages = {"en"};
    a.capacities = {{Channel::kEmail, 5}};
    (void)router->Login(a, now);
  }
  for (int i = 0; i < queued; ++i) {
    ContactSpec c;
    c.idempotency_key = absl::StrCat("k", i);
    c.queue = i % 2 ? "voice_general" : "voice_billing";
    c.customer_id = absl::StrCat("cust-", i);
    (void)router->Submit(c, now);
  }
  router->TakeEvents();
  registry.AddStrandScrapeSource([this] { return metrics.CopyFigures(*router, now); });
}

// One whole scrape (figures and text) with args (agents, queued contacts).
void BM_Scrape(benchmark::State& state) {
  ScrapeFixture f(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  size_t bytes = 0;
  for (auto _ : state) bytes = f.registry.Exposition().size();
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Scrape)
    ->Args({100, 1000})
    ->Args({1000, 10000})
    ->Args({10000, 100000})
    ->Unit(benchmark::kMicrosecond);

// The part of a scrape ccrouterd runs on the routing strand (the rest runs
// on its HTTP thread): how long one scrape holds routing up.
void BM_ScrapeStrandPart(benchmark::State& state) {
  ScrapeFixture f(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  size_t sources = 0;
  for (auto _ : state) sources = f.registry.CollectOnStrand().size();
  state.counters["sources"] = static_cast<double>(sources);
}
BENCHMARK(BM_ScrapeStrandPart)
    ->Args({100, 1000})
    ->Args({10000, 100000})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ccr::metrics

BENCHMARK_MAIN();
