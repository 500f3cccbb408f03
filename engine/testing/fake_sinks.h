// Fakes of the engine's sinks (engine/sinks.h): they keep what they are sent
// and how they were closed, for a test to assert on.
#ifndef CCROUTER_ENGINE_TESTING_FAKE_SINKS_H_
#define CCROUTER_ENGINE_TESTING_FAKE_SINKS_H_

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "engine/sinks.h"

namespace ccr {

class FakeAgentSink final : public AgentSink {
 public:
  bool Send(v1::ServerMessage message) override {
    if (closed_with) return false;
    sent.push_back(std::move(message));
    return true;
  }
  void Close(const absl::Status& status) override {
    if (!closed_with) closed_with = status;
  }
  // The messages of one kind (v1::ServerMessage::kOffer, ...), in order.
  std::vector<v1::ServerMessage> Of(v1::ServerMessage::KindCase kind) const {
    std::vector<v1::ServerMessage> out;
    for (const v1::ServerMessage& m : sent) {
      if (m.kind_case() == kind) out.push_back(m);
    }
    return out;
  }

  std::vector<v1::ServerMessage> sent;
  std::optional<absl::Status> closed_with;
};

// Holds at most `capacity` events until Drain() takes them (a watcher
// reading), then calls back the engine if it asked for room.
class FakeEventSink final : public EventSink {
 public:
  explicit FakeEventSink(size_t capacity = 1000) : capacity_(capacity) {}
  WriteResult TryWrite(const v1::LifecycleEvent& event) override {
    if (closed_with) return WriteResult::kClosed;
    if (queued.size() >= capacity_) return WriteResult::kFull;
    queued.push_back(event);
    return WriteResult::kQueued;
  }
  bool NotifyWhenRoom(std::function<void()> on_room) override {
    if (queued.size() < capacity_) return false;
    on_room_ = std::move(on_room);
    return true;
  }
  bool closed() const override { return closed_with.has_value(); }
  void Close(const absl::Status& status) override {
    if (!closed_with) closed_with = status;
  }
  // The watcher reads everything queued; room again.
  std::vector<v1::LifecycleEvent> Drain() {
    std::vector<v1::LifecycleEvent> out;
    out.swap(queued);
    if (on_room_) std::exchange(on_room_, nullptr)();
    return out;
  }

  std::vector<v1::LifecycleEvent> queued;
  std::optional<absl::Status> closed_with;

 private:
  const size_t capacity_;
  std::function<void()> on_room_;
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_TESTING_FAKE_SINKS_H_
