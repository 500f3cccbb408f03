// ccload: demo traffic for ccrouterd. Simulated gateways submit contacts with
// Poisson arrivals (ContactIngest.Submit, callback API, so the arrival clock
// never waits on a reply); simulated agents hold one AgentDesk.Connect stream
// each (sync API, one reader thread per agent) and answer offers on a shared
// scheduler thread. The main thread owns signals and prints statistics.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ccrouter/v1/admin.grpc.pb.h"
#include "ccrouter/v1/agent_desk.grpc.pb.h"
#include "ccrouter/v1/ingest.grpc.pb.h"
#include "tools/ccload/traffic_mix.h"

namespace ccr::load {
namespace {

namespace v1 = ::ccrouter::v1;
using Clock = std::chrono::steady_clock;

constexpr auto kRpcTimeout = std::chrono::seconds(5);

Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::OK:
      return "OK";
    case grpc::CANCELLED:
      return "CANCELLED";
    case grpc::UNKNOWN:
      return "UNKNOWN";
    case grpc::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::ABORTED:
      return "ABORTED";
    case grpc::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::INTERNAL:
      return "INTERNAL";
    case grpc::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

// Runs timed actions in deadline order on one thread. Actions must not block
// for long: every simulated agent shares this thread.
class Scheduler {
 public:
  Scheduler() : thread_([this] { Run(); }) {}
  ~Scheduler() { Stop(); }

  void After(double seconds, std::function<void()> action) {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    items_.push(Item{Clock::now() + Seconds(seconds), next_sequence_++, std::move(action)});
    cv_.notify_one();
  }

  // Drops pending actions and joins. Idempotent.
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
      if (Clock::now() < items_.top().when) {
        cv_.wait_until(lock, items_.top().when);
        continue;
      }
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
struct Totals {
  std::atomic<uint64_t> submitted{0}, acked{0}, duplicates{0}, offers{0}, accepts{0}, rejects{0},
      completes{0}, wrap_ups{0}, withdrawn{0}, abandons{0}, command_errors{0};
  std::atomic<int> agents_connected{0};

  // Counts the error; the first few are also described on stderr (they never
  // carry customer ids: the engine masks them).
  void RecordError(const std::string& rpc, const grpc::Status& status) {
    {
      std::lock_guard lock(mu);
      ++errors[status.error_code()];
    }
    Describe(absl::StrCat(rpc, ": ", CodeName(status.error_code()), ": ", status.error_message()));
  }
  void Describe(const std::string& what) {
    std::lock_guard lock(mu);
    if (++described <= kMaxDescribed) {
      std::fprintf(stderr, "ccload: %s%s\n", what.c_str(),
                   described == kMaxDescribed ? " (further errors only counted)" : "");
    }
  }
  std::map<grpc::StatusCode, uint64_t> Errors() {
    std::lock_guard lock(mu);
    return errors;
  }

 private:
  static constexpr int kMaxDescribed = 10;
  std::mutex mu;
  std::map<grpc::StatusCode, uint64_t> errors;  // GUARDED_BY(mu)
  int described = 0;                            // GUARDED_BY(mu)
};

// Contacts whose customer may still hang up: queued at submit and not yet
// offered to any agent.
class PatienceTracker {
 public:
  void Watch(const std::string& contact_id) {
    std::lock_guard lock(mu_);
    waiting_.insert(contact_id);
  }
  void MarkOffered(const std::string& contact_id) {
    std::lock_guard lock(mu_);
    waiting_.erase(contact_id);
  }
  // True when the contact was never offered; stops watching it either way.
  bool TakeUnoffered(const std::string& contact_id) {
    std::lock_guard lock(mu_);
    return waiting_.erase(contact_id) > 0;
  }

