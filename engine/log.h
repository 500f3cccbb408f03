// Structured logging: one line per event, `key=value` pairs, to stderr.
//
//   LogEvent(LogLevel::kInfo, "submit", {{"contact", "c-1"}, {"customer", MaskId(id)}});
//
// Customer identifiers and phone numbers must pass through MaskId / MaskPhone,
// and client free text (cancel reasons, notes) through MaskFreeText, before
// they reach a log line. Values with spaces, quotes, '=', '\\' or any control
// character are quoted, and control characters escaped (\n, \r, \t, \xNN), so
// no client string can forge a line or a terminal escape.
//
// Once StartLogWriter() has run, a line is formatted by the caller and queued;
// a writer thread of its own writes it. A slow reader of stderr (a paused
// pipe, a full journald) then never stalls the caller (the routing strand):
// when the queue is full, the line is dropped and counted, and the writer
// says how many it dropped once it catches up. Before StartLogWriter and after
// StopLogWriter, lines are written at once by the caller, in order.
#ifndef CCROUTER_ENGINE_LOG_H_
#define CCROUTER_ENGINE_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "codec/mask.h"

namespace prometheus {
class Counter;
}

namespace ccr {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Returns false for an unknown name.
bool ParseLogLevel(absl::string_view name, LogLevel* level);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

using LogField = std::pair<absl::string_view, std::string>;
void LogEvent(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields);
// Logged whatever the level: lines operators' scripts rely on (listening),
// and warnings and errors nobody may miss. `level` labels the line (a warning says level=warn) but
// never hides it.
void LogAlways(absl::string_view event, std::initializer_list<LogField> fields,
               LogLevel level = LogLevel::kInfo);

struct LogWriterOptions {
  int fd = 2;                                 // where lines go (stderr)
  size_t max_queued_bytes = size_t{1} << 20;  // lines waiting beyond this are dropped
};
// Starts the writer thread (once; later calls do nothing until StopLogWriter).
void StartLogWriter(LogWriterOptions options = {});
// Writes what is queued, waiting at most `timeout` for the reader, then stops
// the writer thread; lines after it are written at once again. False when the
// timeout passed first (the writer is left to finish on its own).
bool StopLogWriter(absl::Duration timeout);
// Lines dropped because the queue was full, since the process started.
uint64_t LogLinesDropped();
// Incremented once per dropped line (ccr_log_lines_dropped_total); not owned,
// must outlive logging. Null: none.
void SetLogDropCounter(prometheus::Counter* counter);

// One log line as it would be written, with its newline (for tests).
std::string FormatLogLine(LogLevel level, absl::string_view event,
                          std::initializer_list<LogField> fields, absl::Time now);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_LOG_H_
