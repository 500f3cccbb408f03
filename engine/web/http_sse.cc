#include "engine/web/http_sse.h"

#include "absl/strings/str_cat.h"
#include "engine/web/http_status.h"
#include "google/protobuf/util/json_util.h"

namespace ccr {

std::string SseEventText(const v1::LifecycleEvent& event) {
  std::string json;
  // The default JSON options print one line: no newline may split `data:`.
  (void)google::protobuf::util::MessageToJsonString(event, &json);
  return absl::StrCat("id: ", event.sequence(), "\ndata: ", json, "\n\n");
}

SseEventSink::WriteResult SseEventSink::TryWrite(const v1::LifecycleEvent& event) {
  switch (stream_->TryPush([event] { return SseEventText(event); })) {
    case HttpStream::PushResult::kQueued:
      return WriteResult::kQueued;
    case HttpStream::PushResult::kFull:
      return WriteResult::kFull;
    case HttpStream::PushResult::kClosed:
      break;
  }
  return WriteResult::kClosed;
}

void SseEventSink::Close(const absl::Status& status) {
  if (status.ok()) return stream_->End();
  std::string error = HttpErrorFromStatus(status).body;
  while (!error.empty() && error.back() == '\n') error.pop_back();
  stream_->End(absl::StrCat("event: stream-error\ndata: ", error, "\n\n"));
}

}  // namespace ccr
