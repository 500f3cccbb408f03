// HttpServer: the operations port (/metrics, /healthz, /readyz), served with
// Boost.Beast on an io_context of its own (never the routing strand's), so
// neither a flood of connections nor a slow scraper can stall routing.
//
// What holds for every connection:
//   - at most `max_connections` are open; one more is closed at once (after
//     a best-effort 503) and counted;
//   - reading a request and writing its answer has `request_timeout`; a
//     keep-alive connection waits at most `idle_timeout` for its next request;
//   - request headers and bodies are bounded (`max_header_bytes`,
//     `max_body_bytes`); a request over them is refused with the connection;
//   - a failed accept (out of file descriptors: EMFILE/ENFILE) waits
//     `accept_backoff` before the next accept, logging once per burst, so the
//     accept loop never spins;
//   - HEAD answers the headers of GET (Content-Length included), no body.
#ifndef CCROUTER_ENGINE_HTTP_SERVER_H_
#define CCROUTER_ENGINE_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/beast/http/message.hpp"
#include "boost/beast/http/string_body.hpp"
#include "metrics/registry.h"

namespace ccr {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct HttpRequest {
  std::string path;           // no query string
  std::string authorization;  // the Authorization header, if any
  std::string peer;           // "ip:127.0.0.1:5555"
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
  // Takes WebSocket upgrade requests (any path); null: they reach the
  // handler like any GET.
  HttpUpgradeHandler websocket_upgrade;
  // Not owned; null: no metrics (ccr_http_connections, ccr_http_connections_refused_total).
  metrics::MetricsRegistry* metrics = nullptr;
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
  // Connections closed at once for the cap, and failed accepts (for tests).
  uint64_t refused_for_limit() const;
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

// Splits "host:port" / "[::1]:port"; InvalidArgument naming `flag` otherwise.
absl::Status ParseHostPort(const std::string& flag, const std::string& value, std::string* host,
                           int* port);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_HTTP_SERVER_H_
