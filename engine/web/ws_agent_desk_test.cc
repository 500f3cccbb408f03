// The agent desktop over WebSocket, in process: the engine on its own
// thread, the HTTP port with the /v1/agent-desk upgrade, a gRPC server with
// the same services, and desktops on both. A Beast WebSocket client plays
// the browser.
#include "engine/web/ws_agent_desk.h"

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/post.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/websocket.hpp"
#include "codec/config_loader.h"
#include "engine/grpc/services.h"
#include "engine/testing/desk_cases.h"
#include "engine/testing/ingest_cases.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace ccr {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(5);
constexpr char kAdminToken[] = "admin-secret-token";
constexpr char kGrpcAgentToken[] = "grpc-agent-b1-token";
const std::string kSecret(32, 's');

// A browser's WebSocket: connected and upgraded on the test thread, then
// driven on a thread of its own (every stream operation runs there).
class WsDesktop {
 public:
  struct Options {
    std::string target = kAgentDeskPath;
    std::vector<std::pair<http::field, std::string>> headers = {};
    bool read = true;              // false: a desktop that never reads
    int receive_buffer_bytes = 0;  // set before connecting (0: the default)
  };

  WsDesktop(int port, Options options) : options_(std::move(options)) {
    tcp::socket& socket = beast::get_lowest_layer(ws_).socket();
    socket.open(tcp::v4());
    if (options_.receive_buffer_bytes > 0) {
      socket.set_option(
          boost::asio::socket_base::receive_buffer_size(options_.receive_buffer_bytes));
    }
    beast::error_code ec;
    socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port), ec);
    if (ec) {
      error_ = ec.message();
      return;
    }
    ws_.set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
      for (const auto& [field, value] : options_.headers) req.set(field, value);
    }));
    websocket::response_type response;
    ws_.handshake(response, absl::StrCat("127.0.0.1:", port), options_.target, ec);
    if (ec) {
      error_ = ec.message();
      return;
    }
    upgraded_ = true;
    if (options_.read) boost::asio::post(io_, [this] { Read(); });
    thread_ = std::thread([this] { io_.run(); });
  }

  ~WsDesktop() {
    boost::asio::post(io_, [this] {
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
    });
    work_.reset();
    if (thread_.joinable()) thread_.join();
  }

  bool upgraded() const { return upgraded_; }
  const std::string& error() const { return error_; }

  void SendText(std::string text) {
    boost::asio::post(io_, [this, text = std::move(text)]() mutable {
      outgoing_.push_back(std::move(text));
      if (outgoing_.size() == 1) WriteNext();
    });
  }
  void Send(const v1::AgentMessage& message) {
    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(message, &json).ok());
    SendText(std::move(json));
  }
  // Sends `message` with a fresh request_id; its CommandResult.
  std::optional<v1::CommandResult> Command(v1::AgentMessage message) {
    const uint64_t id = ++next_request_id_;
    message.set_request_id(id);
    Send(message);
    std::optional<v1::ServerMessage> reply = WaitFor([id](const v1::ServerMessage& m) {
      return m.has_result() && m.result().request_id() == id;
    });
    if (!reply) return std::nullopt;
    return reply->result();
  }
  // A clean goodbye: a close frame.
  void CloseCleanly() {
    boost::asio::post(io_, [this] { ws_.async_close(websocket::close_code::normal, [](auto) {}); });
  }
  // Vanishes without a goodbye, as a crashed browser tab.
  void Drop() {
    boost::asio::post(io_, [this] {
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(ws_).socket().close(ignored);
    });
  }

  // The first ServerMessage received (and not yet taken) that `pred` accepts.
  std::optional<v1::ServerMessage> WaitFor(
      const std::function<bool(const v1::ServerMessage&)>& pred, absl::Duration timeout = kWait) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::MutexLock lock(&mu_);
    while (true) {
      for (auto it = frames_.begin(); it != frames_.end(); ++it) {
        v1::ServerMessage m;
        if (!google::protobuf::util::JsonStringToMessage(*it, &m).ok()) continue;
        if (pred(m)) {
          frames_.erase(it);
          return m;
        }
      }
      seen_ = frames_.size();
      if (closed_ || !mu_.AwaitWithDeadline(absl::Condition(this, &WsDesktop::Changed), deadline)) {
        return std::nullopt;
      }
    }
  }
  std::optional<v1::ServerMessage> WaitForKind(v1::ServerMessage::KindCase kind) {
    return WaitFor([kind](const v1::ServerMessage& m) { return m.kind_case() == kind; });
  }
  // Once the server has closed: its last text frame (the status) and the
  // close frame's code and reason.
  struct Ending {
    std::string status_frame;
    int close_code = 0;
    std::string close_reason;
  };
  std::optional<Ending> WaitClosed(absl::Duration timeout = kWait) {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(&closed_), timeout)) return std::nullopt;
    Ending ending{"", close_code_, close_reason_};
    for (const std::string& f : frames_) {
      if (f.rfind("{\"status\"", 0) == 0) ending.status_frame = f;
    }
    return ending;
  }

  uint64_t next_request_id_ = 0;

 private:
  bool Changed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || frames_.size() != seen_;
  }
  void Read() {
    ws_.async_read(buffer_, [this](beast::error_code ec, size_t) {
      absl::MutexLock lock(&mu_);
      if (ec) {
        closed_ = true;
        close_code_ = ws_.reason().code;
        close_reason_ = std::string(ws_.reason().reason.c_str());
        return;
      }
      frames_.push_back(beast::buffers_to_string(buffer_.data()));
      buffer_.consume(buffer_.size());
      boost::asio::post(io_, [this] { Read(); });
    });
  }
  void WriteNext() {
    ws_.text(true);
    ws_.async_write(boost::asio::buffer(outgoing_.front()), [this](beast::error_code ec, size_t) {
      outgoing_.pop_front();
      if (!ec && !outgoing_.empty()) WriteNext();
    });
  }

  const Options options_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  websocket::stream<beast::tcp_stream> ws_{io_};
  beast::flat_buffer buffer_;
  std::deque<std::string> outgoing_;  // io thread only
  std::thread thread_;
  bool upgraded_ = false;
  std::string error_;
  absl::Mutex mu_;
  std::deque<std::string> frames_ ABSL_GUARDED_BY(mu_);
  size_t seen_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int close_code_ ABSL_GUARDED_BY(mu_) = 0;
  std::string close_reason_ ABSL_GUARDED_BY(mu_);
};

