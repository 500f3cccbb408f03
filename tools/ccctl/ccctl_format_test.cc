#include "tools/ccctl/ccctl_format.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ccr::ctl {
namespace {

namespace v1 = ::ccrouter::v1;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<Invocation> Parse(std::vector<std::string> args) { return ParseCommandLine(args); }

// The error message of a command line that must not parse.
std::string ParseError(std::vector<std::string> args) {
  absl::StatusOr<Invocation> invocation = ParseCommandLine(args);
  EXPECT_FALSE(invocation.ok()) << "parsed: " << ::testing::PrintToString(args);
  if (invocation.ok()) return "";
  EXPECT_EQ(invocation.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(invocation.status().message());
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

TEST(FormatDurationTest, SecondsMinutesHoursDays) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(0.4), "0s");
  EXPECT_EQ(FormatDuration(44.6), "45s");
  EXPECT_EQ(FormatDuration(59.6), "1m");
  EXPECT_EQ(FormatDuration(192), "3m12s");
  EXPECT_EQ(FormatDuration(185), "3m05s");
  EXPECT_EQ(FormatDuration(180), "3m");
  EXPECT_EQ(FormatDuration(2 * 3600 + 5 * 60 + 59), "2h05m");
  EXPECT_EQ(FormatDuration(3600), "1h");
  EXPECT_EQ(FormatDuration(86400), "1d");
  EXPECT_EQ(FormatDuration(3 * 86400 + 4 * 3600 + 600), "3d04h");
}

TEST(FormatDurationTest, NegativeAndNonFinite) {
  EXPECT_EQ(FormatDuration(-15), "-15s");
  EXPECT_EQ(FormatDuration(-192), "-3m12s");
  EXPECT_EQ(FormatDuration(-0.2), "0s");
  EXPECT_EQ(FormatDuration(std::nan("")), "-");
  EXPECT_EQ(FormatDuration(std::numeric_limits<double>::infinity()), "-");
  EXPECT_EQ(FormatDuration(1e300), FormatDuration(1e12));  // clamped, not undefined
}

TEST(FormatPercentTest, OneDecimal) {
  EXPECT_EQ(FormatPercent(0.8312), "83.1%");
  EXPECT_EQ(FormatPercent(1), "100.0%");
  EXPECT_EQ(FormatPercent(0), "0.0%");
  EXPECT_EQ(FormatPercent(std::nan("")), "-");
}

TEST(DisplayWidthTest, CountsTerminalCells) {
  EXPECT_EQ(DisplayWidth(""), 0);
  EXPECT_EQ(DisplayWidth("agent-7"), 7);
  EXPECT_EQ(DisplayWidth("\xE5\xBC\xA0\xE4\xB8\x89"), 4);  // 张三: two wide characters
  EXPECT_EQ(DisplayWidth("caf\xC3\xA9"), 4);               // é precomposed
  EXPECT_EQ(DisplayWidth("cafe\xCC\x81"), 4);              // e + combining acute
  EXPECT_EQ(DisplayWidth("a\xFF"
                         "b"),
            3);                            // a stray byte is one cell
  EXPECT_EQ(DisplayWidth("\xE5\xBC"), 2);  // truncated sequence: two stray bytes
}

TEST(TextTableTest, PadsColumnsAndAlignsNumbersRight) {
  TextTable table({{"NAME"}, {"COUNT", TextTable::Align::kRight}, {"NOTE"}});
  table.AddRow({"a", "1", "short"});
  table.AddRow({"longer", "12345", ""});
  EXPECT_EQ(table.Render(),
            "NAME    COUNT  NOTE\n"
            "a           1  short\n"
            "longer  12345\n");
}

TEST(TextTableTest, AlignsByDisplayWidthNotBytes) {
  TextTable table({{"AGENT"}, {"STATE"}});
  table.AddRow({"\xE5\xBC\xA0\xE4\xB8\x89", "available"});  // 张三: 6 bytes, 4 cells
  table.AddRow({"bob", "busy"});
  const std::vector<std::string> lines = Lines(table.Render());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "AGENT  STATE");
  EXPECT_EQ(lines[1], "\xE5\xBC\xA0\xE4\xB8\x89   available");
  EXPECT_EQ(lines[2], "bob    busy");
}

