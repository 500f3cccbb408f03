// The engine's catch-up sinks (engine/sinks.h) over gRPC callback server
// streams: Admin.WatchEvents and ContactIngest.WatchContact, each a bounded
// StreamWriter. (An agent desktop's sink is in agent_desk_server.cc.)
#ifndef CCROUTER_ENGINE_GRPC_GRPC_SINKS_H_
#define CCROUTER_ENGINE_GRPC_GRPC_SINKS_H_

#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ccrouter/v1/events.pb.h"
#include "engine/engine.h"
#include "engine/grpc/grpc_status.h"
#include "engine/grpc/strand_call.h"
#include "engine/grpc/stream_writer.h"
#include "engine/sinks.h"
#include "grpcpp/support/server_callback.h"

namespace ccr {

// A CatchUpSink over a server stream's bounded StreamWriter.
template <typename Message>
class CatchUpOutbox final : public StreamWriter<grpc::ServerWriteReactor<Message>, Message>,
                            public CatchUpSink<Message> {
 public:
  using Writer = StreamWriter<grpc::ServerWriteReactor<Message>, Message>;
  using WriteResult = typename CatchUpSink<Message>::WriteResult;
  using Writer::Writer;
  WriteResult TryWrite(const Message& message) override {
    switch (Writer::TrySend(message)) {
      case Writer::TrySendResult::kQueued:
        return WriteResult::kQueued;
      case Writer::TrySendResult::kFull:
        return WriteResult::kFull;
      case Writer::TrySendResult::kClosed:
        break;
    }
    return WriteResult::kClosed;
  }
  bool NotifyWhenRoom(std::function<void()> on_room) override {
    return Writer::NotifyWhenRoom(std::move(on_room));
  }
  bool closed() const override { return Writer::closed(); }
  void Close(const absl::Status& status) override {
    Writer::Finish(ToGrpcStatus(status), OwnerOf(status));
  }
};

using EventOutbox = CatchUpOutbox<v1::LifecycleEvent>;
using ContactStatusOutbox = CatchUpOutbox<v1::ContactStatus>;

// A server stream fed from the strand through a CatchUpOutbox: the
// constructor posts `subscribe` (admitted as client work; refused:
// RESOURCE_EXHAUSTED with the retry hint), whose error, if any, ends the
// stream. Admin.WatchEvents and ContactIngest.WatchContact.
template <typename Message>
class CatchUpStreamReactor final : public grpc::ServerWriteReactor<Message> {
 public:
  using Subscribe = std::function<absl::Status(Engine&, std::shared_ptr<CatchUpOutbox<Message>>)>;
  CatchUpStreamReactor(Engine& engine, grpc::CallbackServerContext* ctx, size_t max_queued,
                       Subscribe subscribe)
      : outbox_(std::make_shared<CatchUpOutbox<Message>>(this, ctx, max_queued)) {
    std::shared_ptr<CatchUpOutbox<Message>> outbox = outbox_;
    const bool admitted = engine.Post(
        [outbox, subscribe = std::move(subscribe)](Engine& e) {
          absl::Status s = e.draining() ? absl::UnavailableError("engine is shutting down")
                                        : subscribe(e, outbox);
          if (!s.ok()) outbox->Close(s);
        },
        Admission::kClient);
    if (!admitted) outbox_->Finish(Overloaded(ctx, engine));
  }
  void OnWriteDone(bool ok) override { outbox_->OnWriteDone(ok); }
  void OnCancel() override { outbox_->Finish(grpc::Status::CANCELLED); }
  void OnDone() override {
    outbox_->OnDone();
    delete this;
  }

 private:
  std::shared_ptr<CatchUpOutbox<Message>> outbox_;
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_GRPC_GRPC_SINKS_H_
