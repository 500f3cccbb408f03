#include "engine/web/ws_agent_desk.h"

#include <deque>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/std_mutex.h"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/websocket.hpp"
#include "codec/json_text.h"
#include "engine/agent_desk_session.h"
#include "engine/log.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "metrics/catalogue.h"

namespace ccr {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;

struct WsAgentDesk::Shared {
  Shared(Engine& e, const Authenticator& a, const AgentTokenSigner& t, WsAgentDeskOptions o)
      : engine(e), auth(a), tokens(t), options(std::move(o)) {
    if (metrics::MetricsRegistry* m = options.metrics) {
      open_gauge = &m->Gauge(metrics::kWsDesktops);
      for (const char* reason : {"not_found", "subprotocol", "origin", "unauthenticated",
                                 "permission_denied", "limit"}) {
        refused[reason] = &m->Counter(metrics::kWsUpgradesRefused, {reason});
      }
    }
  }
  void Opened() {
    const size_t now = open.fetch_add(1) + 1;
    if (open_gauge) open_gauge->Set(static_cast<double>(now));
  }
  void Closed() {
    const size_t now = open.fetch_sub(1) - 1;
    if (open_gauge) open_gauge->Set(static_cast<double>(now));
  }
  void CountRefused(const char* reason) {
    auto it = refused.find(reason);
    if (it != refused.end()) it->second->Increment();
  }
  Engine& engine;
  const Authenticator& auth;
  const AgentTokenSigner& tokens;
  const WsAgentDeskOptions options;
  // Connections from the upgrade's accept to their end (HTTP io thread
  // writes; any thread reads).
  std::atomic<size_t> open{0};
  // Constant after construction; empty without metrics.
  prometheus::Gauge* open_gauge = nullptr;
  absl::flat_hash_map<std::string, prometheus::Counter*> refused;
};

uint16_t WsCloseCodeFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return websocket::close_code::normal;  // 1000
    case absl::StatusCode::kUnavailable:
      return websocket::close_code::going_away;  // 1001
    case absl::StatusCode::kInvalidArgument:
      return websocket::close_code::bad_payload;  // 1007
    case absl::StatusCode::kResourceExhausted:
      return websocket::close_code::try_again_later;  // 1013
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      return websocket::close_code::internal_error;  // 1011
    default:
      return websocket::close_code::policy_error;  // 1008
  }
}

std::string WsStatusFrame(const absl::Status& status) {
  std::string out = "{\"status\":{\"code\":";
  AppendJsonQuoted(&out, absl::StatusCodeToString(status.code()));
  out += ",\"message\":";
  AppendJsonQuoted(&out, status.message());
  out += "}}";
  return out;
}

namespace {

// A close frame's reason is at most 123 bytes: "CODE: message", cut on a
// UTF-8 character boundary.
std::string CloseReason(const absl::Status& status) {
  std::string reason =
      absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
  if (reason.size() <= 123) return reason;
  size_t cut = 123;
  while (cut > 0 && (static_cast<unsigned char>(reason[cut]) & 0xC0) == 0x80) --cut;
  reason.resize(cut);
  return reason;
}

bool ReadRequestId(const google::protobuf::Value& v, uint64_t* out) {
  if (v.kind_case() == google::protobuf::Value::kNumberValue) {
    const double d = v.number_value();
    if (d < 1 || d > 9007199254740992.0 || d != static_cast<double>(static_cast<uint64_t>(d))) {
      return false;
    }
    *out = static_cast<uint64_t>(d);
    return true;
  }
  if (v.kind_case() == google::protobuf::Value::kStringValue) {
    return absl::SimpleAtoi(v.string_value(), out) && *out != 0;
  }
  return false;
}

}  // namespace