// A gRPC desktop (sync stream, a reader thread), for side-by-side checks.
class GrpcDesktop {
 public:
  GrpcDesktop(std::shared_ptr<grpc::Channel> channel, const std::string& bearer)
      : stub_(v1::AgentDesk::NewStub(channel)) {
    if (!bearer.empty()) context_.AddMetadata("authorization", "Bearer " + bearer);
    stream_ = stub_->Connect(&context_);
    reader_ = std::thread([this] {
      v1::ServerMessage m;
      while (stream_->Read(&m)) {
        absl::MutexLock lock(&mu_);
        messages_.push_back(m);
      }
      absl::MutexLock lock(&mu_);
      closed_ = true;
    });
  }
  ~GrpcDesktop() {
    context_.TryCancel();
    reader_.join();
    stream_->Finish();
  }
  void Send(const v1::AgentMessage& m) { stream_->Write(m); }
  std::optional<v1::ServerMessage> WaitFor(
      const std::function<bool(const v1::ServerMessage&)>& pred) {
    const absl::Time deadline = absl::Now() + kWait;
    absl::MutexLock lock(&mu_);
    while (true) {
      for (auto it = messages_.begin(); it != messages_.end(); ++it) {
        if (pred(*it)) {
          v1::ServerMessage found = *it;
          messages_.erase(it);
          return found;
        }
      }
      const size_t seen = messages_.size();
      auto changed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return closed_ || messages_.size() != seen;
      };
      if (closed_ || !mu_.AwaitWithDeadline(absl::Condition(&changed), deadline)) {
        return std::nullopt;
      }
    }
  }
  std::optional<v1::CommandResult> Command(v1::AgentMessage message) {
    const uint64_t id = ++next_request_id_;
    message.set_request_id(id);
    Send(message);
    std::optional<v1::ServerMessage> reply = WaitFor([id](const v1::ServerMessage& m) {
      return m.has_result() && m.result().request_id() == id;
    });
    if (!reply) return std::nullopt;
    return reply->result();
  }

 private:
  std::unique_ptr<v1::AgentDesk::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::ServerMessage>> stream_;
  std::thread reader_;
  uint64_t next_request_id_ = 0;
  absl::Mutex mu_;
  std::deque<v1::ServerMessage> messages_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

bool IsLoginOk(const v1::ServerMessage& m) { return m.has_login_ok(); }

