// StreamWriter: the outbound side of one server stream (agent desk, submit
// stream, event watch). Any thread may Send(); messages queue up to a bound
// and go out one write at a time (gRPC allows one outstanding write). A
// stream that falls behind the bound is cancelled and finished with
// RESOURCE_EXHAUSTED instead of growing without limit, so a slow or dead
// client never holds memory or stalls anyone else. Finish happens exactly
// once, after queued messages are flushed.
//
// The reactor owns the StreamWriter's lifetime only indirectly: others hold
// it by shared_ptr, and the reactor calls OnDone() before it is deleted, after
// which Send() returns false and nothing touches the reactor again.
#ifndef CCROUTER_ENGINE_GRPC_STREAM_WRITER_H_
#define CCROUTER_ENGINE_GRPC_STREAM_WRITER_H_

#include <deque>
#include <functional>
#include <mutex>
#include <utility>

#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"

namespace ccr {

template <typename Reactor, typename Message>
class StreamWriter {
 public:
  StreamWriter(Reactor* reactor, grpc::CallbackServerContext* context, size_t max_queued)
      : reactor_(reactor), context_(context), max_queued_(max_queued) {}

  // Queues `message`; false when the stream is closed or just overflowed.
  bool Send(Message message) {
    std::unique_lock lock(mu_);
    if (reactor_ == nullptr || finish_requested_) return false;
    if (queue_.size() >= max_queued_) {
      queue_.clear();
      finish_requested_ = true;
      finish_status_ = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                    "stream is not keeping up with the messages sent to it");
      Reactor* reactor = reactor_;
      finished_ = true;
      context_->TryCancel();  // fails the stuck write so OnDone can follow
      lock.unlock();
      reactor->Finish(finish_status_);
      return false;
    }
    queue_.push_back(std::move(message));
    if (writing_) return true;
    StartNextLocked(lock);
    return true;
  }

  enum class TrySendResult { kQueued, kFull, kClosed };
  // Queues `message` unless the bound is reached; then kFull and nothing
  // changes (the caller keeps its place and asks NotifyWhenRoom): for
  // streams that can re-read what they missed, such as the event feed.
  TrySendResult TrySend(const Message& message) {
    std::unique_lock lock(mu_);
    if (reactor_ == nullptr || finish_requested_) return TrySendResult::kClosed;
    if (queue_.size() >= max_queued_) return TrySendResult::kFull;
    queue_.push_back(message);
    if (!writing_) StartNextLocked(lock);
    return TrySendResult::kQueued;
  }

  // Calls `on_room` once, from a write completion, when at most half the
  // bound is queued. False (and `on_room` is dropped): there is room already.
  bool NotifyWhenRoom(std::function<void()> on_room) {
    std::lock_guard lock(mu_);
    if (reactor_ == nullptr || finish_requested_) return true;  // never: it is closing
    if (queue_.size() <= max_queued_ / 2) return false;
    on_room_ = std::move(on_room);
    return true;
  }

  // Finishes the stream once everything queued is written (exactly once).
  void Finish(grpc::Status status) {
    std::unique_lock lock(mu_);
    if (reactor_ == nullptr || finish_requested_) return;
    finish_requested_ = true;
    finish_status_ = std::move(status);
    if (!writing_ && queue_.empty()) FinishLocked(lock);
  }

  // REQUIRES: called from the reactor's OnWriteDone.
  void OnWriteDone(bool ok) {
    std::unique_lock lock(mu_);
    writing_ = false;
    if (!ok) queue_.clear();  // the stream is broken: nothing more goes out
    std::function<void()> on_room;
    const size_t queued_after = queue_.empty() ? 0 : queue_.size() - 1;  // next one in flight
    if (ok && on_room_ && queued_after <= max_queued_ / 2) on_room.swap(on_room_);
    if (!queue_.empty()) {
      StartNextLocked(lock);
    } else if (finish_requested_ && !finished_) {
      FinishLocked(lock);
    } else {
      lock.unlock();
    }
    if (on_room) on_room();  // outside the lock: it may post or send
  }

  // REQUIRES: called from the reactor's OnDone, before it is deleted.
  void OnDone() {
    std::lock_guard lock(mu_);
    reactor_ = nullptr;
    queue_.clear();
    on_room_ = nullptr;
  }

  bool closed() const {
    std::lock_guard lock(mu_);
    return reactor_ == nullptr || finish_requested_;
  }

 private:
  void StartNextLocked(std::unique_lock<std::mutex>& lock) {
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    Reactor* reactor = reactor_;
    lock.unlock();
    reactor->StartWrite(&in_flight_);  // in_flight_ stays untouched until OnWriteDone
  }

  void FinishLocked(std::unique_lock<std::mutex>& lock) {
    finished_ = true;
    Reactor* reactor = reactor_;
    grpc::Status status = finish_status_;
    lock.unlock();
    reactor->Finish(std::move(status));
  }

  mutable std::mutex mu_;
  Reactor* reactor_;                      // GUARDED_BY(mu_); null after OnDone
  grpc::CallbackServerContext* context_;  // valid while reactor_ is
  const size_t max_queued_;               // constant after construction
  std::deque<Message> queue_;             // GUARDED_BY(mu_)
  Message in_flight_;                     // owned by gRPC while writing_
  bool writing_ = false;                  // GUARDED_BY(mu_)
  bool finish_requested_ = false;         // GUARDED_BY(mu_)
  bool finished_ = false;                 // GUARDED_BY(mu_)
  grpc::Status finish_status_;            // GUARDED_BY(mu_)
  std::function<void()> on_room_;         // GUARDED_BY(mu_); see NotifyWhenRoom
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_GRPC_STREAM_WRITER_H_
