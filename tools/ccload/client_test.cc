// The ccload clients (GatewayClient, DeskClient, Scheduler, RunCounters)
// against an in-process fake ContactIngest + AgentDesk on 127.0.0.1:0. The
// real engine is exercised by bench_smoke_test and the demo; here the fake
// lets each test say exactly what the server answers. Waits are for events
// (a message arrived, a client is done) with generous bounds, never for time.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ccrouter/v1/agent_desk.grpc.pb.h"
#include "ccrouter/v1/ingest.grpc.pb.h"
#include "codec/owner_redirect.h"
#include "engine/testing/fake_standby.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/ccload/channels.h"
#include "tools/ccload/desk_client.h"
#include "tools/ccload/gateway_client.h"
#include "tools/ccload/run_counters.h"
#include "tools/ccload/scheduler.h"

namespace ccr::load {
namespace {

namespace v1 = ::ccrouter::v1;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// How long a test waits for something that should happen at once: a bound
// for a loaded 2-core machine, not a timing assertion.
constexpr auto kEventually = seconds(20);

// True once `condition` holds (polled), false if it does not within
// kEventually. For counters a client bumps just after the write the server
// has seen.
bool Eventually(const std::function<bool()>& condition) {
  const Clock::time_point give_up = Clock::now() + kEventually;
  while (!condition()) {
    if (Clock::now() >= give_up) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// ---------------------------------------------------------------------------
// The fake server.

// A server bidi stream with a queue of writes (one in flight) and Finish
// deferred until no write is in flight.
template <typename Request, typename Response>
class FakeServerStream : public grpc::ServerBidiReactor<Request, Response> {
 public:
  // `on_read` runs on a gRPC thread for each message; `on_reads_done` when
  // the client half-closes (or the call ends).
  FakeServerStream(std::function<void(FakeServerStream*, const Request&)> on_read,
                   std::function<void(FakeServerStream*)> on_reads_done,
                   std::function<void(FakeServerStream*)> on_done)
      : on_read_(std::move(on_read)),
        on_reads_done_(std::move(on_reads_done)),
        on_done_(std::move(on_done)) {
    this->StartRead(&request_);
  }

  void Send(Response response) {
    std::lock_guard lock(mu_);
    if (finish_requested_) return;
    if (writing_) {
      pending_.push_back(std::move(response));
      return;
    }
    writing_ = true;
    current_ = std::move(response);
    this->StartWrite(&current_);
  }

  void EndWith(grpc::Status status) {
    std::lock_guard lock(mu_);
    if (finish_requested_) return;
    finish_requested_ = true;
    finish_status_ = std::move(status);
    MaybeFinishLocked();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      on_reads_done_(this);
      return;
    }
    on_read_(this, request_);
    this->StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (ok && !pending_.empty() && !finish_requested_) {
      writing_ = true;
      current_ = std::move(pending_.front());
      pending_.pop_front();
      this->StartWrite(&current_);
      return;
    }
    if (!ok) pending_.clear();
    MaybeFinishLocked();
  }

  void OnCancel() override { EndWith(grpc::Status::CANCELLED); }

  void OnDone() override {
    on_done_(this);
    delete this;
  }

 private:
  void MaybeFinishLocked() {
    if (!finish_requested_ || writing_ || finished_) return;
    finished_ = true;
    this->Finish(finish_status_);
  }

  const std::function<void(FakeServerStream*, const Request&)> on_read_;
  const std::function<void(FakeServerStream*)> on_reads_done_;
  const std::function<void(FakeServerStream*)> on_done_;
  Request request_;
  std::mutex mu_;
  Response current_;
  std::deque<Response> pending_;
  bool writing_ = false;
  bool finish_requested_ = false;
  bool finished_ = false;
  grpc::Status finish_status_;
};

using FakeSubmitStream = FakeServerStream<v1::SubmitStreamRequest, v1::SubmitStreamReply>;
using FakeDeskStream = FakeServerStream<v1::AgentMessage, v1::ServerMessage>;

// ContactIngest and AgentDesk as a test scripts them.
class FakeServer final : public v1::ContactIngest::CallbackService,
                         public v1::AgentDesk::CallbackService {
 public:
  FakeServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(static_cast<v1::ContactIngest::CallbackService*>(this));
    builder.RegisterService(static_cast<v1::AgentDesk::CallbackService*>(this));
    server_ = builder.BuildAndStart();
  }
  ~FakeServer() override {
    server_->Shutdown(std::chrono::system_clock::now() + seconds(5));
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return live_streams_ == 0; });
  }

  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  // Submits (unary and streamed) are answered with this code (OK: a
  // queued contact) unless submit replies are held.
  void AnswerSubmitsWith(grpc::StatusCode code, std::string message) {
    std::lock_guard lock(mu_);
    submit_code_ = code;
    submit_message_ = std::move(message);
  }
  // SubmitStream: read submits but never answer them.
  void HoldStreamReplies() {
    std::lock_guard lock(mu_);
    hold_stream_replies_ = true;
  }
  // SubmitStream: end the stream with `status` at the first submit.
  void EndSubmitStreamsWith(grpc::Status status) {
    std::lock_guard lock(mu_);
    end_submit_streams_with_ = std::move(status);
  }
  // SubmitStream: end the stream at the first submit as a standby does,
  // UNAVAILABLE naming `owner` in the trailers.
  void EndSubmitStreamsNamingOwner(const std::string& owner) {
    std::lock_guard lock(mu_);
    end_submit_streams_with_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, "standby");
    submit_streams_owner_ = owner;
  }

  // --- AgentDesk -----------------------------------------------------------

  // Waits until the desk has received `count` messages in all; returns them.
  std::vector<v1::AgentMessage> WaitForDeskMessages(size_t count) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kEventually, [&] { return desk_messages_.size() >= count; });
    return desk_messages_;
  }
  // Waits for the desktop to half-close its stream.
  bool WaitForDeskHalfClose() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kEventually, [&] { return desk_half_closes_ > 0; });
  }
  // Sends to the newest desk stream.
  void SendToDesk(v1::ServerMessage message) {
    std::lock_guard lock(mu_);
    ASSERT_NE(desk_stream_, nullptr);
    desk_stream_->Send(std::move(message));
  }
  void EndDeskStream(grpc::Status status) {
    std::lock_guard lock(mu_);
    ASSERT_NE(desk_stream_, nullptr);
    desk_stream_->EndWith(std::move(status));
  }
  // Ends the newest desk stream as a node that lost ownership does.
  void EndDeskStreamNamingOwner(const std::string& owner) {
    std::lock_guard lock(mu_);
    ASSERT_NE(desk_stream_, nullptr);
    desk_context_->AddTrailingMetadata(kOwnerMetadataKey, owner);
    desk_stream_->EndWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "standby"));
  }
  int desk_logins() {
    std::lock_guard lock(mu_);
    return desk_logins_;
  }
  // Answers every desk login and accept with a new offer on the same stream,
  // so offers keep coming until the stream ends.
  void FloodDesksWithOffers() {
    std::lock_guard lock(mu_);
    flood_offers_ = true;
  }
  // Leaves desk streams open when the desktop half-closes (a server that
  // does not answer the goodbye).
  void IgnoreDeskHalfCloses() {
    std::lock_guard lock(mu_);
    ignore_desk_half_closes_ = true;
  }
  // Ends every open desk stream as a node that lost ownership does.
  void EndAllDeskStreamsNamingOwner(const std::string& owner) {
    std::lock_guard lock(mu_);
    for (auto& [stream, context] : desk_streams_) {
      context->AddTrailingMetadata(kOwnerMetadataKey, owner);
      stream->EndWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "standby"));
    }
  }
  size_t open_desk_streams() {
    std::lock_guard lock(mu_);
    return desk_streams_.size();
  }
  size_t streamed_submits() {
    std::lock_guard lock(mu_);
    return streamed_submits_;
  }
  size_t WaitForStreamedSubmits(size_t count) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kEventually, [&] { return streamed_submits_ >= count; });
    return streamed_submits_;
  }

 private:
  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* context,
                                   const v1::SubmitRequest* request,
                                   v1::SubmitReply* reply) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    std::lock_guard lock(mu_);
    if (submit_code_ != grpc::StatusCode::OK) {
      reactor->Finish(grpc::Status(submit_code_, submit_message_));
      return reactor;
    }
    reply->set_contact_id(absl::StrCat("c-", ++contacts_));
    reply->set_queue(request->contact().queue());
    reply->set_state(v1::CONTACT_STATE_QUEUED);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* Update(grpc::CallbackServerContext* context, const v1::UpdateRequest*,
                                   v1::UpdateReply*) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerBidiReactor<v1::SubmitStreamRequest, v1::SubmitStreamReply>* SubmitStream(
      grpc::CallbackServerContext* context) override {
    std::lock_guard lock(mu_);
    ++live_streams_;
    return new FakeSubmitStream(
        [this, context](FakeSubmitStream* stream, const v1::SubmitStreamRequest& request) {
          v1::SubmitStreamReply reply;
          {
            std::lock_guard lock(mu_);
            ++streamed_submits_;
            cv_.notify_all();
            if (end_submit_streams_with_.has_value()) {
              if (!submit_streams_owner_.empty()) {
                context->AddTrailingMetadata(kOwnerMetadataKey, submit_streams_owner_);
              }
              stream->EndWith(*end_submit_streams_with_);
              return;
            }
            if (hold_stream_replies_) return;
            reply.set_correlation_id(request.correlation_id());
            reply.set_code(static_cast<int>(submit_code_));
            if (submit_code_ != grpc::StatusCode::OK) {
              reply.set_error_message(submit_message_);
            } else {
              reply.mutable_reply()->set_contact_id(absl::StrCat("c-", ++contacts_));
              reply.mutable_reply()->set_state(v1::CONTACT_STATE_QUEUED);
            }
          }
          stream->Send(std::move(reply));
        },
        [](FakeSubmitStream* stream) { stream->EndWith(grpc::Status::OK); },
        [this](FakeSubmitStream*) { StreamGone(); });
  }

  grpc::ServerBidiReactor<v1::AgentMessage, v1::ServerMessage>* Connect(
      grpc::CallbackServerContext* context) override {
    std::lock_guard lock(mu_);
    ++live_streams_;
    auto* stream = new FakeDeskStream(
        [this](FakeDeskStream* stream, const v1::AgentMessage& message) {
          v1::ServerMessage offer;
          {
            std::lock_guard lock(mu_);
            if (flood_offers_) {
              // The flood's messages are not kept: they are many.
              if (message.kind_case() == v1::AgentMessage::kLogin) ++desk_logins_;
              if (message.kind_case() != v1::AgentMessage::kLogin &&
                  message.kind_case() != v1::AgentMessage::kAccept) {
                return;
              }
              const uint64_t n = ++flood_offers_sent_;
              offer.mutable_offer()->set_offer_id(absl::StrCat("o-", n));
              offer.mutable_offer()->set_contact_id(absl::StrCat("c-", n));
              offer.mutable_offer()->set_queue("voice_general");
            } else {
              desk_messages_.push_back(message);
              cv_.notify_all();
              if (message.kind_case() != v1::AgentMessage::kLogin) return;
              ++desk_logins_;
            }
          }
          if (message.kind_case() == v1::AgentMessage::kLogin) {
            v1::ServerMessage ok;
            ok.mutable_login_ok()->set_agent_id(message.login().agent_id());
            ok.mutable_login_ok()->set_heartbeat_interval_seconds(3600);
            stream->Send(std::move(ok));
          }
          if (offer.has_offer()) stream->Send(std::move(offer));
        },
        [this](FakeDeskStream* stream) {
          {
            std::lock_guard lock(mu_);
            ++desk_half_closes_;
            cv_.notify_all();
            if (ignore_desk_half_closes_) return;
          }
          stream->EndWith(grpc::Status::OK);  // the engine logs the agent out and finishes
        },
        [this](FakeDeskStream* stream) {
          {
            std::lock_guard lock(mu_);
            desk_streams_.erase(stream);
            if (desk_stream_ == stream) {
              desk_stream_ = nullptr;
              desk_context_ = nullptr;
            }
          }
          StreamGone();
        });
    desk_stream_ = stream;
    desk_context_ = context;
    desk_streams_[stream] = context;
    return stream;
  }

  void StreamGone() {
    std::lock_guard lock(mu_);
    --live_streams_;
    cv_.notify_all();
  }

  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  grpc::StatusCode submit_code_ = grpc::StatusCode::OK;
  std::string submit_message_;
  bool hold_stream_replies_ = false;
  std::optional<grpc::Status> end_submit_streams_with_;
  std::string submit_streams_owner_;
  uint64_t contacts_ = 0;
  size_t streamed_submits_ = 0;
  int live_streams_ = 0;
  FakeDeskStream* desk_stream_ = nullptr;                                 // the newest open one
  std::map<FakeDeskStream*, grpc::CallbackServerContext*> desk_streams_;  // all open ones
  bool flood_offers_ = false;
  uint64_t flood_offers_sent_ = 0;
  bool ignore_desk_half_closes_ = false;
  grpc::CallbackServerContext* desk_context_ = nullptr;  // desk_stream_'s
  std::vector<v1::AgentMessage> desk_messages_;
  int desk_logins_ = 0;
  int desk_half_closes_ = 0;
};

