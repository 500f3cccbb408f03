#include "engine/journal/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ccr {

absl::StatusOr<DataDirLock> DataDirLock::Acquire(const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/", kDataDirLockFile);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("--data-dir ", dir, ": cannot open ", path, ": ", std::strerror(errno)));
  }
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int error = errno;
    std::string holder;
    if (error == EWOULDBLOCK) {
      // The holder wrote its pid once it had the lock; a few bytes, and the
      // file is ours to read (a FIFO planted here would not have locked).
      char buf[32] = {};
      const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
      if (n > 0) holder = std::string(absl::StripAsciiWhitespace(absl::string_view(buf, n)));
    }
    ::close(fd);
    if (error != EWOULDBLOCK) {
      return absl::UnavailableError(
          absl::StrCat("--data-dir ", dir, ": cannot lock ", path, ": ", std::strerror(error)));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("--data-dir ", dir, " is in use by another ccrouterd (pid ",
                     holder.empty() ? "unknown" : holder, ", holding ", path,
                     "); two engines on one journal would overwrite each other's records"));
  }
  const std::string pid = absl::StrCat(::getpid(), "\n");
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    const absl::Status s = absl::UnavailableError(
        absl::StrCat("--data-dir ", dir, ": cannot write ", path, ": ", std::strerror(errno)));
    ::close(fd);
    return s;
  }
  return DataDirLock(fd);
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace ccr
