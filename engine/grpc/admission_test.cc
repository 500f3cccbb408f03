// Admission at the strand's backlog bound: every client call that would enter
// the strand is refused with RESOURCE_EXHAUSTED and a retry hint once the
// backlog is at its bound, and agent desktops keep a reserve above it.
//
// The services run in-process on a real gRPC server; the engine's io_context
// is not run by a thread, so the strand's backlog is whatever the test posted
// and the test decides when the strand works (io_.poll()).
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

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

constexpr size_t kMaxBacklog = 4;
constexpr size_t kAgentReserve = 2;

class AdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions options;
    options.max_backlog = kMaxBacklog;
    options.agent_backlog_reserve = kAgentReserve;
    engine_ = std::make_unique<Engine>(io_, options);
    ASSERT_TRUE(engine_->Start(Recovered{}, std::string(DefaultConfigYaml())).ok());
    auth_.SetPolicy(AuthPolicy{});  // open: every caller is admin
    ingest_ = std::make_unique<ContactIngestService>(*engine_, auth_);
    desk_ = std::make_unique<AgentDeskServer>(*engine_, auth_);
    admin_ = std::make_unique<AdminService>(*engine_, auth_);
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
    ingest_stub_ = v1::ContactIngest::NewStub(channel_);
    admin_stub_ = v1::Admin::NewStub(channel_);
    desk_stub_ = v1::AgentDesk::NewStub(channel_);
  }

  void TearDown() override {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now());
      desk_->Stop();  // after the server's Shutdown, before the server is destroyed
    }
  }

  // Posts engine-internal work (never refused) until the backlog is `n`.
  void FillBacklogTo(size_t n) {
    while (engine_->backlog() < n) engine_->Post([](Engine&) {});
  }

  // Reads the desktop's next message while running the strand by hand (the
  // test owns it, so it can fill the backlog). The client's message reaches
  // the server's reactor, and so the strand, some time after Write returns, so
  // the strand runs until the reply has come. False: none within the stream's
  // deadline.
  template <typename Stream>
  bool ReadRunningStrand(Stream& stream, v1::ServerMessage* msg) {
    std::atomic<bool> done{false};
    bool ok = false;
    std::thread reader([&] {
      ok = stream.Read(msg);
      done = true;
    });
    while (!done) {
      io_.restart();  // out of work, an io_context stays stopped until restarted
      io_.poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    reader.join();
    return ok;
  }

  static void WithDeadline(grpc::ClientContext* ctx) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  static void ExpectOverloaded(const grpc::Status& status, const grpc::ClientContext& ctx,
                               const std::string& call) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << call << ": " << status.error_message();
    const auto& trailers = ctx.GetServerTrailingMetadata();
    auto it = trailers.find("retry-after-ms");
    ASSERT_NE(it, trailers.end()) << call << ": no retry-after-ms hint";
    EXPECT_EQ(std::string(it->second.data(), it->second.size()), "100") << call;
  }

  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  Authenticator auth_{nullptr};
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<ContactIngestService> ingest_;
  std::unique_ptr<AgentDeskServer> desk_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ContactIngest::Stub> ingest_stub_;
  std::unique_ptr<v1::Admin::Stub> admin_stub_;
  std::unique_ptr<v1::AgentDesk::Stub> desk_stub_;
};

