// ContactIngest: gateways submit, update and cancel contacts.
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "base/std_mutex.h"
#include "codec/wire.h"
#include "engine/edge_calls.h"
#include "engine/grpc/rate_limiter.h"
#include "engine/grpc/services.h"
#include "engine/log.h"

namespace ccr {

namespace {

grpc::Status Draining() { return ToGrpcStatus(DrainingStatus()); }

// One SubmitStream call. Reads pipeline up to kMaxInFlight submits; the
// stream stops reading (flow control pushes back on the gateway) until
// replies catch up.
class SubmitStreamReactor final
    : public grpc::ServerBidiReactor<v1::SubmitStreamRequest, v1::SubmitStreamReply> {
 public:
  using Outbox =
      StreamWriter<grpc::ServerBidiReactor<v1::SubmitStreamRequest, v1::SubmitStreamReply>,
                   v1::SubmitStreamReply>;
  static constexpr int kMaxInFlight = 512;

  SubmitStreamReactor(Engine& engine, grpc::CallbackServerContext* ctx)
      : engine_(engine),
        state_(std::make_shared<State>()),
        limiter_(engine.options().submit_stream_messages_per_second,
                 engine.options().submit_stream_messages_per_second) {
    state_->reactor = this;
    state_->outbox = std::make_shared<Outbox>(this, ctx, 2 * kMaxInFlight);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      StdMutexLock lock(&state_->mu);
      state_->reads_done = true;
      if (state_->in_flight == 0) state_->outbox->Finish(grpc::Status::OK);
      return;
    }
    HandleRequest();
    StdMutexLock lock(&state_->mu);
    if (state_->in_flight < kMaxInFlight) {
      StartRead(&request_);
    } else {
      state_->paused = true;
    }
  }

  void OnWriteDone(bool ok) override { state_->outbox->OnWriteDone(ok); }
  void OnCancel() override { state_->outbox->Finish(grpc::Status::CANCELLED); }
  void OnDone() override {
    {
      StdMutexLock lock(&state_->mu);
      state_->reactor = nullptr;
    }
    state_->outbox->OnDone();
    delete this;
  }

 private:
  struct State {
    StdMutex mu;
    SubmitStreamReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;  // null after OnDone
    int in_flight ABSL_GUARDED_BY(mu) = 0;
    bool paused ABSL_GUARDED_BY(mu) = false;
    bool reads_done ABSL_GUARDED_BY(mu) = false;
    std::shared_ptr<Outbox> outbox;  // constant after construction
  };

  void HandleRequest() {
    v1::SubmitStreamReply reply;
    reply.set_correlation_id(request_.correlation_id());
    if (engine_.draining()) {
      reply.set_code(grpc::StatusCode::UNAVAILABLE);
      reply.set_error_message(Draining().error_message());
      state_->outbox->Send(std::move(reply));
      return;
    }
    if (!limiter_.Allow(absl::Now())) {
      engine_.CountRateLimited(LimitedStream::kSubmitStream);
      reply.set_code(grpc::StatusCode::RESOURCE_EXHAUSTED);
      reply.set_error_message(absl::StrCat("more than ",
                                           engine_.options().submit_stream_messages_per_second,
                                           " submits a second on this stream; slow down"));
      reply.set_retry_after_ms(kRetryAfterMs);
      state_->outbox->Send(std::move(reply));
      return;
    }
    SubmitAnswerKey key;
    // The contact moves into the command; the next read parses afresh.
    absl::StatusOr<v1::Command> cmd =
        SubmitCommand(std::move(*request_.mutable_contact()), engine_, &key);
    if (!cmd.ok()) {
      reply.set_code(static_cast<int>(cmd.status().code()));
      reply.set_error_message(std::string(cmd.status().message()));
      state_->outbox->Send(std::move(reply));
      return;
    }
    {
      StdMutexLock lock(&state_->mu);
      ++state_->in_flight;
    }
    std::shared_ptr<State> state = state_;
    const bool posted = engine_.Execute(
        std::move(*cmd),
        [state, reply, key = std::move(key)](Engine& engine, const ApplyResult& applied) mutable {
          absl::Status st = AnswerSubmit(engine, applied, key, reply.mutable_reply());
          if (!st.ok()) {
            reply.clear_reply();
            reply.set_code(static_cast<int>(st.code()));
            reply.set_error_message(std::string(st.message()));
          }
          state->outbox->Send(std::move(reply));
          Completed(*state);
        },
        Admission::kClient);
    if (!posted) {
      reply.set_code(grpc::StatusCode::RESOURCE_EXHAUSTED);
      reply.set_error_message(Overloaded(nullptr, engine_).error_message());
      reply.set_retry_after_ms(kRetryAfterMs);
      state_->outbox->Send(std::move(reply));
      Completed(*state_);
    }
  }

