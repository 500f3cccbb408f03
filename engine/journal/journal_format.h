// The on-disk format of the journal and snapshots, shared by the writer
// (journal.cc), recovery (recovery.cc) and the fuzz/unit tests.
//
//   segment file  journal-<first index, 20 digits>.ccj
//                 "CCRJNL01" | first index (u64 LE) | record | record | ...
//   record        payload length (u32 LE) | CRC32C of payload (u32 LE) | payload
//                 (payload: a serialized ccrouter.v1.Command); at most
//                 kMaxRecordBytes, in segments and format 2 snapshots alike
//   snapshot      snapshot-<last index, 20 digits>.ccs, format 2:
//                 "CCRSNP02" | header | chunk | ... | chunk | trailer
//                 each a record whose payload is a ccrouter.v1.SnapshotRecord:
//                 the header (format_version 2, last index, time, config, the
//                 state's scalars), chunks of whole contacts, agents, queues,
//                 ... of about 1 MiB each, and a trailer counting the chunks
//                 and the items of each kind (engine/snapshot_file.h)
//   snapshot      format 1, read only (engines before format 2):
//                 "CCRSNP01" | one record whose payload is a ccrouter.v1.Snapshot
//                 (read up to protobuf's 2 GiB, so old large snapshots load)
//   LOCK          the data directory's lock: flock(2) held by the running
//                 engine, holding its pid (engine/data_dir_lock.h)
//
// A segment holds consecutive command indexes starting at the one in its
// name; the next segment starts where it ends. A snapshot is renamed into
// place only after it has been read back and checked, and a segment is
// deleted only when a snapshot this engine verified covers all of it.
#ifndef CCROUTER_ENGINE_JOURNAL_JOURNAL_FORMAT_H_
#define CCROUTER_ENGINE_JOURNAL_JOURNAL_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"

namespace ccr {

inline constexpr absl::string_view kSegmentMagic = "CCRJNL01";
inline constexpr absl::string_view kSnapshotMagic = "CCRSNP01";    // format 1, read only
inline constexpr absl::string_view kSnapshotMagicV2 = "CCRSNP02";  // format 2, written
inline constexpr size_t kSegmentHeaderBytes = 16;
inline constexpr size_t kFrameHeaderBytes = 8;
// Commands are small; snapshots are chunked well below this.
inline constexpr uint32_t kMaxRecordBytes = 64u << 20;

// Appends one framed record.
void AppendFrame(absl::string_view payload, std::string* out);
// Appends `message` serialized as one framed record, serializing straight
// into `out` (no payload string of its own).
void AppendMessageFrame(const google::protobuf::MessageLite& message, std::string* out);
// The segment header for a segment starting at `first_index`.
std::string SegmentHeader(uint64_t first_index);

struct FrameRead {
  enum Kind { kRecord, kEnd, kTruncated, kCorrupt } kind = kEnd;
  absl::string_view payload;  // kRecord
  size_t next = 0;            // offset after this record (kRecord)
  std::string problem;        // kTruncated / kCorrupt: what is wrong
};
// Reads the record at `offset` of `data` (offset == size: kEnd).
FrameRead ReadFrame(absl::string_view data, size_t offset);

// Parses a segment header; the first index, or an error saying what is wrong.
absl::StatusOr<uint64_t> ParseSegmentHeader(absl::string_view data);

std::string SegmentFileName(uint64_t first_index);
std::string SnapshotFileName(uint64_t last_index);
// The index in a file name of the given kind, or nullopt for other files.
std::optional<uint64_t> SegmentIndexFromName(absl::string_view name);
std::optional<uint64_t> SnapshotIndexFromName(absl::string_view name);

// The journal files in `dir`, sorted by index.
struct JournalFiles {
  std::vector<std::pair<uint64_t, std::string>> segments;   // (first index, path)
  std::vector<std::pair<uint64_t, std::string>> snapshots;  // (last index, path)
};
absl::StatusOr<JournalFiles> ListJournalFiles(const std::string& dir);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_JOURNAL_JOURNAL_FORMAT_H_
