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
//
// The "reactor" is anything with StartWrite(const Message*) and
// Finish(grpc::Status): a callback-API reactor, or a completion-queue call
// (engine/grpc/agent_desk_server.cc) whose OnDone may come while a write or
// the finish is still pending, so it asks idle() before it deletes itself.
#ifndef CCROUTER_ENGINE_GRPC_STREAM_WRITER_H_
#define CCROUTER_ENGINE_GRPC_STREAM_WRITER_H_

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "base/check.h"
#include "base/std_mutex.h"
#include "codec/owner_redirect.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"

namespace ccr {

// When a StreamWriter starts a write or the finish.
enum class StartOps {
  // With its lock released: a callback reactor may complete the operation
  // inline, re-entering OnWriteDone. OnDone comes only after every operation
  // completed.
  kUnlocked,
  // Under its lock: a completion-queue call never completes one inline, and
  // its OnDone may come at any time, so once OnDone has returned no thread is
  // still about to start an operation on a call about to be deleted.
  kUnderLock,
};

template <typename Reactor, typename Message, StartOps kStartOps = StartOps::kUnlocked>
class StreamWriter {
 public:
  StreamWriter(Reactor* reactor, grpc::ServerContextBase* context, size_t max_queued)
      : reactor_(reactor), context_(context), max_queued_(max_queued) {}

  // Queues `message`; false when the stream is closed or just overflowed.
  bool Send(Message message) ABSL_LOCKS_EXCLUDED(mu_) {
    mu_.Lock();
    if (reactor_ == nullptr || finish_requested_) {
      mu_.Unlock();
      return false;
    }
    if (queue_.size() >= max_queued_) {
      queue_.clear();
      finish_requested_ = true;
      finish_status_ = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                    "stream is not keeping up with the messages sent to it");
      context_->TryCancel();  // fails the stuck write so OnDone can follow
      FinishAndUnlock();
      return false;
    }
    queue_.push_back(std::move(message));
    if (writing_) {
      mu_.Unlock();
      return true;
    }
    StartNextAndUnlock();
    return true;
  }

  enum class TrySendResult { kQueued, kFull, kClosed };
  // Queues `message` unless the bound is reached; then kFull and nothing
  // changes (the caller keeps its place and asks NotifyWhenRoom): for
  // streams that can re-read what they missed, such as the event feed.
  TrySendResult TrySend(const Message& message) ABSL_LOCKS_EXCLUDED(mu_) {
    mu_.Lock();
    TrySendResult result = TrySendResult::kQueued;
    if (reactor_ == nullptr || finish_requested_) {
      result = TrySendResult::kClosed;
    } else if (queue_.size() >= max_queued_) {
      result = TrySendResult::kFull;
    } else {
      queue_.push_back(message);
      if (!writing_) {
        StartNextAndUnlock();
        return result;
      }
    }
    mu_.Unlock();
    return result;
  }

  // Calls `on_room` once, from a write completion, when at most half the
  // bound is queued. False (and `on_room` is dropped): there is room already.
  bool NotifyWhenRoom(std::function<void()> on_room) ABSL_LOCKS_EXCLUDED(mu_) {
    StdMutexLock lock(&mu_);
    if (reactor_ == nullptr || finish_requested_) return true;  // never: it is closing
    if (queue_.size() <= max_queued_ / 2) return false;
    on_room_ = std::move(on_room);
    return true;
  }

  // Finishes the stream once everything queued is written (exactly once).
  // `owner`: the trailing metadata names it (codec/owner_redirect.h), so the
  // client reconnects there.
  void Finish(grpc::Status status, std::optional<std::string> owner = std::nullopt)
      ABSL_LOCKS_EXCLUDED(mu_) {
    mu_.Lock();
    if (reactor_ == nullptr || finish_requested_) {
      mu_.Unlock();
      return;
    }
    finish_requested_ = true;
    finish_status_ = std::move(status);
    finish_owner_ = std::move(owner);
    if (!writing_ && queue_.empty()) {
      FinishAndUnlock();
      return;
    }
    mu_.Unlock();
  }

