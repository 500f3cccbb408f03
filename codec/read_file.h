// Reading a file whose size the caller bounds, without ever blocking on it.
#ifndef CCROUTER_CODEC_READ_FILE_H_
#define CCROUTER_CODEC_READ_FILE_H_

#include <cstddef>
#include <limits>
#include <string>

#include "absl/status/statusor.h"

namespace ccr {

// Reads a regular file of at most `max_bytes`. Anything else (a FIFO, a
// device, a directory) is refused without reading it: opening is
// non-blocking and the type is checked before the first read, so a path
// that would block or never end cannot stall the caller. Errors name the
// path, never the file's content.
absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     size_t max_bytes = std::numeric_limits<size_t>::max());

}  // namespace ccr

#endif  // CCROUTER_CODEC_READ_FILE_H_
