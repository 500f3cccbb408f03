// ThreadChecker: asserts that state owned by one thread (the routing strand)
// is touched only on that thread, Envoy's isThreadSafe() idea:
//
//   class Engine {
//     void StrandOnlyMethod() {
//       CCR_CHECK_ON_THREAD(strand_thread_);
//       ...
//     }
//     ThreadChecker strand_thread_;  // bound when the strand starts
//   };
//   // first thing on the strand's thread:
//   strand_thread_.BindToCurrentThread();
//
// Until bound (construction, recovery, tests that drive the object from one
// thread) any thread passes; Unbind() returns to that, e.g. after the strand
// has stopped and the main thread shuts down. The check is on in every build
// type: it costs one thread-id comparison.
#ifndef CCROUTER_BASE_THREAD_CHECKER_H_
#define CCROUTER_BASE_THREAD_CHECKER_H_

#include <atomic>
#include <thread>

#include "base/check.h"

namespace ccr {

class ThreadChecker {
 public:
  ThreadChecker() = default;
  ThreadChecker(const ThreadChecker&) = delete;
  ThreadChecker& operator=(const ThreadChecker&) = delete;

  // From now on only the calling thread passes.
  void BindToCurrentThread() {
    owner_.store(std::this_thread::get_id(), std::memory_order_release);
  }
  // Any thread passes again.
  void Unbind() { owner_.store(std::thread::id(), std::memory_order_release); }

  // True when unbound or called on the bound thread.
  bool IsOnOwnerThread() const {
    const std::thread::id owner = owner_.load(std::memory_order_acquire);
    return owner == std::thread::id() || owner == std::this_thread::get_id();
  }

 private:
  std::atomic<std::thread::id> owner_{};  // default id: unbound
};

}  // namespace ccr

// Aborts (CCR_CHECK) when called off the checker's thread; more may be
// streamed: CCR_CHECK_ON_THREAD(strand_thread_) << "Engine::Apply";
#define CCR_CHECK_ON_THREAD(checker) \
  CCR_CHECK((checker).IsOnOwnerThread()) << "called off its owner thread; "

#endif  // CCROUTER_BASE_THREAD_CHECKER_H_
