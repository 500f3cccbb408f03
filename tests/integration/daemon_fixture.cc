#include "tests/integration/daemon_fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace ccr::testing {

namespace {

constexpr size_t kMaxStderrBytes = 1 << 20;

std::chrono::system_clock::time_point DeadlineIn(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoMilliseconds(d);
}

// The value of `key=` in a logfmt line ("" when absent).
std::string LogfmtValue(absl::string_view line, absl::string_view key) {
  for (absl::string_view field : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
    if (absl::StartsWith(field, key) && field.size() > key.size() && field[key.size()] == '=') {
      return std::string(field.substr(key.size() + 1));
    }
  }
  return "";
}

}  // namespace

std::string TestConfigYaml(const TestConfig& c) {
  const std::string timers =
      absl::StrFormat("offer_timeout_seconds: %g, wrap_up_seconds: %g, default_handle_seconds: 60",
                      c.offer_timeout_seconds, c.wrap_up_seconds);
  std::string yaml = absl::StrCat(R"(default_language: en
sticky_window_seconds: 3600
advisor_wait_seconds: 1
max_consecutive_misses: 3
reoffer_cooldown_seconds: )",
                                  c.reoffer_cooldown_seconds, R"(
disconnect_grace_seconds: )",
                                  c.disconnect_grace_seconds, R"(
heartbeat_interval_seconds: )",
                                  c.heartbeat_interval_seconds, R"(
heartbeat_missed_limit: )",
                                  c.heartbeat_missed_limit, R"(
idempotency_window_seconds: 3600
fallback_queue: voice_general
max_strand_backlog: 20000
plaintext: true
channels:
  - {channel: voice, agent_capacity: 1, exclusive: true, )",
                                  timers, R"(, default_queue: voice_general}
  - {channel: video, agent_capacity: 1, exclusive: true, )",
                                  timers, R"(, default_queue: voice_general}
  - {channel: callback, agent_capacity: 1, exclusive: true, )",
                                  timers, R"(, default_queue: callback_followups}
  - {channel: chat, agent_capacity: 3, )",
                                  timers, R"(, default_queue: chat_general}
  - {channel: messaging, agent_capacity: 3, )",
                                  timers, R"(, default_queue: messaging_general}
  - {channel: email, agent_capacity: 5, )",
                                  timers, R"(, default_queue: email_general}
queues:
  - name: voice_emergency
    channel: voice
    skills: [{skill: emergency, min_level: 5}]
    answer_within_seconds: 60
    target_ratio: 0.95
    topics: [emergency, outage, fraud]
    overflow:
      - {after_seconds: )",
                                  c.overflow_after_seconds, R"(, add_queues: [voice_general]}
  - name: voice_general
    channel: voice
    skills: [{skill: general, min_level: 3}]
    answer_within_seconds: 20
    target_ratio: 0.8
    topics: [general, orders, account]
)");
  if (c.include_voice_billing) {
    absl::StrAppend(&yaml, R"(  - name: voice_billing
    channel: voice
    skills: [{skill: billing, min_level: 4}]
    answer_within_seconds: 30
    target_ratio: 0.8
    topics: [billing, refund, payment]
    overflow:
      - {after_seconds: )",
                    c.overflow_after_seconds, R"(, any_agent_of_channel: true}
)");
  }
  absl::StrAppend(&yaml, R"(  - name: chat_general
    channel: chat
    skills: [{skill: general, min_level: 2}]
    answer_within_seconds: 180
  - name: messaging_general
    channel: messaging
    skills: [{skill: general, min_level: 2}]
    answer_within_seconds: 300
  - name: email_general
    channel: email
    skills: [{skill: general, min_level: 1}]
    answer_within_seconds: 86400
  - name: callback_followups
    channel: callback
    skills: [{skill: general, min_level: 3}]
    answer_within_seconds: 900
scoring:
  tier_standard: 0
  tier_silver: 5
  tier_gold: 10
  tier_vip: 25
  complaint: 10
  emergency: 1000
  severity_minor: 5
  severity_moderate: 15
  severity_severe: 30
  negative_sentiment: 10
  repeat_contact: 3
  repeat_contact_cap: 5
  escalation_level: 5
  proactive_outbound: 5
  need_elderly: 5
  need_accessibility: 5
  seconds_per_point: 2
  keywords: {cancel: 5, lawyer: 10}
escalation:
  senior_skill: senior
  complaint_sentiment_threshold: -0.5
  senior_from_escalation_level: 2
  alert_sentiment_threshold: -0.8
follow_ups:
  queue: callback_followups
  survey_enabled: false
)");
  return yaml;
}

