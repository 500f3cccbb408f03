// The gRPC services: thin adapters that validate at the edge, post a command
// to the engine's routing strand, and answer from there. No reaction ever
// blocks: on 2 cores gRPC runs every reaction on 2 threads. AgentDesk is on
// the completion-queue API instead (engine/grpc/agent_desk_server.h says why).
#ifndef CCROUTER_ENGINE_GRPC_SERVICES_H_
#define CCROUTER_ENGINE_GRPC_SERVICES_H_

#include "ccrouter/v1/admin.grpc.pb.h"
#include "ccrouter/v1/ingest.grpc.pb.h"
#include "engine/auth.h"
#include "engine/engine.h"
#include "engine/grpc/agent_desk_server.h"
#include "engine/grpc/grpc_sinks.h"
#include "engine/grpc/grpc_status.h"
#include "engine/grpc/strand_call.h"
#include "engine/web/ws_agent_token.h"

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

class AdminService final : public v1::Admin::CallbackService {
 public:
  // `agent_tokens` signs MintAgentToken's tokens (not owned; null: the call
  // is UNIMPLEMENTED).
  AdminService(Engine& engine, const Authenticator& auth,
               const AgentTokenSigner* agent_tokens = nullptr)
      : engine_(engine), auth_(auth), agent_tokens_(agent_tokens) {}
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
  grpc::ServerUnaryReactor* MintAgentToken(grpc::CallbackServerContext* ctx,
                                           const v1::MintAgentTokenRequest* req,
                                           v1::MintAgentTokenReply* reply) override;

 private:
  Engine& engine_;
  const Authenticator& auth_;
  const AgentTokenSigner* const agent_tokens_;
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_GRPC_SERVICES_H_
