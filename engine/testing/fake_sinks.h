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

// Holds at most `capacity` messages until Drain() takes them (the reader
// reading), then calls back the engine if it asked for room.
template <typename Message>
class FakeCatchUpSink final : public CatchUpSink<Message> {
 public:
  using WriteResult = typename CatchUpSink<Message>::WriteResult;
  explicit FakeCatchUpSink(size_t capacity = 1000) : capacity_(capacity) {}
  WriteResult TryWrite(const Message& message) override {
    if (closed()) return WriteResult::kClosed;
    if (queued.size() >= capacity_) return WriteResult::kFull;
    queued.push_back(message);
    return WriteResult::kQueued;
  }
  bool NotifyWhenRoom(std::function<void()> on_room) override {
    if (queued.size() < capacity_) return false;
    on_room_ = std::move(on_room);
    return true;
  }
  bool closed() const override { return closed_with.has_value() || reader_gone; }
  void Close(const absl::Status& status) override {
    if (!closed_with) closed_with = status;
  }
  // The reader reads everything queued; room again.
  std::vector<Message> Drain() {
    std::vector<Message> out;
    out.swap(queued);
    if (on_room_) std::exchange(on_room_, nullptr)();
    return out;
  }

  std::vector<Message> queued;
  std::optional<absl::Status> closed_with;
  bool reader_gone = false;  // the client cancelled: closed, never Close()d

 private:
  const size_t capacity_;
  std::function<void()> on_room_;
};

using FakeEventSink = FakeCatchUpSink<v1::LifecycleEvent>;
using FakeContactStatusSink = FakeCatchUpSink<v1::ContactStatus>;

}  // namespace ccr

#endif  // CCROUTER_ENGINE_TESTING_FAKE_SINKS_H_
