#include "tools/ccload/json_writer.h"

#include <cassert>
#include <cmath>
#include <utility>

#include "absl/strings/str_format.h"
#include "codec/json_text.h"

namespace ccr::load {

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_element_.empty()) {
    if (has_element_.back()) out_ += ',';
    has_element_.back() = true;
  }
}

JsonWriter& JsonWriter::Open(char bracket) {
  BeforeValue();
  out_ += bracket;
  has_element_.push_back(false);
  return *this;
}

JsonWriter& JsonWriter::Close(char bracket) {
  assert(!has_element_.empty() && !after_key_);
  has_element_.pop_back();
  out_ += bracket;
  return *this;
}

JsonWriter& JsonWriter::Key(absl::string_view key) {
  assert(!after_key_);
  String(key);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(absl::string_view text) {
  BeforeValue();
  AppendJsonQuoted(&out_, text);  // the tree's one escaper
  return *this;
}

JsonWriter& JsonWriter::Literal(absl::string_view text) {
  BeforeValue();
  out_.append(text.data(), text.size());
  return *this;
}

JsonWriter& JsonWriter::Number(double value) {
  return std::isfinite(value) ? Literal(absl::StrFormat("%.6g", value)) : Null();
}

JsonWriter& JsonWriter::Fixed(double value, int decimals) {
  return std::isfinite(value) ? Literal(absl::StrFormat("%.*f", decimals, value)) : Null();
}

std::string JsonWriter::Take() {
  std::string out = std::move(out_);
  out_.clear();
  has_element_.clear();
  after_key_ = false;
  return out;
}

}  // namespace ccr::load
