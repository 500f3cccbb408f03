// The durable form of a router snapshot: RouterState (router/state.h) to and
// from the RouterStateRecord protobuf (proto/ccrouter/v1/snapshot.proto).
#ifndef CCROUTER_ENGINE_SNAPSHOT_CODEC_H_
#define CCROUTER_ENGINE_SNAPSHOT_CODEC_H_

#include "absl/status/statusor.h"
#include "ccrouter/v1/snapshot.pb.h"
#include "router/state.h"

namespace ccr {

namespace v1 = ::ccrouter::v1;

void RouterStateToProto(const RouterState& state, v1::RouterStateRecord* out);
// Fails with DataLoss naming the field path of the first value out of range
// (e.g. "state.contacts[3].state: 42 is not a contact state").
absl::StatusOr<RouterState> RouterStateFromProto(const v1::RouterStateRecord& in);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_SNAPSHOT_CODEC_H_
