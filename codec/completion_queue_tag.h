// CompletionTag and DrainCompletionQueue: how a call on gRPC's completion-queue
// (async) API hears about its operations. Each call owns one tag per kind of
// operation; the queue hands back the tag's address, and the queue's thread
// passes the event to the call. The engine's AgentDesk streams
// (engine/grpc/agent_desk_server.cc) and ccload's desktops
// (tools/ccload/desk_client.cc) both run this way.
//
//   class Stream {
//    public:
//     enum class Op { kRead, kWrite };
//     using Tag = CompletionTag<Stream, Op>;
//     void OnEvent(Op op, bool ok);    // the queue's thread; may delete this
//    private:
//     Tag read_tag_{this, Op::kRead};  // stream->Read(&message_, &read_tag_)
//   };
//   std::thread([&cq] { DrainCompletionQueue<Stream::Tag>(cq); });
#ifndef CCR_CODEC_COMPLETION_QUEUE_TAG_H_
#define CCR_CODEC_COMPLETION_QUEUE_TAG_H_

#include <grpcpp/completion_queue.h>

namespace ccr {

template <typename Call, typename Op>
struct CompletionTag {
  Call* call;
  Op op;
};

// Passes each event of `cq` to `tag->call->OnEvent(tag->op, ok)` until the
// queue is shut down and empty. REQUIRES: every tag on `cq` is a `Tag`.
template <typename Tag>
void DrainCompletionQueue(grpc::CompletionQueue& cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
    Tag* t = static_cast<Tag*>(tag);
    t->call->OnEvent(t->op, ok);
  }
}

}  // namespace ccr

#endif  // CCR_CODEC_COMPLETION_QUEUE_TAG_H_
