// ccload: demo traffic and load for ccrouterd.
//
// Threads, and what each owns:
//   main         signals (taken synchronously with sigtimedwait), the figures
//                printed every --stats-interval, the shutdown.
//   arrivals     the Poisson clock and the TrafficMix; submits are async unary
//                calls, so the clock never waits on a reply (open loop).
//   scheduler    every timed action: accept delays, handle and wrap-up times,
//                heartbeats, customer patience. Actions only write small
//                messages or start async calls.
//   one / agent  the agent's AgentDesk stream (sync API): connects, logs in,
//                reads offers, reconnects with backoff if the stream breaks.
//   gRPC         completion callbacks of submits and hang-ups: they count and
//                schedule, never block.
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
#include <queue>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ccrouter/v1/admin.grpc.pb.h"
#include "ccrouter/v1/agent_desk.grpc.pb.h"
#include "ccrouter/v1/ingest.grpc.pb.h"
#include "tools/ccload/agent_roster.h"
#include "tools/ccload/bench_runner.h"
#include "tools/ccload/load_options.h"
#include "tools/ccload/load_report.h"
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
constexpr double kDefaultHeartbeatSeconds = 5;
constexpr double kNotReadyPauseSeconds =
    5;  // a simulated agent set not-ready comes back after this
constexpr double kMaxReconnectBackoffSeconds = 10;
constexpr int kMaxDescribedErrors = 20;
// Open loop, but not without bound: beyond this many unanswered submits new
// arrivals are counted as "Submit LOCAL_BACKLOG" and not sent.
constexpr int kMaxSubmitsInFlight = 10000;
// The engine pings every 10 s and accepts client pings every 4 s or more.
constexpr int kKeepaliveTimeMs = 20'000;
constexpr int kKeepaliveTimeoutMs = 10'000;
constexpr auto kSignalPollInterval = std::chrono::milliseconds(100);

Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

std::chrono::system_clock::time_point DeadlineAfter(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(seconds));
}

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
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

// Runs timed actions in deadline order on one thread. An action must not
// block for long: every simulated agent shares this thread.
class Scheduler {
 public:
  Scheduler() : thread_([this] { Run(); }) {}
  ~Scheduler() { Stop(); }

  // Ignored once stopped.
  void After(double seconds, std::function<void()> action) {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    items_.push(Item{Clock::now() + Seconds(seconds), next_sequence_++, std::move(action)});
    cv_.notify_one();
  }

  // Drops pending actions, waits for a running one, joins. Idempotent.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Item {
    Clock::time_point when;
    uint64_t sequence;  // ties run in scheduling order
    std::function<void()> action;
    bool operator>(const Item& o) const {
      return when != o.when ? when > o.when : sequence > o.sequence;
    }
  };

  void Run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (items_.empty()) {
        cv_.wait(lock);
        continue;
      }
      // A copy: After() may reallocate items_ while this waits.
      const Clock::time_point next_due = items_.top().when;
      if (Clock::now() < next_due) {
        cv_.wait_until(lock, next_due);
        continue;
      }
      // top() is const; the item is popped right after, so moving out is safe.
      std::function<void()> action = std::move(const_cast<Item&>(items_.top()).action);
      items_.pop();
      lock.unlock();
      action();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> items_;  // GUARDED_BY(mu_)
  uint64_t next_sequence_ = 0;                                              // GUARDED_BY(mu_)
  bool stopping_ = false;                                                   // GUARDED_BY(mu_)
  std::thread thread_;  // last: starts after the members above exist
};

// ccload's own totals, updated from every thread.
class LiveCounters {
 public:
  std::atomic<uint64_t> submitted{0}, acked{0}, duplicates{0}, offers{0}, accepts{0}, rejects{0},
      withdrawn{0}, completes{0}, wrap_ups{0}, abandons{0};
  std::atomic<int> agents_logged_in{0};

