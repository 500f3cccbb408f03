#include "tools/ccsim/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <queue>
#include <random>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "tools/ccsim/queue_dispatcher.h"
#include "tools/ccsim/router_dispatcher.h"

namespace ccr::sim {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// After the last arrival, contacts still waiting get this long to be answered.
constexpr double kDrainLimitSeconds = 4 * 3600;
// Any fixed instant works: the router only compares times.
const absl::Time kDayStart = absl::FromUnixSeconds(1767225600);  // 2026-01-01 00:00 UTC

absl::Time AtSeconds(double seconds) { return kDayStart + absl::Seconds(seconds); }
double SecondsOf(absl::Time t) { return absl::ToDoubleSeconds(t - kDayStart); }

constexpr Policy kPolicies[] = {
    Policy::kRouter,      Policy::kFifoLinear, Policy::kFifoLongestIdle, Policy::kFifoRoundRobin,
    Policy::kFifoRingAll, Policy::kGcMu,       Policy::kFixedQueueRatio, Policy::kSkillPriority};

std::mt19937_64 StreamRng(uint64_t seed, uint32_t stream, uint32_t purpose) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), stream,
                    purpose};
  return std::mt19937_64(seq);
}

Distribution HandleFor(const Scenario& scenario, const RouterConfig& config, Channel channel) {
  const auto& configured = scenario.handle_by_channel[static_cast<int>(channel)];
  if (configured) return *configured;
  return Distribution::Exponential(
      absl::ToDoubleSeconds(config.channels[static_cast<int>(channel)].default_handle));
}

uint32_t QueueIndex(const RouterConfig& config, const std::string& name) {
  for (uint32_t i = 0; i < config.queues.size(); ++i) {
    if (config.queues[i].name == name) return i;
  }
  return 0;  // CheckScenario rules this out
}

// The run itself: one object per Simulate call.
class DayRun {
 public:
  DayRun(const Scenario& scenario, const RouterConfig& config, const std::vector<ContactPlan>& plan,
         std::vector<AgentSpec> roster, Dispatcher* dispatcher)
      : scenario_(scenario),
        config_(config),
        plan_(plan),
        dispatcher_(dispatcher),
        window_start_(scenario.warmup_hours * 3600),
        window_end_(scenario.duration_hours * 3600),
        interval_seconds_(scenario.interval_minutes * 60),
        created_rng_(StreamRng(scenario.seed, 0xffffffff, 3)) {
    intervals_ = static_cast<size_t>(std::ceil(window_end_ / interval_seconds_ - 1e-9));
    stream_queue_.reserve(scenario.streams.size());
    for (const TrafficStream& s : scenario.streams) {
      stream_queue_.push_back(QueueIndex(config, s.queue));
    }
    queue_tallies_.resize(config.queues.size());
    tier_tallies_.resize(4);
    stream_tallies_.resize(scenario.streams.size());
    for (auto* groups : {&queue_tallies_, &tier_tallies_, &stream_tallies_}) {
      for (GroupReport& g : *groups) g.intervals.resize(intervals_);
    }
    contacts_.resize(plan.size());
    agents_.resize(roster.size());
    ScheduleShifts();
  }

  absl::Status Run(SimulationReport* report);

 private:
  enum class ContactState : uint8_t { kNotYet, kWaiting, kInService, kDone };
  struct ContactRuntime {
    ContactState state = ContactState::kNotYet;
  };
  struct AgentRuntime {
    bool logged_in = false;
    bool taking = false;
    bool on_break = false;
    bool shift_over = false;
    uint32_t held = 0;
    double accounted_until = 0;
    double busy_seconds = 0;
    double staffed_seconds = 0;
    uint64_t handled = 0;
  };
  enum class Kind : uint8_t {
    kPatienceEnd,
    kHandleEnd,
    kShiftStart,
    kShiftEnd,
    kBreakStart,
    kBreakEnd
  };
  struct SimEvent {
    double time;
    uint64_t sequence;
    Kind kind;
    uint32_t agent;
    uint64_t contact;
    friend bool operator>(const SimEvent& a, const SimEvent& b) {
      return std::tie(a.time, a.sequence) > std::tie(b.time, b.sequence);
    }
  };

