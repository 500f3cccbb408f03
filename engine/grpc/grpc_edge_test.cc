// Tests of the gRPC edge's pieces that need no server: the status mapping
// and the bounded stream writer.
#include <optional>
#include <string>
#include <vector>

#include "engine/grpc/grpc_status.h"
#include "engine/grpc/stream_writer.h"
#include "gtest/gtest.h"

namespace ccr {
namespace {

TEST(StatusMapping, AbslCodesMapOntoGrpcCodes) {
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("x")).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ToGrpcStatus(absl::PermissionDeniedError("x")).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

// Stands in for a gRPC write reactor: records writes, completes them when told.
struct FakeWriteReactor {
  void StartWrite(const std::string* message) { written.push_back(*message); }
  void Finish(const grpc::Status& status) { finished = status.error_code(); }
  std::vector<std::string> written;
  std::optional<grpc::StatusCode> finished;
};

TEST(StreamWriter, TrySendStopsAtTheBoundAndCallsBackOnceThereIsRoom) {
  FakeWriteReactor reactor;
  StreamWriter<FakeWriteReactor, std::string> writer(&reactor, nullptr, 4);
  using Result = StreamWriter<FakeWriteReactor, std::string>::TrySendResult;
  EXPECT_EQ(writer.TrySend("a"), Result::kQueued);  // goes straight to the wire
  for (const char* m : {"b", "c", "d", "e"}) EXPECT_EQ(writer.TrySend(m), Result::kQueued);
  EXPECT_EQ(writer.TrySend("f"), Result::kFull);  // nothing changed, the stream stays open
  EXPECT_FALSE(writer.closed());
  int called = 0;
  ASSERT_TRUE(writer.NotifyWhenRoom([&] { ++called; }));
  writer.OnWriteDone(true);  // "b" goes out, 3 queued: over half the bound
  EXPECT_EQ(called, 0);
  writer.OnWriteDone(true);  // 2 queued: room
  EXPECT_EQ(called, 1);
  writer.OnWriteDone(true);
  EXPECT_EQ(called, 1);                                    // once
  EXPECT_FALSE(writer.NotifyWhenRoom([&] { ++called; }));  // room already: no callback kept
  EXPECT_EQ(reactor.written, (std::vector<std::string>{"a", "b", "c", "d"}));
  writer.OnDone();
  EXPECT_EQ(writer.TrySend("g"), Result::kClosed);
}

// gRPC allows one write in flight and calls OnWriteDone once per write: a
// completion with none in flight means the writer's bookkeeping is broken.
TEST(StreamWriterDeathTest, WriteDoneWithNoWriteInFlightAborts) {
  FakeWriteReactor reactor;
  StreamWriter<FakeWriteReactor, std::string> writer(&reactor, nullptr, 4);
  ASSERT_TRUE(writer.Send("a"));
  writer.OnWriteDone(true);  // "a" done; nothing in flight now
  EXPECT_DEATH(writer.OnWriteDone(true), "OnWriteDone without a write in flight");
}

// Finish is sent exactly once, after what was queued.
TEST(StreamWriter, FinishWaitsForTheWriteInFlightAndHappensOnce) {
  FakeWriteReactor reactor;
  StreamWriter<FakeWriteReactor, std::string> writer(&reactor, nullptr, 4);
  ASSERT_TRUE(writer.Send("a"));
  writer.Finish(grpc::Status::OK);
  EXPECT_FALSE(reactor.finished.has_value());  // "a" still in flight
  writer.Finish(grpc::Status::CANCELLED);      // ignored: finishing already
  writer.OnWriteDone(true);
  EXPECT_EQ(reactor.finished, grpc::StatusCode::OK);
  EXPECT_FALSE(writer.Send("b"));
}

// A completion-queue call's writer: the call may end (OnDone) with a write
// and then the finish pending; it is idle, and may be deleted, only once each
// has completed, and nothing starts after OnDone.
TEST(StreamWriter, UnderLockTracksPendingOperationsPastOnDone) {
  FakeWriteReactor reactor;
  using Writer = StreamWriter<FakeWriteReactor, std::string, StartOps::kUnderLock>;
  Writer writer(&reactor, nullptr, 4);
  EXPECT_TRUE(writer.idle());
  ASSERT_TRUE(writer.Send("a"));
  ASSERT_TRUE(writer.Send("b"));
  writer.Finish(grpc::Status::OK);
  EXPECT_FALSE(writer.idle());  // "a" in flight
  writer.OnDone();              // the call ended under the write
  EXPECT_FALSE(writer.idle());
  EXPECT_FALSE(writer.Send("c"));
  writer.OnWriteDone(false);  // "b" and the finish never start: the call is gone
  EXPECT_TRUE(writer.idle());
  EXPECT_EQ(reactor.written, (std::vector<std::string>{"a"}));
  EXPECT_FALSE(reactor.finished.has_value());

  // The finish in flight when the call ends keeps it busy until it completes.
  FakeWriteReactor reactor2;
  Writer writer2(&reactor2, nullptr, 4);
  writer2.Finish(grpc::Status::CANCELLED);
  EXPECT_EQ(reactor2.finished, grpc::StatusCode::CANCELLED);
  writer2.OnDone();
  EXPECT_FALSE(writer2.idle());
  writer2.OnFinishDone();
  EXPECT_TRUE(writer2.idle());
}

}  // namespace
}  // namespace ccr
