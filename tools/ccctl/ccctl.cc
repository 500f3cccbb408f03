// ccctl: the admin CLI of ccrouterd, a synchronous client of ccrouter.v1.Admin.
// Parsing and formatting live in ccctl_format (unit-tested); this file opens
// the channel, makes one call per command, and owns the exit status:
// 0 done, 1 the call or the connection failed, 2 bad command line.
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ccrouter/v1/admin.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tools/ccctl/ccctl_format.h"

namespace ccr::ctl {
namespace {

namespace v1 = ::ccrouter::v1;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// Replies are small, but a large centre's agent list may pass gRPC's 4 MB
// default.
constexpr int kMaxReplyBytes = 64 << 20;
// The server pings every 10 s and accepts client pings every 4 s or more.
constexpr int kKeepaliveTimeMs = 20'000;
constexpr int kKeepaliveTimeoutMs = 10'000;
// How often a connection wait looks for Ctrl-C.
constexpr auto kInterruptPollInterval = std::chrono::milliseconds(100);

std::chrono::system_clock::time_point DeadlineAfter(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(seconds));
}

// Nullptr (and a message) when --tls-ca cannot be read.
std::shared_ptr<grpc::Channel> OpenChannel(const Invocation& invocation) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(kMaxReplyBytes);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!invocation.tls_ca_file.empty()) {
    std::ifstream in(invocation.tls_ca_file);
    std::stringstream pem;
    pem << in.rdbuf();
    if (!in || pem.str().empty()) {
      std::cerr << "ccctl: --tls-ca: cannot read " << invocation.tls_ca_file << "\n";
      return nullptr;
    }
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pem.str();
    credentials = grpc::SslCredentials(options);
  }
  return grpc::CreateCustomChannel(invocation.server, credentials, arguments);
}

// The bearer token from CCROUTER_TOKEN (an environment variable, so it never
// shows in `ps`), sent with every call.
void AddToken(grpc::ClientContext& context) {
  if (const char* token = std::getenv("CCROUTER_TOKEN"); token != nullptr && *token != 0) {
    context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }
}

int ReportRpcError(const grpc::Status& status, const Invocation& invocation) {
  std::cerr << FormatRpcError(status.error_code(), status.error_message()) << "\n";
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    std::cerr << "ccctl: is ccrouterd running and reachable at " << invocation.server
              << "? (--server HOST:PORT)\n";
  } else if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    std::cerr << "ccctl: no answer from " << invocation.server << " within "
              << invocation.timeout_seconds << "s (--timeout SECONDS)\n";
  }
  return kExitFailed;
}

// Compact JSON with the .proto field names and zero values included, so
// every object of one kind has the same keys.
bool PrintJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
      !status.ok()) {
    std::cerr << "ccctl: cannot print the reply as JSON: " << status.ToString() << "\n";
    return false;
  }
  std::cout << json << "\n";
  return true;
}

// Prints a unary call's outcome: `reply` as JSON or through `render_text`, or
// the error. Returns the exit status.
template <typename Reply, typename RenderText>
int Report(const grpc::Status& status, const Reply& reply, const Invocation& invocation,
           RenderText render_text) {
  if (!status.ok()) return ReportRpcError(status, invocation);
  if (invocation.json) return PrintJson(reply) ? kExitOk : kExitFailed;
  std::cout << render_text(reply);
  return kExitOk;
}

// Bounds a unary call by --timeout (DEADLINE_EXCEEDED). The call does not wait
// for a connection, so an unreachable server fails it at once (UNAVAILABLE).
void SetDeadline(grpc::ClientContext& context, const Invocation& invocation) {
  context.set_deadline(DeadlineAfter(invocation.timeout_seconds));
  AddToken(context);
}

int ListQueues(v1::Admin::Stub& stub, const Invocation& invocation) {
  grpc::ClientContext context;
  SetDeadline(context, invocation);
  v1::ListQueuesReply reply;
  const grpc::Status status = stub.ListQueues(&context, v1::ListQueuesRequest(), &reply);
  return Report(status, reply, invocation, RenderQueues);
}

