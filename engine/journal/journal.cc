#include "engine/journal/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "codec/read_file.h"
#include "engine/journal/journal_format.h"

namespace ccr {

namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat("journal: ", what, " ", path, ": ", std::strerror(errno)));
}

// write() until everything is out; false with errno set on failure.
bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Journal>> Journal::Open(JournalOptions options, uint64_t next_index,
                                                       BatchCallback on_batch) {
  std::unique_ptr<Journal> j(new Journal(std::move(options), next_index, std::move(on_batch)));
  j->dir_fd_ = ::open(j->options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (j->dir_fd_ < 0) return Errno("open directory", j->options_.dir);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(j->options_.dir, ec)) {
    if (entry.path().extension() == ".tmp") std::filesystem::remove(entry.path(), ec);
  }
  CCR_RETURN_IF_ERROR(j->OpenSegment(next_index));
  if (j->options_.recovered_snapshot) {
    j->verified_snapshots_.insert(*j->options_.recovered_snapshot);
  }
  j->writer_ = std::thread([jp = j.get()] { jp->RunWriter(); });
  j->snapshotter_ = std::thread([jp = j.get()] { jp->RunSnapshots(); });
  return j;
}

Journal::Journal(JournalOptions options, uint64_t next_index, BatchCallback on_batch)
    : options_(std::move(options)),
      on_batch_(std::move(on_batch)),
      pending_first_(next_index),
      next_index_(next_index) {}

