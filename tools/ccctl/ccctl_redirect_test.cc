// ccctl (the built binary) against cluster mode's redirect: in-process fake
// standbys (engine/testing/fake_standby.h) and fake owners (an Admin service
// with canned replies), on loopback ports.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "ccrouter/v1/admin.grpc.pb.h"
#include "codec/owner_redirect.h"
#include "engine/testing/fake_standby.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ccr::ctl {
namespace {

namespace v1 = ::ccrouter::v1;
using ::ccr::testing::FakeStandby;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// An owner: ListQueues answers one queue named after `queue_name`;
// WatchEvents sends `events` (after the requested sequence) and then ends
// with `watch_end`, naming `watch_end_owner` in the trailers when set.
class FakeOwner final : public v1::Admin::Service {
 public:
  struct Options {
    std::string queue_name = "sales";
    std::vector<uint64_t> events;
    grpc::Status watch_end = grpc::Status::OK;
    std::string watch_end_owner;
    bool hold_watch = false;  // WatchEvents ends only when the client cancels
  };

  explicit FakeOwner(Options options) : options_(std::move(options)) {
    int port = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
    address_ = absl::StrCat("127.0.0.1:", port);
  }
  ~FakeOwner() override { server_->Shutdown(); }

  const std::string& address() const { return address_; }
  int list_queues_calls() const { return list_queues_calls_.load(); }
  std::vector<std::optional<uint64_t>> watch_after() {
    absl::MutexLock lock(&mu_);
    return watch_after_;
  }

  grpc::Status ListQueues(grpc::ServerContext*, const v1::ListQueuesRequest*,
                          v1::ListQueuesReply* reply) override {
    list_queues_calls_.fetch_add(1);
    reply->add_queues()->set_name(options_.queue_name);
    return grpc::Status::OK;
  }

  grpc::Status WatchEvents(grpc::ServerContext* context, const v1::WatchEventsRequest* request,
                           grpc::ServerWriter<v1::LifecycleEvent>* writer) override {
    {
      absl::MutexLock lock(&mu_);
      watch_after_.push_back(request->has_after_sequence()
                                 ? std::optional<uint64_t>(request->after_sequence())
                                 : std::nullopt);
    }
    for (uint64_t sequence : options_.events) {
      if (request->has_after_sequence() && sequence <= request->after_sequence()) continue;
      v1::LifecycleEvent event;
      event.set_sequence(sequence);
      event.set_kind(v1::EVENT_KIND_QUEUED);
      writer->Write(event);
    }
    while (options_.hold_watch && !context->IsCancelled()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!options_.watch_end_owner.empty()) {
      context->AddTrailingMetadata(kOwnerMetadataKey, options_.watch_end_owner);
    }
    return options_.watch_end;
  }

 private:
  const Options options_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::atomic<int> list_queues_calls_{0};
  absl::Mutex mu_;
  std::vector<std::optional<uint64_t>> watch_after_ ABSL_GUARDED_BY(mu_);
};

struct CcctlRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CcctlRun RunCcctl(const std::string& arguments) {
  CcctlRun run;
  const std::string command = absl::StrCat(CCCTL_BINARY, " ", arguments, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  while (size_t bytes = fread(buffer, 1, sizeof buffer, pipe)) run.output.append(buffer, bytes);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// A file a child process writes its output to (unlinked at once).
class TempOutput {
 public:
  TempOutput() {
    char path[] = "/tmp/ccctl_redirect_test.XXXXXX";
    fd_ = mkstemp(path);
    if (fd_ >= 0) unlink(path);
  }
  ~TempOutput() {
    if (fd_ >= 0) close(fd_);
  }
  int fd() const { return fd_; }
  std::string Read() const {
    std::string text;
    char buffer[4096];
    ssize_t bytes;
    for (off_t at = 0; (bytes = pread(fd_, buffer, sizeof buffer, at)) > 0; at += bytes) {
      text.append(buffer, static_cast<size_t>(bytes));
    }
    return text;
  }

 private:
  int fd_ = -1;
};

// A loopback port nothing listens on (a server started and shut down).
std::string DeadAddress() {
  FakeStandby gone("");
  return gone.address();
}

TEST(CcctlRedirectTest, UnaryCallFollowsTheStandbysRedirectToTheOwner) {
  FakeOwner owner({});
  FakeStandby standby(owner.address());
  const CcctlRun run = RunCcctl(absl::StrCat("queues --json --server ", standby.address()));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("\"name\":\"sales\""));
  EXPECT_EQ(standby.calls(), 1);
  EXPECT_EQ(owner.list_queues_calls(), 1);
}

TEST(CcctlRedirectTest, UnreachableAndOwnerlessAddressesPassToTheNextListedOne) {
  FakeOwner owner({});
  FakeStandby no_owner_yet("");
  const CcctlRun run = RunCcctl(absl::StrCat("queues --json --server ", DeadAddress(), ",",
                                             no_owner_yet.address(), ",", owner.address()));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("\"name\":\"sales\""));
  EXPECT_EQ(no_owner_yet.calls(), 1);
}

TEST(CcctlRedirectTest, FollowsTwoRedirectsAtMostAndNamesEachAddressTried) {
  FakeOwner owner({});
  // Three standbys in a chain: the third redirect is not followed.
  FakeStandby third(owner.address());
  FakeStandby second(third.address());
  FakeStandby first(second.address());
  const CcctlRun run = RunCcctl(absl::StrCat("queues --server ", first.address()));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("UNAVAILABLE: standby: the owner is at " + owner.address()));
  EXPECT_THAT(run.output, HasSubstr(first.address() + " (a standby; the owner is at "));
  EXPECT_THAT(run.output, HasSubstr("not followed: 2 redirects at most"));
  EXPECT_EQ(owner.list_queues_calls(), 0);
}