  // Counts a failed call as "<rpc> <CODE>"; true the first time for that key.
  bool CountError(const std::string& rpc, int code) {
    std::lock_guard lock(mu_);
    return ++errors_[absl::StrCat(rpc, " ", CodeName(code))] == 1;
  }

  // Counts it and describes the first of each kind on stderr. Server
  // messages name fields; the engine masks customer ids in them.
  void RecordError(const std::string& rpc, int code, const std::string& message,
                   const std::string& context = "") {
    if (!CountError(rpc, code)) return;
    Describe(absl::StrCat(rpc, context.empty() ? "" : " ", context, ": ", CodeName(code),
                          message.empty() ? "" : ": ", message,
                          " (more like it are only counted)"));
  }

  // Describes the first event of kind `key` only.
  void DescribeOnce(const std::string& key, const std::string& what) {
    {
      std::lock_guard lock(mu_);
      if (!described_kinds_.insert(key).second) return;
    }
    Describe(what);
  }

  // One line on stderr, up to a limit so a storm cannot flood the terminal.
  // Anything shaped like a customer id or phone number is masked.
  void Describe(const std::string& what) {
    std::lock_guard lock(mu_);
    if (++described_ <= kMaxDescribedErrors) {
      std::fprintf(stderr, "ccload: %s\n", MaskPersonalData(what).c_str());
    } else if (described_ == kMaxDescribedErrors + 1) {
      std::fprintf(stderr, "ccload: further problems are only counted\n");
    }
  }

  LoadCounters Snapshot(double elapsed_seconds, uint64_t seed, int agents) {
    LoadCounters c;
    c.elapsed_seconds = elapsed_seconds;
    c.seed = seed;
    c.agents = agents;
    c.agents_logged_in = agents_logged_in.load();
    c.submitted = submitted.load();
    c.acked = acked.load();
    c.duplicates = duplicates.load();
    c.offers = offers.load();
    c.accepts = accepts.load();
    c.rejects = rejects.load();
    c.withdrawn = withdrawn.load();
    c.completes = completes.load();
    c.wrap_ups = wrap_ups.load();
    c.abandons = abandons.load();
    std::lock_guard lock(mu_);
    c.errors = errors_;
    return c;
  }

 private:
  std::mutex mu_;
  std::map<std::string, uint64_t> errors_;  // GUARDED_BY(mu_)
  std::set<std::string> described_kinds_;   // GUARDED_BY(mu_)
  int described_ = 0;                       // GUARDED_BY(mu_)
};

// Which submitted contacts a simulated customer is still waiting on. A
// customer hangs up when their patience runs out while nobody has been
// offered the contact; if it is on offer then, they hang up as soon as it
// comes back to the queue (rejected, offer timed out). Thread-safe.
class CustomerPatience {
 public:
  // `hang_up` must not block: it runs on the scheduler or an agent thread.
  CustomerPatience(Scheduler& scheduler, std::function<void(const std::string&)> hang_up)
      : scheduler_(scheduler), hang_up_(std::move(hang_up)) {}

  // The contact was queued; the customer waits at most `patience_seconds`.
  void Watch(const std::string& contact_id, double patience_seconds) {
    {
      std::lock_guard lock(mu_);
      // An agent may have seen the offer before the gateway saw the reply.
      contacts_.try_emplace(contact_id, Phase::kWaiting);
    }
    scheduler_.After(patience_seconds, [this, contact_id] { PatienceRanOut(contact_id); });
  }

  void Offered(const std::string& contact_id) {
    std::lock_guard lock(mu_);
    contacts_[contact_id] = Phase::kOffered;
  }

  void BackInQueue(const std::string& contact_id) {
    bool hang_up = false;
    {
      std::lock_guard lock(mu_);
      auto it = contacts_.find(contact_id);
      if (it == contacts_.end()) return;
      if (it->second == Phase::kOfferedPatienceGone) {
        contacts_.erase(it);
        hang_up = true;
      } else {
        it->second = Phase::kWaiting;
      }
    }
    if (hang_up) hang_up_(contact_id);
  }