  void Push(double time, Kind kind, uint32_t agent, uint64_t contact) {
    events_.push(SimEvent{time, next_sequence_++, kind, agent, contact});
  }
  void ScheduleShifts();
  bool Counted(const ContactPlan& c) const {
    return c.arrival_seconds >= window_start_ && c.arrival_seconds < window_end_;
  }
  Tier TierOf(const ContactPlan& c) const {
    return c.recorded >= 0 ? scenario_.recorded[c.recorded].tier : scenario_.streams[c.stream].tier;
  }
  const QueueConfig& QueueOf(const ContactPlan& c) const {
    return config_.queues[stream_queue_[c.stream]];
  }
  // Applies `update` to every group the contact belongs to, whole-window and interval.
  template <typename F>
  void Tally(const ContactPlan& c, F update) {
    const size_t interval =
        std::min(intervals_ - 1, static_cast<size_t>(c.arrival_seconds / interval_seconds_));
    for (GroupReport* g :
         {&queue_tallies_[stream_queue_[c.stream]], &tier_tallies_[static_cast<int>(TierOf(c))],
          &stream_tallies_[c.stream]}) {
      update(g->total);
      update(g->intervals[interval]);
    }
  }
  void Account(uint32_t agent, double now);
  absl::Status HandleEvent(const SimEvent& e);
  absl::Status Arrive(uint64_t id);
  absl::Status ProcessDispatches();

  const Scenario& scenario_;
  const RouterConfig& config_;
  const std::vector<ContactPlan>& plan_;
  Dispatcher* dispatcher_;
  const double window_start_;
  const double window_end_;
  const double interval_seconds_;
  size_t intervals_ = 1;
  std::mt19937_64 created_rng_;  // handle times of contacts the policy creates
  std::vector<uint32_t> stream_queue_;
  std::vector<GroupReport> queue_tallies_;
  std::vector<GroupReport> tier_tallies_;
  std::vector<GroupReport> stream_tallies_;
  std::vector<ContactRuntime> contacts_;
  std::vector<AgentRuntime> agents_;
  std::priority_queue<SimEvent, std::vector<SimEvent>, std::greater<>> events_;
  uint64_t next_sequence_ = 0;
  uint64_t waiting_counted_ = 0;
  uint64_t created_by_policy_ = 0;
  double now_ = 0;
};

void DayRun::ScheduleShifts() {
  uint32_t agent = 0;
  for (const AgentGroup& group : scenario_.agents) {
    for (int i = 0; i < group.count; ++i, ++agent) {
      const double start = group.shift_start_hour * 3600;
      const double end = group.shift_end_hour * 3600;
      Push(start, Kind::kShiftStart, agent, 0);
      Push(end, Kind::kShiftEnd, agent, 0);
      // Spread the team's breaks evenly over the stagger window, centred on the nominal time.
      const double offset = group.break_stagger_minutes * 60 * ((i + 0.5) / group.count - 0.5);
      for (const ShiftBreak& b : group.breaks) {
        const double break_start = start + b.after_hours * 3600 + offset;
        if (break_start < start || break_start >= end) continue;
        Push(break_start, Kind::kBreakStart, agent, 0);
        Push(std::min(end, break_start + b.minutes * 60), Kind::kBreakEnd, agent, 0);
      }
    }
  }
}

void DayRun::Account(uint32_t agent, double now) {
  AgentRuntime& a = agents_[agent];
  const double from = std::max(a.accounted_until, window_start_);
  const double to = std::min(now, window_end_);
  if (to > from && a.logged_in && (a.taking || a.held > 0)) {
    a.staffed_seconds += to - from;
    if (a.held > 0) a.busy_seconds += to - from;
  }
  a.accounted_until = std::max(a.accounted_until, now);
}