std::shared_ptr<grpc::Channel> ChannelTo(const FakeServer& server) {
  return grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
}

v1::ContactSpec Contact(const std::string& key) {
  v1::ContactSpec spec;
  spec.set_queue("voice_general");
  spec.set_idempotency_key(key);
  return spec;
}

// ---------------------------------------------------------------------------
// GatewayClient

class GatewayClientTest : public ::testing::TestWithParam<bool> {
 protected:
  bool stream() const { return GetParam(); }
  std::string rpc() const { return stream() ? "SubmitStream" : "Submit"; }

  FakeServer server_;
  RunCounters counters_;
};

TEST_P(GatewayClientTest, ASubmitIsCountedWithItsLatencyFromTheIntendedTime) {
  std::vector<std::string> contact_ids;
  std::mutex mu;
  GatewayClient gateway(ChannelTo(server_), GatewayOptions{.stream = stream()}, counters_,
                        [&](const SubmitAnswer& answer) {
                          std::lock_guard lock(mu);
                          ASSERT_EQ(answer.code, 0);
                          contact_ids.push_back(answer.reply->contact_id());
                        });
  gateway.Start();
  // Meant to go 50 ms ago (a sender that fell behind): the latency counts
  // from then, so it is at least 50 ms whatever the server does.
  const Clock::time_point intended = Clock::now() - milliseconds(50);
  ASSERT_TRUE(gateway.Submit(Contact("k-1"), intended));
  gateway.Finish();
  ASSERT_TRUE(gateway.WaitDone(kEventually));

  EXPECT_EQ(counters_.submitted.load(), 1u);
  EXPECT_EQ(counters_.acked.load(), 1u);
  EXPECT_EQ(counters_.in_flight.load(), 0);
  EXPECT_TRUE(counters_.errors().empty());
  const HdrHistogram ack = counters_.submit_to_ack.Snapshot();
  ASSERT_EQ(ack.count(), 1u);
  EXPECT_GE(ack.min(), 50'000'000u);  // ns
  EXPECT_EQ(contact_ids, std::vector<std::string>{"c-1"});
}

