#include "codec/command_line.h"

#include <optional>

#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(std::string, data_dir, "", "where the journal lives");
ABSL_FLAG(uint64_t, snapshot_every, 200000, "snapshot after N journalled commands");
ABSL_FLAG(bool, check_config, false, "load the config, print a summary, exit");
ABSL_FLAG(ccr::OnOff, fsync, ccr::OnOff{}, "fdatasync every journal batch");
ABSL_FLAG(std::optional<double>, rate, std::nullopt, "arrivals per hour");

namespace ccr {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The flags are process-wide: each test starts from the defaults.
// (absl::FlagSaver would do it too, but logs every flag it restores.)
void ResetFlags() {
  absl::SetFlag(&FLAGS_data_dir, "");
  absl::SetFlag(&FLAGS_snapshot_every, 200000);
  absl::SetFlag(&FLAGS_check_config, false);
  absl::SetFlag(&FLAGS_fsync, OnOff{});
  absl::SetFlag(&FLAGS_rate, std::nullopt);
}

// Runs ParseCommandLine on `args` (argv[0] is added).
absl::StatusOr<CommandLine> Parse(std::vector<std::string> args,
                                  absl::Span<const std::string_view> accepted = {}) {
  args.insert(args.begin(), "program");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data(), 1, accepted);
}

TEST(CommandLineTest, DashedNamesWithSeparateOrInlineValues) {
  ResetFlags();
  absl::StatusOr<CommandLine> line =
      Parse({"--data-dir", "/tmp/x", "--snapshot-every=7", "--check-config", "--fsync", "off",
             "run", "--rate", "-1.5"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(absl::GetFlag(FLAGS_data_dir), "/tmp/x");
  EXPECT_EQ(absl::GetFlag(FLAGS_snapshot_every), 7u);
  EXPECT_TRUE(absl::GetFlag(FLAGS_check_config));
  EXPECT_FALSE(absl::GetFlag(FLAGS_fsync).on);
  EXPECT_EQ(absl::GetFlag(FLAGS_rate), -1.5);
  EXPECT_EQ(line->positional, std::vector<std::string>{"run"});
  EXPECT_FALSE(line->help);
}

TEST(CommandLineTest, BoolTakesNoSeparateValueAndDoubleDashEndsFlags) {
  ResetFlags();
  absl::StatusOr<CommandLine> line = Parse({"--check-config", "on", "--", "--data-dir", "-h"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_TRUE(absl::GetFlag(FLAGS_check_config));
  EXPECT_EQ(absl::GetFlag(FLAGS_data_dir), "");
  EXPECT_EQ(line->positional, (std::vector<std::string>{"on", "--data-dir", "-h"}));
  EXPECT_FALSE(line->help);
  ASSERT_TRUE(Parse({"--check-config=false"}).ok());
  EXPECT_FALSE(absl::GetFlag(FLAGS_check_config));
}

TEST(CommandLineTest, BadValuesNameTheFlagAsWritten) {
  ResetFlags();
  absl::StatusOr<CommandLine> line = Parse({"--snapshot-every", "many"});
  ASSERT_FALSE(line.ok());
  EXPECT_THAT(line.status().message(),
              HasSubstr("Illegal value 'many' specified for flag '--snapshot-every'"));
  EXPECT_THAT(line.status().message(), Not(HasSubstr("snapshot_every")));

  line = Parse({"--fsync=maybe"});
  ASSERT_FALSE(line.ok());
  EXPECT_THAT(line.status().message(), HasSubstr("flag '--fsync'"));
  EXPECT_THAT(line.status().message(), HasSubstr("want on or off"));

  line = Parse({"--data-dir"});
  ASSERT_FALSE(line.ok());
  EXPECT_EQ(line.status().message(), "--data-dir needs a value");
}

TEST(CommandLineTest, UnknownAndOtherSpellingsAreRefused) {
  ResetFlags();
  for (const char* arg : {"--bogus", "--data_dir=/tmp", "-data-dir", "--rate=1"}) {
    absl::StatusOr<CommandLine> line = Parse({arg}, {"data-dir", "fsync"});
    ASSERT_FALSE(line.ok()) << arg;
    EXPECT_THAT(line.status().message(), HasSubstr("unknown flag")) << arg;
  }
  EXPECT_EQ(absl::GetFlag(FLAGS_rate), std::nullopt);  // not this command's flag
}

TEST(CommandLineTest, HelpListsEveryFlagDashedWithItsDefault) {
  absl::StatusOr<CommandLine> line = Parse({"-h"});
  ASSERT_TRUE(line.ok());
  EXPECT_TRUE(line->help);
  const std::string help = FlagsHelp();
  EXPECT_THAT(help, HasSubstr("  --data-dir (default: \"\")\n        where the journal lives\n"));
  EXPECT_THAT(help, HasSubstr("  --snapshot-every (default: \"200000\")\n"));
  EXPECT_THAT(help, HasSubstr("  --fsync (default: \"on\")\n"));
  EXPECT_THAT(help, HasSubstr("  --check-config\n"));
  EXPECT_THAT(help, Not(HasSubstr("_")));
  EXPECT_EQ(FlagsHelp({"fsync"}),
            "  --fsync (default: \"on\")\n        fdatasync every journal batch\n");
}

}  // namespace
}  // namespace ccr