TEST(TextTableTest, HeaderOnlyWithoutRows) {
  TextTable table({{"QUEUE"}, {"QUEUED", TextTable::Align::kRight}});
  EXPECT_EQ(table.Render(), "QUEUE  QUEUED\n");
}

TEST(ParseCommandLineTest, Defaults) {
  absl::StatusOr<Invocation> invocation = Parse({"queues"});
  ASSERT_TRUE(invocation.ok()) << invocation.status();
  EXPECT_EQ(invocation->command, Command::kQueues);
  EXPECT_THAT(invocation->servers, ElementsAre("127.0.0.1:7700"));
  EXPECT_EQ(invocation->timeout_seconds, 5);
  EXPECT_FALSE(invocation->json);
  EXPECT_FALSE(invocation->help);
}

TEST(ParseCommandLineTest, FlagsBeforeAndAfterTheCommandInBothForms) {
  absl::StatusOr<Invocation> invocation =
      Parse({"--server=10.0.0.2:7701", "agents", "--json", "--timeout", "2.5"});
  ASSERT_TRUE(invocation.ok()) << invocation.status();
  EXPECT_EQ(invocation->command, Command::kAgents);
  EXPECT_THAT(invocation->servers, ElementsAre("10.0.0.2:7701"));
  EXPECT_TRUE(invocation->json);
  EXPECT_EQ(invocation->timeout_seconds, 2.5);
}

TEST(ParseCommandLineTest, SeveralServersInOrder) {
  absl::StatusOr<Invocation> invocation =
      Parse({"queues", "--server", "10.0.0.2:7700,10.0.0.3:7700,[::1]:7700"});
  ASSERT_TRUE(invocation.ok()) << invocation.status();
  EXPECT_THAT(invocation->servers, ElementsAre("10.0.0.2:7700", "10.0.0.3:7700", "[::1]:7700"));
}

TEST(ParseCommandLineTest, CommandArguments) {
  absl::StatusOr<Invocation> explain = Parse({"explain", "c-42"});
  ASSERT_TRUE(explain.ok()) << explain.status();
  EXPECT_EQ(explain->contact_id, "c-42");

  absl::StatusOr<Invocation> dashed = Parse({"explain", "--", "-c-1"});
  ASSERT_TRUE(dashed.ok()) << dashed.status();
  EXPECT_EQ(dashed->contact_id, "-c-1");

  absl::StatusOr<Invocation> watch = Parse({"watch", "--after", "42"});
  ASSERT_TRUE(watch.ok()) << watch.status();
  EXPECT_EQ(watch->after_sequence, 42u);
  watch = Parse({"watch", "--after", "0"});  // from event 1
  ASSERT_TRUE(watch.ok()) << watch.status();
  EXPECT_EQ(watch->after_sequence, 0u);
  watch = Parse({"watch"});  // only new events
  ASSERT_TRUE(watch.ok()) << watch.status();
  EXPECT_FALSE(watch->after_sequence.has_value());

  absl::StatusOr<Invocation> reload = Parse({"reload"});
  ASSERT_TRUE(reload.ok()) << reload.status();
  EXPECT_FALSE(reload->config_path.has_value());
  absl::StatusOr<Invocation> reload_file = Parse({"reload", "--file", "deploy/ccrouter.yaml"});
  ASSERT_TRUE(reload_file.ok()) << reload_file.status();
  EXPECT_EQ(reload_file->config_path, "deploy/ccrouter.yaml");

  absl::StatusOr<Invocation> set_state =
      Parse({"agent", "set-state", "a7", "not-ready", "--reason", "team meeting"});
  ASSERT_TRUE(set_state.ok()) << set_state.status();
  EXPECT_EQ(set_state->command, Command::kAgentSetState);
  EXPECT_EQ(set_state->agent_id, "a7");
  EXPECT_EQ(set_state->agent_state, v1::AGENT_STATE_NOT_READY);
  EXPECT_EQ(set_state->reason, "team meeting");

  absl::StatusOr<Invocation> offline = Parse({"agent", "set-state", "a7", "offline"});
  ASSERT_TRUE(offline.ok()) << offline.status();
  EXPECT_EQ(offline->agent_state, v1::AGENT_STATE_OFFLINE);
}