class WsAgentDeskTest : public ::testing::Test {
 protected:
  // auth_on: a token policy (admin kAdminToken; agent "b1" kGrpcAgentToken);
  // else open.
  void Start(bool auth_on, EngineOptions engine_options = {}, WsAgentDeskOptions ws_options = {}) {
    engine_ = std::make_unique<Engine>(engine_io_, engine_options);
    ASSERT_TRUE(engine_->Start(Recovered{}, std::string(DefaultConfigYaml())).ok());
    AuthPolicy policy;
    if (auth_on) {
      policy.open = false;
      policy.tokens[Sha256Hex(kAdminToken)] = {Principal{Role::kAdmin, "crm"}};
      policy.tokens[Sha256Hex(kGrpcAgentToken)] = {Principal{Role::kAgent, "b1"}};
    }
    auth_.SetPolicy(std::move(policy));
    engine_thread_ = std::thread([this] { engine_io_.run(); });

    ingest_ = std::make_unique<ContactIngestService>(*engine_, auth_);
    desk_ = std::make_unique<AgentDeskServer>(*engine_, auth_);
    admin_ = std::make_unique<AdminService>(*engine_, auth_, &signer_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(ingest_.get());
    desk_->AddTo(builder);
    builder.RegisterService(admin_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    desk_->Start();
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());

    ws_desk_ = std::make_unique<WsAgentDesk>(*engine_, auth_, signer_, std::move(ws_options));
    HttpServerOptions http_options;
    http_options.websocket_upgrade = ws_desk_->UpgradeHandler();
    absl::StatusOr<std::unique_ptr<HttpServer>> http = HttpServer::Start(
        http_io_, "127.0.0.1", 0,
        [](const HttpRequest&, HttpRespond respond) {
          respond({404, "text/plain", "no\n"});
        },
        http_options);
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
    http_thread_ = std::thread([this] { http_io_.run(); });
  }

  void TearDown() override {
    if (http_) http_->Stop();
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now());
      desk_->Stop();  // after the server's Shutdown, before the server is destroyed
    }
    http_work_.reset();
    http_io_.stop();
    if (http_thread_.joinable()) http_thread_.join();
    engine_work_.reset();
    engine_io_.stop();
    if (engine_thread_.joinable()) engine_thread_.join();
  }

  int http_port() const { return http_->port(); }

  // An upgrade request sent by hand, and the server's answer (a refusal's
  // status and body, which a WebSocket client's failed handshake drops).
  http::response<http::string_body> RawUpgrade(WsDesktop::Options options) {
    boost::asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), http_port()));
    http::request<http::empty_body> request(http::verb::get, options.target, 11);
    request.set(http::field::host, absl::StrCat("127.0.0.1:", http_port()));
    request.set(http::field::upgrade, "websocket");
    request.set(http::field::connection, "upgrade");
    request.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    request.set(http::field::sec_websocket_version, "13");
    for (const auto& [field, value] : options.headers) request.set(field, value);
    http::write(socket, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    beast::error_code ec;
    http::read(socket, buffer, response, ec);
    EXPECT_FALSE(ec) << ec.message();
    return response;
  }

  std::unique_ptr<WsDesktop> Desktop(WsDesktop::Options options = {}) {
    return std::make_unique<WsDesktop>(http_port(), std::move(options));
  }
  // Upgraded and logged in as `agent_id`; the Resync taken too.
  std::unique_ptr<WsDesktop> LoggedIn(const std::string& agent_id,
                                      WsDesktop::Options options = {}) {
    auto desktop = Desktop(std::move(options));
    EXPECT_TRUE(desktop->upgraded()) << desktop->error();
    if (!desktop->upgraded()) return desktop;
    desktop->Send(testing::LoginMessage(agent_id));
    EXPECT_TRUE(desktop->WaitFor(IsLoginOk)) << agent_id << ": no loginOk";
    EXPECT_TRUE(desktop->WaitForKind(v1::ServerMessage::kResync)) << agent_id << ": no resync";
    return desktop;
  }

  std::string Submit(const std::string& key, const std::string& bearer = "") {
    auto stub = v1::ContactIngest::NewStub(channel_);
    grpc::ClientContext ctx;
    if (!bearer.empty()) ctx.AddMetadata("authorization", "Bearer " + bearer);
    v1::SubmitRequest request;
    *request.mutable_contact() = testing::ValidVoiceContact(key);
    v1::SubmitReply reply;
    grpc::Status s = stub->Submit(&ctx, request, &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return reply.contact_id();
  }

  absl::StatusOr<v1::MintAgentTokenReply> Mint(const std::string& agent_id, uint32_t ttl_seconds,
                                               const std::string& bearer) {
    auto stub = v1::Admin::NewStub(channel_);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + bearer);
    v1::MintAgentTokenRequest request;
    request.set_agent_id(agent_id);
    request.set_ttl_seconds(ttl_seconds);
    v1::MintAgentTokenReply reply;
    grpc::Status s = stub->MintAgentToken(&ctx, request, &reply);
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    }
    return reply;
  }

  // Before the io_contexts: connections left in them at the end still count
  // themselves out into it when they are destroyed.
  metrics::MetricsRegistry registry_{"test"};
  AgentTokenSigner signer_{kSecret};
  boost::asio::io_context engine_io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> engine_work_ =
      boost::asio::make_work_guard(engine_io_);
  boost::asio::io_context http_io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> http_work_ =
      boost::asio::make_work_guard(http_io_);
  Authenticator auth_{nullptr};
  std::unique_ptr<Engine> engine_;
  std::thread engine_thread_;
  std::unique_ptr<ContactIngestService> ingest_;
  std::unique_ptr<AgentDeskServer> desk_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<WsAgentDesk> ws_desk_;
  std::unique_ptr<HttpServer> http_;
  std::thread http_thread_;
};

