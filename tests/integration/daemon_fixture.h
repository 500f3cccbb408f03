// The integration-test harness: the real ccrouterd started on port 0 as a
// child process, and synchronous gRPC clients that drive it the way a gateway,
// an agent desktop and an operator would.
//
// Usage:
//   class MyTest : public ccr::testing::DaemonFixture {};
//   TEST_F(MyTest, Offers) {
//     ASSERT_TRUE(StartDaemon());
//     ccr::testing::AgentClient agent(NewChannel());
//     ASSERT_TRUE(agent.Login(VoiceAgent("a1")));
//     ccr::testing::Gateway gateway(NewChannel());
//     ...
//     std::optional<v1::Offer> offer = agent.WaitForOffer(absl::Seconds(5));
//   }  // TearDown sends SIGTERM and expects exit code 0.
//
// Every wait is bounded; a helper that times out returns nullopt / false and
// the test says what it was waiting for.
#ifndef CCROUTER_TESTS_INTEGRATION_DAEMON_FIXTURE_H_
#define CCROUTER_TESTS_INTEGRATION_DAEMON_FIXTURE_H_

#include <sys/types.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ccrouter/v1/admin.grpc.pb.h"
#include "ccrouter/v1/agent_desk.grpc.pb.h"
#include "ccrouter/v1/ingest.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"

namespace ccr::testing {

namespace v1 = ::ccrouter::v1;

// Timers of the test config: short, so lifecycle tests take seconds.
struct TestConfig {
  double offer_timeout_seconds = 2;
  double wrap_up_seconds = 0.5;
  double disconnect_grace_seconds = 1;
  // Desktop heartbeats (0: the engine's defaults, 10 s and 3 missed).
  double heartbeat_interval_seconds = 0;
  uint32_t heartbeat_missed_limit = 0;
  double overflow_after_seconds = 1.5;  // voice_billing and voice_emergency, step 1
  double reoffer_cooldown_seconds = 30;
  bool include_voice_billing = true;
};

// The YAML of the test config: the default config's seven queues (minus
// voice_billing when asked), with the timers above and surveys off.
std::string TestConfigYaml(const TestConfig& config = {});

// One ccrouterd child process.
class Daemon {
 public:
  struct ExitStatus {
    bool exited = false;  // normal exit (exit_code valid)
    int exit_code = -1;
    int signal = 0;          // killed by this signal
    bool timed_out = false;  // did not stop in time; was SIGKILLed
  };

  // Writes `config_yaml` to a temp file and starts `binary` on 127.0.0.1:0
  // with its journal in `data_dir` (empty: a temp dir it removes when done),
  // returning once its stderr names the bound ports.
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const std::string& binary,
                                                       const std::string& config_yaml,
                                                       const std::string& log_level,
                                                       absl::Duration timeout,
                                                       const std::string& data_dir = "");
  ~Daemon();  // SIGKILLs a daemon still running
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // SIGTERM, then waits up to `timeout` for the exit; SIGKILL after that.
  ExitStatus Stop(absl::Duration timeout);
  bool running() const { return pid_ > 0; }
  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& http_address() const { return http_address_; }
  // Everything the daemon wrote to stderr so far (the last 1 MiB).
  std::string StderrText() const;
  // Whether `text` appears on stderr within `timeout` (a line the daemon
  // wrote before answering an RPC may still be in the pipe when the answer
  // arrives).
  bool WaitForStderr(absl::string_view text, absl::Duration timeout) const;
  // SIGKILL, as a crash would: no drain, no final snapshot.
  void Kill();
  pid_t pid() const { return pid_; }
  // The config file it was started with (SIGHUP re-reads it).
  const std::string& config_path() const { return config_path_; }
  const std::string& data_dir() const { return data_dir_; }
  // Passes the data directory (and the duty to remove it) to the next daemon.
  void HandOverDataDir(Daemon& next) {
    next.owns_data_dir_ = owns_data_dir_;
    owns_data_dir_ = false;
  }

 private:
  Daemon() = default;
  void DrainStderr();

  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  std::string config_path_;
  std::string data_dir_;
  bool owns_data_dir_ = false;
  std::string grpc_address_;
  std::string http_address_;
  std::thread drain_thread_;
  mutable absl::Mutex stderr_mu_;
  std::string stderr_text_ ABSL_GUARDED_BY(stderr_mu_);
};

