// AgentDeskServer's hazards, in-process on a real gRPC server with the engine
// running on a thread of its own: desktops that vanish while the strand
// writes to them, a shutdown with streams open and writes pending, refusals,
// and a desktop that never reads. Each call object must be deleted exactly
// when gRPC is done with it (Stop() checks that none outlives the queues;
// the ASan build checks that none is touched after).
#include "engine/grpc/agent_desk_server.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "boost/asio/executor_work_guard.hpp"
#include "codec/config_loader.h"
#include "engine/grpc/services.h"
#include "engine/testing/desk_cases.h"
#include "engine/testing/ingest_cases.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace ccr {
namespace {

constexpr char kAgentToken[] = "agent-token-b1";
constexpr char kGatewayToken[] = "gateway-token";

v1::AgentMessage Heartbeat(uint64_t sequence) {
  v1::AgentMessage m;
  m.set_request_id(sequence);
  m.mutable_heartbeat()->set_sequence(sequence);
  return m;
}

v1::AgentMessage SetState(uint64_t request_id, bool available) {
  v1::AgentMessage m;
  m.set_request_id(request_id);
  if (available) {
    m.mutable_set_state()->set_state(v1::AGENT_STATE_AVAILABLE);
  } else {
    m.mutable_set_state()->set_state(v1::AGENT_STATE_NOT_READY);
    m.mutable_set_state()->set_reason("coffee");
  }
  return m;
}

class AgentDeskServerTest : public ::testing::Test {
 protected:
  // auth_on: agent "b1" holds kAgentToken, a gateway kGatewayToken; else open.
  void Start(EngineOptions engine_options = {}, bool auth_on = false, int queues = 2) {
    engine_ = std::make_unique<Engine>(engine_io_, engine_options);
    ASSERT_TRUE(engine_->Start(Recovered{}, std::string(DefaultConfigYaml())).ok());
    AuthPolicy policy;
    if (auth_on) {
      policy.open = false;
      policy.tokens[Sha256Hex(kAgentToken)] = {Principal{Role::kAgent, "b1"}};
      policy.tokens[Sha256Hex(kGatewayToken)] = {Principal{Role::kGateway, "ivr"}};
    }
    auth_.SetPolicy(std::move(policy));
    engine_thread_ = std::thread([this] { engine_io_.run(); });
    ingest_ = std::make_unique<ContactIngestService>(*engine_, auth_);
    desk_ = std::make_unique<AgentDeskServer>(
        *engine_, auth_,
        AgentDeskServerOptions{.completion_queues = queues, .accepts_per_queue = 2});
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(ingest_.get());
    desk_->AddTo(builder);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    desk_->Start();
    address_ = absl::StrCat("127.0.0.1:", port);
  }

  // The order gRPC asks for: the server, then the queues, then the objects.
  void StopServer() {
    if (server_ == nullptr) return;
    server_->Shutdown(std::chrono::system_clock::now());
    desk_->Stop();  // checks that no call outlived its queue
    server_.reset();
  }

  void TearDown() override {
    StopServer();
    engine_work_.reset();
    engine_io_.stop();
    if (engine_thread_.joinable()) engine_thread_.join();
  }

  std::shared_ptr<grpc::Channel> NewChannel(grpc::ChannelArguments args = {}) {
    return grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args);
  }

  static void WithDeadline(grpc::ClientContext* ctx, int seconds = 10) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  }

  // Whether `predicate` holds within `timeout`.
  template <typename Predicate>
  static bool Eventually(Predicate predicate, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!predicate()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  // Reads until the login's answer: login_ok (true) or the end of the stream.
  template <typename Stream>
  static bool LoggedIn(Stream& stream) {
    v1::ServerMessage msg;
    while (stream.Read(&msg)) {
      if (msg.has_login_ok()) return true;
    }
    return false;
  }

  boost::asio::io_context engine_io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> engine_work_ =
      boost::asio::make_work_guard(engine_io_);
  Authenticator auth_{nullptr};
  std::unique_ptr<Engine> engine_;
  std::thread engine_thread_;
  std::unique_ptr<ContactIngestService> ingest_;
  std::unique_ptr<AgentDeskServer> desk_;
  std::unique_ptr<grpc::Server> server_;  // destroyed before desk_ (its queues)
  std::string address_;
};

