#include "engine/grpc/strand_call.h"

#include "absl/strings/str_cat.h"
#include "engine/agent_desk_session.h"
#include "engine/grpc/grpc_status.h"

namespace ccr {

grpc::Status Overloaded(grpc::CallbackServerContext* ctx, const Engine& engine) {
  if (ctx != nullptr) ctx->AddTrailingMetadata("retry-after-ms", absl::StrCat(kRetryAfterMs));
  static_assert(kRetryAfterMs == kOverloadRetryAfterMs, "one retry hint for every transport");
  return ToGrpcStatus(EngineOverloadedError(engine));
}

grpc::ServerUnaryReactor* RefuseOverloaded(grpc::CallbackServerContext* ctx, const Engine& engine) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(Overloaded(ctx, engine));
  return reactor;
}

grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* ctx, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* RunOnStrand(Engine& engine, grpc::CallbackServerContext* ctx,
                                      std::function<absl::Status(Engine&)> fn,
                                      Admission admission) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const bool posted = engine.Post(
      [reactor, fn = std::move(fn)](Engine& e) { reactor->Finish(ToGrpcStatus(fn(e))); },
      admission);
  if (!posted) reactor->Finish(Overloaded(ctx, engine));
  return reactor;
}

grpc::ServerUnaryReactor* ExecuteOnStrand(Engine& engine, grpc::CallbackServerContext* ctx,
                                          v1::Command cmd, CommandAnswer answer,
                                          Admission admission) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const bool posted = engine.Execute(
      std::move(cmd),
      [reactor, answer = std::move(answer)](Engine& e, const ApplyResult& applied) {
        reactor->Finish(ToGrpcStatus(answer ? answer(e, applied) : applied.status));
      },
      admission);
  if (!posted) reactor->Finish(Overloaded(ctx, engine));
  return reactor;
}

}  // namespace ccr