// A gateway: ContactIngest unary calls, each with a 5 s deadline.
class Gateway {
 public:
  explicit Gateway(std::shared_ptr<grpc::Channel> channel);
  grpc::Status Submit(const v1::ContactSpec& contact, v1::SubmitReply* reply);
  grpc::Status Update(const v1::UpdateRequest& request, v1::UpdateReply* reply);
  grpc::Status Cancel(const std::string& contact_id, v1::CancelReply* reply,
                      const std::string& reason = "");
  // GetContact by the engine's id ("c-42") or, when `by_key`, by idempotency key.
  grpc::Status GetContact(const std::string& id_or_key, v1::ContactStatus* status,
                          bool by_key = false);
  v1::ContactIngest::Stub& stub() { return *stub_; }

 private:
  std::unique_ptr<v1::ContactIngest::Stub> stub_;
};

// An operator: Admin unary calls, each with a 5 s deadline.
class Operator {
 public:
  explicit Operator(std::shared_ptr<grpc::Channel> channel);
  grpc::Status ListQueues(v1::ListQueuesReply* reply);
  grpc::Status ListAgents(v1::ListAgentsReply* reply);
  grpc::Status Explain(const std::string& contact_id, v1::ExplainReply* reply);
  grpc::Status ReloadConfig(const std::string& yaml, v1::ReloadConfigReply* reply);
  // The named queue's snapshot; a default one (and a test failure) when absent.
  v1::QueueSnapshot Queue(const std::string& name);
  std::optional<v1::AgentSnapshot> Agent(const std::string& agent_id);
  // Polls ListAgents until `pred` holds for the agent or `timeout` passes.
  bool WaitForAgent(const std::string& agent_id,
                    const std::function<bool(const v1::AgentSnapshot&)>& pred,
                    absl::Duration timeout);

 private:
  std::unique_ptr<v1::Admin::Stub> stub_;
};

// A blocking queue of messages read by a background thread from a server
// stream, with timed waits that take the first message matching a predicate.
template <typename Message>
class Inbox {
 public:
  void Push(Message m) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    messages_.push_back(std::move(m));
    cv_.SignalAll();
  }
  void Close(grpc::Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    status_ = std::move(status);
    cv_.SignalAll();
  }
  // Removes and returns the first message for which `pred` holds, waiting
  // up to `timeout` for it; nullopt on timeout or once the stream ended.
  std::optional<Message> Take(const std::function<bool(const Message&)>& pred,
                              absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::MutexLock lock(&mu_);
    for (bool timed_out = false;;) {
      for (auto it = messages_.begin(); it != messages_.end(); ++it) {
        if (pred(*it)) {
          std::optional<Message> found = std::move(*it);
          messages_.erase(it);
          return found;
        }
      }
      if (closed_ || timed_out) return std::nullopt;
      timed_out = cv_.WaitWithDeadline(&mu_, deadline);
    }
  }
  // Copies of every message received so far and not taken.
  std::vector<Message> Snapshot() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return {messages_.begin(), messages_.end()};
  }
  // The stream's final status, once it ended within `timeout`.
  std::optional<grpc::Status> WaitClosed(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(&closed_), timeout)) return std::nullopt;
    return status_;
  }

 private:
  mutable absl::Mutex mu_;
  absl::CondVar cv_;  // Take waits for a message or closed_
  std::deque<Message> messages_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

// An agent desktop: one AgentDesk.Connect stream (sync API). A reader thread
// queues every ServerMessage; the test thread writes and waits.
class AgentClient {
 public:
  explicit AgentClient(std::shared_ptr<grpc::Channel> channel);
  // Says goodbye (WritesDone) and waits up to 5 s for the server's end of
  // the stream, cancelling it after that.
  ~AgentClient();
  AgentClient(const AgentClient&) = delete;
  AgentClient& operator=(const AgentClient&) = delete;

  // Sends the login and waits for login_ok.
  bool Login(const v1::Login& login, absl::Duration timeout = absl::Seconds(5));
  bool Send(const v1::AgentMessage& message);
  // Sends `message` with a fresh request_id and waits for its CommandResult.
  std::optional<v1::CommandResult> Command(v1::AgentMessage message,
                                           absl::Duration timeout = absl::Seconds(5));
  std::optional<v1::CommandResult> Accept(const std::string& offer_id);
  std::optional<v1::CommandResult> Reject(const std::string& offer_id, const std::string& reason);
  std::optional<v1::CommandResult> Complete(const std::string& contact_id, bool resolved = true);
  std::optional<v1::CommandResult> WrapUpDone(const std::string& contact_id);

  // Takes the first queued message of `kind` (others stay queued).
  std::optional<v1::ServerMessage> WaitFor(v1::ServerMessage::KindCase kind,
                                           absl::Duration timeout);
  // Takes the first queued message, whatever its kind (to check order).
  std::optional<v1::ServerMessage> Next(absl::Duration timeout);
  std::optional<v1::Offer> WaitForOffer(absl::Duration timeout);
  // The first offer after Login: in the Resync when it was made as the agent
  // attached, else the next Offer message.
  std::optional<v1::Offer> FirstOfferAfterLogin(absl::Duration timeout);
  std::optional<v1::OfferWithdrawn> WaitForWithdrawn(absl::Duration timeout);
  // True when no offer arrives within `window`.
  bool NoOfferWithin(absl::Duration window);

