#include "tools/ccload/desk_client.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "codec/completion_queue_tag.h"

namespace ccr::load {
namespace {

namespace v1 = ::ccrouter::v1;
using Duration = DeskPolicy::Duration;

constexpr double kDefaultHeartbeatSeconds = 5;  // when LoginOk does not say
constexpr double kNotReadyPauseSeconds = 5;
constexpr double kMaxReconnectBackoffSeconds = 10;
constexpr int kResourceExhausted = static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED);

}  // namespace

Duration RandomDeskPolicy::AcceptDelay() {
  return SecondsToDuration(behaviour_.AcceptDelaySeconds());
}
Duration RandomDeskPolicy::HandleTime(const v1::Offer& offer) {
  return SecondsToDuration(behaviour_.HandleSeconds(offer.queue(), offer.channel()));
}
Duration RandomDeskPolicy::WrapUpTime() { return SecondsToDuration(behaviour_.WrapUpSeconds()); }
std::optional<Duration> RandomDeskPolicy::NotReadyPause() {
  return SecondsToDuration(kNotReadyPauseSeconds);
}
Duration DeskPolicy::HeartbeatInterval(double server_interval_seconds) {
  return SecondsToDuration(server_interval_seconds > 0 ? server_interval_seconds
                                                       : kDefaultHeartbeatSeconds);
}

// One AgentDesk.Connect call on a completion queue. Owns nothing of the
// agent's state: it queues writes, hands what it reads to the DeskClient, and
// hands itself to the DeskClient to be deleted once the call is over.
//
// gRPC's rules, and how they hold here:
// - One read outstanding: the next read starts after the last one's event.
// - One operation in the write slot: the call's start, each write and the
//   half-close share it (gRPC uses one set of operations for them), so the
//   login waits behind the start and the half-close behind the last write.
// - Finish (the status) starts once a read has failed: the read side is over,
//   and the first read already asked for the initial metadata.
// - The session is deleted only when the finish event has come and nothing is
//   in the write slot; a read cannot be pending then (Finish follows a failed
//   one). All of a call's events come on its queue's one thread, in turn.
// Lock order: DeskClient::mu_, then this stream's mu_.
class DeskClient::Session final : public DeskClient::Stream {
 public:
  enum class Op { kWriteSlot, kRead, kFinish };
  using Tag = CompletionTag<Session, Op>;

  Session(DeskClient& client, uint64_t number) : client_(client), number_(number) {}

  // REQUIRES: the client's mu_ held (so no event of it is handled before it
  // is the client's open stream).
  void Start(v1::AgentDesk::Stub& stub, grpc::CompletionQueue* cq, v1::AgentMessage login) {
    AddToken(context_);
    std::lock_guard lock(mu_);
    stream_ = stub.PrepareAsyncConnect(&context_, cq);
    writing_ = true;  // the start
    pending_.push_back(std::move(login));
    stream_->StartCall(&write_tag_);
    stream_->Read(&message_, &read_tag_);
  }

  Queued Write(v1::AgentMessage message) override {
    std::lock_guard lock(mu_);
    if (closing_ || broken_) return Queued::kStreamEnding;
    if (writing_) {
      if (pending_.size() >= kMaxQueuedWrites) return Queued::kDropped;
      pending_.push_back(std::move(message));
      return Queued::kYes;
    }
    current_ = std::move(message);
    StartWriteLocked();
    return Queued::kYes;
  }

  void Close() override {
    std::lock_guard lock(mu_);
    closing_ = true;
    MaybeWritesDoneLocked();
  }

  // Gives up: the pending read fails, and with it the call.
  void Cancel() override {
    context_.TryCancel();
    std::lock_guard lock(mu_);
    BreakLocked();
  }

