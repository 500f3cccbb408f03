#include "codec/json_text.h"

#include <random>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace ccr {
namespace {

TEST(JsonTextTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonQuoted(""), R"("")");
  EXPECT_EQ(JsonQuoted("plain"), R"("plain")");
  EXPECT_EQ(JsonQuoted("say \"hi\" \\ bye"), R"("say \"hi\" \\ bye")");
  EXPECT_EQ(JsonQuoted("a\nb\tc\rd"), R"("a\nb\u0009c\u000dd")");
  EXPECT_EQ(JsonQuoted(std::string("\0\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(JsonQuoted("caf\xc3\xa9 \x7f"), "\"caf\xc3\xa9 \x7f\"");  // UTF-8 and DEL as they are
}

// Protobuf's JSON parser reads back every string exactly: random ASCII,
// control characters and UTF-8 text, wrapped in a google.protobuf.Value.
TEST(JsonTextTest, ProtobufJsonParserReadsItBack) {
  std::mt19937 random(7);
  const std::string pieces[] = {"\"",       "\\",           "\n", "\t", "\r", std::string(1, '\0'),
                                "\x01",     "\x1f",         "a",  "Z",  " ",  "/",
                                "\xc3\xa9", "\xe2\x82\xac", "{}"};
  for (int round = 0; round < 500; ++round) {
    std::string text;
    const int length = static_cast<int>(random() % 20);
    for (int i = 0; i < length; ++i) text += pieces[random() % std::size(pieces)];
    google::protobuf::Value value;
    const auto status = google::protobuf::util::JsonStringToMessage(JsonQuoted(text), &value);
    ASSERT_TRUE(status.ok()) << status.message() << " for " << JsonQuoted(text);
    EXPECT_EQ(value.string_value(), text) << JsonQuoted(text);
  }
}

}  // namespace
}  // namespace ccr
