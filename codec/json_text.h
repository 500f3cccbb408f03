// JSON string literals: the one escaper the engine and the tools share
// (config YAML -> JSON for protobuf's parser, ccsim's reports, ccload's
// JsonWriter). Documents built from protobuf messages use protobuf's JSON
// mapping instead.
//
//   std::string json = absl::StrCat("{\"name\": ", ccr::JsonQuoted(name), "}");
#ifndef CCROUTER_CODEC_JSON_TEXT_H_
#define CCROUTER_CODEC_JSON_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace ccr {

// Appends `text` as a JSON string: in quotes, with `"` and `\` escaped,
// newline as \n and every other control character below 0x20 as \u00xx
// (lower-case hex; tab is \u0009), the form ccload's reports have always
// had. Other bytes pass through unchanged (UTF-8 stays UTF-8).
void AppendJsonQuoted(std::string* out, absl::string_view text);
std::string JsonQuoted(absl::string_view text);

}  // namespace ccr

#endif  // CCROUTER_CODEC_JSON_TEXT_H_