TEST_P(GatewayClientTest, AServerErrorIsCountedAsAnErrorNotAnAck) {
  server_.AnswerSubmitsWith(grpc::StatusCode::INVALID_ARGUMENT, "contact.queue: no such queue");
  GatewayClient gateway(ChannelTo(server_), GatewayOptions{.stream = stream()}, counters_);
  gateway.Start();
  ASSERT_TRUE(gateway.Submit(Contact("k-1"), Clock::now()));
  ASSERT_TRUE(gateway.Submit(Contact("k-2"), Clock::now()));
  gateway.Finish();
  ASSERT_TRUE(gateway.WaitDone(kEventually));

  EXPECT_EQ(counters_.submitted.load(), 2u);
  EXPECT_EQ(counters_.acked.load(), 0u);
  EXPECT_EQ(counters_.all_errors.load(), 2u);
  EXPECT_EQ(counters_.submit_to_ack.Snapshot().count(), 0u);
  const std::map<std::string, uint64_t> want = {{rpc() + " INVALID_ARGUMENT", 2}};
  EXPECT_EQ(counters_.errors(), want);
}

TEST_P(GatewayClientTest, OutsideTheMeasuredWindowNothingIsCountedButTheTotals) {
  const Clock::time_point now = Clock::now();
  counters_.SetMeasuredWindow(now + seconds(3600), now + seconds(7200));
  GatewayClient gateway(ChannelTo(server_), GatewayOptions{.stream = stream()}, counters_);
  gateway.Start();
  ASSERT_TRUE(gateway.Submit(Contact("k-1"), now));
  gateway.Finish();
  ASSERT_TRUE(gateway.WaitDone(kEventually));
  EXPECT_EQ(counters_.submitted.load(), 0u);
  EXPECT_EQ(counters_.acked.load(), 0u);
  EXPECT_EQ(counters_.all_acked.load(), 1u);
}

TEST_P(GatewayClientTest, NoSubmitAfterFinish) {
  GatewayClient gateway(ChannelTo(server_), GatewayOptions{.stream = stream()}, counters_);
  gateway.Start();
  gateway.Finish();
  EXPECT_FALSE(gateway.Submit(Contact("k-1"), Clock::now()));
  ASSERT_TRUE(gateway.WaitDone(kEventually));
  EXPECT_EQ(counters_.submitted.load(), 0u);
}

