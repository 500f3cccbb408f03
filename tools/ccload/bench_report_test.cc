#include "tools/ccload/bench_report.h"

#include <string>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ccr::load {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

BenchSummary Sample() {
  BenchSummary s;
  s.server = "127.0.0.1:7700";
  s.stream_ingest = true;
  s.open_loop = true;
  s.target_rate_per_second = 1000;
  s.gateways = 4;
  s.agents = 100;
  s.agents_logged_in = 100;
  s.warmup_seconds = 1;
  s.measured_seconds = 2;
  s.submitted = 2000;
  s.acked = 1990;
  s.offers = 1980;
  s.acked_all = 2500;
  s.unanswered = 4;
  s.errors["SubmitStream UNAVAILABLE"] = 10;
  for (uint64_t us = 1; us <= 1000; ++us) s.submit_to_ack.Record(us * 1000);
  s.submit_to_offer.Record(2'500'000);
  s.queues.push_back({"voice_general", 900, 880, 0.9778, 0.8, 20, 3});
  return s;
}

TEST(BenchReportTest, JsonHasEveryFieldAndTheFigures) {
  const BenchSummary sample = Sample();
  const std::string json = FormatBenchJson(sample);
  // Percentiles are the histogram's (bucket-rounded; tested there), in µs.
  for (auto [key, p] : {std::pair{"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"p99_9", 99.9}}) {
    EXPECT_THAT(json, HasSubstr(absl::StrFormat("\"%s_us\":%.1f", key,
                                                sample.submit_to_ack.Percentile(p) / 1000.0)));
  }
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');
  EXPECT_THAT(json, Not(HasSubstr("\n")));
  for (const char* field :
       {"\"target\":\"ccrouterd\"", "\"ingest\":\"stream\"", "\"loop\":\"open\"", "\"acked\":1990",
        "\"acked_all\":2500", "\"unanswered\":4", "\"acks_per_second\":995.0", "\"offers\":1980",
        "\"errors\":{\"SubmitStream UNAVAILABLE\":10}", "\"max_us\":1000.0", "\"mean_us\":500.5",
        "\"submit_to_offer\":{\"count\":1,", "\"name\":\"voice_general\"",
        "\"service_level\":0.9778"}) {
    EXPECT_THAT(json, HasSubstr(field));
  }
}

TEST(BenchReportTest, JsonEscapesStrings) {
  BenchSummary s = Sample();
  s.engine_figures_error = "bad \"thing\"\n";
  EXPECT_THAT(FormatBenchJson(s), HasSubstr(R"("engine_figures_error":"bad \"thing\"\n")"));
}

TEST(BenchReportTest, TableNamesTheModeAndShowsBothLatencies) {
  const std::string table = FormatBenchTable(Sample());
  EXPECT_THAT(table, HasSubstr("SubmitStream"));
  EXPECT_THAT(table, HasSubstr("open loop 1000/s"));
  EXPECT_THAT(table, HasSubstr("995 acks/s"));
  EXPECT_THAT(table, HasSubstr("submit->ack"));
  EXPECT_THAT(table, HasSubstr("submit->offer"));
  EXPECT_THAT(table, HasSubstr("SubmitStream UNAVAILABLE 10"));
  EXPECT_THAT(table, HasSubstr("voice_general"));
}

TEST(BenchReportTest, BaselineTableHasNoOffersOrQueues) {
  BenchSummary s = Sample();
  s.baseline = true;
  s.open_loop = false;
  s.window = 64;
  s.queues.clear();
  const std::string table = FormatBenchTable(s);
  EXPECT_THAT(table, HasSubstr("echo baseline"));
  EXPECT_THAT(table, HasSubstr("closed loop, 64 in flight per gateway"));
  EXPECT_THAT(table, Not(HasSubstr("submit->offer")));
  EXPECT_THAT(FormatBenchJson(s), HasSubstr("\"target\":\"echo\""));
}

TEST(BenchReportTest, ProgressLineIsOneLine) {
  HdrHistogram h;
  h.Record(1'200'000);
  const std::string line = FormatBenchProgress(3.5, true, 12000, 40000, 39000, 2, 64, h);
  EXPECT_THAT(line, HasSubstr("warm-up"));
  EXPECT_THAT(line, HasSubstr("12000 acks/s"));
  EXPECT_THAT(line, HasSubstr("1200.0"));
  EXPECT_THAT(line, Not(HasSubstr("\n")));
}

}  // namespace
}  // namespace ccr::load
