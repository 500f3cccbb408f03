// The HTTP/JSON API against the gRPC one on one in-process engine: the
// shared table of ContactIngest cases (engine/testing/ingest_cases.h) through
// both transports, with the same codes and messages; the HTTP-only parts
// (Idempotency-Key, statuses, the admin reads); and the event feed over
// Server-Sent Events (resume, 410, a reader that stops reading).
#include "engine/web/http_api.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "boost/asio/executor_work_guard.hpp"
#include "codec/config_loader.h"
#include "codec/wire.h"
#include "engine/grpc/services.h"
#include "engine/testing/ingest_cases.h"
#include "engine/web/http_status.h"
#include "engine/web/http_test_client.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace ccr {
namespace {

using ::ccr::testing::HttpAnswer;
using ::ccr::testing::HttpCall;
using ::ccr::testing::IngestCall;
using ::ccr::testing::IngestCase;
using ::ccr::testing::IngestOutcome;
using ::ccr::testing::IngestTransport;
using ::ccr::testing::SseClient;
using ::ccr::testing::SseEvent;
using ::testing::HasSubstr;

constexpr size_t kMaxBacklog = 4;

std::string ToJson(const google::protobuf::Message& m) {
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(m, &json).ok());
  return json;
}

// The engine's strand on a thread of its own, the gRPC services and the HTTP
// API on one engine. Auth is on: a gateway, an agent and a supervisor token.
class WebApiTest : public ::testing::Test {
 protected:
  void Start(EngineOptions options = {}) {
    options.max_backlog = kMaxBacklog;
    engine_ = std::make_unique<Engine>(io_, options);
    ASSERT_TRUE(engine_->Start(Recovered{}, std::string(DefaultConfigYaml())).ok());
    AuthPolicy policy;
    policy.open = false;
    policy.tokens[Sha256Hex("gateway-token")] = {Principal{Role::kGateway, "gw"}};
    policy.tokens[Sha256Hex("agent-token")] = {Principal{Role::kAgent, "a1"}};
    policy.tokens[Sha256Hex("supervisor-token")] = {Principal{Role::kSupervisor, "sup"}};
    auth_.SetPolicy(std::move(policy));
    strand_ = std::thread([this] { io_.run(); });

    ingest_ = std::make_unique<ContactIngestService>(*engine_, auth_);
    grpc::ServerBuilder builder;
    int grpc_port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &grpc_port);
    builder.RegisterService(ingest_.get());
    admin_ = std::make_unique<AdminService>(*engine_, auth_);
    builder.RegisterService(admin_.get());
    grpc_server_ = builder.BuildAndStart();
    ASSERT_NE(grpc_server_, nullptr);
    std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", grpc_port), grpc::InsecureChannelCredentials());
    ingest_stub_ = v1::ContactIngest::NewStub(channel);
    admin_stub_ = v1::Admin::NewStub(channel);

