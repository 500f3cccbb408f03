#include "engine/http_server.h"

#include <memory>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/ip/address.hpp"
#include "boost/asio/post.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/websocket/rfc6455.hpp"
#include "engine/log.h"

namespace ccr {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

struct HttpServer::Shared {
  Shared(HttpHandler h, HttpServerOptions o) : handler(std::move(h)), options(std::move(o)) {}

  // A session counts itself open from its start to its destruction.
  void Opened() {
    const size_t now = open.fetch_add(1) + 1;
    if (open_gauge) open_gauge->Set(static_cast<double>(now));
  }
  void Closed() {
    const size_t now = open.fetch_sub(1) - 1;
    if (open_gauge) open_gauge->Set(static_cast<double>(now));
  }

  const HttpHandler handler;
  const HttpServerOptions options;
  std::atomic<size_t> open{0};
  std::atomic<uint64_t> refused_for_limit{0};
  std::atomic<uint64_t> accept_errors{0};
  // Constant after Start.
  prometheus::Gauge* open_gauge = nullptr;
  prometheus::Counter* refused_limit_counter = nullptr;
  prometheus::Counter* accept_error_counter = nullptr;
};

namespace {

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, std::shared_ptr<HttpServer::Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {
    shared_->Opened();
  }
  ~HttpSession() { shared_->Closed(); }

  // Reads the next request: the first within the request timeout, later
  // ones on a keep-alive connection within the idle timeout.
  void Read(bool first) {
    const HttpServerOptions& o = shared_->options;
    stream_.expires_after(absl::ToChronoMilliseconds(first ? o.request_timeout : o.idle_timeout));
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(o.max_header_bytes));
    parser_->body_limit(o.max_body_bytes);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       // A timeout, a closed peer or a request over the limits:
                       // the connection ends (the stream closes with the session).
                       if (!ec) self->Handle();
                     });
  }

 private:
  void Handle() {
    request_ = parser_->release();
    HttpRequest request;
    request.path = std::string(request_.target());
    if (auto q = request.path.find('?'); q != std::string::npos) request.path.resize(q);
    if (auto it = request_.find(http::field::authorization); it != request_.end()) {
      request.authorization = std::string(it->value());
    }
    boost::system::error_code ec;
    const auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) request.peer = absl::StrCat("ip:", remote.address().to_string(), ":", remote.port());
    if (shared_->options.websocket_upgrade && beast::websocket::is_upgrade(request_)) {
      // The taker owns the connection now, with its own timeouts.
      stream_.expires_never();
      shared_->options.websocket_upgrade(
          HttpUpgrade{std::move(request), std::move(request_), stream_.release_socket()});
      return;
    }
    if (request_.method() != http::verb::get && request_.method() != http::verb::head) {
      Write({405, "text/plain; charset=utf-8", "only GET and HEAD\n"});
      return;
    }
    // The answer may come from another thread (the routing strand): it is
    // written on this connection's executor.
    shared_->handler(request, [self = shared_from_this()](HttpResponse r) {
      boost::asio::post(self->stream_.get_executor(),
                        [self, r = std::move(r)]() mutable { self->Write(std::move(r)); });
    });
  }

  void Write(HttpResponse r) {
    response_ = {};
    response_.version(request_.version());
    response_.result(static_cast<http::status>(r.status));
    response_.set(http::field::content_type, r.content_type);
    response_.set(http::field::server, "ccrouterd");
    response_.body() = std::move(r.body);
    response_.keep_alive(request_.keep_alive());
    response_.prepare_payload();
    // HEAD: GET's headers, Content-Length included, and no body.
    if (request_.method() == http::verb::head) response_.body().clear();
    stream_.expires_after(absl::ToChronoMilliseconds(shared_->options.request_timeout));
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (self->response_.keep_alive()) {
                          self->Read(/*first=*/false);
                        } else {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                        }
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  std::shared_ptr<HttpServer::Shared> shared_;
};

