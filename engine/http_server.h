// HttpServer: the operations port (/metrics, /healthz, /readyz), served with
// Boost.Beast on an io_context of its own (never the routing strand's), so
// neither a flood of connections nor a slow scraper can stall routing.
//
// What holds for every connection:
//   - at most `max_connections` are open. At the cap, a new connection takes
//     the place of the one that has waited longest for a request (its first,
//     or its next on a keep-alive connection: a client that connects and
//     sends nothing, or trickles its header, holds no slot against others);
//     only when every open connection is in a request or a stream is the new
//     one closed at once (after a best-effort 503). Both are counted. (While
//     a displaced connection closes, one more than the cap may be open.)
//   - reading a request and writing its answer has `request_timeout`; a
//     keep-alive connection waits at most `idle_timeout` for its next request;
//   - request headers and bodies are bounded (`max_header_bytes`,
//     `max_body_bytes`); a request over them is refused with the connection;
//   - a failed accept (out of file descriptors: EMFILE/ENFILE) waits
//     `accept_backoff` before the next accept, logging once per burst, so the
//     accept loop never spins;
//   - HEAD answers the headers of GET (Content-Length included), no body;
//   - only the methods in `allowed_methods` reach the handler (others: 405
//     with Allow); a request body over `max_body_bytes` is 413 (a declared
//     Content-Length at once, unread; a chunked one once it passes the
//     bound); a body whose Content-Type is not in `body_content_types` is 415;
//     these refusals are JSON errors ({"error":{"code","message"}}) and end
//     the connection;
//   - a streamed response (HttpResponse::stream, for Server-Sent Events)
//     writes what its HttpStream is given, at most `max_queued_chunks` queued
//     (the producer is told kFull and waits for room), a heartbeat chunk when
//     idle, each write within `request_timeout` (a client that stops reading
//     is cut), and a send buffer of `stream_send_buffer_bytes`; it ends when
//     the stream is ended or the client goes.
#ifndef CCROUTER_ENGINE_HTTP_SERVER_H_
#define CCROUTER_ENGINE_HTTP_SERVER_H_

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/std_mutex.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/beast/http/message.hpp"
#include "boost/beast/http/string_body.hpp"
#include "metrics/registry.h"

namespace ccr {

class HttpStream;

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Further headers (Retry-After, Allow, Cache-Control, ...).
  std::vector<std::pair<std::string, std::string>> headers = {};
  // Set: the body is not `body` but what this stream is given, written as it
  // comes until the stream ends (no Content-Length; the connection closes
  // after it). For Server-Sent Events.
  std::shared_ptr<HttpStream> stream = nullptr;
};

struct HttpRequest {
  std::string method;           // "GET", "POST", ...
  std::string path;             // no query string
  std::string query;            // after '?', undecoded; empty when none
  std::string authorization;    // the Authorization header, if any
  std::string content_type;     // Content-Type
  std::string idempotency_key;  // Idempotency-Key
  std::string last_event_id;    // Last-Event-ID (an EventSource resuming)
  std::string origin;           // Origin
  std::string accept;           // Accept
  std::string body;             // at most max_body_bytes
  std::string peer;             // "ip:127.0.0.1:5555"
};

// The body of a streamed response: any thread queues chunks, the server's
// io thread writes them in order. Thread-safe.
class HttpStream {
 public:
  enum class PushResult { kQueued, kFull, kClosed };
  // At most `max_queued_chunks` wait to be written. When nothing has been
  // written for `heartbeat_interval`, `heartbeat_chunk` is (empty: never).
  HttpStream(size_t max_queued_chunks, std::string heartbeat_chunk,
             absl::Duration heartbeat_interval);

