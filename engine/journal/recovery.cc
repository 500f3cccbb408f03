#include "engine/journal/recovery.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "base/std_mutex.h"
#include "ccrouter/v1/journal.pb.h"
#include "ccrouter/v1/snapshot.pb.h"
#include "codec/config_loader.h"
#include "codec/read_file.h"
#include "engine/apply.h"
#include "engine/journal/journal_format.h"
#include "engine/journal/snapshot_codec.h"
#include "engine/journal/snapshot_file.h"
#include "google/protobuf/arena.h"
#include "router/router_state.h"

namespace ccr {

namespace {

namespace v1 = ::ccrouter::v1;

// Reads the snapshot at `path` whole (either format: engine/snapshot_file.h)
// and restores a router from it.
absl::StatusOr<std::unique_ptr<Router>> LoadSnapshot(const std::string& path,
                                                     LoadedSnapshot* snapshot) {
  CCR_ASSIGN_OR_RETURN(*snapshot, ReadSnapshotFile(path));
  CCR_ASSIGN_OR_RETURN(RouterConfig config, LoadRouterConfig(snapshot->config_yaml));
  absl::StatusOr<std::unique_ptr<Router>> router =
      Router::Restore(std::move(config), snapshot->state);
  snapshot->state = RouterState();  // the router holds it now
  return router;
}

// Whether a readable record with an index above `index` starts anywhere in
// data[from..]: if so, damage before it is not a torn tail.
bool LaterRecordExists(absl::string_view data, size_t from, uint64_t index) {
  v1::Command cmd;
  for (size_t off = from; off + kFrameHeaderBytes < data.size(); ++off) {
    const FrameRead f = ReadFrame(data, off);
    if (f.kind == FrameRead::kRecord &&
        cmd.ParseFromArray(f.payload.data(), static_cast<int>(f.payload.size())) &&
        cmd.index() > index) {
      return true;
    }
  }
  return false;
}

absl::Status TruncateFile(const std::string& path, size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0 || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    return absl::UnavailableError(absl::StrCat("cannot truncate ", path, " to ", size, " bytes"));
  }
  ::close(fd);
  return absl::OkStatus();
}

// What the parser found, in journal order: records to replay and, between
// them, what the old single-threaded replay did at that point. The applier
// carries these out in order, so everything that changes something (the
// router, the report, a file) happens on its thread, and stops with the
// first failure exactly where the serial replay stopped.
struct ReplayStep {
  enum Kind : uint8_t {
    kApply,     // replay `command`
    kNote,      // add detail.text to report.dropped
    kTruncate,  // cut the file detail.text to detail.size bytes (a torn tail)
    kRemove,    // remove the file detail.text (an empty last segment)
    kFail,      // stop with detail.status
  };
  Kind kind = kApply;
  const v1::Command* command = nullptr;  // kApply: on the batch's arena
  uint32_t detail = 0;                   // otherwise: an index into ReplayBatch::details
};

struct ReplayDetail {
  std::string text;
  size_t size = 0;
  absl::Status status;
};

// Up to kBatchRecords consecutive steps of one segment.
struct ReplayBatch {
  static constexpr size_t kBatchRecords = 1024;

  void Clear() {
    steps.clear();
    details.clear();
    arena.Reset();
  }

  std::string source;  // "journal <segment path>", for ReplayCommand's errors; set when taken
  std::vector<ReplayStep> steps;
  std::vector<ReplayDetail> details;
  google::protobuf::Arena arena;  // the commands of `steps`
};

// The bounded hand-off between the two threads: kBatches batches circulate
// between an empty list (the parser fills them) and a full one (the
// applier replays and returns them), so the parser is never more than
// kBatches batches ahead and the memory replay takes is fixed.
class BatchRing {
 public:
  static constexpr size_t kBatches = 4;

  BatchRing() {
    for (auto& b : storage_) {
      b = std::make_unique<ReplayBatch>();
      empty_.push_back(b.get());
    }
  }