Journal::~Journal() {
  {
    StdMutexLock lock(&mu_);
    stop_ = true;
    flush_requested_ = true;
  }
  cv_.notify_all();
  snapshot_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (snapshotter_.joinable()) snapshotter_.join();
  if (fd_ >= 0) ::close(fd_);
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

uint64_t Journal::Append(v1::Command& cmd) {
  StdMutexLock lock(&mu_);
  cmd.set_index(next_index_++);
  AppendMessageFrame(cmd, &pending_);
  return cmd.index();
}

void Journal::Flush() {
  {
    StdMutexLock lock(&mu_);
    if (pending_.empty()) return;
    flush_requested_ = true;
  }
  cv_.notify_one();
}

void Journal::DiscardUnwritten() {
  {
    StdMutexLock lock(&mu_);
    pending_.clear();
    next_index_ = pending_first_;
    failed_ = false;
  }
  cv_.notify_one();
}

uint64_t Journal::next_index() const {
  StdMutexLock lock(&mu_);
  return next_index_;
}

absl::Status Journal::ReadFrom(uint64_t first_index, const CommandVisitor& visit) const {
  uint64_t durable_end;  // one past the last durable index
  {
    StdMutexLock lock(&mu_);
    durable_end = pending_first_;
  }
  CCR_ASSIGN_OR_RETURN(const JournalFiles files, ListJournalFiles(options_.dir));
  const auto& segments = files.segments;
  if (segments.empty() || first_index < segments.front().first) {
    return absl::OutOfRangeError(
        absl::StrCat("journal: index ", first_index, " is no longer held (oldest: ",
                     segments.empty() ? durable_end : segments.front().first, ")"));
  }
  v1::Command cmd;
  for (size_t i = 0; i < segments.size(); ++i) {
    // Segments before the one holding first_index have nothing to visit.
    if (i + 1 < segments.size() && segments[i + 1].first <= first_index) continue;
    CCR_ASSIGN_OR_RETURN(const std::string data, ReadFile(segments[i].second));
    if (data.size() < kSegmentHeaderBytes) break;  // created, nothing written yet
    for (FrameRead f = ReadFrame(data, kSegmentHeaderBytes); f.kind == FrameRead::kRecord;
         f = ReadFrame(data, f.next)) {
      if (!cmd.ParseFromArray(f.payload.data(), static_cast<int>(f.payload.size()))) {
        return absl::DataLossError(
            absl::StrCat("journal: ", segments[i].second, ": a record that does not parse"));
      }
      if (cmd.index() >= durable_end) return absl::OkStatus();
      if (cmd.index() >= first_index && !visit(cmd)) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

void Journal::WriteSnapshot(SnapshotSource source, SnapshotDone done) {
  {
    StdMutexLock lock(&mu_);
    if (snapshot_) {  // one at a time; the next interval will try again
      done(absl::AlreadyExistsError("a snapshot is already being written"));
      return;
    }
    snapshot_ = std::make_unique<SnapshotJob>(SnapshotJob{std::move(source), std::move(done)});
  }
  snapshot_cv_.notify_one();
}

void Journal::RunWriter() {
  // The batch being written. Its buffer goes back to pending_ for the next
  // batch, so the strand appends into memory it already has instead of
  // growing a new string from empty for every batch (and the writer freeing
  // it), up to kKeptBatchBytes.
  constexpr size_t kKeptBatchBytes = 4 << 20;
  std::string batch;
  mu_.Lock();
  for (;;) {
    while (!stop_ && (failed_ || !flush_requested_ || pending_.empty())) mu_.Wait(cv_);
    if (failed_ || !flush_requested_ || pending_.empty()) {
      if (stop_) break;
      continue;
    }
    if (batch.capacity() > kKeptBatchBytes) std::string().swap(batch);
    batch.clear();
    batch.swap(pending_);
    const uint64_t first = pending_first_;
    const uint64_t last = next_index_ - 1;
    flush_requested_ = false;
    mu_.Unlock();
    const BatchReport report = WriteBatch(batch, first, last);
    mu_.Lock();
    if (report.status.ok()) {
      pending_first_ = last + 1;
    } else {
      failed_ = true;  // until the strand has failed what it waits for
    }
    mu_.Unlock();
    on_batch_(report);
    mu_.Lock();
  }
  mu_.Unlock();
}

void Journal::RunSnapshots() {
  mu_.Lock();
  for (;;) {
    while (!stop_ && snapshot_ == nullptr) mu_.Wait(snapshot_cv_);
    if (!snapshot_) break;  // stopping with nothing left to write
    std::unique_ptr<SnapshotJob> job = std::move(snapshot_);
    mu_.Unlock();
    const absl::Status s = DoSnapshot(job->source);
    job->source.state.reset();  // before `done`: the copy may be large
    job->done(s);
    mu_.Lock();
  }
  mu_.Unlock();
}

absl::Status Journal::OpenSegment(uint64_t first_index) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  const std::string path = options_.dir + "/" + SegmentFileName(first_index);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return Errno("create", path);
  const std::string header = SegmentHeader(first_index);
  if (!WriteAll(fd, header.data(), header.size()) || (options_.fsync && ::fdatasync(fd) != 0)) {
    const absl::Status s = Errno("write header of", path);
    ::close(fd);
    return s;
  }
  fd_ = fd;
  segment_first_ = first_index;
  segment_size_ = header.size();
  needs_repair_ = false;
  return SyncDir();
}

absl::Status Journal::SyncDir() {
  if (options_.fsync && ::fsync(dir_fd_) != 0) return Errno("fsync directory", options_.dir);
  return absl::OkStatus();
}

BatchReport Journal::WriteBatch(const std::string& bytes, uint64_t first, uint64_t last) {
  BatchReport r;
  r.first = first;
  r.last = last;
  r.bytes = bytes.size();
  const std::string path = options_.dir + "/" + SegmentFileName(segment_first_);
  if (needs_repair_ && fd_ >= 0) {
    // Cut off whatever a failed batch left, so records stay contiguous.
    if (::ftruncate(fd_, static_cast<off_t>(segment_size_)) != 0 ||
        (options_.fsync && ::fdatasync(fd_) != 0)) {
      r.status = Errno("truncate", path);
      return r;
    }
    needs_repair_ = false;
  }
  if (fd_ < 0 || segment_size_ >= options_.segment_bytes || rotate_.exchange(false)) {
    if (absl::Status s = OpenSegment(first); !s.ok()) {
      r.status = s;
      return r;
    }
  }
  const absl::Time t0 = absl::Now();
  const bool written = WriteAll(fd_, bytes.data(), bytes.size());
  const absl::Time t1 = absl::Now();
  r.write = t1 - t0;
  if (!written) {
    r.status = Errno("write", options_.dir + "/" + SegmentFileName(segment_first_));
    needs_repair_ = true;
    return r;
  }
  if (options_.fsync && ::fdatasync(fd_) != 0) {
    r.status = Errno("fdatasync", options_.dir + "/" + SegmentFileName(segment_first_));
    needs_repair_ = true;
    return r;
  }
  r.sync = absl::Now() - t1;
  segment_size_ += bytes.size();
  return r;
}

absl::Status Journal::DoSnapshot(const SnapshotSource& source) {
  const std::string path = options_.dir + "/" + SnapshotFileName(source.last_index);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return Errno("create", tmp);
  absl::StatusOr<SnapshotCounts> written =
      WriteSnapshotRecords(source, [&](absl::string_view bytes) {
        return WriteAll(fd, bytes.data(), bytes.size()) ? absl::OkStatus() : Errno("write", tmp);
      });
  if (written.ok() && options_.fsync && ::fsync(fd) != 0) written = Errno("fsync", tmp);
  // Clean pages may go, so the read-back below comes from the disk rather
  // than from what this process just wrote into the page cache.
  if (written.ok()) (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  if (written.ok()) {
    // Read back what recovery would read: every frame's CRC, every item
    // decodes, the trailer's counts and the writer's agree.
    absl::StatusOr<LoadedSnapshot> read = ReadSnapshotFile(tmp, /*keep_state=*/false);
    if (!read.ok()) {
      written = absl::DataLossError(
          absl::StrCat("snapshot did not read back: ", read.status().message()));
    } else if (read->last_index != source.last_index || !(read->counts == *written)) {
      written = absl::DataLossError(absl::StrCat("snapshot ", tmp, " read back as index ",
                                                 read->last_index, " with ",
                                                 read->counts.ToString(), "; wrote index ",
                                                 source.last_index, " with ", written->ToString()));
    }
  }
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written.status();
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const absl::Status s = Errno("rename", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  CCR_RETURN_IF_ERROR(SyncDir());
  verified_snapshots_.insert(source.last_index);
  // Later records go to a fresh segment, so older segments can be dropped
  // whole once a later snapshot covers them.
  rotate_.store(true);
  Prune();
  return absl::OkStatus();
}

// Keeps the newest `snapshots_kept` verified snapshots and deletes only what
// the oldest of them covers: older snapshots, and segments whose every
// record is at or before its index. Snapshots this process has not read back
// (say, written by an earlier run, or damaged) never justify a deletion, so
// recovery can always fall back to a snapshot that loads plus the segments
// after it.
void Journal::Prune() {
  absl::StatusOr<JournalFiles> files = ListJournalFiles(options_.dir);
  if (!files.ok()) return;
  std::vector<uint64_t> verified;
  for (const auto& [index, path] : files->snapshots) {
    if (verified_snapshots_.count(index) > 0) verified.push_back(index);
  }
  if (options_.snapshots_kept == 0 || verified.size() < options_.snapshots_kept) return;
  const uint64_t oldest_kept = verified[verified.size() - options_.snapshots_kept];
  std::error_code ec;
  for (const auto& [index, path] : files->snapshots) {
    if (index >= oldest_kept) break;
    std::filesystem::remove(path, ec);
    verified_snapshots_.erase(index);
  }
  // A segment is covered when the next one starts at or before oldest_kept + 1.
  for (size_t i = 0; i + 1 < files->segments.size(); ++i) {
    if (files->segments[i + 1].first <= oldest_kept + 1) {
      std::filesystem::remove(files->segments[i].second, ec);
    }
  }
  (void)SyncDir();
}

}  // namespace ccr
