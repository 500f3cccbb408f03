// AgentDeskServer: AgentDesk.Connect on gRPC's completion-queue (async) API,
// spread over several server completion queues, each drained by a thread of
// its own. The other services stay on the callback API in the same server.
//
// Why not the callback API: Debian's libgrpc++ 1.51 is built without NDEBUG,
// and every callback call of the process shares one completion queue whose
// debug bookkeeping scans all outstanding operations on every completion. Ten
// thousand desktops keep about 20,000 operations outstanding (a read and the
// call's end each), so that scan dominated the offer latency (issue #19). Each
// queue here holds 1/K of the streams, so each completion scans 1/K as much.
//
//   AgentDeskServer desk(engine, auth, {.completion_queues = 4});
//   grpc::ServerBuilder builder;
//   ...                                  // other services, ports
//   desk.AddTo(builder);                  // registers the service, adds the queues
//   std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
//   desk.Start();                         // arms the accepts, starts the threads
//   ...
//   server->Shutdown(deadline);           // ends every call
//   desk.Stop();                          // shuts the queues down, drains, joins
//   server.reset();                       // then the server, then `desk`
//
// The conversation is AgentDeskSession's; each call only reads, writes (a
// StreamWriter that starts its operations under its lock) and says when the
// stream ends. A call object is deleted only when gRPC has said the call is
// over (the done tag) and none of its operations is pending or can still be
// started (see agent_desk_server.cc).
#ifndef CCROUTER_ENGINE_GRPC_AGENT_DESK_SERVER_H_
#define CCROUTER_ENGINE_GRPC_AGENT_DESK_SERVER_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "ccrouter/v1/agent_desk.grpc.pb.h"
#include "engine/auth.h"
#include "engine/engine.h"
#include "grpcpp/server_builder.h"

namespace ccr {

struct AgentDeskServerOptions {
  // Server completion queues, each with its own thread; the streams spread
  // over them as they connect. At least 1.
  int completion_queues = 4;
  // Connect requests kept waiting on each queue for new streams (re-armed on
  // every accept). At least 1.
  int accepts_per_queue = 4;
};

class AgentDeskServer {
 public:
  AgentDeskServer(Engine& engine, const Authenticator& auth, AgentDeskServerOptions options = {});
  // REQUIRES: Stop() has returned, or Start() was never called.
  ~AgentDeskServer();
  AgentDeskServer(const AgentDeskServer&) = delete;
  AgentDeskServer& operator=(const AgentDeskServer&) = delete;

  // Registers AgentDesk and adds the completion queues. Once, before
  // BuildAndStart.
  void AddTo(grpc::ServerBuilder& builder);
  // Arms the accepts and starts one thread per queue. Once, after the server
  // BuildAndStart returned has started.
  void Start() ABSL_LOCKS_EXCLUDED(arm_mu_);
  // Cancels the streams still open, waits until each call is deleted, then
  // shuts the queues down, drains them and joins their threads (idempotent;
  // blocks, so never on a queue's thread or the strand).
  // REQUIRES: the server's Shutdown() has returned (gRPC's order: the server,
  // then its queues); destroy the server after this, and this after the server.
  //
  // Why wait: Server::Shutdown can return with a cancelled call whose done
  // tag is still on its queue. Until the queue's thread detaches that call's
  // outbox, another thread (the strand) may still start a write on it, and
  // gRPC aborts when an operation starts on a queue that has finished
  // shutting down. So the queues are shut only once every call is gone.
  void Stop() ABSL_LOCKS_EXCLUDED(arm_mu_, streams_mu_);

  // Calls that have a context: accepted streams and waiting accepts. For tests.
  size_t live_calls() const { return live_calls_.load(std::memory_order_acquire); }
  // Streams accepted and not yet deleted. For tests.
  size_t live_streams() const { return live_streams_.load(std::memory_order_acquire); }

 private:
  class Call;
  friend class Call;

  // The accepted calls, for Stop(); a call leaves in its destructor.
  void AddStream(Call* call) ABSL_LOCKS_EXCLUDED(streams_mu_);
  void RemoveStream(Call* call) ABSL_LOCKS_EXCLUDED(streams_mu_);
  // Requests one more stream on `cq` (nothing once stopping).
  void Arm(grpc::ServerCompletionQueue* cq) ABSL_LOCKS_EXCLUDED(arm_mu_);
  // Handles the queue's events until it is shut down and empty.
  void Drain(grpc::ServerCompletionQueue* cq);

  Engine& engine_;
  const Authenticator& auth_;
  const AgentDeskServerOptions options_;
  v1::AgentDesk::AsyncService service_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;  // set by AddTo
  std::vector<std::thread> threads_;
  // Held while requesting a stream, so no request reaches a queue that
  // Stop() has begun to shut down (gRPC aborts on that).
  absl::Mutex arm_mu_;
  bool stopping_ ABSL_GUARDED_BY(arm_mu_) = false;
  bool started_ = false;  // Start/Stop's thread only
  bool stopped_ = false;  // Start/Stop's thread only
  absl::Mutex streams_mu_;
  // Accepted and not yet deleted (a call leaves under streams_mu_ before its
  // context is destroyed, so Stop may cancel any call it finds here).
  absl::flat_hash_set<Call*> streams_ ABSL_GUARDED_BY(streams_mu_);
  std::atomic<size_t> live_calls_{0};
  std::atomic<size_t> live_streams_{0};
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_GRPC_AGENT_DESK_SERVER_H_
