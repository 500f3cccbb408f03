#include "engine/journal/recovery.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "ccrouter/v1/journal.pb.h"
#include "ccrouter/v1/snapshot.pb.h"
#include "codec/config_loader.h"
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

class Replayer {
 public:
  Replayer(const RecoveryOptions& options, Recovered* out) : options_(options), out_(out) {}

  absl::Status Segment(const std::string& path, uint64_t first_index, bool last) {
    CCR_ASSIGN_OR_RETURN(const std::string file, ReadFile(path));
    const absl::string_view data = file;
    ++out_->report.segments_read;
    out_->report.bytes_read += data.size();
    absl::StatusOr<uint64_t> header = ParseSegmentHeader(data);
    if (!header.ok() || *header != first_index) {
      const std::string problem = header.ok() ? absl::StrCat("header says it starts at ", *header)
                                              : header.status().ToString();
      if (last && data.size() <= kSegmentHeaderBytes) {
        // Created by a crash before its first record was written.
        out_->report.dropped.push_back(
            absl::StrCat(path, ": removed an empty segment (", problem, ")"));
        std::error_code ec;
        std::filesystem::remove(path, ec);
        return absl::OkStatus();
      }
      return Damage(path, 0, problem);
    }
    size_t offset = kSegmentHeaderBytes;
    for (;;) {
      const FrameRead f = ReadFrame(data, offset);
      if (f.kind == FrameRead::kEnd) return absl::OkStatus();
      if (f.kind == FrameRead::kRecord) {
        if (!Parse(f.payload)) {
          CCR_RETURN_IF_ERROR(Skip(path, data, offset, f.next, "a record that does not parse"));
          offset = f.next;
          continue;
        }
        CCR_RETURN_IF_ERROR(Apply(path, offset));
        offset = f.next;
        continue;
      }
      // Truncated or corrupt. At the end of the last segment, with nothing
      // readable after it, this is the write a crash interrupted.
      const uint64_t last_index = out_->next_index - 1;
      if (last && !LaterRecordExists(data, offset + 1, last_index)) {
        out_->report.dropped.push_back(absl::StrCat(path, ": cut off a torn tail of ",
                                                    data.size() - offset, " bytes at offset ",
                                                    offset, " (", f.problem, ")"));
        return TruncateFile(path, offset);
      }
      if (!options_.skip_corrupt) return Damage(path, offset, f.problem);
      // Skip to the next readable record.
      size_t next = offset + 1;
      while (next < data.size()) {
        const FrameRead g = ReadFrame(data, next);
        if (g.kind == FrameRead::kRecord && Parse(g.payload)) {
          break;
        }
        ++next;
      }
      out_->report.dropped.push_back(absl::StrCat(path, ": skipped ", next - offset,
                                                  " corrupt bytes at offset ", offset, " (",
                                                  f.problem, ")"));
      offset = next;
    }
  }

 private:
  // Parses into a message on the arena, which is reset now and then: replay
  // allocates and frees nothing per record.
  bool Parse(absl::string_view payload) {
    if (++parsed_ % 4096 == 0) arena_.Reset();
    cmd_ = google::protobuf::Arena::CreateMessage<v1::Command>(&arena_);
    return cmd_->ParseFromArray(payload.data(), static_cast<int>(payload.size()));
  }

  absl::Status Damage(const std::string& path, size_t offset, const std::string& problem) {
    return absl::DataLossError(absl::StrCat(
        "journal ", path, " is damaged at offset ", offset, ": ", problem,
        "; records after it exist, so this is not a torn tail. Restore the data directory "
        "from a backup, or start with --recover-skip-corrupt to skip the damaged records"));
  }

  absl::Status Skip(const std::string& path, absl::string_view, size_t offset, size_t,
                    const std::string& problem) {
    if (!options_.skip_corrupt) return Damage(path, offset, problem);
    out_->report.dropped.push_back(
        absl::StrCat(path, ": skipped ", problem, " at offset ", offset));
    return absl::OkStatus();
  }

  absl::Status Apply(const std::string& path, size_t offset) {
    const uint64_t index = cmd_->index();
    if (index < out_->next_index) return absl::OkStatus();  // the snapshot covers it
    if (index > out_->next_index) {
      const std::string problem =
          absl::StrCat("records ", out_->next_index, "..", index - 1, " are missing");
      if (!options_.skip_corrupt) return Damage(path, offset, problem);
      out_->report.dropped.push_back(absl::StrCat(path, ": ", problem));
    }
    if (source_path_ != path) {  // once per segment, not per record
      source_path_ = path;
      source_ = absl::StrCat("journal ", path);
    }
    return ReplayCommand(*cmd_, source_, out_);
  }

  const RecoveryOptions& options_;
  Recovered* out_;
  google::protobuf::Arena arena_;
  uint64_t parsed_ = 0;
  v1::Command* cmd_ = nullptr;  // on arena_
  std::string source_path_;     // the segment source_ names
  std::string source_;
};

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
  Replayer replayer(options, &out);
  for (size_t i = 0; i < files.segments.size(); ++i) {
    const auto& [first, path] = files.segments[i];
    const bool last = i + 1 == files.segments.size();
    // Entirely covered by the snapshot: the next segment starts at or before it.
    if (!last && files.segments[i + 1].first <= out.next_index) continue;
    if (absl::Status s = replayer.Segment(path, first, last); !s.ok()) {
      // Say also what was already set aside (e.g. unusable snapshots).
      std::string why(s.message());
      for (const std::string& d : out.report.dropped) absl::StrAppend(&why, "; earlier: ", d);
      return absl::Status(s.code(), why);
    }
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
