// Integration tests of the bounds on what clients can make the engine hold
// (config `limits`, README "Security"): WatchEvents streams and their
// resume window, paged ListAgents (and ccctl following the pages), live
// contacts, and the canonical id syntax at the edge.
#include <sys/wait.h>

#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_fixture.h"

namespace ccr::testing {
namespace {

using ::testing::HasSubstr;

class LimitsTest : public DaemonFixture {
 protected:
  // The test config plus `limits` (the rate limit lifted so bulk submits are quick).
  bool StartWithLimits(const std::string& limits) {
    return StartDaemonWithYaml(absl::StrCat(TestConfigYaml(),
                                            "\nlimits: {submit_stream_messages_per_second: 1000000",
                                            limits.empty() ? "" : ", ", limits, "}\n"));
  }

  // Submits `n` voice contacts nobody serves over SubmitStream (each makes
  // at least one event); returns how many were acknowledged. A stream the
  // loaded machine lets fall behind is simply followed by another.
  int SubmitMany(int n, const std::string& key_prefix) {
    Gateway gateway(NewChannel());
    int acknowledged = 0;
    int next_key = 0;
    for (int attempt = 0; acknowledged < n && attempt < 100; ++attempt) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      auto stream = gateway.stub().SubmitStream(&ctx);
      const int batch = std::min(2000, n - acknowledged);
      const int first = next_key;
      next_key += batch;
      std::thread writer([&] {
        for (int i = first; i < first + batch; ++i) {
          v1::SubmitStreamRequest req;
          req.set_correlation_id(i + 1);
          *req.mutable_contact() =
              Contact(absl::StrCat(key_prefix, i), v1::CHANNEL_VOICE, "voice_general");
          if (!stream->Write(req)) return;
        }
        stream->WritesDone();
      });
      v1::SubmitStreamReply reply;
      while (stream->Read(&reply)) acknowledged += reply.code() == 0;
      writer.join();
      stream->Finish();
    }
    return acknowledged;
  }
};

// Reads up to `max_events` events (stopping at `deadline`), then cancels;
// returns them with the stream's status (OK when it was still open).
struct WatchResult {
  std::vector<uint64_t> sequences;
  grpc::Status status;
};
WatchResult Watch(std::shared_ptr<grpc::Channel> channel, uint64_t after_sequence,
                  size_t max_events, absl::Duration timeout) {
  auto stub = v1::Admin::NewStub(std::move(channel));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  v1::WatchEventsRequest req;
  req.set_after_sequence(after_sequence);
  auto stream = stub->WatchEvents(&ctx, req);
  WatchResult result;
  v1::LifecycleEvent e;
  while (result.sequences.size() < max_events && stream->Read(&e)) {
    result.sequences.push_back(e.sequence());
  }
  if (result.sequences.size() >= max_events) {
    ctx.TryCancel();
    while (stream->Read(&e)) {
    }
    stream->Finish();
    return result;
  }
  result.status = stream->Finish();
  return result;
}

TEST_F(LimitsTest, WatchResumesFromFiftyThousandEventsBack) {
  ASSERT_TRUE(StartWithLimits(""));
  ASSERT_GE(SubmitMany(50100, "bulk-"), 50100);
  // Everything after event 1: over 50,000 events, all still in the default
  // window of 100,000, delivered in order without a gap.
  constexpr size_t kWanted = 50050;
  WatchResult w = Watch(NewChannel(), 1, kWanted, absl::Seconds(60));
  ASSERT_TRUE(w.status.ok()) << w.status.error_code() << ": " << w.status.error_message();
  ASSERT_EQ(w.sequences.size(), kWanted);
  for (size_t i = 0; i < w.sequences.size(); ++i) {
    ASSERT_EQ(w.sequences[i], i + 2) << "at " << i;
  }
}

TEST_F(LimitsTest, WatcherThatFallsOutOfTheWindowIsEndedNamingTheOldestHeld) {
  ASSERT_TRUE(StartWithLimits("event_window: 2000, watch_stream_queue: 16"));
  // A watcher that reads nothing while far more than the window happens; a
  // fixed flow-control window (no BDP probe) so gRPC cannot absorb it all.
  auto stub = v1::Admin::NewStub(NewChannel(/*bdp_probe=*/false));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::WatchEventsRequest req;
  auto stream = stub->WatchEvents(&ctx, req);
  ASSERT_GE(SubmitMany(12000, "slow-"), 12000);
  v1::LifecycleEvent e;
  size_t read = 0;
  while (stream->Read(&e)) ++read;
  grpc::Status s = stream->Finish();
  EXPECT_LT(read, 12000u);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("oldest still held"));