    HttpApiOptions api_options;
    api_options.events_heartbeat = absl::Milliseconds(200);
    api_ = std::make_unique<HttpApi>(*engine_, auth_, http_io_, api_options);
    HttpServerOptions http_options;
    http_options.allowed_methods = HttpApiMethods();
    http_options.max_body_bytes = InputLimits::kMaxMessageBytes;
    http_options.request_timeout = absl::Seconds(2);
    absl::StatusOr<std::unique_ptr<HttpServer>> http = HttpServer::Start(
        http_io_, "127.0.0.1", 0,
        [this](const HttpRequest& request, HttpRespond respond) {
          if (!api_->Handle(request, respond)) respond({404, "text/plain", "not the API\n"});
        },
        http_options);
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
    http_thread_ = std::thread([this] { http_io_.run(); });
  }

  void TearDown() override {
    if (http_) http_->Stop();
    http_work_.reset();
    http_io_.stop();
    if (http_thread_.joinable()) http_thread_.join();
    if (grpc_server_) grpc_server_->Shutdown(std::chrono::system_clock::now());
    work_.reset();
    io_.stop();
    if (strand_.joinable()) strand_.join();
  }

  // Holds the strand in a task and fills its backlog to the bound, so client
  // work is refused, until Release().
  void HoldStrandAtBound() {
    absl::Notification started;
    release_ = std::make_shared<absl::Notification>();
    engine_->Post([&started, release = release_](Engine&) {
      started.Notify();
      release->WaitForNotification();
    });
    started.WaitForNotification();
    while (engine_->backlog() < kMaxBacklog) engine_->Post([](Engine&) {});
  }
  void Release() {
    release_->Notify();
    while (engine_->backlog() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  // Submits through gRPC as the gateway; the new contact's id.
  std::string SubmitGrpc(const std::string& key) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", ::ccr::testing::kGatewayCredential);
    v1::SubmitRequest req;
    *req.mutable_contact() = ::ccr::testing::ValidVoiceContact(key);
    v1::SubmitReply reply;
    grpc::Status s = ingest_stub_->Submit(&ctx, req, &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return reply.contact_id();
  }

  // Runs `fn` on the strand and waits for it.
  template <typename T>
  T OnStrand(std::function<T(Engine&)> fn) {
    absl::Notification done;
    T result{};
    engine_->Post([&](Engine& e) {
      result = fn(e);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }
  uint64_t LastSequence() {
    return OnStrand<uint64_t>([](Engine& e) { return e.last_sequence(); });
  }

  HttpAnswer Call(const std::string& method, const std::string& target,
                  const std::string& credential, const std::string& body = "",
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
    if (!credential.empty()) headers.emplace_back("Authorization", credential);
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    return HttpCall(http_->port(), method, target, headers, body);
  }

  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  boost::asio::io_context http_io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> http_work_ =
      boost::asio::make_work_guard(http_io_);
  Authenticator auth_{nullptr};
  std::unique_ptr<Engine> engine_;
  std::thread strand_;
  std::unique_ptr<ContactIngestService> ingest_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<v1::ContactIngest::Stub> ingest_stub_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<v1::Admin::Stub> admin_stub_;
  std::unique_ptr<HttpApi> api_;
  std::unique_ptr<HttpServer> http_;
  std::thread http_thread_;
  std::shared_ptr<absl::Notification> release_;  // ends the current hold
};

class GrpcIngestTransport final : public IngestTransport {
 public:
  explicit GrpcIngestTransport(v1::ContactIngest::Stub& stub) : stub_(stub) {}
  std::string name() const override { return "grpc"; }
  IngestOutcome Run(const IngestCase& c) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!c.authorization.empty()) ctx.AddMetadata("authorization", c.authorization);
    grpc::Status status;
    switch (c.call) {
      case IngestCall::kSubmit: {
        v1::SubmitReply reply;
        status = stub_.Submit(&ctx, c.submit, &reply);
        break;
      }
      case IngestCall::kUpdate: {
        v1::UpdateReply reply;
        status = stub_.Update(&ctx, c.update, &reply);
        break;
      }
      case IngestCall::kCancel: {
        v1::CancelReply reply;
        status = stub_.Cancel(&ctx, c.cancel, &reply);
        break;
      }
      case IngestCall::kGetContact: {
        v1::ContactStatus reply;
        status = stub_.GetContact(&ctx, c.get, &reply);
        break;
      }
    }
    IngestOutcome out;
    out.code = static_cast<absl::StatusCode>(status.error_code());
    out.message = status.error_message();
    const auto& trailers = ctx.GetServerTrailingMetadata();
    if (auto it = trailers.find("retry-after-ms"); it != trailers.end()) {
      int ms = 0;
      if (absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &ms)) {
        out.retry_after_ms = ms;
      }
    }
    return out;
  }

 private:
  v1::ContactIngest::Stub& stub_;
};

