// WsAgentDesk: the agent desktop conversation (AgentDesk.Connect) over a
// WebSocket at /v1/agent-desk on the engine's HTTP port, for browsers, which
// cannot hold a native gRPC stream. Message for message the same: each text
// frame carries one AgentMessage (desktop -> server) or ServerMessage
// (server -> desktop) in protobuf's JSON mapping, and the conversation is the
// gRPC stream's own AgentDeskSession (engine/agent_desk_session.h): the same
// login, validation, rate limit, heartbeat check, resync and disconnect grace.
//
// At the upgrade (answered with an HTTP status, never a WebSocket):
//   404 another path; 403 an Origin not allowed (config http.allowed_origins;
//   empty: no Origin or the port's own host only); 401 no valid credential
//   (a token from Admin.MintAgentToken as `?access_token=` or the
//   Sec-WebSocket-Protocol `access-token.TOKEN`, or an Authorization header;
//   none needed when auth is open); 429 max_desktops connected already.
// After it, the server's last word is a text frame
//   {"status":{"code":"PERMISSION_DENIED","message":"login.agent_id: ..."}}
// then a close frame whose code WsCloseCodeFor() maps from the status, and
// whose reason is "CODE: message" cut to 123 bytes.
//
// Bounds: frames up to max_frame_bytes (bigger: close 1009); the engine's
// agent outbox limit on messages queued to one desktop (beyond: the
// connection is cut, as the gRPC stream is); max_desktops connections.
//
// Threads: everything on a connection runs on the HTTP io thread, except
// Send/Close, which the routing strand calls; they queue under a short lock
// and post the writing to the io thread.
#ifndef CCROUTER_ENGINE_WEB_WS_AGENT_DESK_H_
#define CCROUTER_ENGINE_WEB_WS_AGENT_DESK_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ccrouter/v1/agent_desk.pb.h"
#include "engine/auth.h"
#include "engine/engine.h"
#include "engine/http_server.h"
#include "engine/web/ws_agent_token.h"
#include "metrics/registry.h"

namespace ccr {

inline constexpr char kAgentDeskPath[] = "/v1/agent-desk";
// The subprotocol a browser offers (and the server echoes), beside the
// optional `access-token.TOKEN` one.
inline constexpr char kAgentDeskSubprotocol[] = "ccrouter.agent-desk.v1";
inline constexpr char kAccessTokenSubprotocolPrefix[] = "access-token.";

struct WsAgentDeskOptions {
  std::vector<std::string> allowed_origins;  // lower-case scheme://host[:port]
  size_t max_desktops = 20000;
  size_t max_frame_bytes = 64 * 1024;
  // The upgrade's WebSocket handshake, and the wait for the desktop's close
  // frame after the server's (then the socket is closed regardless).
  absl::Duration handshake_timeout = absl::Seconds(10);
  absl::Duration close_timeout = absl::Seconds(5);
  // Not owned, and must outlive every connection (the last may be freed with
  // the HTTP io_context); null: no metrics (ccr_ws_desktops,
  // ccr_ws_upgrades_refused_total).
  metrics::MetricsRegistry* metrics = nullptr;
};

// The WebSocket close code for the server's final status: OK 1000;
// UNAVAILABLE (draining, heartbeat missed) 1001; INVALID_ARGUMENT 1007;
// RESOURCE_EXHAUSTED (overload, a desktop not keeping up) 1013;
// UNAUTHENTICATED, PERMISSION_DENIED, FAILED_PRECONDITION and other refusals
// 1008; INTERNAL, UNKNOWN, DATA_LOSS 1011.
uint16_t WsCloseCodeFor(absl::StatusCode code);
// {"status":{"code":"NAME","message":"..."}}
std::string WsStatusFrame(const absl::Status& status);

// One text frame's AgentMessage, strictly (unknown fields refused).
// INVALID_ARGUMENT "json: ..." naming what is wrong; `request_id` is set when
// the frame is a JSON object with a readable request_id (then the error is
// answered as a CommandResult), else left 0.
absl::StatusOr<v1::AgentMessage> AgentMessageFromJson(absl::string_view text, uint64_t* request_id);
std::string ServerMessageToJson(const v1::ServerMessage& message);

class WsAgentDesk {
 public:
  // All must outlive every connection (the HTTP io thread is joined first).
  WsAgentDesk(Engine& engine, const Authenticator& auth, const AgentTokenSigner& tokens,
              WsAgentDeskOptions options);
  ~WsAgentDesk();

  // For HttpServerOptions::websocket_upgrade (HTTP io thread).
  void Upgrade(HttpUpgrade upgrade);
  HttpUpgradeHandler UpgradeHandler() {
    return [this](HttpUpgrade upgrade) { Upgrade(std::move(upgrade)); };
  }
  size_t open_desktops() const;

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_WEB_WS_AGENT_DESK_H_
