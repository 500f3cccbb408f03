// Tests of the metrics layer: the service-level window against hand-computed
// cases, the lock-free histogram's buckets, the catalogue's naming rules,
// and RouterMetrics driven by the real router (counts, labels, exposition).
#include <cmath>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "metrics/catalogue.h"
#include "metrics/histogram.h"
#include "metrics/registry.h"
#include "metrics/router_metrics.h"
#include "metrics/service_level_window.h"
#include "metrics/text_format.h"
#include "prometheus/text_serializer.h"
#include "router/router.h"

namespace ccr::metrics {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);  // a multiple of 15 s
absl::Time At(double seconds) { return kT0 + absl::Seconds(seconds); }

// ---- ServiceLevelWindow ----

TEST(ServiceLevelWindow, EmptyWindowHasNoRatio) {
  ServiceLevelWindow w(absl::Minutes(15), 60);
  EXPECT_FALSE(w.Ratio(kT0).has_value());
  w.Abandoned(kT0, /*after_short_threshold=*/false);  // a short abandon counts on neither side
  EXPECT_FALSE(w.Ratio(kT0).has_value());
}

TEST(ServiceLevelWindow, RatioIsWithinTargetOverAnsweredPlusLongAbandons) {
  ServiceLevelWindow w(absl::Minutes(15), 60);
  // 8 answered, 6 of them within target; 2 long abandons, 3 short ones.
  for (int i = 0; i < 6; ++i) w.Answered(At(i), true);
  for (int i = 0; i < 2; ++i) w.Answered(At(10 + i), false);
  for (int i = 0; i < 2; ++i) w.Abandoned(At(20 + i), true);
  for (int i = 0; i < 3; ++i) w.Abandoned(At(30 + i), false);
  // 6 / (8 + 2) = 0.6; short abandons change nothing.
  ASSERT_TRUE(w.Ratio(At(40)).has_value());
  EXPECT_DOUBLE_EQ(*w.Ratio(At(40)), 0.6);
  const ServiceLevelWindow::Counts c = w.Totals(At(40));
  EXPECT_EQ(c.answered, 8u);
  EXPECT_EQ(c.answered_within_target, 6u);
  EXPECT_EQ(c.abandoned_counted, 2u);
}

TEST(ServiceLevelWindow, OldSlicesLeaveTheWindow) {
  // 4 slices of 10 s: the window at time t covers the slices of
  // [floor(t/10)-3, floor(t/10)], i.e. (t - 40 s, t] rounded to slices.
  ServiceLevelWindow w(absl::Seconds(40), 4);
  EXPECT_EQ(w.window(), absl::Seconds(40));
  w.Answered(At(0), true);     // slice 0
  w.Answered(At(15), false);   // slice 1
  w.Answered(At(39.9), true);  // slice 3
  EXPECT_DOUBLE_EQ(*w.Ratio(At(39.9)), 2.0 / 3);
  // At 40 s slice 0 has left: 1 within of 2.
  EXPECT_DOUBLE_EQ(*w.Ratio(At(40)), 0.5);
  // At 50 s slice 1 has left too: 1 of 1.
  EXPECT_DOUBLE_EQ(*w.Ratio(At(50)), 1.0);
  // At 70 s all have left, though nothing new was recorded.
  EXPECT_FALSE(w.Ratio(At(70)).has_value());
}

TEST(ServiceLevelWindow, ASliceReusedAfterAWholeWindowStartsFromZero) {
  ServiceLevelWindow w(absl::Seconds(40), 4);
  for (int i = 0; i < 5; ++i) w.Answered(At(1), false);  // slice 0 (ring slot 0)
  w.Answered(At(41), true);                              // slice 4: same ring slot
  const ServiceLevelWindow::Counts c = w.Totals(At(41));
  EXPECT_EQ(c.answered, 1u);  // the 5 misses of slice 0 were cleared, not added
  EXPECT_DOUBLE_EQ(*w.Ratio(At(41)), 1.0);
}