absl::StatusOr<v1::AgentMessage> AgentMessageFromJson(absl::string_view text,
                                                      uint64_t* request_id) {
  *request_id = 0;
  v1::AgentMessage message;
  google::protobuf::util::JsonParseOptions strict;
  strict.ignore_unknown_fields = false;
  const auto parsed =
      google::protobuf::util::JsonStringToMessage(std::string(text), &message, strict);
  if (parsed.ok()) return message;
  // Which request was it? Read as any JSON object, the request_id may still
  // be there, and the error can then be answered like any invalid command.
  google::protobuf::Struct any_object;
  if (google::protobuf::util::JsonStringToMessage(std::string(text), &any_object).ok()) {
    for (const char* name : {"requestId", "request_id"}) {
      auto it = any_object.fields().find(name);
      if (it != any_object.fields().end() && ReadRequestId(it->second, request_id)) break;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("json: ", std::string(parsed.message())));
}

std::string ServerMessageToJson(const v1::ServerMessage& message) {
  std::string out;
  // Only a message that cannot be represented fails (never one the engine
  // builds): the desktop then gets an empty object rather than nothing.
  if (!google::protobuf::util::MessageToJsonString(message, &out).ok()) out = "{}";
  return out;
}

namespace {

class WsDeskConnection;

// The engine's side of one WebSocket desktop (its AgentSink): messages queue
// here up to the agent outbox bound, from any thread, and the connection
// takes them on the HTTP io thread. It holds the connection only weakly, so
// the engine keeping the outbox (until its DetachAgent) never keeps a socket.
class WsDeskOutbox final : public AgentDeskTransport {
 public:
  using Executor = boost::asio::any_io_executor;
  WsDeskOutbox(std::weak_ptr<WsDeskConnection> connection, Executor io, size_t max_queued)
      : connection_(std::move(connection)), io_(std::move(io)), max_queued_(max_queued) {}

  bool Send(v1::ServerMessage message) override ABSL_LOCKS_EXCLUDED(mu_);
  void Close(const absl::Status& status) override ABSL_LOCKS_EXCLUDED(mu_);

  // What the connection writes next (io thread): a message, else (closing)
  // the final status once, else nothing (then a later Send or Close posts
  // the connection's Pump again).
  enum class Next { kMessage, kFinalStatus, kNothing };
  Next TakeNext(v1::ServerMessage* message, absl::Status* final_status) ABSL_LOCKS_EXCLUDED(mu_) {
    StdMutexLock lock(&mu_);
    if (ended_ || cut_) {
      pump_scheduled_ = false;
      return Next::kNothing;
    }
    if (!queue_.empty()) {
      *message = std::move(queue_.front());
      queue_.pop_front();
      return Next::kMessage;
    }
    if (closing_ && !final_status_taken_) {
      final_status_taken_ = true;
      *final_status = close_status_;
      return Next::kFinalStatus;
    }
    pump_scheduled_ = false;
    return Next::kNothing;
  }
  // The connection is being cut (not keeping up, a failed write): nothing
  // more goes out.
  void MarkCut() ABSL_LOCKS_EXCLUDED(mu_) {
    StdMutexLock lock(&mu_);
    closing_ = true;
    cut_ = true;
    queue_.clear();
  }
  // The read loop is over; false when it was already.
  bool MarkEnded() ABSL_LOCKS_EXCLUDED(mu_) {
    StdMutexLock lock(&mu_);
    if (ended_) return false;
    ended_ = true;
    queue_.clear();
    return true;
  }
  bool closing() const ABSL_LOCKS_EXCLUDED(mu_) {
    StdMutexLock lock(&mu_);
    return closing_;
  }
  bool ended() const ABSL_LOCKS_EXCLUDED(mu_) {
    StdMutexLock lock(&mu_);
    return ended_;
  }

 private:
  // Runs `fn` on the io thread with the connection, if it is still there.
  void PostToConnection(void (*fn)(WsDeskConnection&));

  const std::weak_ptr<WsDeskConnection> connection_;
  const Executor io_;
  const size_t max_queued_;
  mutable StdMutex mu_;
  std::deque<v1::ServerMessage> queue_ ABSL_GUARDED_BY(mu_);
  bool pump_scheduled_ ABSL_GUARDED_BY(mu_) = false;  // a Pump is posted or running
  bool closing_ ABSL_GUARDED_BY(mu_) = false;         // Close or a cut asked for the end
  bool final_status_taken_ ABSL_GUARDED_BY(mu_) = false;
  bool cut_ ABSL_GUARDED_BY(mu_) = false;    // ended without a goodbye
  bool ended_ ABSL_GUARDED_BY(mu_) = false;  // the read loop is over
  absl::Status close_status_ ABSL_GUARDED_BY(mu_);
};

// One upgraded desktop connection: the WebSocket, its outbox, and the
// conversation's session. Lives while an operation on it is pending (the
// read loop always is, until the connection ends).
class WsDeskConnection final : public std::enable_shared_from_this<WsDeskConnection> {
 public:
  WsDeskConnection(std::shared_ptr<WsAgentDesk::Shared> shared, tcp::socket socket,
                   std::string peer)
      : shared_(std::move(shared)),
        ws_(std::move(socket)),
        close_timer_(ws_.get_executor()),
        peer_(std::move(peer)) {
    shared_->Opened();
  }
  ~WsDeskConnection() { shared_->Closed(); }

  // HTTP io thread: the handshake, then the read loop.
  void Accept(http::request<http::string_body> request, Principal caller, bool echo_subprotocol) {
    const WsAgentDeskOptions& o = shared_->options;
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = absl::ToChronoMilliseconds(o.handshake_timeout);
    // Silence is the engine's heartbeat check's to judge (it knows the
    // interval the desktop was told), not the socket's.
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.read_message_max(o.max_frame_bytes);
    ws_.set_option(
        websocket::stream_base::decorator([echo_subprotocol](websocket::response_type& res) {
          res.set(http::field::server, "ccrouterd");
          if (echo_subprotocol) res.set(http::field::sec_websocket_protocol, kAgentDeskSubprotocol);
        }));
    outbox_ = std::make_shared<WsDeskOutbox>(weak_from_this(), ws_.get_executor(),
                                             shared_->engine.options().agent_outbox_limit);
    session_ = std::make_unique<AgentDeskSession>(shared_->engine, shared_->auth, std::move(caller),
                                                  peer_, outbox_);
    request_ = std::move(request);
    ws_.async_accept(request_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        self->End(/*clean=*/false);
        return;
      }
      self->Read();
    });
  }

  // Writes what is queued, one frame at a time, then (closing) the status
  // frame and the close. HTTP io thread.
  void Pump() {
    if (writing_) return;
    v1::ServerMessage message;
    absl::Status final_status;
    switch (outbox_->TakeNext(&message, &final_status)) {
      case WsDeskOutbox::Next::kNothing:
        return;
      case WsDeskOutbox::Next::kMessage:
        // Serialized here, not on the strand that queued it.
        write_text_ = ServerMessageToJson(message);
        writing_ = true;
        ws_.text(true);
        ws_.async_write(boost::asio::buffer(write_text_),
                        [self = shared_from_this()](beast::error_code ec, size_t) {
                          self->writing_ = false;
                          if (ec) return self->Cut("write failed");
                          self->Pump();
                        });
        return;
      case WsDeskOutbox::Next::kFinalStatus:
        break;
    }
    write_text_ = WsStatusFrame(final_status);
    writing_ = true;
    ws_.text(true);
    ws_.async_write(boost::asio::buffer(write_text_),
                    [self = shared_from_this(), final_status](beast::error_code ec, size_t) {
                      if (ec) {
                        self->writing_ = false;
                        return self->Cut("write failed");
                      }
                      websocket::close_reason reason(
                          static_cast<websocket::close_code>(WsCloseCodeFor(final_status.code())),
                          CloseReason(final_status));
                      // The read loop ends with the desktop's answering close (or the
                      // close timer's cut); writing_ stays set: nothing follows a close.
                      self->ws_.async_close(reason, [self](beast::error_code) {});
                    });
  }

  // The server asked for the end (io thread): the desktop gets close_timeout
  // to answer the close before the socket is closed regardless.
  void ArmCloseTimer() {
    close_timer_.expires_after(absl::ToChronoMilliseconds(shared_->options.close_timeout));
    close_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->CloseSocket();
    });
  }

  // Ends the connection at once (a desktop not keeping up, a failed write):
  // the pending read fails and End follows. A status frame could not reach
  // a desktop that does not read; the gRPC stream is cancelled the same way.
  void Cut(absl::string_view why) {
    outbox_->MarkCut();
    // A write failing after the conversation ended (the desktop's goodbye
    // crossed it) is no cut.
    if (cut_logged_ || outbox_->ended()) return;
    cut_logged_ = true;
    LogEvent(LogLevel::kWarn, "ws_desktop_cut", {{"peer", peer_}, {"why", std::string(why)}});
    CloseSocket();
  }

 private:
  void Read() {
    ws_.async_read(read_buffer_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) {
      if (ec == websocket::error::message_too_big) {
        LogEvent(
            LogLevel::kWarn, "ws_desktop_frame_too_big",
            {{"peer", peer_}, {"limit_bytes", absl::StrCat(shared_->options.max_frame_bytes)}});
      }
      // The desktop's close frame, before any end the server began, is its
      // goodbye (the agent logs out now, as after a gRPC half-close); a broken
      // connection, an oversize frame (Beast has closed with 1009), a cut or
      // a server-side close gets the disconnect grace (the engine has
      // already let go of the desktop for the closes it began).
      End(/*clean=*/ec == websocket::error::closed && !outbox_->closing());
      return;
    }
    const std::string text = beast::buffers_to_string(read_buffer_.data());
    read_buffer_.consume(read_buffer_.size());
    if (!outbox_->closing()) Dispatch(text, ws_.got_text());
    Read();  // until the close handshake or an error ends the connection
  }

  void Dispatch(const std::string& text, bool was_text) {
    if (!was_text) {
      outbox_->Close(absl::InvalidArgumentError(
          "frame: binary frames are not read; send AgentMessage as protobuf JSON in text frames"));
      return;
    }
    uint64_t request_id = 0;
    absl::StatusOr<v1::AgentMessage> message = AgentMessageFromJson(text, &request_id);
    if (!message.ok()) {
      // With a request_id, answered like any invalid command; else the
      // conversation cannot go on (1007 with the parse error).
      if (request_id != 0 && session_->logged_in()) {
        session_->RejectUndecodable(request_id, message.status());
      } else {
        outbox_->Close(message.status());
      }
      return;
    }
    session_->OnMessage(*message);
  }

  void CloseSocket() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
  }

  // The read loop is over: the conversation ends (once).
  void End(bool clean) {
    if (!outbox_->MarkEnded()) return;
    close_timer_.cancel();
    session_->Leave(clean);
    CloseSocket();
  }

  const std::shared_ptr<WsAgentDesk::Shared> shared_;
  // HTTP io thread only, all of them.
  websocket::stream<beast::tcp_stream> ws_;
  boost::asio::steady_timer close_timer_;
  http::request<http::string_body> request_;  // kept through the handshake
  beast::flat_buffer read_buffer_;
  std::string write_text_;  // the frame being written
  bool writing_ = false;
  bool cut_logged_ = false;
  const std::string peer_;
  // Set by Accept, before anything can reach them.
  std::shared_ptr<WsDeskOutbox> outbox_;
  std::unique_ptr<AgentDeskSession> session_;
};

