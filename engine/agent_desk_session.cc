#include "engine/agent_desk_session.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "codec/wire.h"
#include "engine/edge_calls.h"
#include "engine/log.h"

namespace ccr {

namespace {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::StatusOr<v1::Command> DeskCommandFromWire(const v1::AgentMessage& message,
                                                const std::string& agent_id) {
  v1::Command cmd;
  cmd.set_agent_id(agent_id);
  absl::Status invalid;
  switch (message.kind_case()) {
    case v1::AgentMessage::kHeartbeat:
      return absl::InternalError("heartbeat: answered by the session, not a command");
    case v1::AgentMessage::kLogin:
      return absl::FailedPreconditionError("login: already logged in on this stream");
    case v1::AgentMessage::kSetState: {
      const v1::SetState& s = message.set_state();
      if (s.state() == v1::AGENT_STATE_NOT_READY &&
          (s.reason().empty() || s.reason().size() > 128)) {
        return absl::InvalidArgumentError("set_state.reason: 1..128 bytes for not-ready");
      }
      if (s.state() != v1::AGENT_STATE_AVAILABLE && s.state() != v1::AGENT_STATE_NOT_READY) {
        return absl::InvalidArgumentError(
            "set_state.state: AVAILABLE or NOT_READY (close the stream to log out)");
      }
      *cmd.mutable_set_state() = s;
      return cmd;
    }
    case v1::AgentMessage::kAccept:
      invalid = OfferIdFromWire(message.accept().offer_id(), "accept.offer_id").status();
      if (!invalid.ok()) return invalid;
      *cmd.mutable_accept() = message.accept();
      return cmd;
    case v1::AgentMessage::kReject:
      invalid = OfferIdFromWire(message.reject().offer_id(), "reject.offer_id").status();
      if (!invalid.ok()) return invalid;
      if (message.reject().reason().size() > 128) {
        return absl::InvalidArgumentError("reject.reason: at most 128 bytes");
      }
      *cmd.mutable_reject() = message.reject();
      return cmd;
    case v1::AgentMessage::kComplete:
      invalid = ContactIdFromWire(message.complete().contact_id(), "complete.contact_id").status();
      if (invalid.ok()) invalid = OutcomeFromWire(message.complete().outcome()).status();
      if (!invalid.ok()) return invalid;
      *cmd.mutable_complete() = message.complete();
      return cmd;
    case v1::AgentMessage::kWrapUpDone:
      invalid = ContactIdFromWire(message.wrap_up_done().contact_id(), "wrap_up_done.contact_id")
                    .status();
      if (!invalid.ok()) return invalid;
      *cmd.mutable_wrap_up_done() = message.wrap_up_done();
      return cmd;
    case v1::AgentMessage::kTransfer: {
      const v1::TransferRequest& t = message.transfer();
      invalid = ContactIdFromWire(t.contact_id(), "transfer.contact_id").status();
      if (!invalid.ok()) return invalid;
      if (t.to_queue().empty()) return absl::InvalidArgumentError("transfer.to_queue: required");
      if (t.note().size() > InputLimits::kMaxTextBytes) {
        return absl::InvalidArgumentError("transfer.note: longer than 1024 bytes");
      }
      *cmd.mutable_transfer() = t;
      return cmd;
    }
    case v1::AgentMessage::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("kind: empty message");
}

AgentDeskSession::AgentDeskSession(Engine& engine, const Authenticator& auth, Principal caller,
                                   std::string peer, std::shared_ptr<AgentDeskTransport> transport)
    : engine_(engine),
      auth_(auth),
      caller_(std::move(caller)),
      peer_(std::move(peer)),
      transport_(std::move(transport)),
      limiter_(engine.options().agent_stream_messages_per_second,
               2 * engine.options().agent_stream_messages_per_second),
      last_heard_ns_(std::make_shared<std::atomic<int64_t>>(SteadyNowNs())) {}

AgentDeskSession::~AgentDeskSession() = default;

void AgentDeskSession::OnMessage(const v1::AgentMessage& message) {
  // Any message is a sign of life for the heartbeat check (engine strand).
  last_heard_ns_->store(SteadyNowNs(), std::memory_order_relaxed);
  if (!logged_in()) {
    HandleLogin(message);
  } else {
    HandleCommand(message);
  }
}

void AgentDeskSession::HandleLogin(const v1::AgentMessage& message) {
  if (message.kind_case() != v1::AgentMessage::kLogin) {
    transport_->Close(
        absl::FailedPreconditionError("login: the first message on the stream must be a login"));
    return;
  }
  if (engine_.draining()) {
    transport_->Close(absl::UnavailableError("engine is shutting down"));
    return;
  }
  absl::StatusOr<AgentSpec> spec = AgentSpecFromWire(message.login());
  if (!spec.ok()) {
    transport_->Close(spec.status());
    return;
  }
  if (!caller_.MayActAsAgent(spec->agent_id)) {
    transport_->Close(
        auth_.Deny(absl::StatusCode::kPermissionDenied,
                   absl::StrCat("login.agent_id: '", spec->agent_id, "' is not '", caller_.name,
                                "'; an agent credential acts only as its own agent"),
                   "AgentDesk.Connect", caller_.name, peer_));
    return;
  }
  {
    StdMutexLock lock(&id_mu_);
    agent_id_ = spec->agent_id;
  }
  std::shared_ptr<AgentDeskTransport> transport = transport_;
  v1::Command cmd;
  cmd.set_agent_id(spec->agent_id);
  *cmd.mutable_login() = message.login();
  const bool admitted = engine_.Execute(
      std::move(cmd),
      [transport, agent = spec->agent_id, last_heard = last_heard_ns_](Engine& e,
                                                                       const ApplyResult& applied) {
        if (!applied.status.ok()) {
          transport->Close(applied.status);
          return;
        }
        absl::StatusOr<AgentView> view = e.router().GetAgent(agent, e.Now());
        // The login was just applied on this strand: the agent exists.
        CCR_CHECK(view.ok()) << "agent logged in but unknown: " << view.status();
        v1::ServerMessage ok;
        ok.mutable_login_ok()->set_agent_id(agent);
        ok.mutable_login_ok()->set_state(AgentStatusToWire(view->status));
        ok.mutable_login_ok()->set_heartbeat_interval_seconds(
            absl::ToDoubleSeconds(e.options().heartbeat_interval));
        ok.mutable_login_ok()->set_heartbeat_missed_limit(e.options().heartbeat_missed_limit);
        ok.mutable_login_ok()->set_disconnect_grace_seconds(
            absl::ToDoubleSeconds(e.options().disconnect_grace));
        transport->Send(std::move(ok));
        e.AttachAgent(agent, transport, last_heard);  // then the Resync
        LogEvent(LogLevel::kInfo, "agent_connected", {{"agent", agent}});
      },
      Admission::kAgentDesk);
  if (!admitted) {
    {
      StdMutexLock lock(&id_mu_);
      agent_id_.clear();  // never attached: nothing for Leave to detach
    }
    transport_->CloseOverloaded(OverloadedStatus(engine_));
  }
}

void AgentDeskSession::Reply(uint64_t request_id, const absl::Status& s) {
  v1::ServerMessage msg;
  msg.mutable_result()->set_request_id(request_id);
  msg.mutable_result()->set_code(static_cast<int>(s.code()));
  msg.mutable_result()->set_message(std::string(s.message()));
  transport_->Send(std::move(msg));
}

bool AgentDeskSession::WithinRate(uint64_t request_id) {
  if (limiter_.Allow(absl::Now())) return true;
  engine_.CountRateLimited(LimitedStream::kAgentDesk);
  Reply(request_id, absl::ResourceExhaustedError(absl::StrCat(
                        "more than ", engine_.options().agent_stream_messages_per_second,
                        " messages a second on this stream; slow down")));
  return false;
}

void AgentDeskSession::RejectUndecodable(uint64_t request_id, const absl::Status& error) {
  last_heard_ns_->store(SteadyNowNs(), std::memory_order_relaxed);
  if (WithinRate(request_id)) Reply(request_id, error);
}

// Validates one desktop command and posts it; the answer comes back as a
// CommandResult with the same request_id.
void AgentDeskSession::HandleCommand(const v1::AgentMessage& message) {
  const uint64_t request_id = message.request_id();
  if (!WithinRate(request_id)) return;
  if (message.kind_case() == v1::AgentMessage::kHeartbeat) {
    v1::ServerMessage beat;
    beat.mutable_heartbeat()->set_sequence(message.heartbeat().sequence());
    transport_->Send(std::move(beat));
    return;
  }
  std::string agent_id;
  {
    StdMutexLock lock(&id_mu_);
    agent_id = agent_id_;
  }
  absl::StatusOr<v1::Command> cmd = DeskCommandFromWire(message, agent_id);
  if (!cmd.ok()) {
    Reply(request_id, cmd.status());
    return;
  }
  std::shared_ptr<AgentDeskTransport> transport = transport_;
  const bool admitted = engine_.Execute(
      *std::move(cmd),
      [transport, request_id](Engine&, const ApplyResult& applied) {
        v1::ServerMessage msg;
        msg.mutable_result()->set_request_id(request_id);
        msg.mutable_result()->set_code(static_cast<int>(applied.status.code()));
        msg.mutable_result()->set_message(std::string(applied.status.message()));
        transport->Send(std::move(msg));
      },
      Admission::kAgentDesk);
  if (!admitted) Reply(request_id, OverloadedStatus(engine_));
}

bool AgentDeskSession::logged_in() const {
  StdMutexLock lock(&id_mu_);
  return !agent_id_.empty();
}

void AgentDeskSession::Leave(bool clean) {
  StdMutexLock lock(&id_mu_);
  if (agent_id_.empty() || left_.exchange(true)) return;
  const AgentSink* identity = transport_.get();
  std::shared_ptr<AgentDeskTransport> keep_alive = transport_;
  engine_.Post([agent = agent_id_, identity, keep_alive, clean](Engine& e) {
    e.DetachAgent(agent, identity, clean);
  });
}

}  // namespace ccr