class HttpIngestTransport final : public IngestTransport {
 public:
  explicit HttpIngestTransport(int port) : port_(port) {}
  std::string name() const override { return "http"; }
  IngestOutcome Run(const IngestCase& c) override {
    std::string method = "POST", target, body;
    switch (c.call) {
      case IngestCall::kSubmit:
        target = "/v1/contacts";
        body = ToJson(c.submit.contact());
        break;
      case IngestCall::kUpdate:
        target = absl::StrCat("/v1/contacts/", c.update.contact_id(), ":update");
        body = ToJson(c.update);
        break;
      case IngestCall::kCancel:
        target = absl::StrCat("/v1/contacts/", c.cancel.contact_id(), ":cancel");
        body = ToJson(c.cancel);
        break;
      case IngestCall::kGetContact:
        method = "GET";
        target = c.get.contact().contact_id().empty()
                     ? "/v1/contacts?idempotency_key=" + c.get.contact().idempotency_key()
                     : "/v1/contacts/" + c.get.contact().contact_id();
        break;
    }
    std::vector<std::pair<std::string, std::string>> headers;
    if (!c.authorization.empty()) headers.emplace_back("Authorization", c.authorization);
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    HttpAnswer answer = HttpCall(port_, method, target, headers, body);
    IngestOutcome out;
    if (answer.status == 200) {
      out.code = absl::StatusCode::kOk;
      return out;
    }
    // {"error":{"code":"NAME","message":"..."}}
    google::protobuf::Struct error;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(answer.body, &error).ok())
        << answer.status << " " << answer.body;
    const auto& fields = error.fields().at("error").struct_value().fields();
    const std::string code_name = fields.at("code").string_value();
    out.message = fields.at("message").string_value();
    for (int code = 0; code <= 16; ++code) {
      if (absl::StatusCodeToString(static_cast<absl::StatusCode>(code)) == code_name) {
        out.code = static_cast<absl::StatusCode>(code);
      }
    }
    EXPECT_EQ(answer.status, HttpStatusFor(out.code)) << c.name << ": " << code_name;
    int seconds = 0;
    if (absl::SimpleAtoi(answer.header("retry-after"), &seconds)) {
      out.retry_after_ms = seconds * 1000;
    }
    return out;
  }

 private:
  int port_;
};

TEST(HttpRouteLabelTest, PathsWithIdsShareOnePatternAndUnknownPathsOneLabel) {
  EXPECT_EQ(HttpRouteLabel("/v1/contacts"), "/v1/contacts");
  EXPECT_EQ(HttpRouteLabel("/v1/contacts/c-42"), "/v1/contacts/{id}");
  EXPECT_EQ(HttpRouteLabel("/v1/contacts/c-42:cancel"), "/v1/contacts/{id}");
  EXPECT_EQ(HttpRouteLabel("/v1/events"), "/v1/events");
  EXPECT_EQ(HttpRouteLabel("/v1/agent-desk"), "/v1/agent-desk");
  EXPECT_EQ(HttpRouteLabel("/v1/customer-555-0100"), "/v1/other");
  EXPECT_EQ(HttpRouteLabel("/web/wallboard.js"), "/web/{file}");
  EXPECT_EQ(HttpRouteLabel("/wallboard"), "/wallboard");
  EXPECT_EQ(HttpRouteLabel("/metrics"), "/metrics");
  EXPECT_EQ(HttpRouteLabel("/anything/else"), "other");
}

TEST_F(WebApiTest, IngestCasesGiveTheSameCodeAndMessageOverGrpcAndHttp) {
  Start();
  const std::string live = SubmitGrpc("live");
  ASSERT_FALSE(live.empty());
  GrpcIngestTransport grpc_transport(*ingest_stub_);
  HttpIngestTransport http_transport(http_->port());
  for (const IngestCase& c : ::ccr::testing::IngestCases(live)) {
    std::vector<IngestOutcome> outcomes;
    for (IngestTransport* t : std::vector<IngestTransport*>{&grpc_transport, &http_transport}) {
      if (c.overloaded) HoldStrandAtBound();
      IngestOutcome out = t->Run(c);
      if (c.overloaded) Release();
      EXPECT_EQ(out.code, c.code) << t->name() << " " << c.name << ": " << out.message;
      EXPECT_THAT(out.message, HasSubstr(c.message_substring)) << t->name() << " " << c.name;
      if (c.code == absl::StatusCode::kResourceExhausted) {
        ASSERT_TRUE(out.retry_after_ms.has_value()) << t->name() << " " << c.name;
        EXPECT_GE(*out.retry_after_ms, kRetryAfterMs) << t->name() << " " << c.name;
      }
      outcomes.push_back(out);
    }
    // One model: the transports differ in form only.
    EXPECT_EQ(outcomes[0].message, outcomes[1].message) << c.name;
  }
  // Nothing a refused case sent changed the engine: the live contact is
  // still the only one, still queued.
  HttpAnswer live_status = Call("GET", "/v1/contacts/" + live, ::ccr::testing::kGatewayCredential);
  EXPECT_EQ(live_status.status, 200);
  EXPECT_THAT(live_status.body, HasSubstr("CONTACT_STATE_QUEUED"));
}