// Desktops log in, change state (each answered from the strand) and take
// offers (sent from the strand) while they vanish at random points: before
// the login is answered, while answers are in flight, mid-offer. Every call is
// deleted once its stream is over, and the server goes on serving.
TEST_F(AgentDeskServerTest, DesktopsVanishingWhileTheStrandWritesToThemAreAllReleased) {
  EngineOptions options;
  options.agent_stream_messages_per_second = 100000;
  Start(options);
  constexpr int kThreads = 4;
  constexpr int kDesktopsPerThread = 12;
  std::atomic<bool> submitting{true};
  std::thread gateway([&] {
    auto stub = v1::ContactIngest::NewStub(NewChannel());
    for (int i = 0; submitting.load(); ++i) {
      grpc::ClientContext ctx;
      WithDeadline(&ctx);
      v1::SubmitRequest req;
      *req.mutable_contact() = testing::ValidVoiceContact(absl::StrCat("k", i));
      v1::SubmitReply reply;
      stub->Submit(&ctx, req, &reply);  // refusals are fine: only the offers matter
    }
  });
  std::vector<std::thread> desktops;
  std::atomic<int> logged_in{0};
  for (int t = 0; t < kThreads; ++t) {
    desktops.emplace_back([&, t] {
      std::mt19937 rng(t);
      auto stub = v1::AgentDesk::NewStub(NewChannel());
      for (int d = 0; d < kDesktopsPerThread; ++d) {
        grpc::ClientContext ctx;
        WithDeadline(&ctx);
        auto stream = stub->Connect(&ctx);
        stream->Write(testing::LoginMessage(absl::StrCat("a", t, "-", d % 3)));  // reconnects too
        const int cut_after = static_cast<int>(rng() % 40);
        if (cut_after > 0 && LoggedIn(*stream)) ++logged_in;
        for (int i = 0; i < cut_after; ++i) {
          if (!stream->Write(SetState(i + 1, i % 2 == 1))) break;
        }
        if (rng() % 2 == 0) {
          v1::ServerMessage msg;
          for (int i = 0; i < cut_after && stream->Read(&msg); ++i) {
          }
        }
        ctx.TryCancel();  // vanish with answers and offers still coming
        stream->Finish();
      }
    });
  }
  for (std::thread& t : desktops) t.join();
  submitting = false;
  gateway.join();
  EXPECT_GT(logged_in.load(), 0);
  EXPECT_TRUE(Eventually([&] { return desk_->live_streams() == 0; }, std::chrono::seconds(10)))
      << desk_->live_streams() << " streams still held after every desktop left";

  // Still serving: a new desktop logs in and gets its Resync.
  grpc::ClientContext ctx;
  WithDeadline(&ctx);
  auto stream = v1::AgentDesk::NewStub(NewChannel())->Connect(&ctx);
  ASSERT_TRUE(stream->Write(testing::LoginMessage("after")));
  EXPECT_TRUE(LoggedIn(*stream));
  stream->WritesDone();
  v1::ServerMessage msg;
  while (stream->Read(&msg)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
}

// A shutdown with desktops connected, one of them not reading while its
// answers pile up: Shutdown ends every call, Stop finds none left, and the
// desktops see their streams end.
TEST_F(AgentDeskServerTest, ShutdownWithStreamsOpenAndWritesPendingReleasesEveryCall) {
  EngineOptions options;
  options.agent_stream_messages_per_second = 100000;
  options.agent_outbox_limit = 100000;  // the answers wait in the outbox, not refused
  Start(options, /*auth_on=*/false, /*queues=*/3);
  // A small receive window and no BDP probe: the server's writes stall after
  // about a kilobyte the client does not read.
  grpc::ChannelArguments small_window;
  small_window.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  small_window.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto stub = v1::AgentDesk::NewStub(NewChannel(small_window));
  constexpr int kDesktops = 6;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::ServerMessage>>>
      streams;
  for (int i = 0; i < kDesktops; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    WithDeadline(contexts.back().get(), 30);
    streams.push_back(stub->Connect(contexts.back().get()));
    ASSERT_TRUE(streams.back()->Write(testing::LoginMessage(absl::StrCat("s", i))));
    ASSERT_TRUE(LoggedIn(*streams.back()));
  }
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(streams[0]->Write(Heartbeat(i + 1)));
  ASSERT_EQ(desk_->live_streams(), static_cast<size_t>(kDesktops));

  const auto before = std::chrono::steady_clock::now();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(5));
  // A call may outlive Shutdown (its done tag not yet handled): Stop waits
  // for it before the queues go.
  desk_->Stop();
  EXPECT_EQ(desk_->live_streams(), 0u);
  EXPECT_EQ(desk_->live_calls(), 0u);
  for (auto& stream : streams) {
    v1::ServerMessage msg;
    while (stream->Read(&msg)) {
    }
    const grpc::Status s = stream->Finish();
    EXPECT_FALSE(s.ok());
  }
  server_.reset();
}

