#include "tools/ccload/load_report.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace ccr::load {
namespace {

namespace v1 = ::ccrouter::v1;
using ::testing::HasSubstr;
using ::testing::Not;

LoadCounters SomeCounters() {
  LoadCounters c;
  c.elapsed_seconds = 10;
  c.seed = 42;
  c.agents = 12;
  c.agents_logged_in = 11;
  c.submitted = 20;
  c.acked = 18;
  c.offers = 15;
  c.accepts = 14;
  c.completes = 9;
  c.abandons = 2;
  c.errors = {{"Submit UNAVAILABLE", 2}};
  return c;
}

v1::ListQueuesReply SomeQueues() {
  v1::ListQueuesReply reply;
  v1::QueueSnapshot* voice = reply.add_queues();
  voice->set_name("voice_general");
  voice->set_queued(3);
  voice->set_offered(1);
  voice->set_connected(4);
  voice->set_answered(10);
  voice->set_service_level(0.7);
  voice->set_target_ratio(0.8);
  voice->set_target_seconds(20);
  voice->set_oldest_wait_seconds(75.5);
  v1::QueueSnapshot* email = reply.add_queues();
  email->set_name("email \"general\"");
  email->set_target_ratio(0.9);
  email->set_target_seconds(86400);
  return reply;
}

google::protobuf::Struct ParseJson(const std::string& json) {
  google::protobuf::Struct parsed;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &parsed);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return parsed;
}

TEST(MaskPersonalDataTest, MasksCustomerIdsAndPhoneNumbers) {
  EXPECT_EQ(MaskPersonalData("customer cu3fa2-0000017 called from +15550000017."),
            "customer cu***17 called from +1***17.");
  EXPECT_EQ(MaskPersonalData("cu00ff-1234567,+441632960961"), "cu***67,+4***61");
  // Ids and field names that only look alike are left alone.
  for (const char* text :
       {"contact.customer.id: required", "c-42", "agent-001", "cursor", "cu3fa2-00017",
        "xcu3fa2-0000017", "+12 seconds", "code 1234567", "retry after +5 s"}) {
    EXPECT_EQ(MaskPersonalData(text), text);
  }
}

TEST(FormatTargetSecondsTest, ReadableUnits) {
  EXPECT_EQ(FormatTargetSeconds(20), "20s");
  EXPECT_EQ(FormatTargetSeconds(60), "60s");
  EXPECT_EQ(FormatTargetSeconds(180), "3m");
  EXPECT_EQ(FormatTargetSeconds(900), "15m");
  EXPECT_EQ(FormatTargetSeconds(7200), "2h");
  EXPECT_EQ(FormatTargetSeconds(86400), "24h");
  EXPECT_EQ(FormatTargetSeconds(150), "150s");
}

TEST(TableReportTest, ShowsTotalsAndOneLinePerQueue) {
  const std::string table = FormatTableReport(SomeCounters(), SomeQueues(), /*final=*/false);
  EXPECT_THAT(table, HasSubstr("agents 11/12"));
  EXPECT_THAT(table, HasSubstr("submitted 20 (2.0/s)"));
  EXPECT_THAT(table, HasSubstr("errors 2\n"));
  EXPECT_THAT(table, HasSubstr("errors: Submit UNAVAILABLE 2\n"));
  EXPECT_THAT(table, HasSubstr("completes 9"));
  EXPECT_THAT(table, Not(HasSubstr("summary")));
  const std::vector<std::string> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 6u) << table;  // three of totals, header, two queues
  EXPECT_THAT(lines[4], HasSubstr("voice_general"));
  EXPECT_THAT(lines[4], HasSubstr("70.0%!"));  // below its 80 % target
  EXPECT_THAT(lines[4], HasSubstr("80% in 20s"));
  EXPECT_THAT(lines[4], HasSubstr("1m15s"));
  EXPECT_THAT(lines[5], HasSubstr("90% in 24h"));
  for (const std::string& line : lines) EXPECT_LE(line.size(), 100u) << line;
}

TEST(TableReportTest, FinalSummaryAndAdminError) {
  const std::string table =
      FormatTableReport(SomeCounters(), absl::UnavailableError("connection refused"), true);
  EXPECT_THAT(table, HasSubstr("summary after 10.0s (seed 42)"));
  EXPECT_THAT(table, HasSubstr("Admin.ListQueues failed: UNAVAILABLE: connection refused"));
}

TEST(JsonReportTest, IsOneValidObjectWithTheFigures) {
  const std::string json = FormatJsonReport(SomeCounters(), SomeQueues(), /*final=*/true);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  const google::protobuf::Struct parsed = ParseJson(json);
  const auto& fields = parsed.fields();
  EXPECT_TRUE(fields.at("final").bool_value());
  EXPECT_EQ(fields.at("seed").number_value(), 42);
  const auto& ccload = fields.at("ccload").struct_value().fields();
  EXPECT_EQ(ccload.at("submitted").number_value(), 20);
  EXPECT_EQ(ccload.at("errors_total").number_value(), 2);
  EXPECT_EQ(ccload.at("errors").struct_value().fields().at("Submit UNAVAILABLE").number_value(), 2);
  const auto& queues = fields.at("queues").list_value().values();
  ASSERT_EQ(queues.size(), 2);
  const auto& voice = queues[0].struct_value().fields();
  EXPECT_EQ(voice.at("name").string_value(), "voice_general");
  EXPECT_EQ(voice.at("queued").number_value(), 3);
  EXPECT_DOUBLE_EQ(voice.at("service_level").number_value(), 0.7);
  EXPECT_FALSE(voice.at("meets_target").bool_value());
  EXPECT_EQ(voice.at("oldest_wait_seconds").number_value(), 75.5);
  const auto& email = queues[1].struct_value().fields();
  EXPECT_EQ(email.at("name").string_value(), "email \"general\"");
  EXPECT_EQ(email.at("meets_target").kind_case(), google::protobuf::Value::kNullValue);
}

TEST(JsonReportTest, AdminErrorInsteadOfQueues) {
  const google::protobuf::Struct parsed = ParseJson(
      FormatJsonReport(SomeCounters(), absl::DeadlineExceededError("slow"), /*final=*/false));
  EXPECT_FALSE(parsed.fields().at("final").bool_value());
  EXPECT_EQ(parsed.fields().count("queues"), 0u);
  EXPECT_EQ(parsed.fields().at("admin_error").string_value(), "DEADLINE_EXCEEDED: slow");
}

}  // namespace
}  // namespace ccr::load
