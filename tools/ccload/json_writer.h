// JsonWriter: the one JSON writer of ccload's reports (the demo's line per
// interval, the benchmark's summary): commas and nesting in one place;
// strings go through the tree's one escaper (codec/json_text.h). The
// reports' exact number formats (%.1f microseconds, %.6g seconds) are part of
// what tools/bench and the tests read, which protobuf's JSON mapping would
// not keep (it prints 64-bit integers as strings).
//
//   JsonWriter json;
//   json.BeginObject().Key("acked").Number(12).Key("p99_us").Fixed(1234.5, 1);
//   json.Key("errors").BeginObject().EndObject().EndObject();
//   std::string line = json.Take();  // {"acked":12,"p99_us":1234.5,"errors":{}}
//
// Not thread-safe. The caller keeps the nesting right (REQUIRES, not checked
// beyond debug asserts): Key only inside an object, a value after each Key.
#ifndef CCR_TOOLS_CCLOAD_JSON_WRITER_H_
#define CCR_TOOLS_CCLOAD_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ccr::load {

class JsonWriter {
 public:
  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }

  JsonWriter& Key(absl::string_view key);

  // UTF-8 text as a JSON string, escaped by AppendJsonQuoted.
  JsonWriter& String(absl::string_view text);
  JsonWriter& Bool(bool value) { return Literal(value ? "true" : "false"); }
  JsonWriter& Null() { return Literal("null"); }

  template <typename Integer, typename = std::enable_if_t<std::is_integral_v<Integer> &&
                                                          !std::is_same_v<Integer, bool>>>
  JsonWriter& Number(Integer value) {
    return Literal(absl::StrCat(value));
  }
  // Six significant digits (%.6g); null for NaN and infinities, which JSON
  // does not have.
  JsonWriter& Number(double value);
  // `decimals` digits after the point (%.*f); null for NaN and infinities.
  JsonWriter& Fixed(double value, int decimals);

  // The document so far; the writer starts over.
  std::string Take();

 private:
  JsonWriter& Open(char bracket);
  JsonWriter& Close(char bracket);
  JsonWriter& Literal(absl::string_view text);
  void BeforeValue();

  std::string out_;
  // One entry per open object or array: true once it holds an element.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_JSON_WRITER_H_
