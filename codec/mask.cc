#include "codec/mask.h"

#include "absl/strings/str_cat.h"

namespace ccr {

std::string MaskFreeText(absl::string_view text) {
  if (text.empty()) return "";
  return absl::StrCat("(free text, ", text.size(), " bytes)");
}

std::string MaskId(absl::string_view id) {
  if (id.empty()) return "";
  if (id.size() <= 4) return std::string(id.size(), '*');
  std::string out(id.size(), '*');
  out[0] = id[0];
  out[1] = id[1];
  out[id.size() - 2] = id[id.size() - 2];
  out[id.size() - 1] = id[id.size() - 1];
  return out;
}

std::string MaskPhone(absl::string_view phone) {
  if (phone.size() <= 3) return std::string(phone.size(), '*');
  std::string out(phone.size(), '*');
  if (phone[0] == '+') out[0] = '+';
  out[phone.size() - 2] = phone[phone.size() - 2];
  out[phone.size() - 1] = phone[phone.size() - 1];
  return out;
}

}  // namespace ccr