TEST(CcctlRedirectTest, EveryAddressUnreachableFailsNamingThemAll) {
  const std::string dead_a = DeadAddress();
  const std::string dead_b = DeadAddress();
  const CcctlRun run = RunCcctl(absl::StrCat("queues --timeout 2 --server ", dead_a, ",", dead_b));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("ccctl: tried " + dead_a));
  EXPECT_THAT(run.output, HasSubstr("reachable at " + dead_a + "," + dead_b + "?"));
}

// Only the sequence numbers of `watch`'s text lines.
std::vector<std::string> EventSequences(const std::string& output) {
  std::vector<std::string> sequences;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (line.empty() || line.substr(0, 5) == "ccctl") continue;
    sequences.emplace_back(line.substr(0, line.find(' ')));
  }
  return sequences;
}

// Ctrl-C still stops `watch` cleanly after a redirect: the stop signals are
// blocked before gRPC starts a thread, whichever address it ends up at.
TEST(CcctlRedirectTest, WatchAtTheOwnerStopsCleanlyOnSigint) {
  FakeOwner::Options options;
  options.events = {1};
  options.hold_watch = true;
  FakeOwner owner(options);
  FakeStandby standby(owner.address());
  TempOutput output;
  const std::string binary = CCCTL_BINARY;
  const std::string server = standby.address();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(output.fd(), 1);
    dup2(output.fd(), 2);
    execl(binary.c_str(), binary.c_str(), "watch", "--after", "0", "--server", server.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (owner.watch_after().empty() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(owner.watch_after().size(), 1u);
  kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  const std::string text = output.Read();
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status) << "\n" << text;
  EXPECT_EQ(WEXITSTATUS(status), 0) << text;
  EXPECT_THAT(text, HasSubstr("ccctl: stopped"));
}

TEST(CcctlRedirectTest, WatchFollowsARedirectAtTheStartAndResumesAtTheNewOwner) {
  // The old owner streams 1 and 2, then loses ownership to `new_owner`,
  // which has 1..3 and ends the stream.
  FakeOwner::Options new_owner_options;
  new_owner_options.events = {1, 2, 3};
  FakeOwner new_owner(new_owner_options);
  FakeOwner old_owner({.events = {1, 2},
                       .watch_end = grpc::Status(grpc::StatusCode::UNAVAILABLE, "standby now"),
                       .watch_end_owner = new_owner.address()});
  FakeStandby standby(old_owner.address());
  const CcctlRun run = RunCcctl(absl::StrCat("watch --after 0 --server ", standby.address()));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(EventSequences(run.output), ElementsAre("1", "2", "3"));
  EXPECT_THAT(run.output, HasSubstr("the server at " + new_owner.address() + " ended the stream"));
  EXPECT_THAT(old_owner.watch_after(), ElementsAre(std::optional<uint64_t>(0)));
  EXPECT_THAT(new_owner.watch_after(), ElementsAre(std::optional<uint64_t>(2)));
  EXPECT_THAT(run.output, Not(HasSubstr("UNAVAILABLE")));
}

}  // namespace
}  // namespace ccr::ctl
