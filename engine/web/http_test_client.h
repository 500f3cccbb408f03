// Blocking HTTP/1.1 clients for tests of the web surface: one request and
// its whole answer (HttpCall), and a Server-Sent Events reader (SseClient).
// Every read gives up after 5 s, so a server that never answers fails the
// test instead of hanging it. Loopback only.
#ifndef CCROUTER_ENGINE_WEB_HTTP_TEST_CLIENT_H_
#define CCROUTER_ENGINE_WEB_HTTP_TEST_CLIENT_H_

#include <sys/socket.h>
#include <sys/time.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/write.hpp"

namespace ccr::testing {

struct HttpAnswer {
  int status = 0;                              // 0: no answer (closed or timed out)
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// A connected socket whose reads time out after `timeout_seconds`; a
// receive buffer of `receive_buffer_bytes` when positive (set before
// connecting, so the window the server sees is small from the start).
inline boost::asio::ip::tcp::socket ConnectLoopback(boost::asio::io_context& io, int port,
                                                    int receive_buffer_bytes = 0,
                                                    int timeout_seconds = 5) {
  boost::asio::ip::tcp::socket s(io);
  s.open(boost::asio::ip::tcp::v4());
  if (receive_buffer_bytes > 0) {
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes,
                 sizeof receive_buffer_bytes);
  }
  s.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)});
  timeval tv{timeout_seconds, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return s;
}

inline std::string RequestText(const std::string& method, const std::string& target,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               const std::string& body) {
  std::string text = absl::StrCat(method, " ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  for (const auto& [name, value] : headers) absl::StrAppend(&text, name, ": ", value, "\r\n");
  if (!body.empty() || method == "POST" || method == "PATCH") {
    absl::StrAppend(&text, "Content-Length: ", body.size(), "\r\n");
  }
  absl::StrAppend(&text, "Connection: close\r\n\r\n", body);
  return text;
}

// Splits "HTTP/1.1 200 OK\r\nName: value\r\n..." (without the blank line).
inline void ParseHead(const std::string& head, HttpAnswer* answer) {
  std::vector<std::string> lines = absl::StrSplit(head, "\r\n");
  if (lines.empty()) return;
  std::vector<std::string> status_line = absl::StrSplit(lines[0], ' ');
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &answer->status)) return;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    answer->headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
}

// One request on its own connection (Connection: close); the answer read to
// the connection's end.
inline HttpAnswer HttpCall(int port, const std::string& method, const std::string& target,
                           const std::vector<std::pair<std::string, std::string>>& headers = {},
                           const std::string& body = "") {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s = ConnectLoopback(io, port);
  boost::asio::write(s, boost::asio::buffer(RequestText(method, target, headers, body)));
  std::string all;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(s.native_handle(), buf, sizeof buf, 0);
    if (n <= 0) break;
    all.append(buf, n);
  }
  HttpAnswer answer;
  const size_t end = all.find("\r\n\r\n");
  if (end == std::string::npos) return answer;
  ParseHead(all.substr(0, end), &answer);
  answer.body = all.substr(end + 4);
  return answer;
}

// One SSE event as read: its id, event name and data ("" when absent).
struct SseEvent {
  std::string id;
  std::string event;
  std::string data;
  bool comment_only = false;  // a ": keepalive" block
};

// Reads an event stream: the answer's head, then one event at a time.
class SseClient {
 public:
  SseClient(int port, const std::string& target,
            const std::vector<std::pair<std::string, std::string>>& headers = {},
            int receive_buffer_bytes = 0)
      : socket_(ConnectLoopback(io_, port, receive_buffer_bytes)) {
    boost::asio::write(socket_, boost::asio::buffer(RequestText("GET", target, headers, "")));
    while (buffer_.find("\r\n\r\n") == std::string::npos) {
      if (!Fill()) return;
    }
    const size_t end = buffer_.find("\r\n\r\n");
    ParseHead(buffer_.substr(0, end), &head_);
    buffer_.erase(0, end + 4);
    if (head_.status != 200) {
      while (Fill()) {
      }
      head_.body = buffer_;
    }
  }
  const HttpAnswer& head() const { return head_; }

  // The next event, or nullopt when the stream ended (or 5 s passed).
  std::optional<SseEvent> Next() {
    for (;;) {
      const size_t end = buffer_.find("\n\n");
      if (end != std::string::npos) {
        std::string block = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        SseEvent e;
        e.comment_only = true;
        for (absl::string_view line : absl::StrSplit(block, '\n')) {
          if (absl::StartsWith(line, ":")) continue;
          e.comment_only = false;
          if (absl::ConsumePrefix(&line, "id: ")) e.id = std::string(line);
          if (absl::ConsumePrefix(&line, "event: ")) e.event = std::string(line);
          if (absl::ConsumePrefix(&line, "data: ")) e.data = std::string(line);
        }
        return e;
      }
      if (!Fill()) return std::nullopt;
    }
  }
  // True once the server closed the connection (reads to the end).
  bool ReadToEnd() {
    while (Fill()) {
    }
    return closed_by_server_;
  }
  // Whether the last read found the connection closed by the server (not a
  // 5 s timeout).
  bool closed_by_server() const { return closed_by_server_; }

 private:
  bool Fill() {
    char buf[4096];
    const ssize_t n = ::recv(socket_.native_handle(), buf, sizeof buf, 0);
    if (n <= 0) {
      closed_by_server_ = n == 0 || errno == ECONNRESET;
      return false;
    }
    buffer_.append(buf, n);
    return true;
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::string buffer_;
  HttpAnswer head_;
  bool closed_by_server_ = false;
};

}  // namespace ccr::testing

#endif  // CCROUTER_ENGINE_WEB_HTTP_TEST_CLIENT_H_
