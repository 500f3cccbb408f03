// What every etcd client in cluster/ needs: calls retried until a deadline
// (etcd answers UNAVAILABLE at once while it elects a raft leader), gRPC
// status mapped to absl::Status naming what failed, and key ranges.
#ifndef CCROUTER_ENGINE_CLUSTER_ETCD_CALLS_H_
#define CCROUTER_ENGINE_CLUSTER_ETCD_CALLS_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ccr::cluster {

// The range_end that makes a Range or DeleteRange cover every key starting
// with `prefix` (etcd's "prefix end": the last byte below 0xff, plus one).
std::string PrefixEnd(std::string prefix);

// `what` failed with `status`, keeping its code (RESOURCE_EXHAUSTED for a
// reply too large, OUT_OF_RANGE for a compacted revision, ...).
absl::Status FromGrpc(const grpc::Status& status, absl::string_view what);

// Calls `call` with a fresh context whose deadline is `deadline` until it
// succeeds, fails in a way no retry can mend, or the deadline passes; then
// UNAVAILABLE naming `what` and the last error. Retried calls must be safe
// to repeat: a call that timed out may still have committed.
absl::Status CallEtcd(absl::string_view what, absl::Time deadline,
                      const std::function<grpc::Status(grpc::ClientContext&)>& call);

}  // namespace ccr::cluster

#endif  // CCROUTER_ENGINE_CLUSTER_ETCD_CALLS_H_