  // The queue's thread only. After the call is over, hands this to the
  // client, which deletes it.
  void OnEvent(Op op, bool ok) {
    switch (op) {
      case Op::kRead:
        if (!ok) {
          // The engine ended the stream, or it broke or was cancelled: no
          // write can succeed any more. The status says which.
          std::lock_guard lock(mu_);
          BreakLocked();
          stream_->Finish(&status_, &finish_tag_);
          return;
        }
        if (message_.kind_case() == v1::ServerMessage::kLoginOk) logged_in_ = true;
        client_.OnServerMessage(number_, message_);
        stream_->Read(&message_, &read_tag_);
        return;
      case Op::kWriteSlot: {
        std::lock_guard lock(mu_);
        writing_ = false;
        if (!ok) {
          BreakLocked();
        } else if (!pending_.empty() && !broken_) {
          current_ = std::move(pending_.front());
          pending_.pop_front();
          StartWriteLocked();
        } else {
          MaybeWritesDoneLocked();
        }
        if (!finished_ || writing_) return;
        break;
      }
      case Op::kFinish: {
        std::lock_guard lock(mu_);
        finished_ = true;
        if (writing_) return;
        break;
      }
    }
    // Over: nothing pending, and no thread can start anything (broken_).
    // SessionEnded deletes this: it gets copies.
    const grpc::Status status = status_;
    client_.SessionEnded(this, number_, logged_in_, status,
                         OwnerFromTrailers(context_.GetServerTrailingMetadata()));
  }

 private:
  // REQUIRES: mu_ held, the write slot free, current_ set.
  void StartWriteLocked() {
    writing_ = true;
    stream_->Write(current_, &write_tag_);
  }
  // REQUIRES: mu_ held.
  void BreakLocked() {
    broken_ = true;
    pending_.clear();
  }
  // Half-closes once closing and the writes are out. REQUIRES: mu_ held.
  void MaybeWritesDoneLocked() {
    if (!closing_ || broken_ || writing_ || writes_done_ || !pending_.empty()) return;
    writes_done_ = true;
    writing_ = true;
    stream_->WritesDone(&write_tag_);
  }

  DeskClient& client_;
  const uint64_t number_;
  grpc::ClientContext context_;  // outlives stream_ (declared first)
  // Set by Start, then constant.
  std::unique_ptr<grpc::ClientAsyncReaderWriter<v1::AgentMessage, v1::ServerMessage>> stream_;
  Tag write_tag_{this, Op::kWriteSlot};
  Tag read_tag_{this, Op::kRead};
  Tag finish_tag_{this, Op::kFinish};
  // The read side (the queue's thread, one read at a time):
  v1::ServerMessage message_;  // the one outstanding read
  bool logged_in_ = false;
  grpc::Status status_;  // gRPC's until the finish event

  std::mutex mu_;
  v1::AgentMessage current_;              // GUARDED_BY(mu_): the write in flight
  std::deque<v1::AgentMessage> pending_;  // GUARDED_BY(mu_): behind it, up to kMaxQueuedWrites
  bool writing_ = false;                  // GUARDED_BY(mu_): the write slot is taken
  bool closing_ = false;                  // GUARDED_BY(mu_)
  bool broken_ = false;                   // GUARDED_BY(mu_)
  bool writes_done_ = false;              // GUARDED_BY(mu_)
  bool finished_ = false;                 // GUARDED_BY(mu_)
};

DeskCompletionQueues::DeskCompletionQueues(int queues) {
  CCR_CHECK(queues >= 1) << "DeskCompletionQueues: at least 1 queue";
  for (int i = 0; i < queues; ++i) queues_.push_back(std::make_unique<grpc::CompletionQueue>());
  for (auto& queue : queues_) {
    threads_.emplace_back(
        [cq = queue.get()] { DrainCompletionQueue<DeskClient::Session::Tag>(*cq); });
  }
}

DeskCompletionQueues::~DeskCompletionQueues() {
  for (auto& queue : queues_) queue->Shutdown();
  for (std::thread& thread : threads_) thread.join();
}

grpc::CompletionQueue* DeskCompletionQueues::Next() {
  return queues_[next_.fetch_add(1, std::memory_order_relaxed) % queues_.size()].get();
}

