// Reloads of hostile configs against the real daemon: a gateway keeps
// submitting while an alias bomb arrives through Admin.ReloadConfig and
// through the config file and SIGHUP. The reload is refused with a reason,
// the running config stays, and routing never stops.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_fixture.h"

namespace ccr::testing {
namespace {

using ::testing::HasSubstr;

// Nine levels of nine aliases: 432 bytes, 387 million nodes expanded.
std::string AliasBomb() {
  std::string yaml =
      "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char level = 'b'; level <= 'i'; ++level) {
    absl::StrAppend(&yaml, std::string(1, level), ": &", std::string(1, level), " [");
    for (int i = 0; i < 9; ++i)
      absl::StrAppend(&yaml, i ? "," : "", "*", std::string(1, level - 1));
    yaml += "]\n";
  }
  return yaml;
}

// A gateway submitting on its own connection, one call at a time, until
// stopped; keeps every call's latency and the first failure.
class SubmitLoop {
 public:
  explicit SubmitLoop(std::shared_ptr<grpc::Channel> channel)
      : gateway_(std::move(channel)), thread_([this] { Run(); }) {}
  ~SubmitLoop() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  size_t answered() const { return answered_.load(); }
  // Waits until `n` more submits than now were answered, up to `timeout`.
  bool WaitForMore(size_t n, absl::Duration timeout) const {
    const size_t want = answered() + n;
    const absl::Time deadline = absl::Now() + timeout;
    while (answered() < want && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    return answered() >= want;
  }
  // After Stop.
  size_t failed() const { return failed_; }
  const std::string& first_failure() const { return first_failure_; }
  absl::Duration Percentile(double p) const {
    std::vector<absl::Duration> sorted = latencies_;
    std::sort(sorted.begin(), sorted.end());
    if (sorted.empty()) return absl::InfiniteDuration();
    return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))];
  }

 private:
  void Run() {
    for (int i = 0; !stop_; ++i) {
      v1::SubmitReply reply;
      const absl::Time start = absl::Now();
      grpc::Status s = gateway_.Submit(Contact(absl::StrCat("loop-", i), v1::CHANNEL_CHAT), &reply);
      latencies_.push_back(absl::Now() - start);
      if (s.ok()) {
        ++answered_;
      } else if (failed_++ == 0) {
        first_failure_ = absl::StrCat(s.error_code(), ": ", s.error_message());
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
  }

  Gateway gateway_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> answered_{0};
  // Written by the loop thread only; read after Stop.
  size_t failed_ = 0;
  std::string first_failure_;
  std::vector<absl::Duration> latencies_;
  std::thread thread_;
};

class ConfigReloadTest : public DaemonFixture {};

TEST_F(ConfigReloadTest, AliasBombIsRefusedWhileSubmitsKeepBeingAnswered) {
  ASSERT_TRUE(StartDaemon());
  SubmitLoop loop(NewChannel());
  ASSERT_TRUE(loop.WaitForMore(20, absl::Seconds(10))) << "the gateway's submits are not answered";
  Operator op(NewChannel());

  // Through Admin.ReloadConfig (the old engine spent 51 s on the strand on
  // this and then died of std::bad_alloc; the operator's deadline is 5 s).
  v1::ReloadConfigReply reply;
  grpc::Status s = op.ReloadConfig(AliasBomb(), &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("more than 200000 nodes"));
  EXPECT_TRUE(loop.WaitForMore(50, absl::Seconds(10))) << "submits stopped after the reload";

  // Through the config file and SIGHUP.
  {
    std::ofstream file(daemon().config_path(), std::ios::trunc);
    file << AliasBomb();
  }
  ASSERT_EQ(::kill(daemon().pid(), SIGHUP), 0);
  EXPECT_TRUE(daemon().WaitForStderr("event=config_reload_failed", absl::Seconds(10)))
      << daemon().StderrText();
  EXPECT_THAT(daemon().StderrText(), HasSubstr("more than 200000 nodes"));
  EXPECT_TRUE(loop.WaitForMore(50, absl::Seconds(10))) << "submits stopped after SIGHUP";
  loop.Stop();

  EXPECT_EQ(loop.failed(), 0u) << loop.first_failure();
  // Generous for a loaded 2-core machine; a blocked strand takes seconds.
  EXPECT_LT(loop.Percentile(0.99), absl::Milliseconds(500));
  EXPECT_LT(loop.Percentile(1.0), absl::Seconds(2));

  // The running config stayed, and a good reload still works.
  ASSERT_EQ(::kill(daemon().pid(), 0), 0) << "the daemon died";
  v1::ListQueuesReply queues;
  ASSERT_TRUE(op.ListQueues(&queues).ok());
  EXPECT_EQ(queues.queues_size(), 7);
  s = op.ReloadConfig(yaml_, &reply);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.queues(), 7u);
}

// Keys read only at start are never silently ignored by a reload (it used to
// answer OK while max_strand_backlog stayed as it was): the reload is refused
// naming them, and a config changing only reloadable keys still applies.
TEST_F(ConfigReloadTest, ReloadChangingAStartOnlyKeyIsRefusedNamingIt) {
  ASSERT_TRUE(StartDaemon());
  Operator op(NewChannel());
  std::string changed = yaml_;
  const std::string from = "max_strand_backlog: 20000";
  ASSERT_NE(changed.find(from), std::string::npos) << yaml_;
  changed.replace(changed.find(from), from.size(), "max_strand_backlog: 5000");
  v1::ReloadConfigReply reply;
  grpc::Status s = op.ReloadConfig(changed, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("config.max_strand_backlog"));
  EXPECT_THAT(s.error_message(), HasSubstr("restart"));

  std::string reloadable = yaml_;
  const std::string sticky = "sticky_window_seconds: 3600";
  ASSERT_NE(reloadable.find(sticky), std::string::npos) << yaml_;
  reloadable.replace(reloadable.find(sticky), sticky.size(), "sticky_window_seconds: 600");
  s = op.ReloadConfig(reloadable, &reply);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(ConfigReloadTest, ConfigFileOverTheLimitIsRefusedOnSighupNamingIt) {
  ASSERT_TRUE(StartDaemon());
  // gRPC caps a ReloadConfig request at 64 KiB; a file is capped at 1 MiB.
  {
    std::ofstream file(daemon().config_path(), std::ios::trunc);
    file << yaml_ << "#" << std::string(1024 * 1024, 'x') << "\n";
  }
  ASSERT_EQ(::kill(daemon().pid(), SIGHUP), 0);
  EXPECT_TRUE(daemon().WaitForStderr("event=config_reload_failed", absl::Seconds(10)))
      << daemon().StderrText();
  EXPECT_THAT(daemon().StderrText(), HasSubstr("over the limit of 1048576 bytes"));
}

}  // namespace
}  // namespace ccr::testing