// ---- LatencyHistogram ----

TEST(LatencyHistogram, BucketsAreCumulativeAndInclusive) {
  LatencyHistogram h({1, 5, 10});
  for (double v : {0.5, 1.0, 1.5, 5.0, 7.0, 11.0}) h.Observe(v);
  const prometheus::ClientMetric::Histogram s = h.Snapshot();
  ASSERT_EQ(s.bucket.size(), 4u);
  EXPECT_EQ(s.bucket[0].cumulative_count, 2u);  // le 1: 0.5, 1.0
  EXPECT_EQ(s.bucket[1].cumulative_count, 4u);  // le 5: + 1.5, 5.0
  EXPECT_EQ(s.bucket[2].cumulative_count, 5u);  // le 10: + 7.0
  EXPECT_EQ(s.bucket[3].cumulative_count, 6u);  // +Inf
  EXPECT_TRUE(std::isinf(s.bucket[3].upper_bound));
  EXPECT_EQ(s.sample_count, 6u);
  EXPECT_DOUBLE_EQ(s.sample_sum, 26.0);
}

TEST(LatencyHistogram, WaitBucketsSpanTheTargetsFrom5sTo24h) {
  const std::vector<double> b = WaitBuckets();
  for (double target : {5.0, 20.0, 60.0, 180.0, 900.0, 7200.0, 86400.0}) {
    EXPECT_NE(std::find(b.begin(), b.end(), target), b.end()) << target;
  }
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
}

// ---- the catalogue ----

TEST(Catalogue, NamesFollowPrometheusConventionsAndCarryNoIds) {
  const std::regex name_re("ccr_[a-z0-9_]+");
  std::set<std::string> names;
  for (const MetricDef* def : Catalogue()) {
    const std::string name(def->name);
    EXPECT_TRUE(std::regex_match(name, name_re)) << name;
    EXPECT_TRUE(names.insert(name).second) << "defined twice: " << name;
    EXPECT_FALSE(def->help.empty()) << name;
    EXPECT_EQ(def->type == MetricType::Counter, absl::EndsWith(name, "_total")) << name;
    for (const std::string& label : def->LabelNames()) {
      for (absl::string_view id : {"contact", "customer", "agent", "phone", "id"}) {
        EXPECT_FALSE(absl::StrContains(label, id)) << name << " has label " << label;
      }
    }
    if (absl::StrContains(name, "seconds")) {
      EXPECT_TRUE(absl::EndsWith(name, "_seconds") || absl::EndsWith(name, "_seconds_total"))
          << name << ": the unit ends the name";
    }
  }
  EXPECT_GE(names.size(), 40u);
}

// ---- the text format ----

// Each sample line as series -> value, so two writers can be compared
// whatever their number formatting ("Nan" vs "NaN", "1e-06" vs "1e-6").
std::map<std::string, double> ParseSamples(const std::string& text,
                                           std::vector<std::string>* comments) {
  std::map<std::string, double> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#")) {
      comments->emplace_back(line);
      continue;
    }
    const size_t space = line.rfind(' ');
    const std::string value(line.substr(space + 1));
    double v = 0;
    if (value == "Nan" || value == "NaN") {
      v = -12345.678;  // a stand-in NaN that compares equal
    } else {
      EXPECT_TRUE(absl::SimpleAtod(value, &v)) << line;
    }
    std::string series(line.substr(0, space));
    // le="1e-06" and le="0.000001" are the same bound.
    static const std::regex le_re("le=\"([^\"]+)\"");
    std::smatch m;
    if (std::regex_search(series, m, le_re)) {
      double bound = 0;
      EXPECT_TRUE(absl::SimpleAtod(m[1].str(), &bound)) << line;
      series = absl::StrCat(m.prefix().str(), "le=", bound, m.suffix().str());
    }
    EXPECT_TRUE(out.emplace(series, v).second) << "twice: " << series;
  }
  return out;
}

