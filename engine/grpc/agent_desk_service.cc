// AgentDesk.Connect: one bidirectional stream per agent desktop.
#include <atomic>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/std_mutex.h"
#include "codec/wire.h"
#include "engine/grpc/rate_limiter.h"
#include "engine/grpc/services.h"
#include "engine/log.h"

namespace ccr {

namespace {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class AgentStreamReactor final
    : public grpc::ServerBidiReactor<v1::AgentMessage, v1::ServerMessage> {
 public:
  AgentStreamReactor(Engine& engine, const Authenticator& auth, grpc::CallbackServerContext* ctx,
                     Principal caller)
      : engine_(engine),
        auth_(auth),
        ctx_(ctx),
        caller_(std::move(caller)),
        outbox_(std::make_shared<AgentOutbox>(this, ctx, engine.options().agent_outbox_limit)),
        limiter_(engine.options().agent_stream_messages_per_second,
                 2 * engine.options().agent_stream_messages_per_second) {
    StartRead(&message_);
  }

  void OnReadDone(bool ok) override {
    // Any message is a sign of life for the heartbeat check (engine strand).
    if (ok) last_heard_ns_->store(SteadyNowNs(), std::memory_order_relaxed);
    if (!ok) {
      // The desktop closed its side, or the stream broke: a cancelled or
      // dropped stream also fails its read, often before OnCancel runs. Which
      // one it was is known for sure only in OnDone, which decides.
      outbox_->Finish(grpc::Status::OK);
      return;
    }
    if (!logged_in()) {
      if (!HandleLogin()) return;
    } else {
      HandleCommand();
    }
    if (!outbox_->closed()) StartRead(&message_);
  }

  void OnWriteDone(bool ok) override { outbox_->OnWriteDone(ok); }

  void OnCancel() override {
    Leave(/*clean=*/false);
    outbox_->Finish(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    // A half-close answered with our status is a clean goodbye; a stream
    // cancelled by either side (vanished desktop, server finished it for
    // falling behind) gets the disconnect grace.
    Leave(/*clean=*/!ctx_->IsCancelled());
    outbox_->OnDone();
    delete this;
  }

 private:
  bool HandleLogin() {
    if (message_.kind_case() != v1::AgentMessage::kLogin) {
      outbox_->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                   "login: the first message on the stream must be a login"));
      return false;
    }
    if (engine_.draining()) {
      outbox_->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "engine is shutting down"));
      return false;
    }
    absl::StatusOr<AgentSpec> spec = AgentSpecFromWire(message_.login());
    if (!spec.ok()) {
      outbox_->Finish(ToGrpcStatus(spec.status()));
      return false;
    }
    if (!caller_.MayActAsAgent(spec->agent_id)) {
      outbox_->Finish(ToGrpcStatus(
          auth_.Deny(absl::StatusCode::kPermissionDenied,
                     absl::StrCat("login.agent_id: '", spec->agent_id, "' is not '", caller_.name,
                                  "'; an agent credential acts only as its own agent"),
                     "AgentDesk.Connect", caller_.name, ctx_->peer())));
      return false;
    }
    {
      StdMutexLock lock(&id_mu_);
      agent_id_ = spec->agent_id;
    }
    std::shared_ptr<AgentOutbox> outbox = outbox_;
    v1::Command cmd;
    cmd.set_agent_id(spec->agent_id);
    *cmd.mutable_login() = message_.login();
    const bool admitted = engine_.Execute(
        std::move(cmd),
        [outbox, agent = spec->agent_id, last_heard = last_heard_ns_](Engine& e,
                                                                      const ApplyResult& applied) {
          if (!applied.status.ok()) {
            outbox->Finish(ToGrpcStatus(applied.status));
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
          outbox->Send(std::move(ok));
          e.AttachAgent(agent, outbox, last_heard);  // then the Resync
          LogEvent(LogLevel::kInfo, "agent_connected", {{"agent", agent}});
        },
        Admission::kAgentDesk);
    if (!admitted) {
      {
        StdMutexLock lock(&id_mu_);
        agent_id_.clear();  // never attached: nothing for Leave to detach
      }
      outbox_->Finish(Overloaded(ctx_, engine_));
      return false;
    }
    return true;
  }

  void Reply(uint64_t request_id, const absl::Status& s) {
    v1::ServerMessage msg;
    msg.mutable_result()->set_request_id(request_id);
    msg.mutable_result()->set_code(static_cast<int>(s.code()));
    msg.mutable_result()->set_message(std::string(s.message()));
    outbox_->Send(std::move(msg));
  }

