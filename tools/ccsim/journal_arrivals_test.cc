#include "tools/ccsim/journal_arrivals.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "ccrouter/v1/journal.pb.h"
#include "codec/config_loader.h"
#include "codec/wire.h"
#include "engine/journal/journal_format.h"
#include "gtest/gtest.h"
#include "tools/ccsim/simulator.h"

namespace ccr::sim {
namespace {

namespace v1 = ::ccrouter::v1;

// 2026-03-02 00:00:00 UTC: the recorded day.
const absl::Time kMidnight = absl::FromUnixSeconds(1772409600);

std::string Submit(uint64_t index, absl::Duration since_midnight, const std::string& key,
                   v1::Channel channel, const std::string& queue, v1::Tier tier, bool complaint) {
  v1::Command command;
  command.set_index(index);
  ToTimestamp(kMidnight + since_midnight, command.mutable_time());
  v1::ContactSpec* contact = command.mutable_submit()->mutable_contact();
  contact->set_idempotency_key(key);
  contact->set_channel(channel);
  contact->set_queue(queue);
  contact->mutable_customer()->set_tier(tier);
  contact->mutable_signals()->set_complaint(complaint);
  if (complaint) contact->mutable_signals()->set_sentiment(-0.7);
  return command.SerializeAsString();
}

std::string Login(uint64_t index, absl::Duration since_midnight) {
  v1::Command command;
  command.set_index(index);
  ToTimestamp(kMidnight + since_midnight, command.mutable_time());
  command.set_agent_id("a-1");
  command.mutable_login()->set_agent_id("a-1");
  return command.SerializeAsString();
}

class JournalArrivalsTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "/ccsim_journal_" +
           testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    absl::StatusOr<RouterConfig> config = LoadRouterConfig(DefaultConfigYaml());
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *config;
    segment_ = SegmentHeader(1);
    AppendFrame(
        Submit(1, absl::Hours(8), "k1", v1::CHANNEL_VOICE, "voice_general", v1::TIER_VIP, false),
        &segment_);
    AppendFrame(Login(2, absl::Hours(8) + absl::Seconds(10)), &segment_);
    // No queue named: resolved like ccrouterd does (the chat channel's default queue).
    AppendFrame(Submit(3, absl::Hours(8) + absl::Seconds(30), "k2", v1::CHANNEL_CHAT, "",
                       v1::TIER_STANDARD, true),
                &segment_);
    AppendFrame(Submit(4, absl::Minutes(9 * 60 + 15), "k3", v1::CHANNEL_VOICE, "voice_billing",
                       v1::TIER_GOLD, false),
                &segment_);
  }

  void WriteSegment(const std::string& bytes) {
    std::ofstream(dir_ + "/" + SegmentFileName(1), std::ios::binary) << bytes;
  }

  uint32_t QueueIndex(const std::string& name) const {
    for (uint32_t i = 0; i < config_.queues.size(); ++i) {
      if (config_.queues[i].name == name) return i;
    }
    ADD_FAILURE() << "no queue " << name;
    return 0;
  }

  std::string dir_;
  RouterConfig config_;
  std::string segment_;
};

TEST_F(JournalArrivalsTest, ReadsEverySubmitWithItsTimeQueueAndSignals) {
  WriteSegment(segment_);
  absl::StatusOr<std::vector<RecordedContact>> recorded = ReadJournalArrivals(dir_, config_);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  ASSERT_EQ(recorded->size(), 3u);  // the login is not an arrival
  EXPECT_DOUBLE_EQ((*recorded)[0].arrival_seconds, 8 * 3600);
  EXPECT_EQ((*recorded)[0].queue, QueueIndex("voice_general"));
  EXPECT_EQ((*recorded)[0].tier, Tier::kVip);
  EXPECT_DOUBLE_EQ((*recorded)[1].arrival_seconds, 8 * 3600 + 30);
  EXPECT_EQ((*recorded)[1].queue, QueueIndex("chat_general"));
  EXPECT_TRUE((*recorded)[1].signals.complaint);
  EXPECT_DOUBLE_EQ((*recorded)[1].signals.sentiment, -0.7);
  EXPECT_DOUBLE_EQ((*recorded)[2].arrival_seconds, 9.25 * 3600);
  EXPECT_EQ((*recorded)[2].tier, Tier::kGold);
}

TEST_F(JournalArrivalsTest, ReplaysThemThroughTheRouter) {
  WriteSegment(segment_);
  absl::StatusOr<std::vector<RecordedContact>> recorded = ReadJournalArrivals(dir_, config_);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  absl::StatusOr<Scenario> scenario = ParseScenarioYaml(R"(
duration_hours: 24
streams:
  - {name: voice, queue: voice_general, rate_per_hour: 500,
     patience: {distribution: constant, mean_seconds: 100},
     handle: {distribution: constant, mean_seconds: 60}}
agents:
  - {name: a, count: 2, skills: {general: 5, billing: 5, senior: 5}, channels: {voice: 1, chat: 3}}
)");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  UseRecordedArrivals(std::move(*recorded), config_, &*scenario);
  ASSERT_TRUE(CheckScenario(*scenario, config_).ok());
  ASSERT_EQ(scenario->streams.size(), 3u);
  EXPECT_EQ(scenario->streams[0].name, "recorded:voice_general");
  EXPECT_EQ(scenario->streams[0].patience.mean_seconds, 100);  // from the scenario's stream
  EXPECT_EQ(scenario->streams[1].name, "recorded:chat_general");
  EXPECT_EQ(scenario->streams[1].patience.kind, Distribution::Kind::kNever);

  // Only the recorded contacts arrive: the 500/h Poisson stream is replaced.
  const std::vector<ContactPlan> plan = PlanContacts(*scenario, config_);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].handle_seconds, 60);
  absl::StatusOr<SimulationReport> report = Simulate(*scenario, config_, Policy::kRouter, plan);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->overall.arrived, 3u);
  EXPECT_EQ(report->overall.answered, 3u);
  // Two agents, three contacts; the complaint needs (and finds) a senior.
  EXPECT_EQ(report->overall.answered_within_target, 3u);
  ASSERT_EQ(report->tiers.size(), 3u);  // standard, gold and vip, from the records
  EXPECT_EQ(report->tiers[2].name, "vip");
  EXPECT_EQ(report->tiers[2].total.arrived, 1u);
}

TEST_F(JournalArrivalsTest, IgnoresATornTailButNotDamageElsewhere) {
  std::string torn = segment_;
  AppendFrame(Submit(5, absl::Hours(10), "k4", v1::CHANNEL_VOICE, "voice_general",
                     v1::TIER_STANDARD, false),
              &torn);
  torn.resize(torn.size() - 5);  // the last record was never acknowledged
  WriteSegment(torn);
  absl::StatusOr<std::vector<RecordedContact>> recorded = ReadJournalArrivals(dir_, config_);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(recorded->size(), 3u);

  std::string damaged = segment_;
  damaged[kSegmentHeaderBytes + kFrameHeaderBytes + 3] ^= 0x55;  // inside the first record
  WriteSegment(damaged);
  recorded = ReadJournalArrivals(dir_, config_);
  EXPECT_EQ(recorded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(recorded.status().message().find(SegmentFileName(1)), std::string::npos)
      << recorded.status();
}

}  // namespace
}  // namespace ccr::sim