INSTANTIATE_TEST_SUITE_P(StreamAndUnary, GatewayClientTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Stream" : "Unary"; });

TEST(GatewayClientStreamTest, CancelWithSubmitsInFlightEndsCleanlyAndCountsThemUnanswered) {
  FakeServer server;
  server.HoldStreamReplies();
  RunCounters counters;
  GatewayClient gateway(ChannelTo(server), GatewayOptions{.stream = true}, counters);
  gateway.Start();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(gateway.Submit(Contact(absl::StrCat("k-", i)), Clock::now()));
  ASSERT_EQ(server.WaitForStreamedSubmits(3), 3u);
  gateway.Finish();  // waits for replies that never come...
  EXPECT_FALSE(gateway.WaitDone(Clock::duration::zero()));
  gateway.Cancel();  // ...until it gives up
  ASSERT_TRUE(gateway.WaitDone(kEventually));
  EXPECT_EQ(counters.unanswered.load(), 3u);
  EXPECT_EQ(counters.in_flight.load(), 0);
  EXPECT_EQ(counters.acked.load(), 0u);
  EXPECT_TRUE(counters.errors().empty()) << "a cancel at shutdown is not an error";
}

TEST(GatewayClientStreamTest, AStreamTheServerEndsEndsHereTooAndIsCounted) {
  FakeServer server;
  server.EndSubmitStreamsWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down"));
  RunCounters counters;
  GatewayClient gateway(ChannelTo(server), GatewayOptions{.stream = true}, counters);
  gateway.Start();
  ASSERT_TRUE(gateway.Submit(Contact("k-1"), Clock::now()));
  // No Finish: the server's end alone ends the call.
  ASSERT_TRUE(gateway.WaitDone(kEventually));
  EXPECT_FALSE(gateway.Submit(Contact("k-2"), Clock::now()));
  const std::map<std::string, uint64_t> want = {{"SubmitStream (call) UNAVAILABLE", 1}};
  EXPECT_EQ(counters.errors(), want);
  EXPECT_EQ(counters.unanswered.load(), 1u);
  EXPECT_EQ(counters.in_flight.load(), 0);
}

TEST(GatewayClientStreamTest, DestroyedWithSubmitsInFlightEndsCleanly) {
  FakeServer server;
  server.HoldStreamReplies();
  RunCounters counters;
  {
    GatewayClient gateway(ChannelTo(server), GatewayOptions{.stream = true}, counters);
    gateway.Start();
    ASSERT_TRUE(gateway.Submit(Contact("k-1"), Clock::now()));
    ASSERT_EQ(server.WaitForStreamedSubmits(1), 1u);
  }  // the destructor finishes, cancels and waits for the stream's end
  EXPECT_EQ(counters.unanswered.load(), 1u);
  EXPECT_EQ(counters.in_flight.load(), 0);
}

// Cluster mode: the node the gateway streams to loses ownership; the stream
// is reopened at the owner it names, and later submits go there.
TEST(GatewayClientStreamTest, AStreamAStandbyEndsIsReopenedOnceAtTheOwnerItNames) {
  FakeServer owner;
  FakeServer old_owner;
  old_owner.EndSubmitStreamsNamingOwner(owner.address());
  ChannelsByAddress channels;
  RunCounters counters;
  GatewayClient gateway(ChannelTo(old_owner),
                        GatewayOptions{.stream = true, .follow_owner = &channels}, counters);
  gateway.Start();
  ASSERT_TRUE(gateway.Submit(Contact("k-1"), Clock::now()));
  ASSERT_EQ(old_owner.WaitForStreamedSubmits(1), 1u);
  // k-1 is counted unanswered once the old stream is done, after the new
  // one opened.
  ASSERT_TRUE(Eventually([&] { return counters.unanswered.load() == 1; }));
  ASSERT_TRUE(gateway.Submit(Contact("k-2"), Clock::now()));
  EXPECT_EQ(owner.WaitForStreamedSubmits(1), 1u);
  ASSERT_TRUE(Eventually([&] { return counters.acked.load() == 1; }));
  gateway.Finish();
  ASSERT_TRUE(gateway.WaitDone(kEventually));
  EXPECT_EQ(counters.unanswered.load(), 1u);
  EXPECT_EQ(counters.in_flight.load(), 0);
  const std::map<std::string, uint64_t> want = {{"SubmitStream (call) UNAVAILABLE", 1}};
  EXPECT_EQ(counters.errors(), want);
}

TEST(GatewayClientUnaryTest, AHangUpIsCountedAsAnAbandon) {
  FakeServer server;
  RunCounters counters;
  GatewayClient gateway(ChannelTo(server), GatewayOptions{.stream = false}, counters);
  std::mutex mu;
  std::optional<bool> hung_up;
  gateway.HangUp("c-1", [&](bool ok) {
    std::lock_guard lock(mu);
    hung_up = ok;
  });
  gateway.Finish();
  ASSERT_TRUE(gateway.WaitDone(kEventually));
  std::lock_guard lock(mu);
  EXPECT_EQ(hung_up, std::optional<bool>(true));
  EXPECT_EQ(counters.abandons.load(), 1u);
}

// ---------------------------------------------------------------------------
// ChannelsByAddress

TEST(ChannelsByAddressTest, SharesAChannelPerAddressAndShardUpToTheAddressBound) {
  ChannelsByAddress channels;
  const std::shared_ptr<grpc::Channel> first = channels.Get("127.0.0.1:1", 0);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(channels.Get("127.0.0.1:1", 0), first);
  EXPECT_NE(channels.Get("127.0.0.1:1", 1), first);  // another shard, another connection
  for (size_t i = 2; i <= ChannelsByAddress::kMaxAddresses; ++i) {
    EXPECT_NE(channels.Get(absl::StrCat("127.0.0.1:", i)), nullptr) << i;
  }
  EXPECT_EQ(channels.Get("127.0.0.1:9999"), nullptr);  // one address too many
  EXPECT_NE(channels.Get("127.0.0.1:2", 5), nullptr);  // a known address, a new shard
}

// ---------------------------------------------------------------------------
// FindOwner (the preflight)

TEST(FindOwnerTest, GoesRoundTheListAndFollowsAStandbysRedirect) {
  FakeServer owner;  // answers Admin UNIMPLEMENTED: an answer all the same
  testing::FakeStandby standby(owner.address());
  std::string dead;
  {
    testing::FakeStandby gone("");
    dead = gone.address();
  }
  const OwnerFound found =
      FindOwner({dead, standby.address()}, 10, 5, [](Clock::duration) { return false; });
  EXPECT_EQ(found.address, owner.address());
  EXPECT_EQ(found.status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  ASSERT_EQ(found.failed_attempts.size(), 2u);
  EXPECT_THAT(found.failed_attempts[0], ::testing::StartsWith(dead + " ("));
  EXPECT_EQ(found.failed_attempts[1],
            standby.address() + " (a standby; the owner is at " + owner.address() + ")");
}

TEST(FindOwnerTest, NoOwnerWithinTheTimeoutReportsTheLastRound) {
  testing::FakeStandby no_owner_yet("");
  const OwnerFound found = FindOwner({no_owner_yet.address()}, 1, 1, [](Clock::duration pause) {
    std::this_thread::sleep_for(pause);
    return false;
  });
  EXPECT_EQ(found.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_GE(no_owner_yet.calls(), 2);  // went round again
  EXPECT_EQ(found.failed_attempts,
            std::vector<std::string>{no_owner_yet.address() +
                                     " (standby: no owner elected yet; retry shortly)"});
}

// ---------------------------------------------------------------------------
// DeskClient

// A policy each test sets as it needs.
struct ScriptedPolicy final : DeskPolicy {
  Duration accept_delay{0};
  bool reject = false;
  Duration handle{0};
  Duration wrap_up{0};
  bool reconnects = false;

  Duration AcceptDelay() override { return accept_delay; }
  bool Rejects() override { return reject; }
  Duration HandleTime(const v1::Offer&) override { return handle; }
  Duration WrapUpTime() override { return wrap_up; }
  bool Resolved() override { return true; }
  std::optional<Duration> NotReadyPause() override { return std::nullopt; }
  Duration HeartbeatInterval(double server_interval_seconds) override {
    return SecondsToDuration(server_interval_seconds);
  }
  bool Reconnects() override { return reconnects; }
};

class RecordingObserver final : public OfferObserver {
 public:
  void Offered(const std::string& id) override { Add("offered " + id); }
  void BackInQueue(const std::string& id) override { Add("back " + id); }
  void Settled(const std::string& id) override { Add("settled " + id); }
  std::vector<std::string> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  void Add(std::string event) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(event));
  }
  std::mutex mu_;
  std::vector<std::string> events_;
};

v1::ServerMessage OfferMessage(const std::string& offer_id, const std::string& contact_id) {
  v1::ServerMessage m;
  m.mutable_offer()->set_offer_id(offer_id);
  m.mutable_offer()->set_contact_id(contact_id);
  m.mutable_offer()->set_queue("voice_general");
  return m;
}

class DeskClientTest : public ::testing::Test {
 protected:
  DeskClientTest() : channel_(ChannelTo(server_)), stub_(v1::AgentDesk::NewStub(channel_)) {
    login_.set_agent_id("agent-001");
  }
  ~DeskClientTest() override { scheduler_.Stop(); }  // before the clients go

  std::unique_ptr<DeskClient> StartAgent(std::unique_ptr<DeskPolicy> policy) {
    auto agent = std::make_unique<DeskClient>(*stub_, login_, std::move(policy), scheduler_,
                                              counters_, &observer_);
    agent->Start();
    server_.WaitForDeskMessages(1);  // the login
    return agent;
  }

  // Waits for the n-th message (counting the login as the first) and returns it.
  v1::AgentMessage Nth(size_t n) {
    std::vector<v1::AgentMessage> all = server_.WaitForDeskMessages(n);
    EXPECT_GE(all.size(), n);
    return all.size() >= n ? all[n - 1] : v1::AgentMessage();
  }

  FakeServer server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AgentDesk::Stub> stub_;
  v1::Login login_;
  RunCounters counters_;
  RecordingObserver observer_;
  Scheduler scheduler_;  // last: stopped (and destroyed) first
};

TEST_F(DeskClientTest, AcceptsCompletesAndWrapsUpAsThePolicySays) {
  auto policy = std::make_unique<ScriptedPolicy>();
  policy->accept_delay = milliseconds(1);  // through the scheduler
  policy->handle = milliseconds(1);
  policy->wrap_up = DeskPolicy::Duration::zero();  // at once, on the gRPC thread
  auto agent = StartAgent(std::move(policy));
  EXPECT_EQ(Nth(1).login().agent_id(), "agent-001");

  server_.SendToDesk(OfferMessage("o-1", "c-7"));
  const v1::AgentMessage accept = Nth(2);
  ASSERT_TRUE(accept.has_accept()) << accept.DebugString();
  EXPECT_EQ(accept.accept().offer_id(), "o-1");
  const v1::AgentMessage complete = Nth(3);
  ASSERT_TRUE(complete.has_complete()) << complete.DebugString();
  EXPECT_EQ(complete.complete().contact_id(), "c-7");
  EXPECT_TRUE(complete.complete().outcome().resolved());
  const v1::AgentMessage wrap_up = Nth(4);
  ASSERT_TRUE(wrap_up.has_wrap_up_done()) << wrap_up.DebugString();
  EXPECT_EQ(wrap_up.wrap_up_done().contact_id(), "c-7");

  // Request ids are distinct, so CommandResults can be matched.
  EXPECT_LT(accept.request_id(), complete.request_id());
  EXPECT_LT(complete.request_id(), wrap_up.request_id());
  ASSERT_TRUE(Eventually([&] { return counters_.wrap_ups.load() == 1; }));
  EXPECT_EQ(counters_.agents_logged_in.load(), 1);
  EXPECT_EQ(counters_.offers.load(), 1u);
  EXPECT_EQ(counters_.accepts.load(), 1u);
  EXPECT_EQ(counters_.completes.load(), 1u);
  EXPECT_EQ(observer_.events(), (std::vector<std::string>{"offered c-7", "settled c-7"}));
}

TEST_F(DeskClientTest, RejectsWhenThePolicySaysAndTheContactGoesBackToTheQueue) {
  auto policy = std::make_unique<ScriptedPolicy>();
  policy->reject = true;
  auto agent = StartAgent(std::move(policy));
  server_.SendToDesk(OfferMessage("o-1", "c-7"));
  const v1::AgentMessage reject = Nth(2);
  ASSERT_TRUE(reject.has_reject()) << reject.DebugString();
  EXPECT_EQ(reject.reject().offer_id(), "o-1");
  ASSERT_TRUE(Eventually([&] { return observer_.events().size() == 2; }));
  EXPECT_EQ(counters_.rejects.load(), 1u);
  EXPECT_EQ(counters_.accepts.load(), 0u);
  EXPECT_EQ(observer_.events(), (std::vector<std::string>{"offered c-7", "back c-7"}));
}

TEST_F(DeskClientTest, AnOfferCarryingItsSendTimeGetsASubmitToOfferLatency) {
  auto agent = StartAgent(std::make_unique<ScriptedPolicy>());
  v1::ServerMessage offer = OfferMessage("o-1", "c-7");
  const int64_t sent_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              (Clock::now() - milliseconds(40)).time_since_epoch())
                              .count();
  (*offer.mutable_offer()->mutable_attributes())[kSentAtAttribute] = absl::StrCat(sent_ns);
  server_.SendToDesk(offer);
  Nth(2);  // the accept: the offer has been counted by then
  const HdrHistogram to_offer = counters_.submit_to_offer.Snapshot();
  ASSERT_EQ(to_offer.count(), 1u);
  EXPECT_GE(to_offer.min(), 40'000'000u);
}

