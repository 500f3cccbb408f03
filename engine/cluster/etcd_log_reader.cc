#include "engine/cluster/etcd_log_reader.h"

#include <algorithm>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "codec/config_loader.h"
#include "codec/wire.h"
#include "engine/cluster/etcd_calls.h"
#include "engine/cluster/etcd_command_log.h"
#include "engine/journal/snapshot_file.h"
#include "router/router.h"

namespace ccr::cluster {

namespace {

using etcdserverpb::RangeRequest;
using etcdserverpb::RangeResponse;

// A Range reply may not exceed gRPC's 4 MiB receive limit: pages start at
// this many keys and halve while etcd's reply is too large.
constexpr int64_t kPageKeys = 256;

// The index a log key names, or nullopt for a key that is not a log key.
std::optional<uint64_t> LogKeyIndex(const std::string& prefix, absl::string_view key) {
  const std::string log = prefix + "log/";
  uint64_t index = 0;
  if (!absl::ConsumePrefix(&key, log) || key.size() != 20 || !absl::SimpleAtoi(key, &index)) {
    return std::nullopt;
  }
  return index;
}

absl::StatusOr<v1::LogChunk> ParseChunk(const std::string& prefix, const mvccpb::KeyValue& kv,
                                        uint64_t* first_index) {
  const std::optional<uint64_t> index = LogKeyIndex(prefix, kv.key());
  v1::LogChunk chunk;
  if (!index || !chunk.ParseFromString(kv.value()) || chunk.commands_size() == 0 ||
      chunk.commands(0).index() != *index) {
    return absl::DataLossError(
        absl::StrCat("etcd log: ", kv.key(), " is not a chunk of commands starting at its index"));
  }
  *first_index = *index;
  return chunk;
}

// One Range, paged by the caller; halves `*limit` while the reply is too
// large for gRPC.
absl::Status RangePage(etcdserverpb::KV::Stub& kv, RangeRequest request, int64_t* limit,
                       absl::Duration timeout, RangeResponse* reply) {
  for (;;) {
    request.set_limit(*limit);
    const absl::Status s = CallEtcd(absl::StrCat("range ", request.key()), absl::Now() + timeout,
                                    [&](grpc::ClientContext& context) {
                                      reply->Clear();
                                      return kv.Range(&context, request, reply);
                                    });
    if (s.code() != absl::StatusCode::kResourceExhausted || *limit <= 1) return s;
    *limit /= 2;
  }
}

}  // namespace

absl::Status ReadLog(etcdserverpb::KV::Stub& kv, const std::string& prefix, uint64_t first_index,
                     uint64_t end_index, int64_t at_revision, absl::Duration request_timeout,
                     const std::function<bool(const v1::Command&)>& visit, LogRead* read) {
  const std::string log_prefix = prefix + "log/";
  int64_t one = 1;
  // The chunk holding first_index: the greatest log key at or before it.
  RangeRequest find;
  find.set_key(log_prefix);
  find.set_range_end(LogKey(prefix, first_index) + '\0');
  find.set_sort_order(RangeRequest::DESCEND);
  find.set_sort_target(RangeRequest::KEY);
  find.set_keys_only(true);
  find.set_revision(at_revision);
  RangeResponse found;
  CCR_RETURN_IF_ERROR(RangePage(kv, find, &one, request_timeout, &found));
  read->revision = at_revision != 0 ? at_revision : found.header().revision();
  std::string start_key;
  if (found.kvs_size() == 1) {
    start_key = found.kvs(0).key();
  } else {
    // Nothing at or before first_index: fine only when nothing before it
    // was ever written or covered by a snapshot, i.e. the log starts later
    // than nothing and no snapshot covers first_index.
    RangeRequest latest;
    latest.set_key(SnapshotLatestKey(prefix));
    latest.set_revision(read->revision);
    RangeResponse snapshot;
    CCR_RETURN_IF_ERROR(RangePage(kv, latest, &one, request_timeout, &snapshot));
    uint64_t snapshot_index = 0;
    if (snapshot.kvs_size() == 1 && absl::SimpleAtoi(snapshot.kvs(0).value(), &snapshot_index) &&
        first_index <= snapshot_index) {
      return absl::OutOfRangeError(absl::StrCat("etcd log ", log_prefix, ": index ", first_index,
                                                " is no longer held (snapshot ", snapshot_index,
                                                " covers it)"));
    }
    start_key = log_prefix;
  }
  RangeRequest page;
  page.set_key(start_key);
  page.set_range_end(PrefixEnd(log_prefix));
  page.set_revision(read->revision);
  int64_t limit = kPageKeys;
  std::optional<uint64_t> expected;  // the index the next chunk must start at
  for (;;) {
    RangeResponse reply;
    CCR_RETURN_IF_ERROR(RangePage(kv, page, &limit, request_timeout, &reply));
    for (const mvccpb::KeyValue& entry : reply.kvs()) {
      uint64_t chunk_first = 0;
      CCR_ASSIGN_OR_RETURN(const v1::LogChunk chunk, ParseChunk(prefix, entry, &chunk_first));
      ++read->chunks;
      read->bytes += entry.value().size();
      if (!expected) {
        if (chunk_first > first_index) {
          return absl::OutOfRangeError(absl::StrCat("etcd log ", log_prefix, ": index ",
                                                    first_index, " is not held (the log starts at ",
                                                    chunk_first, ")"));
        }
      } else if (chunk_first != *expected) {
        return absl::DataLossError(absl::StrCat("etcd log: ", entry.key(),
                                                " follows a chunk ending at ", *expected - 1,
                                                ": indexes are missing"));
      }
      uint64_t next = chunk_first;
      for (const v1::Command& cmd : chunk.commands()) {
        if (cmd.index() != next) {
          return absl::DataLossError(absl::StrCat("etcd log: ", entry.key(), " holds index ",
                                                  cmd.index(), " where ", next, " belongs"));
        }
        ++next;
        if (cmd.index() >= end_index) return absl::OkStatus();
        if (cmd.index() >= first_index && !visit(cmd)) return absl::OkStatus();
      }
      expected = next;
    }
    if (!reply.more() || reply.kvs_size() == 0) return absl::OkStatus();
    page.set_key(reply.kvs(reply.kvs_size() - 1).key() + '\0');
  }
}

absl::StatusOr<Recovered> LoadFromEtcd(std::shared_ptr<grpc::Channel> channel,
                                       const std::string& prefix, absl::Duration request_timeout,
                                       int64_t* read_revision, size_t event_window) {
  const absl::Time start = absl::Now();
  auto kv = etcdserverpb::KV::NewStub(channel);
  Recovered out;
  int64_t one = 1;
  RangeRequest latest;
  latest.set_key(SnapshotLatestKey(prefix));
  RangeResponse latest_reply;
  CCR_RETURN_IF_ERROR(RangePage(*kv, latest, &one, request_timeout, &latest_reply));
  const int64_t revision = latest_reply.header().revision();
  if (latest_reply.kvs_size() == 1) {
    uint64_t index = 0;
    if (!absl::SimpleAtoi(latest_reply.kvs(0).value(), &index)) {
      return absl::DataLossError(absl::StrCat("etcd: ", latest.key(), " holds \"",
                                              latest_reply.kvs(0).value(), "\", not an index"));
    }
    // The parts, in key order, at the same revision.
    const std::string parts_prefix =
        SnapshotPartKey(prefix, index, 0).substr(0, SnapshotPartKey(prefix, index, 0).size() - 6);
    std::string bytes;
    RangeRequest parts;
    parts.set_key(parts_prefix);
    parts.set_range_end(PrefixEnd(parts_prefix));
    parts.set_revision(revision);
    int64_t limit = 2;  // parts are up to 1 MiB: stay under gRPC's 4 MiB reply
    uint32_t part_count = 0;
    for (;;) {
      RangeResponse reply;
      CCR_RETURN_IF_ERROR(RangePage(*kv, parts, &limit, request_timeout, &reply));
      for (const mvccpb::KeyValue& part : reply.kvs()) {
        if (part.key() != SnapshotPartKey(prefix, index, part_count)) {
          return absl::DataLossError(absl::StrCat("etcd: snapshot ", parts_prefix, ": found ",
                                                  part.key(), " where part ", part_count,
                                                  " belongs"));
        }
        ++part_count;
        bytes += part.value();
      }
      if (!reply.more() || reply.kvs_size() == 0) break;
      parts.set_key(reply.kvs(reply.kvs_size() - 1).key() + '\0');
    }
    CCR_ASSIGN_OR_RETURN(LoadedSnapshot snapshot, ReadSnapshotBytes(bytes, parts_prefix));
    if (snapshot.last_index != index) {
      return absl::DataLossError(
          absl::StrCat("etcd: snapshot ", parts_prefix, " holds index ", snapshot.last_index));
    }
    out.report.bytes_read += bytes.size();
    bytes.clear();
    CCR_ASSIGN_OR_RETURN(RouterConfig config, LoadRouterConfig(snapshot.config_yaml));
    CCR_ASSIGN_OR_RETURN(out.router, Router::Restore(std::move(config), snapshot.state));
    // Replay needs the state, and its history only for a kept window.
    out.router->SetEventsEnabled(event_window > 0);
    out.config_yaml = std::move(snapshot.config_yaml);
    out.next_index = index + 1;
    out.report.snapshot_file = parts_prefix;
    out.report.snapshot_index = index;
  }
  const std::string source = absl::StrCat("etcd log ", prefix, "log/");
  absl::Status replayed;
  LogRead read;
  CCR_RETURN_IF_ERROR(ReadLog(
      *kv, prefix, out.next_index, std::numeric_limits<uint64_t>::max(), revision, request_timeout,
      [&](const v1::Command& cmd) {
        replayed = ReplayCommand(cmd, source, &out);
        if (replayed.ok() && event_window > 0) KeepReplayedEvents(out, event_window);
        return replayed.ok();
      },
      &read));
  CCR_RETURN_IF_ERROR(replayed);
  out.report.segments_read = read.chunks;
  out.report.bytes_read += read.bytes;
  if (out.router) out.router->SetEventsEnabled(true);
  if (read_revision != nullptr) *read_revision = revision;
  out.report.elapsed = absl::Now() - start;
  return out;
}

void KeepReplayedEvents(Recovered& recovered, size_t window) {
  if (!recovered.router) return;
  recovered.router->SetEventsEnabled(true);
  for (const Event& e : recovered.router->TakeEvents()) {
    EventToWire(e, e.sequence, &recovered.recent_events.emplace_back());
    if (recovered.recent_events.size() > window) recovered.recent_events.pop_front();
  }
}

LogFollower::LogFollower(std::shared_ptr<grpc::Channel> channel, std::string prefix,
                         uint64_t from_index, CommandCallback on_command, ErrorCallback on_error,
                         absl::Duration request_timeout, int64_t after_revision)
    : channel_(std::move(channel)),
      kv_(etcdserverpb::KV::NewStub(channel_)),
      watch_(etcdserverpb::Watch::NewStub(channel_)),
      prefix_(std::move(prefix)),
      on_command_(std::move(on_command)),
      on_error_(std::move(on_error)),
      request_timeout_(request_timeout),
      after_revision_(after_revision),
      next_index_(from_index) {}

LogFollower::~LogFollower() { Stop(); }

void LogFollower::Start() {
  thread_ = std::thread([this] { Run(); });
}

void LogFollower::Stop() {
  {
    StdMutexLock lock(&mu_);
    stop_ = true;
    if (watch_context_ != nullptr) watch_context_->TryCancel();
  }
  stopped_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool LogFollower::PauseUnlessStopped(absl::Duration pause) {
  const auto until = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(pause);
  StdMutexLock lock(&mu_);
  while (!stop_ && mu_.WaitUntil(stopped_, until)) {
  }
  return !stop_;
}

absl::Status LogFollower::Deliver(const v1::Command& cmd) {
  if (cmd.index() != next_index_.load()) {
    return absl::OutOfRangeError(absl::StrCat("etcd log ", prefix_, "log/: got index ", cmd.index(),
                                              " where ", next_index_.load(),
                                              " was next; reload from the snapshot"));
  }
  on_command_(cmd);
  next_index_.store(cmd.index() + 1);
  return absl::OkStatus();
}

void LogFollower::Run() {
  // Catch up with what is there, retrying while etcd is unreachable.
  int64_t revision = after_revision_;
  while (revision == 0) {
    absl::Status delivered;
    LogRead read;
    const absl::Status s = ReadLog(
        *kv_, prefix_, next_index_.load(), std::numeric_limits<uint64_t>::max(), 0,
        request_timeout_,
        [&](const v1::Command& cmd) {
          delivered = Deliver(cmd);
          return delivered.ok();
        },
        &read);
    if (!delivered.ok()) return on_error_(delivered);
    if (s.ok()) {
      revision = read.revision;
      continue;
    }
    if (s.code() == absl::StatusCode::kOutOfRange || s.code() == absl::StatusCode::kDataLoss) {
      return on_error_(absl::OutOfRangeError(s.message()));
    }
    if (!PauseUnlessStopped(absl::Milliseconds(200))) return;
  }
  for (;;) {
    const absl::Status s = WatchOnce(&revision);
    {
      StdMutexLock lock(&mu_);
      if (stop_) return;
    }
    if (s.code() == absl::StatusCode::kOutOfRange) return on_error_(s);
    // The stream broke (member gone): watch again from where it was.
    if (!PauseUnlessStopped(absl::Milliseconds(100))) return;
  }
}

absl::Status LogFollower::WatchOnce(int64_t* revision) {
  grpc::ClientContext context;
  {
    StdMutexLock lock(&mu_);
    if (stop_) return absl::CancelledError("stopped");
    watch_context_ = &context;
  }
  auto stream = watch_->Watch(&context);
  etcdserverpb::WatchRequest request;
  auto* create = request.mutable_create_request();
  const std::string log_prefix = prefix_ + "log/";
  create->set_key(log_prefix);
  create->set_range_end(PrefixEnd(log_prefix));
  create->set_start_revision(*revision + 1);
  absl::Status result = absl::UnavailableError("etcd: watch " + log_prefix + " ended");
  if (stream->Write(request)) {
    etcdserverpb::WatchResponse response;
    while (stream->Read(&response)) {
      if (response.compact_revision() != 0) {
        result = absl::OutOfRangeError(
            absl::StrCat("etcd: watch ", log_prefix, " from revision ", *revision + 1,
                         ": etcd compacted its history up to ", response.compact_revision(),
                         "; reload from the snapshot"));
        break;
      }
      if (response.canceled()) {
        result = absl::UnavailableError(
            absl::StrCat("etcd: watch ", log_prefix, " canceled: ", response.cancel_reason()));
        break;
      }
      for (const mvccpb::Event& event : response.events()) {
        *revision = std::max(*revision, event.kv().mod_revision());
        // Deletes are pruning behind a snapshot, or the removal of a chunk
        // whose write failed; its replacement shows as a put below next.
        if (event.type() != mvccpb::Event::PUT) continue;
        uint64_t chunk_first = 0;
        absl::StatusOr<v1::LogChunk> chunk = ParseChunk(prefix_, event.kv(), &chunk_first);
        if (!chunk.ok()) {
          result = absl::OutOfRangeError(chunk.status().message());
          break;
        }
        for (const v1::Command& cmd : chunk->commands()) {
          result = Deliver(cmd);
          if (!result.ok()) break;
        }
        if (!result.ok()) break;
        result = absl::UnavailableError("etcd: watch " + log_prefix + " ended");
      }
      if (result.code() == absl::StatusCode::kOutOfRange) break;
    }
  }
  {
    StdMutexLock lock(&mu_);
    watch_context_ = nullptr;
  }
  context.TryCancel();
  (void)stream->Finish();
  return result;
}

}  // namespace ccr::cluster