std::shared_ptr<DeskCompletionQueues> DeskCompletionQueues::Shared() {
  static std::mutex* mu = new std::mutex;
  static auto* shared = new std::weak_ptr<DeskCompletionQueues>;
  std::lock_guard lock(*mu);
  std::shared_ptr<DeskCompletionQueues> queues = shared->lock();
  if (queues == nullptr) {
    queues = std::make_shared<DeskCompletionQueues>(kDefaultDeskQueues);
    *shared = queues;
  }
  return queues;
}

DeskClient::DeskClient(v1::AgentDesk::Stub& stub, v1::Login login,
                       std::unique_ptr<DeskPolicy> policy, Scheduler& scheduler,
                       RunCounters& counters, OfferObserver* observer)
    : stub_(stub),
      login_(std::move(login)),
      scheduler_(scheduler),
      counters_(counters),
      observer_(observer),
      policy_(std::move(policy)) {}

DeskClient::~DeskClient() {
  Close();
  if (!WaitDone(std::chrono::seconds(1))) Cancel();
  while (!WaitDone(std::chrono::seconds(1))) {
  }
  // Done: no stream is open and none will be, so nothing of this client is
  // on the queues; the last client of the shared set takes its threads down.
  shared_queues_.reset();
}

void DeskClient::FollowOwner(const std::string& current, std::vector<std::string> servers,
                             ChannelsByAddress& channels, int channel_shard) {
  std::lock_guard lock(mu_);
  channels_ = &channels;
  channel_shard_ = channel_shard;
  stub_address_ = current;
  servers_.emplace(std::move(servers));
  // `current` is the owner the preflight was sent to: start the list there.
  if (servers_->current() != current) servers_->OnRedirect(current);
  servers_->OnConnected();
}

void DeskClient::UseCompletionQueues(DeskCompletionQueues& queues) {
  std::lock_guard lock(mu_);
  queues_ = &queues;
}

void DeskClient::UseWebSocket(WebSocketDesk desk) {
  std::lock_guard lock(mu_);
  websocket_ = std::move(desk);
}

void DeskClient::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_) return;
    started_ = true;
    if (queues_ == nullptr && !websocket_.has_value()) {
      shared_queues_ = DeskCompletionQueues::Shared();
      queues_ = shared_queues_.get();
    }
  }
  StartSession();
}

void DeskClient::StartSession() {
  std::lock_guard lock(mu_);
  if (closing_ || session_ != nullptr) {
    if (session_ == nullptr) {
      done_ = true;
      done_cv_.notify_all();
    }
    return;
  }
  // A new stream: the last one's offers and unanswered commands are gone
  // (the engine resyncs the open offers).
  pending_offers_.clear();
  pending_accepts_.clear();
  v1::AgentMessage hello;
  *hello.mutable_login() = login_;
  hello.set_request_id(++next_request_id_);
  if (websocket_.has_value()) {
    session_ = StartWebSocketSession(*this, ++session_number_, *websocket_, std::move(hello));
    return;
  }
  auto* session = new Session(*this, ++session_number_);
  session_ = session;
  session->Start(moved_stub_ != nullptr ? *moved_stub_ : stub_, queues_->Next(), std::move(hello));
}

void DeskClient::Close() {
  std::lock_guard lock(mu_);
  closing_ = true;
  if (session_ != nullptr) {
    session_->Close();
  } else {
    done_ = true;
    done_cv_.notify_all();
  }
}

void DeskClient::Cancel() {
  std::lock_guard lock(mu_);
  if (session_ != nullptr) session_->Cancel();
}

bool DeskClient::Done() {
  std::lock_guard lock(mu_);
  return done_;
}

bool DeskClient::WaitDone(Clock::duration timeout) {
  std::unique_lock lock(mu_);
  return done_cv_.wait_for(lock, timeout, [this] { return done_; });
}

