#include "engine/web/http_status.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "engine/edge_calls.h"

namespace ccr {

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    // The contact's state precludes the call (already ended, already
    // offered): a conflict with the resource as it is now.
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

HttpResponse HttpErrorFromStatus(const absl::Status& status) {
  HttpResponse response = HttpJsonError(HttpStatusFor(status.code()),
                                        absl::StatusCodeToString(status.code()), status.message());
  if (status.code() == absl::StatusCode::kResourceExhausted) {
    response.headers.emplace_back("Retry-After", absl::StrCat((kRetryAfterMs + 999) / 1000));
  }
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  return response;
}

}  // namespace ccr