  // REQUIRES: called from the reactor's OnWriteDone.
  void OnWriteDone(bool ok) ABSL_LOCKS_EXCLUDED(mu_) {
    mu_.Lock();
    CCR_CHECK(writing_) << "OnWriteDone without a write in flight";
    writing_ = false;
    if (reactor_ == nullptr) {  // after OnDone (kUnderLock only): nothing more starts
      mu_.Unlock();
      return;
    }
    if (!ok) queue_.clear();  // the stream is broken: nothing more goes out
    std::function<void()> on_room;
    const size_t queued_after = queue_.empty() ? 0 : queue_.size() - 1;  // next one in flight
    if (ok && on_room_ && queued_after <= max_queued_ / 2) on_room.swap(on_room_);
    if (!queue_.empty()) {
      StartNextAndUnlock();
    } else if (finish_requested_ && !finished_) {
      FinishAndUnlock();
    } else {
      mu_.Unlock();
    }
    if (on_room) on_room();  // outside the lock: it may post or send
  }

  // REQUIRES: kUnderLock; called when the finish started has completed.
  void OnFinishDone() ABSL_LOCKS_EXCLUDED(mu_) {
    static_assert(kStartOps == StartOps::kUnderLock, "callback reactors end with OnDone");
    StdMutexLock lock(&mu_);
    CCR_CHECK(finished_ && !finish_done_) << "OnFinishDone without a finish in flight";
    finish_done_ = true;
  }

  // REQUIRES: called from the reactor's OnDone, before it is deleted (with
  // kUnderLock: when the call is over, even with operations still pending;
  // delete it once idle()).
  void OnDone() ABSL_LOCKS_EXCLUDED(mu_) {
    StdMutexLock lock(&mu_);
    reactor_ = nullptr;
    queue_.clear();
    on_room_ = nullptr;
  }

  // No write and no finish started and not yet completed. After OnDone this
  // stays true once it is (nothing starts any more).
  bool idle() const ABSL_LOCKS_EXCLUDED(mu_) {
    StdMutexLock lock(&mu_);
    return !writing_ && (!finished_ || finish_done_);
  }

  bool closed() const ABSL_LOCKS_EXCLUDED(mu_) {
    StdMutexLock lock(&mu_);
    return reactor_ == nullptr || finish_requested_;
  }

 private:
  // Starts writing the front of the queue (see StartOps for where the lock
  // is released).
  void StartNextAndUnlock() ABSL_UNLOCK_FUNCTION(mu_) {
    CCR_CHECK(!writing_ && !queue_.empty()) << "gRPC allows one write in flight";
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    Reactor* reactor = reactor_;
    if constexpr (kStartOps == StartOps::kUnderLock) {
      reactor->StartWrite(&in_flight_);
      mu_.Unlock();
    } else {
      mu_.Unlock();
      reactor->StartWrite(&in_flight_);  // in_flight_ stays untouched until OnWriteDone
    }
  }

  // Finishes with finish_status_, exactly once, outside the lock.
  void FinishAndUnlock() ABSL_UNLOCK_FUNCTION(mu_) {
    CCR_CHECK(!finished_) << "a stream finishes exactly once";
    finished_ = true;
    // Trailing metadata must be added before Finish, while the context lives.
    if (finish_owner_) context_->AddTrailingMetadata(kOwnerMetadataKey, *finish_owner_);
    Reactor* reactor = reactor_;
    if constexpr (kStartOps == StartOps::kUnderLock) {
      reactor->Finish(finish_status_);
      mu_.Unlock();
    } else {
      grpc::Status status = finish_status_;
      mu_.Unlock();
      reactor->Finish(std::move(status));
    }
  }

  // Taken for every message: a StdMutex (base/std_mutex.h says why).
  mutable StdMutex mu_;
  Reactor* reactor_ ABSL_GUARDED_BY(mu_);  // null after OnDone
  // Valid while reactor_ is; used only under mu_ with reactor_ checked.
  grpc::ServerContextBase* context_ ABSL_PT_GUARDED_BY(mu_);
  const size_t max_queued_;  // constant after construction
  std::deque<Message> queue_ ABSL_GUARDED_BY(mu_);
  Message in_flight_;  // owned by gRPC while writing_
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_done_ ABSL_GUARDED_BY(mu_) = false;  // kUnderLock: its completion came
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
  std::optional<std::string> finish_owner_ ABSL_GUARDED_BY(mu_);
  std::function<void()> on_room_ ABSL_GUARDED_BY(mu_);  // see NotifyWhenRoom
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_GRPC_STREAM_WRITER_H_