  static void Completed(State& state) {
    StdMutexLock lock(&state.mu);
    --state.in_flight;
    if (state.reactor == nullptr || state.outbox->closed()) return;
    if (state.paused && state.in_flight < kMaxInFlight) {
      state.paused = false;
      state.reactor->StartRead(&state.reactor->request_);
    } else if (state.reads_done && state.in_flight == 0) {
      state.outbox->Finish(grpc::Status::OK);
    }
  }

  Engine& engine_;
  std::shared_ptr<State> state_;
  MessageRateLimiter limiter_;  // read reactions only (sequential)
  v1::SubmitStreamRequest request_;
};

}  // namespace

grpc::ServerUnaryReactor* ContactIngestService::Submit(grpc::CallbackServerContext* ctx,
                                                       const v1::SubmitRequest* req,
                                                       v1::SubmitReply* reply) {
  if (auto who = auth_.Authorize(*ctx, kIngestRoles, "ContactIngest.Submit"); !who.ok()) {
    return Refuse(ctx, who.status());
  }
  if (engine_.draining()) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(Draining());
    return reactor;
  }
  SubmitAnswerKey key;
  absl::StatusOr<v1::Command> cmd = SubmitCommand(req->contact(), engine_, &key);
  if (!cmd.ok()) return Refuse(ctx, cmd.status());
  return ExecuteOnStrand(engine_, ctx, std::move(*cmd), SubmitAnswer(std::move(key), reply));
}

grpc::ServerBidiReactor<v1::SubmitStreamRequest, v1::SubmitStreamReply>*
ContactIngestService::SubmitStream(grpc::CallbackServerContext* ctx) {
  if (auto who = auth_.Authorize(*ctx, kIngestRoles, "ContactIngest.SubmitStream"); !who.ok()) {
    return new RefusedStream<v1::SubmitStreamRequest, v1::SubmitStreamReply>(
        ToGrpcStatus(who.status()));
  }
  return new SubmitStreamReactor(engine_, ctx);
}

grpc::ServerUnaryReactor* ContactIngestService::Update(grpc::CallbackServerContext* ctx,
                                                       const v1::UpdateRequest* req,
                                                       v1::UpdateReply* reply) {
  if (auto who = auth_.Authorize(*ctx, kIngestRoles, "ContactIngest.Update"); !who.ok()) {
    return Refuse(ctx, who.status());
  }
  absl::StatusOr<v1::Command> cmd = UpdateCommand(*req);
  if (!cmd.ok()) return Refuse(ctx, cmd.status());
  return ExecuteOnStrand(engine_, ctx, *std::move(cmd), UpdateAnswer(*req, reply));
}

grpc::ServerUnaryReactor* ContactIngestService::Cancel(grpc::CallbackServerContext* ctx,
                                                       const v1::CancelRequest* req,
                                                       v1::CancelReply* reply) {
  if (auto who = auth_.Authorize(*ctx, kIngestRoles, "ContactIngest.Cancel"); !who.ok()) {
    return Refuse(ctx, who.status());
  }
  absl::StatusOr<v1::Command> cmd = CancelCommand(*req);
  if (!cmd.ok()) return Refuse(ctx, cmd.status());
  return ExecuteOnStrand(engine_, ctx, *std::move(cmd), CancelAnswer(reply));
}

grpc::ServerUnaryReactor* ContactIngestService::GetContact(grpc::CallbackServerContext* ctx,
                                                           const v1::GetContactRequest* req,
                                                           v1::ContactStatus* reply) {
  if (auto who = auth_.Authorize(*ctx, kIngestRoles, "ContactIngest.GetContact"); !who.ok()) {
    return Refuse(ctx, who.status());
  }
  absl::StatusOr<StrandRead> read = GetContactRead(*req, reply);
  if (!read.ok()) return Refuse(ctx, read.status());
  // A read: answered on the strand from the router as it is, never journalled.
  return RunOnStrand(engine_, ctx, *std::move(read));
}

grpc::ServerWriteReactor<v1::ContactStatus>* ContactIngestService::WatchContact(
    grpc::CallbackServerContext* ctx, const v1::WatchContactRequest* req) {
  if (auto who = auth_.Authorize(*ctx, kIngestRoles, "ContactIngest.WatchContact"); !who.ok()) {
    return new RefusedWriteStream<v1::ContactStatus>(ToGrpcStatus(who.status()));
  }
  if (absl::Status valid = ValidateContactRef(req->contact()); !valid.ok()) {
    return new RefusedWriteStream<v1::ContactStatus>(ToGrpcStatus(valid));
  }
  // Statuses are whole pictures, each replacing the last: a few queued is
  // plenty, and a reader that stalls holds one newer status in the engine.
  constexpr size_t kMaxStatusesQueued = 4;
  return new CatchUpStreamReactor<v1::ContactStatus>(
      engine_, ctx, kMaxStatusesQueued,
      [ref = req->contact()](Engine& e, std::shared_ptr<ContactStatusOutbox> outbox) {
        return e.WatchContact(ref, std::move(outbox));
      });
}

}  // namespace ccr
