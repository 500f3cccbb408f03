// StdMutex: std::mutex with clang's thread-safety annotations, so members
// marked ABSL_GUARDED_BY(mu_) are checked by -Wthread-safety as with
// absl::Mutex.
//
// Use absl::Mutex. This is for the few locks taken per routing decision
// where a profile said absl::Mutex costs: Debian's abseil is built without
// NDEBUG, so every absl::Mutex lock runs deadlock detection under one
// process-wide spin lock (BENCHMARKS.md, "Logging": the log writer's queue).
//
//   StdMutex mu_;
//   std::condition_variable changed_;
//   bool ready_ ABSL_GUARDED_BY(mu_) = false;
//   ...
//   StdMutexLock lock(&mu_);
//   while (!ready_) mu_.Wait(changed_);
#ifndef CCROUTER_BASE_STD_MUTEX_H_
#define CCROUTER_BASE_STD_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace ccr {

class ABSL_LOCKABLE StdMutex {
 public:
  StdMutex() = default;
  StdMutex(const StdMutex&) = delete;
  StdMutex& operator=(const StdMutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

  // Releases the lock, blocks until `cv` is notified (or spuriously), and
  // takes the lock again: call it in a loop over the awaited condition.
  void Wait(std::condition_variable& cv) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    cv.wait(lock);
    lock.release();  // still held: the caller's to unlock
  }

  // As Wait, up to `deadline`; false when it has passed.
  bool WaitUntil(std::condition_variable& cv, std::chrono::steady_clock::time_point deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    const bool notified = cv.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return notified;
  }

 private:
  std::mutex mu_;
};

// Holds a StdMutex for its scope.
class ABSL_SCOPED_LOCKABLE StdMutexLock {
 public:
  explicit StdMutexLock(StdMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  StdMutexLock(const StdMutexLock&) = delete;
  StdMutexLock& operator=(const StdMutexLock&) = delete;
  ~StdMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }

 private:
  StdMutex* const mu_;
};

}  // namespace ccr

#endif  // CCROUTER_BASE_STD_MUTEX_H_
