// Threads, and what each owns:
//   main       the run's phases (login, warm-up, measure, drain), the progress
//              line, heartbeats, the final figures.
//   arrivals   open loop only: the ArrivalSchedule; hands each due contact to
//              a gateway with its intended send time. Never waits on a reply.
//   delays     the agents' accept delay, handle time and wrap-up (fixed
//              delays, so each lane is a FIFO); zero delays run inline.
//   gRPC       reactions of every gateway and agent stream: they count,
//              record latency, and queue the next write. Nothing blocks.
#include "tools/ccload/bench_runner.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ccrouter/v1/admin.grpc.pb.h"
#include "ccrouter/v1/agent_desk.grpc.pb.h"
#include "ccrouter/v1/ingest.grpc.pb.h"
#include "tools/ccload/agent_roster.h"
#include "tools/ccload/arrival_schedule.h"
#include "tools/ccload/bench_report.h"
#include "tools/ccload/latency_histogram.h"

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
constexpr double kHeartbeatSeconds = 2;
constexpr int kAgentsPerChannel = 1000;
constexpr size_t kArrivalPool = 4096;  // distinct contact shapes, reused round robin

int64_t SteadyNanos(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::shared_ptr<grpc::Channel> OpenChannel(const std::string& server) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  return grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args);
}

// What every thread counts. Only contacts whose intended send time falls in
// the measured window are counted (so the warm-up and the drain are not).
// The window is set once the agents are in, before any contact is sent.
class BenchCounters {
 public:
  void SetWindow(Clock::time_point begin, Clock::time_point end) {
    window_begin_ns_.store(SteadyNanos(begin));
    window_end_ns_.store(SteadyNanos(end));
  }

  bool Counted(Clock::time_point intended) const { return CountedNanos(SteadyNanos(intended)); }
  bool CountedNanos(int64_t intended_ns) const {
    return intended_ns >= window_begin_ns_.load(std::memory_order_relaxed) &&
           intended_ns < window_end_ns_.load(std::memory_order_relaxed);
  }

  void Submitted(Clock::time_point intended) {
    in_flight.fetch_add(1, std::memory_order_relaxed);
    if (Counted(intended)) submitted.fetch_add(1, std::memory_order_relaxed);
  }

  // A reply (ok or not) to a submit intended for `intended`.
  void Replied(Clock::time_point intended, Clock::time_point now, int code,
               const std::string& rpc) {
    in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (code != 0) {
      all_errors.fetch_add(1, std::memory_order_relaxed);
      if (Counted(intended)) Error(rpc, code);
      return;
    }
    all_acked.fetch_add(1, std::memory_order_relaxed);
    if (!Counted(intended)) return;
    acked.fetch_add(1, std::memory_order_relaxed);
    submit_to_ack.Record(LatencyFromIntended(intended, now).count());
  }

  void Offered(int64_t intended_ns, Clock::time_point now) {
    all_offers.fetch_add(1, std::memory_order_relaxed);
    if (!CountedNanos(intended_ns)) return;
    offers.fetch_add(1, std::memory_order_relaxed);
    const int64_t latency = SteadyNanos(now) - intended_ns;
    submit_to_offer.Record(latency > 0 ? static_cast<uint64_t>(latency) : 0);
  }

  // Errors outside the submit path (streams, agent commands) always count.
  void Error(const std::string& rpc, int code) {
    std::lock_guard lock(mu_);
    ++errors_[absl::StrCat(rpc, " ", CodeName(code))];
  }

  std::map<std::string, uint64_t> errors() {
    std::lock_guard lock(mu_);
    return errors_;
  }

  std::atomic<int64_t> in_flight{0};
  std::atomic<uint64_t> submitted{0}, acked{0}, offers{0}, not_sent{0};
  std::atomic<uint64_t> unanswered{0};  // streams cut off with submits still unanswered
  std::atomic<uint64_t> all_acked{0}, all_offers{0}, all_errors{0};  // for the progress line
  std::atomic<int> agents_logged_in{0};
  AtomicLatencyHistogram submit_to_ack, submit_to_offer;

 private:
  std::atomic<int64_t> window_begin_ns_{INT64_MAX};
  std::atomic<int64_t> window_end_ns_{INT64_MAX};
  std::mutex mu_;
  std::map<std::string, uint64_t> errors_;  // GUARDED_BY(mu_)
};

