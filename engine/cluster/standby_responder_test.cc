#include "engine/cluster/standby_responder.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ccrouter/v1/admin.grpc.pb.h"
#include "ccrouter/v1/agent_desk.grpc.pb.h"

namespace ccr::cluster {
namespace {

namespace v1 = ::ccrouter::v1;

std::string OwnerIn(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  const auto it = trailers.find(kOwnerMetadataKey);
  return it == trailers.end() ? "" : std::string(it->second.data(), it->second.size());
}

class StandbyResponderTest : public ::testing::Test {
 protected:
  StandbyResponderTest() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterCallbackGenericService(&standby_);
    server_ = builder.BuildAndStart();
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                   grpc::InsecureChannelCredentials());
  }
  ~StandbyResponderTest() override { server_->Shutdown(); }

  StandbyResponder standby_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(StandbyResponderTest, AUnaryCallIsRedirectedToTheOwner) {
  standby_.SetOwner({"127.0.0.9:7100", ""});
  auto admin = v1::Admin::NewStub(channel_);
  grpc::ClientContext context;
  v1::ListQueuesReply reply;
  const grpc::Status status = admin->ListQueues(&context, v1::ListQueuesRequest(), &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "standby: the owner is at 127.0.0.9:7100");
  EXPECT_EQ(OwnerIn(context), "127.0.0.9:7100");
  EXPECT_EQ(standby_.calls_answered(), 1u);
}

TEST_F(StandbyResponderTest, ADesktopStreamIsEndedWithTheOwnerAndNothingIsRead) {
  standby_.SetOwner({"127.0.0.9:7100", ""});
  auto desk = v1::AgentDesk::NewStub(channel_);
  grpc::ClientContext context;
  auto stream = desk->Connect(&context);
  v1::AgentMessage login;
  login.mutable_login()->set_agent_id("a-1");
  stream->Write(login);  // may or may not be taken: the call is already over
  v1::ServerMessage message;
  EXPECT_FALSE(stream->Read(&message));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(OwnerIn(context), "127.0.0.9:7100");
}

TEST_F(StandbyResponderTest, WithNoOwnerKnownTheAnswerSaysSoAndNamesNoAddress) {
  auto admin = v1::Admin::NewStub(channel_);
  grpc::ClientContext context;
  v1::ListQueuesReply reply;
  const grpc::Status status = admin->ListQueues(&context, v1::ListQueuesRequest(), &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "standby: no owner elected yet; retry shortly");
  EXPECT_EQ(OwnerIn(context), "");
}

}  // namespace
}  // namespace ccr::cluster
