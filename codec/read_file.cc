#include "codec/read_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"

namespace ccr {

absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  auto failed = [&path](absl::string_view what, int err) {
    const std::string message = absl::StrCat("cannot read '", path, "': ", what);
    return err == ENOENT ? absl::NotFoundError(message) : absl::InvalidArgumentError(message);
  };
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    return failed(std::strerror(err), err);
  }
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    return failed(std::strerror(err), err);
  }
  if (!S_ISREG(st.st_mode)) {
    return failed(
        "not a regular file (a FIFO, socket, device or directory could block or never end)", 0);
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return failed(absl::StrCat(st.st_size, " bytes, over the limit of ", max_bytes, " bytes"), 0);
  }
  std::string text;
  text.reserve(static_cast<size_t>(st.st_size));
  char buffer[64 * 1024];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      return failed(std::strerror(err), err);
    }
    if (n == 0) break;
    // The file may have grown since fstat.
    if (static_cast<size_t>(n) > max_bytes - text.size()) {
      return failed(absl::StrCat("over the limit of ", max_bytes, " bytes"), 0);
    }
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace ccr
