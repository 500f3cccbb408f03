#include "engine/cluster/etcd_calls.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ccr::cluster {

namespace {

// Codes a later try may turn into success: no leader, leader changed,
// member unreachable, a connection that broke mid-call.
bool Retryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::INTERNAL:
      return true;
    default:
      return false;
  }
}

constexpr absl::Duration kRetryPause = absl::Milliseconds(50);

}  // namespace

std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) < 0xff) {
      prefix.back() = static_cast<char>(prefix.back() + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat("etcd: ", what, ": ", status.error_message()));
}

absl::Status CallEtcd(absl::string_view what, absl::Time deadline,
                      const std::function<grpc::Status(grpc::ClientContext&)>& call) {
  const absl::Time start = absl::Now();
  for (;;) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    const grpc::Status status = call(context);
    if (status.ok()) return absl::OkStatus();
    if (!Retryable(status.error_code())) return FromGrpc(status, what);
    if (absl::Now() + kRetryPause >= deadline) {
      return absl::UnavailableError(absl::StrCat("etcd: ", what, ": gave up after ",
                                                 absl::FormatDuration(absl::Now() - start), ": ",
                                                 status.error_message()));
    }
    absl::SleepFor(kRetryPause);
  }
}

}  // namespace ccr::cluster
