// YamlFieldReader: strict readers of YAML fields for the tools' input files
// (ccload traffic mixes, ccsim scenarios). Every error is InvalidArgument
// naming the field's path and its line, and an unknown key is an error, so
// a typo in a file is reported rather than silently ignored.
//
//   class MixReader : private YamlFieldReader {
//     absl::Status Rate(const YAML::Node& n, double* out) {
//       return Number("rate", n, 0, 1e6, out);   // "rate (line 3): expected a number in [0,
//       1e+06], got 'x'"
//     }
//   };
#ifndef CCROUTER_TOOLS_COMMON_YAML_FIELDS_H_
#define CCROUTER_TOOLS_COMMON_YAML_FIELDS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "yaml-cpp/yaml.h"

namespace ccr::tools {

class YamlFieldReader {
 public:
  // `error_prefix` starts every message (e.g. "scenario: ").
  explicit YamlFieldReader(std::string error_prefix = "") : prefix_(std::move(error_prefix)) {}

  // "<prefix><path> (line N): <what>".
  absl::Status Error(const std::string& path, const YAML::Node& node,
                     const std::string& what) const;
  // ", got 'x'" / ", got a list" / ...: what the node held, for messages.
  static std::string Got(const YAML::Node& node);
  // Fails on a key of `map` not in `known`, naming it and the keys allowed.
  absl::Status OnlyKnownKeys(const std::string& prefix, const YAML::Node& map,
                             const std::vector<std::string>& known) const;
  // A finite number in [min_value, max_value].
  absl::Status Number(const std::string& path, const YAML::Node& node, double min_value,
                      double max_value, double* out) const;
  // true/yes/on or false/no/off.
  absl::Status Bool(const std::string& path, const YAML::Node& node, bool* out) const;

 private:
  std::string prefix_;
};

}  // namespace ccr::tools

#endif  // CCROUTER_TOOLS_COMMON_YAML_FIELDS_H_
