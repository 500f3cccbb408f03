#include "engine/journal/snapshot_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "ccrouter/v1/snapshot.pb.h"
#include "engine/journal/crc32c.h"
#include "engine/journal/journal_format.h"
#include "engine/journal/snapshot_codec.h"

namespace ccr {

namespace {

namespace v1 = ::ccrouter::v1;

// The most a format 1 record may hold: what protobuf parses in one message.
// The file's own size bounds what is allocated, so a damaged length cannot
// ask for more than is there.
constexpr uint64_t kMaxFormatV1RecordBytes = INT_MAX;

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

// Sequential reads of one file's framed records, one record in memory; or
// of the same bytes already in memory (`bytes`, which must outlive it).
class RecordFileReader {
 public:
  explicit RecordFileReader(std::string path) : path_(std::move(path)) {}
  RecordFileReader(std::string name, absl::string_view bytes)
      : path_(std::move(name)), in_memory_(true), bytes_(bytes), size_(bytes.size()) {}
  ~RecordFileReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  RecordFileReader(const RecordFileReader&) = delete;
  RecordFileReader& operator=(const RecordFileReader&) = delete;

  absl::Status Open() {
    if (in_memory_) return absl::OkStatus();
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd_ < 0 || ::fstat(fd_, &st) != 0) {
      return absl::UnavailableError(absl::StrCat(path_, ": ", std::strerror(errno)));
    }
    size_ = static_cast<uint64_t>(st.st_size);
    return absl::OkStatus();
  }

  absl::Status ReadMagic(std::string* magic) {
    magic->resize(kSnapshotMagicV2.size());
    if (size_ < magic->size()) return Damage("shorter than its magic");
    return ReadExact(magic->data(), magic->size());
  }

  // The next record's payload into *payload; false at the end of the file.
  absl::StatusOr<bool> Next(uint64_t max_bytes, std::string* payload) {
    record_offset_ = offset_;
    if (offset_ == size_) return false;
    if (size_ - offset_ < kFrameHeaderBytes) {
      return Damage(absl::StrCat("a partial record header (", size_ - offset_, " of ",
                                 kFrameHeaderBytes, " bytes)"));
    }
    char header[kFrameHeaderBytes];
    CCR_RETURN_IF_ERROR(ReadExact(header, sizeof(header)));
    const uint32_t length = GetU32(header);
    const uint32_t crc = GetU32(header + 4);
    if (length == 0 || length > max_bytes) {
      return Damage(absl::StrCat("an impossible record length ", length));
    }
    if (size_ - offset_ < length) {
      return Damage(absl::StrCat("a partial record (", size_ - offset_, " of ", length, " bytes)"));
    }
    payload->resize(length);
    CCR_RETURN_IF_ERROR(ReadExact(payload->data(), length));
    const uint32_t actual = Crc32c(payload->data(), payload->size());
    if (actual != crc) {
      return Damage(
          absl::StrFormat("a checksum mismatch (stored %08x, computed %08x)", crc, actual));
    }
    return true;
  }

  uint64_t remaining() const { return size_ - offset_; }

  // DataLoss naming the file and the record's offset.
  absl::Status Damage(absl::string_view problem) const {
    return absl::DataLossError(
        absl::StrCat("snapshot ", path_, ": at offset ", record_offset_, ": ", problem));
  }

 private:
  absl::Status ReadExact(char* p, size_t n) {
    if (in_memory_) {
      if (size_ - offset_ < n) {
        return absl::UnavailableError(absl::StrCat("snapshot ", path_, ": read at offset ", offset_,
                                                   ": unexpected end of bytes"));
      }
      std::memcpy(p, bytes_.data() + offset_, n);
      offset_ += n;
      return absl::OkStatus();
    }
    while (n > 0) {
      const ssize_t r = ::read(fd_, p, n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        return absl::UnavailableError(
            absl::StrCat("snapshot ", path_, ": read at offset ", offset_, ": ",
                         r == 0 ? "unexpected end of file" : std::strerror(errno)));
      }
      p += r;
      n -= static_cast<size_t>(r);
      offset_ += static_cast<uint64_t>(r);
    }
    return absl::OkStatus();
  }

