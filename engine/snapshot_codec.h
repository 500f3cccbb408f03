// The durable form of a router snapshot: RouterState (router/state.h) to and
// from the RouterStateRecord protobuf (proto/ccrouter/v1/snapshot.proto).
//
//   v1::Snapshot snapshot;
//   RouterStateToProto(router.Save(), snapshot.mutable_state());
//   ...
//   absl::StatusOr<RouterState> state = RouterStateFromProto(snapshot.state());
//   auto restored = Router::Restore(config, *state);
//
// The round trip is exact for every time and duration in whole nanoseconds
// (absl::Now()'s resolution; infinite ones travel as sentinels), so a restored
// router behaves as the saved one. absl keeps quarter nanoseconds: a deadline
// built from a configured duration with a sub-nanosecond fraction would lose it.
#ifndef CCROUTER_ENGINE_SNAPSHOT_CODEC_H_
#define CCROUTER_ENGINE_SNAPSHOT_CODEC_H_

#include "absl/status/statusor.h"
#include "ccrouter/v1/snapshot.pb.h"
#include "router/state.h"

namespace ccr {

namespace v1 = ::ccrouter::v1;

// Replaces *out with `state`.
void RouterStateToProto(const RouterState& state, v1::RouterStateRecord* out);
// Checks every enum; a snapshot is durable data, so a value out of range is
// DataLoss naming its field path (e.g. "state.contacts[3].state: 42 is not a
// contact state"). Consistency across records is Router::Restore's check.
absl::StatusOr<RouterState> RouterStateFromProto(const v1::RouterStateRecord& in);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_SNAPSHOT_CODEC_H_