// ---------------------------------------------------------------------------
// Daemon

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const std::string& binary,
                                                      const std::string& config_yaml,
                                                      const std::string& log_level,
                                                      absl::Duration timeout,
                                                      const std::string& data_dir) {
  std::unique_ptr<Daemon> d(new Daemon());
  const char* tmpdir = getenv("TMPDIR");
  std::string path_template =
      absl::StrCat(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp", "/ccr_it_XXXXXX.yaml");
  std::vector<char> path(path_template.begin(), path_template.end());
  path.push_back('\0');
  const int config_fd = mkstemps(path.data(), 5);
  if (config_fd < 0) return absl::InternalError(absl::StrCat("mkstemps: ", strerror(errno)));
  d->config_path_ = path.data();
  const bool written = write(config_fd, config_yaml.data(), config_yaml.size()) ==
                       static_cast<ssize_t>(config_yaml.size());
  close(config_fd);
  if (!written) return absl::InternalError("cannot write the test config");
  d->data_dir_ = data_dir;
  if (d->data_dir_.empty()) {
    std::string dir_template = d->config_path_ + ".data.XXXXXX";
    if (mkdtemp(dir_template.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp: ", strerror(errno)));
    }
    d->data_dir_ = dir_template;
    d->owns_data_dir_ = true;
  }

  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls until exec.
  std::vector<std::string> args = {binary,        "--config",      d->config_path_, "--listen",
                                   "127.0.0.1:0", "--http-listen", "127.0.0.1:0",   "--log-level",
                                   log_level,     "--data-dir",    d->data_dir_};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return absl::InternalError(absl::StrCat("pipe2: ", strerror(errno)));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    dup2(fds[1], STDERR_FILENO);       // the duplicate is not close-on-exec
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    if (getppid() != parent) _exit(126);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  d->pid_ = pid;
  d->stderr_fd_ = fds[0];

  // Read stderr until the listening line (or the daemon dies, or time runs out).
  const absl::Time deadline = absl::Now() + timeout;
  std::string pending;
  for (;;) {
    const size_t eol = pending.find('\n');
    if (eol != std::string::npos) {
      const std::string line = pending.substr(0, eol);
      pending.erase(0, eol + 1);
      {
        // No drain thread yet; the lock only keeps the checked rule simple.
        absl::MutexLock lock(&d->stderr_mu_);
        d->stderr_text_ += line + "\n";
      }
      if (absl::StrContains(line, "event=listening")) {
        d->grpc_address_ = LogfmtValue(line, "grpc");
        d->http_address_ = LogfmtValue(line, "http");
        if (d->grpc_address_.empty() || absl::EndsWith(d->grpc_address_, ":0")) {
          return absl::InternalError(absl::StrCat("no grpc address in: ", line));
        }
        break;
      }
      continue;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat(
          "ccrouterd did not log event=listening within ", absl::FormatDuration(timeout),
          "; stderr so far:\n", d->StderrText(), pending));
    }
    pollfd p{d->stderr_fd_, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buf[4096];
    const ssize_t n = read(d->stderr_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::InternalError(
          absl::StrCat("ccrouterd exited before listening; stderr:\n", d->StderrText(), pending));
    }
    pending.append(buf, static_cast<size_t>(n));
  }
  {
    absl::MutexLock lock(&d->stderr_mu_);
    d->stderr_text_ += pending;
  }
  // Keep reading, or a chatty daemon would block on a full pipe.
  d->drain_thread_ = std::thread([raw = d.get()] { raw->DrainStderr(); });
  return d;
}

void Daemon::DrainStderr() {
  char buf[4096];
  for (;;) {
    const ssize_t n = read(stderr_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EOF: the daemon (the pipe's only writer) is gone
    absl::MutexLock lock(&stderr_mu_);
    stderr_text_.append(buf, static_cast<size_t>(n));
    if (stderr_text_.size() > kMaxStderrBytes) {
      stderr_text_.erase(0, stderr_text_.size() - kMaxStderrBytes);
    }
  }
}

std::string Daemon::StderrText() const {
  absl::MutexLock lock(&stderr_mu_);
  return stderr_text_;
}

bool Daemon::WaitForStderr(absl::string_view text, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (absl::StrContains(StderrText(), text)) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

Daemon::ExitStatus Daemon::Stop(absl::Duration timeout) {
  ExitStatus result;
  if (pid_ <= 0) return result;
  kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (r < 0 && errno != EINTR) break;
    if (absl::Now() >= deadline) {
      result.timed_out = true;
      kill(pid_, SIGKILL);
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  pid_ = -1;
  if (WIFEXITED(status)) {
    result.exited = true;
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  if (drain_thread_.joinable()) drain_thread_.join();
  return result;
}

Daemon::~Daemon() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  if (drain_thread_.joinable()) drain_thread_.join();
  if (stderr_fd_ >= 0) close(stderr_fd_);
  if (!config_path_.empty()) unlink(config_path_.c_str());
  if (owns_data_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }
}

void Daemon::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

// ---------------------------------------------------------------------------
// Gateway and Operator

namespace {
void SetDeadline(grpc::ClientContext* ctx) { ctx->set_deadline(DeadlineIn(absl::Seconds(5))); }
}  // namespace

Gateway::Gateway(std::shared_ptr<grpc::Channel> channel)
    : stub_(v1::ContactIngest::NewStub(std::move(channel))) {}

grpc::Status Gateway::Submit(const v1::ContactSpec& contact, v1::SubmitReply* reply) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  v1::SubmitRequest req;
  *req.mutable_contact() = contact;
  return stub_->Submit(&ctx, req, reply);
}

grpc::Status Gateway::Update(const v1::UpdateRequest& request, v1::UpdateReply* reply) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  return stub_->Update(&ctx, request, reply);
}

grpc::Status Gateway::Cancel(const std::string& contact_id, v1::CancelReply* reply,
                             const std::string& reason) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  v1::CancelRequest req;
  req.set_contact_id(contact_id);
  req.set_reason(reason);
  return stub_->Cancel(&ctx, req, reply);
}

grpc::Status Gateway::GetContact(const std::string& id_or_key, v1::ContactStatus* status,
                                 bool by_key) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  v1::GetContactRequest req;
  if (by_key) {
    req.mutable_contact()->set_idempotency_key(id_or_key);
  } else {
    req.mutable_contact()->set_contact_id(id_or_key);
  }
  return stub_->GetContact(&ctx, req, status);
}

Operator::Operator(std::shared_ptr<grpc::Channel> channel)
    : stub_(v1::Admin::NewStub(std::move(channel))) {}

grpc::Status Operator::ListQueues(v1::ListQueuesReply* reply) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  return stub_->ListQueues(&ctx, v1::ListQueuesRequest(), reply);
}

grpc::Status Operator::ListAgents(v1::ListAgentsReply* reply) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  return stub_->ListAgents(&ctx, v1::ListAgentsRequest(), reply);
}

