#include "tools/ccload/gateway_client.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "codec/owner_redirect.h"
#include "tools/ccload/queued_stream_writer.h"

namespace ccr::load {
namespace {

namespace v1 = ::ccrouter::v1;
using Clock = GatewayClient::Clock;

int64_t SteadyNanos(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point DeadlineAfter(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(seconds));
}

}  // namespace

// The one SubmitStream of a gateway. The correlation id is the intended
// send time in ns, kept unique and increasing, so a reply alone gives its
// latency and no map of pending submits is needed.
class GatewayClient::SubmitStreamCall final
    : public QueuedStreamWriter<v1::SubmitStreamRequest, v1::SubmitStreamReply> {
 public:
  // `reopened`: the second stream, at the owner; it is not reopened again.
  SubmitStreamCall(GatewayClient& gateway, bool reopened)
      : QueuedStreamWriter(gateway.options_.max_queued_submits),
        gateway_(gateway),
        reopened_(reopened) {}

  void Start(v1::ContactIngest::Stub& stub) {
    AddToken(context_);
    stub.async()->SubmitStream(&context_, this);
    AddHold();  // writes come from other threads until Finish()
    StartRead(&reply_);
    StartCall();
  }

  bool Send(v1::ContactSpec spec, Clock::time_point intended) {
    std::lock_guard lock(mu_);
    if (finishing_ || broken_) return false;
    const int64_t id = std::max(SteadyNanos(intended), last_id_ + 1);
    v1::SubmitStreamRequest request;
    request.set_correlation_id(static_cast<uint64_t>(id));
    *request.mutable_contact() = std::move(spec);
    if (!EnqueueLocked(std::move(request))) return false;
    last_id_ = id;
    gateway_.counters_.SubmitSent(intended);
    ++unanswered_;
    return true;
  }

  void Finish() {
    std::lock_guard lock(mu_);
    finishing_ = true;
    MaybeWritesDone();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      ReadsEnded();  // the server ended the stream: OnDone follows
      return;
    }
    SubmitAnswer answer;
    answer.answered = Clock::now();
    answer.intended = Clock::time_point{std::chrono::duration_cast<Clock::duration>(
        std::chrono::nanoseconds(reply_.correlation_id()))};
    answer.code = reply_.code();
    answer.error_message = reply_.error_message();
    answer.reply = &reply_.reply();
    gateway_.counters_.SubmitAnswered(answer.intended, answer.answered, answer.code, "SubmitStream",
                                      answer.error_message, reply_.reply().duplicate());
    {
      std::lock_guard lock(mu_);
      --unanswered_;
      MaybeWritesDone();
    }
    if (gateway_.on_answer_) gateway_.on_answer_(answer);
    StartRead(&reply_);
  }

  void OnDone(const grpc::Status& status) override {
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      gateway_.counters_.RecordError("SubmitStream (call)", status.error_code(),
                                     status.error_message());
    }
    // Before this stream counts as done, so WaitDone sees the new one.
    if (!reopened_ && status.error_code() == grpc::StatusCode::UNAVAILABLE &&
        gateway_.options_.follow_owner != nullptr) {
      if (std::optional<std::string> owner =
              OwnerFromTrailers(context_.GetServerTrailingMetadata())) {
        gateway_.ReopenStreamAt(*owner);
      }
    }
    std::lock_guard lock(mu_);
    // Cut off at the end of the drain (or the stream broke): never answered.
    gateway_.counters_.SubmitsUnanswered(unanswered_);
    unanswered_ = 0;
    MarkDoneLocked();
  }

 private:
  // REQUIRES: mu_ held. Half-closes once finishing and every reply is in;
  // a broken stream lets go at once.
  void MaybeWritesDone() override {
    if (writing_ || writes_done_) return;
    if (!broken_ && (!finishing_ || unanswered_ > 0)) return;
    writes_done_ = true;
    if (!broken_) StartWritesDone();
    RemoveHold();
  }

  GatewayClient& gateway_;
  const bool reopened_;
  v1::SubmitStreamReply reply_;  // the one outstanding read

  bool finishing_ = false;    // GUARDED_BY(mu_)
  bool writes_done_ = false;  // GUARDED_BY(mu_)
  int64_t last_id_ = 0;       // GUARDED_BY(mu_)
  int64_t unanswered_ = 0;    // GUARDED_BY(mu_)
};

GatewayClient::GatewayClient(std::shared_ptr<grpc::Channel> channel, GatewayOptions options,
                             RunCounters& counters, AnswerObserver on_answer)
    : stub_(v1::ContactIngest::NewStub(channel)),
      options_(options),
      counters_(counters),
      on_answer_(std::move(on_answer)) {}

GatewayClient::~GatewayClient() {
  Finish();
  if (!WaitDone(std::chrono::seconds(1))) Cancel();
  while (!WaitDone(std::chrono::seconds(1))) {
  }
}

void GatewayClient::Start() {
  if (!options_.stream || stream_ != nullptr) return;
  stream_ = std::make_unique<SubmitStreamCall>(*this, /*reopened=*/false);
  stream_->Start(*stub_);
}

