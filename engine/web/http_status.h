// absl::Status inside, an HTTP status and a JSON error on the web surface:
// the gRPC codes mapped to HTTP statuses the usual way (google.rpc.Code's
// documented mapping), so a web client sees the same code and message a
// gRPC client would.
//
//   respond(HttpErrorFromStatus(absl::InvalidArgumentError("contact.queue: ...")));
//   // 400 {"error":{"code":"INVALID_ARGUMENT","message":"contact.queue: ..."}}
#ifndef CCROUTER_ENGINE_WEB_HTTP_STATUS_H_
#define CCROUTER_ENGINE_WEB_HTTP_STATUS_H_

#include "absl/status/status.h"
#include "engine/http_server.h"

namespace ccr {

// INVALID_ARGUMENT / OUT_OF_RANGE 400, UNAUTHENTICATED 401,
// PERMISSION_DENIED 403, NOT_FOUND 404, ALREADY_EXISTS / ABORTED /
// FAILED_PRECONDITION 409, RESOURCE_EXHAUSTED 429, CANCELLED 499,
// UNIMPLEMENTED 501, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, the rest 500.
int HttpStatusFor(absl::StatusCode code);

// The JSON error for `status` (which must not be OK). RESOURCE_EXHAUSTED
// carries `Retry-After` (whole seconds, kRetryAfterMs rounded up);
// UNAUTHENTICATED carries `WWW-Authenticate: Bearer`.
HttpResponse HttpErrorFromStatus(const absl::Status& status);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_WEB_HTTP_STATUS_H_