grpc::Status Operator::Explain(const std::string& contact_id, v1::ExplainReply* reply) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  v1::ExplainRequest req;
  req.set_contact_id(contact_id);
  return stub_->Explain(&ctx, req, reply);
}

grpc::Status Operator::ReloadConfig(const std::string& yaml, v1::ReloadConfigReply* reply) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  v1::ReloadConfigRequest req;
  req.set_config_yaml(yaml);
  return stub_->ReloadConfig(&ctx, req, reply);
}

v1::QueueSnapshot Operator::Queue(const std::string& name) {
  v1::ListQueuesReply reply;
  grpc::Status s = ListQueues(&reply);
  EXPECT_TRUE(s.ok()) << s.error_message();
  for (const v1::QueueSnapshot& q : reply.queues()) {
    if (q.name() == name) return q;
  }
  ADD_FAILURE() << "ListQueues has no queue " << name;
  return v1::QueueSnapshot();
}

std::optional<v1::AgentSnapshot> Operator::Agent(const std::string& agent_id) {
  v1::ListAgentsReply reply;
  if (!ListAgents(&reply).ok()) return std::nullopt;
  for (const v1::AgentSnapshot& a : reply.agents()) {
    if (a.agent_id() == agent_id) return a;
  }
  return std::nullopt;
}