void GatewayClient::ReopenStreamAt(const std::string& owner) {
  std::lock_guard lock(mu_);
  if (finishing_ || reopened_stream_ != nullptr) return;
  std::shared_ptr<grpc::Channel> channel = options_.follow_owner->Get(owner);
  if (channel == nullptr) return;  // over the channel bound: the stream stays broken
  owner_stub_ = v1::ContactIngest::NewStub(channel);
  reopened_stream_ = std::make_unique<SubmitStreamCall>(*this, /*reopened=*/true);
  reopened_stream_->Start(*owner_stub_);
  reopened_.store(reopened_stream_.get(), std::memory_order_release);
}

GatewayClient::SubmitStreamCall* GatewayClient::open_stream() const {
  SubmitStreamCall* reopened = reopened_.load(std::memory_order_acquire);
  return reopened != nullptr ? reopened : stream_.get();
}

bool GatewayClient::Submit(v1::ContactSpec spec, Clock::time_point intended,
                           double patience_seconds) {
  if (options_.stream) {
    SubmitStreamCall* stream = open_stream();
    return stream != nullptr && stream->Send(std::move(spec), intended);
  }
  {
    std::lock_guard lock(mu_);
    if (finishing_) return false;
    ++unary_calls_;
  }
  SubmitUnary(std::move(spec), intended, patience_seconds);
  return true;
}

void GatewayClient::SubmitUnary(v1::ContactSpec spec, Clock::time_point intended,
                                double patience_seconds) {
  struct Call {
    grpc::ClientContext context;
    v1::SubmitRequest request;
    v1::SubmitReply reply;
    Clock::time_point intended;
    double patience_seconds = 0;
  };
  auto* call = new Call;
  call->intended = intended;
  call->patience_seconds = patience_seconds;
  *call->request.mutable_contact() = std::move(spec);
  call->context.set_deadline(DeadlineAfter(options_.rpc_timeout_seconds));
  AddToken(call->context);
  counters_.SubmitSent(intended);
  stub_->async()->Submit(
      &call->context, &call->request, &call->reply, [this, call](grpc::Status status) {
        SubmitAnswer answer;
        answer.answered = Clock::now();
        answer.intended = call->intended;
        answer.code = status.error_code();
        answer.error_message = status.error_message();
        answer.reply = &call->reply;
        answer.queue = call->request.contact().queue();
        answer.patience_seconds = call->patience_seconds;
        counters_.SubmitAnswered(answer.intended, answer.answered, answer.code, "Submit",
                                 answer.error_message, call->reply.duplicate());
        if (on_answer_) on_answer_(answer);
        delete call;
        UnaryCallEnded();
      });
}

void GatewayClient::HangUp(const std::string& contact_id, std::function<void(bool ok)> on_done) {
  {
    std::lock_guard lock(mu_);
    if (finishing_) return;
    ++unary_calls_;
  }
  struct Call {
    grpc::ClientContext context;
    v1::UpdateRequest request;
    v1::UpdateReply reply;
    std::function<void(bool)> on_done;
  };
  auto* call = new Call;
  call->request.set_contact_id(contact_id);
  call->request.set_abandoned(true);
  call->on_done = std::move(on_done);
  call->context.set_deadline(DeadlineAfter(options_.rpc_timeout_seconds));
  AddToken(call->context);
  stub_->async()->Update(
      &call->context, &call->request, &call->reply, [this, call](grpc::Status status) {
        if (status.ok()) {
          counters_.abandons.fetch_add(1, std::memory_order_relaxed);
        } else if (status.error_code() != grpc::FAILED_PRECONDITION &&
                   status.error_code() != grpc::NOT_FOUND) {
          // Those two: answered or ended meanwhile, not an error.
          counters_.RecordError("Update", status.error_code(), status.error_message());
        }
        if (call->on_done) call->on_done(status.ok());
        delete call;
        UnaryCallEnded();
      });
}

void GatewayClient::UnaryCallEnded() {
  std::lock_guard lock(mu_);
  if (--unary_calls_ == 0) idle_cv_.notify_all();
}

void GatewayClient::Finish() {
  {
    std::lock_guard lock(mu_);
    finishing_ = true;  // no reopening from now on
  }
  if (stream_ != nullptr) stream_->Finish();
  if (SubmitStreamCall* reopened = reopened_.load(std::memory_order_acquire)) reopened->Finish();
}

bool GatewayClient::WaitDone(Clock::duration timeout) {
  const Clock::time_point give_up = Clock::now() + timeout;
  if (stream_ != nullptr && !stream_->WaitUntilDone(timeout)) return false;
  // Read after the first stream is done: it reopens before it is done.
  if (SubmitStreamCall* reopened = reopened_.load(std::memory_order_acquire);
      reopened != nullptr && !reopened->WaitUntilDone(give_up - Clock::now())) {
    return false;
  }
  std::unique_lock lock(mu_);
  return idle_cv_.wait_until(lock, give_up, [this] { return unary_calls_ == 0; });
}

void GatewayClient::Cancel() {
  if (stream_ != nullptr) stream_->CancelCall();
  if (SubmitStreamCall* reopened = reopened_.load(std::memory_order_acquire)) {
    reopened->CancelCall();
  }
}

}  // namespace ccr::load
