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
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "ccrouter/v1/admin.grpc.pb.h"
#include "codec/owner_redirect.h"
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

// Insecure, or TLS trusting --tls-ca; the same for every address.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ReadCredentials(
    const Invocation& invocation) {
  if (invocation.tls_ca_file.empty()) return grpc::InsecureChannelCredentials();
  std::ifstream in(invocation.tls_ca_file);
  std::stringstream pem;
  pem << in.rdbuf();
  if (!in || pem.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-ca: cannot read ", invocation.tls_ca_file));
  }
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pem.str();
  return grpc::SslCredentials(options);
}

std::shared_ptr<grpc::Channel> OpenChannel(
    const std::string& address, const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(kMaxReplyBytes);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  return grpc::CreateCustomChannel(address, credentials, arguments);
}

// The bearer token from CCROUTER_TOKEN (an environment variable, so it never
// shows in `ps`), sent with every call.
void AddToken(grpc::ClientContext& context) {
  if (const char* token = std::getenv("CCROUTER_TOKEN"); token != nullptr && *token != 0) {
    context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }
}

// Where calls go: --server's addresses in turn, and the owner a standby
// names (cluster mode), with what each attempt of the current call came to,
// for the error message.
class Servers {
 public:
  Servers(const Invocation& invocation, std::shared_ptr<grpc::ChannelCredentials> credentials)
      : list_(invocation.servers), credentials_(std::move(credentials)) {}

  // A channel to the address to try now: the last one's again when the
  // address is the same (ListAgents' pages), else a new one.
  std::shared_ptr<grpc::Channel> OpenCurrent() {
    if (channel_ == nullptr || last_tried_ != list_.current()) {
      last_tried_ = list_.current();
      channel_ = OpenChannel(last_tried_, credentials_);
    }
    return channel_;
  }

  // A new call: its attempts are reported alone.
  void StartCall() { attempts_.clear(); }

  // The last address tried answered (OK or an error other than UNAVAILABLE).
  void Answered() { list_.OnConnected(); }

  // The attempt at last_tried() ended UNAVAILABLE. True: try again at the
  // owner `context`'s trailers name, or else at the next listed address (each
  // listed address once per round, at most kMaxOwnerRedirects redirects).
  bool MoveOn(const grpc::ClientContext& context, const grpc::Status& status) {
    if (std::optional<std::string> owner = OwnerFromTrailers(context.GetServerTrailingMetadata())) {
      if (list_.OnRedirect(*owner)) {
        attempts_.push_back(
            absl::StrCat(last_tried_, " (a standby; the owner is at ", *owner, ")"));
        return true;
      }
      attempts_.push_back(absl::StrCat(last_tried_, " (redirects to ", *owner,
                                       "; not followed: ", kMaxOwnerRedirects,
                                       " redirects at most, none to the node itself)"));
      return false;
    }
    return MoveOnUnreachable(status.error_message());
  }

  // last_tried() could not be reached (`why`): the next listed address, or
  // false when each failed this round.
  bool MoveOnUnreachable(absl::string_view why) {
    attempts_.push_back(absl::StrCat(last_tried_, " (", why, ")"));
    return list_.OnUnreachable();
  }

  const std::string& last_tried() const { return last_tried_; }
  std::string AllListed() const { return absl::StrJoin(list_.addresses(), ","); }
  // "a:7700 (unreachable), b:7700 (a standby; the owner is at c:7700)"; empty
  // when the first attempt was the only one.
  std::string Attempts() const { return attempts_.empty() ? "" : absl::StrJoin(attempts_, ", "); }

 private:
  ServerList list_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  std::string last_tried_;
  std::shared_ptr<grpc::Channel> channel_;  // to last_tried_
  // Of the current call; bounded: at most one per listed address and
  // redirect (StartCall clears it).
  std::vector<std::string> attempts_;
};