  // Parser: a cleared batch to fill; null once the applier has stopped.
  ReplayBatch* TakeEmpty() {
    ReplayBatch* b = nullptr;
    {
      StdMutexLock lock(&mu_);
      while (empty_.empty() && !stopped_) mu_.Wait(changed_);
      if (stopped_) return nullptr;
      b = empty_.front();
      empty_.pop_front();
    }
    b->Clear();  // off the lock: resetting the arena frees its blocks
    return b;
  }
  // Parser: a filled batch, next in order.
  void Publish(ReplayBatch* b) {
    StdMutexLock lock(&mu_);
    full_.push_back(b);
    changed_.notify_all();
  }
  // Parser: nothing more will be published.
  void Finish() {
    StdMutexLock lock(&mu_);
    finished_ = true;
    changed_.notify_all();
  }
  // Applier: the next filled batch; null when the parser has finished and
  // every batch was taken.
  ReplayBatch* TakeFull() {
    StdMutexLock lock(&mu_);
    while (full_.empty() && !finished_) mu_.Wait(changed_);
    if (full_.empty()) return nullptr;
    ReplayBatch* b = full_.front();
    full_.pop_front();
    return b;
  }
  // Applier: a batch it has replayed.
  void Recycle(ReplayBatch* b) {
    StdMutexLock lock(&mu_);
    empty_.push_back(b);
    changed_.notify_all();
  }
  // Applier: replay has stopped; the parser stops at its next hand-off.
  void Stop() {
    StdMutexLock lock(&mu_);
    stopped_ = true;
    changed_.notify_all();
  }

 private:
  std::array<std::unique_ptr<ReplayBatch>, kBatches> storage_;
  StdMutex mu_;
  std::condition_variable changed_;
  std::deque<ReplayBatch*> empty_ ABSL_GUARDED_BY(mu_);
  std::deque<ReplayBatch*> full_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

// Reads, checks and decodes the segments on its own thread, and decides
// what the serial replay decided (snapshot-covered records, missing ones,
// torn tails, corrupt records): those decisions depend on record indexes
// only, never on the router, so it tracks the next index the applier will
// have without waiting for it.
class JournalParser {
 public:
  JournalParser(const RecoveryOptions& options, const JournalFiles& files, uint64_t next_index,
                BatchRing* ring)
      : options_(options), files_(files), next_index_(next_index), ring_(ring) {}

  // The thread's body: every segment not covered by the snapshot, then
  // ring->Finish().
  void Run() {
    for (size_t i = 0; i < files_.segments.size() && !stopped_; ++i) {
      const auto& [first, path] = files_.segments[i];
      const bool last = i + 1 == files_.segments.size();
      // Entirely covered by the snapshot: the next segment starts at or before it.
      if (!last && files_.segments[i + 1].first <= next_index_) continue;
      if (!Begin(path)) break;
      const bool go_on = Segment(path, first, last);
      Flush();
      if (!go_on) break;
    }
    ring_->Finish();
  }

  uint64_t segments_read() const { return segments_read_; }
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  // False: stop (the failure is queued, or the applier has stopped).
  bool Segment(const std::string& path, uint64_t first_index, bool last) {
    absl::StatusOr<std::string> file = ReadFile(path);
    if (!file.ok()) return Fail(file.status());
    const absl::string_view data = *file;
    ++segments_read_;
    bytes_read_ += data.size();
    absl::StatusOr<uint64_t> header = ParseSegmentHeader(data);
    if (!header.ok() || *header != first_index) {
      const std::string problem = header.ok() ? absl::StrCat("header says it starts at ", *header)
                                              : header.status().ToString();
      if (last && data.size() <= kSegmentHeaderBytes) {
        // Created by a crash before its first record was written.
        Note(absl::StrCat(path, ": removed an empty segment (", problem, ")"));
        return Step(ReplayStep::kRemove, {path, 0, absl::OkStatus()});
      }
      return Fail(Damage(path, 0, problem));
    }
    size_t offset = kSegmentHeaderBytes;
    for (;;) {
      const FrameRead f = ReadFrame(data, offset);
      if (f.kind == FrameRead::kEnd) return true;
      if (f.kind == FrameRead::kRecord) {
        v1::Command* cmd = Parse(f.payload);
        if (cmd == nullptr) {
          if (!options_.skip_corrupt)
            return Fail(Damage(path, offset, "a record that does not parse"));
          if (!Note(absl::StrCat(path, ": skipped a record that does not parse at offset ",
                                 offset))) {
            return false;
          }
          offset = f.next;
          continue;
        }
        if (!Apply(path, offset, cmd)) return false;
        offset = f.next;
        continue;
      }
      // Truncated or corrupt. At the end of the last segment, with nothing
      // readable after it, this is the write a crash interrupted.
      const uint64_t last_index = next_index_ - 1;
      if (last && !LaterRecordExists(data, offset + 1, last_index)) {
        if (!Note(absl::StrCat(path, ": cut off a torn tail of ", data.size() - offset,
                               " bytes at offset ", offset, " (", f.problem, ")"))) {
          return false;
        }
        return Step(ReplayStep::kTruncate, {path, offset, absl::OkStatus()});
      }
      if (!options_.skip_corrupt) return Fail(Damage(path, offset, f.problem));
      // Skip to the next readable record.
      size_t next = offset + 1;
      v1::Command scratch;
      while (next < data.size()) {
        const FrameRead g = ReadFrame(data, next);
        if (g.kind == FrameRead::kRecord &&
            scratch.ParseFromArray(g.payload.data(), static_cast<int>(g.payload.size()))) {
          break;
        }
        ++next;
      }
      if (!Note(absl::StrCat(path, ": skipped ", next - offset, " corrupt bytes at offset ", offset,
                             " (", f.problem, ")"))) {
        return false;
      }
      offset = next;
    }
  }

