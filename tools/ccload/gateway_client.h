// GatewayClient: one simulated contact gateway on its own channel, on the
// gRPC callback API. Submits go over one ContactIngest.SubmitStream (the
// benchmark's default) or as unary Submits (the demo, `--ingest unary`);
// customers hang up with a unary Update. Nothing here blocks: Submit queues
// and returns, replies are counted on gRPC's threads.
//
//   RunCounters counters;
//   GatewayClient gateway(channel, {.stream = true}, counters);
//   gateway.Start();
//   gateway.Submit(spec, /*intended=*/Clock::now());
//   gateway.Finish();                          // no more submits
//   if (!gateway.WaitDone(5s)) gateway.Cancel();
//   gateway.WaitDone(10s);                     // every callback has run
//
// Each answer is counted in RunCounters (latency from `intended`, so an open
// loop measures without coordinated omission) and then handed to the
// optional observer, which may Submit again (a closed loop).
#ifndef CCR_TOOLS_CCLOAD_GATEWAY_CLIENT_H_
#define CCR_TOOLS_CCLOAD_GATEWAY_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "ccrouter/v1/ingest.grpc.pb.h"
#include "tools/ccload/channels.h"
#include "tools/ccload/run_counters.h"

namespace ccr::load {

struct GatewayOptions {
  bool stream = true;               // SubmitStream; false: unary Submit
  double rpc_timeout_seconds = 10;  // deadline of each unary call
  // SubmitStream: submits queued behind the one write in flight; beyond it
  // Submit refuses. (The callers bound what is in flight well below.)
  size_t max_queued_submits = 1 << 20;
  // Cluster mode: set, a SubmitStream a standby ends (UNAVAILABLE naming the
  // owner) is reopened once at that owner, on a channel from here (which
  // outlives the client). Its unanswered submits stay counted unanswered.
  ChannelsByAddress* follow_owner = nullptr;
};

// What a submit came to, for the observer.
struct SubmitAnswer {
  std::chrono::steady_clock::time_point intended;
  std::chrono::steady_clock::time_point answered;
  int code = 0;  // google.rpc code; 0: `reply` holds the engine's answer
  std::string error_message;
  const ccrouter::v1::SubmitReply* reply = nullptr;  // valid during the call only
  // As given to Submit (unary only; over SubmitStream only the correlation
  // id comes back, so these stay empty and 0).
  std::string queue;
  double patience_seconds = 0;
};

class GatewayClient {
 public:
  using Clock = std::chrono::steady_clock;
  // Runs on a gRPC callback thread: must not block.
  using AnswerObserver = std::function<void(const SubmitAnswer&)>;

  GatewayClient(std::shared_ptr<grpc::Channel> channel, GatewayOptions options,
                RunCounters& counters, AnswerObserver on_answer = nullptr);
  // Finishes, cancels what is left and waits for every callback.
  ~GatewayClient();
  GatewayClient(const GatewayClient&) = delete;
  GatewayClient& operator=(const GatewayClient&) = delete;

  // Opens the SubmitStream (unary: nothing to open).
  void Start();

  // Sends `spec` (its idempotency key set by the caller). `intended`: when
  // the schedule meant to send it; latency runs from there. False (nothing
  // sent, nothing counted) once finishing, when the stream broke, or when
  // its queue is full. Thread-safe; never blocks.
  bool Submit(ccrouter::v1::ContactSpec spec, Clock::time_point intended,
              double patience_seconds = 0);

  // The customer hangs up: Update abandoned=true. Counts an abandon when it
  // is answered OK; FAILED_PRECONDITION / NOT_FOUND (answered or ended
  // meanwhile) are not errors. `on_done(ok)` runs on a gRPC thread.
  void HangUp(const std::string& contact_id, std::function<void(bool ok)> on_done = nullptr);

  // No more submits; the stream half-closes once every reply is in.
  void Finish();
  // True once every call has ended and every callback has run.
  bool WaitDone(Clock::duration timeout);
  // Gives up on unanswered stream submits (counted as unanswered). Unary
  // calls end by their deadline.
  void Cancel();

 private:
  class SubmitStreamCall;

  void SubmitUnary(ccrouter::v1::ContactSpec spec, Clock::time_point intended,
                   double patience_seconds);
  // From the first SubmitStream's OnDone, before it counts as done: reopens
  // it at `owner` unless finishing.
  void ReopenStreamAt(const std::string& owner);
  // The stream submits go to: the reopened one once there is one.
  SubmitStreamCall* open_stream() const;
  void UnaryCallEnded();

  const std::unique_ptr<ccrouter::v1::ContactIngest::Stub> stub_;
  const GatewayOptions options_;
  RunCounters& counters_;
  const AnswerObserver on_answer_;
  std::unique_ptr<SubmitStreamCall> stream_;  // set by Start in stream mode; then constant
  // The stub and stream at the owner a standby named (follow_owner); set
  // once, under mu_, and then constant. `reopened_` publishes them to
  // Submit, which takes no lock.
  std::unique_ptr<ccrouter::v1::ContactIngest::Stub> owner_stub_;
  std::unique_ptr<SubmitStreamCall> reopened_stream_;
  std::atomic<SubmitStreamCall*> reopened_{nullptr};

  std::mutex mu_;
  std::condition_variable idle_cv_;
  bool finishing_ = false;   // GUARDED_BY(mu_)
  int64_t unary_calls_ = 0;  // GUARDED_BY(mu_): submits and hang-ups in flight
};

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_GATEWAY_CLIENT_H_