  // Validates one desktop command and posts it; the answer comes back as a
  // CommandResult with the same request_id.
  void HandleCommand() {
    const uint64_t request_id = message_.request_id();
    if (!limiter_.Allow(absl::Now())) {
      engine_.CountRateLimited(LimitedStream::kAgentDesk);
      Reply(request_id, absl::ResourceExhaustedError(absl::StrCat(
                            "more than ", engine_.options().agent_stream_messages_per_second,
                            " messages a second on this stream; slow down")));
      return;
    }
    v1::Command cmd;
    {
      StdMutexLock lock(&id_mu_);
      cmd.set_agent_id(agent_id_);
    }
    absl::Status invalid;
    switch (message_.kind_case()) {
      case v1::AgentMessage::kHeartbeat: {
        v1::ServerMessage beat;
        beat.mutable_heartbeat()->set_sequence(message_.heartbeat().sequence());
        outbox_->Send(std::move(beat));
        return;
      }
      case v1::AgentMessage::kLogin:
        invalid = absl::FailedPreconditionError("login: already logged in on this stream");
        break;
      case v1::AgentMessage::kSetState: {
        const v1::SetState& s = message_.set_state();
        if (s.state() == v1::AGENT_STATE_NOT_READY &&
            (s.reason().empty() || s.reason().size() > 128)) {
          invalid = absl::InvalidArgumentError("set_state.reason: 1..128 bytes for not-ready");
        } else if (s.state() != v1::AGENT_STATE_AVAILABLE &&
                   s.state() != v1::AGENT_STATE_NOT_READY) {
          invalid = absl::InvalidArgumentError(
              "set_state.state: AVAILABLE or NOT_READY (close the stream to log out)");
        } else {
          *cmd.mutable_set_state() = s;
        }
        break;
      }
      case v1::AgentMessage::kAccept:
        invalid = OfferIdFromWire(message_.accept().offer_id(), "accept.offer_id").status();
        if (invalid.ok()) *cmd.mutable_accept() = message_.accept();
        break;
      case v1::AgentMessage::kReject:
        invalid = OfferIdFromWire(message_.reject().offer_id(), "reject.offer_id").status();
        if (invalid.ok() && message_.reject().reason().size() > 128) {
          invalid = absl::InvalidArgumentError("reject.reason: at most 128 bytes");
        }
        if (invalid.ok()) *cmd.mutable_reject() = message_.reject();
        break;
      case v1::AgentMessage::kComplete:
        invalid =
            ContactIdFromWire(message_.complete().contact_id(), "complete.contact_id").status();
        if (invalid.ok()) invalid = OutcomeFromWire(message_.complete().outcome()).status();
        if (invalid.ok()) *cmd.mutable_complete() = message_.complete();
        break;
      case v1::AgentMessage::kWrapUpDone:
        invalid = ContactIdFromWire(message_.wrap_up_done().contact_id(), "wrap_up_done.contact_id")
                      .status();
        if (invalid.ok()) *cmd.mutable_wrap_up_done() = message_.wrap_up_done();
        break;
      case v1::AgentMessage::kTransfer: {
        const v1::TransferRequest& t = message_.transfer();
        invalid = ContactIdFromWire(t.contact_id(), "transfer.contact_id").status();
        if (!invalid.ok()) break;
        if (t.to_queue().empty()) {
          invalid = absl::InvalidArgumentError("transfer.to_queue: required");
        } else if (t.note().size() > InputLimits::kMaxTextBytes) {
          invalid = absl::InvalidArgumentError("transfer.note: longer than 1024 bytes");
        } else {
          *cmd.mutable_transfer() = t;
        }
        break;
      }
      case v1::AgentMessage::KIND_NOT_SET:
        invalid = absl::InvalidArgumentError("kind: empty message");
        break;
    }
    if (cmd.kind_case() == v1::Command::KIND_NOT_SET) {
      Reply(request_id, invalid);
      return;
    }
    std::shared_ptr<AgentOutbox> outbox = outbox_;
    const bool admitted = engine_.Execute(
        std::move(cmd),
        [outbox, request_id](Engine&, const ApplyResult& applied) {
          v1::ServerMessage msg;
          msg.mutable_result()->set_request_id(request_id);
          msg.mutable_result()->set_code(static_cast<int>(applied.status.code()));
          msg.mutable_result()->set_message(std::string(applied.status.message()));
          outbox->Send(std::move(msg));
        },
        Admission::kAgentDesk);
    if (!admitted) {
      Reply(request_id, absl::ResourceExhaustedError(Overloaded(nullptr, engine_).error_message()));
    }
  }

  bool logged_in() ABSL_LOCKS_EXCLUDED(id_mu_) {
    StdMutexLock lock(&id_mu_);
    return !agent_id_.empty();
  }

  // Tells the strand this stream is gone (once).
  void Leave(bool clean) ABSL_LOCKS_EXCLUDED(id_mu_) {
    StdMutexLock lock(&id_mu_);
    if (agent_id_.empty() || left_.exchange(true)) return;
    const AgentOutbox* identity = outbox_.get();
    std::shared_ptr<AgentOutbox> keep_alive = outbox_;
    engine_.Post([agent = agent_id_, identity, keep_alive, clean](Engine& e) {
      e.DetachAgent(agent, identity, clean);
    });
  }

  Engine& engine_;
  const Authenticator& auth_;
  grpc::CallbackServerContext* ctx_;  // valid until OnDone returns
  const Principal caller_;
  std::shared_ptr<AgentOutbox> outbox_;
  MessageRateLimiter limiter_;  // read reactions only (sequential)
  v1::AgentMessage message_;
  // Written once by the login (a read reaction); read by later read
  // reactions and by Leave, which may run on another thread.
  StdMutex id_mu_;
  std::string agent_id_ ABSL_GUARDED_BY(id_mu_);
  std::atomic<bool> left_{false};
  // When the desktop last sent anything (steady clock, ns): written by read
  // reactions, read by the engine's heartbeat check on the strand.
  const std::shared_ptr<std::atomic<int64_t>> last_heard_ns_ =
      std::make_shared<std::atomic<int64_t>>(SteadyNowNs());
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