TEST_F(WsAgentDeskTest, ADesktopHandlesAContactOverWebSocketBesideAGrpcDesktop) {
  Start(/*auth_on=*/false);
  GrpcDesktop grpc_desk(channel_, "");
  grpc_desk.Send(testing::LoginMessage("g1"));
  ASSERT_TRUE(grpc_desk.WaitFor(IsLoginOk));
  // The gRPC desktop takes the first contact (it is the only agent), so the
  // WebSocket one gets the second.
  const std::string first = Submit("k1");
  std::optional<v1::ServerMessage> grpc_offer =
      grpc_desk.WaitFor([](const v1::ServerMessage& m) { return m.has_offer(); });
  ASSERT_TRUE(grpc_offer);
  EXPECT_EQ(grpc_offer->offer().contact_id(), first);

  auto ws = LoggedIn("w1");
  // Heartbeats are echoed with their sequence.
  v1::AgentMessage beat;
  beat.mutable_heartbeat()->set_sequence(42);
  ws->Send(beat);
  std::optional<v1::ServerMessage> echo = ws->WaitForKind(v1::ServerMessage::kHeartbeat);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->heartbeat().sequence(), 42u);

  const std::string second = Submit("k2");
  std::optional<v1::ServerMessage> offer = ws->WaitForKind(v1::ServerMessage::kOffer);
  ASSERT_TRUE(offer) << "the WebSocket desktop got no offer";
  EXPECT_EQ(offer->offer().contact_id(), second);
  v1::AgentMessage accept;
  accept.mutable_accept()->set_offer_id(offer->offer().offer_id());
  std::optional<v1::CommandResult> accepted = ws->Command(accept);
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->code(), 0) << accepted->message();
  v1::AgentMessage complete;
  complete.mutable_complete()->set_contact_id(second);
  complete.mutable_complete()->mutable_outcome()->set_resolved(true);
  std::optional<v1::CommandResult> completed = ws->Command(complete);
  ASSERT_TRUE(completed);
  EXPECT_EQ(completed->code(), 0) << completed->message();
  v1::AgentMessage wrap;
  wrap.mutable_wrap_up_done()->set_contact_id(second);
  std::optional<v1::CommandResult> wrapped = ws->Command(wrap);
  ASSERT_TRUE(wrapped);
  EXPECT_EQ(wrapped->code(), 0) << wrapped->message();
  std::optional<v1::ServerMessage> ended = ws->WaitForKind(v1::ServerMessage::kContactEnded);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->contact_ended().contact_id(), second);
  EXPECT_EQ(ended->contact_ended().state(), v1::CONTACT_STATE_COMPLETED);

  // The gRPC desktop still works meanwhile.
  v1::AgentMessage grpc_accept;
  grpc_accept.mutable_accept()->set_offer_id(grpc_offer->offer().offer_id());
  std::optional<v1::CommandResult> grpc_accepted = grpc_desk.Command(grpc_accept);
  ASSERT_TRUE(grpc_accepted);
  EXPECT_EQ(grpc_accepted->code(), 0) << grpc_accepted->message();

  // A clean goodbye: a close frame answered with 1000.
  ws->CloseCleanly();
  std::optional<WsDesktop::Ending> ending = ws->WaitClosed();
  ASSERT_TRUE(ending);
  EXPECT_EQ(ending->close_code, 1000);
}

