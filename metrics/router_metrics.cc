#include "metrics/router_metrics.h"

#include <cmath>
#include <limits>

#include "metrics/catalogue.h"

namespace ccr::metrics {

namespace {

constexpr int kTiers = 4;
constexpr int kOfferMade = 0, kOfferAccepted = 1, kOfferRejected = 2, kOfferTimedOut = 3,
              kOfferWithdrawn = 4;
constexpr const char* kOfferOutcomes[] = {"made", "accepted", "rejected", "timed_out", "withdrawn"};
constexpr int kEventKinds = static_cast<int>(EventKind::kUpdated) + 1;

// Ended other than by abandonment.
enum EndOutcome { kResolved, kUnresolved, kExpired, kCancelled, kTransferred, kEndOutcomes };
constexpr const char* kEndOutcomeNames[] = {"resolved", "unresolved", "expired", "cancelled",
                                            "transferred"};

}  // namespace

struct RouterMetrics::QueueSeries {
  QueueSeries(MetricsRegistry& r, const std::string& queue, Channel channel,
              const RouterMetricsOptions& options)
      : registry(r),
        name(queue),
        channel_name(ChannelName(channel)),
        window(options.service_level_window, options.service_level_slices) {
    const std::string& ch = channel_name;
    for (int t = 0; t < kTiers; ++t) {
      const std::string tier = TierName(static_cast<Tier>(t));
      submitted[t] = &r.Counter(kContactsSubmitted, {queue, ch, tier});
      for (int o = 0; o < kEndOutcomes; ++o) {
        ended[t][o] = &r.Counter(kContactsEnded, {queue, ch, tier, kEndOutcomeNames[o]});
      }
    }
    wait = &r.Histograms(kQueueWait, WaitBuckets()).Add({queue, ch});
    sla_breaches = &r.Counter(kSlaBreaches, {queue, ch});
    overflows = &r.Counter(kOverflows, {queue, ch});
    escalated_senior = &r.Counter(kEscalations, {queue, "senior"});
    escalated_alert = &r.Counter(kEscalations, {queue, "supervisor_alert"});
  }

  // The service-level counters of contacts that arrived under `policy`,
  // made on first use: a queue exports the policies it has run.
  struct PolicyCounters {
    std::array<prometheus::Counter*, kTiers> answered{}, within_target{}, abandoned_short{},
        abandoned_long{};
  };
  PolicyCounters& ForPolicy(RoutingPolicy policy) {
    PolicyCounters& c = by_policy[static_cast<int>(policy)];
    if (c.answered[0] != nullptr) return c;
    const std::string p = RoutingPolicyName(policy);
    for (int t = 0; t < kTiers; ++t) {
      const std::string tier = TierName(static_cast<Tier>(t));
      c.answered[t] = &registry.Counter(kContactsAnswered, {name, channel_name, tier, p});
      c.within_target[t] =
          &registry.Counter(kContactsAnsweredWithinTarget, {name, channel_name, tier, p});
      c.abandoned_short[t] =
          &registry.Counter(kContactsAbandoned, {name, channel_name, tier, "short", p});
      c.abandoned_long[t] =
          &registry.Counter(kContactsAbandoned, {name, channel_name, tier, "long", p});
    }
    return c;
  }

