// ccload: demo traffic and load for ccrouterd.
//
// Threads, and what each owns:
//   main         signals (taken synchronously with sigtimedwait), the figures
//                printed every --stats-interval, the shutdown.
//   arrivals     the Poisson clock and the TrafficMix; submits are async unary
//                calls, so the clock never waits on a reply (open loop).
//   scheduler    every timed action (Scheduler, an Asio timer thread): accept
//                delays, handle and wrap-up times, heartbeats, reconnects,
//                customer patience. Actions only queue small writes or start
//                async calls.
//   desk queues  --desk-queues threads, each draining the completion queue of
//                a share of the agents' AgentDesk streams (DeskClient): they
//                count and schedule, never block.
//   gRPC         completions of submits and hang-ups (GatewayClient): the
//                same.
// `--bench` runs the same clients with fixed delays (bench_runner.h).
// Customer ids and phone numbers are personal data: nothing here prints them.
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ccrouter/v1/admin.grpc.pb.h"
#include "ccrouter/v1/agent_desk.grpc.pb.h"
#include "tools/ccload/agent_roster.h"
#include "tools/ccload/bench_runner.h"
#include "tools/ccload/channels.h"
#include "tools/ccload/customer_patience.h"
#include "tools/ccload/desk_client.h"
#include "tools/ccload/gateway_client.h"
#include "tools/ccload/load_options.h"
#include "tools/ccload/load_report.h"
#include "tools/ccload/run_counters.h"
#include "tools/ccload/scheduler.h"
#include "tools/ccload/traffic_mix.h"

namespace ccr::load {
namespace {

namespace v1 = ::ccrouter::v1;
using Clock = std::chrono::steady_clock;

constexpr int kExitOk = 0;
constexpr int kExitUnreachable = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInterrupted = 130;

constexpr double kRpcTimeoutSeconds = 5;
constexpr double kConnectTimeoutSeconds = 5;
constexpr double kLoginWaitSeconds = 3;
constexpr double kLogoutWaitSeconds = 3;
// Open loop, but not without bound: beyond this many unanswered submits new
// arrivals are counted as "Submit not sent RESOURCE_EXHAUSTED" and not sent.
constexpr int kMaxSubmitsInFlight = 10000;
constexpr auto kSignalPollInterval = std::chrono::milliseconds(100);

Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

std::chrono::system_clock::time_point DeadlineAfter(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(seconds));
}

// SIGINT and SIGTERM, blocked in every thread and taken by the main thread.
class StopSignals {
 public:
  // Must run before any thread starts (ours or gRPC's) so all inherit the mask.
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }

  // Waits up to `timeout` for a stop signal; true when one came.
  bool Wait(Clock::duration timeout) {
    const auto ns =
        std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count());
    const timespec ts{static_cast<time_t>(ns / 1'000'000'000),
                      static_cast<long>(ns % 1'000'000'000)};
    const int signal = sigtimedwait(&set_, nullptr, &ts);
    return signal == SIGINT || signal == SIGTERM;
  }

  // During shutdown: a second Ctrl-C means "now".
  void ExitIfInterruptedAgain() {
    if (Wait(Clock::duration::zero())) {
      std::fprintf(stderr, "ccload: interrupted again, exiting without a clean logout\n");
      std::_Exit(kExitInterrupted);
    }
  }

 private:
  sigset_t set_;
};

// The demo's gateways: one Poisson arrival clock drawing from the
// TrafficMix on a thread of its own (open loop: it never waits on a reply),
// unary submits through a GatewayClient, and customers who hang up.
class DemoGateways {
 public:
  DemoGateways(std::shared_ptr<grpc::Channel> channel, const LoadOptions& options,
               TrafficMixConfig mix, Scheduler& scheduler, RunCounters& counters)
      : rate_per_second_(options.rate_per_second),
        mix_(std::move(mix), options.seed),
        counters_(counters),
        patience_(scheduler, [this](const std::string& contact_id) { HangUp(contact_id); }),
        client_(std::move(channel),
                GatewayOptions{.stream = false, .rpc_timeout_seconds = kRpcTimeoutSeconds},
                counters, [this](const SubmitAnswer& answer) { OnAnswer(answer); }),
        run_id_(absl::StrFormat(
            "%x", std::chrono::system_clock::now().time_since_epoch().count() & 0xffffffffffff)) {}

  ~DemoGateways() { StopArrivals(); }

  CustomerPatience& patience() { return patience_; }

  void Start() {
    if (rate_per_second_ > 0) thread_ = std::thread([this] { ArrivalLoop(); });
  }

  void StopArrivals() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

  // REQUIRES: arrivals and the scheduler stopped, so nothing starts new calls.
  void WaitForReplies() {
    client_.Finish();
    client_.WaitDone(Seconds(2 * kRpcTimeoutSeconds));
  }

 private:
  void ArrivalLoop() {
    Clock::time_point next = Clock::now();
    uint64_t sequence = 0;
    for (;;) {
      // Open loop: late arrivals are sent at once, but after a stall (a
      // suspended process) at most a second's worth.
      next = std::max(next, Clock::now() - std::chrono::seconds(1));
      next += Seconds(mix_.NextInterArrivalSeconds(rate_per_second_));
      {
        std::unique_lock lock(mu_);
        if (cv_.wait_until(lock, next, [this] { return stopping_; })) return;
      }
      DropMissingQueues();
      if (!mix_.HasQueues()) {
        std::fprintf(stderr,
                     "ccload: none of the mix's queues exists on the engine; no more contacts "
                     "(agents keep working; check --mix against the engine's config)\n");
        return;
      }
      Arrival arrival = mix_.NextArrival();
      arrival.spec.set_idempotency_key(absl::StrCat("ccload-", run_id_, "-", ++sequence));
      const Clock::time_point now = Clock::now();
      if (counters_.in_flight.load(std::memory_order_relaxed) >= kMaxSubmitsInFlight) {
        counters_.SubmitNotSent(now, kMaxSubmitsInFlight);
        continue;
      }
      client_.Submit(std::move(arrival.spec), now, arrival.patience_seconds);
    }
  }

  // Arrival thread: applies what submit replies learnt about missing queues.
  void DropMissingQueues() {
    std::vector<std::string> missing;
    {
      std::lock_guard lock(mu_);
      missing.swap(missing_queues_);
    }
    for (const std::string& queue : missing) {
      if (mix_.DropQueue(queue)) {
        std::fprintf(stderr,
                     "ccload: the engine has no queue '%s' (Submit answered NOT_FOUND); no longer "
                     "sending to it\n",
                     queue.c_str());
      }
    }
  }

  // gRPC callback thread: bookkeeping only (RunCounters has counted it).
  void OnAnswer(const SubmitAnswer& answer) {
    if (answer.code == static_cast<int>(grpc::StatusCode::NOT_FOUND)) {
      // Said once, by the arrival thread when it drops the queue.
      std::lock_guard lock(mu_);
      missing_queues_.push_back(answer.queue);
      return;
    }
    if (answer.code != 0) return;
    const v1::SubmitReply& reply = *answer.reply;
    // Offered at once: the customer still waits for the agent to pick up.
    if (answer.patience_seconds > 0 &&
        (reply.state() == v1::CONTACT_STATE_QUEUED || reply.state() == v1::CONTACT_STATE_OFFERED)) {
      patience_.Watch(reply.contact_id(), answer.patience_seconds);
    }
  }

  // The customer hangs up. Scheduler or gRPC thread; does not block.
  void HangUp(const std::string& contact_id) {
    client_.HangUp(contact_id, [this, contact_id](bool ok) {
      if (ok) patience_.Settled(contact_id);
    });
  }

  const double rate_per_second_;
  TrafficMix mix_;  // arrival thread only
  RunCounters& counters_;
  CustomerPatience patience_;  // before client_: its callbacks use it until client_ is gone
  GatewayClient client_;
  const std::string run_id_;  // keeps idempotency keys unique across runs of one seed

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::vector<std::string> missing_queues_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

absl::StatusOr<v1::ListQueuesReply> ListQueues(v1::Admin::Stub& admin, double timeout_seconds) {
  v1::ListQueuesReply reply;
  grpc::ClientContext context;
  AddToken(context);
  context.set_deadline(DeadlineAfter(timeout_seconds));
  grpc::Status status = admin.ListQueues(&context, v1::ListQueuesRequest(), &reply);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return reply;
}

void PrintReport(const LoadOptions& options, const LoadCounters& counters,
                 const absl::StatusOr<v1::ListQueuesReply>& queues, bool final) {
  if (options.json) {
    std::printf("%s\n", FormatJsonReport(counters, queues, final).c_str());
  } else {
    std::printf("%s", FormatTableReport(counters, queues, final).c_str());
  }
  std::fflush(stdout);
}

int Run(int argc, char** argv) {
  absl::StatusOr<LoadOptions> parsed = ParseArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) {
    std::fprintf(stderr, "ccload: %s\n", std::string(parsed.status().message()).c_str());
    return kExitUsage;
  }
  LoadOptions options = *parsed;
  if (options.help) {
    std::fputs(UsageText(), stdout);
    return kExitOk;
  }
  TrafficMixConfig mix = DefaultTrafficMix();
  if (!options.mix_path.empty()) {
    absl::StatusOr<TrafficMixConfig> read = ReadTrafficMixFile(options.mix_path);
    if (!read.ok()) {
      std::fprintf(stderr, "ccload: --mix: %s\n", std::string(read.status().message()).c_str());
      return kExitUsage;
    }
    mix = *std::move(read);
  }
  if (!options.seed_given) {
    options.seed = std::random_device()() ^ (uint64_t{std::random_device()()} << 32);
  }

  StopSignals signals;  // before any thread starts
  if (options.bench) {
    return RunBench(options, std::move(mix),
                    [&signals](Clock::duration timeout) { return signals.Wait(timeout); });
  }
  // Preflight: find the owner (in cluster mode the listed nodes redirect
  // to it), check it is ccrouterd and has the mix's queues.
  const double connect_timeout_seconds =
      options.duration_seconds > 0 ? std::min(kConnectTimeoutSeconds, options.duration_seconds)
                                   : kConnectTimeoutSeconds;
  bool interrupted = false;
  OwnerFound owner = FindOwner(options.servers, connect_timeout_seconds, kRpcTimeoutSeconds,
                               [&](Clock::duration pause) {
                                 interrupted = signals.Wait(pause);
                                 return interrupted;
                               });
  if (interrupted) return kExitOk;
  const std::string& server = owner.address;
  if (owner.status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      owner.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    absl::FPrintF(stderr,
                  "ccload: cannot reach ccrouterd within %gs; tried %s. Is it running? "
                  "(`bash tools/run` starts one with demo traffic; --server "
                  "HOST:PORT[,HOST:PORT...])\n",
                  connect_timeout_seconds,
                  owner.failed_attempts.empty()
                      ? absl::StrCat(server, " (", owner.status.error_message(), ")")
                      : absl::StrJoin(owner.failed_attempts, ", "));
    return kExitUnreachable;
  }
  std::shared_ptr<grpc::Channel> channel = OpenChannel(server);
  std::unique_ptr<v1::Admin::Stub> admin = v1::Admin::NewStub(channel);
  absl::StatusOr<v1::ListQueuesReply> engine_queues = owner.queues;
  if (!owner.status.ok()) {
    engine_queues = absl::Status(static_cast<absl::StatusCode>(owner.status.error_code()),
                                 owner.status.error_message());
  }
  if (!engine_queues.ok()) {
    if (engine_queues.status().code() == absl::StatusCode::kUnimplemented) {
      absl::FPrintF(stderr,
                    "ccload: %s answers gRPC but not ccrouter.v1.Admin (%s). Is it ccrouterd?\n",
                    server, engine_queues.status().ToString());
      return kExitUnreachable;
    }
    absl::FPrintF(stderr,
                  "ccload: Admin.ListQueues at %s failed (%s); going on without checking the "
                  "mix's queues\n",
                  server, engine_queues.status().ToString());
  } else if (options.rate_per_second > 0) {
    std::map<std::string, v1::Channel> names;
    for (const v1::QueueSnapshot& q : engine_queues->queues()) names[q.name()] = q.channel();
    for (const std::string& why : KeepQueuesTheEngineHas(names, mix)) {
      absl::FPrintF(stderr, "ccload: %s; not sending to it\n", why);
    }
    if (mix.queues.empty()) {
      std::vector<std::string> have;
      for (const auto& [name, channel] : names) {
        have.push_back(absl::StrCat(name, " (", ChannelName(channel), ")"));
      }
      absl::FPrintF(stderr,
                    "ccload: none of the mix's queues is on the engine, which has: %s. Name them "
                    "in a mix file (--mix FILE, see tools/ccload/mix.example.yaml)\n",
                    absl::StrJoin(have, ", "));
      return kExitUnreachable;
    }
  }

  absl::FPrintF(
      options.json ? stderr : stdout,
      "ccload: %s  agents %d  rate %g/s  %s  seed %d  mix %s (%d queue%s)%s\n", server.c_str(),
      options.agents, options.rate_per_second,
      options.duration_seconds > 0 ? absl::StrCat("duration ", options.duration_seconds, "s")
                                   : "until Ctrl-C",
      options.seed, options.mix_path.empty() ? "built-in" : options.mix_path, mix.queues.size(),
      mix.queues.size() == 1 ? "" : "s", options.duration_seconds > 0 ? "" : "  (Ctrl-C to stop)");
  std::fflush(stdout);

  // Where agents and gateways move when ownership moves (cluster mode);
  // outlives both.
  ChannelsByAddress moved_channels;
  RunCounters counters;
  Scheduler scheduler;
  DemoGateways gateways(channel, options, mix, scheduler, counters);

  // WebSocket desktops' threads (--desk-transport websocket): they outlive the agents.
  std::optional<WebSocketDeskThreads> websocket_threads;
  if (options.websocket_desks) websocket_threads.emplace(kWebSocketDeskThreads);
  // gRPC desktops' completion queues and their threads: they outlive the agents.
  std::optional<DeskCompletionQueues> desk_queues;
  if (!options.websocket_desks && options.agents > 0) desk_queues.emplace(options.desk_queues);
  // Agents on gRPC, kAgentsPerChannel to a connection, their streams spread
  // over the completion queues.
  std::vector<std::shared_ptr<grpc::Channel>> agent_channels;
  std::vector<std::unique_ptr<v1::AgentDesk::Stub>> desk_stubs;
  std::vector<std::unique_ptr<DeskClient>> agents;
  std::vector<v1::Login> roster = MakeAgentRoster(options.agents, mix, options.seed + 1);
  for (size_t i = 0; i < roster.size(); ++i) {
    if (i % kAgentsPerChannel == 0) {
      agent_channels.push_back(i == 0 ? channel : OpenChannel(server));
      desk_stubs.push_back(v1::AgentDesk::NewStub(agent_channels.back()));
    }
    agents.push_back(std::make_unique<DeskClient>(
        *desk_stubs.back(), std::move(roster[i]),
        std::make_unique<RandomDeskPolicy>(DeskBehaviour(mix, options.seed + 1000 + i)), scheduler,
        counters, &gateways.patience()));
    if (options.websocket_desks) {
      agents.back()->UseWebSocket({&websocket_threads->io(), options.http_host, options.http_port});
      continue;
    }
    agents.back()->UseCompletionQueues(*desk_queues);
    agents.back()->FollowOwner(server, options.servers, moved_channels,
                               static_cast<int>(i / kAgentsPerChannel));
  }
  for (auto& agent : agents) agent->Start();

  const Clock::time_point start = Clock::now();
  auto elapsed_seconds = [start] {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  const Clock::time_point end = start + Seconds(options.duration_seconds);
  bool stop = false;
  // Contacts start once the agents are in (or have had their chance).
  const Clock::time_point login_give_up = start + Seconds(kLoginWaitSeconds);
  while (!stop && counters.agents_logged_in.load() < options.agents &&
         Clock::now() < login_give_up &&
         std::none_of(agents.begin(), agents.end(), [](auto& a) { return a->Done(); })) {
    stop = signals.Wait(std::chrono::milliseconds(20));
  }
  if (!stop) gateways.Start();

  Clock::time_point next_stats = Clock::now() + Seconds(options.stats_interval_seconds);
  while (!stop) {
    Clock::time_point wake = next_stats;
    if (options.duration_seconds > 0) wake = std::min(wake, end);
    if (signals.Wait(wake - Clock::now())) break;
    const Clock::time_point now = Clock::now();
    if (options.duration_seconds > 0 && now >= end) break;
    if (now >= next_stats) {
      const double timeout = std::min(2.0, options.stats_interval_seconds);
      absl::StatusOr<v1::ListQueuesReply> queues = ListQueues(*admin, timeout);
      PrintReport(options, counters.Snapshot(elapsed_seconds(), options.seed, options.agents),
                  queues, /*final=*/false);
      next_stats += Seconds(options.stats_interval_seconds);
      if (next_stats < Clock::now())
        next_stats = Clock::now() + Seconds(options.stats_interval_seconds);
    }
  }

  // Shutdown: no new contacts; the queues as they stand; no more agent work;
  // a clean logout on every stream; the last replies.
  gateways.StopArrivals();
  const double stopped_after_seconds = elapsed_seconds();
  const int agents_logged_in_at_stop = counters.agents_logged_in.load();
  absl::StatusOr<v1::ListQueuesReply> final_queues = ListQueues(*admin, 2);
  scheduler.Stop();
  if (!agents.empty()) {
    std::fprintf(stderr, "ccload: stopping: logging %zu agents out\n", agents.size());
  }
  for (auto& agent : agents) agent->Close();
  const Clock::time_point logout_give_up = Clock::now() + Seconds(kLogoutWaitSeconds);
  for (auto& agent : agents) {
    while (!agent->WaitDone(kSignalPollInterval) && Clock::now() < logout_give_up) {
      signals.ExitIfInterruptedAgain();
    }
  }
  int cancelled = 0;
  for (auto& agent : agents) {
    if (!agent->Done()) {
      agent->Cancel();
      ++cancelled;
    }
  }
  if (cancelled > 0) {
    std::fprintf(stderr, "ccload: %d agent streams did not close within %gs; cancelled them\n",
                 cancelled, kLogoutWaitSeconds);
  }
  agents.clear();  // waits for every stream's end
  gateways.WaitForReplies();

  LoadCounters final_counters =
      counters.Snapshot(stopped_after_seconds, options.seed, options.agents);
  final_counters.agents_logged_in = agents_logged_in_at_stop;
  PrintReport(options, final_counters, final_queues, /*final=*/true);
  return kExitOk;
}

}  // namespace
}  // namespace ccr::load

int main(int argc, char** argv) { return ccr::load::Run(argc, argv); }