bool DeskClient::MoveOnLocked(const std::optional<std::string>& owner) {
  const bool redirected = owner.has_value() && servers_->OnRedirect(*owner);
  if (!redirected) servers_->OnUnreachable();
  // Still the same address (one node listed): keep the channel. Null beyond
  // the channel bound: stay where the stub is.
  if (servers_->current() == stub_address_) return redirected;
  if (std::shared_ptr<grpc::Channel> channel =
          channels_->Get(servers_->current(), channel_shard_)) {
    moved_stub_ = v1::AgentDesk::NewStub(channel);
    stub_address_ = servers_->current();
  }
  return redirected;
}

void DeskClient::SessionEnded(Stream* ended, uint64_t session, bool logged_in,
                              const grpc::Status& status, std::optional<std::string> owner) {
  if (logged_in) counters_.agents_logged_in.fetch_sub(1, std::memory_order_relaxed);
  const grpc::StatusCode code = status.error_code();
  std::unique_lock lock(mu_);
  if (session == session_number_) session_ = nullptr;
  // Deleted before anyone hears that it ended: its ClientContext holds a
  // reference to the channel, and once this client is done its owner may
  // drop its own; the last one must not go on this gRPC thread (the
  // channel's destructor would join the thread it runs on).
  delete ended;
  bool give_up = closing_;
  // Cluster mode: a stream ended UNAVAILABLE moves to the owner it names,
  // or else to the next listed node.
  const bool redirected = !closing_ && servers_.has_value() &&
                          code == grpc::StatusCode::UNAVAILABLE && MoveOnLocked(owner);
  if (closing_) {
    if (code != grpc::StatusCode::OK && code != grpc::StatusCode::CANCELLED) {
      counters_.RecordError("AgentDesk.Connect", code, status.error_message(), login_.agent_id());
    }
  } else {
    if (code == grpc::StatusCode::OK) {
      counters_.DescribeOnce("ended", absl::StrCat(login_.agent_id(),
                                                   ": the engine ended the stream; reconnecting "
                                                   "(said once for all agents)"));
    } else {
      counters_.RecordError("AgentDesk.Connect", code, status.error_message(), login_.agent_id());
    }
    if (code == grpc::ABORTED) {
      // Another desktop took over this agent id (another ccload?): fighting
      // it would only throw each other out.
      counters_.DescribeOnce(
          "replaced", absl::StrCat(login_.agent_id(),
                                   ": another desktop logged in as this agent (another ccload?); "
                                   "not retrying (said once for all agents)"));
      give_up = true;
    } else if (!logged_in && (code == grpc::INVALID_ARGUMENT || code == grpc::FAILED_PRECONDITION ||
                              code == grpc::ALREADY_EXISTS || code == grpc::PERMISSION_DENIED ||
                              code == grpc::UNAUTHENTICATED || code == grpc::UNIMPLEMENTED)) {
      // A refused login will be refused again.
      counters_.DescribeOnce("refused",
                             absl::StrCat(login_.agent_id(), ": login refused (", CodeName(code),
                                          "); not retrying (said once for all agents)"));
      give_up = true;
    } else if (!policy_->Reconnects() && !redirected) {
      give_up = true;
    }
  }
  if (give_up) {
    done_ = true;
    done_cv_.notify_all();
    return;
  }
  if (logged_in) {
    backoff_seconds_ = 1;
    redirected_since_login_ = false;
  }
  // The first redirect after a login goes at once: the owner is known and
  // up. Another one before the next login waits like any reconnect, so two
  // nodes naming each other cannot make a busy loop.
  double backoff_seconds = 0;
  if (redirected && !redirected_since_login_) {
    redirected_since_login_ = true;
  } else {
    backoff_seconds = backoff_seconds_;
    backoff_seconds_ = std::min(2 * backoff_seconds_, kMaxReconnectBackoffSeconds);
  }
  lock.unlock();
  scheduler_.After(SecondsToDuration(backoff_seconds), [this] { StartSession(); });
}