bool Operator::WaitForAgent(const std::string& agent_id,
                            const std::function<bool(const v1::AgentSnapshot&)>& pred,
                            absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    std::optional<v1::AgentSnapshot> a = Agent(agent_id);
    if (a && pred(*a)) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

// ---------------------------------------------------------------------------
// AgentClient

AgentClient::AgentClient(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)), stub_(v1::AgentDesk::NewStub(channel_)) {
  stream_ = stub_->Connect(&context_);
  reader_ = std::thread([this] { ReadLoop(); });
}

void AgentClient::ReadLoop() {
  v1::ServerMessage msg;
  while (stream_->Read(&msg)) inbox_.Push(msg);
  grpc::Status status;
  {
    // Finish only once no Write is in progress (the sync API's one rule).
    absl::MutexLock lock(&write_mu_);
    writes_closed_ = true;
    status = stream_->Finish();
  }
  inbox_.Close(std::move(status));
}

AgentClient::~AgentClient() {
  CloseWrites();
  if (!inbox_.WaitClosed(absl::Seconds(5))) context_.TryCancel();
  reader_.join();
}

bool AgentClient::Send(const v1::AgentMessage& message) {
  absl::MutexLock lock(&write_mu_);
  if (writes_closed_) return false;
  return stream_->Write(message);
}

void AgentClient::CloseWrites() {
  absl::MutexLock lock(&write_mu_);
  if (writes_closed_) return;
  writes_closed_ = true;
  stream_->WritesDone();
}

bool AgentClient::Login(const v1::Login& login, absl::Duration timeout) {
  v1::AgentMessage msg;
  *msg.mutable_login() = login;
  if (!Send(msg)) return false;
  return WaitFor(v1::ServerMessage::kLoginOk, timeout).has_value();
}

std::optional<v1::CommandResult> AgentClient::Command(v1::AgentMessage message,
                                                      absl::Duration timeout) {
  uint64_t id;
  {
    absl::MutexLock lock(&write_mu_);
    id = ++next_request_id_;
  }
  message.set_request_id(id);
  if (!Send(message)) return std::nullopt;
  std::optional<v1::ServerMessage> reply = inbox_.Take(
      [id](const v1::ServerMessage& m) { return m.has_result() && m.result().request_id() == id; },
      timeout);
  if (!reply) return std::nullopt;
  return reply->result();
}

std::optional<v1::CommandResult> AgentClient::Accept(const std::string& offer_id) {
  v1::AgentMessage msg;
  msg.mutable_accept()->set_offer_id(offer_id);
  return Command(std::move(msg));
}

std::optional<v1::CommandResult> AgentClient::Reject(const std::string& offer_id,
                                                     const std::string& reason) {
  v1::AgentMessage msg;
  msg.mutable_reject()->set_offer_id(offer_id);
  msg.mutable_reject()->set_reason(reason);
  return Command(std::move(msg));
}

std::optional<v1::CommandResult> AgentClient::Complete(const std::string& contact_id,
                                                       bool resolved) {
  v1::AgentMessage msg;
  msg.mutable_complete()->set_contact_id(contact_id);
  msg.mutable_complete()->mutable_outcome()->set_resolved(resolved);
  msg.mutable_complete()->mutable_outcome()->set_disposition("test");
  return Command(std::move(msg));
}

std::optional<v1::CommandResult> AgentClient::WrapUpDone(const std::string& contact_id) {
  v1::AgentMessage msg;
  msg.mutable_wrap_up_done()->set_contact_id(contact_id);
  return Command(std::move(msg));
}

std::optional<v1::ServerMessage> AgentClient::WaitFor(v1::ServerMessage::KindCase kind,
                                                      absl::Duration timeout) {
  return inbox_.Take([kind](const v1::ServerMessage& m) { return m.kind_case() == kind; }, timeout);
}

std::optional<v1::ServerMessage> AgentClient::Next(absl::Duration timeout) {
  return inbox_.Take([](const v1::ServerMessage&) { return true; }, timeout);
}

std::optional<v1::Offer> AgentClient::FirstOfferAfterLogin(absl::Duration timeout) {
  std::optional<v1::ServerMessage> resync = WaitFor(v1::ServerMessage::kResync, timeout);
  if (!resync) return std::nullopt;
  if (resync->resync().offers_size() > 0) return resync->resync().offers(0);
  return WaitForOffer(timeout);
}

