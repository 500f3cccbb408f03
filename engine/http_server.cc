#include "engine/http_server.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <list>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "boost/asio/ip/address.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/websocket/rfc6455.hpp"
#include "codec/json_text.h"
#include "engine/log.h"
#include "metrics/catalogue.h"
#include "metrics/histogram.h"
#include "metrics/registry.h"

namespace ccr {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {
class HttpSession;
}  // namespace

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

  // Counts one answer of `route` with `status`, `elapsed` after its header
  // was read. The io thread only (the metric caches are unlocked).
  void Answered(absl::string_view route, int status, absl::Duration elapsed) {
    if (durations == nullptr) return;
    auto [counter, added] = request_counters.try_emplace({std::string(route), status}, nullptr);
    if (added) {
      counter->second = &options.metrics->Counter(metrics::kHttpRequests,
                                                  {std::string(route), absl::StrCat(status)});
    }
    counter->second->Increment();
    auto [histogram, new_route] = request_durations.try_emplace(std::string(route), nullptr);
    if (new_route) histogram->second = &durations->Add({std::string(route)});
    histogram->second->Observe(absl::ToDoubleSeconds(elapsed));
  }

  const HttpHandler handler;
  const HttpServerOptions options;
  std::atomic<size_t> open{0};
  std::atomic<uint64_t> refused_for_limit{0};
  std::atomic<uint64_t> displaced_for_room{0};
  // Sessions waiting for a request, longest first: at the cap, the first is
  // closed to make room. A session is listed only while a read of its own
  // (which holds it) is pending, and unlists itself. The io thread only.
  std::list<HttpSession*> waiting;
  std::atomic<uint64_t> accept_errors{0};
  // Constant after Start.
  prometheus::Gauge* open_gauge = nullptr;
  prometheus::Counter* refused_limit_counter = nullptr;
  prometheus::Counter* displaced_counter = nullptr;
  prometheus::Counter* accept_error_counter = nullptr;
  metrics::HistogramFamily* durations = nullptr;  // null: no metrics
  // The io thread only: one entry per route and code seen, a small fixed set.
  absl::flat_hash_map<std::pair<std::string, int>, prometheus::Counter*> request_counters;
  absl::flat_hash_map<std::string, metrics::LatencyHistogram*> request_durations;
};

