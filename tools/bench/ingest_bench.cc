// ingest_bench: acknowledged submits per second against a running ccrouterd,
// closed loop (each stream keeps --window submits in flight), for comparing
// the journal with fsync on, off, and no journal at all in the same run
// (tools/bench/journal-bench starts the daemons).
//
//   ingest_bench --server HOST:PORT [--streams N] [--window W] [--seconds S]
//
// Each of N SubmitStream calls runs a writer thread and a reader thread; a
// submit counts once its reply (the durable acknowledgement) is read.
// Prints one line: acks/s, errors, and ack latency percentiles.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "ccrouter/v1/ingest.grpc.pb.h"
#include "codec/command_line.h"
#include "grpcpp/create_channel.h"

ABSL_FLAG(std::string, server, "", "HOST:PORT of the ccrouterd to load (required).");
ABSL_FLAG(int, streams, 4, "N: SubmitStream calls, each with a writer and a reader thread.");
ABSL_FLAG(int, window, 64, "W: submits each stream keeps in flight.");
ABSL_FLAG(double, seconds, 5, "S: how long to run.");

namespace {

constexpr char kUsage[] =
    "usage: ingest_bench --server HOST:PORT [--streams N] [--window W] [--seconds S]\n\nflags:\n";

namespace v1 = ::ccrouter::v1;
using Clock = std::chrono::steady_clock;

struct StreamResult {
  uint64_t acks = 0;
  uint64_t errors = 0;
  std::vector<double> latency_us;
};

StreamResult RunStream(const std::string& server, int id, int window, Clock::time_point end) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection per stream
  auto channel = grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args);
  auto stub = v1::ContactIngest::NewStub(channel);
  grpc::ClientContext ctx;
  auto stream = stub->SubmitStream(&ctx);
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  bool done_writing = false;
  std::vector<Clock::time_point> sent;  // by correlation id
  sent.reserve(1 << 20);
  StreamResult result;

  std::thread reader([&] {
    v1::SubmitStreamReply reply;
    while (stream->Read(&reply)) {
      const auto now = Clock::now();
      std::lock_guard lock(mu);
      if (reply.code() == 0) {
        ++result.acks;
        result.latency_us.push_back(
            std::chrono::duration<double, std::micro>(now - sent[reply.correlation_id()]).count());
      } else {
        ++result.errors;
      }
      --in_flight;
      cv.notify_one();
    }
  });
  v1::SubmitStreamRequest req;
  v1::ContactSpec* c = req.mutable_contact();
  c->set_channel(v1::CHANNEL_EMAIL);
  c->mutable_customer()->set_tier(v1::TIER_STANDARD);
  for (uint64_t n = 0; Clock::now() < end; ++n) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < window; });
      ++in_flight;
      sent.push_back(Clock::now());
    }
    req.set_correlation_id(n);
    c->set_idempotency_key(absl::StrCat("bench-", id, "-", n, "-", getpid()));
    c->mutable_customer()->set_id(absl::StrCat("cust-", n % 1000));
    if (!stream->Write(req)) break;
  }
  {
    std::unique_lock lock(mu);
    done_writing = true;
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return in_flight == 0; });
  }
  stream->WritesDone();
  reader.join();
  (void)stream->Finish();
  (void)done_writing;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  ccr::ParseCommandLineOrExit(argc, argv, "ingest_bench", kUsage);
  const std::string server = absl::GetFlag(FLAGS_server);
  const int streams = absl::GetFlag(FLAGS_streams);
  const int window = absl::GetFlag(FLAGS_window);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  if (server.empty() || streams <= 0 || window <= 0 || seconds <= 0) {
    std::fprintf(stderr,
                 "ingest_bench: --server is required; --streams, --window and --seconds need "
                 "positive numbers\n%s%s",
                 kUsage, ccr::FlagsHelp().c_str());
    return 2;
  }
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<StreamResult> results(streams);
  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s) {
    threads.emplace_back([&, s] { results[s] = RunStream(server, s, window, end); });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  StreamResult all;
  for (StreamResult& r : results) {
    all.acks += r.acks;
    all.errors += r.errors;
    all.latency_us.insert(all.latency_us.end(), r.latency_us.begin(), r.latency_us.end());
  }
  std::sort(all.latency_us.begin(), all.latency_us.end());
  auto pct = [&](double p) {
    if (all.latency_us.empty()) return 0.0;
    return all.latency_us[std::min(all.latency_us.size() - 1,
                                   static_cast<size_t>(p * all.latency_us.size()))];
  };
  std::printf(
      "acks=%llu errors=%llu seconds=%.2f acks_per_s=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f "
      "max_us=%.0f\n",
      static_cast<unsigned long long>(all.acks), static_cast<unsigned long long>(all.errors),
      elapsed, all.acks / elapsed, pct(0.5), pct(0.9), pct(0.99),
      all.latency_us.empty() ? 0.0 : all.latency_us.back());
  return all.acks > 0 ? 0 : 1;
}