void WsDeskOutbox::PostToConnection(void (*fn)(WsDeskConnection&)) {
  boost::asio::post(io_, [weak = connection_, fn] {
    if (std::shared_ptr<WsDeskConnection> connection = weak.lock()) fn(*connection);
  });
}

bool WsDeskOutbox::Send(v1::ServerMessage message) {
  bool overflowed = false;
  bool pump = false;
  {
    StdMutexLock lock(&mu_);
    if (closing_ || ended_) return false;
    if (queue_.size() >= max_queued_) {
      // Not keeping up: cut now, as the gRPC stream is cancelled.
      queue_.clear();
      closing_ = true;
      cut_ = true;
      overflowed = true;
    } else {
      queue_.push_back(std::move(message));
      pump = !pump_scheduled_;
      pump_scheduled_ = true;
    }
  }
  if (overflowed) {
    PostToConnection(
        [](WsDeskConnection& c) { c.Cut("not keeping up with the messages sent to it"); });
    return false;
  }
  if (pump) PostToConnection([](WsDeskConnection& c) { c.Pump(); });
  return true;
}

void WsDeskOutbox::Close(const absl::Status& status) {
  bool pump = false;
  {
    StdMutexLock lock(&mu_);
    if (closing_ || ended_) return;
    closing_ = true;
    close_status_ = status;
    pump = !pump_scheduled_;
    pump_scheduled_ = true;
  }
  if (pump) {
    PostToConnection([](WsDeskConnection& c) {
      c.ArmCloseTimer();
      c.Pump();
    });
  } else {
    PostToConnection([](WsDeskConnection& c) { c.ArmCloseTimer(); });
  }
}

