#include <condition_variable>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "base/std_mutex.h"
#include "base/thread_checker.h"
#include "gtest/gtest.h"

namespace ccr {
namespace {

// --- CCR_RETURN_IF_ERROR / CCR_ASSIGN_OR_RETURN

absl::Status FailIf(bool fail, int* calls) {
  ++*calls;
  return fail ? absl::InvalidArgumentError("config.queues[3].name: empty") : absl::OkStatus();
}

absl::Status TwoSteps(bool fail_first, bool fail_second, int* calls, bool* reached_end) {
  CCR_RETURN_IF_ERROR(FailIf(fail_first, calls));
  CCR_RETURN_IF_ERROR(FailIf(fail_second, calls));
  *reached_end = true;
  return absl::OkStatus();
}

TEST(StatusMacros, ReturnIfErrorPassesOkThrough) {
  int calls = 0;
  bool reached_end = false;
  EXPECT_TRUE(TwoSteps(false, false, &calls, &reached_end).ok());
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(reached_end);
}

TEST(StatusMacros, ReturnIfErrorReturnsTheFirstErrorUnchangedAndStops) {
  int calls = 0;
  bool reached_end = false;
  const absl::Status s = TwoSteps(true, false, &calls, &reached_end);
  EXPECT_EQ(s, absl::InvalidArgumentError("config.queues[3].name: empty"));
  EXPECT_EQ(calls, 1);  // evaluated once, and nothing after it ran
  EXPECT_FALSE(reached_end);
}

absl::StatusOr<std::unique_ptr<int>> MakeInt(int value, int* calls) {
  ++*calls;
  if (value < 0) return absl::OutOfRangeError("value: negative");
  return std::make_unique<int>(value);
}

// Two declarations in one scope (hidden names must not collide), a move-only
// value, and an assignment to an existing variable.
absl::StatusOr<int> Sum(int a, int b, int* calls) {
  CCR_ASSIGN_OR_RETURN(std::unique_ptr<int> first, MakeInt(a, calls));
  CCR_ASSIGN_OR_RETURN(auto second, MakeInt(b, calls));
  std::unique_ptr<int> third;
  CCR_ASSIGN_OR_RETURN(third, MakeInt(1, calls));
  return *first + *second + *third;
}

TEST(StatusMacros, AssignOrReturnMovesTheValue) {
  int calls = 0;
  absl::StatusOr<int> sum = Sum(2, 3, &calls);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(*sum, 6);
  EXPECT_EQ(calls, 3);
}

TEST(StatusMacros, AssignOrReturnReturnsTheErrorUnchangedAndStops) {
  int calls = 0;
  absl::StatusOr<int> sum = Sum(2, -1, &calls);
  EXPECT_EQ(sum.status(), absl::OutOfRangeError("value: negative"));
  EXPECT_EQ(calls, 2);
}

// --- CCR_CHECK

TEST(Check, PassingCheckEvaluatesOnceAndNotTheMessage) {
  int evaluated = 0;
  int message_built = 0;
  auto message = [&] {
    ++message_built;
    return "unused";
  };
  CCR_CHECK(++evaluated == 1) << message();
  EXPECT_EQ(evaluated, 1);
  EXPECT_EQ(message_built, 0);
}

TEST(CheckDeathTest, FailingCheckAbortsWithWhereWhatAndTheMessage) {
  const int queued = 3;
  EXPECT_DEATH(CCR_CHECK(queued == 0) << "queued " << queued,
               "CCR_CHECK failed at .*base_test.cc:[0-9]+: queued == 0: queued 3");
}

TEST(CheckDeathTest, FailingCheckWithoutMessage) {
  EXPECT_DEATH(CCR_CHECK(1 + 1 == 3), "CCR_CHECK failed at .*: 1 \\+ 1 == 3\n");
}

// Usable as the body of an unbraced if/else (one expression statement).
TEST(Check, IsOneStatement) {
  bool ok = true;
  if (ok)
    CCR_CHECK(ok) << "then";
  else
    CCR_CHECK(!ok) << "else";
  SUCCEED();
}

// --- ThreadChecker

TEST(ThreadChecker, UnboundPassesOnEveryThread) {
  ThreadChecker checker;
  EXPECT_TRUE(checker.IsOnOwnerThread());
  bool on_other = false;
  std::thread([&] { on_other = checker.IsOnOwnerThread(); }).join();
  EXPECT_TRUE(on_other);
}

TEST(ThreadChecker, BoundPassesOnlyOnItsThread) {
  ThreadChecker checker;
  std::thread([&] { checker.BindToCurrentThread(); }).join();
  EXPECT_FALSE(checker.IsOnOwnerThread());
  checker.BindToCurrentThread();
  EXPECT_TRUE(checker.IsOnOwnerThread());
  bool on_other = true;
  std::thread([&] { on_other = checker.IsOnOwnerThread(); }).join();
  EXPECT_FALSE(on_other);
  checker.Unbind();
  std::thread([&] { on_other = checker.IsOnOwnerThread(); }).join();
  EXPECT_TRUE(on_other);
}

TEST(ThreadCheckerDeathTest, CheckOffTheOwnerThreadAborts) {
  ThreadChecker checker;
  checker.BindToCurrentThread();
  CCR_CHECK_ON_THREAD(checker) << "on the owner: passes";
  EXPECT_DEATH(std::thread([&] { CCR_CHECK_ON_THREAD(checker) << "Engine::Apply"; }).join(),
               "IsOnOwnerThread\\(\\): called off its owner thread; Engine::Apply");
}

// --- StdMutex

TEST(StdMutex, WaitReturnsWithTheLockHeldOnceNotified) {
  StdMutex mu;
  std::condition_variable changed;
  int value = 0;  // guarded by mu (a local: not annotatable)
  std::thread writer([&] {
    StdMutexLock lock(&mu);
    value = 42;
    changed.notify_all();
  });
  {
    StdMutexLock lock(&mu);
    while (value == 0) mu.Wait(changed);
    EXPECT_EQ(value, 42);
  }
  writer.join();
}

TEST(StdMutex, WaitUntilAPassedDeadlineReturnsFalse) {
  StdMutex mu;
  std::condition_variable never;
  StdMutexLock lock(&mu);
  bool notified = true;
  // A deadline already passed: no waiting, false (spurious wake-ups aside,
  // which the loop absorbs).
  for (int i = 0; i < 3 && notified; ++i) {
    notified = mu.WaitUntil(never, std::chrono::steady_clock::now() - std::chrono::seconds(1));
  }
  EXPECT_FALSE(notified);
}

}  // namespace
}  // namespace ccr