// Contact shapes drawn from the traffic mix once, before the clock starts,
// so building a request costs a copy, not the mix's random draws.
class ContactPool {
 public:
  ContactPool(TrafficMixConfig mix, uint64_t seed) : run_id_(absl::StrFormat("%x", seed)) {
    TrafficMix traffic(std::move(mix), seed);
    for (size_t i = 0; i < kArrivalPool; ++i) specs_.push_back(traffic.NextArrival().spec);
  }

  // Thread-safe.
  void Fill(v1::ContactSpec* spec, Clock::time_point intended) {
    const uint64_t n = next_.fetch_add(1, std::memory_order_relaxed);
    *spec = specs_[n % specs_.size()];
    spec->set_idempotency_key(absl::StrCat("bench-", run_id_, "-", n));
    (*spec->mutable_attributes())[kSentAtAttribute] = absl::StrCat(SteadyNanos(intended));
  }

 private:
  const std::string run_id_;
  std::vector<v1::ContactSpec> specs_;  // constant after construction
  std::atomic<uint64_t> next_{0};
};

// One simulated gateway. Send() is thread-safe and never blocks.
class Gateway {
 public:
  virtual ~Gateway() = default;
  virtual void Start() = 0;
  virtual void Send(Clock::time_point intended) = 0;
  // No more sends; finish the call(s) once the last replies are in.
  virtual void Finish() = 0;
  virtual bool WaitDone(Clock::duration timeout) = 0;
  virtual void Cancel() = 0;
};

// A client bidi stream that several threads write to: one write in flight,
// the rest queued in order; a failed write (or Cancel) breaks the stream and
// drops the queue. The subclass decides when to half-close
// (MaybeWritesDone, called with mu_ held after every change) and sets done_
// in its OnDone.
template <typename Request, typename Response>
class QueuedStreamWriter : public grpc::ClientBidiReactor<Request, Response> {
 public:
  bool WaitUntilDone(Clock::duration timeout) {
    std::unique_lock lock(mu_);
    return done_cv_.wait_for(lock, timeout, [this] { return done_; });
  }

  // Gives up: cancels the call and drops what is queued (a write in flight
  // fails, and its OnWriteDone lets the subclass release the stream).
  void CancelCall() {
    context_.TryCancel();
    std::lock_guard lock(mu_);
    broken_ = true;
    pending_.clear();
    MaybeWritesDone();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    if (!ok) {
      broken_ = true;
      writing_ = false;
      pending_.clear();
      MaybeWritesDone();
      return;
    }
    if (!pending_.empty()) {
      current_ = std::move(pending_.front());
      pending_.pop_front();
      this->StartWrite(&current_);
      return;
    }
    writing_ = false;
    MaybeWritesDone();
  }

 protected:
  // REQUIRES: mu_ held.
  void EnqueueLocked(Request request) {
    if (writing_) {
      pending_.push_back(std::move(request));
      return;
    }
    writing_ = true;
    current_ = std::move(request);
    this->StartWrite(&current_);
  }
  // REQUIRES: mu_ held.
  void MarkDoneLocked() {
    done_ = true;
    done_cv_.notify_all();
  }
  // REQUIRES: mu_ held. Half-closes (and drops the hold) once it may.
  virtual void MaybeWritesDone() = 0;

  grpc::ClientContext context_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  Request current_;              // GUARDED_BY(mu_): the one write in flight
  std::deque<Request> pending_;  // GUARDED_BY(mu_)
  bool writing_ = false;         // GUARDED_BY(mu_)
  bool broken_ = false;          // GUARDED_BY(mu_)
  bool done_ = false;            // GUARDED_BY(mu_)
};