namespace {

bool Contains(const std::vector<std::string>& list, absl::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// The media type of a Content-Type value: parameters dropped, lower case.
std::string MediaType(absl::string_view content_type) {
  return absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';'))));
}

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, std::shared_ptr<HttpServer::Shared> shared)
      : stream_(std::move(socket)), heartbeat_(stream_.get_executor()), shared_(std::move(shared)) {
    shared_->Opened();
  }
  ~HttpSession() {
    StopWaiting();
    if (body_stream_) body_stream_->Detach();
    shared_->Closed();
  }

  // Closed to make room for a new connection at the cap: the pending read
  // ends with an error, and so does the session.
  void CloseForRoom() {
    StopWaiting();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  // Reads the next request: the first within the request timeout, later
  // ones on a keep-alive connection within the idle timeout. The header
  // first, so the method and the declared body size are refused before a
  // byte of the body is read.
  void Read(bool first) {
    const HttpServerOptions& o = shared_->options;
    stream_.expires_after(absl::ToChronoMilliseconds(first ? o.request_timeout : o.idle_timeout));
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(o.max_header_bytes));
    parser_->body_limit(o.max_body_bytes);
    waiting_at_ = shared_->waiting.insert(shared_->waiting.end(), this);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->StopWaiting();
                              // A declared Content-Length over the body limit
                              // fails here already: answered. A timeout, a
                              // closed peer or headers over the limit: the
                              // connection ends unanswered.
                              if (ec == http::error::body_limit) {
                                self->header_read_at_ = absl::Now();
                                self->route_ = "other";
                                self->version_ = self->parser_->get().version();
                                self->head_request_ = false;
                                return self->RefuseBodySize();
                              }
                              if (!ec) self->OnHeader();
                            });
  }

 private:
  void StopWaiting() {
    if (!waiting_at_) return;
    shared_->waiting.erase(*waiting_at_);
    waiting_at_.reset();
  }

  void OnHeader() {
    const HttpServerOptions& o = shared_->options;
    const auto& header = parser_->get();
    version_ = header.version();
    head_request_ = header.method() == http::verb::head;
    keep_alive_ = header.keep_alive();
    header_read_at_ = absl::Now();
    const absl::string_view target(header.target().data(), header.target().size());
    route_ = o.route_label ? o.route_label(target.substr(0, target.find('?'))) : "other";
    const std::string method(header.method_string());
    if (!Contains(o.allowed_methods, method)) {
      HttpResponse refused =
          HttpJsonError(405, "UNIMPLEMENTED",
                        absl::StrCat("method ", method.substr(0, 16), " is not served here; use ",
                                     absl::StrJoin(o.allowed_methods, ", ")));
      refused.headers.emplace_back("Allow", absl::StrJoin(o.allowed_methods, ", "));
      return Write(std::move(refused), /*close_after=*/true);
    }
    const boost::optional<uint64_t> declared = parser_->content_length();
    if (declared && *declared > o.max_body_bytes) return RefuseBodySize();
    if (!parser_->is_done() && !o.body_content_types.empty()) {
      auto it = header.find(http::field::content_type);
      const std::string type = it == header.end() ? "" : MediaType(std::string(it->value()));
      if (!Contains(o.body_content_types, type)) {
        return Write(HttpJsonError(415, "INVALID_ARGUMENT",
                                   absl::StrCat("Content-Type: '", type.substr(0, 64),
                                                "' is not accepted; send ",
                                                absl::StrJoin(o.body_content_types, " or "))),
                     /*close_after=*/true);
      }
    }
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       // A chunked body that passed the bound is answered; any
                       // other failure (timeout, closed peer) ends the connection.
                       if (ec == http::error::body_limit) return self->RefuseBodySize();
                       if (!ec) self->Handle();
                     });
  }

  void RefuseBodySize() {
    Write(HttpJsonError(
              413, "INVALID_ARGUMENT",
              absl::StrCat("body: over the limit of ", shared_->options.max_body_bytes, " bytes")),
          /*close_after=*/true);
  }

  template <typename Field>
  static std::string HeaderValue(const http::request<http::string_body>& r, Field f) {
    auto it = r.find(f);
    return it == r.end() ? std::string() : std::string(it->value());
  }

  void Handle() {
    request_ = parser_->release();
    HttpRequest request;
    request.method = std::string(request_.method_string());
    request.path = std::string(request_.target());
    if (auto q = request.path.find('?'); q != std::string::npos) {
      request.query = request.path.substr(q + 1);
      request.path.resize(q);
    }
    request.authorization = HeaderValue(request_, http::field::authorization);
    request.content_type = HeaderValue(request_, http::field::content_type);
    request.idempotency_key = HeaderValue(request_, "Idempotency-Key");
    request.last_event_id = HeaderValue(request_, "Last-Event-ID");
    request.origin = HeaderValue(request_, http::field::origin);
    request.accept = HeaderValue(request_, http::field::accept);
    request.body = std::move(request_.body());
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
    // The answer may come from another thread (the routing strand): it is
    // written on this connection's executor.
    shared_->handler(request, [self = shared_from_this()](HttpResponse r) {
      boost::asio::post(self->stream_.get_executor(),
                        [self, r = std::move(r)]() mutable { self->Write(std::move(r)); });
    });
  }

  void Write(HttpResponse r, bool close_after = false) {
    shared_->Answered(route_, r.status, absl::Now() - header_read_at_);
    if (r.stream) return StartStream(std::move(r));
    response_ = {};
    response_.version(version_);
    response_.result(static_cast<http::status>(r.status));
    response_.set(http::field::content_type, r.content_type);
    response_.set(http::field::server, "ccrouterd");
    for (const auto& [name, value] : r.headers) response_.set(name, value);
    response_.body() = std::move(r.body);
    response_.keep_alive(keep_alive_ && !close_after);
    response_.prepare_payload();
    // HEAD: GET's headers, Content-Length included, and no body.
    if (head_request_) response_.body().clear();
    stream_.expires_after(absl::ToChronoMilliseconds(shared_->options.request_timeout));
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (self->response_.keep_alive()) {
                          self->Read(/*first=*/false);
                        } else {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          // A lingering close: a client still sending (a body
                          // refused after its header) would otherwise get a
                          // reset that can destroy the answer before it reads
                          // it. What it sends is read and dropped, bounded.
                          self->stream_.expires_after(kLingerTime);
                          self->Linger(0);
                        }
                      });
  }

  // Reads and drops what the peer still sends after the answer, until it
  // closes, kLingerBytes have come, or kLingerTime has passed; then the
  // session ends and the socket closes.
  void Linger(size_t dropped) {
    stream_.async_read_some(boost::asio::buffer(linger_buffer_),
                            [self = shared_from_this(), dropped](beast::error_code ec, size_t n) {
                              if (ec || dropped + n >= kLingerBytes) return;
                              self->Linger(dropped + n);
                            });
  }
  static constexpr std::chrono::seconds kLingerTime{1};
  static constexpr size_t kLingerBytes = 1024 * 1024;
  std::array<char, 4096> linger_buffer_;

  // ---- a streamed response: the connection is the stream's until it ends ----

  void StartStream(HttpResponse r) {
    body_stream_ = std::move(r.stream);
    std::string head = absl::StrCat(
        "HTTP/1.1 ", r.status, " ",
        std::string(http::obsolete_reason(static_cast<http::status>(r.status))),
        "\r\nContent-Type: ", r.content_type, "\r\nServer: ccrouterd\r\nConnection: close\r\n");
    for (const auto& [name, value] : r.headers) absl::StrAppend(&head, name, ": ", value, "\r\n");
    head += "\r\n";
    boost::system::error_code ignored;
    stream_.socket().set_option(
        boost::asio::socket_base::send_buffer_size(shared_->options.stream_send_buffer_bytes),
        ignored);
    // Nothing more is read but the end of the connection (or stray bytes,
    // which end it too): a client that leaves frees its stream at once.
    stream_.socket().async_read_some(
        boost::asio::buffer(peer_byte_),
        [self = shared_from_this()](beast::error_code, size_t) { self->StreamGone(); });
    WriteStreamData(std::move(head));
    body_stream_->Attach([weak = weak_from_this()] {
      if (std::shared_ptr<HttpSession> self = weak.lock()) {
        boost::asio::post(self->stream_.get_executor(), [self] { self->PumpStream(); });
      }
    });
  }

  void PumpStream() {
    if (writing_ || stream_over_) return;
    bool ended = false;
    std::string data = body_stream_->TakeRendered(&ended);
    if (!data.empty()) return WriteStreamData(std::move(data));
    if (ended) {
      stream_over_ = true;
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.socket().close(ignored);
      return;
    }
    ArmHeartbeat();
  }

  // One write at a time, each within the request timeout: a client that
  // stops reading fills its socket buffer, the write stalls, and the stream
  // is cut at the timeout.
  void WriteStreamData(std::string data) {
    writing_ = true;
    stream_data_ = std::move(data);
    stream_.expires_after(absl::ToChronoMilliseconds(shared_->options.request_timeout));
    boost::asio::async_write(stream_, boost::asio::buffer(stream_data_),
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               self->writing_ = false;
                               if (ec) return self->StreamGone();
                               self->stream_.expires_never();
                               self->PumpStream();
                             });
  }

  void ArmHeartbeat() {
    const absl::Duration interval = body_stream_->heartbeat_interval();
    if (body_stream_->heartbeat_chunk().empty() || interval <= absl::ZeroDuration()) return;
    heartbeat_.expires_after(absl::ToChronoMilliseconds(interval));
    heartbeat_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->writing_ || self->stream_over_) return;
      self->WriteStreamData(self->body_stream_->heartbeat_chunk());
    });
  }

  void StreamGone() {
    if (stream_over_) return;
    stream_over_ = true;
    body_stream_->Detach();
    heartbeat_.cancel();
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  boost::asio::steady_timer heartbeat_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // Its entry in shared_->waiting while a request header is awaited.
  std::optional<std::list<HttpSession*>::iterator> waiting_at_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  std::shared_ptr<HttpServer::Shared> shared_;
  // The request being answered (set from its header).
  unsigned version_ = 11;
  bool head_request_ = false;
  bool keep_alive_ = false;
  // The request being answered, for the request metrics.
  absl::string_view route_ = "other";  // one of route_label's fixed strings
  absl::Time header_read_at_;
  // A streamed response (io thread only).
  std::shared_ptr<HttpStream> body_stream_;
  std::string stream_data_;  // the write in flight
  char peer_byte_[1];
  bool writing_ = false;
  bool stream_over_ = false;
};