TEST_F(WebApiTest, SubmitOverHttpThenGetUpdateCancel) {
  Start();
  const std::string gateway = ::ccr::testing::kGatewayCredential;
  const std::string body = ToJson(::ccr::testing::ValidVoiceContact(""));
  // The Idempotency-Key header fills the key the body lacks.
  HttpAnswer submitted =
      Call("POST", "/v1/contacts", gateway, body, {{"Idempotency-Key", "web-1"}});
  ASSERT_EQ(submitted.status, 200) << submitted.body;
  v1::SubmitReply reply;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(submitted.body, &reply).ok());
  EXPECT_FALSE(reply.duplicate());
  EXPECT_EQ(reply.state(), v1::CONTACT_STATE_QUEUED);
  // A retry with the same key answers with the first contact.
  HttpAnswer retried = Call("POST", "/v1/contacts", gateway, body, {{"Idempotency-Key", "web-1"}});
  ASSERT_EQ(retried.status, 200) << retried.body;
  v1::SubmitReply again;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(retried.body, &again).ok());
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.contact_id(), reply.contact_id());
  // Header and body disagreeing: refused, nothing queued.
  HttpAnswer conflicting =
      Call("POST", "/v1/contacts", gateway, ToJson(::ccr::testing::ValidVoiceContact("web-2")),
           {{"Idempotency-Key", "web-3"}});
  EXPECT_EQ(conflicting.status, 400);
  EXPECT_THAT(conflicting.body, HasSubstr("Idempotency-Key"));
  EXPECT_EQ(Call("GET", "/v1/contacts?idempotency_key=web-2", gateway).status, 404);
  // Read by key, update, cancel.
  HttpAnswer by_key = Call("GET", "/v1/contacts?idempotency_key=web-1", gateway);
  EXPECT_EQ(by_key.status, 200);
  EXPECT_THAT(by_key.body, HasSubstr(reply.contact_id()));
  HttpAnswer updated = Call("POST", "/v1/contacts/" + reply.contact_id() + ":update", gateway,
                            R"({"signals":{"complaint":true}})");
  EXPECT_EQ(updated.status, 200) << updated.body;
  HttpAnswer misspelt = Call("PATCH", "/v1/contacts/" + reply.contact_id(), gateway,
                             R"({"signals":{"complain":true}})");
  EXPECT_EQ(misspelt.status, 400);
  EXPECT_THAT(misspelt.body, HasSubstr("body: not a UpdateRequest"));
  HttpAnswer cancelled =
      Call("POST", "/v1/contacts/" + reply.contact_id() + ":cancel", gateway, "");
  EXPECT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_THAT(cancelled.body, HasSubstr("CONTACT_STATE_CANCELLED"));
  // Cancelled contacts are no longer live.
  HttpAnswer cancel_again =
      Call("POST", "/v1/contacts/" + reply.contact_id() + ":cancel", gateway, "");
  EXPECT_EQ(cancel_again.status, 404) << cancel_again.body;
  // The wrong method on a known path, an unknown path.
  HttpAnswer wrong_method = Call("PATCH", "/v1/contacts", gateway, "{}");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("allow"), "POST, GET");
  EXPECT_EQ(Call("GET", "/v1/nothing", gateway).status, 404);
}

TEST_F(WebApiTest, AdminReadsAreJsonForReadRolesOnly) {
  Start();
  SubmitGrpc("queued-1");
  HttpAnswer queues = Call("GET", "/v1/queues", "Bearer supervisor-token");
  ASSERT_EQ(queues.status, 200) << queues.body;
  v1::ListQueuesReply listed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(queues.body, &listed).ok());
  uint32_t queued = 0;
  for (const v1::QueueSnapshot& q : listed.queues()) queued += q.queued();
  EXPECT_EQ(queued, 1u);
  HttpAnswer agents = Call("GET", "/v1/agents?page_size=10", "Bearer supervisor-token");
  EXPECT_EQ(agents.status, 200) << agents.body;
  EXPECT_EQ(Call("GET", "/v1/agents?page_size=ten", "Bearer supervisor-token").status, 400);
  // A gateway is not a supervisor; no token at all is unauthenticated.
  HttpAnswer as_gateway = Call("GET", "/v1/queues", ::ccr::testing::kGatewayCredential);
  EXPECT_EQ(as_gateway.status, 403);
  EXPECT_THAT(as_gateway.body, HasSubstr("Admin.ListQueues"));
  HttpAnswer anonymous = Call("GET", "/v1/queues", "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.header("www-authenticate"), "Bearer");
}

// ---- the event feed over Server-Sent Events ----

constexpr char kSupervisor[] = "Bearer supervisor-token";