class StreamGateway final
    : public Gateway,
      public QueuedStreamWriter<v1::SubmitStreamRequest, v1::SubmitStreamReply> {
 public:
  StreamGateway(std::shared_ptr<grpc::Channel> channel, ContactPool& pool, BenchCounters& counters,
                bool closed_loop)
      : stub_(v1::ContactIngest::NewStub(channel)),
        pool_(pool),
        counters_(counters),
        closed_loop_(closed_loop) {}

  void Start() override {
    stub_->async()->SubmitStream(&context_, this);
    AddHold();  // writes start from other threads until Finish()
    StartRead(&reply_);
    StartCall();
  }

  void Send(Clock::time_point intended) override {
    std::lock_guard lock(mu_);
    if (finishing_ || broken_) return;
    // The correlation id is the intended send time in ns, kept unique and
    // increasing, so a reply alone gives its latency.
    int64_t id = std::max(SteadyNanos(intended), last_id_ + 1);
    last_id_ = id;
    v1::SubmitStreamRequest request;
    request.set_correlation_id(static_cast<uint64_t>(id));
    pool_.Fill(request.mutable_contact(), intended);
    counters_.Submitted(intended);
    ++unanswered_;
    EnqueueLocked(std::move(request));
  }

  void Finish() override {
    std::lock_guard lock(mu_);
    finishing_ = true;
    MaybeWritesDone();
  }

  bool WaitDone(Clock::duration timeout) override { return WaitUntilDone(timeout); }

  // Gives up on the unanswered submits: cancels the call and drops the hold
  // (unless a write is in flight; its failed OnWriteDone drops it), so
  // OnDone follows.
  void Cancel() override { CancelCall(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    const Clock::time_point now = Clock::now();
    const Clock::time_point intended{std::chrono::duration_cast<Clock::duration>(
        std::chrono::nanoseconds(reply_.correlation_id()))};
    counters_.Replied(intended, now, reply_.code(), "SubmitStream");
    {
      std::lock_guard lock(mu_);
      --unanswered_;
      MaybeWritesDone();
    }
    StartRead(&reply_);
    if (closed_loop_) Send(now);
  }

  void OnDone(const grpc::Status& status) override {
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      counters_.Error("SubmitStream (call)", status.error_code());
    }
    std::lock_guard lock(mu_);
    // Cut off at the end of the drain (or the stream broke): never answered.
    counters_.in_flight.fetch_sub(unanswered_, std::memory_order_relaxed);
    counters_.unanswered.fetch_add(static_cast<uint64_t>(unanswered_), std::memory_order_relaxed);
    unanswered_ = 0;
    MarkDoneLocked();
  }

 private:
  // REQUIRES: mu_ held. Half-closes once finishing and every reply is in.
  void MaybeWritesDone() override {
    if (!finishing_ || writing_ || writes_done_ || (unanswered_ > 0 && !broken_)) return;
    writes_done_ = true;
    StartWritesDone();
    RemoveHold();
  }

  const std::unique_ptr<v1::ContactIngest::Stub> stub_;
  ContactPool& pool_;
  BenchCounters& counters_;
  const bool closed_loop_;
  v1::SubmitStreamReply reply_;  // the one outstanding read

  bool finishing_ = false;    // GUARDED_BY(mu_)
  bool writes_done_ = false;  // GUARDED_BY(mu_)
  int64_t last_id_ = 0;       // GUARDED_BY(mu_)
  int64_t unanswered_ = 0;    // GUARDED_BY(mu_)
};

class UnaryGateway final : public Gateway {
 public:
  UnaryGateway(std::shared_ptr<grpc::Channel> channel, ContactPool& pool, BenchCounters& counters,
               bool closed_loop)
      : stub_(v1::ContactIngest::NewStub(channel)),
        pool_(pool),
        counters_(counters),
        closed_loop_(closed_loop) {}

  void Start() override {}

  void Send(Clock::time_point intended) override {
    {
      std::lock_guard lock(mu_);
      if (finishing_) return;
      ++unanswered_;
    }
    struct Call {
      grpc::ClientContext context;
      v1::SubmitRequest request;
      v1::SubmitReply reply;
      Clock::time_point intended;
    };
    auto* call = new Call;
    call->intended = intended;
    pool_.Fill(call->request.mutable_contact(), intended);
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(static_cast<int>(kRpcTimeoutSeconds)));
    counters_.Submitted(intended);
    stub_->async()->Submit(&call->context, &call->request, &call->reply,
                           [this, call](grpc::Status status) {
                             const Clock::time_point now = Clock::now();
                             counters_.Replied(call->intended, now, status.error_code(), "Submit");
                             delete call;
                             if (closed_loop_) Send(now);
                             std::lock_guard lock(mu_);
                             if (--unanswered_ == 0) done_cv_.notify_all();
                           });
  }

  void Finish() override {
    std::lock_guard lock(mu_);
    finishing_ = true;
  }

  bool WaitDone(Clock::duration timeout) override {
    std::unique_lock lock(mu_);
    return done_cv_.wait_for(lock, timeout, [this] { return unanswered_ == 0; });
  }

  void Cancel() override {}  // every call has a deadline

 private:
  const std::unique_ptr<v1::ContactIngest::Stub> stub_;
  ContactPool& pool_;
  BenchCounters& counters_;
  const bool closed_loop_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  bool finishing_ = false;  // GUARDED_BY(mu_)
  int64_t unanswered_ = 0;  // GUARDED_BY(mu_)
};

