#include "base/check.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace ccr::check_internal {

CheckFailure::CheckFailure(const char* file, int line, const char* condition)
    : file_(file), line_(line), condition_(condition) {}

CheckFailure::~CheckFailure() {
  std::string text = "CCR_CHECK failed at ";
  text += file_;
  text += ':';
  text += std::to_string(line_);
  text += ": ";
  text += condition_;
  const std::string message = message_.str();
  if (!message.empty()) {
    text += ": ";
    text += message;
  }
  text += '\n';
  // write(2), no stdio buffer: the process aborts right after.
  const char* data = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(2, data, left);
    if (n <= 0) break;
    data += n;
    left -= static_cast<size_t>(n);
  }
  std::abort();
}

}  // namespace ccr::check_internal