  // Resuming from before the window: OUT_OF_RANGE naming the oldest held.
  WatchResult old = Watch(NewChannel(), 5, 1, absl::Seconds(10));
  EXPECT_EQ(old.status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(old.status.error_message(), HasSubstr("events before"));
}

TEST_F(LimitsTest, WatchStreamsBeyondTheLimitAreRefused) {
  ASSERT_TRUE(StartWithLimits(""));
  std::vector<std::unique_ptr<EventWatcher>> watchers;
  for (int i = 0; i < 64; ++i) watchers.push_back(std::make_unique<EventWatcher>(NewChannel(), 0));
  // Each is registered on the strand: an event reaching all 64 proves it.
  Gateway gateway(NewChannel());
  v1::SubmitReply reply;
  ASSERT_TRUE(gateway.Submit(Contact("probe", v1::CHANNEL_VOICE), &reply).ok());
  for (auto& w : watchers) {
    ASSERT_TRUE(w->WaitFor(v1::EVENT_KIND_QUEUED, reply.contact_id(), absl::Seconds(10)));
  }
  WatchResult refused = Watch(NewChannel(), 0, 1, absl::Seconds(5));
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.status.error_message();
  EXPECT_THAT(refused.status.error_message(), HasSubstr("max_watch_streams"));
  watchers.pop_back();  // one closes: a new one is let in (it stays open: deadline)
  WatchResult admitted = Watch(NewChannel(), 0, 1, absl::Seconds(2));
  EXPECT_EQ(admitted.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << admitted.status.error_message();
}

// Runs `command`, returning its exit status and stdout.
std::pair<int, std::string> RunCommand(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_F(LimitsTest, ListAgentsComesInPagesAndCcctlFollowsThem) {
  ASSERT_TRUE(StartWithLimits(""));
  // 900 agents of the largest shape the edge admits make a list of about
  // 5 MB: over gRPC's 4 MB message bound in one reply.
  constexpr int kAgents = 900;
  for (int i = 0; i < kAgents; ++i) {
    v1::Login login =
        AgentLogin(absl::StrCat("agent-", 1000 + i, std::string(100, 'x')), v1::CHANNEL_VOICE);
    login.set_display_name(std::string(256, 'd'));
    for (int s = 0; s < 63; ++s) {
      v1::Skill* skill = login.add_skills();
      skill->set_name(absl::StrCat("skill-", s, std::string(50, 's')));
      skill->set_level(5);
    }
    for (int l = 0; l < 15; ++l) login.add_languages(absl::StrCat("language-", l));
    login.set_start_available(false);
    AgentClient agent(NewChannel());
    ASSERT_TRUE(agent.Login(login)) << i;
  }  // each says goodbye: logged out, listed until the retention forgets it

  Operator op(NewChannel());
  v1::ListAgentsReply first;
  ASSERT_TRUE(op.ListAgents(&first).ok());
  EXPECT_EQ(first.agents_size(), 100);  // the default page
  EXPECT_FALSE(first.next_page_token().empty());

  const auto [code, out] =
      RunCommand(absl::StrCat(CCCTL_PATH, " --server=", daemon().grpc_address(), " agents --json"));
  ASSERT_EQ(code, 0) << out.substr(0, 500);
  size_t listed = 0;
  for (size_t at = out.find("\"agent_id\""); at != std::string::npos;
       at = out.find("\"agent_id\"", at + 1)) {
    ++listed;
  }
  EXPECT_EQ(listed, static_cast<size_t>(kAgents));
}

TEST_F(LimitsTest, SubmitBeyondMaxLiveContactsIsRefusedNamingTheLimit) {
  ASSERT_TRUE(StartWithLimits("max_live_contacts: 3"));
  Gateway gateway(NewChannel());
  v1::SubmitReply reply;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(gateway.Submit(Contact(absl::StrCat("k", i), v1::CHANNEL_VOICE), &reply).ok());
  }
  grpc::Status s = gateway.Submit(Contact("k3", v1::CHANNEL_VOICE), &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("config.limits.max_live_contacts"));
}

TEST_F(LimitsTest, NonCanonicalContactIdsAreRefusedNamingTheField) {
  ASSERT_TRUE(StartWithLimits(""));
  Gateway gateway(NewChannel());
  v1::SubmitReply reply;
  ASSERT_TRUE(gateway.Submit(Contact("k", v1::CHANNEL_VOICE), &reply).ok());
  ASSERT_EQ(reply.contact_id(), "c-1");
  for (const char* alias : {"c-01", "c-+1", "c- 1"}) {
    v1::CancelReply cancel;
    grpc::Status s = gateway.Cancel(alias, &cancel);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << alias;
    EXPECT_THAT(s.error_message(), HasSubstr("contact_id")) << alias;
  }
  Operator op(NewChannel());
  EXPECT_EQ(op.Queue("voice_general").queued(), 1u);  // c-1 untouched
}

}  // namespace
}  // namespace ccr::testing
