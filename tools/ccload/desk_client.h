// DeskClient: one simulated agent desktop on an AgentDesk.Connect stream
// (gRPC's completion-queue API, on DeskCompletionQueues), driven by a
// DeskPolicy that says how the agent behaves: the demo's random accept
// delays, rejects, handle times and breaks (RandomDeskPolicy), or the
// benchmark's fixed delays (FixedDelayDeskPolicy). Timed actions run on the
// shared Scheduler; a zero delay acts at once. One process drives up to 100k
// of them.
//
//   DeskCompletionQueues queues(4);   // outlives the clients
//   Scheduler scheduler;
//   RunCounters counters;
//   DeskClient agent(*stub, login, std::make_unique<FixedDelayDeskPolicy>(delays),
//                    scheduler, counters);
//   agent.UseCompletionQueues(queues);  // else a shared set of kDefaultDeskQueues
//   agent.Start();                    // logs in; counters.agents_logged_in
//   ...
//   scheduler.Stop();                 // no more timed actions
//   agent.Close();                    // half-close: the engine logs the agent out
//   if (!agent.WaitDone(3s)) agent.Cancel();
//
// Why not the callback API: Debian's libgrpc 1.51 is built without NDEBUG,
// and every callback call of a process shares one completion queue whose
// debug bookkeeping scans all of its outstanding operations on every
// completion; 10,000 callback desktops made the load generator itself the
// tail it measured (issue #19). Each queue here holds 1/K of the streams, and
// a stream keeps one operation outstanding (its read) instead of two.
//
// A broken stream is reopened with backoff (1 s doubling to 10 s) when the
// policy says so; not after ABORTED (another desktop took the agent id over)
// or a refused login, which would only repeat. In cluster mode
// (FollowOwner), a stream a standby ends (UNAVAILABLE naming the owner) is
// reopened at that owner whatever the policy, at once the first time after
// a login; one ended UNAVAILABLE naming nobody is reopened at the next
// listed node. Timed answers to a broken
// stream's offers are dropped; completes and wrap-ups go to whatever stream
// is open then (the contact is still the agent's after a reconnect).
#ifndef CCR_TOOLS_CCLOAD_DESK_CLIENT_H_
#define CCR_TOOLS_CCLOAD_DESK_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "ccrouter/v1/agent_desk.grpc.pb.h"
#include "codec/owner_redirect.h"
#include "tools/ccload/agent_roster.h"
#include "tools/ccload/channels.h"
#include "tools/ccload/load_options.h"
#include "tools/ccload/run_counters.h"
#include "tools/ccload/scheduler.h"

namespace ccr::load {

// The attribute holding a contact's intended send time (steady clock, ns).
// The engine hands attributes to the agent with the offer, so submit ->
// offer latency needs no map shared between gateway and agent.
inline constexpr char kSentAtAttribute[] = "ccload_sent_ns";

// How a simulated agent behaves. Called by one DeskClient under its lock:
// an implementation needs no locking of its own and must not block.
class DeskPolicy {
 public:
  using Duration = std::chrono::steady_clock::duration;
  virtual ~DeskPolicy() = default;

  // Offer -> the answer (Accept, or Reject when Rejects()).
  virtual Duration AcceptDelay() = 0;
  virtual bool Rejects() = 0;
  // Accept -> Complete, and Complete -> WrapUpDone.
  virtual Duration HandleTime(const ccrouter::v1::Offer& offer) = 0;
  virtual Duration WrapUpTime() = 0;
  virtual bool Resolved() = 0;
  // Set NOT_READY by the engine (missed offers, a supervisor): back to
  // AVAILABLE after this; nullopt: stay.
  virtual std::optional<Duration> NotReadyPause() = 0;
  // `server_interval_seconds`: what LoginOk asked for (0: not said). By
  // default what the engine asks, as a real desktop does.
  virtual Duration HeartbeatInterval(double server_interval_seconds);
  // Reopen a stream the engine or the network broke?
  virtual bool Reconnects() = 0;
};

// The demo's agent: DeskBehaviour's random pacing (0.5-3 s to answer, ~5 %
// rejects, the mix's handle times, 1-3 s wrap-up), back from not-ready after
// 5 s, heartbeats as the engine asks, reconnects.
class RandomDeskPolicy final : public DeskPolicy {
 public:
  explicit RandomDeskPolicy(DeskBehaviour behaviour) : behaviour_(std::move(behaviour)) {}
  Duration AcceptDelay() override;
  bool Rejects() override { return behaviour_.Rejects(); }
  Duration HandleTime(const ccrouter::v1::Offer& offer) override;
  Duration WrapUpTime() override;
  bool Resolved() override { return behaviour_.Resolved(); }
  std::optional<Duration> NotReadyPause() override;
  bool Reconnects() override { return true; }

