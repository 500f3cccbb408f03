#include "codec/json_text.h"

#include "absl/strings/str_cat.h"

namespace ccr {

void AppendJsonQuoted(std::string* out, absl::string_view text) {
  out->push_back('"');
  for (char ch : text) {
    switch (ch) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          absl::StrAppend(out, "\\u00", absl::Hex(static_cast<unsigned char>(ch), absl::kZeroPad2));
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

std::string JsonQuoted(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  AppendJsonQuoted(&out, text);
  return out;
}

}  // namespace ccr
