#include "tools/ccload/arrival_schedule.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "gtest/gtest.h"
#include "tools/ccload/hdr_histogram.h"

namespace ccr::load {
namespace {

using Clock = ArrivalSchedule::Clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

const Clock::time_point kStart = Clock::time_point() + std::chrono::hours(1);

TEST(ArrivalScheduleTest, PoissonRateAndOrder) {
  ArrivalSchedule schedule(1000, /*seed=*/5, kStart);
  const std::vector<Clock::time_point> due = schedule.DueBy(kStart + seconds(10));
  // 10000 expected; a Poisson count has sd 100, so 5 sd either side.
  EXPECT_GT(due.size(), 9500u);
  EXPECT_LT(due.size(), 10500u);
  EXPECT_TRUE(std::is_sorted(due.begin(), due.end()));
  EXPECT_GT(due.front(), kStart);
  EXPECT_LE(due.back(), kStart + seconds(10));
  EXPECT_GT(schedule.NextDue(), kStart + seconds(10));
  EXPECT_EQ(schedule.scheduled(), due.size());
}

TEST(ArrivalScheduleTest, SameSeedSameTimes) {
  ArrivalSchedule a(500, 11, kStart), b(500, 11, kStart);
  EXPECT_EQ(a.DueBy(kStart + seconds(2)), b.DueBy(kStart + seconds(2)));
}

// Polling late or often hands out the same intended times: the schedule
// never depends on when the sender gets round to asking.
TEST(ArrivalScheduleTest, IntendedTimesDoNotDependOnWhenTheSenderAsks) {
  ArrivalSchedule steady(2000, 21, kStart), stalled(2000, 21, kStart);
  std::vector<Clock::time_point> polled_often;
  for (int ms = 1; ms <= 3000; ++ms) {
    for (auto t : steady.DueBy(kStart + milliseconds(ms))) polled_often.push_back(t);
  }
  // The stalled sender wakes once after 2 s, then catches up.
  std::vector<Clock::time_point> polled_late = stalled.DueBy(kStart + milliseconds(2000));
  for (auto t : stalled.DueBy(kStart + milliseconds(3000))) polled_late.push_back(t);
  EXPECT_EQ(polled_often, polled_late);
}

TEST(ArrivalScheduleTest, LimitLeavesTheRestDue) {
  ArrivalSchedule schedule(1000, 2, kStart);
  const auto first = schedule.DueBy(kStart + seconds(1), 10);
  ASSERT_EQ(first.size(), 10u);
  const auto rest = schedule.DueBy(kStart + seconds(1));
  ASSERT_FALSE(rest.empty());
  EXPECT_LT(first.back(), rest.front());
}

// The coordinated-omission case: a server that answers in 1 ms but stalls
// for 1 s in the middle. Measured from intended send times, about a third of
// the requests of a 3 s run see the stall, so p50 stays ~1 ms but p90 shows
// hundreds of ms. A closed-loop style measurement (from the actual send,
// made only once the stall ends) would report ~1 ms throughout.
TEST(ArrivalScheduleTest, LatencyFromIntendedTimeShowsAStall) {
  ArrivalSchedule schedule(1000, 8, kStart);
  HdrHistogram from_intended, from_actual_send;
  const Clock::time_point stall_begin = kStart + seconds(1);
  const Clock::time_point stall_end = kStart + seconds(2);
  for (Clock::time_point now = kStart; now <= kStart + seconds(3); now += milliseconds(1)) {
    if (now > stall_begin && now < stall_end) continue;  // the sender is stuck
    for (Clock::time_point intended : schedule.DueBy(now)) {
      const Clock::time_point sent = now;
      const Clock::time_point replied = sent + milliseconds(1);
      from_intended.Record(LatencyFromIntended(intended, replied).count());
      from_actual_send.Record(LatencyFromIntended(sent, replied).count());
    }
  }
  EXPECT_GT(from_intended.count(), 2800u);  // nothing was skipped
  EXPECT_EQ(from_intended.count(), from_actual_send.count());
  EXPECT_LT(from_intended.Percentile(50), 5'000'000u);       // < 5 ms
  EXPECT_GT(from_intended.Percentile(90), 300'000'000u);     // > 300 ms
  EXPECT_GT(from_intended.max(), 900'000'000u);              // the whole stall
  EXPECT_LE(from_actual_send.Percentile(99.9), 1'000'000u);  // the omission
}

TEST(ArrivalScheduleTest, EarlyRepliesCountAsZero) {
  EXPECT_EQ(LatencyFromIntended(kStart, kStart - milliseconds(1)).count(), 0);
  EXPECT_EQ(LatencyFromIntended(kStart, kStart + milliseconds(2)).count(), 2'000'000);
}

}  // namespace
}  // namespace ccr::load
