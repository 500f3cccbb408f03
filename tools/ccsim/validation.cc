#include "tools/ccsim/validation.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "base/status_macros.h"

namespace ccr::sim {

namespace {

constexpr int kBatches = 20;
constexpr int kWarmupBatches = 2;

struct MeanAndError {
  double mean = 0;
  double standard_error = 0;
};

MeanAndError BatchMeans(const std::vector<double>& batches) {
  MeanAndError out;
  if (batches.size() < 2) return out;
  for (double b : batches) out.mean += b;
  out.mean /= batches.size();
  double variance = 0;
  for (double b : batches) variance += (b - out.mean) * (b - out.mean);
  variance /= batches.size() - 1;
  out.standard_error = std::sqrt(variance / batches.size());
  return out;
}

}  // namespace

RouterConfig MmcRouterConfig(double target_seconds) {
  RouterConfig config;
  QueueConfig queue;
  queue.name = "mmc";
  queue.channel = Channel::kVoice;
  queue.skills = {{"mmc", 1}};
  queue.answer_within = absl::Seconds(target_seconds);
  queue.target_ratio = 0.8;
  queue.short_abandon = absl::ZeroDuration();
  queue.expire_after = absl::ZeroDuration();  // never expire: Erlang counts everyone
  // Arrival order, as Erlang's queue: under kRanked a contact still in time
  // goes before one already past its target (README "Routing rules").
  queue.routing_policy = RoutingPolicy::kFifo;
  config.queues.push_back(queue);
  for (ChannelConfig& channel : config.channels) {
    channel.agent_capacity = 1;
    channel.exclusive = true;
    channel.wrap_up = absl::ZeroDuration();  // the slot frees the moment the contact ends
    channel.offer_timeout = absl::Hours(1);  // never reached: offers are answered at once
  }
  config.follow_ups.survey_enabled = false;
  config.follow_ups.queue.clear();
  config.max_continuous_busy = absl::ZeroDuration();  // no forced rests
  config.sticky_window = absl::ZeroDuration();        // no customer ids anyway
  config.max_consecutive_misses = 0;
  config.reoffer_cooldown = absl::ZeroDuration();
  // Only retried submits need it; a short one keeps memory flat on long runs.
  config.idempotency_window = absl::Seconds(1);
  return config;
}

Scenario MmcScenario(const ValidationCase& c, double measured_contacts, int batches,
                     uint64_t seed) {
  const double mu = 1 / c.handle_seconds;
  const double lambda = c.load_per_agent * c.agents * mu;
  // How long the queue takes to forget a disturbance (M/M/n diffusion time
  // scale 1 / (n mu (1 - sqrt(rho))^2), abandonment shortens it).
  const double rho = std::min(c.load_per_agent, 0.99);
  double relaxation_seconds = 1 / (c.agents * mu * std::pow(1 - std::sqrt(rho), 2));
  if (c.patience_seconds > 0)
    relaxation_seconds = std::min(relaxation_seconds, 20 * c.patience_seconds);
  const double measured_seconds = std::max(measured_contacts / lambda, 200 * relaxation_seconds);
  const double batch_seconds = measured_seconds / batches;

  Scenario s;
  s.name = "mmc";
  s.seed = seed;
  s.warmup_hours = kWarmupBatches * batch_seconds / 3600;
  s.duration_hours = (kWarmupBatches + batches) * batch_seconds / 3600;
  s.interval_minutes = batch_seconds / 60;
  TrafficStream stream;
  stream.name = "poisson";
  stream.queue = "mmc";
  stream.rate_per_hour = lambda * 3600;
  stream.patience = c.patience_seconds > 0 ? Distribution::Exponential(c.patience_seconds)
                                           : Distribution::Never();
  stream.handle = Distribution::Exponential(c.handle_seconds);
  s.streams.push_back(stream);
  AgentGroup group;
  group.name = "agent";
  group.count = c.agents;
  group.skills = {{"mmc", 1}};
  group.capacities = {{Channel::kVoice, 1}};
  group.shift_start_hour = 0;
  group.shift_end_hour = s.duration_hours + 24;  // nobody leaves before the last contact is served
  s.agents.push_back(group);
  return s;
}

absl::StatusOr<ValidationResult> RunValidationCase(const ValidationCase& c,
                                                   double measured_contacts, uint64_t seed,
                                                   Policy policy) {
  ErlangInputs in;
  in.arrivals_per_hour = c.load_per_agent * c.agents * 3600 / c.handle_seconds;
  in.handle_seconds = c.handle_seconds;
  in.agents = c.agents;
  in.target_seconds = c.target_seconds;
  in.patience_seconds = c.patience_seconds;
  CCR_ASSIGN_OR_RETURN(const ErlangPrediction predicted, PredictErlang(in));

  const Scenario scenario = MmcScenario(c, measured_contacts, kBatches, seed);
  const RouterConfig config = MmcRouterConfig(c.target_seconds);
  const std::vector<ContactPlan> plan = PlanContacts(scenario, config);
  CCR_ASSIGN_OR_RETURN(const SimulationReport report, Simulate(scenario, config, policy, plan));

  ValidationResult result;
  result.inputs = c;
  result.predicted = predicted;
  const ServiceTally& total = report.overall;
  result.service_level = total.ServiceLevel();
  result.asa_seconds = total.AsaSeconds();
  result.abandon_ratio = total.AbandonRatio();
  result.contacts = total.arrived;
  result.simulated_hours = scenario.duration_hours;
  result.wall_seconds = report.wall_seconds;
  std::vector<double> levels, asas, abandons;
  const std::vector<ServiceTally>& intervals = report.queues.at(0).intervals;
  for (size_t i = kWarmupBatches; i < intervals.size(); ++i) {
    levels.push_back(intervals[i].ServiceLevel());
    asas.push_back(intervals[i].AsaSeconds());
    abandons.push_back(intervals[i].AbandonRatio());
  }
  result.service_level_se = BatchMeans(levels).standard_error;
  result.asa_se = BatchMeans(asas).standard_error;
  result.abandon_se = BatchMeans(abandons).standard_error;
  return result;
}

std::vector<ValidationCase> ValidationTable() {
  std::vector<ValidationCase> table;
  for (int agents : {10, 50, 100, 200}) {
    for (double load : {0.70, 0.80, 0.90, 0.95}) {
      ValidationCase c;
      c.agents = agents;
      c.load_per_agent = load;
      table.push_back(c);
    }
  }
  for (int agents : {10, 50, 200}) {
    for (double load : {0.90, 1.00, 1.10}) {
      ValidationCase c;
      c.agents = agents;
      c.load_per_agent = load;
      c.patience_seconds = 180;
      table.push_back(c);
    }
  }
  return table;
}

std::string ValidationRowText(const ValidationResult& r) {
  const ValidationCase& c = r.inputs;
  const double diff = r.service_level - r.predicted.service_level;
  // absl::StrFormat checks each argument's type: `contacts` is a uint64_t.
  return absl::StrFormat(
      "%6d %4.0f%% %8s | %7.2f%% %7.2f%% %+6.2f %5.2f | %8.2f %8.2f %6.2f | %6.2f%% %6.2f%% | "
      "%9d %5.1fs\n",
      c.agents, 100 * c.load_per_agent,
      c.patience_seconds > 0 ? absl::StrFormat("%.0fs", c.patience_seconds) : "-",
      100 * r.service_level, 100 * r.predicted.service_level, 100 * diff, 100 * r.service_level_se,
      r.asa_seconds, r.predicted.asa_seconds, r.asa_se, 100 * r.abandon_ratio,
      100 * r.predicted.abandon_ratio, r.contacts, r.wall_seconds);
}

std::string ValidationRowJson(const ValidationResult& r) {
  const ValidationCase& c = r.inputs;
  return absl::StrFormat(
      "{\"agents\": %d, \"load_per_agent\": %.2f, \"patience_seconds\": %.0f, "
      "\"service_level\": %.5f, \"service_level_se\": %.5f, \"predicted_service_level\": "
      "%.5f, \"asa_seconds\": %.4f, \"asa_se\": %.4f, \"predicted_asa_seconds\": %.4f, "
      "\"abandon_ratio\": %.5f, \"predicted_abandon_ratio\": %.5f, \"contacts\": %d}",
      c.agents, c.load_per_agent, c.patience_seconds, r.service_level, r.service_level_se,
      r.predicted.service_level, r.asa_seconds, r.asa_se, r.predicted.asa_seconds, r.abandon_ratio,
      r.predicted.abandon_ratio, r.contacts);
}

}  // namespace ccr::sim