  // Answered, abandoned or cancelled: nothing left to wait for.
  void Settled(const std::string& contact_id) {
    std::lock_guard lock(mu_);
    contacts_.erase(contact_id);
  }

 private:
  enum class Phase { kWaiting, kOffered, kOfferedPatienceGone };

  void PatienceRanOut(const std::string& contact_id) {
    {
      std::lock_guard lock(mu_);
      auto it = contacts_.find(contact_id);
      if (it == contacts_.end()) return;  // answered meanwhile
      if (it->second != Phase::kWaiting) {
        it->second = Phase::kOfferedPatienceGone;
        return;
      }
      contacts_.erase(it);
    }
    hang_up_(contact_id);
  }

  Scheduler& scheduler_;
  const std::function<void(const std::string&)> hang_up_;
  std::mutex mu_;
  std::unordered_map<std::string, Phase> contacts_;  // GUARDED_BY(mu_)
};

// Counts in-flight async calls so shutdown can wait for their callbacks.
class InFlightCalls {
 public:
  // False (and nothing added) when `limit` calls are already in flight.
  bool TryAdd(int limit) {
    std::lock_guard lock(mu_);
    if (count_ >= limit) return false;
    ++count_;
    return true;
  }
  void Done() {
    std::lock_guard lock(mu_);
    if (--count_ == 0) cv_.notify_all();
  }
  void WaitIdle() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return count_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;  // GUARDED_BY(mu_)
};

// The simulated gateways: one Poisson arrival clock, async unary submits,
// and customers who hang up.
class Gateways {
 public:
  Gateways(std::shared_ptr<grpc::Channel> channel, const LoadOptions& options, TrafficMixConfig mix,
           Scheduler& scheduler, LiveCounters& counters)
      : stub_(v1::ContactIngest::NewStub(channel)),
        rate_per_second_(options.rate_per_second),
        mix_(std::move(mix), options.seed),
        counters_(counters),
        patience_(scheduler, [this](const std::string& contact_id) { HangUp(contact_id); }),
        run_id_(absl::StrFormat(
            "%x", std::chrono::system_clock::now().time_since_epoch().count() & 0xffffffffffff)) {}

  ~Gateways() {
    StopArrivals();
    WaitForReplies();
  }

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
  void WaitForReplies() { in_flight_.WaitIdle(); }

 private:
  struct SubmitCall {
    grpc::ClientContext context;
    v1::SubmitRequest request;
    v1::SubmitReply reply;
    double patience_seconds = 0;
  };
  struct UpdateCall {
    grpc::ClientContext context;
    v1::UpdateRequest request;
    v1::UpdateReply reply;
  };

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
      Submit(std::move(arrival));
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

  void Submit(Arrival arrival) {
    if (!in_flight_.TryAdd(kMaxSubmitsInFlight)) {
      counters_.RecordError("Submit not sent",
                            static_cast<int>(absl::StatusCode::kResourceExhausted),
                            absl::StrCat(kMaxSubmitsInFlight,
                                         " submits unanswered; not sending more until they are"));
      return;
    }
    counters_.submitted++;
    auto call = std::make_shared<SubmitCall>();
    *call->request.mutable_contact() = std::move(arrival.spec);
    call->patience_seconds = arrival.patience_seconds;
    call->context.set_deadline(DeadlineAfter(kRpcTimeoutSeconds));
    stub_->async()->Submit(&call->context, &call->request, &call->reply,
                           [this, call](grpc::Status status) {
                             OnSubmitted(*call, status);
                             in_flight_.Done();
                           });
  }