  const std::string path_;
  const bool in_memory_ = false;
  const absl::string_view bytes_;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;
  uint64_t record_offset_ = 0;
};

void CountItems(const v1::RouterStateRecord& part, SnapshotCounts* counts) {
  counts->languages += part.languages_size();
  counts->contacts += part.contacts_size();
  counts->agents += part.agents_size();
  counts->queues += part.queues_size();
  counts->sticky += part.sticky_size();
  counts->idempotency += part.idempotency_size();
  counts->deferred_events += part.deferred_events_size();
  counts->timers += part.timers_size();
}

template <typename T>
void MoveAppend(std::vector<T>& from, std::vector<T>* to) {
  if (to->empty()) {
    *to = std::move(from);
  } else {
    to->insert(to->end(), std::make_move_iterator(from.begin()),
               std::make_move_iterator(from.end()));
  }
}

void AppendState(RouterState part, RouterState* out) {
  MoveAppend(part.languages, &out->languages);
  MoveAppend(part.contacts, &out->contacts);
  MoveAppend(part.agents, &out->agents);
  MoveAppend(part.queues, &out->queues);
  MoveAppend(part.sticky, &out->sticky);
  MoveAppend(part.idempotency, &out->idempotency);
  MoveAppend(part.deferred_events, &out->deferred_events);
  MoveAppend(part.timers, &out->timers);
}

SnapshotCounts CountsOf(const v1::SnapshotRecord::Trailer& t) {
  SnapshotCounts c;
  c.chunks = t.chunks();
  c.languages = t.languages();
  c.contacts = t.contacts();
  c.agents = t.agents();
  c.queues = t.queues();
  c.sticky = t.sticky();
  c.idempotency = t.idempotency();
  c.deferred_events = t.deferred_events();
  c.timers = t.timers();
  return c;
}

absl::StatusOr<LoadedSnapshot> ReadFormatV1(RecordFileReader& file, bool keep_state) {
  std::string payload;
  CCR_ASSIGN_OR_RETURN(const bool got,
                       file.Next(std::min(kMaxFormatV1RecordBytes, file.remaining()), &payload));
  if (!got) return file.Damage("no snapshot record");
  v1::Snapshot snapshot;
  if (!snapshot.ParseFromString(payload)) return file.Damage("the snapshot record does not parse");
  payload.clear();
  payload.shrink_to_fit();
  if (absl::StatusOr<bool> more = file.Next(kMaxRecordBytes, &payload); !more.ok() || *more) {
    return file.Damage("bytes after the snapshot record");
  }
  absl::StatusOr<RouterState> state = RouterStateFromProto(snapshot.state());
  if (!state.ok()) return file.Damage(state.status().message());
  LoadedSnapshot out;
  out.format_version = snapshot.format_version();
  out.last_index = snapshot.last_index();
  out.time_ns = snapshot.time_ns();
  out.config_yaml = std::move(*snapshot.mutable_config_yaml());
  out.counts.chunks = 1;
  CountItems(snapshot.state(), &out.counts);
  if (keep_state) out.state = std::move(*state);
  return out;
}

absl::StatusOr<LoadedSnapshot> ReadFormatV2(RecordFileReader& file, bool keep_state) {
  LoadedSnapshot out;
  std::string payload;
  v1::SnapshotRecord record;
  bool header_read = false;
  for (;;) {
    CCR_ASSIGN_OR_RETURN(const bool got, file.Next(kMaxRecordBytes, &payload));
    if (!got) return file.Damage("the snapshot ends without its trailer (cut short)");
    if (!record.ParseFromString(payload)) return file.Damage("a record that does not parse");
    switch (record.kind_case()) {
      case v1::SnapshotRecord::kHeader: {
        if (header_read) return file.Damage("a second header");
        header_read = true;
        v1::SnapshotRecord::Header* h = record.mutable_header();
        if (h->format_version() != kSnapshotFormatVersion) {
          return file.Damage(absl::StrCat("format_version ", h->format_version(), " in a ",
                                          kSnapshotMagicV2, " file"));
        }
        absl::StatusOr<RouterState> scalars = RouterStateFromProto(h->scalars());
        if (!scalars.ok()) return file.Damage(scalars.status().message());
        out.format_version = h->format_version();
        out.last_index = h->last_index();
        out.time_ns = h->time_ns();
        out.config_yaml = std::move(*h->mutable_config_yaml());
        out.state = std::move(*scalars);
        CountItems(h->scalars(), &out.counts);  // none, unless damaged
        break;
      }
      case v1::SnapshotRecord::kChunk: {
        if (!header_read) return file.Damage("a chunk before the header");
        absl::StatusOr<RouterState> part = RouterStateFromProto(record.chunk());
        if (!part.ok()) {
          return file.Damage(
              absl::StrCat("chunk ", out.counts.chunks, ": ", part.status().message()));
        }
        ++out.counts.chunks;
        CountItems(record.chunk(), &out.counts);
        if (keep_state) AppendState(*std::move(part), &out.state);
        break;
      }
      case v1::SnapshotRecord::kTrailer: {
        if (!header_read) return file.Damage("a trailer before the header");
        const SnapshotCounts expected = CountsOf(record.trailer());
        if (!(expected == out.counts)) {
          return file.Damage(absl::StrCat("the trailer counts ", expected.ToString(),
                                          " but the file holds ", out.counts.ToString()));
        }
        absl::StatusOr<bool> more = file.Next(kMaxRecordBytes, &payload);
        if (!more.ok() || *more) return file.Damage("bytes after the trailer");
        return out;
      }
      default:
        return file.Damage("a record of no known kind");
    }
  }
}

}  // namespace