// Follows ListAgents' pages and reports them as one reply (each page is a
// call of its own, bounded by --timeout).
int ListAgents(v1::Admin::Stub& stub, const Invocation& invocation) {
  v1::ListAgentsReply all;
  v1::ListAgentsRequest request;
  grpc::Status status;
  do {
    grpc::ClientContext context;
    SetDeadline(context, invocation);
    v1::ListAgentsReply page;
    status = stub.ListAgents(&context, request, &page);
    if (!status.ok()) break;
    for (v1::AgentSnapshot& a : *page.mutable_agents()) *all.add_agents() = std::move(a);
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  return Report(status, all, invocation,
                [](const v1::ListAgentsReply& agents) { return RenderAgents(agents.agents()); });
}

int Explain(v1::Admin::Stub& stub, const Invocation& invocation) {
  grpc::ClientContext context;
  SetDeadline(context, invocation);
  v1::ExplainRequest request;
  request.set_contact_id(invocation.contact_id);
  v1::ExplainReply reply;
  const grpc::Status status = stub.Explain(&context, request, &reply);
  return Report(status, reply, invocation, RenderExplain);
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (file == nullptr) return absl::UnavailableError(std::strerror(errno));
  std::string text;
  char buffer[1 << 16];
  while (size_t bytes = std::fread(buffer, 1, sizeof buffer, file.get())) {
    text.append(buffer, bytes);
  }
  if (std::ferror(file.get())) return absl::UnavailableError(std::strerror(errno));
  return text;
}

int ReloadConfig(v1::Admin::Stub& stub, const Invocation& invocation) {
  v1::ReloadConfigRequest request;
  if (invocation.config_path.has_value()) {
    const std::string& path = *invocation.config_path;
    absl::StatusOr<std::string> text = ReadWholeFile(path);
    if (!text.ok()) {
      std::cerr << "ccctl: --file: cannot read " << path << ": " << text.status().message() << "\n";
      return kExitFailed;
    }
    // An empty config_yaml means "re-read your own file": never send that by
    // accident for an empty file.
    if (text->empty()) {
      std::cerr << "ccctl: --file: " << path
                << " is empty (leave out --file to make the server re-read its own file)\n";
      return kExitFailed;
    }
    request.set_config_yaml(*std::move(text));
  }
  grpc::ClientContext context;
  SetDeadline(context, invocation);
  v1::ReloadConfigReply reply;
  const grpc::Status status = stub.ReloadConfig(&context, request, &reply);
  return Report(status, reply, invocation, RenderReload);
}

int SetAgentState(v1::Admin::Stub& stub, const Invocation& invocation) {
  grpc::ClientContext context;
  SetDeadline(context, invocation);
  v1::SetAgentStateRequest request;
  request.set_agent_id(invocation.agent_id);
  request.set_state(invocation.agent_state);
  request.set_reason(invocation.reason);
  v1::SetAgentStateReply reply;
  const grpc::Status status = stub.SetAgentState(&context, request, &reply);
  return Report(status, reply, invocation, [](const v1::SetAgentStateReply& set) {
    google::protobuf::RepeatedPtrField<v1::AgentSnapshot> agents;
    *agents.Add() = set.agent();
    return RenderAgents(agents);
  });
}

// SIGINT and SIGTERM, which `watch` takes over. They must be blocked in every
// thread, so BlockStopSignals() runs before gRPC starts any thread.
sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

void BlockStopSignals() {
  const sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

// Cancels a context when SIGINT or SIGTERM arrives, from a thread of its own
// that waits in sigwait(): a signal handler may not call into gRPC.
// REQUIRES: BlockStopSignals() ran before any thread started.
class InterruptCanceller {
 public:
  explicit InterruptCanceller(grpc::ClientContext& context)
      : context_(context), thread_([this] { AwaitSignal(); }) {}

  ~InterruptCanceller() {
    stopping_ = true;
    // Wakes sigwait() if no signal came; harmless if the thread is done.
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }

  bool interrupted() const { return interrupted_; }

 private:
  void AwaitSignal() {
    const sigset_t signals = StopSignals();
    int signal = 0;
    sigwait(&signals, &signal);
    if (stopping_) return;
    interrupted_ = true;
    context_.TryCancel();
  }

  grpc::ClientContext& context_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> interrupted_{false};
  std::thread thread_;  // last: starts once the members above exist
};

// Waits until the channel is connected, so a dead address fails within
// --timeout while the stream itself has no deadline. A failed connection
// attempt returns at once: the call that follows then fails fast with gRPC's
// own reason (e.g. connection refused).
bool AwaitConnection(grpc::Channel& channel, const Invocation& invocation,
                     const InterruptCanceller& canceller) {
  const auto deadline = DeadlineAfter(invocation.timeout_seconds);
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY && state != GRPC_CHANNEL_TRANSIENT_FAILURE &&
         !canceller.interrupted()) {
    const auto now = std::chrono::system_clock::now();
    if (now >= deadline) return false;
    channel.WaitForStateChange(state, std::min(deadline, now + kInterruptPollInterval));
    state = channel.GetState(/*try_to_connect=*/true);
  }
  return true;
}

int WatchEvents(v1::Admin::Stub& stub, grpc::Channel& channel, const Invocation& invocation) {
  grpc::ClientContext context;
  AddToken(context);
  InterruptCanceller canceller(context);
  if (!AwaitConnection(channel, invocation, canceller)) {
    std::cerr << FormatRpcError(grpc::StatusCode::DEADLINE_EXCEEDED,
                                absl::StrCat("no connection to ", invocation.server, " within ",
                                             invocation.timeout_seconds, "s"))
              << "\nccctl: is ccrouterd running and reachable there? (--server, --timeout)\n";
    return kExitFailed;
  }

  v1::WatchEventsRequest request;
  request.set_after_sequence(invocation.after_sequence);
  std::unique_ptr<grpc::ClientReader<v1::LifecycleEvent>> reader =
      stub.WatchEvents(&context, request);
  v1::LifecycleEvent event;
  uint64_t last_sequence = 0;
  bool any_event = false;
  while (reader->Read(&event)) {
    any_event = true;
    last_sequence = event.sequence();
    if (invocation.json) {
      if (!PrintJson(event)) {
        context.TryCancel();
        reader->Finish();
        return kExitFailed;
      }
    } else {
      std::cout << FormatEventLine(event) << "\n";
    }
    std::cout.flush();  // a pipe reader sees each event as it happens
  }
  const grpc::Status status = reader->Finish();
  const std::string resume_hint = any_event
                                      ? absl::StrCat(" after sequence ", last_sequence,
                                                     " (resume with --after ", last_sequence, ")")
                                      : "";
  if (canceller.interrupted() && status.error_code() == grpc::StatusCode::CANCELLED) {
    std::cerr << "ccctl: stopped" << resume_hint << "\n";
    return kExitOk;
  }
  if (!status.ok()) {
    const int exit_code = ReportRpcError(status, invocation);
    if (any_event) std::cerr << "ccctl: stream failed" << resume_hint << "\n";
    return exit_code;
  }
  std::cerr << "ccctl: the server ended the stream" << resume_hint << "\n";
  return kExitOk;
}

int Run(const Invocation& invocation) {
  // Before OpenChannel: gRPC's threads inherit the signal mask.
  if (invocation.command == Command::kWatch) BlockStopSignals();
  std::shared_ptr<grpc::Channel> channel = OpenChannel(invocation);
  if (channel == nullptr) return kExitFailed;
  std::unique_ptr<v1::Admin::Stub> stub = v1::Admin::NewStub(channel);
  switch (invocation.command) {
    case Command::kQueues:
      return ListQueues(*stub, invocation);
    case Command::kAgents:
      return ListAgents(*stub, invocation);
    case Command::kExplain:
      return Explain(*stub, invocation);
    case Command::kWatch:
      return WatchEvents(*stub, *channel, invocation);
    case Command::kReload:
      return ReloadConfig(*stub, invocation);
    case Command::kAgentSetState:
      return SetAgentState(*stub, invocation);
    case Command::kNone:
      break;
  }
  std::cerr << "ccctl: no command\n";
  return kExitUsage;
}

}  // namespace
}  // namespace ccr::ctl

int main(int argc, char** argv) {
  using ccr::ctl::Invocation;
  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<Invocation> invocation = ccr::ctl::ParseCommandLine(args);
  if (!invocation.ok()) {
    std::cerr << "ccctl: " << invocation.status().message() << "\nRun 'ccctl --help' for usage.\n";
    return ccr::ctl::kExitUsage;
  }
  if (invocation->help) {
    std::cout << ccr::ctl::UsageText(invocation->command);
    return ccr::ctl::kExitOk;
  }
  return ccr::ctl::Run(*invocation);
}
