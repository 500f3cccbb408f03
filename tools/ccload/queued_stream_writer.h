// QueuedStreamWriter: a client bidi stream (gRPC callback API) that several
// threads write to: one write in flight, the rest queued in order, at most
// `max_queued_writes` of them; a failed write (or CancelCall) breaks the
// stream and drops the queue, and so does the end of the read side
// (ReadsEnded). The subclass decides when to half-close
// (MaybeWritesDone, called with mu_ held after every change) and calls
// MarkDoneLocked from its OnDone.
#ifndef CCR_TOOLS_CCLOAD_QUEUED_STREAM_WRITER_H_
#define CCR_TOOLS_CCLOAD_QUEUED_STREAM_WRITER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>

namespace ccr::load {

template <typename Request, typename Response>
class QueuedStreamWriter : public grpc::ClientBidiReactor<Request, Response> {
 public:
  explicit QueuedStreamWriter(size_t max_queued_writes) : max_queued_writes_(max_queued_writes) {}

  // True once OnDone has run (the reactor may then be destroyed).
  bool WaitUntilDone(std::chrono::steady_clock::duration timeout) {
    std::unique_lock lock(mu_);
    return done_cv_.wait_for(lock, timeout, [this] { return done_; });
  }

  // Gives up: cancels the call and drops what is queued (a write in flight
  // fails, and its OnWriteDone lets the subclass release the stream).
  void CancelCall() {
    context_.TryCancel();
    std::lock_guard lock(mu_);
    broken_ = true;
    pending_.clear();
    MaybeWritesDone();
  }

  // The read side ended (the server finished the call, or it broke): no
  // write can succeed any more, and the hold must go so that OnDone comes.
  // Call from OnReadDone(false).
  void ReadsEnded() {
    std::lock_guard lock(mu_);
    broken_ = true;
    pending_.clear();
    MaybeWritesDone();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    if (!ok) {
      broken_ = true;
      writing_ = false;
      pending_.clear();
      MaybeWritesDone();
      return;
    }
    if (!pending_.empty()) {
      current_ = std::move(pending_.front());
      pending_.pop_front();
      this->StartWrite(&current_);
      return;
    }
    writing_ = false;
    MaybeWritesDone();
  }

 protected:
  // REQUIRES: mu_ held, the stream neither broken nor half-closed. False
  // (nothing queued) when max_queued_writes are already waiting.
  bool EnqueueLocked(Request request) {
    if (writing_) {
      if (pending_.size() >= max_queued_writes_) return false;
      pending_.push_back(std::move(request));
      return true;
    }
    writing_ = true;
    current_ = std::move(request);
    this->StartWrite(&current_);
    return true;
  }
  // REQUIRES: mu_ held.
  void MarkDoneLocked() {
    done_ = true;
    done_cv_.notify_all();
  }
  // REQUIRES: mu_ held. Half-closes (and drops the hold) once it may.
  virtual void MaybeWritesDone() = 0;

  grpc::ClientContext context_;
  const size_t max_queued_writes_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  Request current_;              // GUARDED_BY(mu_): the one write in flight
  std::deque<Request> pending_;  // GUARDED_BY(mu_)
  bool writing_ = false;         // GUARDED_BY(mu_)
  bool broken_ = false;          // GUARDED_BY(mu_)
  bool done_ = false;            // GUARDED_BY(mu_)
};

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_QUEUED_STREAM_WRITER_H_