// One unary call, following the owner: `call(stub, context)` at the current
// address; UNAVAILABLE naming an owner retries there, UNAVAILABLE without
// one (unreachable, or a standby that knows no owner) tries the next listed
// address. Every attempt shares one deadline, --timeout from now, so the
// whole call is bounded by it.
template <typename Call>
grpc::Status CallOwner(Servers& servers, const Invocation& invocation, Call call) {
  servers.StartCall();
  const auto deadline = DeadlineAfter(invocation.timeout_seconds);
  for (;;) {
    std::unique_ptr<v1::Admin::Stub> stub = v1::Admin::NewStub(servers.OpenCurrent());
    grpc::ClientContext context;
    context.set_deadline(deadline);
    AddToken(context);
    grpc::Status status = call(*stub, context);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) {
      servers.Answered();
      return status;
    }
    if (!servers.MoveOn(context, status)) return status;
  }
}

int ReportRpcError(const grpc::Status& status, const Invocation& invocation,
                   const Servers& servers) {
  std::cerr << FormatRpcError(status.error_code(), status.error_message()) << "\n";
  if (const std::string attempts = servers.Attempts(); !attempts.empty()) {
    std::cerr << "ccctl: tried " << attempts << "\n";
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    std::cerr << "ccctl: is ccrouterd running and reachable at " << servers.AllListed()
              << "? (--server HOST:PORT[,HOST:PORT...])\n";
  } else if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    std::cerr << "ccctl: no answer from " << servers.last_tried() << " within "
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
           const Servers& servers, RenderText render_text) {
  if (!status.ok()) return ReportRpcError(status, invocation, servers);
  if (invocation.json) return PrintJson(reply) ? kExitOk : kExitFailed;
  std::cout << render_text(reply);
  return kExitOk;
}

// The unary calls below do not wait for a connection (CallOwner), so an
// unreachable server fails an attempt at once (UNAVAILABLE). Each is safe to
// repeat at another address: a standby applied nothing, and the writes
// (reload, set-state) set a state rather than add to one.
int ListQueues(Servers& servers, const Invocation& invocation) {
  v1::ListQueuesReply reply;
  const grpc::Status status =
      CallOwner(servers, invocation, [&](v1::Admin::Stub& stub, grpc::ClientContext& context) {
        return stub.ListQueues(&context, v1::ListQueuesRequest(), &reply);
      });
  return Report(status, reply, invocation, servers, RenderQueues);
}

