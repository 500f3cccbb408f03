// The engine's sinks (engine/sinks.h) over gRPC server streams: an agent
// desktop's AgentDesk.Connect and an Admin.WatchEvents stream, each a bounded
// StreamWriter.
#ifndef CCROUTER_ENGINE_GRPC_GRPC_SINKS_H_
#define CCROUTER_ENGINE_GRPC_GRPC_SINKS_H_

#include <functional>
#include <utility>

#include "ccrouter/v1/agent_desk.pb.h"
#include "ccrouter/v1/events.pb.h"
#include "engine/grpc/grpc_status.h"
#include "engine/grpc/stream_writer.h"
#include "engine/sinks.h"
#include "grpcpp/support/server_callback.h"

namespace ccr {

class AgentOutbox final
    : public StreamWriter<grpc::ServerBidiReactor<v1::AgentMessage, v1::ServerMessage>,
                          v1::ServerMessage>,
      public AgentSink {
 public:
  using Writer =
      StreamWriter<grpc::ServerBidiReactor<v1::AgentMessage, v1::ServerMessage>, v1::ServerMessage>;
  using Writer::Writer;
  bool Send(v1::ServerMessage message) override { return Writer::Send(std::move(message)); }
  void Close(const absl::Status& status) override { Finish(ToGrpcStatus(status)); }
};

class EventOutbox final
    : public StreamWriter<grpc::ServerWriteReactor<v1::LifecycleEvent>, v1::LifecycleEvent>,
      public EventSink {
 public:
  using Writer = StreamWriter<grpc::ServerWriteReactor<v1::LifecycleEvent>, v1::LifecycleEvent>;
  using Writer::Writer;
  WriteResult TryWrite(const v1::LifecycleEvent& event) override {
    switch (TrySend(event)) {
      case TrySendResult::kQueued:
        return WriteResult::kQueued;
      case TrySendResult::kFull:
        return WriteResult::kFull;
      case TrySendResult::kClosed:
        break;
    }
    return WriteResult::kClosed;
  }
  bool NotifyWhenRoom(std::function<void()> on_room) override {
    return Writer::NotifyWhenRoom(std::move(on_room));
  }
  bool closed() const override { return Writer::closed(); }
  void Close(const absl::Status& status) override { Finish(ToGrpcStatus(status)); }
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_GRPC_GRPC_SINKS_H_
