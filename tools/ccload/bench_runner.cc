// Threads, and what each owns:
//   main       the run's phases (login, warm-up, measure, drain), the progress
//              line, the final figures.
//   arrivals   open loop only: the ArrivalSchedule; hands each due contact to
//              a gateway with its intended send time. Never waits on a reply.
//   scheduler  the agents' accept delay, handle time, wrap-up and heartbeats
//              (Scheduler); zero delays run inline.
//   gRPC       reactions of every gateway and agent stream: they count,
//              record latency, and queue the next write. Nothing blocks.
#include "tools/ccload/bench_runner.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ccrouter/v1/admin.grpc.pb.h"
#include "ccrouter/v1/agent_desk.grpc.pb.h"
#include "tools/ccload/agent_roster.h"
#include "tools/ccload/arrival_schedule.h"
#include "tools/ccload/bench_report.h"
#include "tools/ccload/channels.h"
#include "tools/ccload/desk_client.h"
#include "tools/ccload/gateway_client.h"
#include "tools/ccload/run_counters.h"
#include "tools/ccload/scheduler.h"

namespace ccr::load {
namespace {

namespace v1 = ::ccrouter::v1;
using Clock = std::chrono::steady_clock;

// Open loop: beyond this many unanswered submits an arrival is counted as
// not sent (and reported) instead of growing the client without bound.
constexpr int64_t kMaxInFlight = 200000;
constexpr double kRpcTimeoutSeconds = 10;
constexpr double kLoginWaitSeconds = 60;
constexpr double kDrainSeconds = 5;
constexpr size_t kArrivalPool = 4096;  // distinct contact shapes, reused round robin

int64_t SteadyNanos(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Contact shapes drawn from the traffic mix once, before the clock starts,
// so building a request costs a copy, not the mix's random draws.
class ContactPool {
 public:
  ContactPool(TrafficMixConfig mix, uint64_t seed) : run_id_(absl::StrFormat("%x", seed)) {
    TrafficMix traffic(std::move(mix), seed);
    for (size_t i = 0; i < kArrivalPool; ++i) specs_.push_back(traffic.NextArrival().spec);
  }

  // The next contact, to be sent at `intended`. Thread-safe.
  v1::ContactSpec Next(Clock::time_point intended) {
    const uint64_t n = next_.fetch_add(1, std::memory_order_relaxed);
    v1::ContactSpec spec = specs_[n % specs_.size()];
    spec.set_idempotency_key(absl::StrCat("bench-", run_id_, "-", n));
    (*spec.mutable_attributes())[kSentAtAttribute] = absl::StrCat(SteadyNanos(intended));
    return spec;
  }

 private:
  const std::string run_id_;
  std::vector<v1::ContactSpec> specs_;  // constant after construction
  std::atomic<uint64_t> next_{0};
};

// Open loop: hands every due arrival to the gateways, round robin, with its
// intended send time; stops at `end`.
void RunArrivals(double rate_per_second, uint64_t seed, Clock::time_point start,
                 Clock::time_point end, std::vector<std::unique_ptr<GatewayClient>>& gateways,
                 ContactPool& pool, RunCounters& counters, const std::atomic<bool>& stop) {
  ArrivalSchedule schedule(rate_per_second, seed, start);
  size_t next_gateway = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    const Clock::time_point now = std::min(Clock::now(), end);
    for (Clock::time_point intended : schedule.DueBy(now, 1024)) {
      if (counters.in_flight.load(std::memory_order_relaxed) >= kMaxInFlight) {
        counters.SubmitNotSent(intended, kMaxInFlight);
        continue;
      }
      if (!gateways[next_gateway]->Submit(pool.Next(intended), intended)) {
        counters.SubmitNotSent(intended, kMaxInFlight);
      }
      next_gateway = (next_gateway + 1) % gateways.size();
    }
    if (schedule.NextDue() >= end) {
      if (Clock::now() >= end) return;
      std::this_thread::sleep_until(end);
      continue;
    }
    if (schedule.NextDue() > Clock::now()) std::this_thread::sleep_until(schedule.NextDue());
  }
}

}  // namespace

int RunBench(const LoadOptions& options, TrafficMixConfig mix,
             const std::function<bool(Clock::duration)>& wait_for_stop) {
  auto seconds = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  const double duration_seconds = options.duration_seconds > 0 ? options.duration_seconds : 10;

  // Preflight: find the owner (in cluster mode the listed nodes redirect
  // to it), and (unless baseline) which of the mix's queues it has. The
  // echo server answers UNIMPLEMENTED, which finds it as well.
  const OwnerFound owner = FindOwner(options.servers, 5, 5, wait_for_stop);
  const std::string& server = owner.address;
  if (owner.status.error_code() == grpc::UNAVAILABLE ||
      owner.status.error_code() == grpc::DEADLINE_EXCEEDED) {
    std::fprintf(stderr, "ccload: cannot reach a server within 5s; tried %s\n",
                 owner.failed_attempts.empty()
                     ? absl::StrCat(server, " (", owner.status.error_message(), ")").c_str()
                     : absl::StrJoin(owner.failed_attempts, ", ").c_str());
    return 1;
  }
  std::unique_ptr<v1::Admin::Stub> admin = v1::Admin::NewStub(OpenChannel(server));
  auto list_queues = [&admin](v1::ListQueuesReply* reply) {
    grpc::ClientContext context;
    AddToken(context);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return admin->ListQueues(&context, v1::ListQueuesRequest(), reply);
  };
  if (!options.baseline) {
    const v1::ListQueuesReply& queues = owner.queues;
    const grpc::Status& status = owner.status;
    if (!status.ok()) {
      std::fprintf(
          stderr, "ccload: Admin.ListQueues at %s failed (%s); is it ccrouterd?%s\n",
          server.c_str(), status.error_message().c_str(),
          status.error_code() == grpc::UNIMPLEMENTED ? " (use --baseline for echo_server)" : "");
      return 1;
    }
    std::map<std::string, v1::Channel> names;
    for (const v1::QueueSnapshot& q : queues.queues()) names[q.name()] = q.channel();
    for (const std::string& why : KeepQueuesTheEngineHas(names, mix)) {
      std::fprintf(stderr, "ccload: %s; not sending to it\n", why.c_str());
    }
    if (mix.queues.empty()) {
      std::fprintf(stderr, "ccload: none of the mix's queues is on the engine\n");
      return 1;
    }
  }

  const bool closed_loop = options.rate_per_second <= 0;
  auto milliseconds = [](double ms) {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double, std::milli>(ms));
  };
  const FixedDelayDeskPolicy::Delays delays{.accept = milliseconds(options.accept_delay_ms),
                                            .handle = milliseconds(options.handle_ms),
                                            .wrap_up = milliseconds(options.wrap_up_ms)};
  ContactPool pool(mix, options.seed);