  // gRPC callback thread: bookkeeping only.
  void OnSubmitted(const SubmitCall& call, const grpc::Status& status) {
    if (!status.ok()) {
      if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
        // Said once, by the arrival thread when it drops the queue.
        counters_.CountError("Submit", status.error_code());
        std::lock_guard lock(mu_);
        missing_queues_.push_back(call.request.contact().queue());
        return;
      }
      counters_.RecordError("Submit", status.error_code(), status.error_message());
      return;
    }
    counters_.acked++;
    if (call.reply.duplicate()) counters_.duplicates++;
    // Offered at once: the customer still waits for the agent to pick up.
    if (call.patience_seconds > 0 && (call.reply.state() == v1::CONTACT_STATE_QUEUED ||
                                      call.reply.state() == v1::CONTACT_STATE_OFFERED)) {
      patience_.Watch(call.reply.contact_id(), call.patience_seconds);
    }
  }

  // The customer hangs up. Scheduler or agent thread; does not block.
  void HangUp(const std::string& contact_id) {
    if (!in_flight_.TryAdd(kMaxSubmitsInFlight)) return;
    auto call = std::make_shared<UpdateCall>();
    call->request.set_contact_id(contact_id);
    call->request.set_abandoned(true);
    call->context.set_deadline(DeadlineAfter(kRpcTimeoutSeconds));
    stub_->async()->Update(
        &call->context, &call->request, &call->reply, [this, call](grpc::Status status) {
          if (status.ok()) {
            counters_.abandons++;
            patience_.Settled(call->request.contact_id());
          } else if (status.error_code() != grpc::FAILED_PRECONDITION &&
                     status.error_code() != grpc::NOT_FOUND) {
            // Those two: answered or ended meanwhile, not an error.
            counters_.RecordError("Update", status.error_code(), status.error_message());
          }
          in_flight_.Done();
        });
  }

  const std::unique_ptr<v1::ContactIngest::Stub> stub_;
  const double rate_per_second_;
  TrafficMix mix_;  // arrival thread only
  LiveCounters& counters_;
  CustomerPatience patience_;
  const std::string run_id_;  // keeps idempotency keys unique across runs of one seed
  InFlightCalls in_flight_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::vector<std::string> missing_queues_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

// One simulated agent desktop. Its thread owns the stream's reading side and
// its lifetime; writes come from the scheduler and the reader, one at a time
// under write_mu_. Timed actions of a broken stream's session are dropped by
// their session number, except completes and wrap-ups, which go to whatever
// stream is open then (the contact is still the agent's after a reconnect).
class SimulatedAgent {
 public:
  SimulatedAgent(v1::AgentDesk::Stub& stub, v1::Login login, DeskBehaviour behaviour,
                 Scheduler& scheduler, LiveCounters& counters, CustomerPatience& patience)
      : stub_(stub),
        login_(std::move(login)),
        scheduler_(scheduler),
        counters_(counters),
        patience_(patience),
        behaviour_(std::move(behaviour)) {}