absl::Status DayRun::Arrive(uint64_t id) {
  const ContactPlan& c = plan_[id];
  contacts_[id].state = ContactState::kWaiting;
  if (Counted(c)) {
    ++waiting_counted_;
    Tally(c, [](ServiceTally& t) { ++t.arrived; });
  }
  if (std::isfinite(c.patience_seconds)) {
    Push(c.arrival_seconds + c.patience_seconds, Kind::kPatienceEnd, 0, id);
  }
  const TrafficStream& stream = scenario_.streams[c.stream];
  ArrivingContact arriving;
  arriving.id = id;
  arriving.queue = stream_queue_[c.stream];
  arriving.tier = stream.tier;
  arriving.signals = stream.signals;
  arriving.language = stream.language;
  if (c.recorded >= 0) {
    const RecordedContact& recorded = scenario_.recorded[c.recorded];
    arriving.tier = recorded.tier;
    arriving.signals = recorded.signals;
    arriving.language = recorded.language;
  }
  return dispatcher_->Arrive(arriving, AtSeconds(c.arrival_seconds));
}

absl::Status DayRun::HandleEvent(const SimEvent& e) {
  const absl::Time now = AtSeconds(e.time);
  switch (e.kind) {
    case Kind::kPatienceEnd: {
      if (contacts_[e.contact].state != ContactState::kWaiting) return absl::OkStatus();
      contacts_[e.contact].state = ContactState::kDone;
      const ContactPlan& c = plan_[e.contact];
      if (Counted(c)) {
        --waiting_counted_;
        const double wait = c.patience_seconds;
        const bool breach = wait > absl::ToDoubleSeconds(QueueOf(c).answer_within);
        Tally(c, [&](ServiceTally& t) {
          ++t.abandoned;
          t.sla_breaches += breach;
          t.longest_wait_seconds = std::max(t.longest_wait_seconds, wait);
        });
      }
      return dispatcher_->Abandon(e.contact, now);
    }
    case Kind::kHandleEnd:
      if (e.contact < contacts_.size()) contacts_[e.contact].state = ContactState::kDone;
      return dispatcher_->Finish(e.agent, e.contact, now);
    case Kind::kShiftStart: {
      AgentRuntime& a = agents_[e.agent];
      Account(e.agent, e.time);
      a.logged_in = true;
      a.taking = !a.on_break;
      CCR_RETURN_IF_ERROR(dispatcher_->LogIn(e.agent, now));
      return a.taking ? absl::OkStatus() : dispatcher_->StopTaking(e.agent, now);
    }
    case Kind::kShiftEnd: {
      AgentRuntime& a = agents_[e.agent];
      if (!a.logged_in) return absl::OkStatus();
      Account(e.agent, e.time);
      a.shift_over = true;
      a.taking = false;
      CCR_RETURN_IF_ERROR(dispatcher_->StopTaking(e.agent, now));
      if (a.held > 0) return absl::OkStatus();  // logs out when the last contact is released
      a.logged_in = false;
      return dispatcher_->LogOut(e.agent, now);
    }
    case Kind::kBreakStart: {
      AgentRuntime& a = agents_[e.agent];
      if (!a.logged_in || a.shift_over) return absl::OkStatus();
      Account(e.agent, e.time);
      a.on_break = true;
      a.taking = false;
      return dispatcher_->StopTaking(e.agent, now);
    }
    case Kind::kBreakEnd: {
      AgentRuntime& a = agents_[e.agent];
      if (!a.on_break) return absl::OkStatus();
      a.on_break = false;
      if (!a.logged_in || a.shift_over) return absl::OkStatus();
      Account(e.agent, e.time);
      a.taking = true;
      return dispatcher_->ResumeTaking(e.agent, now);
    }
  }
  return absl::OkStatus();
}