 private:
  DeskBehaviour behaviour_;
};

// The benchmark's agent: accepts every offer after a fixed delay, completes
// (resolved) after a fixed handle time, wraps up after a fixed time;
// heartbeats as the engine asks, as every desktop; does not reconnect (a broken stream is an error
// of the run).
class FixedDelayDeskPolicy final : public DeskPolicy {
 public:
  struct Delays {
    Duration accept{0};
    Duration handle{0};
    Duration wrap_up{0};
  };
  explicit FixedDelayDeskPolicy(Delays delays) : delays_(delays) {}
  Duration AcceptDelay() override { return delays_.accept; }
  bool Rejects() override { return false; }
  Duration HandleTime(const ccrouter::v1::Offer&) override { return delays_.handle; }
  Duration WrapUpTime() override { return delays_.wrap_up; }
  bool Resolved() override { return true; }
  std::optional<Duration> NotReadyPause() override { return std::nullopt; }
  bool Reconnects() override { return false; }

 private:
  const Delays delays_;
};

// Told where a contact stands as the agents see it (the demo's customers
// hang up on that). Called from gRPC and scheduler threads; must not block.
class OfferObserver {
 public:
  virtual ~OfferObserver() = default;
  virtual void Offered(const std::string& contact_id) = 0;
  // Rejected, or withdrawn back to the queue (offer timeout, agent gone).
  virtual void BackInQueue(const std::string& contact_id) = 0;
  // Accepted, abandoned or cancelled: nothing left to wait for.
  virtual void Settled(const std::string& contact_id) = 0;
};

// Where a desktop connects when it speaks the browser's WebSocket
// (/v1/agent-desk on the engine's HTTP port, protobuf JSON in text frames)
// instead of gRPC: ccload --desk-transport=websocket.
struct WebSocketDesk {
  boost::asio::io_context* io = nullptr;  // run by the caller's threads; outlives the client
  std::string host;                       // numeric, e.g. "127.0.0.1"
  uint16_t port = 0;
};

// Threads for all of one run's WebSocket desktops (the JSON and the frames
// are their work; two keep up with 10,000 desktops' heartbeats).
inline constexpr int kWebSocketDeskThreads = 2;

// The threads WebSocket desktops run on: an io_context and `threads`
// threads, from construction to destruction.
class WebSocketDeskThreads {
 public:
  explicit WebSocketDeskThreads(int threads);
  // REQUIRES: every DeskClient using it is destroyed (each waits for its end).
  ~WebSocketDeskThreads();
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
};

// Completion queues for gRPC desktops, each drained by a thread of its own,
// from construction to destruction. Streams take the queues in turn.
class DeskCompletionQueues {
 public:
  explicit DeskCompletionQueues(int queues);
  // REQUIRES: every DeskClient using it is destroyed (each waits for its
  // stream's end, so nothing is pending on the queues).
  ~DeskCompletionQueues();
  DeskCompletionQueues(const DeskCompletionQueues&) = delete;
  DeskCompletionQueues& operator=(const DeskCompletionQueues&) = delete;

  // The queue for the next stream. Thread-safe.
  grpc::CompletionQueue* Next();
  int size() const { return static_cast<int>(queues_.size()); }

  // A set of kDefaultDeskQueues shared by the DeskClients not given one,
  // made when the first needs it and gone with the last of them.
  static std::shared_ptr<DeskCompletionQueues> Shared();

 private:
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

class DeskClient {
 public:
  using Clock = std::chrono::steady_clock;

  // Writes queued behind the one in flight on a stream; beyond it a write
  // is dropped and counted as "AgentDesk write RESOURCE_EXHAUSTED".
  static constexpr size_t kMaxQueuedWrites = 1024;

  // `stub`, `scheduler`, `counters` and `observer` (may be null) outlive
  // this.
  DeskClient(ccrouter::v1::AgentDesk::Stub& stub, ccrouter::v1::Login login,
             std::unique_ptr<DeskPolicy> policy, Scheduler& scheduler, RunCounters& counters,
             OfferObserver* observer = nullptr);
  // Closes, cancels after a second, waits for the stream's end.
  // REQUIRES: the scheduler stopped (its actions refer to this); not on a
  // thread of the client's completion queues.
  ~DeskClient();
  DeskClient(const DeskClient&) = delete;
  DeskClient& operator=(const DeskClient&) = delete;

  // Cluster mode: follow the owner. `current` is the address `stub` talks
  // to; `servers` the listed nodes (--server); `channels` (outlives this)
  // gives the channel to any address moved to, in `channel_shard`.
  // REQUIRES: before Start().
  void FollowOwner(const std::string& current, std::vector<std::string> servers,
                   ChannelsByAddress& channels, int channel_shard = 0);

  // Run the gRPC streams on `queues` (outlives this) instead of the shared
  // set. REQUIRES: before Start().
  void UseCompletionQueues(DeskCompletionQueues& queues);

  // Speak the WebSocket at `desk` instead of AgentDesk.Connect (no cluster
  // redirects). REQUIRES: before Start().
  void UseWebSocket(WebSocketDesk desk);

  // Opens the stream and logs in.
  void Start();
  // Half-closes the open stream (the engine logs the agent out and ends it)
  // and stops reconnecting.
  void Close();
  // Cancels the open stream (after Close, for one that does not end).
  void Cancel();
  // True once no stream is open and none will be (closed, or gave up).
  bool Done();
  bool WaitDone(Clock::duration timeout);

