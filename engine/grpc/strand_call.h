// How a gRPC call reaches the routing strand and is answered from there:
// shared by the three services. Every helper returns at once; the answer
// comes from the strand (or at once, for a refusal), never by blocking a
// gRPC thread.
#ifndef CCROUTER_ENGINE_GRPC_STRAND_CALL_H_
#define CCROUTER_ENGINE_GRPC_STRAND_CALL_H_

#include <functional>

#include "absl/status/status.h"
#include "engine/edge_calls.h"
#include "engine/engine.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"

namespace ccr {

// Finishes a unary call at once with `status` (a refusal at the edge).
grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* ctx, const absl::Status& status);

// A stream refused before it starts: finishes with `status` at once.
template <typename Request, typename Response>
class RefusedStream final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit RefusedStream(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

template <typename Response>
class RefusedWriteStream final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RefusedWriteStream(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

// What a client refused for the strand's backlog gets: RESOURCE_EXHAUSTED
// naming the backlog, and (with a context) trailing metadata `retry-after-ms`.
grpc::Status Overloaded(grpc::CallbackServerContext* ctx, const Engine& engine);
// Finishes a unary call at once with Overloaded().
grpc::ServerUnaryReactor* RefuseOverloaded(grpc::CallbackServerContext* ctx, const Engine& engine);

// Answers a unary call on the strand: runs `fn` there and finishes with its
// status. Refuses at once (Overloaded) when the backlog is at the bound for
// `admission`.
grpc::ServerUnaryReactor* RunOnStrand(Engine& engine, grpc::CallbackServerContext* ctx,
                                      std::function<absl::Status(Engine&)> fn,
                                      Admission admission = Admission::kClient);

// Answers a unary call that changes state: journals `cmd`, applies it once
// durable, and finishes with `answer`'s status (null: the command's own).
grpc::ServerUnaryReactor* ExecuteOnStrand(Engine& engine, grpc::CallbackServerContext* ctx,
                                          v1::Command cmd, CommandAnswer answer = nullptr,
                                          Admission admission = Admission::kClient);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_GRPC_STRAND_CALL_H_
