// DeskClient's conversation over the browser's WebSocket (/v1/agent-desk):
// the same AgentMessage / ServerMessage as AgentDesk.Connect, as protobuf
// JSON in text frames (README "Browser agent desktop (WebSocket)"). The
// DeskClient above it is the same for both transports.
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/websocket.hpp"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tools/ccload/desk_client.h"

namespace ccr::load {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
namespace v1 = ::ccrouter::v1;

namespace {

// {"status":{"code":"UNAVAILABLE","message":"..."}} -> the gRPC status.
std::optional<grpc::Status> StatusFromFrame(const std::string& text) {
  google::protobuf::Struct frame;
  if (!google::protobuf::util::JsonStringToMessage(text, &frame).ok()) return std::nullopt;
  auto status = frame.fields().find("status");
  if (status == frame.fields().end() || !status->second.has_struct_value()) return std::nullopt;
  const auto& fields = status->second.struct_value().fields();
  auto code = fields.find("code");
  auto message = fields.find("message");
  if (code == fields.end()) return std::nullopt;
  for (int c = 0; c <= 16; ++c) {
    if (absl::StatusCodeToString(static_cast<absl::StatusCode>(c)) == code->second.string_value()) {
      return grpc::Status(static_cast<grpc::StatusCode>(c),
                          message == fields.end() ? "" : message->second.string_value());
    }
  }
  return grpc::Status(grpc::StatusCode::UNKNOWN, code->second.string_value());
}

}  // namespace

// The handle the DeskClient holds (and deletes in SessionEnded); the socket
// and its state live in a shared Connection, kept by its pending operations,
// so the handle's deletion never pulls a socket from under a handler.
class DeskClient::WsSession final : public DeskClient::Stream {
 public:
  class Connection;
  explicit WsSession(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {}
  Queued Write(v1::AgentMessage message) override;
  void Close() override;
  void Cancel() override;

 private:
  const std::shared_ptr<Connection> connection_;
};

class DeskClient::WsSession::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(DeskClient& client, uint64_t number, const WebSocketDesk& desk)
      : client_(client), number_(number), desk_(desk), ws_(boost::asio::make_strand(*desk.io)) {}

  // REQUIRES: handle_ set.
  void Start(v1::AgentMessage login) {
    Write(std::move(login));
    const tcp::endpoint endpoint(boost::asio::ip::make_address(desk_.host), desk_.port);
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(ws_).async_connect(
        endpoint, [self = shared_from_this()](beast::error_code ec) { self->OnConnected(ec); });
  }

  // Any thread (under the DeskClient's lock).
  Queued Write(v1::AgentMessage message) {
    std::string json;
    // Not expected of a message built here; dropped and counted all the same.
    if (!google::protobuf::util::MessageToJsonString(message, &json).ok()) return Queued::kDropped;
    std::lock_guard lock(mu_);
    if (closing_ || broken_) return Queued::kStreamEnding;
    if (queue_.size() >= kMaxQueuedWrites) return Queued::kDropped;
    queue_.push_back(std::move(json));
    if (open_ && !pump_posted_) {
      pump_posted_ = true;
      boost::asio::post(ws_.get_executor(), [self = shared_from_this()] { self->Pump(); });
    }
    return Queued::kYes;
  }
  void Close() {
    std::lock_guard lock(mu_);
    if (closing_) return;
    closing_ = true;
    if (open_ && !pump_posted_) {
      pump_posted_ = true;
      boost::asio::post(ws_.get_executor(), [self = shared_from_this()] { self->Pump(); });
    }
  }
  void Cancel() {
    boost::asio::post(ws_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().close(ignored);
    });
  }

  Stream* handle_ = nullptr;  // set once, before Start

