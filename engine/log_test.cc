// The log line format (escaping, masking) and the writer that never blocks
// its callers on a slow reader.
#include "engine/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ccr {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kT = absl::FromUnixSeconds(1'800'000'000);

TEST(LogFormat, ControlCharactersAreEscapedSoNoClientCanForgeALine) {
  const std::string line =
      FormatLogLine(LogLevel::kInfo, "cancelled",
                    {{"reason", "x\r\nts=2027 level=error event=forged\x1b[31m\x7f\x01\t\"\\"},
                     {"queue", "voice_general"}},
                    kT);
  EXPECT_EQ(line,
            "ts=2027-01-15T08:00:00.000Z level=info event=cancelled "
            "reason=\"x\\r\\nts=2027 level=error event=forged\\x1b[31m\\x7f\\x01\\t\\\"\\\\\" "
            "queue=voice_general\n");
  // One line, whatever the values held.
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(LogFormat, EmptyAndSpacedValuesAreQuoted) {
  EXPECT_EQ(FormatLogLine(LogLevel::kWarn, "e", {{"a", ""}, {"b", "two words"}, {"c", "k=v"}}, kT),
            "ts=2027-01-15T08:00:00.000Z level=warn event=e a=\"\" b=\"two words\" c=\"k=v\"\n");
}

TEST(LogFormat, FreeTextIsNeverShown) {
  EXPECT_EQ(MaskFreeText(""), "");
  EXPECT_EQ(MaskFreeText("Mr Smith, 07700 900123, says the bill is wrong"),
            "(free text, 46 bytes)");
}

// The writer's reader (stderr) is a pipe nobody reads. Logging must go on
// without waiting for it, dropping and counting what does not fit, and the
// writer must say how many lines it dropped once the reader catches up.
TEST(LogWriter, AReaderThatDoesNotReadNeverBlocksTheCallerAndDropsAreCounted) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const int saved_stderr = ::dup(2);
  ASSERT_GE(saved_stderr, 0);
  ASSERT_EQ(::dup2(pipe_fds[1], 2), 2);
  const uint64_t dropped_before = LogLinesDropped();
  StartLogWriter({.fd = 2, .max_queued_bytes = 64 * 1024});

  // About 4 MiB of lines: far more than the pipe (64 KiB) and the queue hold.
  std::atomic<bool> logged{false};
  std::thread caller([&] {
    for (int i = 0; i < 20000; ++i) {
      LogAlways("flood", {{"i", absl::StrCat(i)}, {"pad", std::string(200, 'x')}});
    }
    logged.store(true);
  });
  // A caller that drops finishes in milliseconds; one blocked on the pipe
  // never does. The bound only keeps a failing test from hanging.
  for (int i = 0; i < 1000 && !logged.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const bool caller_finished = logged.load();

  // Now read, so everyone can finish, and put stderr back.
  std::string written;
  std::thread reader([&] {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) written.append(buf, n);
  });
  caller.join();
  EXPECT_TRUE(StopLogWriter(absl::Seconds(30)));
  ::dup2(saved_stderr, 2);
  ::close(saved_stderr);
  ::close(pipe_fds[1]);
  reader.join();
  ::close(pipe_fds[0]);

  EXPECT_TRUE(caller_finished) << "LogAlways blocked on a log reader that does not read";
  EXPECT_GT(LogLinesDropped(), dropped_before);
  EXPECT_THAT(written, HasSubstr("event=flood i=0 "));
  EXPECT_THAT(written, HasSubstr("event=log_lines_dropped count="));
  EXPECT_THAT(written, Not(HasSubstr("event=flood i=19999 ")))
      << "nothing was dropped: the test did not fill the queue";
}

TEST(LogWriter, QueuedLinesAreWrittenInOrderByStop) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  std::string written;
  std::thread reader([&] {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) written.append(buf, n);
  });
  StartLogWriter({.fd = pipe_fds[1]});
  for (int i = 0; i < 100; ++i) LogAlways("line", {{"i", absl::StrCat(i)}});
  LogAlways("journal_summary", {});
  // Logged whatever the level, labelled with its own: a warning says so.
  SetLogLevel(LogLevel::kError);
  LogAlways("no_journal", {{"warning", "w"}}, LogLevel::kWarn);
  SetLogLevel(LogLevel::kInfo);
  EXPECT_TRUE(StopLogWriter(absl::Seconds(30)));
  ::close(pipe_fds[1]);
  reader.join();
  ::close(pipe_fds[0]);
  size_t at = 0;
  for (int i = 0; i < 100; ++i) {
    const size_t next = written.find(absl::StrCat("event=line i=", i, "\n"), at);
    ASSERT_NE(next, std::string::npos) << "line " << i << " missing or out of order";
    at = next;
  }
  EXPECT_NE(written.find("event=journal_summary\n", at), std::string::npos);
  EXPECT_NE(written.find("level=warn event=no_journal warning=w\n", at), std::string::npos)
      << written.substr(at);
}

}  // namespace
}  // namespace ccr