// An upgrade refused with a plain HTTP answer, then the connection closed.
void RefuseUpgrade(tcp::socket socket, unsigned version, int status, const absl::Status& why,
                   bool retry_later) {
  struct Refusal {
    explicit Refusal(tcp::socket s) : stream(std::move(s)) {}
    beast::tcp_stream stream;
    http::response<http::string_body> response;
  };
  auto refusal = std::make_shared<Refusal>(std::move(socket));
  http::response<http::string_body>& r = refusal->response;
  r.version(version);
  r.result(static_cast<http::status>(status));
  r.set(http::field::server, "ccrouterd");
  r.set(http::field::content_type, "application/json");
  if (retry_later) r.set(http::field::retry_after, "1");
  r.keep_alive(false);
  r.body() = WsStatusFrame(why);
  r.prepare_payload();
  refusal->stream.expires_after(std::chrono::seconds(5));
  http::async_write(refusal->stream, refusal->response, [refusal](beast::error_code, size_t) {
    beast::error_code ignored;
    refusal->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  });
}

// The query parameter `name` of `target`, or empty.
std::string QueryParameter(absl::string_view target, absl::string_view name) {
  const size_t q = target.find('?');
  if (q == absl::string_view::npos) return "";
  for (absl::string_view pair : absl::StrSplit(target.substr(q + 1), '&')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (kv.first == name) return std::string(kv.second);
  }
  return "";
}