// Refused callers get the callback service's statuses, and their calls are
// released like any other.
TEST_F(AgentDeskServerTest, RefusesCallersWithoutTheAgentRole) {
  Start({}, /*auth_on=*/true);
  auto stub = v1::AgentDesk::NewStub(NewChannel());
  const auto refusal = [&](const char* token) {
    grpc::ClientContext ctx;
    WithDeadline(&ctx);
    if (token != nullptr) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    auto stream = stub->Connect(&ctx);
    stream->Write(testing::LoginMessage("b1"));
    v1::ServerMessage msg;
    EXPECT_FALSE(stream->Read(&msg)) << msg.DebugString();
    return stream->Finish();
  };
  grpc::Status none = refusal(nullptr);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED) << none.error_message();
  grpc::Status unknown = refusal("not-a-token");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED) << unknown.error_message();
  grpc::Status gateway = refusal(kGatewayToken);
  EXPECT_EQ(gateway.error_code(), grpc::StatusCode::PERMISSION_DENIED) << gateway.error_message();
  EXPECT_NE(gateway.error_message().find("AgentDesk.Connect"), std::string::npos)
      << gateway.error_message();

  // The agent's own credential is let in, but only as itself.
  grpc::ClientContext ctx;
  WithDeadline(&ctx);
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kAgentToken));
  auto stream = stub->Connect(&ctx);
  ASSERT_TRUE(stream->Write(testing::LoginMessage("someone-else")));
  EXPECT_FALSE(LoggedIn(*stream));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Eventually([&] { return desk_->live_streams() == 0; }, std::chrono::seconds(5)));
}

// A desktop that never reads: its outbox reaches the bound and the server
// cancels the stream (the stuck write never completes otherwise) instead of
// letting it grow. The client sees the cancellation (a status sent after the
// data it does not read could never reach it), long before its deadline.
TEST_F(AgentDeskServerTest, ADesktopThatNeverReadsIsCutAtTheOutboxBound) {
  EngineOptions options;
  options.agent_stream_messages_per_second = 100000;
  options.agent_outbox_limit = 8;
  Start(options);
  grpc::ChannelArguments small_window;
  small_window.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  small_window.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto stub = v1::AgentDesk::NewStub(NewChannel(small_window));
  grpc::ClientContext ctx;
  WithDeadline(&ctx, 30);
  auto stream = stub->Connect(&ctx);
  ASSERT_TRUE(stream->Write(testing::LoginMessage("slow")));
  ASSERT_TRUE(LoggedIn(*stream));
  constexpr int kHeartbeats = 2000;
  int written = 0;
  while (written < kHeartbeats && stream->Write(Heartbeat(written + 1))) ++written;
  EXPECT_TRUE(Eventually([&] { return desk_->live_streams() == 0; }, std::chrono::seconds(10)))
      << "the stream was not cut";
  int read = 0;
  v1::ServerMessage msg;
  while (stream->Read(&msg)) ++read;
  EXPECT_LT(read, kHeartbeats);  // the answers beyond the bound were never sent
  const grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED) << s.error_message();
}

}  // namespace
}  // namespace ccr