 private:
  std::mutex mu_;
  std::set<std::string> waiting_;  // GUARDED_BY(mu_)
};

// Counts in-flight async calls so shutdown can wait for their callbacks.
class InFlight {
 public:
  void Add() {
    std::lock_guard lock(mu_);
    ++count_;
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

// The simulated gateways: one arrival clock, async unary submits.
class Gateways {
 public:
  Gateways(std::shared_ptr<grpc::Channel> channel, const LoadOptions& opts, Scheduler& scheduler,
           Totals& totals, PatienceTracker& patience)
      : stub_(v1::ContactIngest::NewStub(channel)),
        rate_per_second_(opts.rate_per_second),
        mix_(opts.seed),
        scheduler_(scheduler),
        totals_(totals),
        patience_(patience),
        run_id_(absl::StrFormat(
            "%x", std::chrono::system_clock::now().time_since_epoch().count() & 0xffffffffffff)) {}

  void Start() {
    thread_ = std::thread([this] { ArrivalLoop(); });
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

  // REQUIRES: Stop() and the scheduler stopped, so nothing starts new calls.
  void WaitForReplies() { in_flight_.WaitIdle(); }

 private:
  struct SubmitCall {
    grpc::ClientContext ctx;
    v1::SubmitRequest request;
    v1::SubmitReply reply;
    double patience_seconds = 0;
  };
  struct UpdateCall {
    grpc::ClientContext ctx;
    v1::UpdateRequest request;
    v1::UpdateReply reply;
  };

  void ArrivalLoop() {
    Clock::time_point next = Clock::now();
    uint64_t sequence = 0;
    for (;;) {
      if (rate_per_second_ > 0) next += Seconds(mix_.NextInterArrivalSeconds(rate_per_second_));
      {
        std::unique_lock lock(mu_);
        auto stop = [this] { return stopping_; };
        if (rate_per_second_ > 0 ? cv_.wait_until(lock, next, stop) : (cv_.wait(lock, stop), true))
          return;
      }
      Arrival arrival = mix_.NextArrival();
      arrival.spec.set_idempotency_key(absl::StrCat("ccload-", run_id_, "-", ++sequence));
      Submit(std::move(arrival));
    }
  }

  void Submit(Arrival arrival) {
    auto call = std::make_shared<SubmitCall>();
    *call->request.mutable_contact() = std::move(arrival.spec);
    call->patience_seconds = arrival.patience_seconds;
    call->ctx.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
    totals_.submitted++;
    in_flight_.Add();
    stub_->async()->Submit(&call->ctx, &call->request, &call->reply,
                           [this, call](grpc::Status status) {
                             OnSubmitted(*call, status);
                             in_flight_.Done();
                           });
  }

  // Runs on a gRPC callback thread: bookkeeping only.
  void OnSubmitted(const SubmitCall& call, const grpc::Status& status) {
    if (!status.ok()) {
      totals_.RecordError("Submit", status);
      return;
    }
    totals_.acked++;
    if (call.reply.duplicate()) totals_.duplicates++;
    if (call.patience_seconds <= 0 || call.reply.state() != v1::CONTACT_STATE_QUEUED) return;
    const std::string contact_id = call.reply.contact_id();
    patience_.Watch(contact_id);
    scheduler_.After(call.patience_seconds, [this, contact_id] {
      if (patience_.TakeUnoffered(contact_id)) Abandon(contact_id);
    });
  }

  void Abandon(const std::string& contact_id) {
    auto call = std::make_shared<UpdateCall>();
    call->request.set_contact_id(contact_id);
    call->request.set_abandoned(true);
    call->ctx.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
    in_flight_.Add();
    stub_->async()->Update(&call->ctx, &call->request, &call->reply,
                           [this, call](grpc::Status status) {
                             if (status.ok()) {
                               totals_.abandons++;
                             } else if (status.error_code() != grpc::FAILED_PRECONDITION &&
                                        status.error_code() != grpc::NOT_FOUND) {
                               // Otherwise it was answered meanwhile: not an error.
                               totals_.RecordError("Update", status);
                             }
                             in_flight_.Done();
                           });
  }

  const std::unique_ptr<v1::ContactIngest::Stub> stub_;
  const double rate_per_second_;
  TrafficMix mix_;  // arrival thread only
  Scheduler& scheduler_;
  Totals& totals_;
  PatienceTracker& patience_;
  const std::string run_id_;  // keeps idempotency keys unique across runs
  InFlight in_flight_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

// One simulated agent desktop: a reader thread on its stream; replies are
// scheduled on the shared scheduler. Stream writes are serialized by write_mu_.
class SimulatedAgent {
 public:
  SimulatedAgent(v1::AgentDesk::Stub& stub, AgentProfile profile, uint64_t seed,
                 Scheduler& scheduler, Totals& totals, PatienceTracker& patience)
      : stub_(stub),
        login_(std::move(profile.login)),
        scheduler_(scheduler),
        totals_(totals),
        patience_(patience),
        behaviour_(seed) {}

  void Start() {
    reader_ = std::thread([this] { ReadLoop(); });
  }

  // Half-closes the stream: the engine logs the agent out and finishes it.
  void Close() {
    std::lock_guard lock(write_mu_);
    closed_ = true;
    if (stream_ != nullptr) stream_->WritesDone();
  }

  bool WaitDone(Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return done_cv_.wait_until(lock, deadline, [this] { return done_; });
  }
  void Cancel() { ctx_.TryCancel(); }
  void Join() {
    if (reader_.joinable()) reader_.join();
  }

 private:
  void ReadLoop() {
    {
      std::lock_guard lock(write_mu_);
      if (!closed_) {
        stream_ = stub_.Connect(&ctx_);
        v1::AgentMessage hello;
        *hello.mutable_login() = login_;
        stream_->Write(hello);
      }
    }
    bool logged_in = false;
    v1::ServerMessage message;
    while (stream_ != nullptr && stream_->Read(&message)) {
      switch (message.kind_case()) {
        case v1::ServerMessage::kLoginOk: {
          logged_in = true;
          totals_.agents_connected++;
          double interval = message.login_ok().heartbeat_interval_seconds();
          heartbeat_interval_seconds_ = interval > 0 ? interval : 5;
          ScheduleHeartbeat();
          break;
        }
        case v1::ServerMessage::kOffer:
          OnOffer(message.offer());
          break;
        case v1::ServerMessage::kOfferWithdrawn: {
          totals_.withdrawn++;
          std::lock_guard lock(mu_);
          pending_offers_.erase(message.offer_withdrawn().offer_id());
          break;
        }
        case v1::ServerMessage::kResult:
          OnResult(message.result());
          break;
        case v1::ServerMessage::kStateChanged:
          // Missed offers put the agent on not-ready; come back after a pause
          // as a real agent would.
          if (message.state_changed().state() == v1::AGENT_STATE_NOT_READY) {
            scheduler_.After(5, [this] {
              v1::AgentMessage m;
              m.mutable_set_state()->set_state(v1::AGENT_STATE_AVAILABLE);
              Write(std::move(m));
            });
          }
          break;
        default:
          break;
      }
    }
    grpc::Status status = stream_ != nullptr ? stream_->Finish() : grpc::Status::OK;
    if (logged_in) totals_.agents_connected--;
    bool closing;
    {
      std::lock_guard lock(write_mu_);
      closing = closed_;
    }
    if (!status.ok() && !(closing && status.error_code() == grpc::CANCELLED)) {
      totals_.RecordError(absl::StrCat("AgentDesk.Connect ", login_.agent_id()), status);
    }
    std::lock_guard lock(mu_);
    done_ = true;
    done_cv_.notify_all();
  }

  // `accepted_contact`: the message is an Accept for this contact; remember
  // its request id so a failed CommandResult cancels the follow-ups.
  void Write(v1::AgentMessage message, const std::string* accepted_contact = nullptr) {
    std::lock_guard lock(write_mu_);
    if (closed_ || stream_ == nullptr) return;
    message.set_request_id(++next_request_id_);
    if (accepted_contact != nullptr) {
      std::lock_guard state_lock(mu_);  // lock order: write_mu_, then mu_
      pending_accepts_[message.request_id()] = *accepted_contact;
    }
    stream_->Write(message);
  }

  void ScheduleHeartbeat() {
    scheduler_.After(heartbeat_interval_seconds_, [this] {
      v1::AgentMessage m;
      m.mutable_heartbeat()->set_sequence(++heartbeat_sequence_);
      Write(std::move(m));
      ScheduleHeartbeat();
    });
  }

  void OnOffer(const v1::Offer& offer) {
    totals_.offers++;
    patience_.MarkOffered(offer.contact_id());
    double delay;
    {
      std::lock_guard lock(mu_);
      pending_offers_.insert(offer.offer_id());
      delay = behaviour_.AcceptDelaySeconds();
    }
    scheduler_.After(delay,
                     [this, offer_id = offer.offer_id(), contact_id = offer.contact_id(),
                      channel = offer.channel()] { AnswerOffer(offer_id, contact_id, channel); });
  }

  // Scheduler thread.
  void AnswerOffer(const std::string& offer_id, const std::string& contact_id,
                   v1::Channel channel) {
    bool reject;
    double handle_seconds;
    {
      std::lock_guard lock(mu_);
      if (pending_offers_.erase(offer_id) == 0) return;  // withdrawn meanwhile
      reject = behaviour_.Rejects();
      handle_seconds = behaviour_.HandleSeconds(channel);
    }
    v1::AgentMessage m;
    if (reject) {
      m.mutable_reject()->set_offer_id(offer_id);
      m.mutable_reject()->set_reason("busy");
      totals_.rejects++;
      Write(std::move(m));
      return;
    }
    m.mutable_accept()->set_offer_id(offer_id);
    totals_.accepts++;
    Write(std::move(m), &contact_id);
    scheduler_.After(handle_seconds, [this, contact_id] { CompleteContact(contact_id); });
  }

  void CompleteContact(const std::string& contact_id) {
    bool resolved;
    double wrap_up_seconds;
    {
      std::lock_guard lock(mu_);
      if (failed_accepts_.erase(contact_id) > 0) return;
      resolved = behaviour_.Resolved();
      wrap_up_seconds = behaviour_.WrapUpSeconds();
    }
    v1::AgentMessage m;
    m.mutable_complete()->set_contact_id(contact_id);
    m.mutable_complete()->mutable_outcome()->set_resolved(resolved);
    m.mutable_complete()->mutable_outcome()->set_disposition(resolved ? "resolved" : "pending");
    totals_.completes++;
    Write(std::move(m));
    scheduler_.After(wrap_up_seconds, [this, contact_id] {
      v1::AgentMessage done;
      done.mutable_wrap_up_done()->set_contact_id(contact_id);
      totals_.wrap_ups++;
      Write(std::move(done));
    });
  }

  void OnResult(const v1::CommandResult& result) {
    std::lock_guard lock(mu_);
    auto it = pending_accepts_.find(result.request_id());
    if (result.code() != 0) {
      totals_.command_errors++;
      totals_.Describe(absl::StrCat("AgentDesk command ", login_.agent_id(), ": ",
                                    CodeName(static_cast<grpc::StatusCode>(result.code())), ": ",
                                    result.message()));
      if (it != pending_accepts_.end()) failed_accepts_.insert(it->second);
    }
    if (it != pending_accepts_.end()) pending_accepts_.erase(it);
  }

  v1::AgentDesk::Stub& stub_;
  const v1::Login login_;
  Scheduler& scheduler_;
  Totals& totals_;
  PatienceTracker& patience_;
  double heartbeat_interval_seconds_ = 5;  // set before the first heartbeat is scheduled
  uint64_t heartbeat_sequence_ = 0;        // scheduler thread only

  grpc::ClientContext ctx_;
  std::mutex write_mu_;  // one writer at a time on stream_
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::ServerMessage>>
      stream_;                    // set once under write_mu_ before the read loop
  bool closed_ = false;           // GUARDED_BY(write_mu_)
  uint64_t next_request_id_ = 0;  // GUARDED_BY(write_mu_)

  std::mutex mu_;
  DeskBehaviour behaviour_;                          // GUARDED_BY(mu_)
  std::set<std::string> pending_offers_;             // GUARDED_BY(mu_): offer ids
  std::map<uint64_t, std::string> pending_accepts_;  // GUARDED_BY(mu_): request id -> contact
  std::set<std::string> failed_accepts_;             // GUARDED_BY(mu_): contact ids
  bool done_ = false;                                // GUARDED_BY(mu_)
  std::condition_variable done_cv_;
  std::thread reader_;
};

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

class StatsPrinter {
 public:
  StatsPrinter(std::shared_ptr<grpc::Channel> channel, const LoadOptions& opts, int agents,
               Totals& totals)
      : stub_(v1::Admin::NewStub(channel)), json_(opts.json), agents_(agents), totals_(totals) {}

  void Print(double elapsed_seconds, bool final) {
    v1::ListQueuesReply queues;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc::Status status = stub_->ListQueues(&ctx, v1::ListQueuesRequest(), &queues);
    if (json_) {
      PrintJson(elapsed_seconds, final, status, queues);
    } else {
      PrintTable(elapsed_seconds, final, status, queues);
    }
    std::fflush(stdout);
  }

 private:
  std::string ErrorsText() {
    std::vector<std::string> parts;
    uint64_t sum = 0;
    for (const auto& [code, n] : totals_.Errors()) {
      parts.push_back(absl::StrCat(CodeName(code), " ", n));
      sum += n;
    }
    if (sum == 0) return "0";
    return absl::StrCat(sum, " (", absl::StrJoin(parts, ", "), ")");
  }

  void PrintTable(double elapsed_seconds, bool final, const grpc::Status& status,
                  const v1::ListQueuesReply& reply) {
    std::printf("%s t=%.0fs  agents %d/%d  submitted %lu  acked %lu  errors %s\n",
                final ? "== final" : "--", elapsed_seconds, totals_.agents_connected.load(),
                agents_, totals_.submitted.load(), totals_.acked.load(), ErrorsText().c_str());
    std::printf(
        "   offers %lu  accepts %lu  rejects %lu  withdrawn %lu  completes %lu  wrap-ups %lu  "
        "abandons %lu  command errors %lu\n",
        totals_.offers.load(), totals_.accepts.load(), totals_.rejects.load(),
        totals_.withdrawn.load(), totals_.completes.load(), totals_.wrap_ups.load(),
        totals_.abandons.load(), totals_.command_errors.load());
    if (!status.ok()) {
      std::printf("   Admin.ListQueues: %s: %s\n", CodeName(status.error_code()),
                  status.error_message().c_str());
      return;
    }
    std::printf("   %-18s %6s %7s %9s %8s %12s %8s %8s %9s\n", "queue", "queued", "offered",
                "connected", "SL", "target", "answered", "abandon", "longest");
    for (const v1::QueueSnapshot& q : reply.queues()) {
      std::string sl = q.answered() > 0 ? absl::StrFormat("%.1f%%", 100 * q.service_level()) : "-";
      std::string target =
          absl::StrFormat("%.0f%% in %.0fs", 100 * q.target_ratio(), q.target_seconds());
      std::printf("   %-18s %6u %7u %9u %8s %12s %8lu %8lu %8.1fs\n", q.name().c_str(), q.queued(),
                  q.offered(), q.connected(), sl.c_str(), target.c_str(), q.answered(),
                  q.abandoned(), q.oldest_wait_seconds());
    }
  }

  void PrintJson(double elapsed_seconds, bool final, const grpc::Status& status,
                 const v1::ListQueuesReply& reply) {
    std::string out = absl::StrFormat("{\"elapsed_seconds\":%.3f", elapsed_seconds);
    if (final) out += ",\"final\":true";
    if (status.ok()) {
      std::vector<std::string> qs;
      for (const v1::QueueSnapshot& q : reply.queues()) {
        qs.push_back(absl::StrFormat(
            "{\"name\":%s,\"queued\":%u,\"offered\":%u,\"connected\":%u,\"service_level\":%.4f,"
            "\"target_ratio\":%.4f,\"target_seconds\":%.1f,\"answered\":%lu,\"abandoned\":%lu,"
            "\"oldest_wait_seconds\":%.3f}",
            JsonString(q.name()), q.queued(), q.offered(), q.connected(), q.service_level(),
            q.target_ratio(), q.target_seconds(), q.answered(), q.abandoned(),
            q.oldest_wait_seconds()));
      }
      absl::StrAppend(&out, ",\"queues\":[", absl::StrJoin(qs, ","), "]");
    } else {
      absl::StrAppend(
          &out, ",\"admin_error\":",
          JsonString(absl::StrCat(CodeName(status.error_code()), ": ", status.error_message())));
    }
    std::vector<std::string> errors;
    for (const auto& [code, n] : totals_.Errors()) {
      errors.push_back(absl::StrCat(JsonString(CodeName(code)), ":", n));
    }
    absl::StrAppend(
        &out, ",\"ccload\":{\"agents\":", agents_,
        ",\"agents_connected\":", totals_.agents_connected.load(),
        ",\"submitted\":", totals_.submitted.load(), ",\"acked\":", totals_.acked.load(),
        ",\"duplicates\":", totals_.duplicates.load(), ",\"errors\":{", absl::StrJoin(errors, ","),
        "},\"offers\":", totals_.offers.load(), ",\"accepts\":", totals_.accepts.load(),
        ",\"rejects\":", totals_.rejects.load(), ",\"withdrawn\":", totals_.withdrawn.load(),
        ",\"completes\":", totals_.completes.load(), ",\"wrap_ups\":", totals_.wrap_ups.load(),
        ",\"abandons\":", totals_.abandons.load(),
        ",\"command_errors\":", totals_.command_errors.load(), "}}");
    std::printf("%s\n", out.c_str());
  }

  const std::unique_ptr<v1::Admin::Stub> stub_;
  const bool json_;
  const int agents_;
  Totals& totals_;
};

int Run(int argc, char** argv) {
  absl::StatusOr<LoadOptions> parsed = ParseArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) {
    std::fprintf(stderr, "ccload: %s\n(see ccload --help)\n",
                 std::string(parsed.status().message()).c_str());
    return 2;
  }
  LoadOptions opts = *parsed;
  if (opts.help) {
    std::fputs(UsageText(), stdout);
    return 0;
  }
  if (!opts.seed_given)
    opts.seed = std::random_device()() ^ (uint64_t{std::random_device()()} << 32);

  // Signals are taken synchronously by the main thread: block them before any
  // thread (ours or gRPC's) starts so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(opts.server, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
    std::fprintf(stderr, "ccload: --server: cannot connect to %s\n", opts.server.c_str());
    return 1;
  }
  std::fprintf(opts.json ? stderr : stdout,
               "ccload: %s  agents %d  rate %g/s  duration %s  seed %lu  (Ctrl-C to stop)\n",
               opts.server.c_str(), opts.agents, opts.rate_per_second,
               opts.duration_seconds > 0 ? absl::StrCat(opts.duration_seconds, "s").c_str()
                                         : "until stopped",
               opts.seed);
  std::fflush(stdout);

  Totals totals;
  PatienceTracker patience;
  Scheduler scheduler;
  std::unique_ptr<v1::AgentDesk::Stub> desk_stub = v1::AgentDesk::NewStub(channel);
  std::vector<std::unique_ptr<SimulatedAgent>> agents;
  std::vector<AgentProfile> roster = MakeAgentRoster(opts.agents, opts.seed + 1);
  for (size_t i = 0; i < roster.size(); ++i) {
    agents.push_back(std::make_unique<SimulatedAgent>(
        *desk_stub, std::move(roster[i]), opts.seed + 1000 + i, scheduler, totals, patience));
  }
  for (auto& agent : agents) agent->Start();
  Gateways gateways(channel, opts, scheduler, totals, patience);
  gateways.Start();
  StatsPrinter stats(channel, opts, opts.agents, totals);

  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + Seconds(opts.duration_seconds);
  Clock::time_point next_stats = start + Seconds(opts.stats_interval_seconds);
  for (;;) {
    Clock::time_point wake = next_stats;
    if (opts.duration_seconds > 0) wake = std::min(wake, end);
    auto wait_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wake - Clock::now());
    wait_ns = std::max(wait_ns, std::chrono::nanoseconds(0));
    timespec ts{static_cast<time_t>(wait_ns.count() / 1000000000),
                static_cast<long>(wait_ns.count() % 1000000000)};
    int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) break;
    Clock::time_point now = Clock::now();
    if (opts.duration_seconds > 0 && now >= end) break;
    if (now >= next_stats) {
      stats.Print(std::chrono::duration<double>(now - start).count(), /*final=*/false);
      next_stats += Seconds(opts.stats_interval_seconds);
      if (next_stats < now) next_stats = now + Seconds(opts.stats_interval_seconds);
    }
  }

  // Shutdown: stop new work, say goodbye on every desk stream, drain replies.
  gateways.Stop();
  scheduler.Stop();
  for (auto& agent : agents) agent->Close();
  const Clock::time_point give_up = Clock::now() + std::chrono::seconds(3);
  for (auto& agent : agents) {
    if (!agent->WaitDone(give_up)) agent->Cancel();
  }
  for (auto& agent : agents) agent->Join();
  gateways.WaitForReplies();
  stats.Print(std::chrono::duration<double>(Clock::now() - start).count(), /*final=*/true);
  return 0;
}

}  // namespace
}  // namespace ccr::load

int main(int argc, char** argv) { return ccr::load::Run(argc, argv); }