TEST(TextFormat, SameSamplesAsPrometheusCppsSerializer) {
  std::vector<prometheus::MetricFamily> families(3);
  families[0] = {"c_total", "counts", prometheus::MetricType::Counter, {}};
  families[0].metric.resize(2);
  families[0].metric[0].label = {{"queue", "q\"uoted\\back\nline"}, {"tier", "vip"}};
  families[0].metric[0].counter.value = 12345678901;
  families[0].metric[1].counter.value = 0.5;
  families[1] = {"g", "gauges", prometheus::MetricType::Gauge, {}};
  families[1].metric.resize(4);
  families[1].metric[0].gauge.value = std::nan("");
  families[1].metric[0].label = {{"k", "nan"}};
  families[1].metric[1].gauge.value = -std::numeric_limits<double>::infinity();
  families[1].metric[1].label = {{"k", "ninf"}};
  families[1].metric[2].gauge.value = 1.0 / 3;
  families[1].metric[2].label = {{"k", "third"}};
  families[1].metric[3].gauge.value = 1e-7;
  families[1].metric[3].label = {{"k", "tiny"}};
  LatencyHistogram h(MicrosecondBuckets());
  for (double v : {3e-6, 0.0004, 2.0}) h.Observe(v);
  families[2] = {"h_seconds", "a histogram", prometheus::MetricType::Histogram, {}};
  families[2].metric.resize(1);
  families[2].metric[0].label = {{"command", "submit"}};
  families[2].metric[0].histogram = h.Snapshot();

  const std::string ours = SerializeText(families);
  const std::string theirs = prometheus::TextSerializer().Serialize(families);
  std::vector<std::string> our_comments, their_comments;
  const std::map<std::string, double> a = ParseSamples(ours, &our_comments);
  const std::map<std::string, double> b = ParseSamples(theirs, &their_comments);
  EXPECT_EQ(a, b) << "ours:\n" << ours << "\nprometheus-cpp:\n" << theirs;
  EXPECT_EQ(our_comments, their_comments);
  EXPECT_EQ(a.size(), 2u + 4u + 2u + 15u);
  // Exact where the formats agree byte for byte.
  EXPECT_TRUE(absl::StrContains(ours,
                                "c_total{queue=\"q\\\"uoted\\\\back\\nline\",tier=\"vip\"} "
                                "12345678901\n"))
      << ours;
  EXPECT_TRUE(absl::StrContains(ours, "g{k=\"third\"} 0.3333333333333333\n")) << ours;
  EXPECT_TRUE(absl::StrContains(ours, "h_seconds_bucket{command=\"submit\",le=\"+Inf\"} 3\n"))
      << ours;
  // Help text escapes backslash and newline as the format requires
  // (prometheus-cpp 1.0 writes them raw).
  families.resize(1);
  families[0].help = "a \\ help\nline";
  EXPECT_TRUE(absl::StartsWith(SerializeText(families), "# HELP c_total a \\\\ help\\nline\n"))
      << SerializeText(families);
}

// ---- RouterMetrics with the real router ----

RouterConfig OneQueueConfig() {
  RouterConfig c;
  for (auto& ch : c.channels) ch.wrap_up = absl::Seconds(5);
  c.channels[static_cast<int>(Channel::kVoice)].exclusive = true;
  QueueConfig voice;
  voice.name = "voice_general";
  voice.channel = Channel::kVoice;
  voice.skills = {{"general", 1}};
  voice.answer_within = absl::Seconds(20);
  voice.short_abandon = absl::Seconds(5);
  c.queues = {voice};
  c.fallback_queue = "voice_general";
  c.follow_ups.survey_enabled = false;
  return c;
}

