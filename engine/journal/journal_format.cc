#include "engine/journal/journal_format.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "engine/journal/crc32c.h"

namespace ccr {

namespace {

void PutU32(uint32_t v, char* p) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void PutU64(uint64_t v, char* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

std::optional<uint64_t> IndexFromName(absl::string_view name, absl::string_view prefix,
                                      absl::string_view suffix) {
  if (!absl::ConsumePrefix(&name, prefix) || !absl::ConsumeSuffix(&name, suffix)) {
    return std::nullopt;
  }
  uint64_t index = 0;
  if (name.size() != 20 || !absl::SimpleAtoi(name, &index)) return std::nullopt;
  return index;
}

// A frame's header for `size` bytes of `payload`: the size, then the CRC-32C.
void PutFrameHeader(const char* payload, size_t size, char* header) {
  PutU32(static_cast<uint32_t>(size), header);
  PutU32(Crc32c(payload, size), header + 4);
}

}  // namespace

void AppendFrame(absl::string_view payload, std::string* out) {
  char header[kFrameHeaderBytes];
  PutFrameHeader(payload.data(), payload.size(), header);
  out->append(header, sizeof(header));
  out->append(payload.data(), payload.size());
}

void AppendMessageFrame(const google::protobuf::MessageLite& message, std::string* out) {
  const size_t size = message.ByteSizeLong();
  const size_t at = out->size();
  out->resize(at + kFrameHeaderBytes + size);
  char* payload = out->data() + at + kFrameHeaderBytes;
  message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(payload));
  PutFrameHeader(payload, size, out->data() + at);
}

std::string SegmentHeader(uint64_t first_index) {
  std::string out(kSegmentMagic);
  out.resize(kSegmentHeaderBytes);
  PutU64(first_index, out.data() + kSegmentMagic.size());
  return out;
}

FrameRead ReadFrame(absl::string_view data, size_t offset) {
  FrameRead r;
  if (offset == data.size()) return r;
  if (data.size() - offset < kFrameHeaderBytes) {
    r.kind = FrameRead::kTruncated;
    r.problem = absl::StrCat("a partial record header (", data.size() - offset, " of ",
                             kFrameHeaderBytes, " bytes)");
    return r;
  }
  const uint32_t length = GetU32(data.data() + offset);
  const uint32_t crc = GetU32(data.data() + offset + 4);
  if (length == 0 || length > kMaxRecordBytes) {
    r.kind = FrameRead::kCorrupt;
    r.problem = absl::StrCat("an impossible record length ", length);
    return r;
  }
  const size_t available = data.size() - offset - kFrameHeaderBytes;
  if (available < length) {
    r.kind = FrameRead::kTruncated;
    r.problem = absl::StrCat("a partial record (", available, " of ", length, " bytes)");
    return r;
  }
  r.payload = data.substr(offset + kFrameHeaderBytes, length);
  const uint32_t actual = Crc32c(r.payload.data(), r.payload.size());
  if (actual != crc) {
    r.kind = FrameRead::kCorrupt;
    r.problem = absl::StrFormat("a checksum mismatch (stored %08x, computed %08x)", crc, actual);
    r.payload = {};
    return r;
  }
  r.kind = FrameRead::kRecord;
  r.next = offset + kFrameHeaderBytes + length;
  return r;
}

absl::StatusOr<uint64_t> ParseSegmentHeader(absl::string_view data) {
  if (data.size() < kSegmentHeaderBytes) {
    return absl::DataLossError(
        absl::StrCat("segment header: ", data.size(), " of ", kSegmentHeaderBytes, " bytes"));
  }
  if (data.substr(0, kSegmentMagic.size()) != kSegmentMagic) {
    return absl::DataLossError("segment header: not a ccrouter journal segment (bad magic)");
  }
  return GetU64(data.data() + kSegmentMagic.size());
}

std::string SegmentFileName(uint64_t first_index) {
  return absl::StrFormat("journal-%020u.ccj", first_index);
}
std::string SnapshotFileName(uint64_t last_index) {
  return absl::StrFormat("snapshot-%020u.ccs", last_index);
}
std::optional<uint64_t> SegmentIndexFromName(absl::string_view name) {
  return IndexFromName(name, "journal-", ".ccj");
}
std::optional<uint64_t> SnapshotIndexFromName(absl::string_view name) {
  return IndexFromName(name, "snapshot-", ".ccs");
}

absl::StatusOr<JournalFiles> ListJournalFiles(const std::string& dir) {
  JournalFiles files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (auto i = SegmentIndexFromName(name)) {
      files.segments.emplace_back(*i, entry.path().string());
    } else if (auto s = SnapshotIndexFromName(name)) {
      files.snapshots.emplace_back(*s, entry.path().string());
    }
  }
  if (ec) return absl::UnavailableError(absl::StrCat("--data-dir ", dir, ": ", ec.message()));
  std::sort(files.segments.begin(), files.segments.end());
  std::sort(files.snapshots.begin(), files.snapshots.end());
  return files;
}

}  // namespace ccr
