// The HTTP/JSON API on the real daemon: ccrouterd serves /v1/ beside the
// operations paths on its HTTP port, with the gRPC API's engine behind both
// (a contact submitted as JSON is the one gRPC reads back, its event is on the
// SSE feed), and an open event stream does not hold up a drain (SIGTERM):
// the daemon exits 0 in time.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/web/http_test_client.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_fixture.h"

namespace ccr::testing {
namespace {

class HttpJsonApiTest : public DaemonFixture {
 protected:
  int HttpPort() {
    const std::string& address = daemon().http_address();
    int port = 0;
    EXPECT_TRUE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port)) << address;
    return port;
  }
};

TEST_F(HttpJsonApiTest, SubmitAsJsonReadOverGrpcAndOnTheEventFeed) {
  ASSERT_TRUE(StartDaemon());
  std::string body;
  ASSERT_TRUE(
      google::protobuf::util::MessageToJsonString(Contact("", v1::CHANNEL_VOICE), &body).ok());
  HttpAnswer submitted =
      HttpCall(HttpPort(), "POST", "/v1/contacts",
               {{"Content-Type", "application/json"}, {"Idempotency-Key", "json-1"}}, body);
  ASSERT_EQ(submitted.status, 200) << submitted.body;
  v1::SubmitReply reply;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(submitted.body, &reply).ok());

  // The same engine behind gRPC: the gateway finds it by the header's key.
  // (Its channel closes here: an open one holds gRPC's shutdown for its 5 s.)
  {
    Gateway gateway(NewChannel());
    v1::ContactStatus status;
    ASSERT_TRUE(gateway.GetContact("json-1", &status, /*by_key=*/true).ok());
    EXPECT_EQ(status.contact_id(), reply.contact_id());
  }

  // And its event is on the feed, from the start of the window.
  SseClient events(HttpPort(), "/v1/events?after=0");
  ASSERT_EQ(events.head().status, 200) << events.head().body;
  std::optional<SseEvent> first = events.Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->id, "1");
  EXPECT_NE(first->data.find(reply.contact_id()), std::string::npos) << first->data;

  // The operations paths are as they were.
  EXPECT_EQ(HttpCall(HttpPort(), "GET", "/healthz").status, 200);
  EXPECT_EQ(HttpCall(HttpPort(), "POST", "/metrics").status, 405);

  // An open event stream does not hold up the drain.
  Daemon::ExitStatus exit = StopDaemon();
  EXPECT_TRUE(events.ReadToEnd());
  EXPECT_FALSE(exit.timed_out);
  EXPECT_TRUE(exit.exited);
  EXPECT_EQ(exit.exit_code, 0);
}

}  // namespace
}  // namespace ccr::testing