  ~SimulatedAgent() {
    Close();
    Cancel();
    Join();
  }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }

  // Half-closes the open stream (the engine logs the agent out and finishes
  // it) and stops reconnecting. Does not wait for a write stuck on flow
  // control: Cancel() ends that.
  void Close() {
    closing_ = true;
    {
      std::lock_guard lock(mu_);
      state_cv_.notify_all();
    }
    std::unique_lock<std::timed_mutex> lock(write_mu_, std::chrono::seconds(1));
    if (lock.owns_lock() && stream_open_ && !half_closed_) {
      half_closed_ = true;
      stream_->WritesDone();
    }
  }

  // True when the agent's thread has finished its last stream.
  bool Done() {
    std::lock_guard lock(mu_);
    return done_;
  }
  bool WaitDone(Clock::duration timeout) {
    std::unique_lock lock(mu_);
    return state_cv_.wait_for(lock, timeout, [this] { return done_; });
  }

  void Cancel() {
    std::lock_guard lock(context_mu_);
    if (context_ != nullptr) context_->TryCancel();
  }

  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  using Stream = grpc::ClientReaderWriter<v1::AgentMessage, v1::ServerMessage>;

  // Agent thread: one stream after the other until closed or refused.
  void Run() {
    double backoff_seconds = 1;
    while (!closing_) {
      bool logged_in = false;
      const grpc::Status status = RunSession(&logged_in);
      if (closing_) break;
      if (logged_in) backoff_seconds = 1;
      const grpc::StatusCode code = status.error_code();
      if (code == grpc::StatusCode::OK) {
        counters_.DescribeOnce("ended", absl::StrCat(login_.agent_id(),
                                                     ": the engine ended the stream; reconnecting "
                                                     "(said once for all agents)"));
      } else {
        counters_.RecordError("AgentDesk.Connect", code, status.error_message(), login_.agent_id());
      }
      // Another desktop took over this agent id (another ccload?): fighting
      // it would only throw each other out.
      if (code == grpc::ABORTED) {
        counters_.DescribeOnce(
            "replaced", absl::StrCat(login_.agent_id(),
                                     ": another desktop logged in as this agent (another ccload?); "
                                     "not retrying (said once for all agents)"));
        break;
      }
      // A refused login will be refused again.
      if (!logged_in && (code == grpc::INVALID_ARGUMENT || code == grpc::FAILED_PRECONDITION ||
                         code == grpc::ALREADY_EXISTS || code == grpc::PERMISSION_DENIED ||
                         code == grpc::UNAUTHENTICATED || code == grpc::UNIMPLEMENTED)) {
        counters_.DescribeOnce("refused",
                               absl::StrCat(login_.agent_id(), ": login refused (", CodeName(code),
                                            "); not retrying (said once for all agents)"));
        break;
      }
      std::unique_lock lock(mu_);
      state_cv_.wait_for(lock, Seconds(backoff_seconds), [this] { return closing_.load(); });
      backoff_seconds = std::min(2 * backoff_seconds, kMaxReconnectBackoffSeconds);
    }
    std::lock_guard lock(mu_);
    done_ = true;
    state_cv_.notify_all();
  }

  grpc::Status RunSession(bool* logged_in) {
    uint64_t session;
    {
      std::lock_guard lock(mu_);
      session = ++session_;
      pending_offers_.clear();
      pending_accepts_.clear();
    }
    auto context = std::make_unique<grpc::ClientContext>();
    {
      std::lock_guard lock(context_mu_);
      context_ = context.get();
    }
    {
      // Close() sets closing_ before it takes write_mu_: either it sees the
      // open stream and half-closes it, or this sees closing_ and never opens.
      std::lock_guard<std::timed_mutex> lock(write_mu_);
      if (closing_) {
        std::lock_guard context_lock(context_mu_);
        context_ = nullptr;
        return grpc::Status::OK;
      }
      stream_ = stub_.Connect(context.get());
      stream_open_ = true;
      half_closed_ = false;
      v1::AgentMessage hello;
      *hello.mutable_login() = login_;
      hello.set_request_id(++next_request_id_);
      stream_->Write(hello);
    }
    v1::ServerMessage message;
    while (stream_->Read(&message)) {
      if (message.kind_case() == v1::ServerMessage::kLoginOk) {
        *logged_in = true;
        counters_.agents_logged_in++;
        const double interval = message.login_ok().heartbeat_interval_seconds();
        ScheduleHeartbeat(session, interval > 0 ? interval : kDefaultHeartbeatSeconds);
      } else {
        OnServerMessage(session, message);
      }
    }
    {
      // No write can start after this, and none is running: Finish is alone.
      std::lock_guard<std::timed_mutex> lock(write_mu_);
      stream_open_ = false;
    }
    grpc::Status status = stream_->Finish();
    if (*logged_in) counters_.agents_logged_in--;
    {
      std::lock_guard lock(context_mu_);
      context_ = nullptr;
    }
    std::lock_guard<std::timed_mutex> lock(write_mu_);
    stream_.reset();
    return status;
  }

  // Agent thread.
  void OnServerMessage(uint64_t session, const v1::ServerMessage& message) {
    switch (message.kind_case()) {
      case v1::ServerMessage::kOffer:
        OnOffer(session, message.offer());
        break;
      case v1::ServerMessage::kResync:
        // After a reconnect the open offers come in the resync, not again as offers.
        for (const v1::Offer& offer : message.resync().offers()) OnOffer(session, offer);
        break;
      case v1::ServerMessage::kOfferWithdrawn: {
        const v1::OfferWithdrawn& withdrawn = message.offer_withdrawn();
        {
          std::lock_guard lock(mu_);
          if (pending_offers_.erase(withdrawn.offer_id()) > 0) counters_.withdrawn++;
        }
        if (withdrawn.reason() == "abandoned" || withdrawn.reason() == "cancelled") {
          patience_.Settled(withdrawn.contact_id());
        } else {
          patience_.BackInQueue(withdrawn.contact_id());
        }
        break;
      }
      case v1::ServerMessage::kResult:
        OnResult(message.result());
        break;
      case v1::ServerMessage::kStateChanged:
        // Missed offers (or a supervisor) set the agent not-ready; like a
        // real agent, come back after a pause.
        if (message.state_changed().state() == v1::AGENT_STATE_NOT_READY) {
          scheduler_.After(kNotReadyPauseSeconds, [this, session] {
            v1::AgentMessage m;
            m.mutable_set_state()->set_state(v1::AGENT_STATE_AVAILABLE);
            Write(session, std::move(m));
          });
        }
        break;
      default:
        break;
    }
  }

  // Writes on the open stream. `session`: 0 for any session, else only that
  // one. `accepted_contact`: the message accepts this contact; its request id
  // is remembered so a failed CommandResult cancels the follow-ups. False
  // when nothing was written.
  bool Write(uint64_t session, v1::AgentMessage message,
             const std::string* accepted_contact = nullptr) {
    std::lock_guard<std::timed_mutex> lock(write_mu_);
    if (!stream_open_ || half_closed_ || closing_) return false;
    message.set_request_id(++next_request_id_);
    {
      std::lock_guard state_lock(mu_);  // lock order: write_mu_, then mu_
      if (session != 0 && session != session_) return false;
      if (accepted_contact != nullptr) {
        pending_accepts_[message.request_id()] = *accepted_contact;
      }
    }
    return stream_->Write(message);
  }

  void ScheduleHeartbeat(uint64_t session, double interval_seconds) {
    scheduler_.After(interval_seconds, [this, session, interval_seconds] {
      v1::AgentMessage m;
      m.mutable_heartbeat()->set_sequence(++heartbeat_sequence_);
      if (Write(session, std::move(m))) ScheduleHeartbeat(session, interval_seconds);
    });
  }

  // Agent thread.
  void OnOffer(uint64_t session, const v1::Offer& offer) {
    counters_.offers++;
    patience_.Offered(offer.contact_id());
    double delay_seconds;
    {
      std::lock_guard lock(mu_);
      pending_offers_.insert(offer.offer_id());
      delay_seconds = behaviour_.AcceptDelaySeconds();
    }
    scheduler_.After(delay_seconds, [this, session, offer] { AnswerOffer(session, offer); });
  }

  // Scheduler thread.
  void AnswerOffer(uint64_t session, const v1::Offer& offer) {
    bool reject;
    double handle_seconds;
    {
      std::lock_guard lock(mu_);
      if (session != session_ || pending_offers_.erase(offer.offer_id()) == 0) {
        return;  // withdrawn meanwhile, or the stream it came on is gone
      }
      reject = behaviour_.Rejects();
      handle_seconds = behaviour_.HandleSeconds(offer.queue(), offer.channel());
    }
    v1::AgentMessage m;
    if (reject) {
      m.mutable_reject()->set_offer_id(offer.offer_id());
      m.mutable_reject()->set_reason("busy");
      if (Write(session, std::move(m))) {
        counters_.rejects++;
        patience_.BackInQueue(offer.contact_id());
      }
      return;
    }
    m.mutable_accept()->set_offer_id(offer.offer_id());
    if (!Write(session, std::move(m), &offer.contact_id())) return;
    counters_.accepts++;
    patience_.Settled(offer.contact_id());
    scheduler_.After(handle_seconds, [this, contact_id = offer.contact_id(),
                                      complaint = offer.signals().complaint()] {
      CompleteContact(contact_id, complaint);
    });
  }

  // Scheduler thread.
  void CompleteContact(const std::string& contact_id, bool complaint) {
    bool resolved;
    double wrap_up_seconds;
    {
      std::lock_guard lock(mu_);
      if (failed_accepts_.erase(contact_id) > 0) return;
      resolved = behaviour_.Resolved();
      wrap_up_seconds = behaviour_.WrapUpSeconds();
    }
    v1::AgentMessage m;
    v1::Complete& complete = *m.mutable_complete();
    complete.set_contact_id(contact_id);
    v1::Outcome& outcome = *complete.mutable_outcome();
    outcome.set_resolved(resolved);
    outcome.set_disposition(resolved ? "resolved" : "needs_follow_up");
    outcome.set_follow_up_due(!resolved);
    if (complaint) outcome.set_complaint_root_cause(v1::Outcome::ROOT_CAUSE_PRODUCT);
    if (!Write(/*session=*/0, std::move(m))) return;
    counters_.completes++;
    scheduler_.After(wrap_up_seconds, [this, contact_id] {
      v1::AgentMessage done;
      done.mutable_wrap_up_done()->set_contact_id(contact_id);
      if (Write(/*session=*/0, std::move(done))) counters_.wrap_ups++;
    });
  }

  // Agent thread.
  void OnResult(const v1::CommandResult& result) {
    std::lock_guard lock(mu_);
    auto it = pending_accepts_.find(result.request_id());
    if (result.code() != 0) {
      if (counters_.CountError("AgentDesk command", result.code())) {
        counters_.Describe(absl::StrCat("AgentDesk command of ", login_.agent_id(), ": ",
                                        CodeName(result.code()), ": ", result.message(),
                                        " (more like it are only counted)"));
      }
      if (it != pending_accepts_.end()) failed_accepts_.insert(it->second);
    }
    if (it != pending_accepts_.end()) pending_accepts_.erase(it);
  }

  v1::AgentDesk::Stub& stub_;
  const v1::Login login_;
  Scheduler& scheduler_;
  LiveCounters& counters_;
  CustomerPatience& patience_;
  uint64_t heartbeat_sequence_ = 0;  // scheduler thread only
  std::atomic<bool> closing_{false};

  std::mutex context_mu_;
  grpc::ClientContext* context_ = nullptr;  // GUARDED_BY(context_mu_): the open call's

  std::timed_mutex write_mu_;       // one writer at a time; Finish only when none can write
  std::unique_ptr<Stream> stream_;  // GUARDED_BY(write_mu_) for writers; the agent thread
                                    // also reads through it while stream_open_
  bool stream_open_ = false;        // GUARDED_BY(write_mu_)
  bool half_closed_ = false;        // GUARDED_BY(write_mu_): WritesDone sent
  uint64_t next_request_id_ = 0;    // GUARDED_BY(write_mu_)

  std::mutex mu_;
  std::condition_variable state_cv_;                 // done_, closing_
  uint64_t session_ = 0;                             // GUARDED_BY(mu_)
  DeskBehaviour behaviour_;                          // GUARDED_BY(mu_)
  std::set<std::string> pending_offers_;             // GUARDED_BY(mu_): offer ids
  std::map<uint64_t, std::string> pending_accepts_;  // GUARDED_BY(mu_): request id -> contact
  std::set<std::string> failed_accepts_;             // GUARDED_BY(mu_): contact ids
  bool done_ = false;                                // GUARDED_BY(mu_)
  std::thread thread_;
};

