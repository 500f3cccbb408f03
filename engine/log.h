// Structured logging: one line per event, `key=value` pairs, to stderr.
//
//   LOG_EVENT(LogLevel::kInfo, "submit", {{"contact", "c-1"}, {"customer", MaskId(id)}});
//
// Customer identifiers and phone numbers must pass through MaskId / MaskPhone
// before they reach a log line.
#ifndef CCROUTER_ENGINE_LOG_H_
#define CCROUTER_ENGINE_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace ccr {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Returns false for an unknown name.
bool ParseLogLevel(absl::string_view name, LogLevel* level);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

using LogField = std::pair<absl::string_view, std::string>;
void LogEvent(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields);
// Logged whatever the level: lines operators' scripts rely on (listening).
void LogAlways(absl::string_view event, std::initializer_list<LogField> fields);

// "customer-4242" -> "cu*********42"; short ids are fully masked.
std::string MaskId(absl::string_view id);
// "+442071234567" -> "+*********67".
std::string MaskPhone(absl::string_view phone);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_LOG_H_
