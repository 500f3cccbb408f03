// "Can't happen" checks that stay on in every build type (ours are all
// NDEBUG builds, so assert() would never fire, not even in tests):
//
//   absl::StatusOr<AgentView> view = router.GetAgent(id, now);
//   CCR_CHECK(view.ok()) << "agent " << id << " just logged in: " << view.status();
//
// A failed check writes `CCR_CHECK failed at FILE:LINE: CONDITION: MESSAGE`
// to stderr directly (not through the log writer, which dies with the
// process) and aborts. Use it for invariants this program's own code keeps,
// never for input: bad input gets an error naming the field. The condition
// is evaluated once; the message only when it fails.
#ifndef CCROUTER_BASE_CHECK_H_
#define CCROUTER_BASE_CHECK_H_

#include <ostream>
#include <sstream>

#include "absl/base/optimization.h"

#define CCR_CHECK(condition)           \
  ABSL_PREDICT_TRUE(condition)         \
  ? (void)0                            \
  : ::ccr::check_internal::Voidify() & \
          ::ccr::check_internal::CheckFailure(__FILE__, __LINE__, #condition).stream()

namespace ccr::check_internal {

// Collects the streamed message; its destructor reports and aborts.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  CheckFailure(const CheckFailure&) = delete;
  CheckFailure& operator=(const CheckFailure&) = delete;
  [[noreturn]] ~CheckFailure();

  std::ostream& stream() { return message_; }

 private:
  const char* const file_;
  const int line_;
  const char* const condition_;
  std::ostringstream message_;
};

// Turns `stream() << ...` into void, so both arms of CCR_CHECK's ?: agree
// (& binds looser than << and tighter than ?:).
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace ccr::check_internal

#endif  // CCROUTER_BASE_CHECK_H_