absl::Status DayRun::ProcessDispatches() {
  for (;;) {
    std::vector<Dispatch> dispatches = dispatcher_->TakeDispatches();
    if (dispatches.empty()) return absl::OkStatus();
    for (const Dispatch& d : dispatches) {
      const double t = SecondsOf(d.time);
      switch (d.kind) {
        case Dispatch::Kind::kAssigned: {
          Account(d.agent, t);
          AgentRuntime& a = agents_[d.agent];
          ++a.held;
          if (t >= window_start_ && t < window_end_) ++a.handled;
          double handle_seconds = 0;
          if (d.created_by_policy) {
            ++created_by_policy_;
            handle_seconds =
                HandleFor(scenario_, config_, config_.queues[d.queue].channel).Sample(created_rng_);
          } else {
            const ContactPlan& c = plan_[d.contact];
            contacts_[d.contact].state = ContactState::kInService;
            handle_seconds = c.handle_seconds;
            if (Counted(c)) {
              --waiting_counted_;
              const double wait = std::max(0.0, t - c.arrival_seconds);
              // The router's rule: answered within target when wait <= answer_within.
              const double target = absl::ToDoubleSeconds(QueueOf(c).answer_within);
              const bool within = wait <= target + 1e-9;
              Tally(c, [&](ServiceTally& tally) {
                ++tally.answered;
                tally.answered_within_target += within;
                tally.sla_breaches += !within;
                tally.total_answer_wait_seconds += wait;
                tally.longest_wait_seconds = std::max(tally.longest_wait_seconds, wait);
              });
            }
          }
          Push(t + handle_seconds, Kind::kHandleEnd, d.agent, d.contact);
          break;
        }
        case Dispatch::Kind::kReleased: {
          Account(d.agent, t);
          AgentRuntime& a = agents_[d.agent];
          --a.held;
          if (a.held == 0 && a.shift_over && a.logged_in) {
            a.logged_in = false;
            CCR_RETURN_IF_ERROR(dispatcher_->LogOut(d.agent, d.time));
          }
          break;
        }
        case Dispatch::Kind::kExpired: {
          if (d.created_by_policy || d.contact >= plan_.size()) break;
          contacts_[d.contact].state = ContactState::kDone;
          const ContactPlan& c = plan_[d.contact];
          if (Counted(c)) {
            --waiting_counted_;
            const double wait = t - c.arrival_seconds;
            const bool breach = wait > absl::ToDoubleSeconds(QueueOf(c).answer_within);
            Tally(c, [&](ServiceTally& tally) {
              ++tally.expired;
              tally.sla_breaches += breach;
              tally.longest_wait_seconds = std::max(tally.longest_wait_seconds, wait);
            });
          }
          break;
        }
      }
    }
  }
}

