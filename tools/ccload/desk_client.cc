#include "tools/ccload/desk_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tools/ccload/queued_stream_writer.h"

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
Duration RandomDeskPolicy::HeartbeatInterval(double server_interval_seconds) {
  return SecondsToDuration(server_interval_seconds > 0 ? server_interval_seconds
                                                       : kDefaultHeartbeatSeconds);
}

// One AgentDesk.Connect call. Owns nothing of the agent's state: it queues
// writes, hands what it reads to the DeskClient, and hands itself back to
// the DeskClient in OnDone to be deleted.
// Lock order: DeskClient::mu_, then this stream's mu_.
class DeskClient::Session final : public QueuedStreamWriter<v1::AgentMessage, v1::ServerMessage>,
                                  public DeskClient::Stream {
 public:
  Session(DeskClient& client, uint64_t number)
      : QueuedStreamWriter(kMaxQueuedWrites), client_(client), number_(number) {}

  void Start(v1::AgentDesk::Stub& stub, v1::AgentMessage login) {
    AddToken(context_);
    stub.async()->Connect(&context_, this);
    AddHold();  // writes come from other threads until Close()
    {
      std::lock_guard lock(mu_);
      EnqueueLocked(std::move(login));
    }
    StartRead(&message_);
    StartCall();
  }

  // False when closing, broken or too far behind.
  bool Write(v1::AgentMessage message) override {
    std::lock_guard lock(mu_);
    if (closing_ || broken_) return false;
    return EnqueueLocked(std::move(message));
  }

  void Close() override {
    std::lock_guard lock(mu_);
    closing_ = true;
    MaybeWritesDone();
  }

  void Cancel() override { CancelCall(); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      ReadsEnded();  // the engine ended the stream: OnDone follows
      return;
    }
    if (message_.kind_case() == v1::ServerMessage::kLoginOk) logged_in_ = true;
    client_.OnServerMessage(number_, message_);
    StartRead(&message_);
  }

  // The last reaction: the client deletes this stream (see SessionEnded).
  void OnDone(const grpc::Status& status) override {
    client_.SessionEnded(this, number_, logged_in_, status,
                         OwnerFromTrailers(context_.GetServerTrailingMetadata()));
  }

 private:
  // REQUIRES: mu_ held.
  void MaybeWritesDone() override {
    if (!closing_ && !broken_) return;
    if (writing_ || writes_done_) return;
    writes_done_ = true;
    if (!broken_) StartWritesDone();
    RemoveHold();
  }

  DeskClient& client_;
  const uint64_t number_;
  v1::ServerMessage message_;  // the one outstanding read
  bool logged_in_ = false;     // reactions are serial per direction: read side only

  bool closing_ = false;      // GUARDED_BY(mu_)
  bool writes_done_ = false;  // GUARDED_BY(mu_)
};

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

void DeskClient::UseWebSocket(WebSocketDesk desk) {
  std::lock_guard lock(mu_);
  websocket_ = std::move(desk);
}

void DeskClient::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_) return;
    started_ = true;
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
  session->Start(moved_stub_ != nullptr ? *moved_stub_ : stub_, std::move(hello));
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
  if (!session_->Write(std::move(message))) {
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