TEST(ParseCommandLineTest, HelpNeedsNoArguments) {
  absl::StatusOr<Invocation> general = Parse({"--help"});
  ASSERT_TRUE(general.ok()) << general.status();
  EXPECT_TRUE(general->help);
  EXPECT_EQ(general->command, Command::kNone);

  absl::StatusOr<Invocation> explain = Parse({"explain", "-h"});
  ASSERT_TRUE(explain.ok()) << explain.status();
  EXPECT_TRUE(explain->help);
  EXPECT_EQ(explain->command, Command::kExplain);

  absl::StatusOr<Invocation> agent = Parse({"agent", "--help"});
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_EQ(agent->command, Command::kAgentSetState);
}

TEST(ParseCommandLineTest, ErrorsNameTheFlag) {
  EXPECT_THAT(ParseError({"queues", "--bogus"}), HasSubstr("unknown flag --bogus"));
  EXPECT_THAT(ParseError({"queues", "-x"}), HasSubstr("unknown flag -x"));
  EXPECT_THAT(ParseError({"queues", "--timeout"}), HasSubstr("--timeout needs a value"));
  EXPECT_THAT(ParseError({"queues", "--timeout", "soon"}),
              AllOf(HasSubstr("--timeout"), HasSubstr("\"soon\"")));
  EXPECT_THAT(ParseError({"queues", "--timeout=0"}), HasSubstr("--timeout"));
  EXPECT_THAT(ParseError({"queues", "--timeout", "-1"}), HasSubstr("--timeout"));
  EXPECT_THAT(ParseError({"queues", "--timeout", "nan"}), HasSubstr("--timeout"));
  EXPECT_THAT(ParseError({"queues", "--server="}), HasSubstr("--server"));
  EXPECT_THAT(ParseError({"queues", "--server", "10.0.0.2:7701,10.0.0.3"}),
              AllOf(HasSubstr("--server"), HasSubstr("\"10.0.0.3\"")));
  EXPECT_THAT(ParseError({"queues", "--json=yes"}), HasSubstr("--json takes no value"));
  EXPECT_THAT(ParseError({"watch", "--after", "-3"}),
              AllOf(HasSubstr("--after"), HasSubstr("\"-3\"")));
  EXPECT_THAT(ParseError({"reload", "--file="}), HasSubstr("--file"));
  // A flag is not swallowed as the previous flag's value.
  EXPECT_THAT(ParseError({"agent", "set-state", "a1", "not-ready", "--reason", "--json"}),
              HasSubstr("--reason needs a value"));
}

TEST(ParseCommandLineTest, FlagOfAnotherCommand) {
  EXPECT_THAT(ParseError({"queues", "--after", "3"}),
              AllOf(HasSubstr("--after"), HasSubstr("`queues`"), HasSubstr("`watch`")));
  EXPECT_THAT(ParseError({"watch", "--file", "x.yaml"}),
              AllOf(HasSubstr("--file"), HasSubstr("`reload`")));
  EXPECT_THAT(ParseError({"--reason", "x"}), HasSubstr("--reason"));
}

