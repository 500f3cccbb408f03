// absl::Status inside, grpc::Status on the wire: the codes are the same
// numbers (both follow google.rpc.Code), so the mapping is a cast.
#ifndef CCROUTER_ENGINE_GRPC_GRPC_STATUS_H_
#define CCROUTER_ENGINE_GRPC_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace ccr {

inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace ccr

#endif  // CCROUTER_ENGINE_GRPC_GRPC_STATUS_H_