// Follows ListAgents' pages and reports them as one reply (each page is a
// call of its own, bounded by --timeout).
int ListAgents(Servers& servers, const Invocation& invocation) {
  v1::ListAgentsReply all;
  v1::ListAgentsRequest request;
  grpc::Status status;
  do {
    v1::ListAgentsReply page;
    status =
        CallOwner(servers, invocation, [&](v1::Admin::Stub& stub, grpc::ClientContext& context) {
          page.Clear();
          return stub.ListAgents(&context, request, &page);
        });
    if (!status.ok()) break;
    for (v1::AgentSnapshot& a : *page.mutable_agents()) *all.add_agents() = std::move(a);
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  return Report(status, all, invocation, servers,
                [](const v1::ListAgentsReply& agents) { return RenderAgents(agents.agents()); });
}

int Explain(Servers& servers, const Invocation& invocation) {
  v1::ExplainRequest request;
  request.set_contact_id(invocation.contact_id);
  v1::ExplainReply reply;
  const grpc::Status status =
      CallOwner(servers, invocation, [&](v1::Admin::Stub& stub, grpc::ClientContext& context) {
        return stub.Explain(&context, request, &reply);
      });
  return Report(status, reply, invocation, servers, RenderExplain);
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

int ReloadConfig(Servers& servers, const Invocation& invocation) {
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
  v1::ReloadConfigReply reply;
  const grpc::Status status =
      CallOwner(servers, invocation, [&](v1::Admin::Stub& stub, grpc::ClientContext& context) {
        return stub.ReloadConfig(&context, request, &reply);
      });
  return Report(status, reply, invocation, servers, RenderReload);
}

int SetAgentState(Servers& servers, const Invocation& invocation) {
  v1::SetAgentStateRequest request;
  request.set_agent_id(invocation.agent_id);
  request.set_state(invocation.agent_state);
  request.set_reason(invocation.reason);
  v1::SetAgentStateReply reply;
  const grpc::Status status =
      CallOwner(servers, invocation, [&](v1::Admin::Stub& stub, grpc::ClientContext& context) {
        return stub.SetAgentState(&context, request, &reply);
      });
  return Report(status, reply, invocation, servers, [](const v1::SetAgentStateReply& set) {
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

// Streams events from the owner. At the start, and whenever the stream ends
// UNAVAILABLE (the owner lost ownership or died), it moves on like a unary
// call (a standby's redirect, else the next listed address) and resumes
// after the last event it printed, so no event is lost or printed twice.
// Redirect and unreachable counts start again once a stream delivers an
// event.
int WatchEvents(Servers& servers, const Invocation& invocation) {
  std::optional<uint64_t> after_sequence = invocation.after_sequence;
  uint64_t last_sequence = 0;
  bool any_event = false;
  const auto resume_hint = [&] {
    return any_event ? absl::StrCat(" after sequence ", last_sequence, " (resume with --after ",
                                    last_sequence, ")")
                     : std::string();
  };
  servers.StartCall();
  for (;;) {
    std::shared_ptr<grpc::Channel> channel = servers.OpenCurrent();
    std::unique_ptr<v1::Admin::Stub> stub = v1::Admin::NewStub(channel);
    grpc::ClientContext context;
    AddToken(context);
    InterruptCanceller canceller(context);
    if (!AwaitConnection(*channel, invocation, canceller)) {
      if (servers.MoveOnUnreachable(
              absl::StrCat("no connection within ", invocation.timeout_seconds, "s"))) {
        continue;
      }
      std::cerr << FormatRpcError(grpc::StatusCode::DEADLINE_EXCEEDED,
                                  absl::StrCat("no connection to ", servers.last_tried(),
                                               " within ", invocation.timeout_seconds, "s"))
                << "\nccctl: tried " << servers.Attempts()
                << "\nccctl: is ccrouterd running and reachable there? (--server, --timeout)\n";
      return kExitFailed;
    }

    v1::WatchEventsRequest request;
    if (after_sequence) request.set_after_sequence(*after_sequence);
    std::unique_ptr<grpc::ClientReader<v1::LifecycleEvent>> reader =
        stub->WatchEvents(&context, request);
    v1::LifecycleEvent event;
    bool events_on_this_stream = false;
    while (reader->Read(&event)) {
      if (!events_on_this_stream) {
        events_on_this_stream = true;
        servers.Answered();
        servers.StartCall();
      }
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
    if (canceller.interrupted() && status.error_code() == grpc::StatusCode::CANCELLED) {
      std::cerr << "ccctl: stopped" << resume_hint() << "\n";
      return kExitOk;
    }
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE && servers.MoveOn(context, status)) {
      if (any_event) after_sequence = last_sequence;
      continue;
    }
    if (!status.ok()) {
      const int exit_code = ReportRpcError(status, invocation, servers);
      if (any_event) std::cerr << "ccctl: stream failed" << resume_hint() << "\n";
      return exit_code;
    }
    std::cerr << "ccctl: the server at " << servers.last_tried() << " ended the stream"
              << resume_hint() << "\n";
    return kExitOk;
  }
}

int Run(const Invocation& invocation) {
  // Before anything of gRPC (credentials too start its threads): they
  // inherit the signal mask.
  if (invocation.command == Command::kWatch) BlockStopSignals();
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      ReadCredentials(invocation);
  if (!credentials.ok()) {
    std::cerr << "ccctl: " << credentials.status().message() << "\n";
    return kExitFailed;
  }
  Servers servers(invocation, *std::move(credentials));
  switch (invocation.command) {
    case Command::kQueues:
      return ListQueues(servers, invocation);
    case Command::kAgents:
      return ListAgents(servers, invocation);
    case Command::kExplain:
      return Explain(servers, invocation);
    case Command::kWatch:
      return WatchEvents(servers, invocation);
    case Command::kReload:
      return ReloadConfig(servers, invocation);
    case Command::kAgentSetState:
      return SetAgentState(servers, invocation);
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