std::string SnapshotCounts::ToString() const {
  return absl::StrCat("{chunks ", chunks, ", languages ", languages, ", contacts ", contacts,
                      ", agents ", agents, ", queues ", queues, ", sticky ", sticky,
                      ", idempotency ", idempotency, ", deferred_events ", deferred_events,
                      ", timers ", timers, "}");
}

absl::StatusOr<SnapshotCounts> WriteSnapshotRecords(
    const SnapshotSource& source, const std::function<absl::Status(absl::string_view)>& append,
    size_t chunk_bytes) {
  const RouterState& state = *source.state;
  std::string frame;
  std::string payload;
  auto put = [&](const v1::SnapshotRecord& record) -> absl::Status {
    const size_t bytes = record.ByteSizeLong();
    if (bytes > kMaxRecordBytes) {
      return absl::FailedPreconditionError(
          absl::StrCat("snapshot: a record of ", bytes, " bytes exceeds the ", kMaxRecordBytes,
                       " a record may hold (one item is too large)"));
    }
    payload.clear();
    record.SerializeToString(&payload);
    frame.clear();
    AppendFrame(payload, &frame);
    return append(frame);
  };
  CCR_RETURN_IF_ERROR(append(kSnapshotMagicV2));

  v1::SnapshotRecord record;
  v1::SnapshotRecord::Header* header = record.mutable_header();
  header->set_format_version(kSnapshotFormatVersion);
  header->set_last_index(source.last_index);
  header->set_time_ns(absl::ToUnixNanos(source.taken));
  header->set_config_yaml(source.config_yaml);
  RouterState scalars;
  scalars.now = state.now;
  scalars.next_contact = state.next_contact;
  scalars.next_offer = state.next_offer;
  scalars.next_timer = state.next_timer;
  scalars.events_emitted = state.events_emitted;
  RouterStateToProto(scalars, header->mutable_scalars());
  CCR_RETURN_IF_ERROR(put(record));

  SnapshotCounts counts;
  CCR_RETURN_IF_ERROR(
      RouterStateListsToProtoParts(state, chunk_bytes, [&](v1::RouterStateRecord& part) {
        ++counts.chunks;
        CountItems(part, &counts);
        record.Clear();
        record.mutable_chunk()->Swap(&part);
        return put(record);
      }));
  record.Clear();
  v1::SnapshotRecord::Trailer* trailer = record.mutable_trailer();
  trailer->set_chunks(counts.chunks);
  trailer->set_languages(counts.languages);
  trailer->set_contacts(counts.contacts);
  trailer->set_agents(counts.agents);
  trailer->set_queues(counts.queues);
  trailer->set_sticky(counts.sticky);
  trailer->set_idempotency(counts.idempotency);
  trailer->set_deferred_events(counts.deferred_events);
  trailer->set_timers(counts.timers);
  CCR_RETURN_IF_ERROR(put(record));
  return counts;
}

namespace {

absl::StatusOr<LoadedSnapshot> ReadSnapshotRecords(RecordFileReader& file, bool keep_state) {
  std::string magic;
  CCR_RETURN_IF_ERROR(file.ReadMagic(&magic));
  if (magic == kSnapshotMagicV2) return ReadFormatV2(file, keep_state);
  if (magic == kSnapshotMagic) return ReadFormatV1(file, keep_state);
  return file.Damage("not a ccrouter snapshot (bad magic)");
}

}  // namespace

absl::StatusOr<LoadedSnapshot> ReadSnapshotFile(const std::string& path, bool keep_state) {
  RecordFileReader file(path);
  CCR_RETURN_IF_ERROR(file.Open());
  return ReadSnapshotRecords(file, keep_state);
}

absl::StatusOr<LoadedSnapshot> ReadSnapshotBytes(absl::string_view bytes, const std::string& name,
                                                 bool keep_state) {
  RecordFileReader file(name, bytes);
  return ReadSnapshotRecords(file, keep_state);
}

}  // namespace ccr