// Reads events from `client` until the one with sequence `last`; the ids
// read, in order (stops early if the stream ends).
std::vector<uint64_t> ReadIdsThrough(SseClient& client, uint64_t last) {
  std::vector<uint64_t> ids;
  while (ids.empty() || ids.back() < last) {
    std::optional<SseEvent> e = client.Next();
    if (!e) break;
    if (e->comment_only) continue;
    uint64_t id = 0;
    EXPECT_TRUE(absl::SimpleAtoi(e->id, &id)) << e->id << " " << e->event << " " << e->data;
    v1::LifecycleEvent event;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(e->data, &event).ok()) << e->data;
    EXPECT_EQ(event.sequence(), id);
    ids.push_back(id);
  }
  return ids;
}

std::vector<uint64_t> Range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> ids;
  for (uint64_t i = first; i <= last; ++i) ids.push_back(i);
  return ids;
}

TEST_F(WebApiTest, EventsResumeWithLastEventIdWithoutGapOrRepeat) {
  Start();
  for (int i = 0; i < 3; ++i) SubmitGrpc(absl::StrCat("before-", i));
  const uint64_t first_batch = LastSequence();
  ASSERT_GE(first_batch, 3u);
  {
    SseClient client(http_->port(), "/v1/events?after=0", {{"Authorization", kSupervisor}});
    ASSERT_EQ(client.head().status, 200) << client.head().body;
    EXPECT_THAT(client.head().header("content-type"), HasSubstr("text/event-stream"));
    EXPECT_EQ(ReadIdsThrough(client, 2), Range(1, 2));
  }  // the reader goes away having read through event 2
  for (int i = 0; i < 3; ++i) SubmitGrpc(absl::StrCat("after-", i));
  const uint64_t second_batch = LastSequence();
  // An EventSource reconnecting sends the last id it read.
  SseClient resumed(http_->port(), "/v1/events",
                    {{"Authorization", kSupervisor}, {"Last-Event-ID", "2"}});
  ASSERT_EQ(resumed.head().status, 200) << resumed.head().body;
  EXPECT_EQ(ReadIdsThrough(resumed, second_batch), Range(3, second_batch));
  // And it follows: a new event arrives live.
  SubmitGrpc("live");
  EXPECT_EQ(ReadIdsThrough(resumed, second_batch + 1), Range(second_batch + 1, second_batch + 1));
}