ContactSpec Call(const std::string& key, Tier tier = Tier::kStandard) {
  ContactSpec s;
  s.idempotency_key = key;
  s.queue = "voice_general";
  s.customer_id = "cust-" + key;
  s.tier = tier;
  return s;
}

AgentSpec Agent(const std::string& id) {
  AgentSpec a;
  a.agent_id = id;
  a.skills = {{"general", 5}};
  a.languages = {"en"};
  a.capacities = {{Channel::kVoice, 1}};
  return a;
}

// The value of one sample line of the exposition, e.g.
// SampleValue(text, "ccr_queue_depth{channel=\"voice\",queue=\"voice_general\"}").
std::optional<double> SampleValue(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double v;
      const std::string value(line.substr(series.size() + 1));
      if (value == "Nan" || value == "NaN") return std::nan("");
      if (absl::SimpleAtod(value, &v)) return v;
    }
  }
  return std::nullopt;
}

class RouterMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_ = Router::Create(OneQueueConfig()).value();
    metrics_.Configure(router_->config());
    router_->SetObserver(&metrics_);
    // As ccrouterd does: the strand copies the figures, families are built later.
    registry_.AddStrandScrapeSource([this] { return metrics_.CopyFigures(*router_, now_); });
  }
  void Drain() { router_->TakeEvents(); }

  MetricsRegistry registry_{"test-1"};
  RouterMetrics metrics_{registry_, {absl::Minutes(15), 60}};
  std::unique_ptr<Router> router_;
  absl::Time now_ = kT0;
};