  RunCounters counters;
  // Nothing counts until the measured window is set, after the logins.
  counters.SetMeasuredWindow(Clock::time_point::max(), Clock::time_point::max());
  Scheduler scheduler;
  // Where agents and gateways move when ownership moves (cluster mode).
  ChannelsByAddress moved_channels;
  // WebSocket desktops' threads (--desk-transport websocket): they outlive the agents.
  std::optional<WebSocketDeskThreads> websocket_threads;
  if (options.websocket_desks) websocket_threads.emplace(kWebSocketDeskThreads);
  // gRPC desktops' completion queues and their threads: they outlive the agents.
  std::optional<DeskCompletionQueues> desk_queues;
  if (!options.websocket_desks && options.agents > 0) desk_queues.emplace(options.desk_queues);
  std::vector<std::shared_ptr<grpc::Channel>> agent_channels;
  std::vector<std::unique_ptr<v1::AgentDesk::Stub>> desk_stubs;
  std::vector<std::unique_ptr<DeskClient>> agents;
  std::vector<v1::Login> roster = MakeAgentRoster(options.agents, mix, options.seed + 1);
  for (size_t i = 0; i < roster.size(); ++i) {
    roster[i].set_agent_id(absl::StrFormat("bench-%05d", i + 1));
    roster[i].set_display_name(absl::StrFormat("Bench Agent %d", i + 1));
    if (i % kAgentsPerChannel == 0) {
      agent_channels.push_back(OpenChannel(server));
      desk_stubs.push_back(v1::AgentDesk::NewStub(agent_channels.back()));
    }
    agents.push_back(std::make_unique<DeskClient>(*desk_stubs.back(), std::move(roster[i]),
                                                  std::make_unique<FixedDelayDeskPolicy>(delays),
                                                  scheduler, counters));
    if (options.websocket_desks) {
      agents.back()->UseWebSocket({&websocket_threads->io(), options.http_host, options.http_port});
      continue;
    }
    agents.back()->UseCompletionQueues(*desk_queues);
    agents.back()->FollowOwner(server, options.servers, moved_channels,
                               static_cast<int>(i / kAgentsPerChannel));
  }
  const Clock::time_point login_start = Clock::now();
  for (auto& agent : agents) agent->Start();
  bool stop = false;
  while (counters.agents_logged_in.load() < options.agents &&
         Clock::now() < login_start + seconds(kLoginWaitSeconds)) {
    if (wait_for_stop(std::chrono::milliseconds(20))) {
      stop = true;
      break;
    }
  }
  if (options.agents > 0) {
    std::fprintf(stderr, "ccload: %d of %d agents logged in after %.1fs\n",
                 counters.agents_logged_in.load(), options.agents,
                 std::chrono::duration<double>(Clock::now() - login_start).count());
  }