std::shared_ptr<grpc::Channel> OpenChannel(const std::string& server) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  return grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), arguments);
}

absl::StatusOr<v1::ListQueuesReply> ListQueues(v1::Admin::Stub& admin, double timeout_seconds) {
  v1::ListQueuesReply reply;
  grpc::ClientContext context;
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

// Polls for the channel to connect, so Ctrl-C still works while it waits.
bool WaitForEngine(grpc::Channel& channel, double timeout_seconds, StopSignals& signals,
                   bool* interrupted) {
  const Clock::time_point give_up = Clock::now() + Seconds(timeout_seconds);
  while (Clock::now() < give_up) {
    if (channel.WaitForConnected(DeadlineAfter(0.1))) return true;
    if (signals.Wait(Clock::duration::zero())) {
      *interrupted = true;
      return false;
    }
  }
  return false;
}

const char* ChannelStateName(grpc_connectivity_state state) {
  switch (state) {
    case GRPC_CHANNEL_IDLE:
      return "idle";
    case GRPC_CHANNEL_CONNECTING:
      return "connecting";
    case GRPC_CHANNEL_READY:
      return "ready";
    case GRPC_CHANNEL_TRANSIENT_FAILURE:
      return "connection refused or failing";
    default:
      return "shut down";
  }
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
  std::shared_ptr<grpc::Channel> channel = OpenChannel(options.server);
  const double connect_timeout_seconds =
      options.duration_seconds > 0 ? std::min(kConnectTimeoutSeconds, options.duration_seconds)
                                   : kConnectTimeoutSeconds;
  bool interrupted = false;
  if (!WaitForEngine(*channel, connect_timeout_seconds, signals, &interrupted)) {
    if (interrupted) return kExitOk;
    std::fprintf(stderr,
                 "ccload: cannot reach ccrouterd at %s within %gs (%s). Is it running? "
                 "(`bash tools/run` starts one with demo traffic; --server HOST:PORT)\n",
                 options.server.c_str(), connect_timeout_seconds,
                 ChannelStateName(channel->GetState(false)));
    return kExitUnreachable;
  }

  // Preflight: is it ccrouterd, and does it have the mix's queues?
  std::unique_ptr<v1::Admin::Stub> admin = v1::Admin::NewStub(channel);
  absl::StatusOr<v1::ListQueuesReply> engine_queues = ListQueues(*admin, kRpcTimeoutSeconds);
  if (!engine_queues.ok()) {
    if (engine_queues.status().code() == absl::StatusCode::kUnimplemented) {
      absl::FPrintF(stderr,
                    "ccload: %s answers gRPC but not ccrouter.v1.Admin (%s). Is it ccrouterd?\n",
                    options.server, engine_queues.status().ToString());
      return kExitUnreachable;
    }
    absl::FPrintF(stderr,
                  "ccload: Admin.ListQueues failed (%s); going on without checking the mix's "
                  "queues\n",
                  engine_queues.status().ToString());
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
      "ccload: %s  agents %d  rate %g/s  %s  seed %d  mix %s (%d queue%s)%s\n",
      options.server.c_str(), options.agents, options.rate_per_second,
      options.duration_seconds > 0 ? absl::StrCat("duration ", options.duration_seconds, "s")
                                   : "until Ctrl-C",
      options.seed, options.mix_path.empty() ? "built-in" : options.mix_path, mix.queues.size(),
      mix.queues.size() == 1 ? "" : "s", options.duration_seconds > 0 ? "" : "  (Ctrl-C to stop)");
  std::fflush(stdout);

  LiveCounters counters;
  Scheduler scheduler;
  Gateways gateways(channel, options, mix, scheduler, counters);
  std::unique_ptr<v1::AgentDesk::Stub> desk = v1::AgentDesk::NewStub(channel);

  std::vector<std::unique_ptr<SimulatedAgent>> agents;
  std::vector<v1::Login> roster = MakeAgentRoster(options.agents, mix, options.seed + 1);
  for (size_t i = 0; i < roster.size(); ++i) {
    agents.push_back(std::make_unique<SimulatedAgent>(*desk, std::move(roster[i]),
                                                      DeskBehaviour(mix, options.seed + 1000 + i),
                                                      scheduler, counters, gateways.patience()));
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
  for (auto& agent : agents) agent->Join();
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