TEST_F(RouterMetricsTest, CountsALifecycleByQueueChannelAndTier) {
  // c-1 (vip) waits 10 s, answered within 20 s; c-2 waits 30 s, answered late;
  // c-3 abandons after 2 s (short), c-4 after 8 s (counted against).
  ASSERT_TRUE(router_->Submit(Call("k1", Tier::kVip), At(0)).ok());
  ASSERT_TRUE(router_->Submit(Call("k2"), At(0)).ok());
  ASSERT_TRUE(router_->Submit(Call("k3"), At(1)).ok());
  ASSERT_TRUE(router_->Submit(Call("k4"), At(1)).ok());
  ASSERT_TRUE(router_->Abandon(3, At(3)).ok());
  ASSERT_TRUE(router_->Abandon(4, At(9)).ok());
  ASSERT_TRUE(router_->Login(Agent("al"), At(10)).ok());
  std::vector<Event> events = router_->TakeEvents();
  uint64_t offer = 0;
  for (const Event& e : events) {
    if (e.kind == EventKind::kOffered) offer = e.offer_id;
  }
  ASSERT_NE(offer, 0u);
  ASSERT_TRUE(router_->Accept("al", offer, At(10)).ok());  // the VIP first
  ASSERT_TRUE(router_->Complete("al", 1, Outcome{true, "", 0, false}, At(20)).ok());
  ASSERT_TRUE(router_->WrapUpDone("al", 1, At(22)).ok());
  events = router_->TakeEvents();
  offer = 0;
  for (const Event& e : events) {
    if (e.kind == EventKind::kOffered) offer = e.offer_id;
  }
  ASSERT_NE(offer, 0u);
  ASSERT_TRUE(router_->Accept("al", offer, At(30)).ok());
  Drain();
  now_ = At(31);

  const std::string text = registry_.Exposition();
  const std::string q = "channel=\"voice\",queue=\"voice_general\"";
  const std::string r = "channel=\"voice\",policy=\"ranked\",queue=\"voice_general\"";
  EXPECT_EQ(SampleValue(text, "ccr_contacts_submitted_total{" + q + ",tier=\"vip\"}"), 1);
  EXPECT_EQ(SampleValue(text, "ccr_contacts_submitted_total{" + q + ",tier=\"standard\"}"), 3);
  EXPECT_EQ(SampleValue(text, "ccr_contacts_answered_total{" + r + ",tier=\"vip\"}"), 1);
  EXPECT_EQ(SampleValue(text, "ccr_contacts_answered_total{" + r + ",tier=\"standard\"}"), 1);
  EXPECT_EQ(
      SampleValue(text, "ccr_contacts_answered_within_target_total{" + r + ",tier=\"standard\"}"),
      0);
  EXPECT_EQ(SampleValue(text, "ccr_contacts_answered_within_target_total{" + r + ",tier=\"vip\"}"),
            1);
  EXPECT_EQ(SampleValue(
                text, "ccr_contacts_abandoned_total{" + r + ",reason=\"short\",tier=\"standard\"}"),
            1);
  EXPECT_EQ(SampleValue(
                text, "ccr_contacts_abandoned_total{" + r + ",reason=\"long\",tier=\"standard\"}"),
            1);
  EXPECT_EQ(SampleValue(text,
                        "ccr_contacts_ended_total{channel=\"voice\",outcome=\"resolved\","
                        "queue=\"voice_general\",tier=\"vip\"}"),
            1);
  EXPECT_EQ(SampleValue(text, "ccr_offers_total{channel=\"voice\",outcome=\"accepted\"}"), 2);
  // Waits 10 s and 30 s.
  EXPECT_EQ(SampleValue(text, "ccr_queue_wait_seconds_count{" + q + "}"), 2);
  EXPECT_EQ(SampleValue(text, "ccr_queue_wait_seconds_sum{" + q + "}"), 40);
  EXPECT_EQ(SampleValue(text, "ccr_queue_wait_seconds_bucket{" + q + ",le=\"10\"}"), 1);
  EXPECT_EQ(SampleValue(text, "ccr_queue_wait_seconds_bucket{" + q + ",le=\"30\"}"), 2);
  // Window: 1 within target / (2 answered + 1 long abandon).
  EXPECT_DOUBLE_EQ(metrics_.ServiceLevel("voice_general", now_).value(), 1.0 / 3);
  EXPECT_NEAR(SampleValue(text, "ccr_queue_service_level_ratio{" + q + "}").value(), 1.0 / 3, 1e-9);
  EXPECT_EQ(SampleValue(text, "ccr_queue_service_level_target_ratio{" + q + "}"), 0.8);
  EXPECT_EQ(SampleValue(text, "ccr_queue_answer_target_seconds{" + q + "}"), 20);
  EXPECT_EQ(SampleValue(text, "ccr_queue_depth{" + q + "}"), 0);
  EXPECT_EQ(SampleValue(text, "ccr_queue_connected{" + q + "}"), 1);
  EXPECT_EQ(SampleValue(text, "ccr_agents{channel=\"voice\",state=\"busy\"}"), 1);
  EXPECT_EQ(SampleValue(text, "ccr_build_info{version=\"test-1\"}"), 1);
  // Ids never reach the exposition.
  EXPECT_FALSE(absl::StrContains(text, "cust-")) << text;
  EXPECT_FALSE(absl::StrContains(text, "\"al\"")) << text;
}

TEST_F(RouterMetricsTest, LiveGaugesFollowTheRouterAndTheWindowIsNaNWhenEmpty) {
  ASSERT_TRUE(router_->Submit(Call("k1"), At(0)).ok());
  ASSERT_TRUE(router_->Submit(Call("k2"), At(5)).ok());
  Drain();
  now_ = At(12);
  const std::string text = registry_.Exposition();
  const std::string q = "{channel=\"voice\",queue=\"voice_general\"}";
  EXPECT_EQ(SampleValue(text, "ccr_queue_depth" + q), 2);
  EXPECT_EQ(SampleValue(text, "ccr_queue_oldest_wait_seconds" + q), 12);
  EXPECT_TRUE(std::isnan(SampleValue(text, "ccr_queue_service_level_ratio" + q).value()));
  EXPECT_EQ(SampleValue(text, "ccr_queue_service_level_window_seconds" + q), 900);
}