  // What the serial replay's Apply decided for a parsed record.
  bool Apply(const std::string& path, size_t offset, v1::Command* cmd) {
    const uint64_t index = cmd->index();
    if (index < next_index_) return true;  // the snapshot covers it
    if (index > next_index_) {
      const std::string problem =
          absl::StrCat("records ", next_index_, "..", index - 1, " are missing");
      if (!options_.skip_corrupt) return Fail(Damage(path, offset, problem));
      if (!Note(absl::StrCat(path, ": ", problem))) return false;
    }
    next_index_ = index + 1;
    // Parse left room for this step in the batch holding `cmd`.
    batch_->steps.push_back({ReplayStep::kApply, cmd, 0});
    return true;
  }

  // Parses into the current batch's arena, leaving room in the batch for the
  // record's steps (a note and the record), so a command is never replayed
  // from a batch other than the one whose arena holds it. Null if the
  // payload does not parse, or the applier has stopped.
  v1::Command* Parse(absl::string_view payload) {
    if (!Room(2)) return nullptr;
    v1::Command* cmd = google::protobuf::Arena::CreateMessage<v1::Command>(&batch_->arena);
    return cmd->ParseFromArray(payload.data(), static_cast<int>(payload.size())) ? cmd : nullptr;
  }

  bool Note(std::string text) {
    return Step(ReplayStep::kNote, {std::move(text), 0, absl::OkStatus()});
  }
  bool Fail(absl::Status status) {
    Step(ReplayStep::kFail, {"", 0, std::move(status)});
    return false;
  }
  bool Step(ReplayStep::Kind kind, ReplayDetail detail) {
    if (!Room(1)) return false;
    batch_->steps.push_back({kind, nullptr, static_cast<uint32_t>(batch_->details.size())});
    batch_->details.push_back(std::move(detail));
    return true;
  }

  // A batch with room for `steps` more steps (publishing a full one); false
  // once the applier has stopped.
  bool Room(size_t steps) {
    if (batch_ != nullptr && batch_->steps.size() + steps <= ReplayBatch::kBatchRecords) {
      return true;
    }
    Flush();
    return Begin(source_path_);
  }
  // Takes an empty batch for records of `path`.
  bool Begin(const std::string& path) {
    batch_ = stopped_ ? nullptr : ring_->TakeEmpty();
    if (batch_ == nullptr) {
      stopped_ = true;
      return false;
    }
    source_path_ = path;
    batch_->source = absl::StrCat("journal ", path);
    return true;
  }
  void Flush() {
    if (batch_ == nullptr) return;
    ring_->Publish(batch_);
    batch_ = nullptr;
  }

  static absl::Status Damage(const std::string& path, size_t offset, const std::string& problem) {
    return absl::DataLossError(absl::StrCat(
        "journal ", path, " is damaged at offset ", offset, ": ", problem,
        "; records after it exist, so this is not a torn tail. Restore the data directory "
        "from a backup, or start with --recover-skip-corrupt to skip the damaged records"));
  }