 private:
  void OnConnected(beast::error_code ec) {
    if (ec) return End(grpc::Status(grpc::StatusCode::UNAVAILABLE, ec.message()));
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts =
        websocket::stream_base::timeout::suggested(beast::role_type::client);
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(http::field::sec_websocket_protocol, "ccrouter.agent-desk.v1");
    }));
    ws_.async_handshake(absl::StrCat(desk_.host, ":", desk_.port), "/v1/agent-desk",
                        [self = shared_from_this()](beast::error_code ec) {
                          if (ec) {
                            return self->End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                          absl::StrCat("upgrade: ", ec.message())));
                          }
                          {
                            std::lock_guard lock(self->mu_);
                            self->open_ = true;
                            self->pump_posted_ = true;
                          }
                          self->Pump();
                          self->Read();
                        });
  }

  // Strand: writes what is queued, one frame at a time, then (closing) the
  // close frame.
  void Pump() {
    if (writing_) return;
    std::optional<std::string> next;
    bool close = false;
    {
      std::lock_guard lock(mu_);
      if (!queue_.empty()) {
        next = std::move(queue_.front());
        queue_.pop_front();
      } else if (closing_ && !close_sent_) {
        close_sent_ = true;
        close = true;
      } else {
        pump_posted_ = false;
        return;
      }
    }
    writing_ = true;
    if (close) {
      ws_.async_close(websocket::close_code::normal,
                      [self = shared_from_this()](beast::error_code ec) {
                        self->writing_ = false;
                        // The close handshake done: the pending read ends
                        // (operation_aborted), and this was a clean goodbye.
                        if (!ec) self->closed_cleanly_ = true;
                      });
      return;
    }
    write_text_ = std::move(*next);
    ws_.text(true);
    ws_.async_write(boost::asio::buffer(write_text_),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->writing_ = false;
                      if (ec) {
                        std::lock_guard lock(self->mu_);
                        self->broken_ = true;
                        self->queue_.clear();
                        return;
                      }
                      self->Pump();
                    });
  }

  void Read() {
    ws_.async_read(read_buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        // The server's status frame says why; without one, a goodbye we
        // asked for is OK and anything else a broken connection.
        grpc::Status status(grpc::StatusCode::UNAVAILABLE, ec.message());
        if (self->final_status_.has_value()) {
          status = *self->final_status_;
        } else if (self->closed_cleanly_ ||
                   (ec == websocket::error::closed &&
                    self->ws_.reason().code == websocket::close_code::normal)) {
          status = grpc::Status::OK;
        }
        return self->End(status);
      }
      const std::string text = beast::buffers_to_string(self->read_buffer_.data());
      self->read_buffer_.consume(self->read_buffer_.size());
      self->OnFrame(text);
      self->Read();
    });
  }

  void OnFrame(const std::string& text) {
    if (text.rfind("{\"status\"", 0) == 0) {
      final_status_ = StatusFromFrame(text);
      return;
    }
    v1::ServerMessage message;
    if (!google::protobuf::util::JsonStringToMessage(text, &message).ok()) return;
    if (message.kind_case() == v1::ServerMessage::kLoginOk) logged_in_ = true;
    client_.OnServerMessage(number_, message);
  }

  // Strand, once: the conversation is over; the DeskClient deletes the handle.
  void End(const grpc::Status& status) {
    if (ended_) return;
    ended_ = true;
    {
      std::lock_guard lock(mu_);
      broken_ = true;
      queue_.clear();
    }
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    client_.SessionEnded(handle_, number_, logged_in_, status, std::nullopt);
  }

  DeskClient& client_;
  const uint64_t number_;
  const WebSocketDesk desk_;
  // The strand's: from here to ended_.
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer read_buffer_;
  std::string write_text_;
  bool writing_ = false;
  bool logged_in_ = false;
  std::optional<grpc::Status> final_status_;
  bool ended_ = false;
  bool closed_cleanly_ = false;  // our close frame answered
  std::mutex mu_;
  std::deque<std::string> queue_;  // GUARDED_BY(mu_): JSON frames to write
  bool open_ = false;              // GUARDED_BY(mu_): upgraded
  bool pump_posted_ = false;       // GUARDED_BY(mu_): a Pump is posted or writing
  bool closing_ = false;           // GUARDED_BY(mu_)
  bool close_sent_ = false;        // GUARDED_BY(mu_)
  bool broken_ = false;            // GUARDED_BY(mu_)
};

DeskClient::Stream::Queued DeskClient::WsSession::Write(v1::AgentMessage message) {
  return connection_->Write(std::move(message));
}
void DeskClient::WsSession::Close() { connection_->Close(); }
void DeskClient::WsSession::Cancel() { connection_->Cancel(); }

DeskClient::Stream* DeskClient::StartWebSocketSession(DeskClient& client, uint64_t number,
                                                      const WebSocketDesk& desk,
                                                      v1::AgentMessage login) {
  auto connection = std::make_shared<WsSession::Connection>(client, number, desk);
  auto* session = new WsSession(connection);
  connection->handle_ = session;
  connection->Start(std::move(login));
  return session;
}

WebSocketDeskThreads::WebSocketDeskThreads(int threads) : work_(boost::asio::make_work_guard(io_)) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
}

WebSocketDeskThreads::~WebSocketDeskThreads() {
  work_.reset();
  io_.stop();
  for (std::thread& t : threads_) t.join();
}

}  // namespace ccr::load