  // Queues a chunk, rendered (`render()`) on the server's io thread just
  // before it is written, so a producer on the routing strand pays for a
  // copy only. kFull: the bound is reached and nothing changed (the producer
  // keeps its place and asks NotifyWhenRoom); kClosed: the client is gone or
  // the stream ended.
  PushResult TryPush(std::function<std::string()> render) ABSL_LOCKS_EXCLUDED(mu_);
  // Calls `on_room` once, later, from the io thread, when at most half the
  // bound is queued. False (and `on_room` is dropped): there is room already.
  bool NotifyWhenRoom(std::function<void()> on_room) ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the stream after what is queued, and `last_chunk` (exactly once;
  // later calls do nothing).
  void End(std::string last_chunk = "") ABSL_LOCKS_EXCLUDED(mu_);
  // The client went away, or End was called.
  bool closed() const ABSL_LOCKS_EXCLUDED(mu_);

  // ---- the connection's side (HttpServer's io thread) ----
  const std::string& heartbeat_chunk() const { return heartbeat_chunk_; }
  absl::Duration heartbeat_interval() const { return heartbeat_interval_; }
  // `wake` is called (any thread, no lock held) whenever there is something
  // new to write; once at once if there is already.
  void Attach(std::function<void()> wake) ABSL_LOCKS_EXCLUDED(mu_);
  // Moves out what is queued, rendered; `ended` once End was called and
  // nothing more will come. Calls a pending on_room when room was made.
  std::string TakeRendered(bool* ended) ABSL_LOCKS_EXCLUDED(mu_);
  // The connection is gone: everything queued is dropped, pushes fail.
  void Detach() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const size_t max_queued_chunks_;
  const std::string heartbeat_chunk_;
  const absl::Duration heartbeat_interval_;
  // Taken for every chunk, from the strand and the io thread, never across I/O.
  mutable StdMutex mu_;
  std::deque<std::function<std::string()>> queue_ ABSL_GUARDED_BY(mu_);
  std::function<void()> wake_ ABSL_GUARDED_BY(mu_);
  std::function<void()> on_room_ ABSL_GUARDED_BY(mu_);
  std::string last_chunk_ ABSL_GUARDED_BY(mu_);
  bool end_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool detached_ ABSL_GUARDED_BY(mu_) = false;
};

// Answers one request by calling `respond` exactly once, from any thread
// (at once, or later: e.g. once the routing strand has handed over figures).
using HttpRespond = std::function<void(HttpResponse response)>;
// Called on the server's io_context thread; must not block.
using HttpHandler = std::function<void(const HttpRequest& request, HttpRespond respond)>;

// A request that asked for a WebSocket upgrade, handed over with its
// connection: the taker answers it (101, or a refusal) and owns the socket
// from then on; the connection no longer counts against max_connections.
struct HttpUpgrade {
  HttpRequest request;
  // The whole request: every header, the target with its query string.
  boost::beast::http::request<boost::beast::http::string_body> raw;
  boost::asio::ip::tcp::socket socket;
};
// Called on the server's io_context thread; must not block.
using HttpUpgradeHandler = std::function<void(HttpUpgrade upgrade)>;

struct HttpServerOptions {
  size_t max_connections = 256;
  absl::Duration request_timeout = absl::Seconds(10);
  absl::Duration idle_timeout = absl::Seconds(5);
  size_t max_header_bytes = 8 * 1024;
  size_t max_body_bytes = 16 * 1024;
  absl::Duration accept_backoff = absl::Milliseconds(100);
  // What reaches the handler; anything else is 405 naming these in Allow.
  std::vector<std::string> allowed_methods = {"GET", "HEAD"};
  // Media types a request body may have (parameters such as charset aside);
  // a body of another (or none) is 415. Empty: any.
  std::vector<std::string> body_content_types = {"application/json"};
  // The kernel send buffer of a streamed response's socket: with the
  // stream's chunk bound, what a reader that stops reading can make the
  // engine hold.
  int stream_send_buffer_bytes = 64 * 1024;
  // Takes WebSocket upgrade requests (any path); null: they reach the
  // handler like any GET.
  HttpUpgradeHandler websocket_upgrade;
  // Not owned; null: no metrics (ccr_http_connections,
  // ccr_http_connections_refused_total, ccr_http_requests_total,
  // ccr_http_request_duration_seconds).
  metrics::MetricsRegistry* metrics = nullptr;
  // Names a request path's route for the request metrics: one of a small
  // fixed set (a pattern, never the path, which may carry ids). Null: every
  // request is "other".
  std::function<absl::string_view(absl::string_view path)> route_label;
};

class HttpServer {
 public:
  // Binds `host:port` (port 0 picks one) and accepts on `io`, whose thread
  // then runs every handler. Fails with the address named.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(boost::asio::io_context& io,
                                                           const std::string& host, int port,
                                                           HttpHandler handler,
                                                           HttpServerOptions options = {});
  ~HttpServer();
  int port() const { return port_; }
  // Stops accepting (any thread). Open connections end by their timeouts.
  void Stop();
  size_t open_connections() const;
  // Connections closed at once for the cap, connections waiting for a
  // request closed to make room at the cap, and failed accepts (for tests).
  uint64_t refused_for_limit() const;
  uint64_t displaced_for_room() const;
  uint64_t accept_errors() const;

  // Shared with the sessions, which may outlive the server by a little.
  struct Shared;

 private:
  HttpServer(boost::asio::io_context& io, HttpHandler handler, HttpServerOptions options);
  void Accept();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  std::shared_ptr<Shared> shared_;
  bool in_error_burst_ = false;  // io thread only
  int port_ = 0;
};

// A JSON error answer: {"error":{"code":CODE,"message":MESSAGE}} with
// `http_status`; `code` is the google.rpc.Code name ("INVALID_ARGUMENT").
HttpResponse HttpJsonError(int http_status, absl::string_view code, absl::string_view message);

// Splits "host:port" / "[::1]:port"; InvalidArgument naming `flag` otherwise.
absl::Status ParseHostPort(const std::string& flag, const std::string& value, std::string* host,
                           int* port);
// The inverse: "host:port", or "[::1]:port" for an IPv6 host, as a URL or a
// gRPC target wants it.
std::string JoinHostPort(absl::string_view host, int port);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_HTTP_SERVER_H_
