#include "engine/log.h"

#include <errno.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "prometheus/counter.h"

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

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

void AppendValue(std::string* line, absl::string_view v) {
  bool quote = v.empty();
  for (unsigned char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || IsControl(c)) {
      quote = true;
      break;
    }
  }
  if (!quote) {
    line->append(v.data(), v.size());
    return;
  }
  line->push_back('"');
  for (unsigned char c : v) {
    switch (c) {
      case '"':
        line->append("\\\"");
        break;
      case '\\':
        line->append("\\\\");
        break;
      case '\n':
        line->append("\\n");
        break;
      case '\r':
        line->append("\\r");
        break;
      case '\t':
        line->append("\\t");
        break;
      default:
        if (IsControl(c)) {
          static constexpr char kHex[] = "0123456789abcdef";
          line->append({'\\', 'x', kHex[c >> 4], kHex[c & 0xf]});
        } else {
          line->push_back(static_cast<char>(c));
        }
    }
  }
  line->push_back('"');
}

// Writes all of `data` to `fd`, retrying partial writes; gives up on an error
// (a closed reader: nobody is left to tell).
void WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// The queue between the callers and the writer thread.
class LogWriter {
 public:
  void Start(LogWriterOptions options) {
    absl::MutexLock lock(&mu_);
    if (running_) return;
    options_ = options;
    running_ = true;
    stop_ = false;
    thread_ = std::thread([this] { Run(); });
  }

  bool Stop(absl::Duration timeout) {
    std::thread thread;
    {
      absl::MutexLock lock(&mu_);
      if (!running_) return true;
      stop_ = true;
      const bool drained = mu_.AwaitWithTimeout(
          absl::Condition(
              +[](LogWriter* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) { return w->exited_; },
              this),
          timeout);
      running_ = false;
      thread = std::move(thread_);
      if (!drained) {
        // Blocked on a reader that does not read: leave it be (the process
        // is ending) and write directly from now on.
        thread.detach();
        return false;
      }
      exited_ = false;
    }
    thread.join();
    return true;
  }

  // Queues `line`, or writes it at once when no writer runs. Never blocks
  // on the reader.
  void Emit(std::string line) {
    {
      absl::MutexLock lock(&mu_);
      if (running_ && !stop_) {
        if (queued_bytes_ + line.size() > options_.max_queued_bytes) {
          ++dropped_unreported_;
          dropped_total_.fetch_add(1, std::memory_order_relaxed);
          if (prometheus::Counter* c = drop_counter_.load(std::memory_order_acquire)) {
            c->Increment();
          }
          return;
        }
        queued_bytes_ += line.size();
        queue_.push_back(std::move(line));
        return;
      }
    }
    WriteAll(2, line);
  }

  uint64_t dropped() const { return dropped_total_.load(std::memory_order_relaxed); }
  void SetDropCounter(prometheus::Counter* c) { drop_counter_.store(c, std::memory_order_release); }

 private:
  void Run() {
    for (;;) {
      std::deque<std::string> batch;
      uint64_t dropped = 0;
      int fd = 2;
      bool last = false;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](LogWriter* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) {
              return !w->queue_.empty() || w->dropped_unreported_ > 0 || w->stop_;
            },
            this));
        batch.swap(queue_);
        queued_bytes_ = 0;
        dropped = dropped_unreported_;
        dropped_unreported_ = 0;
        fd = options_.fd;
        last = stop_;
      }
      std::string out;
      for (const std::string& line : batch) out += line;
      if (dropped > 0) {
        // After the lines that made it: the gap is where the drops were.
        out += FormatLogLine(LogLevel::kWarn, "log_lines_dropped",
                             {{"count", absl::StrCat(dropped)},
                              {"why", "the log reader fell behind; lines were dropped"}},
                             absl::Now());
      }
      WriteAll(fd, out);
      if (last) {
        absl::MutexLock lock(&mu_);
        if (queue_.empty() && dropped_unreported_ == 0) {
          exited_ = true;
          return;
        }
      }
    }
  }

  absl::Mutex mu_;
  LogWriterOptions options_ ABSL_GUARDED_BY(mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_unreported_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> dropped_total_{0};
  std::atomic<prometheus::Counter*> drop_counter_{nullptr};
};

LogWriter& Writer() {
  static LogWriter* writer = new LogWriter();  // never destroyed: logging works to the end
  return *writer;
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

std::string FormatLogLine(LogLevel level, absl::string_view event,
                          std::initializer_list<LogField> fields, absl::Time now) {
  std::string line =
      absl::StrCat("ts=", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", now, absl::UTCTimeZone()),
                   " level=", LevelName(level), " event=");
  AppendValue(&line, event);
  for (const auto& [key, value] : fields) {
    line.push_back(' ');
    line.append(key.data(), key.size());
    line.push_back('=');
    AppendValue(&line, value);
  }
  line.push_back('\n');
  return line;
}

void LogEvent(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields) {
  if (LogEnabled(level)) Writer().Emit(FormatLogLine(level, event, fields, absl::Now()));
}

void LogAlways(absl::string_view event, std::initializer_list<LogField> fields) {
  Writer().Emit(FormatLogLine(LogLevel::kInfo, event, fields, absl::Now()));
}

void StartLogWriter(LogWriterOptions options) { Writer().Start(options); }
bool StopLogWriter(absl::Duration timeout) { return Writer().Stop(timeout); }
uint64_t LogLinesDropped() { return Writer().dropped(); }
void SetLogDropCounter(prometheus::Counter* counter) { Writer().SetDropCounter(counter); }

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