// A page may open the desktop if its Origin is listed, or with an empty list
// if it is this port's own host; a client that sends no Origin is no browser
// page, and proves who it is by its credential alone.
bool OriginAllowed(const http::request<http::string_body>& request,
                   const std::vector<std::string>& allowed) {
  auto origin_it = request.find(http::field::origin);
  if (origin_it == request.end()) return true;
  const std::string origin = absl::AsciiStrToLower(std::string(origin_it->value()));
  if (!allowed.empty()) {
    for (const std::string& a : allowed) {
      if (origin == a) return true;
    }
    return false;
  }
  absl::string_view host_of_origin = origin;
  if (!absl::ConsumePrefix(&host_of_origin, "http://") &&
      !absl::ConsumePrefix(&host_of_origin, "https://")) {
    return false;
  }
  auto host_it = request.find(http::field::host);
  return host_it != request.end() &&
         absl::AsciiStrToLower(std::string(host_it->value())) == std::string(host_of_origin);
}

}  // namespace

WsAgentDesk::WsAgentDesk(Engine& engine, const Authenticator& auth, const AgentTokenSigner& tokens,
                         WsAgentDeskOptions options)
    : shared_(std::make_shared<Shared>(engine, auth, tokens, std::move(options))) {}

WsAgentDesk::~WsAgentDesk() = default;

size_t WsAgentDesk::open_desktops() const { return shared_->open.load(); }