TEST_F(WebApiTest, EventsResumingFromBeforeTheWindowAreGoneAndBadIdsRefused) {
  EngineOptions options;
  options.event_window = 4;
  Start(options);
  for (int i = 0; i < 8; ++i) SubmitGrpc(absl::StrCat("k-", i));
  const uint64_t last = LastSequence();
  HttpAnswer gone = Call("GET", "/v1/events", kSupervisor, "", {{"Last-Event-ID", "1"}});
  EXPECT_EQ(gone.status, 410) << gone.body;
  EXPECT_THAT(gone.body, HasSubstr("OUT_OF_RANGE"));
  EXPECT_THAT(gone.body, HasSubstr(absl::StrCat("events before ", last - 3)));
  HttpAnswer bad = Call("GET", "/v1/events", kSupervisor, "", {{"Last-Event-ID", "soon"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("Last-Event-ID: not an event sequence number"));
  EXPECT_EQ(Call("GET", "/v1/events?after=x", kSupervisor).status, 400);
  // A gateway may not watch events.
  EXPECT_EQ(Call("GET", "/v1/events", ::ccr::testing::kGatewayCredential).status, 403);
  // Resuming inside the window works.
  SseClient ok(http_->port(), "/v1/events",
               {{"Authorization", kSupervisor}, {"Last-Event-ID", absl::StrCat(last - 2)}});
  ASSERT_EQ(ok.head().status, 200);
  EXPECT_EQ(ReadIdsThrough(ok, last), Range(last - 1, last));
}

TEST_F(WebApiTest, EventStreamsShareTheWatcherLimitWithGrpc) {
  EngineOptions options;
  options.max_watchers = 1;
  Start(options);
  SseClient first(http_->port(), "/v1/events", {{"Authorization", kSupervisor}});
  ASSERT_EQ(first.head().status, 200);
  HttpAnswer second = Call("GET", "/v1/events", kSupervisor);
  EXPECT_EQ(second.status, 429) << second.body;
  EXPECT_THAT(second.body, HasSubstr("max_watch_streams"));
  EXPECT_EQ(second.header("retry-after"), "1");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  ctx.AddMetadata("authorization", kSupervisor);
  auto watch = admin_stub_->WatchEvents(&ctx, v1::WatchEventsRequest());
  v1::LifecycleEvent event;
  EXPECT_FALSE(watch->Read(&event));
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(WebApiTest, IdleEventStreamGetsKeepalivesAndEndsOnDrain) {
  Start();
  SseClient client(http_->port(), "/v1/events", {{"Authorization", kSupervisor}});
  ASSERT_EQ(client.head().status, 200);
  std::optional<SseEvent> keepalive = client.Next();  // heartbeat: 200 ms in this fixture
  ASSERT_TRUE(keepalive.has_value());
  EXPECT_TRUE(keepalive->comment_only);
  OnStrand<bool>([](Engine& e) {
    e.BeginDrain();
    return true;
  });
  EXPECT_TRUE(client.ReadToEnd());
  // Draining: new streams are refused.
  EXPECT_EQ(Call("GET", "/v1/events", kSupervisor).status, 503);
}

TEST_F(WebApiTest, ReaderThatStopsReadingIsCutWithoutStallingAnother) {
  EngineOptions options;
  // A window wide enough that a reader that keeps reading never falls out of
  // it on a loaded machine, narrow enough for a short test.
  options.event_window = 1500;
  options.watcher_outbox_limit = 8;
  Start(options);
  // A reader with a small receive window that reads nothing after the head.
  SseClient stalled(http_->port(), "/v1/events", {{"Authorization", kSupervisor}},
                    /*receive_buffer_bytes=*/4096);
  ASSERT_EQ(stalled.head().status, 200);
  SseClient reader(http_->port(), "/v1/events", {{"Authorization", kSupervisor}});
  ASSERT_EQ(reader.head().status, 200);
  // The server's send buffer (64 KiB) and the stalled reader's window hold
  // about 500 events; the stream's 8 and the window's 1500 beyond them cut it.
  constexpr int kSubmits = 4000;
  std::atomic<uint64_t> last{0};
  std::vector<uint64_t> read_ids;
  std::thread reading([&] {
    // Until the last event submitted (keepalives come while it waits).
    while (last.load() == 0 || read_ids.empty() || read_ids.back() < last.load()) {
      std::optional<SseEvent> e = reader.Next();
      if (!e) return;
      if (e->comment_only) continue;
      uint64_t id = 0;
      ASSERT_TRUE(absl::SimpleAtoi(e->id, &id));
      read_ids.push_back(id);
    }
  });
  for (int i = 0; i < kSubmits; ++i) SubmitGrpc(absl::StrCat("flood-", i));
  last = LastSequence();
  reading.join();
  // The reader that kept reading got every event, in order.
  // (Events may follow the last submit's: timers run on.)
  ASSERT_GE(read_ids.size(), last.load());
  read_ids.resize(last.load());
  EXPECT_EQ(read_ids, Range(1, last.load()));
  // The one that stopped was cut: what it finds on reading again is a prefix
  // of the events, then the reason, then the end of the stream.
  std::vector<uint64_t> stalled_ids;
  std::optional<SseEvent> final_event;
  while (std::optional<SseEvent> e = stalled.Next()) {
    if (e->comment_only) continue;
    if (!e->event.empty()) {
      final_event = e;
      continue;
    }
    uint64_t id = 0;
    ASSERT_TRUE(absl::SimpleAtoi(e->id, &id));
    stalled_ids.push_back(id);
  }
  // It was cut, not left open: by the engine once it fell behind the event
  // window (then the reason is its last event), or by the write timeout when
  // the flood took longer than that to get there (then no event can reach
  // it: its socket is stuck behind the unread ones).
  EXPECT_TRUE(stalled.closed_by_server());
  ASSERT_FALSE(stalled_ids.empty());
  EXPECT_EQ(stalled_ids, Range(1, stalled_ids.back()));
  EXPECT_LT(stalled_ids.back(), last.load());
  if (final_event.has_value()) {
    EXPECT_EQ(final_event->event, "stream-error");
    EXPECT_THAT(final_event->data, HasSubstr("fell behind the event window"));
  }
  // Its place among the watchers is free again.
  EXPECT_EQ(OnStrand<size_t>([](Engine& e) { return e.watcher_count(); }), 1u);
}

}  // namespace
}  // namespace ccr