void DeskClient::OnServerMessage(uint64_t session, const v1::ServerMessage& message) {
  switch (message.kind_case()) {
    case v1::ServerMessage::kLoginOk: {
      counters_.agents_logged_in.fetch_add(1, std::memory_order_relaxed);
      Clock::duration interval;
      {
        std::lock_guard lock(mu_);
        if (servers_.has_value()) servers_->OnConnected();
        interval = policy_->HeartbeatInterval(message.login_ok().heartbeat_interval_seconds());
      }
      ScheduleHeartbeat(session, interval);
      break;
    }
    case v1::ServerMessage::kOffer:
      OnOffer(session, message.offer());
      break;
    case v1::ServerMessage::kResync:
      // After a reconnect the open offers come in the resync, not again as offers.
      for (const v1::Offer& offer : message.resync().offers()) OnOffer(session, offer);
      break;
    case v1::ServerMessage::kOfferWithdrawn: {
      const v1::OfferWithdrawn& withdrawn = message.offer_withdrawn();
      {
        std::lock_guard lock(mu_);
        if (pending_offers_.erase(withdrawn.offer_id()) > 0) {
          counters_.withdrawn.fetch_add(1, std::memory_order_relaxed);
        }
      }
      if (observer_ != nullptr) {
        if (withdrawn.reason() == "abandoned" || withdrawn.reason() == "cancelled") {
          observer_->Settled(withdrawn.contact_id());
        } else {
          observer_->BackInQueue(withdrawn.contact_id());
        }
      }
      break;
    }
    case v1::ServerMessage::kResult:
      OnResult(message.result());
      break;
    case v1::ServerMessage::kStateChanged: {
      // Missed offers (or a supervisor) set the agent not-ready; like a
      // real agent, come back after a pause.
      if (message.state_changed().state() != v1::AGENT_STATE_NOT_READY) break;
      std::optional<Clock::duration> pause;
      {
        std::lock_guard lock(mu_);
        pause = policy_->NotReadyPause();
      }
      if (!pause.has_value()) break;
      scheduler_.After(*pause, [this, session] {
        v1::AgentMessage m;
        m.mutable_set_state()->set_state(v1::AGENT_STATE_AVAILABLE);
        Write(session, std::move(m));
      });
      break;
    }
    default:
      break;
  }
}

bool DeskClient::Write(uint64_t session, v1::AgentMessage message,
                       const std::string* accepted_contact) {
  std::lock_guard lock(mu_);
  if (session_ == nullptr || closing_ || (session != 0 && session != session_number_)) {
    return false;
  }
  message.set_request_id(++next_request_id_);
  const uint64_t request_id = message.request_id();
  switch (session_->Write(std::move(message))) {
    case Stream::Queued::kYes:
      break;
    case Stream::Queued::kStreamEnding:
      return false;
    case Stream::Queued::kDropped:
      counters_.CountError("AgentDesk write", kResourceExhausted);
      return false;
  }
  if (accepted_contact != nullptr) pending_accepts_[request_id] = *accepted_contact;
  return true;
}

void DeskClient::ScheduleHeartbeat(uint64_t session, Clock::duration interval) {
  scheduler_.After(interval, [this, session, interval] {
    v1::AgentMessage m;
    {
      std::lock_guard lock(mu_);
      m.mutable_heartbeat()->set_sequence(++heartbeat_sequence_);
    }
    if (Write(session, std::move(m))) ScheduleHeartbeat(session, interval);
  });
}

void DeskClient::AfterDelay(Clock::duration delay, std::function<void()> action) {
  if (delay <= Clock::duration::zero()) {
    action();
  } else {
    scheduler_.After(delay, std::move(action));
  }
}

void DeskClient::OnOffer(uint64_t session, const v1::Offer& offer) {
  std::optional<int64_t> sent_ns;
  if (const auto it = offer.attributes().find(kSentAtAttribute); it != offer.attributes().end()) {
    int64_t ns = 0;
    if (absl::SimpleAtoi(it->second, &ns)) sent_ns = ns;
  }
  counters_.OfferDelivered(sent_ns, Clock::now());
  if (observer_ != nullptr) observer_->Offered(offer.contact_id());
  Clock::duration delay;
  {
    std::lock_guard lock(mu_);
    pending_offers_.insert(offer.offer_id());
    delay = policy_->AcceptDelay();
  }
  AfterDelay(delay, [this, session, offer] { AnswerOffer(session, offer); });
}

