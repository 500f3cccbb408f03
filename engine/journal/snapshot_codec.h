// The durable form of a router snapshot: RouterState (router/router_state.h) to and
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
#ifndef CCROUTER_ENGINE_JOURNAL_SNAPSHOT_CODEC_H_
#define CCROUTER_ENGINE_JOURNAL_SNAPSHOT_CODEC_H_

#include <functional>

#include "absl/status/statusor.h"
#include "ccrouter/v1/snapshot.pb.h"
#include "router/router_state.h"

namespace ccr {

namespace v1 = ::ccrouter::v1;

// Replaces *out with `state`.
void RouterStateToProto(const RouterState& state, v1::RouterStateRecord* out);
// The lists of `state` (not its scalar fields) as consecutive parts, each
// closed once its whole items reach about `part_bytes`, for snapshot files
// that must not hold the state in one record. `emit` gets each part in order
// (and may take its contents); its error stops the encoding. The lists of
// the parts concatenated are those of RouterStateToProto(state).
absl::Status RouterStateListsToProtoParts(
    const RouterState& state, size_t part_bytes,
    const std::function<absl::Status(v1::RouterStateRecord&)>& emit);
// Checks every enum; a snapshot is durable data, so a value out of range is
// DataLoss naming its field path (e.g. "state.contacts[3].state: 42 is not a
// contact state"). Consistency across records is Router::Restore's check.
absl::StatusOr<RouterState> RouterStateFromProto(const v1::RouterStateRecord& in);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_JOURNAL_SNAPSHOT_CODEC_H_