TEST_F(DeskClientTest, AWithdrawnOfferIsCountedAndNotAnswered) {
  auto policy = std::make_unique<ScriptedPolicy>();
  policy->accept_delay = seconds(3600);  // the withdrawal comes first
  auto agent = StartAgent(std::move(policy));
  server_.SendToDesk(OfferMessage("o-1", "c-7"));
  v1::ServerMessage withdrawn;
  withdrawn.mutable_offer_withdrawn()->set_offer_id("o-1");
  withdrawn.mutable_offer_withdrawn()->set_contact_id("c-7");
  withdrawn.mutable_offer_withdrawn()->set_reason("abandoned");
  server_.SendToDesk(withdrawn);
  // Messages are handled in order: once this error is counted, the offer
  // and its withdrawal have been too.
  v1::ServerMessage result;
  result.mutable_result()->set_request_id(999);
  result.mutable_result()->set_code(static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  server_.SendToDesk(result);
  ASSERT_TRUE(Eventually([&] { return !counters_.errors().empty(); }));
  EXPECT_EQ(counters_.withdrawn.load(), 1u);
  EXPECT_EQ(observer_.events(), (std::vector<std::string>{"offered c-7", "settled c-7"}));
}

TEST_F(DeskClientTest, AFailedCommandIsCountedAsAnError) {
  auto agent = StartAgent(std::make_unique<ScriptedPolicy>());
  v1::ServerMessage result;
  result.mutable_result()->set_request_id(1);
  result.mutable_result()->set_code(static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  result.mutable_result()->set_message("offer_id: not on offer");
  server_.SendToDesk(result);
  ASSERT_TRUE(Eventually([&] { return !counters_.errors().empty(); }));
  const std::map<std::string, uint64_t> want = {{"AgentDesk command FAILED_PRECONDITION", 1}};
  EXPECT_EQ(counters_.errors(), want);
}

TEST_F(DeskClientTest, AStreamEndedByTheServerIsCountedAndNotRetriedByAFixedPolicy) {
  auto agent = StartAgent(std::make_unique<ScriptedPolicy>());
  server_.EndDeskStream(grpc::Status(grpc::StatusCode::UNAVAILABLE, "heartbeat missed"));
  ASSERT_TRUE(agent->WaitDone(kEventually));
  const std::map<std::string, uint64_t> want = {{"AgentDesk.Connect UNAVAILABLE", 1}};
  EXPECT_EQ(counters_.errors(), want);
  EXPECT_EQ(counters_.agents_logged_in.load(), 0);
  EXPECT_EQ(server_.desk_logins(), 1);
}

TEST_F(DeskClientTest, ABrokenStreamIsReopenedWhenThePolicyReconnects) {
  auto policy = std::make_unique<ScriptedPolicy>();
  policy->reconnects = true;
  auto agent = StartAgent(std::move(policy));
  Nth(1);
  server_.EndDeskStream(grpc::Status(grpc::StatusCode::UNAVAILABLE, "network"));
  const v1::AgentMessage again = Nth(2);  // after the 1 s backoff
  EXPECT_TRUE(again.has_login()) << again.DebugString();
  EXPECT_EQ(server_.desk_logins(), 2);
  EXPECT_FALSE(agent->Done());
}

// Cluster mode: the node an agent is logged in at loses ownership and ends
// the stream naming the owner; the agent logs in there (even with a policy
// that does not reconnect a broken stream).
TEST_F(DeskClientTest, AStreamEndedNamingTheOwnerIsReopenedThere) {
  FakeServer owner;
  ChannelsByAddress channels;
  auto agent = std::make_unique<DeskClient>(*stub_, login_, std::make_unique<ScriptedPolicy>(),
                                            scheduler_, counters_, &observer_);
  agent->FollowOwner(server_.address(), {server_.address()}, channels);
  agent->Start();
  Nth(1);
  server_.EndDeskStreamNamingOwner(owner.address());
  const std::vector<v1::AgentMessage> at_owner = owner.WaitForDeskMessages(1);
  ASSERT_EQ(at_owner.size(), 1u);
  EXPECT_EQ(at_owner[0].login().agent_id(), "agent-001");
  EXPECT_EQ(server_.desk_logins(), 1);
  EXPECT_FALSE(agent->Done());
  agent.reset();  // logs out at the owner, before the owner goes
}

// A standby at the start: the first login goes to the owner it names.
TEST_F(DeskClientTest, AStandbyAtTheStartSendsTheLoginToTheOwner) {
  testing::FakeStandby standby(server_.address());
  ChannelsByAddress channels;
  std::shared_ptr<grpc::Channel> standby_channel = channels.Get(standby.address());
  auto standby_stub = v1::AgentDesk::NewStub(standby_channel);
  auto agent = std::make_unique<DeskClient>(
      *standby_stub, login_, std::make_unique<ScriptedPolicy>(), scheduler_, counters_, &observer_);
  agent->FollowOwner(standby.address(), {standby.address()}, channels);
  agent->Start();
  EXPECT_TRUE(Nth(1).has_login());
  EXPECT_EQ(standby.calls(), 1);
  agent.reset();
}

// A node that died (or a standby that knows no owner yet): the next listed
// node, with the usual backoff.
TEST_F(DeskClientTest, AnUnreachableNodePassesTheAgentToTheNextListedOne) {
  testing::FakeStandby no_owner_yet("");
  ChannelsByAddress channels;
  auto standby_stub = v1::AgentDesk::NewStub(channels.Get(no_owner_yet.address()));
  auto policy = std::make_unique<ScriptedPolicy>();
  policy->reconnects = true;
  auto agent = std::make_unique<DeskClient>(*standby_stub, login_, std::move(policy), scheduler_,
                                            counters_, &observer_);
  agent->FollowOwner(no_owner_yet.address(), {no_owner_yet.address(), server_.address()}, channels);
  agent->Start();
  EXPECT_TRUE(Nth(1).has_login());  // after the 1 s backoff
  EXPECT_EQ(no_owner_yet.calls(), 1);
  agent.reset();
}

TEST_F(DeskClientTest, ALoginTakenOverByAnotherDesktopIsNotRetried) {
  auto policy = std::make_unique<ScriptedPolicy>();
  policy->reconnects = true;
  auto agent = StartAgent(std::move(policy));
  server_.EndDeskStream(grpc::Status(grpc::StatusCode::ABORTED, "logged in elsewhere"));
  ASSERT_TRUE(agent->WaitDone(kEventually));
  EXPECT_EQ(server_.desk_logins(), 1);
}

TEST_F(DeskClientTest, CloseWithActionsPendingLogsOutCleanly) {
  auto policy = std::make_unique<ScriptedPolicy>();
  policy->accept_delay = seconds(3600);  // still pending at shutdown
  auto agent = StartAgent(std::move(policy));
  server_.SendToDesk(OfferMessage("o-1", "c-7"));
  ASSERT_TRUE(Eventually([&] { return counters_.offers.load() == 1; }));
  scheduler_.Stop();  // drops the pending accept
  agent->Close();
  EXPECT_TRUE(server_.WaitForDeskHalfClose());
  ASSERT_TRUE(agent->WaitDone(kEventually));
  EXPECT_EQ(counters_.agents_logged_in.load(), 0);
  EXPECT_TRUE(counters_.errors().empty());
  EXPECT_EQ(counters_.accepts.load(), 0u);
}

TEST_F(DeskClientTest, CancelEndsAStreamTheServerDoesNotClose) {
  auto agent = StartAgent(std::make_unique<ScriptedPolicy>());
  agent->Cancel();
  ASSERT_TRUE(agent->WaitDone(kEventually));  // the policy does not reconnect
  EXPECT_EQ(counters_.agents_logged_in.load(), 0);
}

// Done means the stream's ClientContext, which holds a reference to the
// channel, is gone: the caller may then drop the channel, and its last
// reference never goes on a gRPC callback thread (there the channel's
// destructor joins the thread it runs on, and the shared callback queue is
// freed twice: the ASan double-free ccload's bench hit at exit).
TEST_F(DeskClientTest, WhenDoneTheStreamNoLongerHoldsTheChannel) {
  const long held_by_the_test = channel_.use_count();  // channel_ and stub_
  for (int i = 0; i < 200; ++i) {
    auto agent = std::make_unique<DeskClient>(*stub_, login_, std::make_unique<ScriptedPolicy>(),
                                              scheduler_, counters_, &observer_);
    agent->Start();
    agent->Close();
    ASSERT_TRUE(agent->WaitDone(kEventually));
    ASSERT_EQ(channel_.use_count(), held_by_the_test) << "after session " << i;
  }
}

// The default queues are shared by the clients not given any, and go (their
// threads joined) with the last of those clients.
TEST_F(DeskClientTest, TheSharedQueuesGoWithTheLastClientUsingThem) {
  std::weak_ptr<DeskCompletionQueues> shared;
  {
    auto agent = StartAgent(std::make_unique<ScriptedPolicy>());
    shared = DeskCompletionQueues::Shared();
    EXPECT_FALSE(shared.expired());
  }
  EXPECT_TRUE(shared.expired());
}

TEST(DeskCompletionQueuesTest, StreamsTakeTheQueuesInTurn) {
  DeskCompletionQueues queues(3);
  std::vector<grpc::CompletionQueue*> taken;
  for (int i = 0; i < 6; ++i) taken.push_back(queues.Next());
  EXPECT_EQ(std::set<grpc::CompletionQueue*>(taken.begin(), taken.end()).size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(taken[i], taken[i + 3]);
}

// Many desktops on a few queues, with offers arriving all the time (each
// accept brings the next offer): the hazards of a stream ending while its
// operations are in flight.
class DeskClientFloodTest : public ::testing::Test {
 protected:
  static constexpr int kAgents = 40;

  DeskClientFloodTest() { server_.FloodDesksWithOffers(); }
  ~DeskClientFloodTest() override {
    scheduler_.Stop();
    agents_.clear();  // before the queues, the channels and the servers
  }

  // Starts kAgents desktops at `server` (in cluster mode when `channels`),
  // and waits until they are all in and every one has had offers.
  void StartAgents(FakeServer& server, ChannelsByAddress* channels = nullptr) {
    stub_ = v1::AgentDesk::NewStub(ChannelTo(server));
    for (int i = 0; i < kAgents; ++i) {
      v1::Login login;
      login.set_agent_id(absl::StrCat("agent-", i));
      auto policy = std::make_unique<ScriptedPolicy>();
      policy->handle = DeskPolicy::Duration::zero();  // completes and wraps up at once too
      agents_.push_back(
          std::make_unique<DeskClient>(*stub_, login, std::move(policy), scheduler_, counters_));
      agents_.back()->UseCompletionQueues(queues_);
      if (channels != nullptr) {
        agents_.back()->FollowOwner(server.address(), {server.address()}, *channels);
      }
      agents_.back()->Start();
    }
    ASSERT_TRUE(Eventually([&] { return counters_.agents_logged_in.load() == kAgents; }));
    const uint64_t offers = counters_.offers.load();
    ASSERT_TRUE(Eventually([&] { return counters_.offers.load() >= offers + 10 * kAgents; }));
  }

  FakeServer server_;
  DeskCompletionQueues queues_{2};  // outlives the agents
  RunCounters counters_;
  Scheduler scheduler_;
  std::unique_ptr<v1::AgentDesk::Stub> stub_;
  std::vector<std::unique_ptr<DeskClient>> agents_;
};

TEST_F(DeskClientFloodTest, DesktopsClosedOrCancelledWhileOffersArriveAllEnd) {
  StartAgents(server_);
  scheduler_.Stop();
  for (int i = 0; i < kAgents; ++i) {
    if (i % 2 == 0) {
      agents_[i]->Close();
    } else {
      agents_[i]->Cancel();
    }
  }
  for (auto& agent : agents_) ASSERT_TRUE(agent->WaitDone(kEventually));
  EXPECT_EQ(counters_.agents_logged_in.load(), 0);
  // A cancelled stream ends CANCELLED (counted: it was not closing); a
  // closed one is logged out cleanly.
  const std::map<std::string, uint64_t> want = {{"AgentDesk.Connect CANCELLED", kAgents / 2}};
  EXPECT_EQ(counters_.errors(), want);
  EXPECT_TRUE(Eventually([&] { return server_.open_desk_streams() == 0; }));
}

// ccload's shutdown against an engine that does not end the streams: close
// every one, then cancel what is still open, then the queues go.
TEST_F(DeskClientFloodTest, ShutdownWithStreamsOpenCancelsThemAndTheQueuesGo) {
  server_.IgnoreDeskHalfCloses();
  StartAgents(server_);
  scheduler_.Stop();
  for (auto& agent : agents_) agent->Close();
  ASSERT_TRUE(server_.WaitForDeskHalfClose());
  for (auto& agent : agents_) agent->Cancel();
  for (auto& agent : agents_) ASSERT_TRUE(agent->WaitDone(kEventually));
  EXPECT_EQ(counters_.agents_logged_in.load(), 0);
  EXPECT_TRUE(counters_.errors().empty());  // closing: a cancel is expected
  agents_.clear();
  EXPECT_TRUE(Eventually([&] { return server_.open_desk_streams() == 0; }));
}

// Destroyed with the streams open and offers arriving, as ccload's agents
// are when it exits: each destructor logs out and waits for the end.
TEST_F(DeskClientFloodTest, DestroyedWithStreamsOpenWhileOffersArrive) {
  StartAgents(server_);
  scheduler_.Stop();
  agents_.clear();
  EXPECT_EQ(counters_.agents_logged_in.load(), 0);
  EXPECT_TRUE(counters_.errors().empty());
  EXPECT_TRUE(Eventually([&] { return server_.open_desk_streams() == 0; }));
}

// Cluster mode: the node loses ownership and ends every stream naming the
// owner while offers are arriving; every desktop logs in there.
TEST_F(DeskClientFloodTest, StreamsEndedNamingTheOwnerWhileOffersArriveAllMoveThere) {
  FakeServer owner;
  ChannelsByAddress channels;
  StartAgents(server_, &channels);
  server_.EndAllDeskStreamsNamingOwner(owner.address());
  EXPECT_TRUE(Eventually([&] { return owner.desk_logins() == kAgents; }));
  EXPECT_TRUE(Eventually([&] { return counters_.agents_logged_in.load() == kAgents; }));
  EXPECT_EQ(server_.desk_logins(), kAgents);
  EXPECT_TRUE(Eventually([&] { return server_.open_desk_streams() == 0; }));
  const std::map<std::string, uint64_t> want = {{"AgentDesk.Connect UNAVAILABLE", kAgents}};
  EXPECT_EQ(counters_.errors(), want);
  scheduler_.Stop();
  agents_.clear();  // logs out at the owner, before the owner goes
  EXPECT_EQ(counters_.agents_logged_in.load(), 0);
}

// ---------------------------------------------------------------------------
// Scheduler

TEST(SchedulerTest, RunsAnActionOnItsThreadAndDropsPendingOnesAtStop) {
  Scheduler scheduler;
  std::mutex mu;
  std::condition_variable cv;
  bool ran = false, on_timer_thread = false, late_ran = false;
  scheduler.After(Scheduler::Clock::duration::zero(), [&] {
    std::lock_guard lock(mu);
    ran = true;
    on_timer_thread = scheduler.OnTimerThread();
    cv.notify_all();
  });
  scheduler.After(seconds(3600), [&] { late_ran = true; });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kEventually, [&] { return ran; }));
  }
  EXPECT_TRUE(on_timer_thread);
  EXPECT_FALSE(scheduler.OnTimerThread());
  scheduler.Stop();  // returns without waiting for the hour
  scheduler.After(Scheduler::Clock::duration::zero(), [&] { late_ran = true; });
  EXPECT_FALSE(late_ran);
}

}  // namespace
}  // namespace ccr::load