// Written without waiting to a connection over the cap, then closed: a
// client that reads it learns why; one that does not loses nothing.
constexpr char kOverCapacity[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 38\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
    "too many connections; try again later\n";

}  // namespace

HttpStream::HttpStream(size_t max_queued_chunks, std::string heartbeat_chunk,
                       absl::Duration heartbeat_interval)
    : max_queued_chunks_(max_queued_chunks),
      heartbeat_chunk_(std::move(heartbeat_chunk)),
      heartbeat_interval_(heartbeat_interval) {}

HttpStream::PushResult HttpStream::TryPush(std::function<std::string()> render) {
  std::function<void()> wake;
  {
    StdMutexLock lock(&mu_);
    if (detached_ || end_requested_) return PushResult::kClosed;
    if (queue_.size() >= max_queued_chunks_) return PushResult::kFull;
    queue_.push_back(std::move(render));
    if (queue_.size() == 1) wake = wake_;  // otherwise a wake is on its way already
  }
  if (wake) wake();
  return PushResult::kQueued;
}

bool HttpStream::NotifyWhenRoom(std::function<void()> on_room) {
  StdMutexLock lock(&mu_);
  if (detached_ || end_requested_) return true;  // never called: it is closing
  if (queue_.size() <= max_queued_chunks_ / 2) return false;
  on_room_ = std::move(on_room);
  return true;
}

