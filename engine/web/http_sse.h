// The engine's EventSink (engine/sinks.h) over a Server-Sent Events response,
// beside the gRPC one (engine/grpc/grpc_sinks.h): each LifecycleEvent is one
// SSE event, `id:` its sequence (what an EventSource sends back as
// Last-Event-ID when it reconnects) and `data:` its protobuf JSON mapping on
// one line. The bound is the HttpStream's; a full stream refuses (kFull) and
// the engine feeds it again from the event window when there is room, exactly
// as it does a gRPC watcher, and ends it once it falls behind the window.
#ifndef CCROUTER_ENGINE_WEB_HTTP_SSE_H_
#define CCROUTER_ENGINE_WEB_HTTP_SSE_H_

#include <memory>
#include <string>

#include "ccrouter/v1/events.pb.h"
#include "engine/http_server.h"
#include "engine/sinks.h"

namespace ccr {

// One event as SSE text: "id: 42\ndata: {...}\n\n".
std::string SseEventText(const v1::LifecycleEvent& event);

class SseEventSink final : public EventSink {
 public:
  explicit SseEventSink(std::shared_ptr<HttpStream> stream) : stream_(std::move(stream)) {}
  // Copies the event; its JSON is made on the HTTP io thread, not the strand.
  WriteResult TryWrite(const v1::LifecycleEvent& event) override;
  bool NotifyWhenRoom(std::function<void()> on_room) override {
    return stream_->NotifyWhenRoom(std::move(on_room));
  }
  bool closed() const override { return stream_->closed(); }
  // OK (drain): the stream just ends, and an EventSource reconnects with
  // Last-Event-ID. An error (fell behind the window) is told first, as a
  // `stream-error` event whose data is the JSON error.
  void Close(const absl::Status& status) override;

 private:
  const std::shared_ptr<HttpStream> stream_;
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_WEB_HTTP_SSE_H_