absl::Status DayRun::Run(SimulationReport* report) {
  size_t next_arrival = 0;
  const double stop_by = window_end_ + kDrainLimitSeconds;
  for (;;) {
    const double arrival_at =
        next_arrival < plan_.size() ? plan_[next_arrival].arrival_seconds : kInf;
    const double event_at = events_.empty() ? kInf : events_.top().time;
    const std::optional<absl::Time> deadline = dispatcher_->NextDeadline();
    const double deadline_at = deadline ? SecondsOf(*deadline) : kInf;
    const double next = std::min({arrival_at, event_at, deadline_at});
    if (!std::isfinite(next) || next > stop_by) break;
    if (next >= window_end_ && waiting_counted_ == 0 && arrival_at == kInf) break;
    now_ = next;
    absl::Status s;
    if (deadline_at <= arrival_at && deadline_at <= event_at) {
      s = dispatcher_->Advance(*deadline);
    } else if (event_at <= arrival_at) {
      const SimEvent e = events_.top();
      events_.pop();
      s = HandleEvent(e);
    } else {
      s = Arrive(next_arrival++);
    }
    if (s.ok()) s = ProcessDispatches();
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrFormat("at %.3f s into the day: %s", now_, s.message()));
    }
  }
  // Whoever still waits was not answered; their wait so far is what they got.
  for (size_t id = 0; id < plan_.size(); ++id) {
    const ContactPlan& c = plan_[id];
    if (contacts_[id].state != ContactState::kWaiting || !Counted(c)) continue;
    const double wait = now_ - c.arrival_seconds;
    const bool breach = wait > absl::ToDoubleSeconds(QueueOf(c).answer_within);
    Tally(c, [&](ServiceTally& t) {
      ++t.unanswered;
      t.sla_breaches += breach;
      t.longest_wait_seconds = std::max(t.longest_wait_seconds, wait);
    });
  }
  for (uint32_t i = 0; i < agents_.size(); ++i) Account(i, std::max(now_, window_end_));

  for (uint32_t q = 0; q < queue_tallies_.size(); ++q) {
    GroupReport& g = queue_tallies_[q];
    if (g.total.arrived == 0) continue;
    g.name = config_.queues[q].name;
    g.target_seconds = absl::ToDoubleSeconds(config_.queues[q].answer_within);
    g.target_ratio = config_.queues[q].target_ratio;
    report->overall.Add(g.total);
    report->queues.push_back(std::move(g));
  }
  for (int t = 0; t < 4; ++t) {
    GroupReport& g = tier_tallies_[t];
    if (g.total.arrived == 0) continue;
    g.name = TierName(Tier(t));
    report->tiers.push_back(std::move(g));
  }
  for (size_t s = 0; s < stream_tallies_.size(); ++s) {
    GroupReport& g = stream_tallies_[s];
    g.name = scenario_.streams[s].name;
    g.target_seconds = absl::ToDoubleSeconds(config_.queues[stream_queue_[s]].answer_within);
    report->streams.push_back(std::move(g));
  }

  double busy = 0, staffed = 0;
  std::vector<double> occupancies, per_hour;
  for (const AgentRuntime& a : agents_) {
    busy += a.busy_seconds;
    staffed += a.staffed_seconds;
    if (a.staffed_seconds < 3600) continue;
    occupancies.push_back(a.busy_seconds / a.staffed_seconds);
    per_hour.push_back(a.handled / (a.staffed_seconds / 3600));
  }
  report->agents = static_cast<uint32_t>(agents_.size());
  report->occupancy = staffed > 0 ? busy / staffed : 0;
  if (!occupancies.empty()) {
    double sum = 0, sum_squares = 0;
    for (double x : occupancies) {
      sum += x;
      sum_squares += x * x;
    }
    report->occupancy_jain_index =
        sum_squares > 0 ? sum * sum / (occupancies.size() * sum_squares) : 1;
    double mean = 0, variance = 0;
    for (double x : per_hour) mean += x;
    mean /= per_hour.size();
    for (double x : per_hour) variance += (x - mean) * (x - mean);
    variance /= per_hour.size();
    report->handled_per_hour_cv = mean > 0 ? std::sqrt(variance) / mean : 0;
  }
  report->contacts_created_by_policy = created_by_policy_;
  return absl::OkStatus();
}

}  // namespace

const char* PolicyName(Policy p) {
  switch (p) {
    case Policy::kRouter:
      return "router";
    case Policy::kFifoLinear:
      return "fifo_linear";
    case Policy::kFifoLongestIdle:
      return "fifo_longest_idle";
    case Policy::kFifoRoundRobin:
      return "fifo_round_robin";
    case Policy::kFifoRingAll:
      return "fifo_ring_all";
    case Policy::kGcMu:
      return "gcmu";
    case Policy::kFixedQueueRatio:
      return "fixed_queue_ratio";
    case Policy::kSkillPriority:
      return "skill_priority";
  }
  return "?";
}

absl::StatusOr<Policy> ParsePolicy(absl::string_view name) {
  for (Policy p : kPolicies) {
    if (name == PolicyName(p)) return p;
  }
  std::vector<std::string> names;
  for (Policy p : kPolicies) names.push_back(PolicyName(p));
  return absl::InvalidArgumentError(absl::StrCat("policy: unknown '", name, "' (expected ",
                                                 absl::StrJoin(names, ", "), ", or all)"));
}

std::vector<Policy> AllPolicies() { return {std::begin(kPolicies), std::end(kPolicies)}; }

double ServiceTally::ServiceLevel() const {
  return answered == 0 ? 1.0 : static_cast<double>(answered_within_target) / answered;
}
double ServiceTally::AsaSeconds() const {
  return answered == 0 ? 0.0 : total_answer_wait_seconds / answered;
}
double ServiceTally::AbandonRatio() const {
  const uint64_t denominator = answered + abandoned;
  return denominator == 0 ? 0.0 : static_cast<double>(abandoned) / denominator;
}
void ServiceTally::Add(const ServiceTally& o) {
  arrived += o.arrived;
  answered += o.answered;
  answered_within_target += o.answered_within_target;
  abandoned += o.abandoned;
  expired += o.expired;
  unanswered += o.unanswered;
  sla_breaches += o.sla_breaches;
  total_answer_wait_seconds += o.total_answer_wait_seconds;
  longest_wait_seconds = std::max(longest_wait_seconds, o.longest_wait_seconds);
}

