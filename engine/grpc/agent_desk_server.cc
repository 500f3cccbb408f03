#include "engine/grpc/agent_desk_server.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "codec/completion_queue_tag.h"
#include "codec/owner_redirect.h"
#include "engine/agent_desk_session.h"
#include "engine/edge_calls.h"
#include "engine/grpc/grpc_status.h"
#include "engine/grpc/stream_writer.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/async_stream.h"

namespace ccr {

// One AgentDesk.Connect call, from the request for it to its end. Its
// operations all complete on its queue, whose one thread handles them in
// order (OnEvent); the routing strand and other threads only send through the
// outbox, which starts writes and the finish under its lock.
//
// Lifetime: the call is deleted on its queue's thread once
//   - gRPC delivered the done tag (the call is over; IsCancelled() is valid),
//   - the outbox was detached at that moment, so no thread can start a write
//     or the finish any more, and
//   - no read, write or finish it started is still pending.
// A request that fails (ok=false: the server is shutting down) never gets a
// done tag and is deleted at once.
class AgentDeskServer::Call {
 public:
  // Writes and the finish of a stream, started by the outbox under its lock.
  class Outbox;

  Call(AgentDeskServer& server, grpc::ServerCompletionQueue* cq) : server_(server), cq_(cq) {
    server_.live_calls_.fetch_add(1, std::memory_order_acq_rel);
  }
  ~Call() {
    if (accepted_) server_.RemoveStream(this);  // before ctx_ goes
    server_.live_calls_.fetch_sub(1, std::memory_order_acq_rel);
  }

  // Asks gRPC for the next stream on this queue.
  void Request() {
    ctx_.AsyncNotifyWhenDone(&done_tag_);  // before the request, as gRPC requires
    server_.service_.RequestConnect(&ctx_, &stream_, cq_, cq_, &accept_tag_);
  }

  // Where each of the call's operations reports; the queue hands back its address.
  enum class Op { kAccept, kRead, kWrite, kFinish, kDone };
  using Tag = CompletionTag<Call, Op>;

  // The queue's thread only. May delete the call.
  void OnEvent(Op op, bool ok);

  // Ends the call (Stop(); REQUIRES: listed in streams_, under streams_mu_).
  void Cancel() { ctx_.TryCancel(); }

  // The outbox's side, called under its lock (gRPC never completes them inline).
  void StartWrite(const v1::ServerMessage* message) { stream_.Write(*message, &write_tag_); }
  void Finish(grpc::Status status) { stream_.Finish(status, &finish_tag_); }

 private:
  void OnAccepted();
  void StartRead();
  void DeleteIfOver();