void WsAgentDesk::Upgrade(HttpUpgrade upgrade) {
  const HttpRequest& request = upgrade.request;
  const unsigned version = upgrade.raw.version();
  constexpr absl::string_view kMethod = "WebSocket /v1/agent-desk";
  if (request.path != kAgentDeskPath) {
    shared_->CountRefused("not_found");
    return RefuseUpgrade(std::move(upgrade.socket), version, 404,
                         absl::NotFoundError(absl::StrCat("path: no WebSocket at '", request.path,
                                                          "'; the desktop is at ", kAgentDeskPath)),
                         false);
  }
  if (!OriginAllowed(upgrade.raw, shared_->options.allowed_origins)) {
    shared_->CountRefused("origin");
    auto origin = upgrade.raw.find(http::field::origin);
    const std::string origin_text(origin->value());
    LogEvent(LogLevel::kWarn, "ws_origin_refused",
             {{"origin", origin_text}, {"peer", request.peer}});
    return RefuseUpgrade(std::move(upgrade.socket), version, 403,
                         absl::PermissionDeniedError(absl::StrCat(
                             "origin: '", origin_text,
                             "' may not open the agent desktop (config http.allowed_origins)")),
                         false);
  }
  // The credential: a minted agent token (query or subprotocol), else an
  // Authorization header (a desktop proxy, a test client); none when open.
  std::string token = QueryParameter(std::string(upgrade.raw.target()), "access_token");
  bool offered_desk_subprotocol = false;
  if (auto it = upgrade.raw.find(http::field::sec_websocket_protocol); it != upgrade.raw.end()) {
    const std::string offered(it->value());
    for (absl::string_view p : absl::StrSplit(offered, ',')) {
      p = absl::StripAsciiWhitespace(p);
      if (p == kAgentDeskSubprotocol) {
        offered_desk_subprotocol = true;
      } else if (absl::ConsumePrefix(&p, kAccessTokenSubprotocolPrefix)) {
        if (token.empty()) token = std::string(p);
      }
    }
    if (!offered_desk_subprotocol) {
      shared_->CountRefused("subprotocol");
      // A browser fails the handshake unless the server picks one of the
      // subprotocols it offered: say which one to offer.
      return RefuseUpgrade(std::move(upgrade.socket), version, 400,
                           absl::InvalidArgumentError(absl::StrCat(
                               "Sec-WebSocket-Protocol: offer '", kAgentDeskSubprotocol,
                               "' (with 'access-token.TOKEN' to authenticate)")),
                           false);
    }
  }
  absl::StatusOr<Principal> caller;
  if (shared_->auth.policy()->open) {
    caller = Principal{Role::kAdmin, "anonymous"};
  } else if (!token.empty()) {
    caller = shared_->tokens.Verify(token, absl::Now());
    if (!caller.ok()) {
      caller = shared_->auth.Deny(caller.status().code(), std::string(caller.status().message()),
                                  kMethod, "", request.peer);
    }
  } else {
    caller = shared_->auth.AuthorizeCredentials(request.authorization, "", kAgentRoles, kMethod,
                                                request.peer);
  }
  if (!caller.ok()) {
    const bool denied = caller.status().code() == absl::StatusCode::kPermissionDenied;
    shared_->CountRefused(denied ? "permission_denied" : "unauthenticated");
    return RefuseUpgrade(std::move(upgrade.socket), version,
                         caller.status().code() == absl::StatusCode::kPermissionDenied ? 403 : 401,
                         caller.status(), false);
  }
  if (shared_->open.load() >= shared_->options.max_desktops) {
    shared_->CountRefused("limit");
    LogEvent(LogLevel::kWarn, "ws_desktop_refused",
             {{"peer", request.peer}, {"why", "max_websocket_desktops"}});
    return RefuseUpgrade(std::move(upgrade.socket), version, 429,
                         absl::ResourceExhaustedError(
                             absl::StrCat("max_websocket_desktops: ", shared_->options.max_desktops,
                                          " desktops are connected; retry later")),
                         true);
  }
  auto connection =
      std::make_shared<WsDeskConnection>(shared_, std::move(upgrade.socket), request.peer);
  connection->Accept(std::move(upgrade.raw), *std::move(caller), offered_desk_subprotocol);
}

}  // namespace ccr