  MetricsRegistry& registry;
  const std::string name;
  const std::string channel_name;
  std::array<prometheus::Counter*, kTiers> submitted{};
  std::array<PolicyCounters, kRoutingPolicyCount> by_policy{};
  std::array<std::array<prometheus::Counter*, kEndOutcomes>, kTiers> ended{};
  LatencyHistogram* wait = nullptr;
  prometheus::Counter* sla_breaches = nullptr;
  prometheus::Counter* overflows = nullptr;
  prometheus::Counter* escalated_senior = nullptr;
  prometheus::Counter* escalated_alert = nullptr;
  ServiceLevelWindow window;
  // From the config (defaults until Configure names the queue).
  absl::Duration answer_within = absl::Seconds(20);
  absl::Duration short_abandon = absl::Seconds(5);
  QueueConfig config;  // its policy schedule (PolicyAt)
};

RouterMetrics::RouterMetrics(MetricsRegistry& registry, RouterMetricsOptions options)
    : registry_(registry), options_(options) {
  for (int c = 0; c < kChannelCount; ++c) {
    const std::string ch = ChannelName(static_cast<Channel>(c));
    for (int o = 0; o < 5; ++o) offers_[c][o] = &registry.Counter(kOffers, {ch, kOfferOutcomes[o]});
  }
  follow_ups_[0] = &registry.Counter(kFollowUps, {"follow_up"});
  follow_ups_[1] = &registry.Counter(kFollowUps, {"survey"});
  for (int k = 0; k < kEventKinds; ++k) {
    events_by_kind_.push_back(
        &registry.Counter(kLifecycleEvents, {EventKindName(static_cast<EventKind>(k))}));
  }
}

RouterMetrics::~RouterMetrics() = default;

void RouterMetrics::Configure(const RouterConfig& config) {
  config_ = config;
  for (const QueueConfig& q : config_.queues) {
    QueueSeries& s = Series(q.name);
    s.answer_within = q.answer_within;
    s.short_abandon = q.short_abandon;
    s.config = q;
    // Series for every policy the queue may run, so an A/B test's arms show
    // (at zero) from the start.
    if (q.ab_test.policies.empty()) s.ForPolicy(q.routing_policy);
    for (RoutingPolicy p : q.ab_test.policies) s.ForPolicy(p);
  }
}

RouterMetrics::QueueSeries& RouterMetrics::Series(const std::string& queue) {
  auto it = queues_.find(queue);
  if (it != queues_.end()) return *it->second;
  const QueueConfig* config = nullptr;
  for (const QueueConfig& q : config_.queues) {
    if (q.name == queue) config = &q;
  }
  auto series = std::make_unique<QueueSeries>(
      registry_, queue, config != nullptr ? config->channel : Channel::kVoice, options_);
  if (config != nullptr) series->config = *config;
  return *queues_.emplace(queue, std::move(series)).first->second;
}

void RouterMetrics::OnEvent(const Event& e) {
  events_by_kind_[static_cast<int>(e.kind)]->Increment();
  const int channel = static_cast<int>(e.channel);
  switch (e.kind) {
    case EventKind::kOffered:
      offers_[channel][kOfferMade]->Increment();
      return;
    case EventKind::kOfferRejected:
      offers_[channel][kOfferRejected]->Increment();
      return;
    case EventKind::kOfferTimedOut:
      offers_[channel][kOfferTimedOut]->Increment();
      return;
    case EventKind::kOfferWithdrawn:
      offers_[channel][kOfferWithdrawn]->Increment();
      return;
    case EventKind::kFollowUpDue:
      follow_ups_[0]->Increment();
      return;
    case EventKind::kSurveyDue:
      follow_ups_[1]->Increment();
      return;
    case EventKind::kAgentState:
    case EventKind::kUpdated:
    case EventKind::kWrapUpDone:
      return;
    default:
      break;
  }
  if (e.queue.empty()) return;
  QueueSeries& q = Series(e.queue);
  const int tier = static_cast<int>(e.tier);
  switch (e.kind) {
    case EventKind::kQueued:
      // A scheduled contact was counted when it was scheduled.
      if (e.reason != kScheduledStartReason) q.submitted[tier]->Increment();
      return;
    case EventKind::kScheduled:
      q.submitted[tier]->Increment();
      return;
    case EventKind::kAssigned: {
      const bool within = e.wait <= q.answer_within;
      offers_[channel][kOfferAccepted]->Increment();
      // The router serves a contact under the policy in force at its arrival
      // (e.time - e.wait): the same function of the same config.
      QueueSeries::PolicyCounters& p = q.ForPolicy(PolicyAt(q.config, e.time - e.wait));
      p.answered[tier]->Increment();
      if (within) p.within_target[tier]->Increment();
      q.wait->Observe(absl::ToDoubleSeconds(e.wait));
      q.window.Answered(e.time, within);
      return;
    }
    case EventKind::kAbandoned: {
      const bool counted = e.wait > q.short_abandon;
      QueueSeries::PolicyCounters& p = q.ForPolicy(PolicyAt(q.config, e.time - e.wait));
      (counted ? p.abandoned_long : p.abandoned_short)[tier]->Increment();
      q.window.Abandoned(e.time, counted);
      return;
    }
    case EventKind::kCompleted:
      q.ended[tier][e.outcome.resolved ? kResolved : kUnresolved]->Increment();
      return;
    case EventKind::kExpired:
      q.ended[tier][kExpired]->Increment();
      return;
    case EventKind::kCancelled:
      q.ended[tier][kCancelled]->Increment();
      return;
    case EventKind::kTransferred:
      q.ended[tier][kTransferred]->Increment();
      return;
    case EventKind::kSlaBreached:
      q.sla_breaches->Increment();
      return;
    case EventKind::kOverflowed:
      q.overflows->Increment();
      return;
    case EventKind::kEscalated:
      q.escalated_senior->Increment();
      return;
    case EventKind::kSupervisorAlert:
      q.escalated_alert->Increment();
      return;
    default:
      return;
  }
}

std::optional<double> RouterMetrics::ServiceLevel(const std::string& queue, absl::Time now) const {
  auto it = queues_.find(queue);
  if (it == queues_.end()) return std::nullopt;
  return it->second->window.Ratio(now);
}

RouterMetrics::Figures RouterMetrics::Copy(const Router& router, absl::Time now) const {
  Figures f;
  f.queues = router.Queues(now);
  f.service_level.reserve(f.queues.size());
  for (const QueueStats& q : f.queues) {
    f.service_level.push_back(
        ServiceLevel(q.name, now).value_or(std::numeric_limits<double>::quiet_NaN()));
  }
  f.service_level_window_seconds = absl::ToDoubleSeconds(options_.service_level_window);
  f.agents = router.CountAgents(now);
  return f;
}

ScrapeSource RouterMetrics::CopyFigures(const Router& router, absl::Time now) const {
  return
      [figures = std::make_shared<const Figures>(Copy(router, now))] { return Families(*figures); };
}

std::vector<prometheus::MetricFamily> RouterMetrics::Scrape(const Router& router,
                                                            absl::Time now) const {
  return Families(Copy(router, now));
}

std::vector<prometheus::MetricFamily> RouterMetrics::Families(const Figures& figures) {
  ScrapedGauges depth(kQueueDepth), offered(kQueueOffered), connected(kQueueConnected),
      oldest(kQueueOldestWait), service_level(kQueueServiceLevel), window(kQueueServiceLevelWindow),
      target_ratio(kQueueServiceLevelTarget), answer_target(kQueueAnswerTarget),
      eligible(kQueueAgentsEligible), available(kQueueAgentsAvailable),
      estimated(kQueueEstimatedWait);
  for (size_t i = 0; i < figures.queues.size(); ++i) {
    const QueueStats& q = figures.queues[i];
    const std::vector<std::string> labels = {q.name, ChannelName(q.channel)};
    depth.Add(labels, q.queued);
    offered.Add(labels, q.offered);
    connected.Add(labels, q.connected);
    oldest.Add(labels, absl::ToDoubleSeconds(q.oldest_wait));
    service_level.Add(labels, figures.service_level[i]);
    window.Add(labels, figures.service_level_window_seconds);
    target_ratio.Add(labels, q.target_ratio);
    answer_target.Add(labels, absl::ToDoubleSeconds(q.target));
    eligible.Add(labels, q.agents_eligible);
    available.Add(labels, q.agents_available);
    estimated.Add(labels, absl::ToDoubleSeconds(q.estimated_wait));
  }

  // Agents by state for each channel they serve; occupancy per channel.
  const AgentTally& tally = figures.agents;
  ScrapedGauges agents(kAgents), occupancy(kAgentOccupancy);
  for (int c = 0; c < kChannelCount; ++c) {
    const std::string ch = ChannelName(static_cast<Channel>(c));
    for (int s = 1; s < AgentTally::kStates; ++s) {  // offline agents are not counted
      agents.Add({ch, AgentStatusName(static_cast<AgentStatus>(s))}, tally.by_state[c][s]);
    }
    if (tally.logged_in[c] > 0) occupancy.Add({ch}, tally.occupancy_sum[c] / tally.logged_in[c]);
  }
  std::vector<prometheus::MetricFamily> out;
  for (ScrapedGauges* g :
       {&depth, &offered, &connected, &oldest, &service_level, &window, &target_ratio,
        &answer_target, &eligible, &available, &estimated, &agents, &occupancy}) {
    out.push_back(g->Take());
  }
  return out;
}

}  // namespace ccr::metrics
