// AgentDeskSession: one agent desktop's conversation (AgentDesk.Connect),
// independent of the transport that carries it. The gRPC stream
// (engine/grpc/agent_desk_service.cc) and the WebSocket desktop
// (engine/web/ws_agent_desk.cc) are thin adapters around it: they read one
// AgentMessage at a time, hand it to OnMessage, and give the session an
// AgentDeskTransport to answer on. So validation, the login, the rate limit,
// the commands posted to the strand and the goodbye are one implementation.
//
//   auto session = std::make_unique<AgentDeskSession>(engine, auth, caller, peer, transport);
//   session->OnMessage(message);      // per message read, in order
//   ...
//   session->Leave(/*clean=*/true);   // when the conversation ends (once is enough)
//
// Thread-safety: OnMessage calls are sequential (one transport read at a
// time); Leave and logged_in may run on any thread.
#ifndef CCROUTER_ENGINE_AGENT_DESK_SESSION_H_
#define CCROUTER_ENGINE_AGENT_DESK_SESSION_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "base/std_mutex.h"
#include "ccrouter/v1/agent_desk.pb.h"
#include "engine/auth.h"
#include "engine/engine.h"
#include "engine/grpc/rate_limiter.h"
#include "engine/sinks.h"

namespace ccr {

// What a desktop conversation needs of its transport: the engine's AgentSink
// (send a ServerMessage, bounded; close with a status), plus a refusal for
// overload that carries the transport's retry hint.
class AgentDeskTransport : public AgentSink {
 public:
  // Ends the conversation with `status` (RESOURCE_EXHAUSTED: the strand's
  // backlog is full) and whatever retry hint the transport can carry.
  virtual void CloseOverloaded(const absl::Status& status) { Close(status); }
};

// Validates one desktop command (not a login, not a heartbeat) for `agent_id`
// and builds the command the strand applies; InvalidArgument (or
// FailedPrecondition) naming the field otherwise.
absl::StatusOr<v1::Command> DeskCommandFromWire(const v1::AgentMessage& message,
                                                const std::string& agent_id);

class AgentDeskSession {
 public:
  // `caller` is who the transport authenticated; `peer` names the remote end
  // in denial logs.
  AgentDeskSession(Engine& engine, const Authenticator& auth, Principal caller, std::string peer,
                   std::shared_ptr<AgentDeskTransport> transport);
  ~AgentDeskSession();

  // Handles one message from the desktop: the first must be a login (else
  // the conversation ends FAILED_PRECONDITION); later ones are validated,
  // rate limited and posted, each answered by a CommandResult with its
  // request_id. Any message counts as a sign of life for the heartbeat check.
  void OnMessage(const v1::AgentMessage& message);

  // Answers a message the transport could not decode (but whose request_id
  // it knows) with `error`, as the rate limit allows: a flood of bad frames
  // is limited like any other.
  void RejectUndecodable(uint64_t request_id, const absl::Status& error);

  // Tells the strand the conversation is over (once; later calls do
  // nothing). clean: the desktop said goodbye, the agent logs out now;
  // otherwise (dropped, cut) the disconnect grace starts.
  void Leave(bool clean) ABSL_LOCKS_EXCLUDED(id_mu_);

  bool logged_in() const ABSL_LOCKS_EXCLUDED(id_mu_);

 private:
  void HandleLogin(const v1::AgentMessage& message);
  void HandleCommand(const v1::AgentMessage& message);
  void Reply(uint64_t request_id, const absl::Status& s);
  // The rate limit: false (and the message answered RESOURCE_EXHAUSTED) beyond it.
  bool WithinRate(uint64_t request_id);

  Engine& engine_;
  const Authenticator& auth_;
  const Principal caller_;
  const std::string peer_;
  const std::shared_ptr<AgentDeskTransport> transport_;
  MessageRateLimiter limiter_;  // OnMessage only (sequential)
  // Written once by the login (an OnMessage); read by later ones and by
  // Leave, which may run on another thread.
  mutable StdMutex id_mu_;
  std::string agent_id_ ABSL_GUARDED_BY(id_mu_);
  std::atomic<bool> left_{false};
  // When the desktop last sent anything (steady clock, ns): written by
  // OnMessage, read by the engine's heartbeat check on the strand.
  const std::shared_ptr<std::atomic<int64_t>> last_heard_ns_;
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_AGENT_DESK_SESSION_H_