TEST_F(WsAgentDeskTest, AReconnectWithinTheGraceKeepsTheContact) {
  EngineOptions options;
  options.disconnect_grace = absl::Seconds(30);
  Start(/*auth_on=*/false, options);
  auto ws = LoggedIn("w1");
  const std::string contact = Submit("k1");
  std::optional<v1::ServerMessage> offer = ws->WaitForKind(v1::ServerMessage::kOffer);
  ASSERT_TRUE(offer);
  v1::AgentMessage accept;
  accept.mutable_accept()->set_offer_id(offer->offer().offer_id());
  std::optional<v1::CommandResult> accepted = ws->Command(accept);
  ASSERT_TRUE(accepted && accepted->code() == 0);
  ws->Drop();  // no goodbye: the grace starts
  ws.reset();

  auto again = Desktop();
  ASSERT_TRUE(again->upgraded()) << again->error();
  again->Send(testing::LoginMessage("w1"));
  ASSERT_TRUE(again->WaitFor(IsLoginOk));
  std::optional<v1::ServerMessage> resync = again->WaitForKind(v1::ServerMessage::kResync);
  ASSERT_TRUE(resync);
  ASSERT_EQ(resync->resync().contacts_size(), 1) << resync->ShortDebugString();
  EXPECT_EQ(resync->resync().contacts(0).contact_id(), contact);
  EXPECT_EQ(resync->resync().contacts(0).state(), v1::CONTACT_STATE_CONNECTED);
}