  const std::string& agent_id() const { return login_.agent_id(); }

 private:
  // One conversation, whatever carries it: written under mu_, ended by
  // SessionEnded (which deletes it).
  class Stream {
   public:
    virtual ~Stream() = default;
    enum class Queued {
      kYes,
      kStreamEnding,  // closing or broken: its end is counted when it comes
      kDropped,       // kMaxQueuedWrites already waiting: counted as RESOURCE_EXHAUSTED
    };
    virtual Queued Write(ccrouter::v1::AgentMessage message) = 0;
    // Says goodbye (the engine logs the agent out and ends the stream).
    virtual void Close() = 0;
    virtual void Cancel() = 0;
  };
  class Session;
  class WsSession;
  friend class DeskCompletionQueues;  // drains the Sessions' tags
  // Opens the WebSocket conversation (tools/ccload/ws_desk_session.cc).
  static Stream* StartWebSocketSession(DeskClient& client, uint64_t number,
                                       const WebSocketDesk& desk, ccrouter::v1::AgentMessage login);

  void StartSession();
  // From a Session's completion queue thread.
  void OnServerMessage(uint64_t session, const ccrouter::v1::ServerMessage& message);
  // From the stream's last event: deletes `ended`, then reconnects or is done.
  // `owner`: the owner its trailers named, if any.
  void SessionEnded(Stream* ended, uint64_t session, bool logged_in, const grpc::Status& status,
                    std::optional<std::string> owner);
  // Cluster mode: after `ended_with` (UNAVAILABLE), where the next stream
  // goes. True when it follows a redirect to `owner`. REQUIRES: mu_ held.
  bool MoveOnLocked(const std::optional<std::string>& owner);

  // Writes on the open stream. `session`: 0 for whichever is open, else only
  // that one. `accepted_contact`: the message accepts it; a failed
  // CommandResult for it cancels the follow-ups. False when nothing was
  // written. Takes mu_.
  bool Write(uint64_t session, ccrouter::v1::AgentMessage message,
             const std::string* accepted_contact = nullptr);
  void ScheduleHeartbeat(uint64_t session, Clock::duration interval);
  void OnOffer(uint64_t session, const ccrouter::v1::Offer& offer);
  void AnswerOffer(uint64_t session, const ccrouter::v1::Offer& offer);
  void CompleteContact(const std::string& contact_id, bool complaint);
  void OnResult(const ccrouter::v1::CommandResult& result);
  // Runs `action` after `delay` on the scheduler, or now when `delay` is 0.
  void AfterDelay(Clock::duration delay, std::function<void()> action);

  ccrouter::v1::AgentDesk::Stub& stub_;
  ChannelsByAddress* channels_ = nullptr;  // set by FollowOwner before Start; then constant
  const ccrouter::v1::Login login_;
  Scheduler& scheduler_;
  RunCounters& counters_;
  OfferObserver* const observer_;

  std::mutex mu_;
  std::condition_variable done_cv_;
  const std::unique_ptr<DeskPolicy> policy_;         // GUARDED_BY(mu_)
  Stream* session_ = nullptr;                        // GUARDED_BY(mu_): the open stream's
  uint64_t session_number_ = 0;                      // GUARDED_BY(mu_)
  bool started_ = false;                             // GUARDED_BY(mu_)
  bool closing_ = false;                             // GUARDED_BY(mu_)
  bool done_ = false;                                // GUARDED_BY(mu_)
  double backoff_seconds_ = 1;                       // GUARDED_BY(mu_)
  uint64_t next_request_id_ = 0;                     // GUARDED_BY(mu_)
  uint64_t heartbeat_sequence_ = 0;                  // GUARDED_BY(mu_)
  std::set<std::string> pending_offers_;             // GUARDED_BY(mu_): offer ids
  std::map<uint64_t, std::string> pending_accepts_;  // GUARDED_BY(mu_): request id -> contact
  std::set<std::string> accepted_not_completed_;     // GUARDED_BY(mu_): contact ids
  std::set<std::string> failed_accepts_;             // GUARDED_BY(mu_): contact ids
  // Cluster mode (FollowOwner):
  std::optional<ServerList> servers_;  // GUARDED_BY(mu_)
  std::string stub_address_;           // GUARDED_BY(mu_): where the open or next stream goes
  int channel_shard_ = 0;              // GUARDED_BY(mu_)
  // The stub of the address moved to; null: stub_. Replaced only while no
  // stream is open.
  std::unique_ptr<ccrouter::v1::AgentDesk::Stub> moved_stub_;  // GUARDED_BY(mu_)
  bool redirected_since_login_ = false;                        // GUARDED_BY(mu_)
  std::optional<WebSocketDesk> websocket_;  // set by UseWebSocket before Start; then constant
  // Where the gRPC streams run: set by UseCompletionQueues, or by Start to
  // the shared set (held in shared_queues_ until destruction); then constant.
  DeskCompletionQueues* queues_ = nullptr;
  std::shared_ptr<DeskCompletionQueues> shared_queues_;
};

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_DESK_CLIENT_H_