TEST(ParseCommandLineTest, CommandErrors) {
  EXPECT_THAT(ParseError({}), HasSubstr("missing command"));
  EXPECT_THAT(ParseError({"frobnicate"}), HasSubstr("unknown command \"frobnicate\""));
  EXPECT_THAT(ParseError({"explain"}), HasSubstr("CONTACT_ID"));
  EXPECT_THAT(ParseError({"explain", "c1", "c2"}), HasSubstr("unexpected argument \"c2\""));
  EXPECT_THAT(ParseError({"queues", "extra"}), HasSubstr("unexpected argument \"extra\""));
  EXPECT_THAT(ParseError({"agent"}), HasSubstr("set-state"));
  EXPECT_THAT(ParseError({"agent", "kick", "a1"}), HasSubstr("\"kick\""));
  EXPECT_THAT(ParseError({"agent", "set-state", "a1"}), HasSubstr("STATE"));
  EXPECT_THAT(ParseError({"agent", "set-state", "a1", "busy"}), HasSubstr("\"busy\""));
  EXPECT_THAT(ParseError({"agent", "set-state", "a1", "not-ready"}), HasSubstr("--reason"));
}

TEST(UsageTextTest, ExplainsEveryFlag) {
  for (Command command : {Command::kNone, Command::kQueues, Command::kAgents, Command::kExplain,
                          Command::kWatch, Command::kReload, Command::kAgentSetState}) {
    const std::string usage = UsageText(command);
    EXPECT_THAT(usage, AllOf(HasSubstr("--server HOST:PORT"), HasSubstr("--json"),
                             HasSubstr("--timeout SECONDS"), HasSubstr("--help")));
  }
  EXPECT_THAT(UsageText(Command::kWatch), HasSubstr("--after SEQ"));
  EXPECT_THAT(UsageText(Command::kReload), HasSubstr("--file CONFIG.yaml"));
  EXPECT_THAT(UsageText(Command::kAgentSetState), HasSubstr("--reason TEXT"));
  EXPECT_THAT(UsageText(Command::kNone),
              AllOf(HasSubstr("queues"), HasSubstr("agents"), HasSubstr("explain CONTACT_ID"),
                    HasSubstr("watch"), HasSubstr("reload"), HasSubstr("agent set-state")));
}

TEST(EnumNameTest, ShortLowerCaseHyphenated) {
  EXPECT_EQ(ChannelName(v1::CHANNEL_CHAT), "chat");
  EXPECT_EQ(ChannelName(v1::CHANNEL_UNSPECIFIED), "-");
  EXPECT_EQ(ChannelName(static_cast<v1::Channel>(99)), "99");
  EXPECT_EQ(AgentStateName(v1::AGENT_STATE_NOT_READY), "not-ready");
  EXPECT_EQ(ContactStateName(v1::CONTACT_STATE_WRAP_UP), "wrap-up");
  EXPECT_EQ(EventKindName(v1::EVENT_KIND_OFFER_TIMED_OUT), "offer-timed-out");
}

v1::QueueSnapshot VoiceQueue() {
  v1::QueueSnapshot queue;
  queue.set_name("billing-voice");
  queue.set_channel(v1::CHANNEL_VOICE);
  queue.set_queued(4);
  queue.set_offered(1);
  queue.set_connected(12);
  queue.set_oldest_wait_seconds(75);
  queue.set_target_seconds(20);
  queue.set_target_ratio(0.8);
  queue.set_service_level(0.8312);
  queue.set_service_level_abandon_adjusted(0.79);
  queue.set_answered(120);
  queue.set_abandoned(9);
  queue.set_average_speed_of_answer_seconds(14.2);
  queue.set_estimated_wait_seconds(200);
  queue.set_agents_available(2);
  queue.set_agents_eligible(15);
  return queue;
}

