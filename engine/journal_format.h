// The on-disk format of the journal and snapshots, shared by the writer
// (journal.cc), recovery (recovery.cc) and the fuzz/unit tests.
//
//   segment file  journal-<first index, 20 digits>.ccj
//                 "CCRJNL01" | first index (u64 LE) | record | record | ...
//   record        payload length (u32 LE) | CRC32C of payload (u32 LE) | payload
//                 (payload: a serialized ccrouter.v1.Command)
//   snapshot      snapshot-<last index, 20 digits>.ccs
//                 "CCRSNP01" | one record whose payload is a ccrouter.v1.Snapshot
//
// A segment holds consecutive command indexes starting at the one in its
// name; the next segment starts where it ends.
#ifndef CCROUTER_ENGINE_JOURNAL_FORMAT_H_
#define CCROUTER_ENGINE_JOURNAL_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ccr {

inline constexpr absl::string_view kSegmentMagic = "CCRJNL01";
inline constexpr absl::string_view kSnapshotMagic = "CCRSNP01";
inline constexpr size_t kSegmentHeaderBytes = 16;
inline constexpr size_t kFrameHeaderBytes = 8;
inline constexpr uint32_t kMaxRecordBytes = 64u << 20;  // a snapshot may be large

// Appends one framed record.
void AppendFrame(absl::string_view payload, std::string* out);
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

#endif  // CCROUTER_ENGINE_JOURNAL_FORMAT_H_
