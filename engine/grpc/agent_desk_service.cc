// AgentDesk.Connect: one bidirectional stream per agent desktop. The
// conversation itself is the transport-neutral AgentDeskSession; this reactor
// only reads, writes (AgentOutbox) and says when the stream ends.
#include <memory>

#include "engine/agent_desk_session.h"
#include "engine/grpc/services.h"

namespace ccr {

namespace {

class AgentStreamReactor final
    : public grpc::ServerBidiReactor<v1::AgentMessage, v1::ServerMessage> {
 public:
  AgentStreamReactor(Engine& engine, const Authenticator& auth, grpc::CallbackServerContext* ctx,
                     Principal caller)
      : ctx_(ctx),
        outbox_(std::make_shared<AgentOutbox>(this, ctx, engine.options().agent_outbox_limit)),
        session_(engine, auth, std::move(caller), ctx->peer(), outbox_) {
    StartRead(&message_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The desktop closed its side, or the stream broke: a cancelled or
      // dropped stream also fails its read, often before OnCancel runs. Which
      // one it was is known for sure only in OnDone, which decides.
      outbox_->Finish(grpc::Status::OK);
      return;
    }
    session_.OnMessage(message_);
    if (!outbox_->closed()) StartRead(&message_);
  }

  void OnWriteDone(bool ok) override { outbox_->OnWriteDone(ok); }

  void OnCancel() override {
    session_.Leave(/*clean=*/false);
    outbox_->Finish(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    // A half-close answered with our status is a clean goodbye; a stream
    // cancelled by either side (vanished desktop, server finished it for
    // falling behind) gets the disconnect grace.
    session_.Leave(/*clean=*/!ctx_->IsCancelled());
    outbox_->OnDone();
    delete this;
  }

 private:
  grpc::CallbackServerContext* ctx_;  // valid until OnDone returns
  std::shared_ptr<AgentOutbox> outbox_;
  AgentDeskSession session_;
  v1::AgentMessage message_;
};

}  // namespace

grpc::ServerBidiReactor<v1::AgentMessage, v1::ServerMessage>* AgentDeskService::Connect(
    grpc::CallbackServerContext* ctx) {
  absl::StatusOr<Principal> who = auth_.Authorize(*ctx, kAgentRoles, "AgentDesk.Connect");
  if (!who.ok()) {
    return new RefusedStream<v1::AgentMessage, v1::ServerMessage>(ToGrpcStatus(who.status()));
  }
  return new AgentStreamReactor(engine_, auth_, ctx, *std::move(who));
}

}  // namespace ccr