TEST(ServiceLevelTextTest, ReachedAndTarget) {
  v1::QueueSnapshot queue = VoiceQueue();
  EXPECT_EQ(ServiceLevelText(queue), "83.1% / 80% in 20s");
  queue.set_target_ratio(0.875);
  queue.set_target_seconds(180);
  EXPECT_EQ(ServiceLevelText(queue), "83.1% / 87.5% in 3m");
  queue.set_answered(0);
  EXPECT_EQ(ServiceLevelText(queue), "- / 87.5% in 3m");
}

TEST(RenderQueuesTest, OneAlignedRowPerQueue) {
  v1::ListQueuesReply reply;
  *reply.add_queues() = VoiceQueue();
  v1::QueueSnapshot* idle = reply.add_queues();
  idle->set_name("vip");
  idle->set_channel(v1::CHANNEL_CHAT);
  idle->set_target_seconds(180);
  idle->set_target_ratio(0.9);
  idle->set_routing_policy("fifo");

  const std::vector<std::string> lines = Lines(RenderQueues(reply));
  ASSERT_EQ(lines.size(), 3u);
  // The last column is right-aligned, so aligned lines are equally wide.
  EXPECT_EQ(DisplayWidth(lines[1]), DisplayWidth(lines[0]));
  EXPECT_EQ(DisplayWidth(lines[2]), DisplayWidth(lines[0]));
  EXPECT_THAT(lines[0], AllOf(HasSubstr("QUEUE"), HasSubstr("SERVICE LEVEL / TARGET"),
                              HasSubstr("ASA"), HasSubstr("EWT")));
  EXPECT_THAT(lines[1], AllOf(HasSubstr("billing-voice  voice"), HasSubstr("1m15s"),
                              HasSubstr("83.1% / 80% in 20s"), HasSubstr("79.0%"), HasSubstr("14s"),
                              HasSubstr("3m20s"), HasSubstr("2/15")));
  // Nothing answered or waiting yet: no made-up figures.
  EXPECT_THAT(lines[2], AllOf(HasSubstr("vip"), HasSubstr("fifo"), HasSubstr("- / 90% in 3m")));
  EXPECT_THAT(lines[0], HasSubstr("CHANNEL  POLICY"));
}

TEST(RenderAgentsTest, StateReasonAndLoadPerChannel) {
  v1::ListAgentsReply reply;
  v1::AgentSnapshot* agent = reply.add_agents();
  agent->set_agent_id("a7");
  agent->set_display_name("Ana");
  agent->set_state(v1::AGENT_STATE_NOT_READY);
  agent->set_reason("lunch");
  v1::AgentSnapshot::Load* chat = agent->add_load();
  chat->set_channel(v1::CHANNEL_CHAT);
  chat->set_active(2);
  chat->set_capacity(3);
  v1::AgentSnapshot::Load* voice = agent->add_load();
  voice->set_channel(v1::CHANNEL_VOICE);
  voice->set_capacity(1);
  agent->set_idle_seconds(192);
  agent->set_consecutive_misses(1);
  agent->set_occupancy(0.724);
  agent->set_connected(true);

  const std::vector<std::string> lines = Lines(RenderAgents(reply.agents()));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], AllOf(HasSubstr("a7"), HasSubstr("Ana"), HasSubstr("not-ready (lunch)"),
                              HasSubstr("chat 2/3, voice 0/1"), HasSubstr("3m12s"),
                              HasSubstr("72.4%"), HasSubstr("yes")));
}