TEST_F(AdmissionTest, EveryClientCallIsRefusedAtTheBoundWithARetryHint) {
  FillBacklogTo(kMaxBacklog);
  {
    grpc::ClientContext ctx;
    WithDeadline(&ctx);
    v1::UpdateRequest req;
    req.set_contact_id("c-1");
    v1::UpdateReply reply;
    ExpectOverloaded(ingest_stub_->Update(&ctx, req, &reply), ctx, "Update");
  }
  {
    grpc::ClientContext ctx;
    WithDeadline(&ctx);
    v1::CancelRequest req;
    req.set_contact_id("c-1");
    v1::CancelReply reply;
    ExpectOverloaded(ingest_stub_->Cancel(&ctx, req, &reply), ctx, "Cancel");
  }
  {
    grpc::ClientContext ctx;
    WithDeadline(&ctx);
    v1::ReloadConfigRequest req;
    v1::ReloadConfigReply reply;
    ExpectOverloaded(admin_stub_->ReloadConfig(&ctx, req, &reply), ctx, "ReloadConfig");
  }
  {
    grpc::ClientContext ctx;
    WithDeadline(&ctx);
    v1::ListQueuesReply reply;
    ExpectOverloaded(admin_stub_->ListQueues(&ctx, v1::ListQueuesRequest(), &reply), ctx,
                     "ListQueues");
  }
  {
    grpc::ClientContext ctx;
    WithDeadline(&ctx);
    v1::SetAgentStateRequest req;
    req.set_agent_id("a1");
    req.set_state(v1::AGENT_STATE_AVAILABLE);
    v1::SetAgentStateReply reply;
    ExpectOverloaded(admin_stub_->SetAgentState(&ctx, req, &reply), ctx, "SetAgentState");
  }
  {
    grpc::ClientContext ctx;
    WithDeadline(&ctx);
    std::unique_ptr<grpc::ClientReader<v1::LifecycleEvent>> watch =
        admin_stub_->WatchEvents(&ctx, v1::WatchEventsRequest());
    v1::LifecycleEvent event;
    EXPECT_FALSE(watch->Read(&event));
    ExpectOverloaded(watch->Finish(), ctx, "WatchEvents");
  }
  // Nothing refused reached the strand.
  EXPECT_EQ(engine_->backlog(), kMaxBacklog);
}

TEST_F(AdmissionTest, AgentIsServedWhileSubmitsAreRefusedUntilItsReserveIsSpent) {
  grpc::ClientContext stream_ctx;
  WithDeadline(&stream_ctx);
  auto stream = desk_stub_->Connect(&stream_ctx);
  v1::AgentMessage login;
  *login.mutable_login() = testing::VoiceLogin("a1");
  ASSERT_TRUE(stream->Write(login));
  v1::ServerMessage msg;
  ASSERT_TRUE(ReadRunningStrand(*stream, &msg));
  ASSERT_TRUE(msg.has_login_ok()) << msg.DebugString();
  ASSERT_TRUE(ReadRunningStrand(*stream, &msg));
  ASSERT_TRUE(msg.has_resync()) << msg.DebugString();  // right after login_ok, always

  FillBacklogTo(kMaxBacklog);
  {
    grpc::ClientContext ctx;
    WithDeadline(&ctx);
    v1::SubmitRequest req;
    *req.mutable_contact() = testing::ValidVoiceContact("k1");
    v1::SubmitReply reply;
    ExpectOverloaded(ingest_stub_->Submit(&ctx, req, &reply), ctx, "Submit");
  }
  // Inside the desktops' reserve: admitted and answered once the strand runs.
  v1::AgentMessage not_ready;
  not_ready.set_request_id(1);
  not_ready.mutable_set_state()->set_state(v1::AGENT_STATE_NOT_READY);
  not_ready.mutable_set_state()->set_reason("lunch");
  ASSERT_TRUE(stream->Write(not_ready));
  ASSERT_TRUE(ReadRunningStrand(*stream, &msg));
  while (msg.has_state_changed()) ASSERT_TRUE(ReadRunningStrand(*stream, &msg));
  ASSERT_TRUE(msg.has_result()) << msg.DebugString();
  EXPECT_EQ(msg.result().request_id(), 1u);
  EXPECT_EQ(msg.result().code(), 0) << msg.result().message();

  // Past the reserve the desktop is refused too, at once, with the hint.
  FillBacklogTo(kMaxBacklog + kAgentReserve);
  v1::AgentMessage available;
  available.set_request_id(2);
  available.mutable_set_state()->set_state(v1::AGENT_STATE_AVAILABLE);
  ASSERT_TRUE(stream->Write(available));
  ASSERT_TRUE(stream->Read(&msg));
  while (msg.has_state_changed()) ASSERT_TRUE(stream->Read(&msg));
  ASSERT_TRUE(msg.has_result()) << msg.DebugString();
  EXPECT_EQ(msg.result().request_id(), 2u);
  EXPECT_EQ(msg.result().code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(msg.result().message().find("retry after 100 ms"), std::string::npos)
      << msg.result().message();
  EXPECT_EQ(engine_->backlog(), kMaxBacklog + kAgentReserve);
  stream_ctx.TryCancel();
}

}  // namespace
}  // namespace ccr
