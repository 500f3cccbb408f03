// DataDirLock: one engine per data directory. Two engines on one journal
// would both append the same indexes and overwrite each other's snapshots,
// so the daemon takes this lock before recovery reads anything and holds it
// until it exits.
//
//   absl::StatusOr<DataDirLock> lock = DataDirLock::Acquire("/var/lib/ccrouter");
//   if (!lock.ok()) { ... lock.status() names the directory and the holder's pid ... }
//
// It is flock(2) on `DIR/LOCK`, which holds the holder's pid as text. The
// kernel drops the lock when the process dies (kill -9 included), so a stale
// LOCK file never blocks a restart; the pid in it is only for the message.
#ifndef CCROUTER_ENGINE_JOURNAL_DATA_DIR_LOCK_H_
#define CCROUTER_ENGINE_JOURNAL_DATA_DIR_LOCK_H_

#include <string>

#include "absl/status/statusor.h"

namespace ccr {

inline constexpr char kDataDirLockFile[] = "LOCK";

class DataDirLock {
 public:
  // Locks `dir` (which must exist). FailedPrecondition when another process
  // holds it, naming the directory and that process's pid.
  static absl::StatusOr<DataDirLock> Acquire(const std::string& dir);

  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  // Releases the lock (the LOCK file stays; the next holder rewrites it).
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_JOURNAL_DATA_DIR_LOCK_H_