std::vector<ContactPlan> PlanContacts(const Scenario& scenario, const RouterConfig& config) {
  std::vector<ContactPlan> plan;
  const double end = scenario.duration_hours * 3600;
  if (!scenario.recorded.empty()) {
    // A recorded day: its arrivals, with patience and handle times drawn per stream.
    std::vector<std::mt19937_64> attributes;
    for (uint32_t s = 0; s < scenario.streams.size(); ++s) {
      attributes.push_back(StreamRng(scenario.seed, s, 2));
    }
    for (size_t i = 0; i < scenario.recorded.size(); ++i) {
      const RecordedContact& r = scenario.recorded[i];
      if (r.arrival_seconds < 0 || r.arrival_seconds >= end) continue;
      ContactPlan c;
      c.arrival_seconds = r.arrival_seconds;
      c.stream = scenario.recorded_stream[i];
      c.recorded = static_cast<int32_t>(i);
      const TrafficStream& stream = scenario.streams[c.stream];
      const Channel channel = config.queues[r.queue].channel;
      c.patience_seconds = stream.patience.Sample(attributes[c.stream]);
      c.handle_seconds = (stream.handle ? *stream.handle : HandleFor(scenario, config, channel))
                             .Sample(attributes[c.stream]);
      plan.push_back(c);
    }
    std::stable_sort(plan.begin(), plan.end(), [](const ContactPlan& a, const ContactPlan& b) {
      return a.arrival_seconds < b.arrival_seconds;
    });
    return plan;
  }
  for (uint32_t s = 0; s < scenario.streams.size(); ++s) {
    const TrafficStream& stream = scenario.streams[s];
    if (stream.rate_per_hour <= 0) continue;
    // Arrival times and contact attributes come from separate generators, so
    // changing a handle time distribution does not move any arrival.
    std::mt19937_64 arrivals = StreamRng(scenario.seed, s, 1);
    std::mt19937_64 attributes = StreamRng(scenario.seed, s, 2);
    const Channel channel = config.queues[QueueIndex(config, stream.queue)].channel;
    const Distribution handle =
        stream.handle ? *stream.handle : HandleFor(scenario, config, channel);
    double peak = 1;
    if (!stream.profile.empty()) {
      const std::vector<double>& steps = scenario.profiles.at(stream.profile);
      peak = *std::max_element(steps.begin(), steps.end());
    }
    if (peak <= 0) continue;
    // Non-homogeneous Poisson process by thinning a homogeneous one at the peak rate.
    const double peak_per_second = stream.rate_per_hour * peak / 3600;
    std::exponential_distribution<double> gap(peak_per_second);
    std::uniform_real_distribution<double> coin(0, 1);
    for (double t = gap(arrivals); t < end; t += gap(arrivals)) {
      const double keep = scenario.ProfileMultiplier(stream.profile, t / 3600) / peak;
      if (keep < 1 && coin(arrivals) >= keep) continue;
      ContactPlan c;
      c.arrival_seconds = t;
      c.stream = s;
      c.patience_seconds = stream.patience.Sample(attributes);
      c.handle_seconds = handle.Sample(attributes);
      plan.push_back(c);
    }
  }
  std::sort(plan.begin(), plan.end(), [](const ContactPlan& a, const ContactPlan& b) {
    return std::tie(a.arrival_seconds, a.stream) < std::tie(b.arrival_seconds, b.stream);
  });
  return plan;
}

