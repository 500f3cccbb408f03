// echo_server: a bare gRPC ContactIngest, the baseline `ccload --baseline`
// measures the engine against. Callback API like ccrouterd, same build flags,
// gRPC's default threads; every Submit and every SubmitStream message is
// answered at once with a fixed reply. No engine, no journal, no routing:
// what gRPC alone does with this traffic on this machine.
//
//   echo_server [--listen HOST:PORT]     (default 127.0.0.1:0: a free port)
//
// Prints "echo_server listening grpc=HOST:PORT" on stderr once serving;
// SIGINT / SIGTERM stop it.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdio>
#include <deque>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/synchronization/mutex.h"
#include "ccrouter/v1/ingest.grpc.pb.h"
#include "codec/command_line.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "HOST:PORT to serve on (port 0: a free one).");

namespace {

namespace v1 = ::ccrouter::v1;

void FillReply(const v1::ContactSpec& contact, v1::SubmitReply* reply) {
  reply->set_contact_id("c-0");
  reply->set_queue(contact.queue());
  reply->set_position(1);
  reply->set_state(v1::CONTACT_STATE_QUEUED);
}

// One SubmitStream: a read always outstanding, one write in flight, the
// rest queued (as the engine's reactor does).
class EchoStream final
    : public grpc::ServerBidiReactor<v1::SubmitStreamRequest, v1::SubmitStreamReply> {
 public:
  EchoStream() { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      absl::MutexLock lock(&mu_);
      reads_done_ = true;
      MaybeFinish();
      return;
    }
    v1::SubmitStreamReply reply;
    reply.set_correlation_id(request_.correlation_id());
    FillReply(request_.contact(), reply.mutable_reply());
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;  // a write failed: the call is over
      if (writing_) {
        pending_.push_back(std::move(reply));
      } else {
        writing_ = true;
        current_ = std::move(reply);
        StartWrite(&current_);
      }
    }
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (ok && !pending_.empty()) {
      current_ = std::move(pending_.front());
      pending_.pop_front();
      StartWrite(&current_);
      return;
    }
    writing_ = false;
    if (!ok) reads_done_ = true;
    MaybeFinish();
  }

  void OnDone() override { delete this; }

 private:
  void MaybeFinish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reads_done_ && !writing_ && !finished_) {
      finished_ = true;
      Finish(grpc::Status::OK);
    }
  }

  v1::SubmitStreamRequest request_;
  absl::Mutex mu_;
  v1::SubmitStreamReply current_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::SubmitStreamReply> pending_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

class EchoIngest final : public v1::ContactIngest::CallbackService {
  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* context,
                                   const v1::SubmitRequest* request,
                                   v1::SubmitReply* reply) override {
    FillReply(request->contact(), reply);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerBidiReactor<v1::SubmitStreamRequest, v1::SubmitStreamReply>* SubmitStream(
      grpc::CallbackServerContext*) override {
    return new EchoStream;
  }
};

}  // namespace

int main(int argc, char** argv) {
  ccr::ParseCommandLineOrExit(argc, argv, "echo_server", "usage: echo_server [flags]\n\nflags:\n");
  const std::string listen = absl::GetFlag(FLAGS_listen);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before gRPC starts threads

  EchoIngest service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "echo_server: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  const std::string host = listen.substr(0, listen.rfind(':'));
  std::fprintf(stderr, "echo_server listening grpc=%s:%d\n", host.c_str(), port);
  std::fflush(stderr);
  int signal = 0;
  sigwait(&stop_signals, &signal);
  server->Shutdown();
  return 0;
}