TEST_F(RouterMetricsTest, TheStrandCopiesFiguresAndTheFamiliesAreBuiltFromTheCopy) {
  ASSERT_TRUE(router_->Submit(Call("k1"), At(0)).ok());
  ASSERT_TRUE(router_->Login(Agent("al"), At(1)).ok());  // offered k1
  ASSERT_TRUE(router_->Submit(Call("k2"), At(2)).ok());
  Drain();
  now_ = At(4);
  StrandFigures figures = registry_.CollectOnStrand();  // what the strand does
  // The router moves on before the HTTP thread builds the text: the scrape
  // says what held when the strand copied it, all of it from that moment.
  ASSERT_TRUE(router_->Submit(Call("k3"), At(5)).ok());
  ASSERT_TRUE(router_->Logout("al", "end of shift", At(6)).ok());
  Drain();
  now_ = At(7);
  const std::string text = SerializeText(registry_.Collect(std::move(figures)));
  const std::string q = "{channel=\"voice\",queue=\"voice_general\"}";
  EXPECT_EQ(SampleValue(text, "ccr_queue_depth" + q), 1);
  EXPECT_EQ(SampleValue(text, "ccr_queue_offered" + q), 1);
  EXPECT_EQ(SampleValue(text, "ccr_queue_oldest_wait_seconds" + q), 2);
  EXPECT_EQ(SampleValue(text, "ccr_queue_agents_eligible" + q), 1);
  EXPECT_EQ(SampleValue(text, "ccr_agents{channel=\"voice\",state=\"busy\"}"), 1);
  // The counters are read when the families are built: they count k3.
  EXPECT_EQ(SampleValue(text,
                        "ccr_contacts_submitted_total{channel=\"voice\",queue=\"voice_general\","
                        "tier=\"standard\"}"),
            3);
  // A scrape now sees the router as it is.
  const std::string later = registry_.Exposition();
  EXPECT_EQ(SampleValue(later, "ccr_queue_depth" + q), 3);  // k1 back, k2, k3
  EXPECT_EQ(SampleValue(later, "ccr_queue_offered" + q), 0);
  EXPECT_EQ(SampleValue(later, "ccr_agents{channel=\"voice\",state=\"busy\"}"), 0);
}

TEST_F(RouterMetricsTest, ScheduledContactsAreSubmittedOnceLikeTheRouterCountsThem) {
  ContactSpec later = Call("cb");
  later.scheduled_for = At(60);
  ASSERT_TRUE(router_->Submit(later, At(0)).ok());
  router_->Tick(At(61));  // its time came: queued now, not submitted again
  Drain();
  now_ = At(61);
  const std::string text = registry_.Exposition();
  EXPECT_EQ(SampleValue(text,
                        "ccr_contacts_submitted_total{channel=\"voice\",queue=\"voice_general\","
                        "tier=\"standard\"}"),
            1);
  EXPECT_EQ(router_->Queues(now_)[0].submitted, 1u);
  EXPECT_EQ(SampleValue(text, "ccr_queue_depth{channel=\"voice\",queue=\"voice_general\"}"), 1);
}

