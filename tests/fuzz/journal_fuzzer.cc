// Fuzz target: recovery from a data directory (engine/journal/recovery.h): segment
// headers, record framing and CRCs, record parsing, torn-tail and corrupt-
// record handling, snapshot loading and the replay of arbitrary commands.
//
// The input is the data directory's files laid end to end: it is cut before
// every "CCRJNL01" (a segment, named by the index in its header) and every
// "CCRSNP01" / "CCRSNP02" (a snapshot of format 1 or 2, named by the
// last_index inside it). Recovery runs
// strict and, when that fails, with skip_corrupt; either way it must not crash, and a
// router it rebuilds must keep its invariants and survive a day of timers.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ccrouter/v1/snapshot.pb.h"
#include "engine/journal/journal_format.h"
#include "engine/journal/recovery.h"
#include "tests/fuzz/fuzz_support.h"

namespace ccr::fuzz {

namespace {

// One scratch directory per process, emptied before every input, removed at exit.
const std::string& ScratchDir() {
  static const std::string* dir = [] {
    // In memory when possible: recovery fsyncs what it truncates.
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm")
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    std::string pattern = (base / "ccr-journal-fuzz-XXXXXX").string();
    CCR_FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr, "mkdtemp");
    auto* path = new std::string(pattern);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(ScratchDir(), ec);
    });
    return path;
  }();
  return *dir;
}

struct File {
  std::string name;
  std::string data;
};

std::vector<File> SplitIntoFiles(absl::string_view input) {
  std::vector<size_t> starts = {0};
  for (size_t i = 1; i + kSegmentMagic.size() <= input.size(); ++i) {
    const absl::string_view at = input.substr(i, kSegmentMagic.size());
    if (at == kSegmentMagic || at == kSnapshotMagic || at == kSnapshotMagicV2) {
      starts.push_back(i);
    }
  }
  std::vector<File> files;
  for (size_t i = 0; i < starts.size(); ++i) {
    const size_t end = i + 1 < starts.size() ? starts[i + 1] : input.size();
    File f;
    f.data = std::string(input.substr(starts[i], end - starts[i]));
    const absl::string_view magic = absl::string_view(f.data).substr(0, kSnapshotMagic.size());
    if (magic == kSnapshotMagic || magic == kSnapshotMagicV2) {
      // Named by the index inside: format 1's one record, format 2's header.
      const FrameRead frame = ReadFrame(f.data, kSnapshotMagic.size());
      const int size = static_cast<int>(frame.payload.size());
      uint64_t index = i;
      v1::Snapshot snapshot;
      v1::SnapshotRecord header;
      if (frame.kind == FrameRead::kRecord && magic == kSnapshotMagic &&
          snapshot.ParseFromArray(frame.payload.data(), size)) {
        index = snapshot.last_index();
      } else if (frame.kind == FrameRead::kRecord && magic == kSnapshotMagicV2 &&
                 header.ParseFromArray(frame.payload.data(), size)) {
        index = header.header().last_index();
      }
      f.name = SnapshotFileName(index);
    } else {
      absl::StatusOr<uint64_t> first = ParseSegmentHeader(f.data);
      f.name = SegmentFileName(first.ok() ? *first : i + 1);
    }
    files.push_back(std::move(f));
  }
  return files;
}

void WriteFiles(const std::vector<File>& files) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(ScratchDir(), ec)) {
    std::filesystem::remove_all(entry.path(), ec);
  }
  for (const File& f : files) {
    std::ofstream out(std::filesystem::path(ScratchDir()) / f.name,
                      std::ios::binary | std::ios::trunc);
    out.write(f.data.data(), static_cast<std::streamsize>(f.data.size()));
    CCR_FUZZ_CHECK(out.good(), absl::StrCat("writing ", f.name));
  }
}

// Whether recovery succeeded.
bool RecoverAndCheck(const std::vector<File>& files, bool skip_corrupt) {
  WriteFiles(files);
  RecoveryOptions options;
  options.dir = ScratchDir();
  options.skip_corrupt = skip_corrupt;
  absl::StatusOr<Recovered> recovered = Recover(options);
  if (!recovered.ok()) return false;
  if (!recovered->router) return true;
  Router& router = *recovered->router;
  CheckInvariantsThrough(router, router.now() + absl::Hours(25), "recovery");
  return true;
}

}  // namespace

int FuzzJournal(const uint8_t* data, size_t size) {
  QuietLogs();
  if (size > 1024 * 1024) return 0;
  const std::vector<File> files =
      SplitIntoFiles(absl::string_view(reinterpret_cast<const char*>(data), size));
  // skip_corrupt changes nothing where strict recovery succeeds.
  if (!RecoverAndCheck(files, /*skip_corrupt=*/false))
    RecoverAndCheck(files, /*skip_corrupt=*/true);
  return 0;
}

}  // namespace ccr::fuzz

#ifndef CCR_FUZZ_NO_MAIN
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ccr::fuzz::FuzzJournal(data, size);
}
#endif
