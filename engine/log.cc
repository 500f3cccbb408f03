#include "engine/log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ccr {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void AppendValue(std::string* line, absl::string_view v) {
  const bool quote = v.empty() || v.find_first_of(" \"=\t\n") != absl::string_view::npos;
  if (!quote) {
    line->append(v.data(), v.size());
    return;
  }
  line->push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') line->push_back('\\');
    line->push_back(c == '\n' ? ' ' : c);
  }
  line->push_back('"');
}
}  // namespace

bool ParseLogLevel(absl::string_view name, LogLevel* level) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (name == LevelName(l)) {
      *level = l;
      return true;
    }
  }
  return false;
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

namespace {
void WriteLine(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields) {
  std::string line = absl::StrCat(
      "ts=", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      " level=", LevelName(level), " event=");
  AppendValue(&line, event);
  for (const auto& [key, value] : fields) {
    line.push_back(' ');
    line.append(key.data(), key.size());
    line.push_back('=');
    AppendValue(&line, value);
  }
  line.push_back('\n');
  // One fwrite per line: stdio locks the stream, so lines never interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}
}  // namespace

void LogEvent(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields) {
  if (LogEnabled(level)) WriteLine(level, event, fields);
}

void LogAlways(absl::string_view event, std::initializer_list<LogField> fields) {
  WriteLine(LogLevel::kInfo, event, fields);
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