std::optional<v1::Offer> AgentClient::WaitForOffer(absl::Duration timeout) {
  std::optional<v1::ServerMessage> m = WaitFor(v1::ServerMessage::kOffer, timeout);
  if (!m) return std::nullopt;
  return m->offer();
}

std::optional<v1::OfferWithdrawn> AgentClient::WaitForWithdrawn(absl::Duration timeout) {
  std::optional<v1::ServerMessage> m = WaitFor(v1::ServerMessage::kOfferWithdrawn, timeout);
  if (!m) return std::nullopt;
  return m->offer_withdrawn();
}

bool AgentClient::NoOfferWithin(absl::Duration window) {
  std::optional<v1::ServerMessage> m =
      inbox_.Take([](const v1::ServerMessage& m) { return m.has_offer(); }, window);
  if (!m) return true;
  inbox_.Push(*m);  // keep it for the test to inspect
  return false;
}

// ---------------------------------------------------------------------------
// EventWatcher

EventWatcher::EventWatcher(std::shared_ptr<grpc::Channel> channel, uint64_t after_sequence)
    : stub_(v1::Admin::NewStub(std::move(channel))) {
  v1::WatchEventsRequest req;
  if (after_sequence > 0) req.set_after_sequence(after_sequence);  // 0 here: only new events
  stream_ = stub_->WatchEvents(&context_, req);
  reader_ = std::thread([this] {
    v1::LifecycleEvent e;
    while (stream_->Read(&e)) inbox_.Push(e);
    inbox_.Close(stream_->Finish());
  });
}

ContactWatcher::ContactWatcher(std::shared_ptr<grpc::Channel> channel,
                               const std::string& contact_id)
    : stub_(v1::ContactIngest::NewStub(std::move(channel))) {
  v1::WatchContactRequest req;
  req.mutable_contact()->set_contact_id(contact_id);
  stream_ = stub_->WatchContact(&context_, req);
  reader_ = std::thread([this] {
    v1::ContactStatus status;
    while (stream_->Read(&status)) inbox_.Push(status);
    inbox_.Close(stream_->Finish());
  });
}

ContactWatcher::~ContactWatcher() {
  context_.TryCancel();
  reader_.join();
}

EventWatcher::~EventWatcher() {
  context_.TryCancel();
  reader_.join();
}

std::optional<v1::LifecycleEvent> EventWatcher::WaitFor(v1::EventKind kind,
                                                        const std::string& contact_id,
                                                        absl::Duration timeout) {
  return inbox_.Take(
      [&](const v1::LifecycleEvent& e) {
        return e.kind() == kind && (contact_id.empty() || e.contact_id() == contact_id);
      },
      timeout);
}

// ---------------------------------------------------------------------------
// DaemonFixture

bool DaemonFixture::StartDaemon(const TestConfig& config) {
  return StartDaemonWithYaml(TestConfigYaml(config));
}

bool DaemonFixture::StartDaemonWithYaml(const std::string& yaml) {
  const char* level = getenv("CCR_IT_LOG_LEVEL");
  absl::StatusOr<std::unique_ptr<Daemon>> d =
      Daemon::Start(CCROUTERD_PATH, yaml, level != nullptr ? level : "warn", absl::Seconds(10));
  if (!d.ok()) {
    ADD_FAILURE() << "ccrouterd did not start: " << d.status();
    return false;
  }
  daemon_ = std::move(*d);
  yaml_ = yaml;
  return true;
}

bool DaemonFixture::CrashAndRestartDaemon() {
  daemon_->Kill();
  const char* level = getenv("CCR_IT_LOG_LEVEL");
  absl::StatusOr<std::unique_ptr<Daemon>> d =
      Daemon::Start(CCROUTERD_PATH, yaml_, level != nullptr ? level : "warn", absl::Seconds(20),
                    daemon_->data_dir());
  if (!d.ok()) {
    ADD_FAILURE() << "ccrouterd did not restart: " << d.status() << "\n---- before the crash ----\n"
                  << daemon_->StderrText();
    return false;
  }
  daemon_->HandOverDataDir(**d);
  daemon_ = std::move(*d);
  return true;
}

