// The browser agent desktop against the real ccrouterd: auth on, a token
// minted by Admin.MintAgentToken, the WebSocket on the HTTP port, a drain
// (SIGTERM) ending the desktop with UNAVAILABLE, and, with the secret in a
// file, the same token logging in again after the restart.
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/websocket.hpp"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_fixture.h"

namespace ccr::testing {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using ::testing::HasSubstr;

constexpr char kAdminToken[] = "ws-test-admin-token";
// printf %s ws-test-admin-token | sha256sum
constexpr char kAdminTokenSha256[] =
    "802a9d0433d5d05eb50207328b2a4e72e431d3a6e684a5f1bc0f2b3e911640dd";

// A browser desktop, synchronous: every read gives up after 5 s.
class BrowserDesktop {
 public:
  // Upgrades at /v1/agent-desk with the token in the subprotocol, from `origin`.
  BrowserDesktop(const std::string& http_address, const std::string& token,
                 const std::string& origin) {
    const size_t colon = http_address.rfind(':');
    int port = 0;
    EXPECT_TRUE(absl::SimpleAtoi(http_address.substr(colon + 1), &port)) << http_address;
    beast::error_code ec;
    ws_.next_layer().connect(
        tcp::endpoint(boost::asio::ip::make_address(http_address.substr(0, colon)),
                      static_cast<uint16_t>(port)),
        ec);
    if (ec) {
      ADD_FAILURE() << "connect " << http_address << ": " << ec.message();
      return;
    }
    timeval tv{5, 0};
    ::setsockopt(ws_.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ws_.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
      req.set(http::field::origin, origin);
      req.set(http::field::sec_websocket_protocol,
              absl::StrCat("ccrouter.agent-desk.v1, access-token.", token));
    }));
    websocket::response_type response;
    ws_.handshake(response, http_address, "/v1/agent-desk", ec);
    if (ec) {
      ADD_FAILURE() << "upgrade refused: " << ec.message();
      return;
    }
    EXPECT_EQ(response[http::field::sec_websocket_protocol], "ccrouter.agent-desk.v1");
    open_ = true;
  }

  bool open() const { return open_; }

  void Send(v1::AgentMessage message) {
    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(message, &json).ok());
    ws_.text(true);
    beast::error_code ec;
    ws_.write(boost::asio::buffer(json), ec);
    EXPECT_FALSE(ec) << ec.message();
  }

  // The next frame; nullopt once the connection ended (status_frame_ and
  // close_code_ then say how) or nothing came within 5 s.
  std::optional<std::string> Next() {
    beast::flat_buffer buffer;
    beast::error_code ec;
    ws_.read(buffer, ec);
    if (ec) {
      close_code_ = ws_.reason().code;
      return std::nullopt;
    }
    std::string text = beast::buffers_to_string(buffer.data());
    if (text.rfind("{\"status\"", 0) == 0) status_frame_ = text;
    return text;
  }
  // The first ServerMessage `pred` accepts, skipping others.
  template <typename Pred>
  std::optional<v1::ServerMessage> WaitFor(Pred pred) {
    for (int frames = 0; frames < 100; ++frames) {
      std::optional<std::string> text = Next();
      if (!text) return std::nullopt;
      v1::ServerMessage m;
      if (google::protobuf::util::JsonStringToMessage(*text, &m).ok() && pred(m)) return m;
    }
    return std::nullopt;
  }
  // Reads until the server closes; then its status frame and close code.
  void ReadToEnd() {
    for (int frames = 0; frames < 100 && Next(); ++frames) {
    }
  }
  const std::string& status_frame() const { return status_frame_; }
  int close_code() const { return close_code_; }

 private:
  boost::asio::io_context io_;
  websocket::stream<tcp::socket> ws_{io_};
  bool open_ = false;
  std::string status_frame_;
  int close_code_ = 0;
};

