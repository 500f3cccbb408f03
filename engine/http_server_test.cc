// The HTTP server's limits: the connection cap, the idle keep-alive timeout,
// bounded headers and bodies, methods and body content types, HEAD without a
// body, answers from another thread, streamed responses and their bounds.
#include "engine/http_server.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/read.hpp"
#include "boost/asio/write.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/text_format.h"

namespace ccr {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using tcp = boost::asio::ip::tcp;

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options, HttpHandler handler = nullptr) {
    if (!handler) {
      handler = [](const HttpRequest& request, HttpRespond respond) {
        respond({200, "text/plain; charset=utf-8", "hello " + request.path + "\n"});
      };
    }
    absl::StatusOr<std::unique_ptr<HttpServer>> server =
        HttpServer::Start(io_, "127.0.0.1", 0, std::move(handler), options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_) server_->Stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // A connected client socket whose reads give up after 5 s (so a server
  // that never answers fails the test instead of hanging it).
  tcp::socket Connect() {
    tcp::socket s(client_io_);
    s.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), server_->port()));
    timeval tv{5, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
  }

  static void Send(tcp::socket& s, const std::string& text) {
    boost::asio::write(s, boost::asio::buffer(text));
  }

  // Everything the server sends until it closes the connection (or the
  // 5 s receive timeout passes: then `closed` is false).
  static std::string ReadToClose(tcp::socket& s, bool* closed) {
    std::string out;
    char buf[4096];
    *closed = false;
    for (;;) {
      const ssize_t n = ::recv(s.native_handle(), buf, sizeof buf, 0);
      if (n > 0) {
        out.append(buf, n);
        continue;
      }
      *closed = n == 0 || errno == ECONNRESET;
      return out;
    }
  }

  // Reads one response whose body is `body_size` bytes long.
  static std::string ReadResponse(tcp::socket& s) {
    std::string out;
    char buf[4096];
    while (out.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(s.native_handle(), buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, n);
    }
    const size_t at = out.find("Content-Length: ");
    if (at == std::string::npos) return out;
    const size_t length = std::stoul(out.substr(at + 16));
    const size_t want = out.find("\r\n\r\n") + 4 + length;
    while (out.size() < want) {
      const ssize_t n = ::recv(s.native_handle(), buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, n);
    }
    return out;
  }

  // Waits (bounded) until the server counts `n` open connections.
  bool WaitForOpen(size_t n) {
    for (int i = 0; i < 500; ++i) {
      if (server_->open_connections() == n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  // `held`'s size, read on the io thread that fills it.
  size_t HeldOnIo(const std::vector<HttpRespond>& held) {
    std::promise<size_t> size;
    boost::asio::post(io_, [&] { size.set_value(held.size()); });
    return size.get_future().get();
  }

  // Before io_: the sessions a test leaves open end with io_, and count
  // themselves out in the registry's gauge.
  metrics::MetricsRegistry registry_{"test"};
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  boost::asio::io_context client_io_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

// A handler that answers /hold only when told (on the io thread): its
// connections are in a request, not waiting for one.
HttpHandler HoldingHandler(std::vector<HttpRespond>* held) {
  return [held](const HttpRequest& request, HttpRespond respond) {
    if (request.path == "/hold") {
      held->push_back(std::move(respond));
      return;
    }
    respond({200, "text/plain; charset=utf-8", "hello " + request.path + "\n"});
  };
}

TEST_F(HttpServerTest, ConnectionsBeyondTheCapAreClosedAtOnceWhenEveryOneIsInARequest) {
  HttpServerOptions options;
  options.max_connections = 2;
  std::vector<HttpRespond> held;  // the io thread's
  StartServer(options, HoldingHandler(&held));
  tcp::socket first = Connect();
  tcp::socket second = Connect();
  Send(first, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
  Send(second, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(WaitForOpen(2));
  // Both requests reached the handler (counted on the io thread).
  for (int i = 0; i < 500 && HeldOnIo(held) < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(HeldOnIo(held), 2u);

  tcp::socket third = Connect();
  bool closed = false;
  const std::string answer = ReadToClose(third, &closed);
  EXPECT_TRUE(closed) << "the connection over the cap was held open";
  if (!answer.empty()) {
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 503"));
  }
  EXPECT_EQ(server_->refused_for_limit(), 1u);
  EXPECT_EQ(server_->displaced_for_room(), 0u);
  EXPECT_EQ(server_->open_connections(), 2u);

  // Room again once one is answered and leaves.
  // (An HttpRespond holds its session: the answered one is let go.)
  boost::asio::post(io_, [&] {
    HttpRespond respond = std::move(held[0]);
    held.erase(held.begin());
    respond({200, "text/plain; charset=utf-8", "held\n"});
  });
  first.close();
  ASSERT_TRUE(WaitForOpen(1));
  tcp::socket fourth = Connect();
  Send(fourth, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(ReadResponse(fourth), StartsWith("HTTP/1.1 200"));
}

// Connections that send nothing (or trickle their header) hold no slot
// against others: at the cap, a new connection takes the place of the one
// that has waited longest for a request, and is answered.
TEST_F(HttpServerTest, AtTheCapANewConnectionDisplacesTheLongestWaitingOne) {
  HttpServerOptions options;
  options.max_connections = 3;
  options.metrics = &registry_;
  StartServer(options);
  tcp::socket silent = Connect();
  ASSERT_TRUE(WaitForOpen(1));
  tcp::socket trickling = Connect();
  Send(trickling, "GET /slow HT");
  ASSERT_TRUE(WaitForOpen(2));
  tcp::socket idle_keep_alive = Connect();
  Send(idle_keep_alive, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(ReadResponse(idle_keep_alive), StartsWith("HTTP/1.1 200"));
  ASSERT_TRUE(WaitForOpen(3));

  // Three probes, one after another, each kept open once answered: each
  // displaces the longest waiter, in the order they began waiting (the
  // answered probes wait for a next request too, but not as long).
  std::vector<tcp::socket> probes;
  for (tcp::socket* displaced : {&silent, &trickling, &idle_keep_alive}) {
    probes.push_back(Connect());
    Send(probes.back(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_THAT(ReadResponse(probes.back()), StartsWith("HTTP/1.1 200"));
    bool closed = false;
    EXPECT_EQ(ReadToClose(*displaced, &closed), "");
    EXPECT_TRUE(closed) << "the longest waiting connection was not displaced";
  }
  EXPECT_EQ(server_->displaced_for_room(), 3u);
  EXPECT_EQ(server_->refused_for_limit(), 0u);
  EXPECT_EQ(registry_.Counter(metrics::kHttpConnectionsRefused, {"displaced"}).Value(), 3);
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  HttpServerOptions options;
  options.idle_timeout = absl::Milliseconds(100);
  StartServer(options);
  tcp::socket s = Connect();
  Send(s, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string first = ReadResponse(s);
  EXPECT_THAT(first, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(first, EndsWith("hello /a\n"));
  // Kept alive, then idle: the server ends it well within the 5 s read bound.
  bool closed = false;
  EXPECT_EQ(ReadToClose(s, &closed), "");
  EXPECT_TRUE(closed) << "an idle keep-alive connection was held open";
  EXPECT_TRUE(WaitForOpen(0));
}

TEST_F(HttpServerTest, HeadAnswersGetsHeadersWithContentLengthAndNoBody) {
  StartServer({});
  tcp::socket s = Connect();
  Send(s, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  bool closed = false;
  const std::string answer = ReadToClose(s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(answer, HasSubstr("Content-Length: 15\r\n"));  // "hello /metrics\n"
  EXPECT_THAT(answer, EndsWith("\r\n\r\n"));
  EXPECT_THAT(answer, Not(HasSubstr("hello")));
}

TEST_F(HttpServerTest, OversizedHeadersEndTheConnectionUnanswered) {
  HttpServerOptions options;
  options.max_header_bytes = 1024;
  StartServer(options);
  tcp::socket s = Connect();
  Send(s, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  bool closed = false;
  EXPECT_THAT(ReadToClose(s, &closed), Not(HasSubstr("200 OK")));
  EXPECT_TRUE(closed);
}

TEST_F(HttpServerTest, AnswerFromAnotherThreadIsWritten) {
  std::vector<std::thread> helpers;
  std::mutex mu;
  StartServer({}, [&](const HttpRequest&, HttpRespond respond) {
    std::lock_guard lock(mu);
    helpers.emplace_back([respond] { respond({202, "text/plain; charset=utf-8", "later\n"}); });
  });
  tcp::socket s = Connect();
  Send(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string answer = ReadResponse(s);
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 202"));
  EXPECT_THAT(answer, EndsWith("later\n"));
  std::lock_guard lock(mu);
  for (std::thread& t : helpers) t.join();
}

// A handler that echoes what the request carried.
HttpHandler EchoHandler() {
  return [](const HttpRequest& request, HttpRespond respond) {
    respond({200, "text/plain; charset=utf-8",
             absl::StrCat(request.method, " ", request.path, " ?", request.query,
                          " idem=", request.idempotency_key, " last=", request.last_event_id,
                          " body=", request.body)});
  };
}

HttpServerOptions JsonApiOptions() {
  HttpServerOptions options;
  options.allowed_methods = {"GET", "HEAD", "POST"};
  options.max_body_bytes = 64;
  return options;
}

TEST_F(HttpServerTest, RequestCarriesMethodQueryHeadersAndBody) {
  StartServer(JsonApiOptions(), EchoHandler());
  tcp::socket s = Connect();
  Send(s,
       "POST /v1/x?after=7&a=b HTTP/1.1\r\nHost: x\r\nContent-Type: application/json; "
       "charset=utf-8\r\nIdempotency-Key: k-1\r\nLast-Event-ID: 41\r\nContent-Length: 7\r\n\r\n"
       "{\"a\":1}");
  EXPECT_THAT(ReadResponse(s), EndsWith("POST /v1/x ?after=7&a=b idem=k-1 last=41 body={\"a\":1}"));
}

TEST_F(HttpServerTest, DeclaredBodyOverTheLimitIs413Unread) {
  std::atomic<int> handled{0};
  StartServer(JsonApiOptions(), [&](const HttpRequest&, HttpRespond respond) {
    ++handled;
    respond({200, "text/plain", "no\n"});
  });
  tcp::socket s = Connect();
  Send(s,
       "POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
       "65\r\n\r\n");
  bool closed = false;
  const std::string answer = ReadToClose(s, &closed);
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 413"));
  EXPECT_THAT(answer, HasSubstr("application/json"));
  EXPECT_THAT(answer, HasSubstr("body: over the limit of 64 bytes"));
  EXPECT_TRUE(closed);
  EXPECT_EQ(handled.load(), 0);
}

TEST_F(HttpServerTest, ClientStillSendingItsBodyReadsThe413) {
  StartServer(JsonApiOptions(), EchoHandler());
  tcp::socket s = Connect();
  // The whole request at once, as a client that does not wait for
  // 100-continue sends it: the server answers after the header, with most
  // of the body still coming.
  Send(s,
       "POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
       "400000\r\n\r\n" +
           std::string(400000, 'x'));
  bool closed = false;
  EXPECT_THAT(ReadToClose(s, &closed), StartsWith("HTTP/1.1 413"));
}

TEST_F(HttpServerTest, ChunkedBodyPassingTheLimitIs413) {
  StartServer(JsonApiOptions(), EchoHandler());
  tcp::socket s = Connect();
  const std::string chunk(100, 'x');
  Send(s,
       "POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
       "Transfer-Encoding: chunked\r\n\r\n64\r\n" +
           chunk + "\r\n0\r\n\r\n");
  bool closed = false;
  const std::string answer = ReadToClose(s, &closed);
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 413"));
  EXPECT_THAT(answer, Not(HasSubstr("body=")));
}

TEST_F(HttpServerTest, BodyOfAnotherContentTypeIs415) {
  StartServer(JsonApiOptions(), EchoHandler());
  tcp::socket s = Connect();
  Send(s,
       "POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: "
       "2\r\n\r\nhi");
  bool closed = false;
  const std::string answer = ReadToClose(s, &closed);
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 415"));
  EXPECT_THAT(answer,
              HasSubstr("Content-Type: 'text/plain' is not accepted; send application/json"));
  // No Content-Type at all: the same.
  tcp::socket untyped = Connect();
  Send(untyped, "POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_THAT(ReadToClose(untyped, &closed), StartsWith("HTTP/1.1 415"));
  // A POST without a body needs no Content-Type.
  tcp::socket empty = Connect();
  Send(empty, "POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_THAT(ReadResponse(empty), StartsWith("HTTP/1.1 200"));
}

TEST_F(HttpServerTest, MethodOutsideTheAllowedOnesIs405WithAllow) {
  StartServer({}, EchoHandler());  // the default: GET and HEAD
  tcp::socket s = Connect();
  Send(s, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  bool closed = false;
  const std::string answer = ReadToClose(s, &closed);
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 405"));
  EXPECT_THAT(answer, HasSubstr("Allow: GET, HEAD"));
  EXPECT_THAT(answer, HasSubstr("\"code\":\"UNIMPLEMENTED\""));
}

TEST_F(HttpServerTest, StreamedResponseWritesChunksPushedFromAnotherThreadUntilEnded) {
  auto stream = std::make_shared<HttpStream>(4, "", absl::ZeroDuration());
  std::thread producer;
  StartServer({}, [&](const HttpRequest&, HttpRespond respond) {
    respond({200, "text/event-stream", "", {{"Cache-Control", "no-cache"}}, stream});
    producer = std::thread([stream] {
      for (int i = 0; i < 3; ++i) {
        while (stream->TryPush([i] { return absl::StrCat("data: ", i, "\n\n"); }) ==
               HttpStream::PushResult::kFull) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
      stream->End("event: end\n\n");
    });
  });
  tcp::socket s = Connect();
  Send(s, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
  bool closed = false;
  const std::string answer = ReadToClose(s, &closed);
  producer.join();
  EXPECT_TRUE(closed);
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(answer, HasSubstr("Cache-Control: no-cache"));
  EXPECT_THAT(answer, Not(HasSubstr("Content-Length")));
  EXPECT_THAT(answer, EndsWith("\r\n\r\ndata: 0\n\ndata: 1\n\ndata: 2\n\nevent: end\n\n"));
  EXPECT_EQ(stream->TryPush([] { return "late"; }), HttpStream::PushResult::kClosed);
}

TEST_F(HttpServerTest, StreamQueueIsBoundedAndTellsWhenThereIsRoom) {
  HttpStream stream(2, "", absl::ZeroDuration());
  EXPECT_EQ(stream.TryPush([] { return "a"; }), HttpStream::PushResult::kQueued);
  EXPECT_EQ(stream.TryPush([] { return "b"; }), HttpStream::PushResult::kQueued);
  EXPECT_EQ(stream.TryPush([] { return "c"; }), HttpStream::PushResult::kFull);
  bool room = false;
  ASSERT_TRUE(stream.NotifyWhenRoom([&room] { room = true; }));
  bool ended = true;
  EXPECT_EQ(stream.TakeRendered(&ended), "ab");  // as the connection writes them
  EXPECT_FALSE(ended);
  EXPECT_TRUE(room);
  EXPECT_FALSE(stream.NotifyWhenRoom([] {}));  // room already
  stream.Detach();                             // the client went away
  EXPECT_TRUE(stream.closed());
  EXPECT_EQ(stream.TryPush([] { return "d"; }), HttpStream::PushResult::kClosed);
}

TEST_F(HttpServerTest, IdleStreamSendsHeartbeatsAndClientLeavingDetachesIt) {
  auto stream = std::make_shared<HttpStream>(4, ": keepalive\n\n", absl::Milliseconds(50));
  StartServer({}, [&](const HttpRequest&, HttpRespond respond) {
    respond({200, "text/event-stream", "", {}, stream});
  });
  {
    tcp::socket s = Connect();
    Send(s, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string got;
    char buf[1024];
    while (got.find(": keepalive\n\n: keepalive\n\n") == std::string::npos) {
      const ssize_t n = ::recv(s.native_handle(), buf, sizeof buf, 0);
      ASSERT_GT(n, 0) << "no heartbeat within 5 s: " << got;
      got.append(buf, n);
    }
  }  // the client closes
  for (int i = 0; i < 500 && !stream->closed(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(stream->closed());
  EXPECT_TRUE(WaitForOpen(0));
}

TEST_F(HttpServerTest, StreamToAClientThatStopsReadingIsCutAtTheWriteTimeout) {
  HttpServerOptions options;
  options.request_timeout = absl::Milliseconds(300);
  options.stream_send_buffer_bytes = 4096;
  auto stream = std::make_shared<HttpStream>(4, "", absl::ZeroDuration());
  StartServer(options, [&](const HttpRequest&, HttpRespond respond) {
    respond({200, "text/event-stream", "", {}, stream});
  });
  tcp::socket s = Connect();
  const int small = 4096;
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  Send(s, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
  // Push far more than the socket buffers hold, never reading.
  const std::string big(64 * 1024, 'x');
  for (int i = 0; i < 2000 && !stream->closed(); ++i) {
    if (stream->TryPush([&big] { return big; }) == HttpStream::PushResult::kFull) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  EXPECT_TRUE(stream->closed()) << "a client that reads nothing was never cut";
}

TEST_F(HttpServerTest, RequestsAreCountedByRouteAndCodeNeverByPath) {
  HttpServerOptions options;
  options.metrics = &registry_;
  options.route_label = [](absl::string_view path) -> absl::string_view {
    return absl::StartsWith(path, "/c/") ? "/c/{id}" : "other";
  };
  StartServer(options);
  tcp::socket s = Connect();
  for (const char* path : {"/c/c-41", "/c/c-42?x=1", "/elsewhere"}) {
    Send(s, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_THAT(ReadResponse(s), StartsWith("HTTP/1.1 200"));
  }
  Send(s, "DELETE /c/c-43 HTTP/1.1\r\nHost: x\r\n\r\n");  // refused by the server itself
  EXPECT_THAT(ReadResponse(s), StartsWith("HTTP/1.1 405"));
  const std::string text = metrics::SerializeText(registry_.Collect());
  EXPECT_THAT(text, HasSubstr("ccr_http_requests_total{code=\"200\",route=\"/c/{id}\"} 2"));
  EXPECT_THAT(text, HasSubstr("ccr_http_requests_total{code=\"405\",route=\"/c/{id}\"} 1"));
  EXPECT_THAT(text, HasSubstr("ccr_http_requests_total{code=\"200\",route=\"other\"} 1"));
  EXPECT_THAT(text, HasSubstr("ccr_http_request_duration_seconds_count{route=\"/c/{id}\"} 3"));
  EXPECT_THAT(text, Not(HasSubstr("c-4"))) << "a path (and the id in it) became a label";
}

TEST(HostPortTest, JoinHostPortBracketsIpv6AndParseHostPortReadsItBack) {
  EXPECT_EQ(JoinHostPort("127.0.0.1", 7701), "127.0.0.1:7701");
  EXPECT_EQ(JoinHostPort("::1", 7701), "[::1]:7701");
  for (const char* host : {"127.0.0.1", "::1", "ccr-0.example"}) {
    std::string parsed_host;
    int parsed_port = 0;
    ASSERT_TRUE(ParseHostPort("--x", JoinHostPort(host, 7700), &parsed_host, &parsed_port).ok());
    EXPECT_EQ(parsed_host, host);
    EXPECT_EQ(parsed_port, 7700);
  }
}

}  // namespace
}  // namespace ccr