// An A/B test alternating ranked and fifo by the minute: each contact's
// outcome is counted under the policy in force at its arrival, not at its
// answer or abandonment.
TEST(RouterMetricsPolicy, ServiceLevelCountersAreLabelledByThePolicyAtArrival) {
  RouterConfig config = OneQueueConfig();
  config.queues[0].ab_test.policies = {RoutingPolicy::kRanked, RoutingPolicy::kFifo};
  config.queues[0].ab_test.period = absl::Seconds(60);  // kT0 starts a ranked minute
  std::unique_ptr<Router> router = Router::Create(config).value();
  MetricsRegistry registry("test-1");
  RouterMetrics metrics(registry, {absl::Minutes(15), 60});
  metrics.Configure(router->config());
  router->SetObserver(&metrics);
  const std::string r = "channel=\"voice\",policy=\"ranked\",queue=\"voice_general\"";
  const std::string f = "channel=\"voice\",policy=\"fifo\",queue=\"voice_general\"";
  // Both arms are exported from the start, at zero.
  std::string text = registry.Exposition();
  EXPECT_EQ(SampleValue(text, "ccr_contacts_answered_total{" + f + ",tier=\"standard\"}"), 0);
  EXPECT_EQ(SampleValue(text, "ccr_contacts_answered_total{" + r + ",tier=\"standard\"}"), 0);

  auto accept_offer = [&](absl::Time at) {
    uint64_t offer = 0;
    for (const Event& e : router->TakeEvents()) {
      if (e.kind == EventKind::kOffered) offer = e.offer_id;
    }
    ASSERT_NE(offer, 0u);
    ASSERT_TRUE(router->Accept("al", offer, at).ok());
  };
  ASSERT_TRUE(router->Submit(Call("k1"), At(10)).ok());  // ranked
  ASSERT_TRUE(router->Submit(Call("k2"), At(50)).ok());  // ranked
  ASSERT_TRUE(router->Abandon(2, At(65)).ok());          // in the fifo minute, waited 15 s
  ASSERT_TRUE(router->Login(Agent("al"), At(80)).ok());
  accept_offer(At(80));  // k1 after 70 s: answered late under ranked
  ASSERT_TRUE(router->Submit(Call("k3"), At(85)).ok());  // fifo
  ASSERT_TRUE(router->Submit(Call("k4"), At(86)).ok());  // fifo
  ASSERT_TRUE(router->Abandon(4, At(88)).ok());          // short
  ASSERT_TRUE(router->Complete("al", 1, Outcome{true, "", 0, false}, At(90)).ok());
  router->Tick(At(95));  // wrap-up over: k3 is offered
  accept_offer(At(95));  // k3 after 10 s: within target under fifo
  router->TakeEvents();

  text = registry.Exposition();
  EXPECT_EQ(SampleValue(text, "ccr_contacts_answered_total{" + r + ",tier=\"standard\"}"), 1);
  EXPECT_EQ(
      SampleValue(text, "ccr_contacts_answered_within_target_total{" + r + ",tier=\"standard\"}"),
      0);
  EXPECT_EQ(SampleValue(
                text, "ccr_contacts_abandoned_total{" + r + ",reason=\"long\",tier=\"standard\"}"),
            1);
  EXPECT_EQ(SampleValue(text, "ccr_contacts_answered_total{" + f + ",tier=\"standard\"}"), 1);
  EXPECT_EQ(
      SampleValue(text, "ccr_contacts_answered_within_target_total{" + f + ",tier=\"standard\"}"),
      1);
  EXPECT_EQ(SampleValue(
                text, "ccr_contacts_abandoned_total{" + f + ",reason=\"short\",tier=\"standard\"}"),
            1);
  EXPECT_EQ(SampleValue(
                text, "ccr_contacts_abandoned_total{" + f + ",reason=\"long\",tier=\"standard\"}"),
            0);
}

// A queue under one policy exports that policy's series only.
TEST(RouterMetricsPolicy, AQueueWithoutAnAbTestExportsOnlyItsPolicy) {
  RouterConfig config = OneQueueConfig();
  config.queues[0].routing_policy = RoutingPolicy::kFifo;
  MetricsRegistry registry("test-1");
  RouterMetrics metrics(registry, {absl::Minutes(15), 60});
  metrics.Configure(config);
  const std::string text = registry.Exposition();
  EXPECT_TRUE(absl::StrContains(text, "policy=\"fifo\"")) << text;
  EXPECT_FALSE(absl::StrContains(text, "policy=\"ranked\"")) << text;
}

}  // namespace
}  // namespace ccr::metrics