  // Cancels the stream from this side, as a crashed or vanished desktop.
  void Cancel() { context_.TryCancel(); }
  // Half-closes the stream: a clean goodbye.
  void CloseWrites();
  // The stream's final status once the server ended it within `timeout`.
  std::optional<grpc::Status> WaitClosed(absl::Duration timeout) {
    return inbox_.WaitClosed(timeout);
  }

 private:
  void ReadLoop();

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AgentDesk::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::ServerMessage>> stream_;
  absl::Mutex write_mu_;  // one writer at a time; Finish after the last write
  bool writes_closed_ ABSL_GUARDED_BY(write_mu_) = false;
  uint64_t next_request_id_ ABSL_GUARDED_BY(write_mu_) = 0;
  Inbox<v1::ServerMessage> inbox_;
  std::thread reader_;
};

// An Admin.WatchEvents subscriber; a reader thread queues every event.
class EventWatcher {
 public:
  // after_sequence 0: only new events (the request leaves it unset).
  EventWatcher(std::shared_ptr<grpc::Channel> channel, uint64_t after_sequence);
  ~EventWatcher();  // cancels the stream
  // Takes the first queued event of `kind` for `contact_id` (any contact when empty).
  std::optional<v1::LifecycleEvent> WaitFor(v1::EventKind kind, const std::string& contact_id,
                                            absl::Duration timeout);
  // Events received so far and not taken, in order.
  std::vector<v1::LifecycleEvent> Snapshot() const { return inbox_.Snapshot(); }

 private:
  std::unique_ptr<v1::Admin::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::LifecycleEvent>> stream_;
  Inbox<v1::LifecycleEvent> inbox_;
  std::thread reader_;
};

// A ContactIngest.WatchContact subscriber; a reader thread queues every status.
class ContactWatcher {
 public:
  ContactWatcher(std::shared_ptr<grpc::Channel> channel, const std::string& contact_id);
  ~ContactWatcher();  // cancels the stream
  // Takes the first queued status for which `pred` holds.
  std::optional<v1::ContactStatus> WaitFor(
      const std::function<bool(const v1::ContactStatus&)>& pred, absl::Duration timeout) {
    return inbox_.Take(pred, timeout);
  }
  std::optional<grpc::Status> WaitClosed(absl::Duration timeout) {
    return inbox_.WaitClosed(timeout);
  }

 private:
  std::unique_ptr<v1::ContactIngest::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::ContactStatus>> stream_;
  Inbox<v1::ContactStatus> inbox_;
  std::thread reader_;
};

// Starts a daemon per test; TearDown stops it with SIGTERM and expects a
// clean exit (code 0) within 10 s.
class DaemonFixture : public ::testing::Test {
 protected:
  void TearDown() override;

  // False (with the reason recorded as a test failure) when it did not start.
  bool StartDaemon(const TestConfig& config = {});
  bool StartDaemonWithYaml(const std::string& yaml);
  // SIGTERM now; what the daemon's exit looked like.
  Daemon::ExitStatus StopDaemon();
  // Crashes the daemon (SIGKILL) and starts a new one on the same config and
  // data directory, as an operator's restart after a crash would.
  bool CrashAndRestartDaemon();
  // SIGTERM (a planned restart: the daemon drains and exits 0), then starts a
  // new one on the same config and data directory.
  bool DrainAndRestartDaemon();
  // A channel to the daemon on its own TCP connection, as a separate
  // process would have (so one stalled stream cannot share flow control).
  std::shared_ptr<grpc::Channel> NewChannel(bool bdp_probe = true);
  Daemon& daemon() { return *daemon_; }
  // Admin.Explain of a live contact (a failure is recorded, not fatal).
  v1::ExplainReply Explain(const std::string& contact_id);

  std::unique_ptr<Daemon> daemon_;
  std::string yaml_;             // the config the daemon runs with
  std::string previous_stderr_;  // of the daemon DrainAndRestartDaemon stopped
};

// Builders for the messages most tests send.
v1::Login AgentLogin(const std::string& agent_id, v1::Channel channel, uint32_t general_level = 5,
                     uint32_t max_concurrent = 0);
v1::ContactSpec Contact(const std::string& idempotency_key, v1::Channel channel,
                        const std::string& queue = "");
std::string QueueForChannel(v1::Channel channel);

}  // namespace ccr::testing

#endif  // CCROUTER_TESTS_INTEGRATION_DAEMON_FIXTURE_H_