class WsAgentDeskDaemonTest : public DaemonFixture {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("ccr-ws-test-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "tokens.txt") << "admin crm " << kAdminTokenSha256 << "\n";
    std::ofstream(dir_ / "agent-token.secret") << std::string(40, 'z');
  }
  void TearDown() override {
    DaemonFixture::TearDown();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string Yaml() const {
    return absl::StrCat(TestConfigYaml(), "auth: {token_file: '", (dir_ / "tokens.txt").string(),
                        "'}\nhttp: {allowed_origins: ['https://desk.example.com'], "
                        "agent_token_secret_file: '",
                        (dir_ / "agent-token.secret").string(), "'}\n");
  }
  grpc::ClientContext* AsAdmin(grpc::ClientContext* ctx) {
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", kAdminToken));
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return ctx;
  }

  std::filesystem::path dir_;
};

TEST_F(WsAgentDeskDaemonTest, AMintedTokenOpensTheDesktopAndOutlivesARestartWithItsSecretFile) {
  ASSERT_TRUE(StartDaemonWithYaml(Yaml()));
  auto admin = v1::Admin::NewStub(NewChannel());
  v1::MintAgentTokenRequest mint;
  mint.set_agent_id("web-1");
  mint.set_ttl_seconds(600);
  v1::MintAgentTokenReply minted;
  grpc::ClientContext mint_ctx;
  grpc::Status s = admin->MintAgentToken(AsAdmin(&mint_ctx), mint, &minted);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_FALSE(minted.token().empty());

  std::string contact_id;
  {
    BrowserDesktop desk(daemon().http_address(), minted.token(), "https://desk.example.com");
    ASSERT_TRUE(desk.open());
    v1::AgentMessage login;
    *login.mutable_login() = AgentLogin("web-1", v1::CHANNEL_VOICE);
    desk.Send(login);
    ASSERT_TRUE(desk.WaitFor([](const v1::ServerMessage& m) { return m.has_login_ok(); }));
    auto ingest = v1::ContactIngest::NewStub(NewChannel());
    v1::SubmitRequest submit;
    *submit.mutable_contact() = Contact("ws-1", v1::CHANNEL_VOICE);
    v1::SubmitReply submitted;
    grpc::ClientContext submit_ctx;
    s = ingest->Submit(AsAdmin(&submit_ctx), submit, &submitted);
    ASSERT_TRUE(s.ok()) << s.error_message();
    contact_id = submitted.contact_id();
    std::optional<v1::ServerMessage> offer =
        desk.WaitFor([](const v1::ServerMessage& m) { return m.has_offer(); });
    ASSERT_TRUE(offer) << "no offer over the WebSocket";
    EXPECT_EQ(offer->offer().contact_id(), contact_id);
    v1::AgentMessage accept;
    accept.set_request_id(1);
    accept.mutable_accept()->set_offer_id(offer->offer().offer_id());
    desk.Send(accept);
    std::optional<v1::ServerMessage> result = desk.WaitFor(
        [](const v1::ServerMessage& m) { return m.has_result() && m.result().request_id() == 1; });
    ASSERT_TRUE(result);
    EXPECT_EQ(result->result().code(), 0) << result->result().message();

    // A planned restart ends the desktop with UNAVAILABLE, close 1001.
    ASSERT_TRUE(DrainAndRestartDaemon());
    desk.ReadToEnd();
    EXPECT_THAT(desk.status_frame(), HasSubstr("UNAVAILABLE"));
    EXPECT_EQ(desk.close_code(), 1001);
  }
  // The same token, signed with the secret in the file, is good after the
  // restart; the agent kept its contact.
  BrowserDesktop again(daemon().http_address(), minted.token(), "https://desk.example.com");
  ASSERT_TRUE(again.open());
  v1::AgentMessage login;
  *login.mutable_login() = AgentLogin("web-1", v1::CHANNEL_VOICE);
  again.Send(login);
  ASSERT_TRUE(again.WaitFor([](const v1::ServerMessage& m) { return m.has_login_ok(); }));
  std::optional<v1::ServerMessage> resync =
      again.WaitFor([](const v1::ServerMessage& m) { return m.has_resync(); });
  ASSERT_TRUE(resync);
  ASSERT_EQ(resync->resync().contacts_size(), 1) << resync->ShortDebugString();
  EXPECT_EQ(resync->resync().contacts(0).contact_id(), contact_id);
}

// ccload's WebSocket desktops (--desk-transport websocket, the benchmark's
// browser stand-ins) log in, take offers and log out cleanly.
TEST_F(DaemonFixture, CcloadDesktopsWorkOverTheWebSocket) {
  ASSERT_TRUE(StartDaemon());
  const std::string& grpc = daemon().grpc_address();
  const std::string& http = daemon().http_address();
  const std::string command =
      absl::StrCat(CCLOAD_PATH, " --server ", grpc, " --http-server ", http,
                   " --desk-transport websocket --agents 6 --rate 10 --duration 3 --seed 7 "
                   "--json 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  // The last line is the final summary.
  const size_t final_at = output.rfind("{\"elapsed_seconds\"");
  ASSERT_NE(final_at, std::string::npos) << output;
  const std::string summary = output.substr(final_at);
  EXPECT_THAT(summary, HasSubstr("\"final\":true"));
  EXPECT_THAT(summary, HasSubstr("\"agents_logged_in\":6")) << summary;
  EXPECT_THAT(summary, HasSubstr("\"errors_total\":0")) << summary;
  EXPECT_THAT(summary, ::testing::Not(HasSubstr("\"offers\":0,"))) << summary;
  // Each desktop said goodbye (a close frame): its agent is logged out at
  // once, with no dropped stream (which would get the grace, logged warn).
  Operator op(NewChannel());
  v1::ListAgentsReply agents;
  ASSERT_TRUE(op.ListAgents(&agents).ok());
  for (const v1::AgentSnapshot& a : agents.agents()) {
    EXPECT_EQ(a.state(), v1::AGENT_STATE_OFFLINE) << a.agent_id();
  }
  EXPECT_THAT(daemon().StderrText(), ::testing::Not(HasSubstr("agent_stream_lost")));
}

}  // namespace
}  // namespace ccr::testing