TEST(RenderExplainTest, ScoreAgentsAndHistory) {
  v1::ExplainReply reply;
  reply.set_contact_id("c-42");
  reply.set_queue("billing-voice");
  reply.set_state(v1::CONTACT_STATE_QUEUED);
  reply.set_wait_seconds(45);
  reply.set_sla_slack_seconds(-25);
  reply.set_overflow_stage(1);
  reply.set_position(3);
  v1::ScoreComponent* tier = reply.add_components();
  tier->set_name("tier");
  tier->set_points(20);
  v1::ScoreComponent* aging = reply.add_components();
  aging->set_name("aging");
  aging->set_points(7.5);
  reply.set_total_score(27.5);
  reply.add_required_skills("billing>=5");
  reply.set_language("en");
  v1::AgentConsidered* eligible = reply.add_agents();
  eligible->set_agent_id("a1");
  eligible->set_eligible(true);
  v1::AgentConsidered* not_eligible = reply.add_agents();
  not_eligible->set_agent_id("a2");
  not_eligible->set_why_not("missing skill billing>=5");
  reply.add_history("10:15:02 queued in billing-voice");

  const std::string text = RenderExplain(reply);
  EXPECT_THAT(text, HasSubstr("contact   c-42\n"));
  EXPECT_THAT(text, HasSubstr("state     queued\n"));
  EXPECT_THAT(text, HasSubstr("agent     -\n"));
  EXPECT_THAT(text, HasSubstr("wait      45s\n"));
  EXPECT_THAT(text, HasSubstr("slack     -25s (past target)\n"));
  EXPECT_THAT(text, HasSubstr("position  3\n"));
  EXPECT_THAT(text, HasSubstr("  COMPONENT  POINTS\n"
                              "  tier       +20.00\n"
                              "  aging       +7.50\n"
                              "  total       27.50\n"));
  EXPECT_THAT(text, HasSubstr("skills    billing>=5\n"));
  EXPECT_THAT(text, HasSubstr("language  en\n"));
  EXPECT_THAT(text, HasSubstr("  a1     yes\n"));
  EXPECT_THAT(text, HasSubstr("  a2     no        missing skill billing>=5\n"));
  EXPECT_THAT(text, HasSubstr("history\n  10:15:02 queued in billing-voice\n"));
}

TEST(RenderReloadTest, QueuesAndMovedContacts) {
  v1::ReloadConfigReply reply;
  reply.set_queues(6);
  EXPECT_EQ(RenderReload(reply), "reloaded: 6 queues\nno contacts moved\n");
  reply.add_moved_contacts("c1");
  reply.add_moved_contacts("c2");
  reply.set_fallback_queue("general");
  EXPECT_EQ(RenderReload(reply),
            "reloaded: 6 queues\nmoved 2 contacts to fallback queue general: c1, c2\n");
}

TEST(FormatEventLineTest, EightFieldsWithQuotedReason) {
  v1::LifecycleEvent event;
  event.set_sequence(1234);
  event.mutable_time()->set_seconds(1714558502);  // 2024-05-01T10:15:02Z
  event.mutable_time()->set_nanos(500'000'000);
  event.set_kind(v1::EVENT_KIND_OVERFLOWED);
  event.set_contact_id("c-42");
  event.set_queue("billing-voice");
  event.set_reason("overflow step 2");
  event.set_wait_seconds(75);
  EXPECT_EQ(FormatEventLine(event),
            "1234 2024-05-01T10:15:02.500Z overflowed       c-42 - billing-voice "
            "\"overflow step 2\" 1m15s");
}

TEST(FormatEventLineTest, AgentStateShowsTheState) {
  v1::LifecycleEvent event;
  event.set_sequence(7);
  event.set_kind(v1::EVENT_KIND_AGENT_STATE);
  event.set_agent_id("a7");
  event.set_agent_state(v1::AGENT_STATE_NOT_READY);
  event.set_reason("lunch");
  EXPECT_EQ(FormatEventLine(event), "7 - agent-state      - a7 - \"not-ready: lunch\" 0s");
}

TEST(FormatRpcErrorTest, CodeNameAndMessage) {
  EXPECT_EQ(FormatRpcError(14, "failed to connect to all addresses"),
            "ccctl: UNAVAILABLE: failed to connect to all addresses");
  EXPECT_EQ(FormatRpcError(5, "no contact c-9"), "ccctl: NOT_FOUND: no contact c-9");
}

}  // namespace
}  // namespace ccr::ctl