// Runs actions after one of a few fixed delays. Each lane's delay is fixed,
// so its items are due in the order they were added: a FIFO per lane, no
// heap. A zero delay runs the action at once on the caller's thread.
class DelayLanes {
 public:
  explicit DelayLanes(const std::vector<double>& delays_ms)
      : lanes_(MakeLanes(delays_ms)), thread_([this] { Run(); }) {}
  ~DelayLanes() { Stop(); }

  void After(size_t lane, std::function<void()> action) {
    std::unique_lock lock(mu_);
    if (stopping_) return;
    if (lanes_[lane].delay == Clock::duration::zero()) {
      lock.unlock();
      action();
      return;
    }
    lanes_[lane].items.emplace_back(Clock::now() + lanes_[lane].delay, std::move(action));
    cv_.notify_one();
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Lane {
    Clock::duration delay;
    std::deque<std::pair<Clock::time_point, std::function<void()>>> items;
  };

  static std::vector<Lane> MakeLanes(const std::vector<double>& delays_ms) {
    std::vector<Lane> lanes;
    for (double ms : delays_ms) {
      lanes.push_back(Lane{std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double, std::milli>(ms)),
                           {}});
    }
    return lanes;
  }

  void Run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      Lane* first = nullptr;
      for (Lane& lane : lanes_) {
        if (!lane.items.empty() &&
            (first == nullptr || lane.items.front().first < first->items.front().first)) {
          first = &lane;
        }
      }
      if (first == nullptr) {
        cv_.wait(lock);
        continue;
      }
      const Clock::time_point due = first->items.front().first;
      if (Clock::now() < due) {
        cv_.wait_until(lock, due);
        continue;
      }
      std::function<void()> action = std::move(first->items.front().second);
      first->items.pop_front();
      lock.unlock();
      action();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Lane> lanes_;  // GUARDED_BY(mu_); the lanes themselves are fixed
  bool stopping_ = false;    // GUARDED_BY(mu_)
  std::thread thread_;       // last
};

enum DelayLane : size_t { kAcceptLane = 0, kHandleLane = 1, kWrapUpLane = 2 };

// One agent desktop on an AgentDesk stream: accept every offer after the
// accept delay, complete after the handle time, wrap up after the wrap-up.
class BenchAgent final : public QueuedStreamWriter<v1::AgentMessage, v1::ServerMessage> {
 public:
  BenchAgent(v1::AgentDesk::Stub& stub, v1::Login login, BenchCounters& counters,
             DelayLanes& delays)
      : stub_(stub), login_(std::move(login)), counters_(counters), delays_(delays) {}

  void Start() {
    stub_.async()->Connect(&context_, this);
    AddHold();
    v1::AgentMessage hello;
    *hello.mutable_login() = login_;
    Write(std::move(hello));
    StartRead(&message_);
    StartCall();
  }

  // Thread-safe; dropped once the stream is closing or broken.
  void Write(v1::AgentMessage message) {
    std::lock_guard lock(mu_);
    if (closing_ || broken_) return;
    message.set_request_id(++next_request_id_);
    EnqueueLocked(std::move(message));
  }

  void Heartbeat() {
    v1::AgentMessage m;
    m.mutable_heartbeat()->set_sequence(++heartbeats_);
    Write(std::move(m));
  }

