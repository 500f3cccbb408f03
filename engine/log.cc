#include "engine/log.h"

#include <errno.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/std_mutex.h"
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

// How long the writer lets lines gather between writes. With 1 MiB of
// queue this absorbs 500 MB/s of lines without a drop.
constexpr absl::Duration kGatherLines = absl::Milliseconds(2);

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

// The queue between the callers and the writer thread: one byte buffer the
// callers append to and the writer swaps out, so a line costs no allocation
// that another thread frees. StdMutex (an annotated std::mutex) rather than
// absl::Mutex: the distribution's abseil runs deadlock detection on every
// lock, which showed in the profile of a run at info.
class LogWriter {
 public:
  void Start(LogWriterOptions options) ABSL_LOCKS_EXCLUDED(mu_) {
    StdMutexLock lock(&mu_);
    if (running_) return;
    options_ = options;
    running_ = true;
    stop_ = false;
    exited_ = false;
    thread_ = std::thread([this] { Run(); });
  }

  bool Stop(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_) {
    std::thread thread;
    {
      StdMutexLock lock(&mu_);
      if (!running_) return true;
      stop_ = true;
      wake_.notify_one();
      const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
      while (!exited_ && mu_.WaitUntil(exited_cv_, deadline)) {
      }
      const bool drained = exited_;
      running_ = false;
      thread = std::move(thread_);
      if (!drained) {
        // Blocked on a reader that does not read: leave it be (the process
        // is ending) and write directly from now on.
        thread.detach();
        return false;
      }
    }
    thread.join();
    return true;
  }

  // Queues `line`, or writes it at once when no writer runs. Never blocks
  // on the reader.
  void Emit(absl::string_view line) ABSL_LOCKS_EXCLUDED(mu_) {
    mu_.Lock();
    if (running_ && !stop_) {
      if (pending_.size() + line.size() > options_.max_queued_bytes) {
        ++dropped_unreported_;
        mu_.Unlock();
        dropped_total_.fetch_add(1, std::memory_order_relaxed);
        if (prometheus::Counter* c = drop_counter_.load(std::memory_order_acquire)) {
          c->Increment();
        }
        return;
      }
      pending_.append(line.data(), line.size());
      const bool wake = writer_waiting_;
      writer_waiting_ = false;
      mu_.Unlock();
      if (wake) wake_.notify_one();
      return;
    }
    mu_.Unlock();
    WriteAll(2, line);
  }

  uint64_t dropped() const { return dropped_total_.load(std::memory_order_relaxed); }
  void SetDropCounter(prometheus::Counter* c) { drop_counter_.store(c, std::memory_order_release); }

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_) {
    std::string writing;
    for (;;) {
      uint64_t dropped = 0;
      int fd = 2;
      bool last = false;
      {
        StdMutexLock lock(&mu_);
        while (pending_.empty() && dropped_unreported_ == 0 && !stop_) {
          writer_waiting_ = true;
          mu_.Wait(wake_);
        }
        writer_waiting_ = false;
        writing.swap(pending_);  // pending_ gets the empty buffer back, capacity kept
        dropped = dropped_unreported_;
        dropped_unreported_ = 0;
        fd = options_.fd;
        last = stop_;
      }
      if (dropped > 0) {
        // After the lines that made it: the gap is where the drops were.
        writing += FormatLogLine(LogLevel::kWarn, "log_lines_dropped",
                                 {{"count", absl::StrCat(dropped)},
                                  {"why", "the log reader fell behind; lines were dropped"}},
                                 absl::Now());
      }
      WriteAll(fd, writing);
      writing.clear();
      if (!last) {
        // Lets lines gather: one wake-up and one write for many lines, not
        // one per line (a wake-up per line costs the strand a futex call).
        absl::SleepFor(kGatherLines);
        continue;
      }
      StdMutexLock lock(&mu_);
      if (pending_.empty() && dropped_unreported_ == 0) {
        exited_ = true;
        exited_cv_.notify_all();
        return;
      }
    }
  }

  StdMutex mu_;
  std::condition_variable wake_;       // the writer waits for lines or stop_
  std::condition_variable exited_cv_;  // Stop waits for exited_
  LogWriterOptions options_ ABSL_GUARDED_BY(mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
  bool writer_waiting_ ABSL_GUARDED_BY(mu_) = false;
  std::string pending_ ABSL_GUARDED_BY(mu_);  // whole lines, in order
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

namespace {
// "2027-01-15T08:00:00.000Z". absl::FormatTime costs microseconds a call, a
// large share of a line at info; the date and time change once a second.
void AppendTimestamp(std::string* line, absl::Time now) {
  struct Cached {
    int64_t second = std::numeric_limits<int64_t>::min();
    std::string text;  // up to the seconds: "2027-01-15T08:00:00"
  };
  thread_local Cached cached;
  const int64_t ms = absl::ToUnixMillis(now);
  const int64_t second = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  if (second != cached.second) {
    cached.second = second;
    cached.text =
        absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second), absl::UTCTimeZone());
  }
  const int millis = static_cast<int>(ms - second * 1000);
  line->append(cached.text);
  line->append({'.', static_cast<char>('0' + millis / 100),
                static_cast<char>('0' + millis / 10 % 10), static_cast<char>('0' + millis % 10),
                'Z'});
}
}  // namespace

std::string FormatLogLine(LogLevel level, absl::string_view event,
                          std::initializer_list<LogField> fields, absl::Time now) {
  std::string line;
  line.reserve(160);
  line.append("ts=");
  AppendTimestamp(&line, now);
  line.append(" level=");
  line.append(LevelName(level));
  line.append(" event=");
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

void LogAlways(absl::string_view event, std::initializer_list<LogField> fields, LogLevel level) {
  Writer().Emit(FormatLogLine(level, event, fields, absl::Now()));
}

void StartLogWriter(LogWriterOptions options) { Writer().Start(options); }
bool StopLogWriter(absl::Duration timeout) { return Writer().Stop(timeout); }
uint64_t LogLinesDropped() { return Writer().dropped(); }
void SetLogDropCounter(prometheus::Counter* counter) { Writer().SetDropCounter(counter); }

}  // namespace ccr