TEST_F(WsAgentDeskTest, ASilentDesktopIsEndedByTheEnginesHeartbeatCheck) {
  EngineOptions options;
  options.heartbeat_interval = absl::Milliseconds(100);
  options.heartbeat_missed_limit = 2;
  Start(/*auth_on=*/false, options);
  auto ws = LoggedIn("w1");
  // Nothing more from the desktop: after 2 x 100 ms the engine ends it.
  std::optional<WsDesktop::Ending> ending = ws->WaitClosed();
  ASSERT_TRUE(ending) << "the silent desktop was not ended";
  EXPECT_THAT(ending->status_frame, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(ending->status_frame, HasSubstr("heartbeat: nothing received"));
  EXPECT_EQ(ending->close_code, 1001);
}

TEST_F(WsAgentDeskTest, AMintedTokenLogsInItsAgentOnlyAndBadTokensOrOriginsAreRefused) {
  WsAgentDeskOptions ws_options;
  ws_options.allowed_origins = {"https://desk.example.com"};
  Start(/*auth_on=*/true, {}, ws_options);
  // Only an admin mints.
  EXPECT_EQ(Mint("w1", 600, kGrpcAgentToken).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Mint("w1", 86400, kAdminToken).status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<v1::MintAgentTokenReply> minted = Mint("w1", 600, kAdminToken);
  ASSERT_TRUE(minted.ok()) << minted.status();
  const std::string origin_ok = "https://desk.example.com";

  {  // In the query string, from an allowed page.
    auto ws =
        LoggedIn("w1", {.target = absl::StrCat(kAgentDeskPath, "?access_token=", minted->token()),
                        .headers = {{http::field::origin, origin_ok}}});
  }
  {  // In the subprotocol, which the server echoes.
    auto ws = LoggedIn(
        "w1", {.headers = {{http::field::origin, origin_ok},
                           {http::field::sec_websocket_protocol,
                            absl::StrCat(kAgentDeskSubprotocol, ", ", kAccessTokenSubprotocolPrefix,
                                         minted->token())}}});
  }
  {  // As another agent: PERMISSION_DENIED, then close 1008.
    auto ws = Desktop({.target = absl::StrCat(kAgentDeskPath, "?access_token=", minted->token())});
    ASSERT_TRUE(ws->upgraded()) << ws->error();
    ws->Send(testing::LoginMessage("w2"));
    std::optional<WsDesktop::Ending> ending = ws->WaitClosed();
    ASSERT_TRUE(ending);
    EXPECT_THAT(ending->status_frame, HasSubstr("\"PERMISSION_DENIED\""));
    EXPECT_THAT(ending->status_frame, HasSubstr("login.agent_id"));
    EXPECT_EQ(ending->close_code, 1008);
    EXPECT_THAT(ending->close_reason, HasSubstr("PERMISSION_DENIED"));
  }
  {  // Expired: minted with this engine's secret, but an hour ago for 10 minutes.
    absl::StatusOr<MintedAgentToken> old =
        AgentTokenSigner(kSecret).Mint("w1", absl::Minutes(10), absl::Now() - absl::Hours(1));
    ASSERT_TRUE(old.ok());
    http::response<http::string_body> ws =
        RawUpgrade({.target = absl::StrCat(kAgentDeskPath, "?access_token=", old->token)});
    EXPECT_EQ(ws.result_int(), 401u);
    EXPECT_THAT(ws.body(), HasSubstr("expired"));
  }
  {  // Forged: signed with another secret.
    absl::StatusOr<MintedAgentToken> forged =
        AgentTokenSigner(std::string(32, 'f')).Mint("w1", absl::Minutes(10), absl::Now());
    ASSERT_TRUE(forged.ok());
    http::response<http::string_body> ws =
        RawUpgrade({.target = absl::StrCat(kAgentDeskPath, "?access_token=", forged->token)});
    EXPECT_EQ(ws.result_int(), 401u);
  }
  {  // No credential at all.
    http::response<http::string_body> ws = RawUpgrade({});
    EXPECT_EQ(ws.result_int(), 401u);
  }
  {  // A page of another origin, even with a good token.
    http::response<http::string_body> ws =
        RawUpgrade({.target = absl::StrCat(kAgentDeskPath, "?access_token=", minted->token()),
                    .headers = {{http::field::origin, "https://evil.example.com"}}});
    EXPECT_EQ(ws.result_int(), 403u);
    EXPECT_THAT(ws.body(), HasSubstr("origin"));
  }
  {  // An admin credential is not an agent's, as on gRPC: 403.
    http::response<http::string_body> ws = RawUpgrade(
        {.headers = {{http::field::authorization, absl::StrCat("Bearer ", kAdminToken)}}});
    EXPECT_EQ(ws.result_int(), 403u);
    EXPECT_THAT(ws.body(), HasSubstr("PERMISSION_DENIED"));
  }
  {  // A gRPC agent credential in the Authorization header works as on gRPC.
    auto ws = LoggedIn(
        "b1",
        {.headers = {{http::field::authorization, absl::StrCat("Bearer ", kGrpcAgentToken)}}});
  }
}

TEST_F(WsAgentDeskTest, TheDeskCasesGiveTheSameAnswerOnGrpcAndWebSocket) {
  Start(/*auth_on=*/false);
  GrpcDesktop grpc_desk(channel_, "");
  grpc_desk.Send(testing::LoginMessage("v1"));
  ASSERT_TRUE(grpc_desk.WaitFor(IsLoginOk));
  auto ws = LoggedIn("v2");
  class GrpcTransport final : public testing::DeskTransport {
   public:
    explicit GrpcTransport(GrpcDesktop& d) : d_(d) {}
    std::string name() const override { return "gRPC"; }
    std::optional<v1::CommandResult> Run(const v1::AgentMessage& m) override {
      return d_.Command(m);
    }

   private:
    GrpcDesktop& d_;
  } over_grpc(grpc_desk);
  class WebSocketTransport final : public testing::DeskTransport {
   public:
    explicit WebSocketTransport(WsDesktop& d) : d_(d) {}
    std::string name() const override { return "WebSocket"; }
    std::optional<v1::CommandResult> Run(const v1::AgentMessage& m) override {
      return d_.Command(m);
    }

   private:
    WsDesktop& d_;
  } over_ws(*ws);
  // Both desktops are logged in; a second login is refused whoever it names.
  for (const testing::DeskCase& c : testing::DeskCases("v1")) {
    for (testing::DeskTransport* transport :
         std::vector<testing::DeskTransport*>{&over_grpc, &over_ws}) {
      std::optional<v1::CommandResult> r = transport->Run(c.message);
      ASSERT_TRUE(r) << c.name << ": no answer on " << transport->name();
      EXPECT_EQ(r->code(), static_cast<int>(c.code))
          << c.name << " on " << transport->name() << ": " << r->message();
      EXPECT_THAT(r->message(), HasSubstr(c.message_substring))
          << c.name << " on " << transport->name();
    }
    // And the very same words.
    std::optional<v1::CommandResult> grpc_answer = over_grpc.Run(c.message);
    std::optional<v1::CommandResult> ws_answer = over_ws.Run(c.message);
    ASSERT_TRUE(grpc_answer && ws_answer) << c.name;
    EXPECT_EQ(ws_answer->message(), grpc_answer->message()) << c.name;
  }
}

TEST_F(WsAgentDeskTest, TheMessageRateIsLimitedAlikeOnGrpcAndWebSocket) {
  EngineOptions options;
  options.agent_stream_messages_per_second = 5;  // a burst of 10
  Start(/*auth_on=*/false, options);
  GrpcDesktop grpc_desk(channel_, "");
  grpc_desk.Send(testing::LoginMessage("r1"));
  ASSERT_TRUE(grpc_desk.WaitFor(IsLoginOk));
  auto ws = LoggedIn("r2");
  for (int transport = 0; transport < 2; ++transport) {
    int limited = 0;
    std::string message;
    for (int i = 0; i < 60; ++i) {
      v1::AgentMessage m;
      m.mutable_set_state()->set_state(v1::AGENT_STATE_AVAILABLE);
      std::optional<v1::CommandResult> r = transport == 0 ? grpc_desk.Command(m) : ws->Command(m);
      ASSERT_TRUE(r) << (transport == 0 ? "gRPC" : "WebSocket") << " #" << i;
      if (r->code() == static_cast<int>(absl::StatusCode::kResourceExhausted)) {
        ++limited;
        message = r->message();
      }
    }
    // 60 in far less than the 8 s after which 10 + 5/s would admit 50.
    EXPECT_GE(limited, 10) << (transport == 0 ? "gRPC" : "WebSocket");
    EXPECT_THAT(message, HasSubstr("messages a second on this stream"));
  }
}

TEST_F(WsAgentDeskTest, BadFramesGetClearErrors) {
  Start(/*auth_on=*/false);
  {  // A command before the login ends the conversation, as on gRPC.
    auto ws = Desktop();
    ASSERT_TRUE(ws->upgraded());
    v1::AgentMessage beat;
    beat.mutable_heartbeat()->set_sequence(1);
    ws->Send(beat);
    std::optional<WsDesktop::Ending> ending = ws->WaitClosed();
    ASSERT_TRUE(ending);
    EXPECT_THAT(ending->status_frame, HasSubstr("FAILED_PRECONDITION"));
    EXPECT_THAT(ending->status_frame, HasSubstr("first message on the stream must be a login"));
    EXPECT_EQ(ending->close_code, 1008);
  }
  auto ws = LoggedIn("w1");
  {  // An unknown field with a request_id: a CommandResult naming the field.
    ws->SendText(R"({"requestId":"77","accept":{"offerId":"o-1-1","bogusField":1}})");
    std::optional<v1::ServerMessage> reply = ws->WaitFor(
        [](const v1::ServerMessage& m) { return m.has_result() && m.result().request_id() == 77; });
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->result().code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(reply->result().message(), HasSubstr("bogusField"));
  }
  {  // A wrong type, request_id as a number: the same.
    ws->SendText(R"({"request_id":78,"heartbeat":{"sequence":"not a number"}})");
    std::optional<v1::ServerMessage> reply = ws->WaitFor(
        [](const v1::ServerMessage& m) { return m.has_result() && m.result().request_id() == 78; });
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->result().code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(reply->result().message(), HasSubstr("json: "));
  }
  {  // Still usable.
    v1::AgentMessage beat;
    beat.mutable_heartbeat()->set_sequence(5);
    ws->Send(beat);
    EXPECT_TRUE(ws->WaitForKind(v1::ServerMessage::kHeartbeat));
  }
  // Not JSON at all: nothing to answer, so the status frame and 1007.
  ws->SendText("{not json");
  std::optional<WsDesktop::Ending> ending = ws->WaitClosed();
  ASSERT_TRUE(ending);
  EXPECT_THAT(ending->status_frame, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(ending->status_frame, HasSubstr("json: "));
  EXPECT_EQ(ending->close_code, 1007);
  {  // A frame over the limit: close 1009.
    auto big = LoggedIn("w2");
    v1::AgentMessage transfer;
    transfer.mutable_transfer()->set_contact_id("c-1");
    transfer.mutable_transfer()->set_to_queue("voice_general");
    transfer.mutable_transfer()->set_note(std::string(70 * 1024, 'n'));
    big->Send(transfer);
    std::optional<WsDesktop::Ending> cut = big->WaitClosed();
    ASSERT_TRUE(cut);
    EXPECT_EQ(cut->close_code, 1009);
  }
  {  // Another path: 404 at the upgrade.
    http::response<http::string_body> other = RawUpgrade({.target = "/v1/elsewhere"});
    EXPECT_EQ(other.result_int(), 404u);
  }
}

TEST_F(WsAgentDeskTest, OverTheDesktopLimitTheUpgradeIsRefusedWith429) {
  WsAgentDeskOptions ws_options;
  ws_options.max_desktops = 1;
  ws_options.metrics = &registry_;
  Start(/*auth_on=*/false, {}, ws_options);
  auto first = LoggedIn("w1");
  EXPECT_EQ(registry_.Gauge(metrics::kWsDesktops).Value(), 1);
  http::response<http::string_body> second = RawUpgrade({});
  EXPECT_EQ(second.result_int(), 429u);
  EXPECT_THAT(second.body(), HasSubstr("max_websocket_desktops"));
  EXPECT_EQ(registry_.Counter(metrics::kWsUpgradesRefused, {"limit"}).Value(), 1);
}

TEST_F(WsAgentDeskTest, ADesktopThatStopsReadingIsCutWithoutStallingAnother) {
  EngineOptions options;
  options.agent_outbox_limit = 8;
  options.agent_stream_messages_per_second = 0;  // unlimited: the flood is the point
  Start(/*auth_on=*/false, options);
  auto healthy = LoggedIn("w1");
  // Logged in while still reading, then it stops: its small receive buffer
  // fills, the server's write stalls, its outbox reaches the bound.
  auto stalled = Desktop({.read = false, .receive_buffer_bytes = 4096});
  ASSERT_TRUE(stalled->upgraded());
  stalled->Send(testing::LoginMessage("w2"));
  for (int i = 0; i < 200000 && ws_desk_->open_desktops() == 2; ++i) {
    v1::AgentMessage beat;
    beat.mutable_heartbeat()->set_sequence(static_cast<uint64_t>(i));
    stalled->Send(beat);
    if (i % 1000 == 999) {
      // Meanwhile the other desktop is answered as usual.
      v1::AgentMessage own;
      own.mutable_heartbeat()->set_sequence(1000000 + static_cast<uint64_t>(i));
      healthy->Send(own);
      const uint64_t want = own.heartbeat().sequence();
      ASSERT_TRUE(healthy->WaitFor([want](const v1::ServerMessage& m) {
        return m.has_heartbeat() && m.heartbeat().sequence() == want;
      })) << "the healthy desktop stalled at heartbeat "
          << i;
    }
  }
  // Generous: the server may still be reading the flood (a loaded machine,
  // a sanitizer build).
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (ws_desk_->open_desktops() != 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(ws_desk_->open_desktops(), 1u) << "the stalled desktop was not cut";
  v1::AgentMessage last;
  last.mutable_heartbeat()->set_sequence(7);
  healthy->Send(last);
  EXPECT_TRUE(healthy->WaitFor([](const v1::ServerMessage& m) {
    return m.has_heartbeat() && m.heartbeat().sequence() == 7;
  }));
}

TEST(WsCloseCodes, EachFinalStatusHasItsCloseCode) {
  EXPECT_EQ(WsCloseCodeFor(absl::StatusCode::kOk), 1000);
  EXPECT_EQ(WsCloseCodeFor(absl::StatusCode::kUnavailable), 1001);
  EXPECT_EQ(WsCloseCodeFor(absl::StatusCode::kInvalidArgument), 1007);
  EXPECT_EQ(WsCloseCodeFor(absl::StatusCode::kPermissionDenied), 1008);
  EXPECT_EQ(WsCloseCodeFor(absl::StatusCode::kFailedPrecondition), 1008);
  EXPECT_EQ(WsCloseCodeFor(absl::StatusCode::kResourceExhausted), 1013);
  EXPECT_EQ(WsCloseCodeFor(absl::StatusCode::kInternal), 1011);
  EXPECT_EQ(WsStatusFrame(absl::UnavailableError("bye \"now\"")),
            R"({"status":{"code":"UNAVAILABLE","message":"bye \"now\""}})");
}

}  // namespace
}  // namespace ccr
