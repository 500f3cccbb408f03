// JSON string literals: the one escaper the engine and the tools share
// (config YAML -> JSON for protobuf's parser, ccsim's reports). Documents
// built from protobuf messages use protobuf's JSON mapping instead.
//
//   std::string json = absl::StrCat("{\"name\": ", ccr::JsonQuoted(name), "}");
#ifndef CCROUTER_CODEC_JSON_TEXT_H_
#define CCROUTER_CODEC_JSON_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace ccr {

// Appends `text` as a JSON string: in quotes, with `"` and `\` escaped and
// every control character below 0x20 written as an escape (\n, \t, \r, or
// \u00XX). Other bytes pass through unchanged (UTF-8 stays UTF-8).
void AppendJsonQuoted(std::string* out, absl::string_view text);
std::string JsonQuoted(absl::string_view text);

}  // namespace ccr

#endif  // CCROUTER_CODEC_JSON_TEXT_H_
