// Snapshot files: the router's whole state at one journal index, written as a
// stream of bounded records and read back record by record, so no size of
// state is too big for one record or for protobuf's 2 GiB message limit.
//
//   format 2 (written)    "CCRSNP02" | header | chunk | chunk | ... | trailer
//       each a framed (length, CRC32C) ccrouter.v1.SnapshotRecord of at most
//       kMaxRecordBytes; a chunk holds whole contacts, agents, ... up to about
//       kSnapshotChunkBytes; the trailer counts the chunks and the items of
//       each kind, so a file cut short or missing a chunk is refused.
//   format 1 (read only)  "CCRSNP01" | one framed ccrouter.v1.Snapshot
//       (engines before format 2; its record may be up to 2 GiB, what
//       protobuf parses, so even the snapshots those engines wrote over
//       64 MiB load).
//
//   // snapshot thread: write, then prove it reads back before relying on it
//   absl::StatusOr<SnapshotCounts> wrote = WriteSnapshotRecords(source, append_to_file);
//   absl::StatusOr<LoadedSnapshot> read = ReadSnapshotFile(tmp_path, /*keep_state=*/false);
//   ... read->counts == *wrote ...
#ifndef CCROUTER_ENGINE_JOURNAL_SNAPSHOT_FILE_H_
#define CCROUTER_ENGINE_JOURNAL_SNAPSHOT_FILE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/journal/journal_format.h"
#include "router/router_state.h"

namespace ccr {

inline constexpr uint32_t kSnapshotFormatVersion = 2;
// A chunk closes once its items reach this; one item (a contact is at most a
// 64 KiB request plus its history) keeps it far below kMaxRecordBytes.
inline constexpr size_t kSnapshotChunkBytes = 1u << 20;

// What a snapshot holds. `state` is a copy taken on the routing strand, so
// encoding it on another thread races with nothing.
struct SnapshotSource {
  uint64_t last_index = 0;  // the journal index of the last command it includes
  absl::Time taken;
  std::string config_yaml;  // the config the router ran with
  std::shared_ptr<const RouterState> state;
};

// How many records and items a snapshot holds: the writer's tally, the
// trailer's, and what a reader found must all agree.
struct SnapshotCounts {
  uint64_t chunks = 0;
  uint64_t languages = 0;
  uint64_t contacts = 0;
  uint64_t agents = 0;
  uint64_t queues = 0;
  uint64_t sticky = 0;
  uint64_t idempotency = 0;
  uint64_t deferred_events = 0;
  uint64_t timers = 0;

  bool operator==(const SnapshotCounts&) const = default;
  std::string ToString() const;
};

// Encodes `source` in format 2 and hands the bytes, in order, to `append`
// (the magic, then one framed record at a time). Fails, writing nothing
// more, if `append` fails or one item alone would exceed kMaxRecordBytes.
absl::StatusOr<SnapshotCounts> WriteSnapshotRecords(
    const SnapshotSource& source, const std::function<absl::Status(absl::string_view)>& append,
    size_t chunk_bytes = kSnapshotChunkBytes);

struct LoadedSnapshot {
  uint32_t format_version = 0;
  uint64_t last_index = 0;
  int64_t time_ns = 0;
  std::string config_yaml;
  RouterState state;  // empty vectors when read with keep_state = false
  SnapshotCounts counts;
};

// Reads a snapshot file of either format, checking every frame's CRC, that
// every item decodes (RouterStateFromProto) and, in format 2, that the
// counts match the trailer and nothing follows it. Memory: one record at a
// time plus the decoded state; with keep_state = false each chunk is decoded
// and dropped (the writer's read-back check). Errors are DataLoss naming the
// file and the offset.
absl::StatusOr<LoadedSnapshot> ReadSnapshotFile(const std::string& path, bool keep_state = true);
// The same checks on a snapshot's bytes held in memory (the etcd log keeps
// them in parts); `name` says where they came from in errors.
absl::StatusOr<LoadedSnapshot> ReadSnapshotBytes(absl::string_view bytes, const std::string& name,
                                                 bool keep_state = true);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_JOURNAL_SNAPSHOT_FILE_H_