  // The run: warm-up, then the measured window.
  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_begin = start + seconds(options.warmup_seconds);
  const Clock::time_point measure_end = measure_begin + seconds(duration_seconds);
  counters.SetMeasuredWindow(measure_begin, measure_end);
  std::vector<std::unique_ptr<GatewayClient>> gateways;
  for (int i = 0; i < options.gateways; ++i) {
    GatewayClient::AnswerObserver on_answer;
    if (closed_loop) {
      // Every answer sends the next submit. (The vector is complete before
      // the first submit, so indexing it here is safe.)
      on_answer = [&gateways, &pool, i](const SubmitAnswer& answer) {
        gateways[i]->Submit(pool.Next(answer.answered), answer.answered);
      };
    }
    gateways.push_back(
        std::make_unique<GatewayClient>(OpenChannel(server),
                                        GatewayOptions{.stream = options.stream_ingest,
                                                       .rpc_timeout_seconds = kRpcTimeoutSeconds,
                                                       .follow_owner = &moved_channels},
                                        counters, std::move(on_answer)));
    gateways.back()->Start();
  }
  std::atomic<bool> stop_arrivals{false};
  std::thread arrivals;
  if (!stop) {
    if (closed_loop) {
      for (auto& gateway : gateways) {
        for (int w = 0; w < options.window; ++w) {
          const Clock::time_point now = Clock::now();
          gateway->Submit(pool.Next(now), now);
        }
      }
    } else {
      arrivals = std::thread([&] {
        RunArrivals(options.rate_per_second, options.seed + 7, start, measure_end, gateways, pool,
                    counters, stop_arrivals);
      });
    }
  }

