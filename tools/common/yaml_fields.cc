#include "tools/common/yaml_fields.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ccr::tools {

absl::Status YamlFieldReader::Error(const std::string& path, const YAML::Node& node,
                                    const std::string& what) const {
  const YAML::Mark mark = node.Mark();
  const std::string where =
      mark.line >= 0 ? absl::StrCat(path, " (line ", mark.line + 1, ")") : path;
  return absl::InvalidArgumentError(absl::StrCat(prefix_, where, ": ", what));
}

std::string YamlFieldReader::Got(const YAML::Node& node) {
  if (node.IsScalar()) return absl::StrCat(", got '", node.Scalar(), "'");
  if (node.IsSequence()) return ", got a list";
  if (node.IsMap()) return ", got a map";
  return ", got nothing";
}

absl::Status YamlFieldReader::OnlyKnownKeys(const std::string& prefix, const YAML::Node& map,
                                            const std::vector<std::string>& known) const {
  for (const auto& entry : map) {
    const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "?";
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Error(absl::StrCat(prefix, key), entry.first,
                   absl::StrCat("unknown key (expected one of ", absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status YamlFieldReader::Number(const std::string& path, const YAML::Node& node,
                                     double min_value, double max_value, double* out) const {
  double value = 0;
  if (!node.IsScalar() || !absl::SimpleAtod(node.Scalar(), &value) || !std::isfinite(value) ||
      value < min_value || value > max_value) {
    const std::string range = std::isinf(max_value)
                                  ? absl::StrCat(">= ", min_value)
                                  : absl::StrCat("in [", min_value, ", ", max_value, "]");
    return Error(path, node, absl::StrCat("expected a number ", range, Got(node)));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status YamlFieldReader::Bool(const std::string& path, const YAML::Node& node,
                                   bool* out) const {
  const std::string text = node.IsScalar() ? absl::AsciiStrToLower(node.Scalar()) : "";
  if (text == "true" || text == "yes" || text == "on") {
    *out = true;
  } else if (text == "false" || text == "no" || text == "off") {
    *out = false;
  } else {
    return Error(path, node, absl::StrCat("expected true or false", Got(node)));
  }
  return absl::OkStatus();
}

}  // namespace ccr::tools