void HttpStream::End(std::string last_chunk) {
  std::function<void()> wake;
  {
    StdMutexLock lock(&mu_);
    if (detached_ || end_requested_) return;
    end_requested_ = true;
    last_chunk_ = std::move(last_chunk);
    wake = wake_;
  }
  if (wake) wake();
}

bool HttpStream::closed() const {
  StdMutexLock lock(&mu_);
  return detached_ || end_requested_;
}

void HttpStream::Attach(std::function<void()> wake) {
  bool pending = false;
  {
    StdMutexLock lock(&mu_);
    wake_ = wake;
    pending = !queue_.empty() || end_requested_;
  }
  if (pending) wake();
}

std::string HttpStream::TakeRendered(bool* ended) {
  std::deque<std::function<std::string()>> taken;
  std::function<void()> on_room;
  std::string last;
  {
    StdMutexLock lock(&mu_);
    taken.swap(queue_);
    if (!taken.empty()) on_room.swap(on_room_);  // the queue is empty now: room
    *ended = end_requested_;
    last.swap(last_chunk_);
  }
  std::string out;
  for (std::function<std::string()>& render : taken) out += render();
  out += last;
  if (on_room) on_room();  // outside the lock: it may post or push
  return out;
}

void HttpStream::Detach() {
  StdMutexLock lock(&mu_);
  detached_ = true;
  queue_.clear();
  wake_ = nullptr;
  on_room_ = nullptr;
}

HttpResponse HttpJsonError(int http_status, absl::string_view code, absl::string_view message) {
  std::string body = absl::StrCat("{\"error\":{\"code\":", JsonQuoted(code),
                                  ",\"message\":", JsonQuoted(message), "}}\n");
  return HttpResponse{http_status, "application/json", std::move(body)};
}

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

std::string JoinHostPort(absl::string_view host, int port) {
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
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
    server->shared_->displaced_counter =
        &m->Counter(metrics::kHttpConnectionsRefused, {"displaced"});
    server->shared_->accept_error_counter =
        &m->Counter(metrics::kHttpConnectionsRefused, {"accept_error"});
    server->shared_->durations =
        &m->Histograms(metrics::kHttpDuration, metrics::MillisecondBuckets());
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

namespace {

// Closes the session that has waited longest for a request, and counts it;
// false when no session waits for one.
bool MakeRoom(HttpServer::Shared& shared) {
  if (shared.waiting.empty()) return false;
  shared.waiting.front()->CloseForRoom();
  shared.displaced_for_room.fetch_add(1);
  if (shared.displaced_counter) shared.displaced_counter->Increment();
  return true;
}

}  // namespace

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
    if (shared.open.load() >= shared.options.max_connections && !MakeRoom(shared)) {
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
uint64_t HttpServer::displaced_for_room() const { return shared_->displaced_for_room.load(); }
uint64_t HttpServer::accept_errors() const { return shared_->accept_errors.load(); }

}  // namespace ccr