  void Close() {
    std::lock_guard lock(mu_);
    closing_ = true;
    MaybeWritesDone();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    switch (message_.kind_case()) {
      case v1::ServerMessage::kLoginOk:
        counters_.agents_logged_in.fetch_add(1, std::memory_order_relaxed);
        break;
      case v1::ServerMessage::kOffer:
        OnOffer(message_.offer());
        break;
      case v1::ServerMessage::kResync:
        for (const v1::Offer& offer : message_.resync().offers()) OnOffer(offer);
        break;
      case v1::ServerMessage::kResult:
        if (message_.result().code() != 0) {
          counters_.Error("AgentDesk command", message_.result().code());
        }
        break;
      default:
        break;
    }
    StartRead(&message_);
  }

  void OnDone(const grpc::Status& status) override {
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      counters_.Error("AgentDesk.Connect", status.error_code());
    }
    std::lock_guard lock(mu_);
    MarkDoneLocked();
  }

 private:
  void OnOffer(const v1::Offer& offer) {
    const auto it = offer.attributes().find(kSentAtAttribute);
    int64_t sent_ns = 0;
    if (it != offer.attributes().end() && absl::SimpleAtoi(it->second, &sent_ns)) {
      counters_.Offered(sent_ns, Clock::now());
    }
    delays_.After(kAcceptLane, [this, offer_id = offer.offer_id(),
                                contact_id = offer.contact_id()]() mutable {
      v1::AgentMessage accept;
      accept.mutable_accept()->set_offer_id(std::move(offer_id));
      Write(std::move(accept));
      delays_.After(kHandleLane, [this, contact_id = std::move(contact_id)]() mutable {
        v1::AgentMessage complete;
        complete.mutable_complete()->set_contact_id(contact_id);
        complete.mutable_complete()->mutable_outcome()->set_resolved(true);
        complete.mutable_complete()->mutable_outcome()->set_disposition("resolved");
        Write(std::move(complete));
        delays_.After(kWrapUpLane, [this, contact_id = std::move(contact_id)] {
          v1::AgentMessage done;
          done.mutable_wrap_up_done()->set_contact_id(contact_id);
          Write(std::move(done));
        });
      });
    });
  }

  // REQUIRES: mu_ held.
  void MaybeWritesDone() override {
    if (!closing_ && !broken_) return;
    if (writing_ || writes_done_) return;
    writes_done_ = true;
    if (!broken_) StartWritesDone();
    RemoveHold();
  }

  v1::AgentDesk::Stub& stub_;
  const v1::Login login_;
  BenchCounters& counters_;
  DelayLanes& delays_;
  v1::ServerMessage message_;  // the one outstanding read
  std::atomic<uint64_t> heartbeats_{0};

  uint64_t next_request_id_ = 0;  // GUARDED_BY(mu_)
  bool closing_ = false;          // GUARDED_BY(mu_)
  bool writes_done_ = false;      // GUARDED_BY(mu_)
};

