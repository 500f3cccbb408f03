// The gRPC services: thin adapters that validate at the edge, post a command
// to the engine's routing strand, and answer from there. No reaction ever
// blocks: on 2 cores gRPC runs every reaction on 2 threads.
#ifndef CCROUTER_ENGINE_SERVICES_H_
#define CCROUTER_ENGINE_SERVICES_H_

#include "ccrouter/v1/admin.grpc.pb.h"
#include "ccrouter/v1/agent_desk.grpc.pb.h"
#include "ccrouter/v1/ingest.grpc.pb.h"
#include "engine/auth.h"
#include "engine/engine.h"

namespace ccr {

class ContactIngestService final : public v1::ContactIngest::CallbackService {
 public:
  ContactIngestService(Engine& engine, const Authenticator& auth) : engine_(engine), auth_(auth) {}
  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* ctx, const v1::SubmitRequest* req,
                                   v1::SubmitReply* reply) override;
  grpc::ServerBidiReactor<v1::SubmitStreamRequest, v1::SubmitStreamReply>* SubmitStream(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* Update(grpc::CallbackServerContext* ctx, const v1::UpdateRequest* req,
                                   v1::UpdateReply* reply) override;
  grpc::ServerUnaryReactor* Cancel(grpc::CallbackServerContext* ctx, const v1::CancelRequest* req,
                                   v1::CancelReply* reply) override;
  grpc::ServerUnaryReactor* GetContact(grpc::CallbackServerContext* ctx,
                                       const v1::GetContactRequest* req,
                                       v1::ContactStatus* reply) override;
  grpc::ServerWriteReactor<v1::ContactStatus>* WatchContact(
      grpc::CallbackServerContext* ctx, const v1::WatchContactRequest* req) override;

 private:
  Engine& engine_;
  const Authenticator& auth_;
};

class AgentDeskService final : public v1::AgentDesk::CallbackService {
 public:
  AgentDeskService(Engine& engine, const Authenticator& auth) : engine_(engine), auth_(auth) {}
  grpc::ServerBidiReactor<v1::AgentMessage, v1::ServerMessage>* Connect(
      grpc::CallbackServerContext* ctx) override;

 private:
  Engine& engine_;
  const Authenticator& auth_;
};

class AdminService final : public v1::Admin::CallbackService {
 public:
  AdminService(Engine& engine, const Authenticator& auth) : engine_(engine), auth_(auth) {}
  grpc::ServerUnaryReactor* ListQueues(grpc::CallbackServerContext* ctx,
                                       const v1::ListQueuesRequest* req,
                                       v1::ListQueuesReply* reply) override;
  grpc::ServerUnaryReactor* ListAgents(grpc::CallbackServerContext* ctx,
                                       const v1::ListAgentsRequest* req,
                                       v1::ListAgentsReply* reply) override;
  grpc::ServerUnaryReactor* Explain(grpc::CallbackServerContext* ctx, const v1::ExplainRequest* req,
                                    v1::ExplainReply* reply) override;
  grpc::ServerWriteReactor<v1::LifecycleEvent>* WatchEvents(
      grpc::CallbackServerContext* ctx, const v1::WatchEventsRequest* req) override;
  grpc::ServerUnaryReactor* ReloadConfig(grpc::CallbackServerContext* ctx,
                                         const v1::ReloadConfigRequest* req,
                                         v1::ReloadConfigReply* reply) override;
  grpc::ServerUnaryReactor* SetAgentState(grpc::CallbackServerContext* ctx,
                                          const v1::SetAgentStateRequest* req,
                                          v1::SetAgentStateReply* reply) override;

 private:
  Engine& engine_;
  const Authenticator& auth_;
};

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
inline constexpr int kRetryAfterMs = 100;
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
using CommandAnswer = std::function<absl::Status(Engine&, const Applied&)>;
grpc::ServerUnaryReactor* ExecuteOnStrand(Engine& engine, grpc::CallbackServerContext* ctx,
                                          v1::Command cmd, CommandAnswer answer = nullptr,
                                          Admission admission = Admission::kClient);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_SERVICES_H_
