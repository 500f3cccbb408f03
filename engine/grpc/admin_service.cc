// Admin: queue and agent figures, explanations, the event feed, reloads and
// supervisor overrides.
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "codec/config_loader.h"
#include "codec/wire.h"
#include "engine/edge_calls.h"
#include "engine/grpc/services.h"
#include "engine/log.h"

namespace ccr {

grpc::ServerUnaryReactor* AdminService::ListQueues(grpc::CallbackServerContext* ctx,
                                                   const v1::ListQueuesRequest*,
                                                   v1::ListQueuesReply* reply) {
  if (auto who = auth_.Authorize(*ctx, kReadRoles, "Admin.ListQueues"); !who.ok()) {
    return Refuse(ctx, who.status());
  }
  return RunOnStrand(engine_, ctx, ListQueuesRead(reply));
}

grpc::ServerUnaryReactor* AdminService::ListAgents(grpc::CallbackServerContext* ctx,
                                                   const v1::ListAgentsRequest* req,
                                                   v1::ListAgentsReply* reply) {
  if (auto who = auth_.Authorize(*ctx, kReadRoles, "Admin.ListAgents"); !who.ok()) {
    return Refuse(ctx, who.status());
  }
  absl::StatusOr<StrandRead> read = ListAgentsRead(*req, reply);
  if (!read.ok()) return Refuse(ctx, read.status());
  return RunOnStrand(engine_, ctx, *std::move(read));
}

grpc::ServerUnaryReactor* AdminService::Explain(grpc::CallbackServerContext* ctx,
                                                const v1::ExplainRequest* req,
                                                v1::ExplainReply* reply) {
  if (auto who = auth_.Authorize(*ctx, kReadRoles, "Admin.Explain"); !who.ok()) {
    return Refuse(ctx, who.status());
  }
  absl::StatusOr<ContactId> id = ContactIdFromWire(req->contact_id(), "contact_id");
  if (!id.ok()) return Refuse(ctx, id.status());
  return RunOnStrand(engine_, ctx, [reply, id = *id](Engine& e) -> absl::Status {
    CCR_ASSIGN_OR_RETURN(Explanation x, e.router().Explain(id, e.Now()));
    ExplanationToWire(x, reply);
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::LifecycleEvent>* AdminService::WatchEvents(
    grpc::CallbackServerContext* ctx, const v1::WatchEventsRequest* req) {
  if (auto who = auth_.Authorize(*ctx, kReadRoles, "Admin.WatchEvents"); !who.ok()) {
    return new RefusedWriteStream<v1::LifecycleEvent>(ToGrpcStatus(who.status()));
  }
  std::optional<uint64_t> after_sequence;
  if (req->has_after_sequence()) after_sequence = req->after_sequence();
  return new CatchUpStreamReactor<v1::LifecycleEvent>(
      engine_, ctx, engine_.options().watcher_outbox_limit,
      [after_sequence](Engine& e, std::shared_ptr<EventOutbox> outbox) {
        return e.Subscribe(std::move(outbox), after_sequence);
      });
}

grpc::ServerUnaryReactor* AdminService::ReloadConfig(grpc::CallbackServerContext* ctx,
                                                     const v1::ReloadConfigRequest* req,
                                                     v1::ReloadConfigReply* reply) {
  if (auto who = auth_.Authorize(*ctx, kAdminRoles, "Admin.ReloadConfig"); !who.ok()) {
    return Refuse(ctx, who.status());
  }
  if (req->config_yaml().size() > kMaxConfigYamlBytes) {
    return Refuse(ctx, absl::InvalidArgumentError(absl::StrCat(
                           "config_yaml: ", req->config_yaml().size(), " bytes, over the limit of ",
                           kMaxConfigYamlBytes, " bytes (1 MiB)")));
  }
  if (!engine_.Admits(Admission::kClient)) return RefuseOverloaded(ctx, engine_);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // Not through the strand: the engine reads and validates the config on
  // its reload worker and posts only a config that loaded. `done` runs on
  // the worker or the strand; Finish may be called from either.
  engine_.Reload(req->config_yaml(), [reactor, reply](absl::StatusOr<ReloadResult> r) {
    if (!r.ok()) {
      reactor->Finish(ToGrpcStatus(r.status()));
      return;
    }
    reply->set_queues(r->queues);
    for (ContactId id : r->moved) reply->add_moved_contacts(ContactIdString(id));
    reply->set_fallback_queue(r->fallback_queue);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::SetAgentState(grpc::CallbackServerContext* ctx,
                                                      const v1::SetAgentStateRequest* req,
                                                      v1::SetAgentStateReply* reply) {
  if (auto who = auth_.Authorize(*ctx, kAdminRoles, "Admin.SetAgentState"); !who.ok()) {
    return Refuse(ctx, who.status());
  }
  absl::Status invalid;
  if (req->agent_id().empty()) invalid = absl::InvalidArgumentError("agent_id: required");
  const v1::AgentState state = req->state();
  if (invalid.ok() && state != v1::AGENT_STATE_AVAILABLE && state != v1::AGENT_STATE_NOT_READY &&
      state != v1::AGENT_STATE_OFFLINE) {
    invalid = absl::InvalidArgumentError("state: AVAILABLE, NOT_READY or OFFLINE");
  }
  if (invalid.ok() && state == v1::AGENT_STATE_NOT_READY && req->reason().empty()) {
    invalid = absl::InvalidArgumentError("reason: required for NOT_READY");
  }
  if (!invalid.ok()) return Refuse(ctx, invalid);
  const std::string agent = req->agent_id();
  const std::string why = req->reason().empty() ? "supervisor" : req->reason();
  v1::Command cmd;
  cmd.set_agent_id(agent);
  if (state == v1::AGENT_STATE_OFFLINE) {
    cmd.mutable_logout()->set_agent_id(agent);
    cmd.mutable_logout()->set_reason(why);
  } else {
    cmd.mutable_set_state()->set_state(state);
    cmd.mutable_set_state()->set_reason(why);
  }
  return ExecuteOnStrand(
      engine_, ctx, std::move(cmd),
      [reply, agent, state, why](Engine& e, const ApplyResult& applied) -> absl::Status {
        if (!applied.status.ok()) return applied.status;
        if (state == v1::AGENT_STATE_OFFLINE) {
          e.DisconnectAgent(agent, absl::UnavailableError("logged out by a supervisor"));
        }
        e.NoteAgentStateCause(agent, "supervisor");  // the desktop's StateChanged.reason
        LogEvent(LogLevel::kInfo, "supervisor_override",
                 {{"agent", agent}, {"reason", MaskFreeText(why)}});
        absl::StatusOr<AgentView> view = e.router().GetAgent(agent, e.Now());
        if (view.ok()) AgentToWire(*view, e.AgentConnected(agent), reply->mutable_agent());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminService::MintAgentToken(grpc::CallbackServerContext* ctx,
                                                       const v1::MintAgentTokenRequest* req,
                                                       v1::MintAgentTokenReply* reply) {
  absl::StatusOr<Principal> who = auth_.Authorize(*ctx, kAdminRoles, "Admin.MintAgentToken");
  if (!who.ok()) return Refuse(ctx, who.status());
  if (agent_tokens_ == nullptr) {
    return Refuse(ctx, absl::UnimplementedError("this server mints no agent tokens"));
  }
  // No routing state is read: minting is a signature, answered here.
  absl::StatusOr<MintedAgentToken> minted =
      agent_tokens_->Mint(req->agent_id(), absl::Seconds(req->ttl_seconds()), absl::Now());
  if (!minted.ok()) return Refuse(ctx, minted.status());
  reply->set_token(minted->token);
  ToTimestamp(minted->expires_at, reply->mutable_expires_at());
  LogEvent(LogLevel::kInfo, "agent_token_minted",
           {{"agent", req->agent_id()},
            {"caller", who->name},
            {"expires", absl::FormatTime(minted->expires_at)}});
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace ccr