  // Progress until the window ends (the agents heartbeat on the scheduler).
  Clock::time_point next_progress = start + seconds(options.stats_interval_seconds);
  uint64_t acked_at_last_progress = 0;
  Clock::time_point last_progress = start;
  while (!stop && Clock::now() < measure_end) {
    const Clock::time_point wake = std::min(next_progress, measure_end);
    if (wait_for_stop(wake - Clock::now())) {
      stop = true;
      break;
    }
    const Clock::time_point now = Clock::now();
    if (now >= next_progress) {
      const uint64_t acked = counters.all_acked.load();
      const double interval = std::chrono::duration<double>(now - last_progress).count();
      const bool warming_up = now < measure_begin;
      const double acks_per_second = interval > 0 ? (acked - acked_at_last_progress) / interval : 0;
      std::fprintf(stderr, "%s\n",
                   FormatBenchProgress(std::chrono::duration<double>(now - start).count(),
                                       warming_up, acks_per_second, acked,
                                       counters.all_offers.load(), counters.all_errors.load(),
                                       counters.in_flight.load(), counters.submit_to_ack.Snapshot())
                       .c_str());
      acked_at_last_progress = acked;
      last_progress = now;
      next_progress = now + seconds(options.stats_interval_seconds);
    }
  }
  const Clock::time_point stopped = std::min(Clock::now(), measure_end);

  // Drain: no new contacts; the last replies and offers come in.
  stop_arrivals = true;
  if (arrivals.joinable()) arrivals.join();
  for (auto& gateway : gateways) gateway->Finish();
  const Clock::time_point drain_until = Clock::now() + seconds(kDrainSeconds);
  for (auto& gateway : gateways) {
    if (!gateway->WaitDone(std::max(Clock::duration::zero(), drain_until - Clock::now()))) {
      gateway->Cancel();
    }
  }
  for (auto& gateway : gateways) gateway->WaitDone(seconds(kRpcTimeoutSeconds));
  // Offers for the last acked contacts: give them a moment (or until every
  // counted ack has its offer, when agents take everything).
  if (!agents.empty()) {
    const Clock::time_point offers_until = Clock::now() + seconds(1);
    while (Clock::now() < offers_until && counters.offers.load() < counters.acked.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  BenchSummary summary;
  summary.server = server;
  summary.baseline = options.baseline;
  summary.stream_ingest = options.stream_ingest;
  summary.open_loop = !closed_loop;
  summary.target_rate_per_second = closed_loop ? 0 : options.rate_per_second;
  summary.gateways = options.gateways;
  summary.window = closed_loop ? options.window : 0;
  summary.agents = options.agents;
  summary.agents_logged_in = counters.agents_logged_in.load();
  summary.warmup_seconds = options.warmup_seconds;
  summary.measured_seconds =
      std::max(0.0, std::chrono::duration<double>(stopped - measure_begin).count());
  if (!options.baseline) {
    v1::ListQueuesReply queues;
    const grpc::Status status = list_queues(&queues);
    if (status.ok()) {
      for (const v1::QueueSnapshot& q : queues.queues()) {
        summary.queues.push_back({q.name(), q.answered(), q.answered_within_target(),
                                  q.service_level(), q.target_ratio(), q.target_seconds(),
                                  q.queued()});
      }
    } else {
      summary.engine_figures_error = status.error_message();
    }
  }

  // Log the agents out; cancel whoever does not finish in time.
  scheduler.Stop();
  for (auto& agent : agents) agent->Close();
  const Clock::time_point logout_until = Clock::now() + seconds(kDrainSeconds);
  for (auto& agent : agents) {
    if (!agent->WaitDone(std::max(Clock::duration::zero(), logout_until - Clock::now()))) {
      agent->Cancel();
    }
  }
  for (auto& agent : agents) agent->WaitDone(seconds(kRpcTimeoutSeconds));

  summary.submitted = counters.submitted.load();
  summary.acked = counters.acked.load();
  summary.offers = counters.offers.load();
  summary.not_sent = counters.not_sent.load();
  summary.acked_all = counters.all_acked.load();
  summary.unanswered = counters.unanswered.load();
  summary.errors = counters.errors();
  summary.submit_to_ack = counters.submit_to_ack.Snapshot();
  summary.submit_to_offer = counters.submit_to_offer.Snapshot();
  if (options.json) {
    std::printf("%s\n", FormatBenchJson(summary).c_str());
  } else {
    std::printf("%s", FormatBenchTable(summary).c_str());
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace ccr::load
