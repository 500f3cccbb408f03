// TempDir: a fresh directory under the system's temp dir for one test,
// removed with everything in it when the TempDir goes out of scope.
//
//   TempDir dir("ccr-journal");
//   Recover({dir.path()});
//   WriteTo(dir.Path("tokens.txt"));
#ifndef CCROUTER_ENGINE_TESTING_TEMP_DIR_H_
#define CCROUTER_ENGINE_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ccr {

class TempDir {
 public:
  explicit TempDir(absl::string_view prefix = "ccr-test") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / absl::StrCat(prefix, "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = std::move(pattern);
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Empty when the directory could not be made.
  const std::string& path() const { return path_; }
  // A file or directory `name` in it.
  std::string Path(absl::string_view name) const { return absl::StrCat(path_, "/", name); }

 private:
  std::string path_;
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_TESTING_TEMP_DIR_H_
