#include "tools/ccsim/journal_arrivals.h"

#include <cmath>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "ccrouter/v1/journal.pb.h"
#include "codec/config_loader.h"
#include "codec/wire.h"
#include "engine/journal/journal_format.h"

namespace ccr::sim {

absl::StatusOr<std::vector<RecordedContact>> ReadJournalArrivals(const std::string& dir,
                                                                 const RouterConfig& config) {
  CCR_ASSIGN_OR_RETURN(const JournalFiles files, ListJournalFiles(dir));
  if (files.segments.empty()) {
    return absl::NotFoundError(absl::StrCat("--replay-journal: no journal segments in ", dir));
  }
  std::vector<RecordedContact> recorded;
  std::optional<absl::Time> day_start;
  for (const auto& [first_index, path] : files.segments) {
    CCR_ASSIGN_OR_RETURN(const std::string data, ReadFile(path));
    if (absl::StatusOr<uint64_t> header = ParseSegmentHeader(data); !header.ok()) {
      return absl::DataLossError(absl::StrCat(path, ": ", header.status().message()));
    }
    size_t offset = kSegmentHeaderBytes;
    for (;;) {
      const FrameRead frame = ReadFrame(data, offset);
      if (frame.kind == FrameRead::kEnd) break;
      if (frame.kind == FrameRead::kTruncated && path == files.segments.back().second) {
        break;  // a torn tail: never acknowledged, so never a real arrival
      }
      if (frame.kind != FrameRead::kRecord) {
        return absl::DataLossError(absl::StrCat(path, " at offset ", offset, ": ", frame.problem));
      }
      ::ccrouter::v1::Command command;
      if (!command.ParseFromArray(frame.payload.data(), static_cast<int>(frame.payload.size()))) {
        return absl::DataLossError(
            absl::StrCat(path, " at offset ", offset, ": not a ccrouter.v1.Command"));
      }
      offset = frame.next;
      if (!command.has_submit()) continue;
      const absl::Time at = FromTimestamp(command.time());
      absl::StatusOr<ContactSpec> spec =
          ContactSpecFromWire(command.submit().contact(), config, at);
      if (!spec.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("journal record ", command.index(), " (",
                                                       path, "): ", spec.status().message()));
      }
      uint32_t queue = 0;
      while (queue < config.queues.size() && config.queues[queue].name != spec->queue) ++queue;
      if (queue == config.queues.size()) {
        return absl::NotFoundError(absl::StrCat("journal record ", command.index(), ": queue '",
                                                spec->queue, "' is not in the config"));
      }
      if (!day_start) {
        // Midnight UTC of the first submit's day, so time-of-day plots line up.
        const double seconds = absl::ToDoubleSeconds(at - absl::UnixEpoch());
        day_start = absl::UnixEpoch() + absl::Seconds(std::floor(seconds / 86400) * 86400);
      }
      RecordedContact c;
      c.arrival_seconds = absl::ToDoubleSeconds(at - *day_start);
      c.queue = queue;
      c.tier = spec->tier;
      c.signals = spec->signals;
      c.language = spec->language;
      recorded.push_back(std::move(c));
    }
  }
  return recorded;
}

void UseRecordedArrivals(std::vector<RecordedContact> recorded, const RouterConfig& config,
                         Scenario* scenario) {
  std::vector<int> stream_of_queue(config.queues.size(), -1);
  std::vector<TrafficStream> streams;
  scenario->recorded_stream.clear();
  for (const RecordedContact& c : recorded) {
    if (stream_of_queue[c.queue] < 0) {
      TrafficStream stream;
      stream.name = absl::StrCat("recorded:", config.queues[c.queue].name);
      stream.queue = config.queues[c.queue].name;
      for (const TrafficStream& model : scenario->streams) {
        if (model.queue != stream.queue) continue;
        stream.patience = model.patience;
        stream.handle = model.handle;
        break;
      }
      stream_of_queue[c.queue] = static_cast<int>(streams.size());
      streams.push_back(std::move(stream));
    }
    scenario->recorded_stream.push_back(stream_of_queue[c.queue]);
  }
  scenario->streams = std::move(streams);
  scenario->recorded = std::move(recorded);
}

}  // namespace ccr::sim