// Written without waiting to a connection over the cap, then closed: a
// client that reads it learns why; one that does not loses nothing.
constexpr char kOverCapacity[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 38\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
    "too many connections; try again later\n";

}  // namespace

absl::Status ParseHostPort(const std::string& flag, const std::string& value, std::string* host,
                           int* port) {
  const size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": want HOST:PORT, got '", value, "'"));
  }
  std::string h = value.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int p = 0;
  if (!absl::SimpleAtoi(value.substr(colon + 1), &p) || p < 0 || p > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": bad port in '", value, "'"));
  }
  *host = h == "localhost" ? "127.0.0.1" : h;
  *port = p;
  return absl::OkStatus();
}

HttpServer::HttpServer(boost::asio::io_context& io, HttpHandler handler, HttpServerOptions options)
    : io_(io),
      acceptor_(io),
      backoff_(io),
      shared_(std::make_shared<Shared>(std::move(handler), std::move(options))) {}

HttpServer::~HttpServer() = default;

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(boost::asio::io_context& io,
                                                              const std::string& host, int port,
                                                              HttpHandler handler,
                                                              HttpServerOptions options) {
  std::unique_ptr<HttpServer> server(new HttpServer(io, std::move(handler), std::move(options)));
  if (metrics::MetricsRegistry* m = server->shared_->options.metrics) {
    server->shared_->open_gauge = &m->Gauge(metrics::kHttpConnections);
    server->shared_->refused_limit_counter =
        &m->Counter(metrics::kHttpConnectionsRefused, {"limit"});
    server->shared_->accept_error_counter =
        &m->Counter(metrics::kHttpConnectionsRefused, {"accept_error"});
  }
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  if (ec)
    return absl::InvalidArgumentError(absl::StrCat("--http-listen: bad address '", host, "'"));
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
  server->acceptor_.open(endpoint.protocol(), ec);
  if (!ec) server->acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) server->acceptor_.bind(endpoint, ec);
  if (!ec) server->acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("--http-listen: cannot listen on ", host, ":", port, ": ", ec.message()));
  }
  server->port_ = server->acceptor_.local_endpoint().port();
  // Accepting starts on the server's own thread.
  boost::asio::post(io, [s = server.get()] { s->Accept(); });
  return server;
}

void HttpServer::Accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
    Shared& shared = *shared_;
    if (ec) {
      // Most often out of file descriptors (EMFILE, ENFILE): the failure
      // repeats until one is freed, so wait instead of spinning.
      shared.accept_errors.fetch_add(1);
      if (shared.accept_error_counter) shared.accept_error_counter->Increment();
      if (!in_error_burst_) {
        in_error_burst_ = true;
        LogEvent(
            LogLevel::kWarn, "http_accept_failed",
            {{"error", ec.message()},
             {"retry_ms", absl::StrCat(absl::ToInt64Milliseconds(shared.options.accept_backoff))}});
      }
      backoff_.expires_after(absl::ToChronoMilliseconds(shared.options.accept_backoff));
      backoff_.async_wait([this](const boost::system::error_code& wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    if (in_error_burst_) {
      in_error_burst_ = false;
      LogEvent(LogLevel::kInfo, "http_accept_recovered", {});
    }
    if (shared.open.load() >= shared.options.max_connections) {
      shared.refused_for_limit.fetch_add(1);
      if (shared.refused_limit_counter) shared.refused_limit_counter->Increment();
      boost::system::error_code ignored;
      socket.non_blocking(true, ignored);
      socket.write_some(boost::asio::buffer(kOverCapacity, sizeof(kOverCapacity) - 1), ignored);
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
    } else {
      std::make_shared<HttpSession>(std::move(socket), shared_)->Read(/*first=*/true);
    }
    Accept();
  });
}

void HttpServer::Stop() {
  boost::asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    backoff_.cancel();
  });
}

size_t HttpServer::open_connections() const { return shared_->open.load(); }
uint64_t HttpServer::refused_for_limit() const { return shared_->refused_for_limit.load(); }
uint64_t HttpServer::accept_errors() const { return shared_->accept_errors.load(); }

}  // namespace ccr