bool DaemonFixture::DrainAndRestartDaemon() {
  const Daemon::ExitStatus exit = daemon_->Stop(absl::Seconds(10));
  if (!exit.exited || exit.exit_code != 0) {
    ADD_FAILURE() << "ccrouterd did not drain cleanly on SIGTERM (signal " << exit.signal
                  << ", code " << exit.exit_code << ")\n"
                  << daemon_->StderrText();
    return false;
  }
  const char* level = getenv("CCR_IT_LOG_LEVEL");
  absl::StatusOr<std::unique_ptr<Daemon>> d =
      Daemon::Start(CCROUTERD_PATH, yaml_, level != nullptr ? level : "warn", absl::Seconds(20),
                    daemon_->data_dir());
  if (!d.ok()) {
    ADD_FAILURE() << "ccrouterd did not restart: " << d.status() << "\n---- before the drain ----\n"
                  << daemon_->StderrText();
    return false;
  }
  previous_stderr_ = daemon_->StderrText();
  daemon_->HandOverDataDir(**d);
  daemon_ = std::move(*d);
  return true;
}

Daemon::ExitStatus DaemonFixture::StopDaemon() {
  if (daemon_ == nullptr || !daemon_->running()) return {};
  return daemon_->Stop(absl::Seconds(10));
}

void DaemonFixture::TearDown() {
  if (daemon_ == nullptr) return;
  if (daemon_->running()) {
    Daemon::ExitStatus exit = StopDaemon();
    EXPECT_FALSE(exit.timed_out) << "ccrouterd did not exit within 10 s of SIGTERM";
    EXPECT_TRUE(exit.exited) << "ccrouterd died of signal " << exit.signal;
    EXPECT_EQ(exit.exit_code, 0) << "ccrouterd exit code after SIGTERM";
  }
  if (HasFailure() || getenv("CCR_IT_DUMP_STDERR") != nullptr) {
    std::string text = daemon_->StderrText();
    if (text.size() > 8000) text = "...\n" + text.substr(text.size() - 8000);
    std::cerr << "---- ccrouterd stderr (tail) ----\n" << text << "---- end ----\n";
  }
  daemon_.reset();
}

v1::ExplainReply DaemonFixture::Explain(const std::string& contact_id) {
  Operator op(NewChannel());
  v1::ExplainReply reply;
  grpc::Status s = op.Explain(contact_id, &reply);
  EXPECT_TRUE(s.ok()) << contact_id << ": " << s.error_message();
  return reply;
}

std::shared_ptr<grpc::Channel> DaemonFixture::NewChannel(bool bdp_probe) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (!bdp_probe) args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  return grpc::CreateCustomChannel(daemon_->grpc_address(), grpc::InsecureChannelCredentials(),
                                   args);
}

// ---------------------------------------------------------------------------
// Builders

v1::Login AgentLogin(const std::string& agent_id, v1::Channel channel, uint32_t general_level,
                     uint32_t max_concurrent) {
  v1::Login login;
  login.set_agent_id(agent_id);
  login.set_display_name(absl::StrCat("Agent ", agent_id));
  v1::Skill* skill = login.add_skills();
  skill->set_name("general");
  skill->set_level(general_level);
  login.add_languages("en");
  v1::ChannelCapacity* cap = login.add_capacities();
  cap->set_channel(channel);
  cap->set_max_concurrent(max_concurrent);
  login.set_start_available(true);
  return login;
}

v1::ContactSpec Contact(const std::string& idempotency_key, v1::Channel channel,
                        const std::string& queue) {
  v1::ContactSpec c;
  c.set_idempotency_key(idempotency_key);
  c.set_channel(channel);
  c.set_queue(queue);
  c.mutable_customer()->set_id(absl::StrCat("cust-", idempotency_key));
  c.mutable_customer()->set_tier(v1::TIER_STANDARD);
  c.mutable_customer()->set_language("en");
  c.set_topic("general");
  return c;
}

std::string QueueForChannel(v1::Channel channel) {
  switch (channel) {
    case v1::CHANNEL_CHAT:
      return "chat_general";
    case v1::CHANNEL_EMAIL:
      return "email_general";
    case v1::CHANNEL_MESSAGING:
      return "messaging_general";
    default:
      return "voice_general";
  }
}

}  // namespace ccr::testing
