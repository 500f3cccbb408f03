// Masking of what must never appear whole in a log line or a metric label:
// customer ids, phone numbers, client free text.
#ifndef CCROUTER_CODEC_MASK_H_
#define CCROUTER_CODEC_MASK_H_

#include <string>

#include "absl/strings/string_view.h"

namespace ccr {

// Client free text (a cancel reason, a transfer note) in a log line: never the
// text, only that there was some and its size: "(free text, 12 bytes)".
std::string MaskFreeText(absl::string_view text);

// "customer-4242" -> "cu*********42"; short ids are fully masked.
std::string MaskId(absl::string_view id);
// "+442071234567" -> "+*********67".
std::string MaskPhone(absl::string_view phone);

}  // namespace ccr

#endif  // CCROUTER_CODEC_MASK_H_
