// Where the engine sends what agents and watchers must see, without naming
// the transport: the gRPC edge implements these over its streams
// (engine/grpc/grpc_sinks.h), WebSocket and SSE desktops may too, and tests
// use fakes (engine/testing/fake_sinks.h). All calls come from the routing
// strand; none may block it.
#ifndef CCROUTER_ENGINE_SINKS_H_
#define CCROUTER_ENGINE_SINKS_H_

#include <functional>

#include "absl/status/status.h"
#include "ccrouter/v1/agent_desk.pb.h"
#include "ccrouter/v1/events.pb.h"
#include "ccrouter/v1/ingest.pb.h"

namespace ccr {

namespace v1 = ::ccrouter::v1;

// One agent desktop's connection.
class AgentSink {
 public:
  virtual ~AgentSink() = default;
  // Queues `message` for the desktop. False when the connection is closed,
  // or has just been closed for falling behind its bound (a desktop that
  // does not keep up is disconnected, never allowed to grow).
  virtual bool Send(v1::ServerMessage message) = 0;
  // Ends the connection with `status` once what is queued has gone out
  // (exactly once; later calls do nothing).
  virtual void Close(const absl::Status& status) = 0;
};

// A stream whose reader can catch up from what the engine keeps (the event
// window; a contact's current status), so a full sink refuses instead of
// closing and the engine sends again when there is room.
template <typename Message>
class CatchUpSink {
 public:
  enum class WriteResult { kQueued, kFull, kClosed };
  virtual ~CatchUpSink() = default;
  // Queues `message` unless the sink's bound is reached (then kFull and
  // nothing changes).
  virtual WriteResult TryWrite(const Message& message) = 0;
  // Calls `on_room` once, later, from any thread, when there is room again.
  // False (and `on_room` is dropped): there is room already.
  virtual bool NotifyWhenRoom(std::function<void()> on_room) = 0;
  // The reader went away, or the stream was closed.
  virtual bool closed() const = 0;
  // Ends the stream with `status` once what is queued has gone out.
  virtual void Close(const absl::Status& status) = 0;
};

// One lifecycle-event watcher's stream (Admin.WatchEvents).
using EventSink = CatchUpSink<v1::LifecycleEvent>;
// One gateway's stream of a contact's status (ContactIngest.WatchContact).
using ContactStatusSink = CatchUpSink<v1::ContactStatus>;

}  // namespace ccr

#endif  // CCROUTER_ENGINE_SINKS_H_