  const RecoveryOptions& options_;
  const JournalFiles& files_;
  uint64_t next_index_;  // what the applier's next_index will be once it has caught up
  BatchRing* const ring_;
  ReplayBatch* batch_ = nullptr;  // being filled
  std::string source_path_;       // the segment batch_ holds records of
  bool stopped_ = false;
  uint64_t segments_read_ = 0;
  uint64_t bytes_read_ = 0;
};

// Replays what `ring` delivers until it runs dry or a step fails; stops the
// parser on failure.
absl::Status ApplyBatches(BatchRing& ring, Recovered* out) {
  while (ReplayBatch* batch = ring.TakeFull()) {
    absl::Status status;
    for (const ReplayStep& step : batch->steps) {
      if (step.kind == ReplayStep::kApply) {
        status = ReplayCommand(*step.command, batch->source, out);
      } else {
        const ReplayDetail& d = batch->details[step.detail];
        switch (step.kind) {
          case ReplayStep::kNote:
            out->report.dropped.push_back(d.text);
            break;
          case ReplayStep::kTruncate:
            status = TruncateFile(d.text, d.size);
            break;
          case ReplayStep::kRemove: {
            std::error_code ec;
            std::filesystem::remove(d.text, ec);
            break;
          }
          case ReplayStep::kFail:
            status = d.status;
            break;
          case ReplayStep::kApply:
            break;
        }
      }
      if (!status.ok()) break;
    }
    ring.Recycle(batch);
    if (!status.ok()) {
      ring.Stop();
      return status;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ReplayCommand(const v1::Command& cmd, absl::string_view source, Recovered* out) {
  const uint64_t index = cmd.index();
  if (!out->router) {
    // Genesis: a journal starts with the config its first router ran.
    if (cmd.kind_case() != v1::Command::kApplyConfig) {
      return absl::DataLossError(absl::StrCat(
          source, ": record ", index,
          " is not a config and no snapshot precedes it; the start of the journal is missing"));
    }
    CCR_ASSIGN_OR_RETURN(RouterConfig config, LoadRouterConfig(cmd.apply_config().config_yaml()));
    CCR_ASSIGN_OR_RETURN(out->router, Router::Create(std::move(config)));
    out->router->SetEventsEnabled(false);
    out->config_yaml = cmd.apply_config().config_yaml();
  } else {
    const ApplyResult applied = ApplyCommand(*out->router, cmd);
    if (cmd.kind_case() == v1::Command::kApplyConfig && applied.status.ok()) {
      out->config_yaml = cmd.apply_config().config_yaml();
    }
  }
  out->next_index = index + 1;
  ++out->report.records_replayed;
  return absl::OkStatus();
}

absl::StatusOr<Recovered> Recover(const RecoveryOptions& options) {
  const absl::Time start = absl::Now();
  CCR_ASSIGN_OR_RETURN(const JournalFiles files, ListJournalFiles(options.dir));
  Recovered out;
  // The newest snapshot that reads back intact.
  for (auto it = files.snapshots.rbegin(); it != files.snapshots.rend(); ++it) {
    LoadedSnapshot snapshot;
    absl::StatusOr<std::unique_ptr<Router>> router = LoadSnapshot(it->second, &snapshot);
    if (!router.ok()) {
      out.report.dropped.push_back(
          absl::StrCat(it->second, ": unusable snapshot (", router.status().message(), ")"));
      continue;
    }
    if (snapshot.last_index != it->first) {
      out.report.dropped.push_back(absl::StrCat(it->second, ": names index ", it->first,
                                                " but holds ", snapshot.last_index));
      continue;
    }
    out.router = std::move(*router);
    out.router->SetEventsEnabled(false);  // replay needs the state, not its history
    out.config_yaml = std::move(snapshot.config_yaml);
    out.next_index = snapshot.last_index + 1;
    out.report.snapshot_file = it->second;
    out.report.snapshot_index = snapshot.last_index;
    break;
  }
  // Parsing (read, checksum, decode) on a second thread, pipelined with
  // replaying on this one.
  BatchRing ring;
  JournalParser parser(options, files, out.next_index, &ring);
  std::thread parsing([&parser] { parser.Run(); });
  const absl::Status replayed = ApplyBatches(ring, &out);
  parsing.join();
  out.report.segments_read += parser.segments_read();
  out.report.bytes_read += parser.bytes_read();
  if (!replayed.ok()) {
    // Say also what was already set aside (e.g. unusable snapshots).
    std::string why(replayed.message());
    for (const std::string& d : out.report.dropped) absl::StrAppend(&why, "; earlier: ", d);
    return absl::Status(replayed.code(), why);
  }
  if (!out.router && !files.snapshots.empty()) {
    return absl::DataLossError(absl::StrCat("--data-dir ", options.dir,
                                            ": no snapshot is usable and the journal does not "
                                            "reach back to its start"));
  }
  if (out.router) out.router->SetEventsEnabled(true);
  out.report.elapsed = absl::Now() - start;
  return out;
}

}  // namespace ccr