std::vector<QueueLoad> PlannedLoads(const Scenario& scenario, const RouterConfig& config,
                                    const std::vector<ContactPlan>& plan) {
  std::vector<QueueLoad> loads(config.queues.size());
  std::vector<double> contacts(config.queues.size(), 0);
  std::vector<double> stream_contacts(scenario.streams.size(), 0);
  for (const ContactPlan& c : plan) ++stream_contacts[c.stream];
  for (uint32_t s = 0; s < scenario.streams.size(); ++s) {
    const TrafficStream& stream = scenario.streams[s];
    const uint32_t q = QueueIndex(config, stream.queue);
    const Distribution handle =
        stream.handle ? *stream.handle : HandleFor(scenario, config, config.queues[q].channel);
    contacts[q] += stream_contacts[s];
    loads[q].handle_seconds += stream_contacts[s] * handle.mean_seconds;
  }
  const double hours = std::max(scenario.duration_hours, 1e-9);
  for (size_t q = 0; q < loads.size(); ++q) {
    loads[q].arrivals_per_hour = contacts[q] / hours;
    loads[q].handle_seconds = contacts[q] > 0 ? loads[q].handle_seconds / contacts[q] : 0;
  }
  return loads;
}

std::vector<AgentSpec> BuildRoster(const Scenario& scenario) {
  std::vector<AgentSpec> roster;
  for (const AgentGroup& group : scenario.agents) {
    for (int i = 0; i < group.count; ++i) {
      AgentSpec spec;
      spec.agent_id = absl::StrFormat("%s-%04d", group.name, i + 1);
      spec.skills = group.skills;
      spec.languages = group.languages;
      spec.capacities = group.capacities;
      spec.start_available = true;
      roster.push_back(std::move(spec));
    }
  }
  return roster;
}

absl::StatusOr<SimulationReport> Simulate(const Scenario& scenario, const RouterConfig& config,
                                          Policy policy, const std::vector<ContactPlan>& plan,
                                          SimulationOptions options) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<AgentSpec> roster = BuildRoster(scenario);
  std::unique_ptr<Dispatcher> dispatcher;
  switch (policy) {
    case Policy::kRouter: {
      CCR_ASSIGN_OR_RETURN(dispatcher,
                           RouterDispatcher::Create(config, roster, options.check_wait_estimates));
      break;
    }
    case Policy::kFifoLinear:
      dispatcher =
          std::make_unique<QueueDispatcher>(config, roster, AgentChoice::kLinear, scenario.seed);
      break;
    case Policy::kFifoLongestIdle:
      dispatcher = std::make_unique<QueueDispatcher>(config, roster, AgentChoice::kLongestIdle,
                                                     scenario.seed);
      break;
    case Policy::kFifoRoundRobin:
      dispatcher = std::make_unique<QueueDispatcher>(config, roster, AgentChoice::kRoundRobin,
                                                     scenario.seed);
      break;
    case Policy::kFifoRingAll:
      dispatcher =
          std::make_unique<QueueDispatcher>(config, roster, AgentChoice::kRingAll, scenario.seed);
      break;
    case Policy::kGcMu:
      dispatcher = std::make_unique<QueueDispatcher>(config, roster, QueueChoice::kGcMu,
                                                     PlannedLoads(scenario, config, plan));
      break;
    case Policy::kFixedQueueRatio:
      dispatcher = std::make_unique<QueueDispatcher>(config, roster, QueueChoice::kFixedQueueRatio,
                                                     PlannedLoads(scenario, config, plan));
      break;
    case Policy::kSkillPriority:
      dispatcher = std::make_unique<QueueDispatcher>(config, roster, QueueChoice::kSkillPriority,
                                                     PlannedLoads(scenario, config, plan));
      break;
  }
  SimulationReport report;
  report.scenario = scenario.name;
  report.policy = PolicyName(policy);
  report.seed = scenario.seed;
  report.duration_hours = scenario.duration_hours;
  report.warmup_hours = scenario.warmup_hours;
  report.interval_minutes = scenario.interval_minutes;
  report.contacts_planned = plan.size();
  DayRun run(scenario, config, plan, std::move(roster), dispatcher.get());
  CCR_RETURN_IF_ERROR(run.Run(&report));
  report.policy_counters = dispatcher->Counters();
  report.wait_accuracy = dispatcher->WaitAccuracy();
  report.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace ccr::sim