// Open loop: hands every due arrival to the gateways, round robin, with its
// intended send time; stops at `end`.
void RunArrivals(double rate_per_second, uint64_t seed, Clock::time_point start,
                 Clock::time_point end, std::vector<std::unique_ptr<Gateway>>& gateways,
                 BenchCounters& counters, const std::atomic<bool>& stop) {
  ArrivalSchedule schedule(rate_per_second, seed, start);
  size_t next_gateway = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    const Clock::time_point now = std::min(Clock::now(), end);
    for (Clock::time_point intended : schedule.DueBy(now, 1024)) {
      if (counters.in_flight.load(std::memory_order_relaxed) >= kMaxInFlight) {
        if (counters.Counted(intended)) counters.not_sent.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      gateways[next_gateway]->Send(intended);
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

  // Preflight on a channel of its own: reachable, and (unless baseline)
  // which of the mix's queues the engine has.
  std::shared_ptr<grpc::Channel> admin_channel = OpenChannel(options.server);
  if (!admin_channel->WaitForConnected(std::chrono::system_clock::now() +
                                       std::chrono::seconds(5))) {
    std::fprintf(stderr, "ccload: cannot reach %s within 5s\n", options.server.c_str());
    return 1;
  }
  std::unique_ptr<v1::Admin::Stub> admin = v1::Admin::NewStub(admin_channel);
  auto list_queues = [&admin](v1::ListQueuesReply* reply) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return admin->ListQueues(&context, v1::ListQueuesRequest(), reply);
  };
  if (!options.baseline) {
    v1::ListQueuesReply queues;
    const grpc::Status status = list_queues(&queues);
    if (!status.ok()) {
      std::fprintf(
          stderr, "ccload: Admin.ListQueues at %s failed (%s); is it ccrouterd?%s\n",
          options.server.c_str(), status.error_message().c_str(),
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
  DelayLanes delays({options.accept_delay_ms, options.handle_ms, options.wrap_up_ms});
  ContactPool pool(mix, options.seed);

  BenchCounters counters;
  std::vector<std::shared_ptr<grpc::Channel>> agent_channels;
  std::vector<std::unique_ptr<v1::AgentDesk::Stub>> desk_stubs;
  std::vector<std::unique_ptr<BenchAgent>> agents;
  std::vector<v1::Login> roster = MakeAgentRoster(options.agents, mix, options.seed + 1);
  for (size_t i = 0; i < roster.size(); ++i) {
    roster[i].set_agent_id(absl::StrFormat("bench-%05d", i + 1));
    roster[i].set_display_name(absl::StrFormat("Bench Agent %d", i + 1));
    if (i % kAgentsPerChannel == 0) {
      agent_channels.push_back(OpenChannel(options.server));
      desk_stubs.push_back(v1::AgentDesk::NewStub(agent_channels.back()));
    }
    agents.push_back(
        std::make_unique<BenchAgent>(*desk_stubs.back(), std::move(roster[i]), counters, delays));
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
  counters.SetWindow(measure_begin, measure_end);
  std::vector<std::unique_ptr<Gateway>> gateways;
  for (int i = 0; i < options.gateways; ++i) {
    std::shared_ptr<grpc::Channel> channel = OpenChannel(options.server);
    if (options.stream_ingest) {
      gateways.push_back(std::make_unique<StreamGateway>(channel, pool, counters, closed_loop));
    } else {
      gateways.push_back(std::make_unique<UnaryGateway>(channel, pool, counters, closed_loop));
    }
    gateways.back()->Start();
  }
  std::atomic<bool> stop_arrivals{false};
  std::thread arrivals;
  if (!stop) {
    if (closed_loop) {
      for (auto& gateway : gateways) {
        for (int w = 0; w < options.window; ++w) gateway->Send(Clock::now());
      }
    } else {
      arrivals = std::thread([&] {
        RunArrivals(options.rate_per_second, options.seed + 7, start, measure_end, gateways,
                    counters, stop_arrivals);
      });
    }
  }

  // Progress and heartbeats until the window ends.
  Clock::time_point next_progress = start + seconds(options.stats_interval_seconds);
  Clock::time_point next_heartbeat = start + seconds(kHeartbeatSeconds);
  uint64_t acked_at_last_progress = 0;
  Clock::time_point last_progress = start;
  while (!stop && Clock::now() < measure_end) {
    const Clock::time_point wake = std::min({next_progress, next_heartbeat, measure_end});
    if (wait_for_stop(wake - Clock::now())) {
      stop = true;
      break;
    }
    const Clock::time_point now = Clock::now();
    if (now >= next_heartbeat) {
      for (auto& agent : agents) agent->Heartbeat();
      next_heartbeat = now + seconds(kHeartbeatSeconds);
    }
    if (now >= next_progress) {
      const uint64_t acked = counters.all_acked.load();
      const double interval = std::chrono::duration<double>(now - last_progress).count();
      std::fprintf(
          stderr, "%s\n",
          FormatBenchProgress(
              std::chrono::duration<double>(now - start).count(),
              now<measure_begin, interval> 0 ? (acked - acked_at_last_progress) / interval : 0,
              acked, counters.all_offers.load(), counters.all_errors.load(),
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
  summary.server = options.server;
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
  delays.Stop();
  for (auto& agent : agents) agent->Close();
  const Clock::time_point logout_until = Clock::now() + seconds(kDrainSeconds);
  for (auto& agent : agents) {
    if (!agent->WaitUntilDone(std::max(Clock::duration::zero(), logout_until - Clock::now()))) {
      agent->CancelCall();
    }
  }
  for (auto& agent : agents) agent->WaitUntilDone(seconds(kRpcTimeoutSeconds));

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