void DeskClient::AnswerOffer(uint64_t session, const v1::Offer& offer) {
  bool reject;
  Clock::duration handle;
  {
    std::lock_guard lock(mu_);
    if (session != session_number_ || pending_offers_.erase(offer.offer_id()) == 0) {
      return;  // withdrawn meanwhile, or the stream it came on is gone
    }
    reject = policy_->Rejects();
    handle = policy_->HandleTime(offer);
  }
  v1::AgentMessage m;
  if (reject) {
    m.mutable_reject()->set_offer_id(offer.offer_id());
    m.mutable_reject()->set_reason("busy");
    if (Write(session, std::move(m))) {
      counters_.rejects.fetch_add(1, std::memory_order_relaxed);
      if (observer_ != nullptr) observer_->BackInQueue(offer.contact_id());
    }
    return;
  }
  m.mutable_accept()->set_offer_id(offer.offer_id());
  {
    std::lock_guard lock(mu_);
    accepted_not_completed_.insert(offer.contact_id());
  }
  if (!Write(session, std::move(m), &offer.contact_id())) {
    std::lock_guard lock(mu_);
    accepted_not_completed_.erase(offer.contact_id());
    return;
  }
  counters_.accepts.fetch_add(1, std::memory_order_relaxed);
  if (observer_ != nullptr) observer_->Settled(offer.contact_id());
  AfterDelay(handle,
             [this, contact_id = offer.contact_id(), complaint = offer.signals().complaint()] {
               CompleteContact(contact_id, complaint);
             });
}

void DeskClient::CompleteContact(const std::string& contact_id, bool complaint) {
  bool resolved;
  Clock::duration wrap_up;
  {
    std::lock_guard lock(mu_);
    accepted_not_completed_.erase(contact_id);
    if (failed_accepts_.erase(contact_id) > 0) return;
    resolved = policy_->Resolved();
    wrap_up = policy_->WrapUpTime();
  }
  v1::AgentMessage m;
  v1::Complete& complete = *m.mutable_complete();
  complete.set_contact_id(contact_id);
  v1::Outcome& outcome = *complete.mutable_outcome();
  outcome.set_resolved(resolved);
  outcome.set_disposition(resolved ? "resolved" : "needs_follow_up");
  outcome.set_follow_up_due(!resolved);
  if (complaint) outcome.set_complaint_root_cause(v1::Outcome::ROOT_CAUSE_PRODUCT);
  if (!Write(/*session=*/0, std::move(m))) return;
  counters_.completes.fetch_add(1, std::memory_order_relaxed);
  AfterDelay(wrap_up, [this, contact_id] {
    v1::AgentMessage done;
    done.mutable_wrap_up_done()->set_contact_id(contact_id);
    if (Write(/*session=*/0, std::move(done))) {
      counters_.wrap_ups.fetch_add(1, std::memory_order_relaxed);
    }
  });
}

void DeskClient::OnResult(const v1::CommandResult& result) {
  std::lock_guard lock(mu_);
  auto it = pending_accepts_.find(result.request_id());
  if (result.code() != 0) {
    if (counters_.CountError("AgentDesk command", result.code())) {
      counters_.Describe(absl::StrCat("AgentDesk command of ", login_.agent_id(), ": ",
                                      CodeName(result.code()), ": ", result.message(),
                                      " (more like it are only counted)"));
    }
    // Only a contact whose Complete is still to come: the follow-ups skip it.
    if (it != pending_accepts_.end() && accepted_not_completed_.count(it->second) > 0) {
      failed_accepts_.insert(it->second);
    }
  }
  if (it != pending_accepts_.end()) pending_accepts_.erase(it);
}

}  // namespace ccr::load