  AgentDeskServer& server_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext ctx_;
  grpc::ServerAsyncReaderWriter<v1::ServerMessage, v1::AgentMessage> stream_{&ctx_};
  Tag accept_tag_{this, Op::kAccept};
  Tag read_tag_{this, Op::kRead};
  Tag write_tag_{this, Op::kWrite};
  Tag finish_tag_{this, Op::kFinish};
  Tag done_tag_{this, Op::kDone};
  // The queue's thread only:
  bool accepted_ = false;
  bool reading_ = false;
  bool done_ = false;
  v1::AgentMessage message_;                 // gRPC's while reading_
  std::shared_ptr<Outbox> outbox_;           // set on accept
  std::optional<AgentDeskSession> session_;  // set on accept when authorized
};

// The engine's AgentSink for one stream: a bounded StreamWriter that starts
// operations under its lock and counts them, so the call knows when none is
// pending.
class AgentDeskServer::Call::Outbox final
    : public StreamWriter<Call, v1::ServerMessage, StartOps::kUnderLock>,
      public AgentDeskTransport {
 public:
  using Writer = StreamWriter<Call, v1::ServerMessage, StartOps::kUnderLock>;
  Outbox(Call* call, grpc::ServerContext* context, size_t max_queued)
      : Writer(call, context, max_queued), context_(context) {}
  bool Send(v1::ServerMessage message) override { return Writer::Send(std::move(message)); }
  void Close(const absl::Status& status) override { Finish(ToGrpcStatus(status), OwnerOf(status)); }
  // REQUIRES: the call's queue thread, before the done tag (the context is alive).
  void CloseOverloaded(const absl::Status& status) override {
    context_->AddTrailingMetadata("retry-after-ms", absl::StrCat(kRetryAfterMs));
    Finish(ToGrpcStatus(status));
  }

 private:
  grpc::ServerContext* const context_;  // valid until the call is deleted
};

void AgentDeskServer::Call::OnEvent(Op op, bool ok) {
  switch (op) {
    case Op::kAccept:
      if (!ok) {
        delete this;  // no call came (shutting down): no done tag will either
        return;
      }
      OnAccepted();
      break;
    case Op::kRead:
      reading_ = false;
      if (!ok) {
        // The desktop closed its side, or the stream broke (a cancelled stream
        // fails its read too, often before the done tag). Which one it was is
        // known for sure only at the done tag, which decides.
        outbox_->Finish(grpc::Status::OK);
      } else if (!done_) {
        session_->OnMessage(message_);
        if (!outbox_->closed()) StartRead();
      }
      break;
    case Op::kWrite:
      outbox_->OnWriteDone(ok);
      break;
    case Op::kFinish:
      outbox_->OnFinishDone();
      break;
    case Op::kDone:
      done_ = true;
      outbox_->OnDone();  // from here on no thread starts a write or the finish
      // A half-close answered with our status is a clean goodbye; a stream
      // cancelled by either side (vanished desktop, server finished it for
      // falling behind, shutdown) gets the disconnect grace.
      if (session_) session_->Leave(/*clean=*/!ctx_.IsCancelled());
      break;
  }
  DeleteIfOver();
}

void AgentDeskServer::Call::OnAccepted() {
  accepted_ = true;
  server_.AddStream(this);
  server_.Arm(cq_);  // the next desktop's request, on the same queue
  Engine& engine = server_.engine_;
  outbox_ = std::make_shared<Outbox>(this, &ctx_, engine.options().agent_outbox_limit);
  absl::StatusOr<Principal> who = server_.auth_.Authorize(ctx_, kAgentRoles, "AgentDesk.Connect");
  if (!who.ok()) {
    outbox_->Finish(ToGrpcStatus(who.status()));
    return;
  }
  session_.emplace(engine, server_.auth_, *std::move(who), ctx_.peer(), outbox_);
  StartRead();
}

void AgentDeskServer::Call::StartRead() {
  reading_ = true;
  stream_.Read(&message_, &read_tag_);
}

void AgentDeskServer::Call::DeleteIfOver() {
  if (done_ && !reading_ && outbox_->idle()) delete this;
}

AgentDeskServer::AgentDeskServer(Engine& engine, const Authenticator& auth,
                                 AgentDeskServerOptions options)
    : engine_(engine), auth_(auth), options_(options) {
  CCR_CHECK(options_.completion_queues >= 1) << "completion_queues: at least 1";
  CCR_CHECK(options_.accepts_per_queue >= 1) << "accepts_per_queue: at least 1";
}

AgentDeskServer::~AgentDeskServer() {
  CCR_CHECK(!started_ || stopped_) << "AgentDeskServer destroyed without Stop()";
  Stop();  // queues added but never started
}

void AgentDeskServer::AddTo(grpc::ServerBuilder& builder) {
  CCR_CHECK(queues_.empty()) << "AgentDeskServer::AddTo called twice";
  builder.RegisterService(&service_);
  for (int i = 0; i < options_.completion_queues; ++i) {
    queues_.push_back(builder.AddCompletionQueue());
  }
}

void AgentDeskServer::Start() {
  CCR_CHECK(!queues_.empty() && !started_) << "AgentDeskServer::Start: AddTo first, once";
  started_ = true;
  for (auto& queue : queues_) {
    for (int n = 0; n < options_.accepts_per_queue; ++n) Arm(queue.get());
  }
  for (auto& queue : queues_) {
    threads_.emplace_back([this, cq = queue.get()] { Drain(cq); });
  }
}

void AgentDeskServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    absl::MutexLock lock(&arm_mu_);
    stopping_ = true;
  }
  {
    absl::MutexLock lock(&streams_mu_);
    for (Call* call : streams_) call->Cancel();
    // Each cancelled call's pending operations fail and its done tag comes,
    // on its queue's thread, which deletes it.
    const bool gone = streams_mu_.AwaitWithTimeout(
        absl::Condition(
            +[](absl::flat_hash_set<Call*>* streams) { return streams->empty(); }, &streams_),
        absl::Seconds(10));
    CCR_CHECK(gone) << streams_.size() << " AgentDesk calls still open 10 s after being cancelled";
  }
  for (auto& queue : queues_) queue->Shutdown();
  if (started_) {
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  } else {
    for (auto& queue : queues_) Drain(queue.get());  // added, never started: empty
  }
  CCR_CHECK(live_calls_.load() == 0)
      << live_calls_.load() << " AgentDesk calls outlived their completion queues";
}

void AgentDeskServer::AddStream(Call* call) {
  absl::MutexLock lock(&streams_mu_);
  streams_.insert(call);
  live_streams_.fetch_add(1, std::memory_order_acq_rel);
}

void AgentDeskServer::RemoveStream(Call* call) {
  absl::MutexLock lock(&streams_mu_);
  streams_.erase(call);
  live_streams_.fetch_sub(1, std::memory_order_acq_rel);
}

void AgentDeskServer::Arm(grpc::ServerCompletionQueue* cq) {
  absl::MutexLock lock(&arm_mu_);
  if (stopping_) return;
  (new Call(*this, cq))->Request();
}

void AgentDeskServer::Drain(grpc::ServerCompletionQueue* cq) {
  DrainCompletionQueue<Call::Tag>(*cq);
}

}  // namespace ccr
